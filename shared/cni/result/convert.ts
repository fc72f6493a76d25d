// Result conversion between the three families, by the rules of the reference library (spec §3.4).
// Every result goes up to the 1.x model on the way in and down to the request's version on the way out.

import { CniError, ErrorCode } from '../errors';
import { type CniVersion, familyOf, FAMILY_VERSIONS, isSupportedVersion, type ResultFamily } from '../versions';
import { isIpv4Like, parseCidr } from '../../net/ip';
import type { IpConfig020, Result020, Route020 } from './v020';
import type { Interface040, IpConfig040, Result040 } from './v040';
import type { Dns, Interface100, IpConfig100, Result100, Route100 } from './v100';
import { validate as validate020 } from './v020.validator';
import { validate as validate040 } from './v040.validator';
import { validate as validate100 } from './v100.validator';
import { describeSchemaError, type Validator } from '../../schema/validator';

export type AnyResult = Result020 | Result040 | Result100;

const VALIDATORS: Record<ResultFamily, Validator> = { '020': validate020, '040': validate040, '100': validate100 };

function requireVersion(v: string, other: string): CniVersion {
  if (!isSupportedVersion(v)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `no converter for CNI result version ${v || '(empty)'} to ${other || '(empty)'}`);
  }
  return v;
}

/** Converts a result of any supported version to any other (an empty target means 0.1.0). */
export function convertResult(result: AnyResult, to: string): AnyResult {
  const target = to === '' ? '0.1.0' : to;
  const from = requireVersion(result.cniVersion, target);
  return fromInternal(toInternal(result, from), requireVersion(target, from));
}

/** Lifts a result of `version` to the 1.x model. The result must already match its family's schema. */
export function toInternal(result: AnyResult, version: CniVersion): Result100 {
  switch (familyOf(version)) {
    case '020':
      return from020(result as Result020);
    case '040':
      return from040(result as Result040);
    case '100':
      return clone100(result as Result100);
  }
}

/** Writes the 1.x model in `version`'s format. */
export function fromInternal(r: Result100, version: CniVersion): AnyResult {
  switch (familyOf(version)) {
    case '020':
      return to020(r, version);
    case '040':
      return to040(r, version);
    case '100':
      return { ...clone100(r), cniVersion: version };
  }
}

export interface ParseOptions {
  /** The request's version: assumed when the document has none. */
  requestVersion: CniVersion;
  /**
   * prevResult must be of the request's family (a 1.1.0 request rejects a 0.4.0 prevResult, as Go
   * plugins do); a delegate's result may be of any version and is converted.
   */
  sameFamily: boolean;
  /** Names the document in error messages ("prevResult", "IPAM result"). */
  what: string;
}

/** Validates and lifts a result document from JSON. Bad documents are decoding errors (code 6). */
export function parseResult(doc: unknown, opts: ParseOptions): Result100 {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CniError(ErrorCode.DecodingFailure, `error decoding ${opts.what}: not a JSON object`);
  }
  const raw = doc as { cniVersion?: unknown };
  const declared = raw.cniVersion === undefined || raw.cniVersion === '' ? opts.requestVersion : raw.cniVersion;
  if (typeof declared !== 'string' || !isSupportedVersion(declared)) {
    throw new CniError(ErrorCode.DecodingFailure, `error decoding ${opts.what}: unsupported CNI result version ${JSON.stringify(declared)}`);
  }
  const family = familyOf(declared);
  if (opts.sameFamily && family !== familyOf(opts.requestVersion)) {
    const supported = FAMILY_VERSIONS[familyOf(opts.requestVersion)];
    throw new CniError(ErrorCode.DecodingFailure, `error decoding ${opts.what}: result type supports [${supported.join(' ')}] but unmarshalled CNIVersion is "${declared}"`);
  }
  const withVersion = { ...(doc as object), cniVersion: declared };
  const validate = VALIDATORS[family];
  if (!validate(withVersion)) {
    const first = validate.errors?.[0];
    throw new CniError(ErrorCode.DecodingFailure, `error decoding ${opts.what}: ${first ? describeSchemaError(first, withVersion) : 'invalid result'}`);
  }
  return toInternal(withVersion as AnyResult, declared);
}

// --- up ---------------------------------------------------------------------------------------

function from020(r: Result020): Result100 {
  const ips: IpConfig100[] = [];
  const routes: Route100[] = [];
  for (const ipc of [r.ip4, r.ip6]) {
    if (!ipc) continue;
    ips.push(ipc.gateway ? { address: ipc.ip, gateway: ipc.gateway } : { address: ipc.ip });
    for (const rt of ipc.routes ?? []) routes.push(rt.gw ? { dst: rt.dst, gw: rt.gw } : { dst: rt.dst });
  }
  const out: Result100 = { cniVersion: r.cniVersion };
  if (ips.length) out.ips = ips;
  if (routes.length) out.routes = routes;
  if (r.dns) out.dns = cloneDns(r.dns);
  return out;
}

function from040(r: Result040): Result100 {
  const out: Result100 = { cniVersion: r.cniVersion };
  if (r.interfaces) out.interfaces = r.interfaces.map((i) => pick(i, ['name', 'mac', 'sandbox']) as Interface100);
  if (r.ips) out.ips = r.ips.map((ip) => pick(ip, ['address', 'gateway', 'interface']) as IpConfig100);
  if (r.routes) out.routes = r.routes.map((rt) => pick(rt, ['dst', 'gw']) as Route100);
  if (r.dns) out.dns = cloneDns(r.dns);
  return out;
}

function clone100(r: Result100): Result100 {
  const out: Result100 = { cniVersion: r.cniVersion };
  if (r.interfaces) out.interfaces = r.interfaces.map((i) => pick(i, ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID']) as Interface100);
  if (r.ips) out.ips = r.ips.map((ip) => pick(ip, ['address', 'gateway', 'interface']) as IpConfig100);
  if (r.routes) out.routes = r.routes.map((rt) => pick(rt, ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']) as Route100);
  if (r.dns && !isEmptyDns(r.dns)) out.dns = cloneDns(r.dns);
  return out;
}

// --- down -------------------------------------------------------------------------------------

function to040(r: Result100, version: CniVersion): Result040 {
  const out: Result040 = { cniVersion: version };
  if (r.interfaces) out.interfaces = r.interfaces.map((i) => pick(i, ['name', 'mac', 'sandbox']) as Interface040);
  if (r.ips) {
    out.ips = r.ips.map((ip) => {
      const cidr = parseCidr(ip.address);
      const version: IpConfig040['version'] = cidr && isIpv4Like(cidr.ip) ? '4' : '6';
      return { version, ...(pick(ip, ['address', 'gateway', 'interface']) as Omit<IpConfig040, 'version'>) };
    });
  }
  if (r.routes) out.routes = r.routes.map((rt) => pick(rt, ['dst', 'gw']) as Route020);
  // The reference writes an empty dns object in the 0.x formats.
  out.dns = r.dns ? cloneDns(r.dns) : {};
  return out;
}

function to020(r: Result100, version: CniVersion): Result020 {
  let ip4: IpConfig020 | undefined;
  let ip6: IpConfig020 | undefined;
  for (const ip of r.ips ?? []) {
    const cidr = parseCidr(ip.address);
    if (!cidr) continue;
    const entry: IpConfig020 = ip.gateway ? { ip: ip.address, gateway: ip.gateway } : { ip: ip.address };
    if (isIpv4Like(cidr.ip)) ip4 ??= entry;
    else ip6 ??= entry;
  }
  if (!ip4 && !ip6) {
    throw new CniError(ErrorCode.IncompatibleVersion, 'cannot convert: no valid IP addresses', `a ${version} result needs at least one IP address`);
  }
  for (const rt of r.routes ?? []) {
    const dst = parseCidr(rt.dst);
    if (!dst) continue;
    const target = isIpv4Like(dst.ip) ? ip4 : ip6;
    if (!target) continue;
    (target.routes ??= []).push(rt.gw ? { dst: rt.dst, gw: rt.gw } : { dst: rt.dst });
  }
  const out: Result020 = { cniVersion: version };
  if (ip4) out.ip4 = ip4;
  if (ip6) out.ip6 = ip6;
  out.dns = r.dns ? cloneDns(r.dns) : {};
  return out;
}

// --- helpers ----------------------------------------------------------------------------------

function pick<T extends object>(obj: T, keys: readonly string[]): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (obj as Record<string, unknown>)[k];
    if (v !== undefined && v !== '') out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out as Partial<T>;
}

function cloneDns(d: Dns): Dns {
  return pick(d, ['nameservers', 'domain', 'search', 'options']) as Dns;
}

export function isEmptyDns(d: Dns | undefined): boolean {
  return !d || (!d.nameservers?.length && !d.domain && !d.search?.length && !d.options?.length);
}
