// The IP Helper structures the agent reads and writes, laid out byte for byte as netioapi.h /
// ws2ipdef.h define them for x64 Windows. Rows cross the FFI as plain buffers (not koffi structs)
// because their addresses are SOCKADDR_INET unions: one buffer, one table of offsets, and codecs
// that read and write exactly the fields the agent needs. The offsets were printed from the
// real headers (mingw-w64's netioapi.h, compiled and run under Wine) and are checked twice in the
// unit tests: against koffi's own layout of the same structs (bindings.ts structTypes) and
// against the C stand-in (test/standin/iphlpstandin.c), which reads the fields at the offsets its
// compiler gives them.

import { formatIp, parseCidr, parseIp } from '../../../net/ip';

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 23;

/** SOCKADDR_INET: a union of SOCKADDR_IN (16 bytes) and SOCKADDR_IN6 (28); the family comes first in both. */
export const SOCKADDR_INET = { size: 28, family: 0, ipv4Addr: 4, ipv6Addr: 8, ipv6ScopeId: 24 } as const;

/** MIB_IPFORWARD_ROW2 (netioapi.h), 104 bytes. DestinationPrefix is IP_ADDRESS_PREFIX {SOCKADDR_INET Prefix; UINT8 PrefixLength} (32 bytes). */
export const MIB_IPFORWARD_ROW2 = {
  size: 104,
  InterfaceLuid: 0,
  InterfaceIndex: 8,
  DestinationPrefix: 12,
  DestinationPrefixLength: 12 + 28,
  NextHop: 44,
  SitePrefixLength: 72,
  ValidLifetime: 76,
  PreferredLifetime: 80,
  Metric: 84,
  Protocol: 88,
  Loopback: 92,
  AutoconfigureAddress: 93,
  Publish: 94,
  Immortal: 95,
  Age: 96,
  Origin: 100,
} as const;

/** MIB_IPINTERFACE_ROW (netioapi.h), 168 bytes; only the fields the agent touches. */
export const MIB_IPINTERFACE_ROW = {
  size: 168,
  Family: 0,
  InterfaceLuid: 8,
  InterfaceIndex: 16,
  ForwardingEnabled: 41,
  SitePrefixLength: 144,
  Metric: 148,
  NlMtu: 152,
  Connected: 156,
} as const;

/** MIB_UNICASTIPADDRESS_ROW (netioapi.h), 80 bytes. */
export const MIB_UNICASTIPADDRESS_ROW = {
  size: 80,
  Address: 0,
  InterfaceLuid: 32,
  InterfaceIndex: 40,
  OnLinkPrefixLength: 60,
} as const;

/** Every MIB_*_TABLE is {ULONG NumEntries; ROW Table[]}: the rows start 8-aligned (they hold a NET_LUID). */
export const MIB_TABLE = { NumEntries: 0, Table: 8 } as const;

/** NL_ROUTE_PROTOCOL values (MIB_IPPROTO_*) and the names the agent reports. */
export const MIB_IPPROTO_NETMGMT = 3;
export const ROUTE_PROTOCOLS: Record<number, string> = {
  1: 'other', 2: 'local', 3: 'netmgmt', 4: 'icmp', 5: 'egp', 6: 'ggp', 7: 'hello', 8: 'rip', 9: 'is-is', 10: 'es-is',
  11: 'cisco', 12: 'bbn', 13: 'ospf', 14: 'bgp', 15: 'idpr', 16: 'eigrp', 17: 'dvmrp', 18: 'rpl', 19: 'dhcp',
  10002: 'nt-autostatic', 10006: 'nt-static', 10007: 'nt-static-non-dod',
};

/** IF_MAX_STRING_SIZE + 1: the WCHARs ConvertInterfaceLuidToAlias may write. */
export const ALIAS_CHARS = 257;

/** Writes an address into a SOCKADDR_INET at `at` (family, then the address in network byte order). */
export function writeSockaddr(buf: Buffer, at: number, address: string): void {
  const ip = parseIp(address);
  if (!ip) throw new RangeError(`${address} is not an IP address`);
  buf.fill(0, at, at + SOCKADDR_INET.size);
  buf.writeUInt16LE(ip.family === 4 ? AF_INET : AF_INET6, at + SOCKADDR_INET.family);
  const len = ip.family === 4 ? 4 : 16;
  const addrAt = at + (ip.family === 4 ? SOCKADDR_INET.ipv4Addr : SOCKADDR_INET.ipv6Addr);
  for (let i = 0; i < len; i++) buf[addrAt + i] = Number((ip.value >> BigInt(8 * (len - 1 - i))) & 0xffn);
}

/** Reads the address of a SOCKADDR_INET at `at`; undefined for another family. */
export function readSockaddr(buf: Buffer, at: number): string | undefined {
  const family = buf.readUInt16LE(at + SOCKADDR_INET.family);
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const len = family === AF_INET ? 4 : 16;
  const addrAt = at + (family === AF_INET ? SOCKADDR_INET.ipv4Addr : SOCKADDR_INET.ipv6Addr);
  let value = 0n;
  for (let i = 0; i < len; i++) value = (value << 8n) | BigInt(buf[addrAt + i]!);
  return formatIp({ family: family === AF_INET ? 4 : 6, value });
}

export interface ForwardRow {
  interfaceLuid: string;
  interfaceIndex: number;
  destinationPrefix: string;
  nextHop: string;
  metric: number;
  protocol: number;
}

/** The fields of a MIB_IPFORWARD_ROW2 at `at`. */
export function readForwardRow(buf: Buffer, at = 0): ForwardRow | undefined {
  const R = MIB_IPFORWARD_ROW2;
  const prefix = readSockaddr(buf, at + R.DestinationPrefix);
  const nextHop = readSockaddr(buf, at + R.NextHop);
  if (prefix === undefined || nextHop === undefined) return undefined;
  return {
    interfaceLuid: buf.readBigUInt64LE(at + R.InterfaceLuid).toString(),
    interfaceIndex: buf.readUInt32LE(at + R.InterfaceIndex),
    destinationPrefix: `${prefix}/${buf[at + R.DestinationPrefixLength]}`,
    nextHop,
    metric: buf.readUInt32LE(at + R.Metric),
    protocol: buf.readInt32LE(at + R.Protocol),
  };
}

/** The route metric New-NetRoute gives by default (its -RouteMetric), as flannel's routes have. */
export const DEFAULT_ROUTE_METRIC = 256;

/**
 * Fills a row that InitializeIpForwardEntry has set to its defaults. That function leaves
 * SitePrefixLength, Metric and Protocol "set to illegal values" (netioapi.h docs), so all three are
 * always written here: 0, the metric (New-NetRoute's default 256), and MIB_IPPROTO_NETMGMT (a
 * route an administrator makes, as `route add` and New-NetRoute do). The interface is given by
 * index (the LUID stays 0, so the index is used), then the prefix and the next hop.
 */
export function fillForwardRow(buf: Buffer, route: { destinationPrefix: string; nextHop: string; interfaceIndex: number; metric?: number }): void {
  const R = MIB_IPFORWARD_ROW2;
  const c = parseCidr(route.destinationPrefix);
  if (!c) throw new RangeError(`${route.destinationPrefix} is not a prefix`);
  buf.writeBigUInt64LE(0n, R.InterfaceLuid);
  buf.writeUInt32LE(route.interfaceIndex, R.InterfaceIndex);
  writeSockaddr(buf, R.DestinationPrefix, formatIp(c.ip));
  buf[R.DestinationPrefixLength] = c.prefix;
  writeSockaddr(buf, R.NextHop, route.nextHop);
  buf[R.SitePrefixLength] = 0;
  buf.writeUInt32LE(route.metric ?? DEFAULT_ROUTE_METRIC, R.Metric);
  buf.writeInt32LE(MIB_IPPROTO_NETMGMT, R.Protocol);
}

export interface InterfaceRow {
  family: 4 | 6;
  interfaceLuid: string;
  interfaceIndex: number;
  forwarding: boolean;
}

export function readInterfaceRow(buf: Buffer, at = 0): InterfaceRow | undefined {
  const R = MIB_IPINTERFACE_ROW;
  const family = buf.readUInt16LE(at + R.Family);
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  return {
    family: family === AF_INET ? 4 : 6,
    interfaceLuid: buf.readBigUInt64LE(at + R.InterfaceLuid).toString(),
    interfaceIndex: buf.readUInt32LE(at + R.InterfaceIndex),
    forwarding: buf[at + R.ForwardingEnabled] !== 0,
  };
}

export interface AddressRow {
  address: string;
  prefixLength: number;
  interfaceLuid: string;
  interfaceIndex: number;
}

export function readAddressRow(buf: Buffer, at = 0): AddressRow | undefined {
  const R = MIB_UNICASTIPADDRESS_ROW;
  const address = readSockaddr(buf, at + R.Address);
  if (address === undefined) return undefined;
  return {
    address,
    prefixLength: buf[at + R.OnLinkPrefixLength]!,
    interfaceLuid: buf.readBigUInt64LE(at + R.InterfaceLuid).toString(),
    interfaceIndex: buf.readUInt32LE(at + R.InterfaceIndex),
  };
}
