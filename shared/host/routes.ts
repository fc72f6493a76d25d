// The node's IP stack, as far as the agent needs it: the interfaces (with their addresses and
// forwarding flags) and the route table. One small interface, two adapters: the IP Helper API on
// Windows (backends/iphlpapi) and the HNS emulator's host (backends/emulator) everywhere else.
// Nothing above this file knows which one it talks to.

import { formatIp, parseIp } from '../net/ip';

export type Family = 4 | 6;

export interface HostInterface {
  /** NET_IFINDEX. */
  index: number;
  /** NET_LUID, as a decimal string (a 64-bit value). */
  luid: string;
  /** "vEthernet (Ethernet)"; empty when the stack has no alias for it. */
  alias: string;
  addresses: { address: string; prefixLength: number }[];
  forwarding: { ipv4: boolean; ipv6: boolean };
}

export interface HostRoute {
  destinationPrefix: string;
  nextHop: string;
  interfaceIndex: number;
  interfaceLuid: string;
  metric: number;
  /** Who made it: `netmgmt` (an administrator or agent, CreateIpForwardEntry2), `local` (the stack), or another NL_ROUTE_PROTOCOL name. */
  protocol: string;
}

/** A route to add or delete: what identifies it on Windows (prefix, next hop, interface). */
export interface RouteRequest {
  destinationPrefix: string;
  nextHop: string;
  interfaceIndex: number;
  /** Route metric (added to the interface metric); absent: the stack's default. */
  metric?: number;
}

export type HostErrorKind = 'not-found' | 'conflict' | 'invalid' | 'denied' | 'failed';

/** A failed IP stack call. Cleanup depends on the kind: deleting what is gone is done, adding what exists is done. */
export class HostRouteError extends Error {
  constructor(readonly kind: HostErrorKind, readonly call: string, readonly code: number, message: string) {
    super(message);
    this.name = 'HostRouteError';
  }
}

export const WIN32 = {
  ERROR_ACCESS_DENIED: 5,
  ERROR_INVALID_PARAMETER: 87,
  ERROR_NOT_SUPPORTED: 50,
  ERROR_NOT_FOUND: 1168,
  ERROR_OBJECT_ALREADY_EXISTS: 5010,
} as const;

/** The kind of a Win32 error code an IP Helper function returned. */
export function hostErrorKind(code: number): HostErrorKind {
  switch (code) {
    case WIN32.ERROR_NOT_FOUND:
    case 2: // ERROR_FILE_NOT_FOUND: older builds' answer for a missing interface
      return 'not-found';
    case WIN32.ERROR_OBJECT_ALREADY_EXISTS:
    case 183: // ERROR_ALREADY_EXISTS
      return 'conflict';
    case WIN32.ERROR_INVALID_PARAMETER:
      return 'invalid';
    case WIN32.ERROR_ACCESS_DENIED:
      return 'denied';
    default:
      return 'failed';
  }
}

export function hostError(call: string, code: number, detail?: string): HostRouteError {
  return new HostRouteError(hostErrorKind(code), call, code, `${call} failed: ${detail ?? win32Text(code)} (Win32 error ${code})`);
}

/** The system's message for the Win32 errors the IP Helper calls give (FormatMessage's text). */
export function win32Text(code: number): string {
  switch (code) {
    case WIN32.ERROR_NOT_FOUND: return 'Element not found.';
    case WIN32.ERROR_OBJECT_ALREADY_EXISTS: return 'The object already exists.';
    case WIN32.ERROR_INVALID_PARAMETER: return 'The parameter is incorrect.';
    case WIN32.ERROR_ACCESS_DENIED: return 'Access is denied.';
    case WIN32.ERROR_NOT_SUPPORTED: return 'The request is not supported.';
    default: return 'the IP Helper call failed';
  }
}

export interface HostRoutes {
  /** Which adapter this is, for logs. */
  readonly backend: string;
  listInterfaces(): Promise<HostInterface[]>;
  /** Every route of both families. */
  listRoutes(): Promise<HostRoute[]>;
  /** A conflict error when the same prefix, next hop and interface exist. */
  addRoute(route: RouteRequest): Promise<void>;
  /** A not-found error when there is no such route. */
  deleteRoute(route: RouteRequest): Promise<void>;
  setForwarding(interfaceIndex: number, family: Family, enabled: boolean): Promise<void>;
  dispose(): Promise<void>;
}


/** The interface holding an address, if any. */
export function interfaceWithAddress(ifaces: HostInterface[], address: string): HostInterface | undefined {
  const want = canonicalIp(address);
  return ifaces.find((i) => i.addresses.some((a) => canonicalIp(a.address) === want));
}

/** One spelling per address (`fd00::1` for `fd00:0::0001`), so addresses compare as text. */
export function canonicalIp(text: string): string {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : text.toLowerCase();
}
