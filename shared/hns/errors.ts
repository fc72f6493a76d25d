// Typed HNS errors. Cleanup depends on the difference: DEL treats not-found as done, ADD's
// rollback must not delete what a conflict says belongs to someone else, and a timeout is worth
// a retry while an invalid document is not.

import type { ObjectKind } from './api';
import { hex, hresultInfo, hr, type ParsedErrorRecord } from './hresult';
import { ErrorCode } from '../cni/errors';

export type HnsErrorKind = 'not-found' | 'conflict' | 'invalid' | 'in-use' | 'unsupported' | 'timeout' | 'unavailable' | 'failed';

export class HnsError extends Error {
  /** Read by the CNI layer when nothing more specific was decided (shared/cni/errors asCniError). */
  readonly cniCode: number;
  constructor(
    readonly kind: HnsErrorKind,
    /** The HCN function or client operation that failed. */
    readonly call: string,
    /** Unsigned HRESULT; 0 for client-side errors. */
    readonly hresult: number,
    message: string,
    readonly record?: ParsedErrorRecord,
    readonly object?: ObjectKind,
  ) {
    super(message);
    this.name = 'HnsError';
    this.cniCode = kind === 'timeout' || kind === 'unavailable' ? ErrorCode.TryAgainLater : ErrorCode.HnsFailure;
  }
}

export class HnsNotFoundError extends HnsError {}
export class HnsConflictError extends HnsError {}
export class HnsInvalidError extends HnsError {}
export class HnsInUseError extends HnsError {}
export class HnsUnsupportedError extends HnsError {}
export class HnsTimeoutError extends HnsError {}
export class HnsUnavailableError extends HnsError {}

const KINDS: Record<HnsErrorKind, new (...a: ConstructorParameters<typeof HnsError>) => HnsError> = {
  'not-found': HnsNotFoundError,
  conflict: HnsConflictError,
  invalid: HnsInvalidError,
  'in-use': HnsInUseError,
  unsupported: HnsUnsupportedError,
  timeout: HnsTimeoutError,
  unavailable: HnsUnavailableError,
  failed: HnsError,
};

const KIND_OF = new Map<number, HnsErrorKind>();
function classify(kind: HnsErrorKind, names: string[]) {
  for (const n of names) KIND_OF.set(hr(n), kind);
}
classify('not-found', [
  'HCN_E_NETWORK_NOT_FOUND', 'HCN_E_ENDPOINT_NOT_FOUND', 'HCN_E_LAYER_NOT_FOUND', 'HCN_E_SWITCH_NOT_FOUND', 'HCN_E_SUBNET_NOT_FOUND',
  'HCN_E_ADAPTER_NOT_FOUND', 'HCN_E_PORT_NOT_FOUND', 'HCN_E_POLICY_NOT_FOUND', 'HCN_E_ENDPOINT_NOT_ATTACHED', 'ERROR_NOT_FOUND',
  'HCN_E_VFP_PORTSETTING_NOT_FOUND', 'HCN_E_SWITCH_EXTENSION_NOT_FOUND',
]);
classify('conflict', [
  'HCN_E_NETWORK_ALREADY_EXISTS', 'HCN_E_LAYER_ALREADY_EXISTS', 'HCN_E_POLICY_ALREADY_EXISTS', 'HCN_E_PORT_ALREADY_EXISTS',
  'HCN_E_ENDPOINT_ALREADY_ATTACHED', 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', 'GCN_E_DEFAULTNAMESPACE_EXISTS',
  'ERROR_ALREADY_EXISTS', 'ERROR_OBJECT_ALREADY_EXISTS',
]);
classify('invalid', [
  'HCN_E_INVALID_NETWORK', 'HCN_E_INVALID_NETWORK_TYPE', 'HCN_E_INVALID_ENDPOINT', 'HCN_E_INVALID_POLICY', 'HCN_E_INVALID_POLICY_TYPE',
  'HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION', 'HCN_E_GUID_CONVERSION_FAILURE', 'HCN_E_INVALID_JSON', 'HCN_E_INVALID_JSON_REFERENCE',
  'HCN_E_INVALID_IP', 'HCN_E_INVALID_INTERNAL_PORT', 'HCN_E_ADDR_INVALID_OR_RESERVED', 'HCN_E_INVALID_PREFIX', 'HCN_E_INVALID_SUBNET',
  'HCN_E_INVALID_IP_SUBNET', 'HCN_INTERFACEPARAMETERS_ALREADY_APPLIED', 'HCN_E_ENDPOINT_NOT_LOCAL', 'E_INVALIDARG', 'ERROR_INVALID_HANDLE',
]);
classify('in-use', ['HCN_E_ENTITY_HAS_REFERENCES', 'HCN_E_REQUEST_UNSUPPORTED']);
classify('unsupported', ['E_NOTIMPL', 'HCN_E_MAPPING_NOT_SUPPORTED', 'HCN_E_VFP_NOT_ALLOWED']);
// The service is not there to answer (stopped, restarting, crashed mid-call): the same request
// may well succeed later, so CNI "try again later" (code 11). RPC_S_CALL_FAILED may have run the
// call on the server side; callers' idempotent ADD/DEL make a retry safe.
classify('unavailable', ['HCN_E_MANAGER_STOPPED', 'RPC_S_SERVER_UNAVAILABLE', 'RPC_S_CALL_FAILED', 'RPC_S_CALL_FAILED_DNE', 'EPT_S_NOT_REGISTERED']);
classify('timeout', ['ERROR_TIMEOUT']);

/** The kind of a failing HRESULT. */
export function kindOf(code: number): HnsErrorKind {
  return KIND_OF.get(code >>> 0) ?? 'failed';
}

/** An error from a failed call: `HcnCreateNetwork failed: A network with this name already exists. (0x803B0010)`. */
export function errorFromCall(call: string, code: number, record: ParsedErrorRecord | undefined, object?: ObjectKind): HnsError {
  const kind = kindOf(code);
  const text = (record?.Error ?? hresultInfo(code)?.text ?? 'unknown error').trim();
  return new KINDS[kind](kind, call, code >>> 0, `${call} failed: ${text} (${hex(code)})`, record, object);
}

/** A not-found the client decides itself (a lookup by name or ID that matched nothing). */
export function notFound(object: ObjectKind, what: string): HnsNotFoundError {
  return new HnsNotFoundError('not-found', `get${object}`, 0, `${object.toLowerCase()} ${what} not found`, undefined, object);
}

export function timeout(call: string, ms: number): HnsTimeoutError {
  return new HnsTimeoutError('timeout', call, hr('ERROR_TIMEOUT'), `${call} did not answer within ${ms} ms`);
}

export function isNotFound(err: unknown): err is HnsNotFoundError {
  return err instanceof HnsNotFoundError;
}

