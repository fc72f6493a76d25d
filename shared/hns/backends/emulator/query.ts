// HostComputeQuery (hcn-api.md §3): Filter is JSON text whose keys are the service's internal,
// v1-flavoured property names; several keys are ANDed; no match is an empty list, not an error.
//
// A filter is answered from the most selective index it allows (store.ts): ID, an endpoint's
// address on a network, Name, the network's endpoints, HostDefault; the other keys are checked on
// the few objects that index yields. So a lookup by name costs the same with 10 or 10,000
// endpoints; only a filter that matches many objects (or none) reads many.

import type { ObjectKind } from '../../api';
import type { HostComputeQuery } from '../../model/query';
import { fail } from './failure';
import { isGuid, sameGuid } from './guid';
import { ipKey, type StoreTx } from './store';
import { checkDocument, parseJsonObject } from './validate';

type Doc = Record<string, unknown>;
type Matcher = (tx: StoreTx, obj: Doc, want: unknown) => boolean;

const byId: Matcher = (_tx, o, want) => sameGuid(o.ID, want);
const byName: Matcher = (_tx, o, want) => o.Name === want;

/**
 * The filter keys the service understands per kind. Others are refused: the service is said to
 * ignore keys it does not know (hcsshim notes `HostComputeNetwork` is not understood), which
 * would silently match every object; refusing keeps clients off keys that only seem to work.
 */
const FILTER_KEYS: Record<ObjectKind, Record<string, Matcher>> = {
  Network: { ID: byId, Name: byName },
  Endpoint: {
    ID: byId,
    Name: byName,
    VirtualNetwork: (_tx, o, want) => sameGuid(o.HostComputeNetwork, want),
    VirtualNetworkName: (tx, o, want) => typeof o.HostComputeNetwork === 'string' && tx.get('Network', o.HostComputeNetwork)?.Name === want,
    // The v1 HNSEndpoint's address field (hcsshim hnsendpoint.go `IPAddress`); filters use the v1
    // names (hcsshim hcnendpoint.go ListEndpointsOfNetwork). INFERRED: no client is known to
    // filter by address on a real host (kube-proxy and Calico list everything and compare
    // client-side, research §4), so whether the service takes this key is unconfirmed; matched
    // against any of the endpoint's v2 IpConfigurations, not only the first.
    IPAddress: (_tx, o, want) => Array.isArray(o.IpConfigurations) && o.IpConfigurations.some((c: { IpAddress?: string }) => c.IpAddress === want),
  },
  Namespace: { ID: byId, Name: byName, IsDefault: (_tx, o, want) => (o.Type === 'HostDefault') === want },
};

export interface ParsedQuery {
  /** Major 1 asks for the v1 representation. */
  v1: boolean;
  filter: Record<string, unknown>;
}

/** Validates a query document ("" means the default query) and decodes its Filter. */
export async function parseQuery(text: string, kind: ObjectKind): Promise<ParsedQuery> {
  if (text.trim() === '') return { v1: false, filter: {} };
  const q = await checkDocument<HostComputeQuery>('query', text);
  const filter = q.Filter?.trim() ? parseJsonObject(q.Filter) : {};
  for (const key of Object.keys(filter)) {
    if (!FILTER_KEYS[kind][key]) fail('E_INVALIDARG', `{{Filter,${kind.toLowerCase()}s cannot be filtered by ${key}; known keys: ${Object.keys(FILTER_KEYS[kind]).join(', ')}}}`);
  }
  return { v1: q.SchemaVersion?.Major === 1, filter };
}

/** The candidates the most selective index gives (creation order), and the key it answered exactly. */
function candidates(tx: StoreTx, kind: ObjectKind, f: Record<string, unknown>): { ids: string[]; exact?: string } {
  if ('ID' in f) return { ids: isGuid(f.ID) && tx.rec(kind, f.ID) ? [f.ID.toUpperCase()] : [], exact: 'ID' };
  if (kind === 'Endpoint' && typeof f.IPAddress === 'string') {
    const key = ipKey(f.IPAddress);
    if (!key) return { ids: [] };
    const nets = isGuid(f.VirtualNetwork) ? [f.VirtualNetwork.toUpperCase()] : tx.ids('Network');
    const seen = nets.flatMap((n) => tx.ipHolders(n, key).map((h) => h.id));
    return { ids: [...new Set(seen)].map((id) => ({ id, seq: tx.rec('Endpoint', id)?.seq ?? 0 })).sort((a, b) => a.seq - b.seq).map((x) => x.id) };
  }
  if (typeof f.Name === 'string') return { ids: tx.byName(kind, f.Name), exact: 'Name' };
  if (kind === 'Endpoint' && 'VirtualNetwork' in f) return { ids: isGuid(f.VirtualNetwork) ? tx.endpointsOf(f.VirtualNetwork) : [], exact: 'VirtualNetwork' };
  if (kind === 'Endpoint' && typeof f.VirtualNetworkName === 'string') {
    const nets = tx.byName('Network', f.VirtualNetworkName);
    return { ids: nets.flatMap((n) => tx.endpointsOf(n)), exact: 'VirtualNetworkName' };
  }
  if (kind === 'Namespace' && f.IsDefault === true) return { ids: tx.defaultNamespaces(), exact: 'IsDefault' };
  return { ids: tx.ids(kind) };
}

/** IDs (upper case, creation order) of the objects matching every key of the filter. */
export function enumerate(tx: StoreTx, kind: ObjectKind, filter: Record<string, unknown>): string[] {
  const { ids, exact } = candidates(tx, kind, filter);
  const rest = Object.entries(filter).filter(([k]) => k !== exact);
  if (rest.length === 0) return ids;
  return ids.filter((id) => {
    const o = tx.get(kind, id) as Doc | undefined;
    return !!o && rest.every(([k, want]) => FILTER_KEYS[kind][k]!(tx, o, want));
  });
}
