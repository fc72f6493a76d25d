// ModifyRequest enums arrive as names or integers (hcn-api.md §2.8); the rules work with names.

import { REQUEST_TYPES, type RequestType } from '../../model/modify';

export function requestName(v: RequestType | number): RequestType {
  return typeof v === 'number' ? REQUEST_TYPES[v]! : v;
}

export function resourceName<T extends string>(v: T | number, names: readonly T[]): T {
  return typeof v === 'number' ? names[v]! : v;
}
