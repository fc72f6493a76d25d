// Whether an endpoint holds a policy, by meaning rather than by bytes. What HNS returns is not
// what it was sent: it fills in defaults and omits zero values, may spell keys and enum values
// its own way (it matches them case-insensitively), writes a protocol as a name or a number, may
// reorder lists, and adds policies of its own (companions of LocalRoutedVip mappings). CHECK
// must not report drift for any of that.

import type { EndpointPolicy } from '../hns/model/policy';
import { parseCidr, parseIp } from '../net/ip';

const PROTOCOLS: Record<string, number> = { unknown: 0, icmpv4: 1, igmp: 2, tcp: 6, udp: 17, icmpv6: 58 };

/** `want` (what the conf implies) is satisfied by `have` (what the service holds). */
export function policyMatches(want: EndpointPolicy, have: { Type?: unknown; Settings?: unknown }): boolean {
  if (typeof have.Type !== 'string' || have.Type.toLowerCase() !== want.Type.toLowerCase()) return false;
  return sameMeaning(want.Settings ?? {}, have.Settings ?? {}, '');
}

function isZero(v: unknown): boolean {
  return v === undefined || v === null || v === 0 || v === false || v === '' || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function lookup(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  return Object.entries(obj).find(([k]) => k.toLowerCase() === lower)?.[1];
}

/** Addresses and prefixes in one spelling; protocols as numbers; other strings case-folded. */
function normal(v: unknown, key: string): unknown {
  if (typeof v === 'string') {
    if (/^protocols?$/i.test(key)) {
      const n = PROTOCOLS[v.toLowerCase()] ?? (/^\d+$/.test(v) ? Number(v) : undefined);
      if (n !== undefined) return n;
    }
    const cidr = parseCidr(v);
    if (cidr) return `${cidr.ip.family}:${cidr.ip.value}/${cidr.prefix}`;
    const ip = parseIp(v);
    if (ip) return `${ip.family}:${ip.value}`;
    return v.toLowerCase();
  }
  return v;
}

function sameMeaning(want: unknown, have: unknown, key: string): boolean {
  if (isZero(want)) return /^flags$/i.test(key) || isZero(have);
  if (have === undefined || have === null) return false;
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return false;
    return want.every((w) => have.some((h) => sameMeaning(w, h, key)));
  }
  if (isObject(want)) {
    if (!isObject(have)) return false;
    return Object.entries(want).every(([k, v]) => sameMeaning(v, lookup(have, k), k));
  }
  // Flag words: the service may set bits of its own beside the ones asked for.
  if (/^flags$/i.test(key) && typeof want === 'number' && typeof have === 'number') return (have & want) === want;
  return normal(want, key) === normal(have, key);
}
