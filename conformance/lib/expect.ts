// The §8.1 expectations: ERR(n), OK0, RES(v), and the result formats of §3.3. Each check throws a
// CaseFailure that says what differed.

import net from 'node:net';
import { describe, type Outcome } from './exec';

export class CaseFailure extends Error {}

export function fail(msg: string): never {
  throw new CaseFailure(msg);
}

export function ensure(cond: unknown, msg: string): asserts cond {
  if (!cond) fail(msg);
}

export interface ErrorObject {
  code: number;
  msg: string;
  details?: string;
  cniVersion?: string;
}

/** Parses stdout as exactly one JSON document; undefined if it is not one. */
export function parseStdout(stdout: string): { ok: true; value: unknown } | { ok: false; why: string } {
  if (stdout.trim() === '') return { ok: false, why: 'stdout is empty' };
  try {
    return { ok: true, value: JSON.parse(stdout) };
  } catch (e) {
    return { ok: false, why: `stdout is not one JSON document (${(e as Error).message})` };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** What is wrong with a failure's stdout as a CNI error object (N02), or [] if nothing. */
export function errorObjectProblems(stdout: string): string[] {
  const p = parseStdout(stdout);
  if (!p.ok) return [p.why];
  const e = p.value;
  if (!isObject(e)) return ['stdout is not a JSON object'];
  const out: string[] = [];
  if (typeof e.code !== 'number' || !Number.isInteger(e.code) || e.code < 1) out.push(`"code" is ${JSON.stringify(e.code)}, not an integer >= 1`);
  if (typeof e.msg !== 'string' || e.msg.trim() === '') out.push(`"msg" is ${JSON.stringify(e.msg)}, not a non-empty string`);
  if (e.details !== undefined && typeof e.details !== 'string') out.push(`"details" is ${JSON.stringify(e.details)}, not a string`);
  return out;
}

export interface ErrOptions {
  /** The request's cniVersion: an error carrying cniVersion must carry this one. */
  requestVersion?: string;
  /** Texts the msg or details must contain (case-insensitive). */
  mentions?: string[];
}

/**
 * ERR(n): exit != 0; stdout exactly one JSON object with integer `code` (= n, or one of n), a
 * non-empty string `msg`, `details` absent or a string, and `cniVersion` (if present) the request's.
 */
export function expectErr(label: string, o: Outcome, code: number | number[] | '*', opt: ErrOptions = {}): ErrorObject {
  const want = code === '*' ? 'ERR(*)' : `ERR(${Array.isArray(code) ? code.join(' or ') : code})`;
  if (o.timedOut) fail(`${label}: expected ${want}, but the plugin did not finish (killed after the deadline)`);
  if (o.code === 0) fail(`${label}: expected ${want}, got ${describe(o)}`);
  const problems = errorObjectProblems(o.stdout);
  if (problems.length) fail(`${label}: expected ${want}: ${problems.join('; ')} (${describe(o)})`);
  const e = JSON.parse(o.stdout) as ErrorObject;
  if (code !== '*' && !(Array.isArray(code) ? code : [code]).includes(e.code)) fail(`${label}: expected ${want}, got code ${e.code} (${describe(o)})`);
  if (opt.requestVersion !== undefined && e.cniVersion !== undefined && e.cniVersion !== opt.requestVersion) {
    fail(`${label}: the error object carries cniVersion ${JSON.stringify(e.cniVersion)}, not the request's ${JSON.stringify(opt.requestVersion)}`);
  }
  const text = `${e.msg} ${e.details ?? ''}`.toLowerCase();
  for (const m of opt.mentions ?? []) {
    if (!text.includes(m.toLowerCase())) fail(`${label}: the error does not mention ${JSON.stringify(m)} (msg ${JSON.stringify(e.msg)}, details ${JSON.stringify(e.details ?? '')})`);
  }
  return e;
}

/** OK0: exit 0 and stdout empty or whitespace. */
export function expectOk0(label: string, o: Outcome): void {
  if (o.timedOut) fail(`${label}: expected OK0, but the plugin did not finish (killed after the deadline)`);
  if (o.code !== 0 || o.stdout.trim() !== '') fail(`${label}: expected OK0 (exit 0, empty stdout), got ${describe(o)}`);
}

/** RES(v): exit 0 and stdout one JSON object valid for version v (§3.3) with cniVersion v. */
export function expectRes(label: string, o: Outcome, version: string): Record<string, unknown> {
  if (o.timedOut) fail(`${label}: expected RES(${version}), but the plugin did not finish (killed after the deadline)`);
  if (o.code !== 0) fail(`${label}: expected RES(${version}), got ${describe(o)}`);
  const p = parseStdout(o.stdout);
  if (!p.ok) fail(`${label}: expected RES(${version}): ${p.why} (${describe(o)})`);
  const problems = resultProblems(p.value, version);
  if (problems.length) fail(`${label}: the result is not a valid ${version} result: ${problems.join('; ')} (stdout ${JSON.stringify(o.stdout.trim().slice(0, 400))})`);
  return p.value as Record<string, unknown>;
}

/** Not an error of the environment (code 4): what "not an env error" cases want. Returns the error if any. */
export function notEnvError(label: string, o: Outcome): void {
  if (o.code === 0) return;
  const p = parseStdout(o.stdout);
  if (p.ok && isObject(p.value) && p.value.code === 4) fail(`${label}: expected no environment error, got code 4 (${describe(o)})`);
}

// --- addresses ------------------------------------------------------------------------------

export function isIp(s: unknown, family?: 4 | 6): boolean {
  if (typeof s !== 'string') return false;
  const f = net.isIP(s);
  return family ? f === family : f !== 0;
}

/** `addr/prefix` with a prefix in range for the family. */
export function isCidr(s: unknown, family?: 4 | 6): boolean {
  if (typeof s !== 'string') return false;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const f = net.isIP(m[1]!);
  if (!f || (family && f !== family)) return false;
  const prefix = Number(m[2]);
  return String(prefix) === m[2] && prefix <= (f === 4 ? 32 : 128);
}

export function cidrFamily(s: string): 4 | 6 | 0 {
  return net.isIP(s.split('/')[0] ?? '') as 4 | 6 | 0;
}

// --- §3.3 result formats ---------------------------------------------------------------------

export function versionFamily(v: string): '020' | '040' | '100' {
  if (v === '0.1.0' || v === '0.2.0') return '020';
  if (v === '0.3.0' || v === '0.3.1' || v === '0.4.0') return '040';
  return '100';
}

function dnsProblems(d: unknown, where: string): string[] {
  if (d === undefined) return [];
  if (!isObject(d)) return [`${where} is not an object`];
  const out: string[] = [];
  for (const [k, v] of Object.entries(d)) {
    if (k === 'domain') {
      if (typeof v !== 'string') out.push(`${where}.domain is not a string`);
    } else if (k === 'nameservers' || k === 'search' || k === 'options') {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) out.push(`${where}.${k} is not an array of strings`);
      else if (k === 'nameservers' && v.some((x) => !isIp(x))) out.push(`${where}.nameservers has a value that is not an IP address`);
    } else out.push(`${where} has key ${JSON.stringify(k)} (only nameservers, domain, search, options)`);
  }
  return out;
}

function keysProblems(o: Record<string, unknown>, allowed: string[], where: string): string[] {
  return Object.keys(o).filter((k) => !allowed.includes(k)).map((k) => `${where} has key ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
}

function routeProblems(r: unknown, where: string, v: string, family?: 4 | 6): string[] {
  if (!isObject(r)) return [`${where} is not an object`];
  const out: string[] = [];
  const extra = v === '1.1.0' ? ['mtu', 'advmss', 'priority', 'table', 'scope'] : [];
  // The reference writes 1.1.0 route extras into 0.4.0 results too; the spec's table lists dst and gw.
  out.push(...keysProblems(r, ['dst', 'gw', ...extra], where));
  if (!isCidr(r.dst, family)) out.push(`${where}.dst ${JSON.stringify(r.dst)} is not ${family ? `an IPv${family} ` : 'a '}CIDR`);
  if (r.gw !== undefined && !isIp(r.gw, family)) out.push(`${where}.gw ${JSON.stringify(r.gw)} is not ${family ? `an IPv${family} ` : 'an '}address`);
  for (const k of extra) if (r[k] !== undefined && (typeof r[k] !== 'number' || !Number.isInteger(r[k]) || (r[k] as number) < 0)) out.push(`${where}.${k} is not an unsigned integer`);
  return out;
}

/** Everything that makes `doc` an invalid result of version `v` (§3.3), or []. */
export function resultProblems(doc: unknown, v: string): string[] {
  if (!isObject(doc)) return ['the result is not a JSON object'];
  const out: string[] = [];
  if (doc.cniVersion !== v) out.push(`cniVersion is ${JSON.stringify(doc.cniVersion)}, not ${JSON.stringify(v)}`);
  const fam = versionFamily(v);
  if (fam === '020') {
    out.push(...keysProblems(doc, ['cniVersion', 'ip4', 'ip6', 'dns'], 'the result'));
    if (doc.ip4 === undefined && doc.ip6 === undefined) out.push('neither ip4 nor ip6 is present');
    for (const [key, f] of [['ip4', 4], ['ip6', 6]] as const) {
      const ip = doc[key];
      if (ip === undefined) continue;
      if (!isObject(ip)) {
        out.push(`${key} is not an object`);
        continue;
      }
      out.push(...keysProblems(ip, ['ip', 'gateway', 'routes'], key));
      if (!isCidr(ip.ip, f)) out.push(`${key}.ip ${JSON.stringify(ip.ip)} is not an IPv${f} CIDR`);
      if (ip.gateway !== undefined && !isIp(ip.gateway, f)) out.push(`${key}.gateway ${JSON.stringify(ip.gateway)} is not an IPv${f} address`);
      if (ip.routes !== undefined) {
        if (!Array.isArray(ip.routes)) out.push(`${key}.routes is not an array`);
        else ip.routes.forEach((r, i) => out.push(...routeProblems(r, `${key}.routes[${i}]`, '0.2.0', f)));
      }
    }
    out.push(...dnsProblems(doc.dns, 'dns'));
    return out;
  }
  out.push(...keysProblems(doc, ['cniVersion', 'interfaces', 'ips', 'routes', 'dns'], 'the result'));
  const ifaces = doc.interfaces;
  let count = 0;
  if (ifaces !== undefined) {
    if (!Array.isArray(ifaces)) out.push('interfaces is not an array');
    else {
      count = ifaces.length;
      const allowed = fam === '040' || v === '1.0.0' ? ['name', 'mac', 'sandbox'] : ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID'];
      ifaces.forEach((i, n) => {
        const where = `interfaces[${n}]`;
        if (!isObject(i)) return out.push(`${where} is not an object`);
        out.push(...keysProblems(i, allowed, where));
        if (typeof i.name !== 'string' || i.name === '') out.push(`${where}.name is not a non-empty string`);
        for (const k of ['mac', 'sandbox', 'socketPath', 'pciID']) if (i[k] !== undefined && typeof i[k] !== 'string') out.push(`${where}.${k} is not a string`);
        if (i.mtu !== undefined && (typeof i.mtu !== 'number' || !Number.isInteger(i.mtu) || i.mtu < 0)) out.push(`${where}.mtu is not an unsigned integer`);
        return undefined;
      });
    }
  }
  if (doc.ips !== undefined) {
    if (!Array.isArray(doc.ips)) out.push('ips is not an array');
    else doc.ips.forEach((ip, n) => {
      const where = `ips[${n}]`;
      if (!isObject(ip)) return out.push(`${where} is not an object`);
      out.push(...keysProblems(ip, fam === '040' ? ['version', 'address', 'gateway', 'interface'] : ['address', 'gateway', 'interface'], where));
      if (!isCidr(ip.address)) out.push(`${where}.address ${JSON.stringify(ip.address)} is not a CIDR`);
      const f = typeof ip.address === 'string' ? cidrFamily(ip.address) : 0;
      if (fam === '040') {
        if (ip.version !== '4' && ip.version !== '6') out.push(`${where}.version is ${JSON.stringify(ip.version)}, not "4" or "6"`);
        else if (f && ip.version !== String(f)) out.push(`${where}.version is "${ip.version}" for an IPv${f} address`);
      }
      if (ip.gateway !== undefined && !isIp(ip.gateway, f || undefined)) out.push(`${where}.gateway ${JSON.stringify(ip.gateway)} is not an address of the same family`);
      if (ip.interface !== undefined && (typeof ip.interface !== 'number' || !Number.isInteger(ip.interface) || ip.interface < 0 || ip.interface >= count)) {
        out.push(`${where}.interface ${JSON.stringify(ip.interface)} is not an index into interfaces (${count})`);
      }
      return undefined;
    });
  }
  if (doc.routes !== undefined) {
    if (!Array.isArray(doc.routes)) out.push('routes is not an array');
    else doc.routes.forEach((r, n) => out.push(...routeProblems(r, `routes[${n}]`, v)));
  }
  out.push(...dnsProblems(doc.dns, 'dns'));
  return out;
}
