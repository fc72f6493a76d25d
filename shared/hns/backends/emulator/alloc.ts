// Addresses the service hands out (hcn-api.md §4.2, §4.5): endpoint IPs from a network's static
// subnets (never the network address, a gateway or the IPv4 broadcast address) and MACs from the
// network's pool.
//
// Which free address: real NAT hosts hand out scattered ones (172.17.238.81 in a /20 whose gateway
// is .224.1: microsoft/hcsshim#1746; 172.27.148.101: microsoft/Windows-Containers#563), so
// allocation is random or hashed there (INFERRED). The emulator gives the lowest free address by
// default (predictable for tests) and a random one with `ipAllocation: "random"`, so that tests
// can prove a client does not depend on the order.
//
// Cost: what is taken is looked up in the per-address index (store.ts), and a hint per subnet
// (the offset below which every address is taken) keeps lowest-free from scanning what is in use;
// freeing an address lowers the hint. A call's work does not grow with the endpoints on the host.

import type { HostComputeEndpoint, IpConfiguration } from '../../model/endpoint';
import type { HostComputeNetwork, MacPool, Subnet } from '../../model/network';
import { type Cidr, contains, formatIp, type Ip, lastAddress, networkAddress, parseCidr, parseIp } from '../../../net/ip';
import { fail } from './failure';
import { isRemote } from './objects';
import { addressKey, type AllocHints, macHex, type StoreTx } from './store';

/** Subnet flag: the gateway (route NextHop) may be given to an endpoint. */
const DO_NOT_RESERVE_GATEWAY = 1;
/** Random picks tried before falling back to the lowest free address. */
const RANDOM_TRIES = 32;

interface SubnetView {
  prefix: string;
  cidr: Cidr;
  /** Static IPAM: the service allocates from it. */
  allocatable: boolean;
  /** Address values no endpoint may have. */
  reserved: Set<bigint>;
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
      if (cidr) out.push({ prefix: subnet.IpAddressPrefix!, cidr, allocatable: !dhcp, reserved: reservedOf(subnet, cidr) });
    }
  }
  return out;
}

function randomBelow(n: bigint): bigint {
  // Only with the random-allocation knob: the crypto module is not loaded otherwise.
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  const bytes = randomBytes(Math.max(1, Math.ceil(n.toString(16).length / 2)));
  return BigInt(`0x${bytes.toString('hex')}`) % n;
}

/** A free address of the subnet (lowest, or random), updating the hint; fails when none is left. */
function allocate(tx: StoreTx, net: HostComputeNetwork, sub: SubnetView, hints: AllocHints, mine: Set<string>): Ip {
  const base = networkAddress(sub.cidr).value;
  const size = lastAddress(sub.cidr).value - base + 1n;
  const free = (off: bigint) => {
    const v = base + off;
    if (sub.reserved.has(v)) return undefined;
    const ip: Ip = { family: sub.cidr.ip.family, value: v };
    const k = addressKey(ip);
    return mine.has(k) || tx.ipHolders(net.ID!, k).length > 0 ? undefined : ip;
  };
  if (tx.cfg.ipAllocation === 'random' && size > 2n) {
    for (let i = 0; i < RANDOM_TRIES; i++) {
      const ip = free(1n + randomBelow(size - 1n));
      if (ip) return ip;
    }
  }
  const start = BigInt(hints.ip[sub.prefix] ?? '1');
  for (let off = start < 1n ? 1n : start; off < size; off++) {
    const ip = free(off);
    if (!ip) continue;
    if (tx.cfg.ipAllocation === 'lowest') hints.ip[sub.prefix] = String(off + 1n);
    return ip;
  }
  // Below the hint everything was taken when it was set; frees lower it, so this is exhaustion.
  fail('HCN_E_ADDR_INVALID_OR_RESERVED', `{{IpAddress,no free address left in ${formatIp(sub.cidr.ip)}/${sub.cidr.prefix}}}`);
}

/**
 * The endpoint's IpConfigurations with addresses and prefix lengths filled in. An entry without
 * IpAddress (or none at all) gets a free address of the next static subnet; a given address must
 * lie in a subnet, not be reserved, and not be held by another endpoint of the same kind
 * (local/remote; with `remoteSharesLocalIps` false, of any kind). Remote endpoints describe pods
 * on other nodes, so their addresses are not checked against this node's subnets.
 */
export function assignIps(tx: StoreTx, net: HostComputeNetwork, ep: HostComputeEndpoint): IpConfiguration[] {
  const subnets = subnetsOf(net);
  const allocatable = subnets.filter((s) => s.allocatable);
  const remote = isRemote(ep);
  const mine = new Set<string>();
  const wanted = ep.IpConfigurations?.length ? ep.IpConfigurations : [{}];
  let hints: AllocHints | undefined;
  let next = 0;
  const out = wanted.map((want) => {
    if (!want.IpAddress) {
      const sub = allocatable[next++];
      if (!sub) fail('HCN_E_SUBNET_NOT_FOUND', `{{IpConfigurations,network ${net.Name ?? net.ID} has no static subnet to allocate from}}`);
      hints ??= tx.allocHints(net.ID!);
      const ip = allocate(tx, net, sub, hints, mine);
      mine.add(addressKey(ip));
      return { ...want, IpAddress: formatIp(ip), PrefixLength: want.PrefixLength ?? sub.cidr.prefix };
    }
    const ip = parseIp(want.IpAddress);
    if (!ip) fail('HCN_E_INVALID_IP', `{{IpAddress,${want.IpAddress}}}`);
    const sub = subnets.find((s) => contains(s.cidr, ip));
    if (!remote && subnets.length > 0) {
      if (!sub) fail('HCN_E_INVALID_IP', `{{IpAddress,${want.IpAddress} is in no subnet of network ${net.Name ?? net.ID}}}`);
      if (sub.reserved.has(ip.value)) fail('HCN_E_ADDR_INVALID_OR_RESERVED', `{{IpAddress,${want.IpAddress}}}`);
    }
    const k = addressKey(ip);
    const holders = tx.ipHolders(net.ID!, k);
    const conflict = mine.has(k) || holders.some((h) => !tx.cfg.remoteSharesLocalIps || h.remote === remote);
    if (conflict) fail('ERROR_OBJECT_ALREADY_EXISTS', `{{IpAddress,${want.IpAddress} belongs to another endpoint}}`);
    mine.add(k);
    const prefix = want.PrefixLength ?? sub?.cidr.prefix;
    return prefix === undefined ? { ...want } : { ...want, PrefixLength: prefix };
  });
  if (hints) tx.saveAllocHints(net.ID!, hints);
  return out;
}

/** Lowers the network's hints for the addresses and MAC of an endpoint going away. */
export function releaseAddresses(tx: StoreTx, net: HostComputeNetwork | undefined, ep: HostComputeEndpoint): void {
  if (!net) return;
  const hints = tx.allocHints(net.ID!);
  let changed = false;
  for (const c of ep.IpConfigurations ?? []) {
    const ip = c.IpAddress ? parseIp(c.IpAddress) : undefined;
    if (!ip) continue;
    for (const sub of subnetsOf(net)) {
      if (!sub.allocatable || !contains(sub.cidr, ip)) continue;
      const off = ip.value - networkAddress(sub.cidr).value;
      const hint = BigInt(hints.ip[sub.prefix] ?? '1');
      if (off < hint) {
        hints.ip[sub.prefix] = String(off);
        changed = true;
      }
    }
  }
  const mac = ep.MacAddress ? macToNumber(ep.MacAddress) : undefined;
  (net.MacPool?.Ranges ?? []).forEach((r, i) => {
    if (mac === undefined) return;
    const start = macToNumber(r.StartMacAddress);
    if (mac < start || mac > macToNumber(r.EndMacAddress)) return;
    if (mac - start < (hints.mac[i] ?? 0)) {
      hints.mac[i] = mac - start;
      changed = true;
    }
  });
  if (changed) tx.saveAllocHints(net.ID!, hints);
}

// --- MAC addresses -------------------------------------------------------------------------

/** The Hyper-V OUI; default pools are carved from 00-15-5D-A0-00-00 upwards, 4096 MACs each. */
const DEFAULT_POOL_BASE = 0x00155da00000;
const DEFAULT_POOL_SIZE = 0x1000;
/** Pools that fit below 00-15-5D-FF-FF-FF. */
const DEFAULT_POOLS = 0x600000 / DEFAULT_POOL_SIZE;

function macToNumber(mac: string): number {
  return parseInt(mac.replace(/[-:]/g, ''), 16);
}

/** `00-15-5D-A0-00-07`: dashes, upper case, as the service writes MACs. */
function numberToMac(n: number): string {
  return n.toString(16).toUpperCase().padStart(12, '0').match(/../g)!.join('-');
}

export function defaultMacPool(index: number): MacPool {
  const start = DEFAULT_POOL_BASE + (index % DEFAULT_POOLS) * DEFAULT_POOL_SIZE;
  return { Ranges: [{ StartMacAddress: numberToMac(start), EndMacAddress: numberToMac(start + DEFAULT_POOL_SIZE - 1) }] };
}

/** The lowest MAC of the network's pool that no endpoint of the network has. */
export function allocateMac(tx: StoreTx, net: HostComputeNetwork): string {
  const hints = tx.allocHints(net.ID!);
  const ranges = net.MacPool?.Ranges ?? [];
  for (let i = 0; i < ranges.length; i++) {
    const start = macToNumber(ranges[i]!.StartMacAddress);
    const end = macToNumber(ranges[i]!.EndMacAddress);
    for (let n = start + (hints.mac[i] ?? 0); n <= end; n++) {
      if (tx.macHolders(net.ID!, macHex(numberToMac(n))!).length > 0) continue;
      hints.mac[i] = n - start + 1;
      tx.saveAllocHints(net.ID!, hints);
      return numberToMac(n);
    }
  }
  fail('E_FAIL', `{{MacAddress,the MAC pool of network ${net.Name ?? net.ID} is exhausted}}`);
}
