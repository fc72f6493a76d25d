// Policy rules shared by networks and endpoints: host-wide port mappings (hcn-api.md §2.4) and
// the Add/Remove requests of HcnModify*. Settings are stored verbatim (clients compare them
// byte for byte with what they sent), so matching compares content, not key order.

import type { HostComputeEndpoint } from '../../model/endpoint';
import type { PortMappingSettings } from '../../model/policy';
import { fail } from './failure';
import { canonicalJson } from '../../../schema/canonical';

export interface AnyPolicy {
  Type: string;
  Settings?: unknown;
}

const PROTOCOLS: Record<string, number> = { Unknown: 0, ICMPv4: 1, IGMP: 2, TCP: 6, UDP: 17, ICMPv6: 58 };


export function samePolicy(a: AnyPolicy, b: AnyPolicy): boolean {
  return a.Type === b.Type && canonicalJson(a.Settings ?? {}) === canonicalJson(b.Settings ?? {});
}

/**
 * (Protocol, ExternalPort, VIP, address family): what two mappings on one host may not share.
 * The IPv6 twin of a mapping (NatFlags.IPv6) is a separate mapping on the same port, as dual-stack
 * plugins (Azure CNI, sdnbridge) send it. Undefined without an external port.
 */
function portKey(s: PortMappingSettings): string | undefined {
  if (!s.ExternalPort) return undefined;
  const proto = typeof s.Protocol === 'string' ? PROTOCOLS[s.Protocol] : s.Protocol;
  const v6 = ((s.Flags ?? 0) & 2) !== 0 ? 'v6' : 'v4';
  return `${proto ?? 0}/${s.ExternalPort}/${s.VIP ?? ''}/${v6}`;
}

function portMappings(policies: readonly AnyPolicy[] | undefined): PortMappingSettings[] {
  return (policies ?? []).filter((p) => p.Type === 'PortMapping').map((p) => (p.Settings ?? {}) as PortMappingSettings);
}

/**
 * Refuses port mappings without an internal port, and mappings whose (Protocol, ExternalPort,
 * VIP) another mapping on the host already has (`hostEndpoints`: every endpoint but the one
 * being changed) or that appear twice in `policies`.
 */
export function checkPortMappings(policies: readonly AnyPolicy[] | undefined, hostEndpoints: Iterable<HostComputeEndpoint>): void {
  const mine = portMappings(policies);
  for (const m of mine) if (!m.InternalPort) fail('HCN_E_INVALID_INTERNAL_PORT', `{{InternalPort,${m.InternalPort ?? 'missing'}}}`);
  const taken = new Set<string>();
  for (const ep of hostEndpoints) for (const m of portMappings(ep.Policies as AnyPolicy[] | undefined)) {
    const k = portKey(m);
    if (k) taken.add(k);
  }
  for (const m of mine) {
    const k = portKey(m);
    if (!k) continue;
    if (taken.has(k)) fail('HCN_E_PORT_ALREADY_EXISTS', `{{ExternalPort,${m.ExternalPort}}}`);
    taken.add(k);
  }
}

/** Appends `add`; a policy identical to one already there is HCN_E_POLICY_ALREADY_EXISTS. */
export function addPolicies<P extends AnyPolicy>(current: P[] | undefined, add: readonly P[]): P[] {
  const out = [...(current ?? [])];
  for (const p of add) {
    if (out.some((q) => samePolicy(p, q))) fail('HCN_E_POLICY_ALREADY_EXISTS', `{{${p.Type},the same policy is already applied}}`);
    out.push(p);
  }
  return out;
}

/**
 * Removes, for each policy in `remove`, the entries of its Type with the same Settings, or every
 * entry of its Type when it carries no Settings. Nothing to remove is HCN_E_POLICY_NOT_FOUND.
 */
export function removePolicies<P extends AnyPolicy>(current: P[] | undefined, remove: readonly AnyPolicy[]): P[] {
  let out = [...(current ?? [])];
  for (const p of remove) {
    const byTypeOnly = p.Settings === undefined || canonicalJson(p.Settings) === '{}';
    const kept = out.filter((q) => !(q.Type === p.Type && (byTypeOnly || samePolicy(p, q))));
    if (kept.length === out.length) fail('HCN_E_POLICY_NOT_FOUND', `{{${p.Type},no such policy is applied}}`);
    out = kept;
  }
  return out;
}
