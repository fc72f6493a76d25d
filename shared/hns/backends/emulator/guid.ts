// GUID text as the service handles it: accepted in any case, stored and emitted in upper case,
// compared case-insensitively everywhere (clients send lower case, the service answers upper).

import { ZERO_GUID } from '../../api';
import { fail } from './failure';

const GUID = /^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$/;

export function isGuid(v: unknown): v is string {
  return typeof v === 'string' && GUID.test(v);
}

/**
 * A random (version 4) GUID. Math.random is enough for an emulator's object IDs, and the crypto
 * module would cost every plugin run a few milliseconds to load.
 */
export function newGuid(): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  const variant = (8 + Math.floor(Math.random() * 4)).toString(16);
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`.toUpperCase();
}

export function sameGuid(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.toUpperCase() === b.toUpperCase();
}

/** A GUID argument (REFGUID) as the key the state uses; text that is not a GUID cannot become one. */
export function guidArg(text: string): string {
  if (!isGuid(text)) fail('HCN_E_GUID_CONVERSION_FAILURE', `{{${String(text)},InvalidGuid}}`);
  return text.toUpperCase();
}

/** The ID a Create call asks for: undefined when it passes the zero GUID ("service, pick one"). */
export function requestedId(arg: string, inDocument: unknown): string | undefined {
  const fromArg = guidArg(arg);
  const fromDoc = typeof inDocument === 'string' ? inDocument.toUpperCase() : undefined;
  if (fromArg === ZERO_GUID) return fromDoc === ZERO_GUID ? undefined : fromDoc;
  if (fromDoc && fromDoc !== ZERO_GUID && fromDoc !== fromArg) {
    fail('E_INVALIDARG', `{{ID,${fromDoc} differs from the Id argument ${fromArg}}}`);
  }
  return fromArg;
}
