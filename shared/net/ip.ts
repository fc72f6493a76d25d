// Addresses and prefixes as numbers (bigint, so IPv6 ranges are exact). Parsing is strict (no
// octal or hex IPv4 parts, no zones), because every address we accept ends up in an HNS document
// or an IPAM file name.

import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  /** The address as written, host bits kept (`10.244.3.17/24` keeps `.17`). */
  readonly ip: Ip;
  readonly prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export function parseIp(text: string): Ip | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes('.') && !text.includes(':')) return parseIpv4(text);
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  return { family: 6, value: bytesToBigint(ipaddr.IPv6.parse(text).toByteArray()) };
}

const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/**
 * Four decimal parts, each 0-255 without leading zeros (what ipaddr.js's isValidFourPartDecimal
 * accepts), by hand: every conf key and HNS document field goes through here, and ipaddr.js's
 * IPv4 path (a parser run inside try/catch) showed in the start-up profile.
 */
function parseIpv4(text: string): Ip | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(m[i]);
    if (part > 255) return undefined;
    v = v * 256 + part;
  }
  return { family: 4, value: BigInt(v) };
}

export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > BITS[ip.family]) return undefined;
  return { ip, prefix };
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const bytes: number[] = [];
  let v = ip.value;
  for (let i = 0; i < 16; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

export function networkAddress(c: Cidr): Ip {
  const host = hostMask(c);
  return { family: c.ip.family, value: c.ip.value & ~host };
}

/** The last address of the prefix (the IPv4 broadcast address). */
export function lastAddress(c: Cidr): Ip {
  return { family: c.ip.family, value: c.ip.value | hostMask(c) };
}

export function hasHostBits(c: Cidr): boolean {
  return (c.ip.value & hostMask(c)) !== 0n;
}

export function contains(c: Cidr, ip: Ip): boolean {
  if (ip.family !== c.ip.family) return false;
  const host = hostMask(c);
  return (ip.value & ~host) === (c.ip.value & ~host);
}

/** The address `n` places after the network address (n may be negative from the end: -1 = last). */
export function nthAddress(c: Cidr, n: bigint): Ip {
  const base = n >= 0n ? networkAddress(c).value : lastAddress(c).value + 1n;
  return { family: c.ip.family, value: base + n };
}

/** True for IPv4 and for IPv4-mapped IPv6 (`::ffff:a.b.c.d`): the CNI result calls both version "4". */
export function isIpv4Like(ip: Ip): boolean {
  return ip.family === 4 || ip.value >> 32n === 0xffffn;
}

function hostMask(c: Cidr): bigint {
  return (1n << BigInt(BITS[c.ip.family] - c.prefix)) - 1n;
}

function bytesToBigint(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
