// How the emulated service says no: an HRESULT plus the detail the service appends to its error
// record (`{{Field,UnknownField}}`). Thrown inside the emulator, turned into an HcnOutcome at the
// API boundary.

import { hr } from '../../hresult';

export class HcnFailure extends Error {
  constructor(readonly code: number, readonly detail?: string) {
    super(`HRESULT 0x${(code >>> 0).toString(16).toUpperCase()}${detail ? ` ${detail}` : ''}`);
    this.name = 'HcnFailure';
  }
}

/** Throws the failure named in hresult.ts. */
export function fail(name: string, detail?: string): never {
  throw new HcnFailure(hr(name), detail);
}
