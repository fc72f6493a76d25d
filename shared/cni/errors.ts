// CNI error codes and the error type every layer throws when the runtime must see a code.

/** Codes defined by the CNI spec (§4.2) and the reference library, plus ours (100+). */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,

  // Plugin-specific codes (100+). Kept stable: operators grep logs for them.
  /** An HNS (HCN) call failed with an error that is not one of the cases below. */
  HnsFailure: 100,
  /** The HNS network named by the conf does not exist or is of another type. */
  NetworkUnavailable: 101,
  /** An attachment for this (container, interface) already exists. */
  AttachmentExists: 102,
  /** The delegated IPAM plugin failed without a CNI code of its own, or gave an unusable answer. */
  IpamFailure: 103,
  /** CHECK found the attachment different from what ADD made. */
  CheckFailed: 104,
  /** An address the pod would get is taken or outside the network. */
  AddressConflict: 105,
  /** Removing resources failed; the message lists every failure. */
  CleanupFailed: 106,
  /** The HNS service lacks a feature the conf asks for (DSR, dual-stack, ...). */
  FeatureUnsupported: 107,
  /** Any error nobody typed; the message is the error text. */
  Internal: 999,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class CniError extends Error {
  readonly code: number;
  readonly details: string | undefined;
  constructor(code: number, msg: string, details?: string) {
    super(msg);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }
}

export interface CniErrorObject {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

export function toErrorObject(err: CniError, cniVersion: string | undefined): CniErrorObject {
  const out: CniErrorObject = cniVersion
    ? { cniVersion, code: err.code, msg: err.message || 'unknown error' }
    : { code: err.code, msg: err.message || 'unknown error' };
  if (err.details) out.details = err.details;
  return out;
}

/** Any thrown value as a CniError: typed errors keep their code, the rest become 999. */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const coded = err as { cniCode?: unknown; message?: unknown };
  if (coded && typeof coded.cniCode === 'number' && typeof coded.message === 'string') {
    return new CniError(coded.cniCode, coded.message);
  }
  if (err instanceof Error) return new CniError(ErrorCode.Internal, err.message || err.name);
  return new CniError(ErrorCode.Internal, String(err));
}
