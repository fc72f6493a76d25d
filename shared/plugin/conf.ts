// Readings of the conf that every mode shares, where one meaning has several spellings across
// the upstream plugins (our typed keys, sdnbridge's optionalFlags, wincni's typeless ipam).

import type { NetConf } from '../config/types';
import { type Family, parseCidr, parseIp } from '../net/ip';

/** No IPAM plugin: HNS assigns the address from the network's subnet (sdnbridge, wincni, no ipam at all). */
export function hnsAssignsAddress(conf: NetConf): boolean {
  return conf.ipam?.type === undefined;
}

export function wantsLoopbackDsr(conf: NetConf): boolean {
  return conf.loopbackDSR === true || conf.optionalFlags?.loopbackDSR === true;
}

function familyOf(text: string): Family | undefined {
  return parseIp(text)?.family;
}

/** A route `{dst?, gw}` that names a default gateway: no dst (wincni's `routes: [{"GW": ...}]`) or a /0. */
function defaultVia(routes: { dst?: string; gw: string }[] | undefined, family: Family, dstRequired: boolean): string | undefined {
  return routes?.find((r) => familyOf(r.gw) === family && (r.dst === undefined ? !dstRequired : parseCidr(r.dst)?.prefix === 0))?.gw;
}

/**
 * The pods' default gateway the conf sets for a family, if any: `gateway`/`gateway6`; else, with
 * sdnbridge's optionalFlags.gatewayFromAdditionalRoutes, the default route of additionalRoutes;
 * else, when HNS assigns the address, the typeless ipam's route (sdnbridge takes routes[0].gw).
 * Undefined: the mode's own gateway.
 */
export function gatewayOverride(conf: NetConf, family: Family): string | undefined {
  const typed = family === 4 ? conf.gateway : conf.gateway6;
  if (typed) return typed;
  if (conf.optionalFlags?.gatewayFromAdditionalRoutes) {
    const gw = defaultVia(conf.additionalRoutes, family, true);
    if (gw) return gw;
  }
  if (hnsAssignsAddress(conf)) return defaultVia(conf.ipam?.routes, family, false);
  return undefined;
}

/** Every gateway the conf sets, for allocators that must never hand one out. */
export function gatewayOverrides(conf: NetConf): string[] {
  return ([4, 6] as const).map((f) => gatewayOverride(conf, f)).filter((g): g is string => !!g);
}
