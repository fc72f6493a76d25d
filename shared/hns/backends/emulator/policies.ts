// Policy rules shared by networks and endpoints: host-wide port mappings (hcn-api.md §2.4) and
// the Add/Remove requests of HcnModify*. Settings are stored as sent, but for the spelling of
// their keys (canon.ts): clients compare them byte for byte with what they sent (wcn
// test/utilities/plugin_testing.go comparePolicyLists), so matching compares content, not key order.

import type { OutboundNatSettings, PortMappingSettings } from '../../model/policy';
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

/** The SNAT ports an endpoint's policies hold, by VirtualIP: one chunk per OutBoundNAT (a DSR one, with Destinations, translates to the pod itself and holds none). */
function snatHoldings(policies: readonly AnyPolicy[] | undefined, chunk: number, defaultVip: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of policies ?? []) {
    const s = (p.Settings ?? {}) as OutboundNatSettings;
    if (p.Type !== 'OutBoundNAT' || s.Destinations?.length) continue;
    const vip = s.VirtualIP || defaultVip;
    out.set(vip, (out.get(vip) ?? 0) + Math.min(chunk, s.MaxPortPoolUsage || chunk));
  }
  return out;
}

/**
 * Refuses an endpoint whose OutBoundNAT needs more SNAT ports than its VirtualIP's pool has free
 * (knob snatPortPool; off by default). `self` is the endpoint being changed: its own holding is
 * not counted twice.
 */
export function checkSnatPortPool(tx: StoreTx, policies: readonly AnyPolicy[] | undefined, self?: string): void {
  const pool = tx.cfg.snatPortPool;
  if (!pool) return;
  const want = snatHoldings(policies, tx.cfg.snatPortChunk, tx.cfg.managementIp);
  if (want.size === 0) return;
  const held = new Map<string, number>();
  for (const id of tx.ids('Endpoint')) {
    if (id === self) continue;
    for (const [vip, n] of snatHoldings(tx.get('Endpoint', id)?.Policies as AnyPolicy[] | undefined, tx.cfg.snatPortChunk, tx.cfg.managementIp)) held.set(vip, (held.get(vip) ?? 0) + n);
  }
  for (const [vip, n] of want) {
    const used = held.get(vip) ?? 0;
    if (used + n > pool) fail('ERROR_NO_SYSTEM_RESOURCES', `{{OutBoundNAT,no free SNAT ports for ${vip}: ${used} of ${pool} held, ${n} more needed}}`);
  }
}
