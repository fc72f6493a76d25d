// The fields the service stamps on every object it creates (hcn-api.md §2.0, §4.2), and the enum,
// flag and key conventions of its documents.

import { EndpointFlags } from '../../model/endpoint';
import type { EmulatorConfig } from './config';

/**
 * The fields the service adds to every object: State 1 (seen after create), Version
 * `(HNS major << 32) | minor` (above 2^32, so built with arithmetic that stays exact up to 2^53)
 * and Health. (Observed health is LastErrorCode/LastUpdateTime; kept under Data, where the v2
 * schema has room.)
 */
export function serviceStamp(cfg: EmulatorConfig): { State: number; Version: number; Health: { Data: { LastErrorCode: number } } } {
  return { State: 1, Version: cfg.hnsVersion.Major * 2 ** 32 + cfg.hnsVersion.Minor, Health: { Data: { LastErrorCode: 0 } } };
}

/** A remote endpoint (EndpointFlags.RemoteEndpoint): a pod on another node, as kube-proxy makes them. */
export function isRemote(ep: { Flags?: number }): boolean {
  return ((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0;
}

/** Enum values arrive as names or numbers; the service answers with names and omits the zero value. */
export function enumOut<T extends string>(value: T | number | undefined, names: readonly T[]): T | undefined {
  const name = typeof value === 'number' ? names[value] : value;
  return name === names[0] ? undefined : name;
}

/** Copy of `doc` without the keys the service owns (it fills them itself). */
export function withoutServiceKeys<T extends object>(doc: T): T {
  const { ID: _id, State: _state, Version: _version, Health: _health, ...rest } = doc as T & { ID?: unknown; State?: unknown; Version?: unknown; Health?: unknown };
  return rest as T;
}
