// HostComputeQuery (hcn-api.md §3): Filter is JSON text whose keys are the service's internal,
// v1-flavoured property names; several keys are ANDed; no match is an empty list, not an error.

import type { ObjectKind } from '../../api';
import type { HostComputeQuery } from '../../model/query';
import type { EmulatorState } from './store';
import { fail } from './failure';
import { sameGuid } from './guid';
import { tableOf } from './objects';
import { checkDocument, parseJsonObject } from './validate';

type Matcher = (s: EmulatorState, obj: Record<string, unknown>, want: unknown) => boolean;

const byId: Matcher = (_s, o, want) => sameGuid(o.ID, want);
const byName: Matcher = (_s, o, want) => o.Name === want;

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
    VirtualNetwork: (_s, o, want) => sameGuid(o.HostComputeNetwork, want),
    VirtualNetworkName: (s, o, want) => typeof o.HostComputeNetwork === 'string' && s.networks[o.HostComputeNetwork]?.Name === want,
  },
  Namespace: { ID: byId, Name: byName, IsDefault: (_s, o, want) => (o.Type === 'HostDefault') === want },
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

/** IDs (upper case, creation order) of the objects matching every key of the filter. */
export function enumerate(s: EmulatorState, kind: ObjectKind, filter: Record<string, unknown>): string[] {
  const keys = Object.entries(filter);
  return Object.values(tableOf(s, kind) as Record<string, Record<string, unknown>>)
    .filter((o) => keys.every(([k, want]) => FILTER_KEYS[kind][k]!(s, o, want)))
    .map((o) => String(o.ID));
}
