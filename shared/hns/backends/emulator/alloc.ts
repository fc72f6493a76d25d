// Addresses the service hands out (hcn-api.md §4.2, §4.5): endpoint IPs from a network's static
// subnets (lowest free host address, never the network address, a gateway or the IPv4 broadcast
// address) and MACs from the network's pool. Allocation order is undocumented; lowest-free is the
// emulator's choice, and predictable for tests.

import type { HostComputeEndpoint, IpConfiguration } from '../../model/endpoint';
import type { HostComputeNetwork, MacPool, Subnet } from '../../model/network';
import { type Cidr, contains, formatIp, type Ip, lastAddress, networkAddress, parseCidr, parseIp } from '../../../net/ip';
import { fail } from './failure';

/** Subnet flag: the gateway (route NextHop) may be given to an endpoint. */
const DO_NOT_RESERVE_GATEWAY = 1;
const REMOTE_ENDPOINT = 1;

interface SubnetView {
  cidr: Cidr;
  /** Static IPAM: the service allocates from it. */
  allocatable: boolean;
  /** Address values no endpoint may have. */
  reserved: Set<bigint>;
}

function ipKey(ip: Ip): string {
  return `${ip.family}:${ip.value}`;
}

function reservedOf(subnet: Subnet, cidr: Cidr): Set<bigint> {
  const out = new Set<bigint>([networkAddress(cidr).value]);
  if (cidr.ip.family === 4) out.add(lastAddress(cidr).value);
  if (((subnet.Flags ?? 0) & DO_NOT_RESERVE_GATEWAY) === 0) {
    for (const r of subnet.Routes ?? []) {
      const hop = r.NextHop ? parseIp(r.NextHop) : undefined;
      if (hop && contains(cidr, hop)) out.add(hop.value);
    }
  }
  return out;
}

function subnetsOf(net: HostComputeNetwork): SubnetView[] {
  const out: SubnetView[] = [];
  for (const ipam of net.Ipams ?? []) {
    const dhcp = ipam.Type === 'Dhcp' || ipam.Type === 1;
    for (const subnet of ipam.Subnets ?? []) {
      const cidr = subnet.IpAddressPrefix ? parseCidr(subnet.IpAddressPrefix) : undefined;
      if (cidr) out.push({ cidr, allocatable: !dhcp, reserved: reservedOf(subnet, cidr) });
    }
  }
  return out;
}

function isRemote(ep: HostComputeEndpoint): boolean {
  return ((ep.Flags ?? 0) & REMOTE_ENDPOINT) !== 0;
}

function lowestFree(sub: SubnetView, used: Set<string>): Ip {
  const last = lastAddress(sub.cidr).value;
  for (let v = networkAddress(sub.cidr).value + 1n; v <= last; v++) {
    const ip: Ip = { family: sub.cidr.ip.family, value: v };
    if (!sub.reserved.has(v) && !used.has(ipKey(ip))) return ip;
  }
  fail('HCN_E_ADDR_INVALID_OR_RESERVED', `{{IpAddress,no free address left in ${formatIp(sub.cidr.ip)}/${sub.cidr.prefix}}}`);
}

/**
 * The endpoint's IpConfigurations with addresses and prefix lengths filled in. An entry without
 * IpAddress (or none at all) gets the lowest free address of the next static subnet; a given
 * address must lie in a subnet, not be reserved, and not be held by another endpoint of the same
 * kind (local/remote; with `remoteSharesLocalIps` false, of any kind). Remote endpoints describe
 * pods on other nodes, so their addresses are not checked against this node's subnets.
 */
export function assignIps(net: HostComputeNetwork, others: HostComputeEndpoint[], ep: HostComputeEndpoint, remoteSharesLocalIps: boolean): IpConfiguration[] {
  const subnets = subnetsOf(net);
  const allocatable = subnets.filter((s) => s.allocatable);
  const remote = isRemote(ep);
  const taken = new Set<string>();
  const conflicting = new Set<string>();
  for (const o of others) {
    for (const c of o.IpConfigurations ?? []) {
      const ip = c.IpAddress ? parseIp(c.IpAddress) : undefined;
      if (!ip) continue;
      taken.add(ipKey(ip));
      if (!remoteSharesLocalIps || isRemote(o) === remote) conflicting.add(ipKey(ip));
    }
  }
  const wanted = ep.IpConfigurations?.length ? ep.IpConfigurations : [{}];
  let next = 0;
  return wanted.map((want) => {
    if (!want.IpAddress) {
      const sub = allocatable[next++];
      if (!sub) fail('HCN_E_SUBNET_NOT_FOUND', `{{IpConfigurations,network ${net.Name ?? net.ID} has no static subnet to allocate from}}`);
      const ip = lowestFree(sub, taken);
      taken.add(ipKey(ip));
      return { ...want, IpAddress: formatIp(ip), PrefixLength: want.PrefixLength ?? sub.cidr.prefix };
    }
    const ip = parseIp(want.IpAddress);
    if (!ip) fail('HCN_E_INVALID_IP', `{{IpAddress,${want.IpAddress}}}`);
    const sub = subnets.find((s) => contains(s.cidr, ip));
    if (!remote && subnets.length > 0) {
      if (!sub) fail('HCN_E_INVALID_IP', `{{IpAddress,${want.IpAddress} is in no subnet of network ${net.Name ?? net.ID}}}`);
      if (sub.reserved.has(ip.value)) fail('HCN_E_ADDR_INVALID_OR_RESERVED', `{{IpAddress,${want.IpAddress}}}`);
    }
    if (conflicting.has(ipKey(ip))) fail('ERROR_OBJECT_ALREADY_EXISTS', `{{IpAddress,${want.IpAddress} belongs to another endpoint}}`);
    conflicting.add(ipKey(ip));
    taken.add(ipKey(ip));
    const prefix = want.PrefixLength ?? sub?.cidr.prefix;
    return prefix === undefined ? { ...want } : { ...want, PrefixLength: prefix };
  });
}

// --- MAC addresses -------------------------------------------------------------------------

/** The Hyper-V OUI; default pools are carved from 00-15-5D-A0-00-00 upwards, 4096 MACs each. */
const DEFAULT_POOL_BASE = 0x00155da00000;
const DEFAULT_POOL_SIZE = 0x1000;
/** Pools that fit below 00-15-5D-FF-FF-FF. */
const DEFAULT_POOLS = 0x600000 / DEFAULT_POOL_SIZE;

export function macToNumber(mac: string): number {
  return parseInt(mac.replace(/[-:]/g, ''), 16);
}

/** `00-15-5D-A0-00-07`: dashes, upper case, as the service writes MACs. */
export function numberToMac(n: number): string {
  return n.toString(16).toUpperCase().padStart(12, '0').match(/../g)!.join('-');
}

export function defaultMacPool(index: number): MacPool {
  const start = DEFAULT_POOL_BASE + (index % DEFAULT_POOLS) * DEFAULT_POOL_SIZE;
  return { Ranges: [{ StartMacAddress: numberToMac(start), EndMacAddress: numberToMac(start + DEFAULT_POOL_SIZE - 1) }] };
}

/** The lowest MAC of the network's pool that no endpoint of the network has. */
export function allocateMac(net: HostComputeNetwork, others: HostComputeEndpoint[]): string {
  const used = new Set(others.filter((o) => o.MacAddress).map((o) => macToNumber(o.MacAddress!)));
  for (const r of net.MacPool?.Ranges ?? []) {
    for (let n = macToNumber(r.StartMacAddress), end = macToNumber(r.EndMacAddress); n <= end; n++) {
      if (!used.has(n)) return numberToMac(n);
    }
  }
  fail('E_FAIL', `{{MacAddress,the MAC pool of network ${net.Name ?? net.ID} is exhausted}}`);
}
