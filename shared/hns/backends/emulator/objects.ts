// Lookups and the fields the service stamps on every object it creates (hcn-api.md §2.0, §4.2).

import type { ObjectKind } from '../../api';
import type { HostComputeEndpoint } from '../../model/endpoint';
import type { HostComputeNamespace } from '../../model/namespace';
import type { HostComputeNetwork } from '../../model/network';
import type { EmulatorConfig, EmulatorState } from './store';
import { HcnFailure } from './failure';

export type ObjectOf<K extends ObjectKind> = K extends 'Network' ? HostComputeNetwork : K extends 'Endpoint' ? HostComputeEndpoint : HostComputeNamespace;

export function tableOf<K extends ObjectKind>(s: EmulatorState, kind: K): Record<string, ObjectOf<K>> {
  const t = kind === 'Network' ? s.networks : kind === 'Endpoint' ? s.endpoints : s.namespaces;
  return t as Record<string, ObjectOf<K>>;
}

/** The object with this (upper-case) ID, or the kind's not-found HRESULT. */
export function getObject<K extends ObjectKind>(s: EmulatorState, cfg: EmulatorConfig, kind: K, id: string): ObjectOf<K> {
  const obj = tableOf(s, kind)[id.toUpperCase()];
  if (!obj) throw new HcnFailure(cfg.notFoundHr[kind]);
  return obj;
}

/** `(HNS major << 32) | minor`; above 2^32, so built with arithmetic that stays exact up to 2^53. */
export function objectVersion(cfg: EmulatorConfig): number {
  return cfg.hnsVersion.Major * 2 ** 32 + cfg.hnsVersion.Minor;
}

/**
 * The fields the service adds to every object: State 1 (seen after create), Version and Health.
 * (Observed health is LastErrorCode/LastUpdateTime; kept under Data, where the v2 schema has room.)
 */
export function serviceFields(cfg: EmulatorConfig): { State: number; Version: number; Health: { Data: { LastErrorCode: number } } } {
  return { State: 1, Version: objectVersion(cfg), Health: { Data: { LastErrorCode: 0 } } };
}

/** The endpoints of a network, in creation order. */
export function endpointsOf(s: EmulatorState, networkId: string): HostComputeEndpoint[] {
  const id = networkId.toUpperCase();
  return Object.values(s.endpoints).filter((e) => e.HostComputeNetwork === id);
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
