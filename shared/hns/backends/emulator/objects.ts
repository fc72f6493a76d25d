// The fields the service stamps on every object it creates (hcn-api.md §2.0, §4.2), and the enum
// and key conventions of its output.

import type { EmulatorConfig } from './config';
import { serviceStamp } from './store';

/** `(HNS major << 32) | minor`; above 2^32, so built with arithmetic that stays exact up to 2^53. */
export function objectVersion(cfg: EmulatorConfig): number {
  return cfg.hnsVersion.Major * 2 ** 32 + cfg.hnsVersion.Minor;
}

/**
 * The fields the service adds to every object: State 1 (seen after create), Version and Health.
 * (Observed health is LastErrorCode/LastUpdateTime; kept under Data, where the v2 schema has room.)
 */
export function serviceFields(cfg: EmulatorConfig): ReturnType<typeof serviceStamp> {
  return serviceStamp(cfg);
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
