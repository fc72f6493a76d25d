// HostComputeQuery (query.schema.json): the input of HcnEnumerate* and HcnQuery*Properties.

import { SCHEMA_V2, type SchemaVersion } from './common';

export interface HostComputeQuery {
  SchemaVersion?: SchemaVersion;
  /** None 0, Detailed 1 */
  Flags?: 0 | 1;
  /** JSON text, e.g. `{"Name":"cbr0"}`; keys ANDed. */
  Filter?: string;
}

/** The query hcsshim sends: schema 2.0, the filter double-encoded. */
export function query(filter?: Record<string, unknown>): HostComputeQuery {
  const q: HostComputeQuery = { SchemaVersion: SCHEMA_V2, Flags: 0 };
  if (filter && Object.keys(filter).length > 0) q.Filter = JSON.stringify(filter);
  return q;
}
