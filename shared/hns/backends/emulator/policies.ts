// Policy rules shared by networks and endpoints: host-wide port mappings (hcn-api.md §2.4) and
// the Add/Remove requests of HcnModify*. Settings are stored as sent, but for the spelling of
// their keys (canon.ts): clients compare them byte for byte with what they sent (wcn
// test/utilities/plugin_testing.go comparePolicyLists), so matching compares content, not key order.

import type { PortMappingSettings } from '../../model/policy';
import { fail } from './failure';
import { canonicalJson } from '../../../schema/canonical';
import { portKey, portMappingsOf, type StoreTx } from './store';

export interface AnyPolicy {
  Type: string;
  Settings?: unknown;
}

function samePolicy(a: AnyPolicy, b: AnyPolicy): boolean {
  return a.Type === b.Type && canonicalJson(a.Settings ?? {}) === canonicalJson(b.Settings ?? {});
}

/**
 * Refuses port mappings without an internal port, mappings whose (Protocol, ExternalPort, VIP)
 * another endpoint on the host already holds (store.ts portKey; looked up in the host-wide
 * port index, so the check costs the same with 10 or 10,000 endpoints), and mappings that appear
 * twice in `policies`. `self` is the endpoint being changed: with `selfConflicts` (a policy Add)
 * its own mappings count too, without (an Update replaces them) they do not.
 */
export function checkPortMappings(tx: StoreTx, policies: readonly AnyPolicy[] | undefined, self?: string, selfConflicts = false): void {
  const mine = portMappingsOf(policies);
  for (const m of mine) if (!(m as PortMappingSettings).InternalPort) fail('HCN_E_INVALID_INTERNAL_PORT', `{{InternalPort,${(m as PortMappingSettings).InternalPort ?? 'missing'}}}`);
  const seen = new Set<string>();
  for (const m of mine) {
    const k = portKey(m, tx.cfg);
    if (!k) continue;
    const holders = tx.portHolders(k).filter((id) => selfConflicts || id !== self);
    if (holders.length > 0 || seen.has(k)) fail('HCN_E_PORT_ALREADY_EXISTS', `{{ExternalPort,${m.ExternalPort}}}`);
    seen.add(k);
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
