// Pieces shared by the HCN v2 documents (common.schema.json). Keys are spelled exactly as the
// service spells them: a TypeScript client cannot lean on Go's case-insensitive decoding.

/** `2CA473CC-84A9-481F-A1F7-CA49865A01A5`: 36 characters, no braces; the service emits upper case. */
export type Guid = string;

export interface SchemaVersion {
  Major: number;
  Minor: number;
}

export const SCHEMA_V2: SchemaVersion = { Major: 2, Minor: 0 };

export interface Dns {
  Domain?: string;
  Search?: string[];
  ServerList?: string[];
  Options?: string[];
}

export interface Route {
  NextHop?: string;
  DestinationPrefix?: string;
  Metric?: number;
}

export interface Health {
  Data?: unknown;
  Extra?: Record<string, unknown>;
}

/** Fields every object kind has (the schema's `Base`). */
export interface Base {
  ID?: Guid;
  Owner?: string;
  Name?: string;
  /** Filled by the service: (HNS major << 32) | minor. */
  Version?: number;
  AdditionalParams?: unknown;
  Health?: Health;
  SchemaVersion?: SchemaVersion;
  /** Filled by the service. */
  State?: number;
}

/** Enums arrive as strings from the service but clients may send the integer. */
export function enumName<T extends string>(value: T | number | undefined, names: readonly T[], zero: T): T {
  if (value === undefined) return zero; // the service omits zero-valued enums
  if (typeof value === 'number') return names[value] ?? zero;
  return value;
}
