// The host's IP stack beside the emulated HNS: its interfaces, their forwarding flags and the
// route table, as the IP Helper API (iphlpapi.dll) shows them on Windows. The node agent keeps
// host-gw routes there (GetIpForwardTable2 / CreateIpForwardEntry2 / DeleteIpForwardEntry2) and
// turns forwarding on (GetIpInterfaceEntry / SetIpInterfaceEntry); hnsctl lists them.
//
// Interfaces are not stored: they follow from the HNS state, as they do on Windows (README.md,
// "Host routes and interfaces", has the rules and their evidence):
//   - the uplink: the adapter named by the first external network's NetAdapterName policy
//     ("Ethernet" by default) holding the management IP. While an external network (L2Bridge,
//     L2Tunnel, Overlay, Transparent) exists, its vSwitch has replaced the adapter by the host vNIC
//     "vEthernet (<adapter>)": a new interface with a new index, so routes on the old one are gone;
//     the same happens back when the last such network is deleted (flannel hostgw_windows.go:
//     "When a new hns network is created, the interface is modified, esp the name, index");
//   - one host vNIC "vEthernet (<endpoint name>)" per endpoint attached to a HostDefault
//     namespace (the L2Bridge bridge endpoint at .2), holding its IP configurations.
// Each interface gets an index (and a LUID from it) the first time it is seen, never reused, and
// loses its routes and forwarding flags when it goes away, as Windows drops an interface's routes.
//
// Files, under <dir>/host/, changed under the emulator's state lock:
//   ifindex.json        {next, byIdentity: {<identity>: index}}
//   forwarding.json     {"<identity>|4": true, "<identity>|6": true}
//   routes/<sha>.json   one route: {DestinationPrefix, NextHop, Identity, Metric}
//
// Errors are Win32 codes, as iphlpapi returns them (not HRESULTs).

import { createHash } from 'node:crypto';
import path from 'node:path';
import type { HostComputeEndpoint } from '../../model/endpoint';
import type { HostComputeNetwork } from '../../model/network';
import { formatCidr, formatIp, hasHostBits, networkAddress, parseCidr, parseIp } from '../../../net/ip';
import { appendCall } from './calllog';
import { type EmulatorConfig, readConfig } from './config';
import { list, readJson, remove, removeTree, writeAtomic } from './fsio';
import { type StoreTx, updateStore } from './store';

export const ERROR_INVALID_PARAMETER = 87;
export const ERROR_NOT_FOUND = 1168;
export const ERROR_OBJECT_ALREADY_EXISTS = 5010;

/** An IP Helper call that failed, with its Win32 error code. */
export class HostCallFailure extends Error {
  constructor(readonly code: number, readonly call: string, detail: string) {
    super(`${call} failed: ${detail} (Win32 error ${code})`);
    this.name = 'HostCallFailure';
  }
}

export interface EmulatedInterface {
  InterfaceIndex: number;
  /** NET_LUID as a decimal string (a 64-bit value). */
  InterfaceLuid: string;
  InterfaceAlias: string;
  Addresses: { Address: string; PrefixLength: number }[];
  Forwarding: { IPv4: boolean; IPv6: boolean };
  /** What it stands for: `uplink`, or `endpoint` (a host vNIC of a HostDefault endpoint). */
  Kind: 'uplink' | 'endpoint';
  /** The HNS endpoint behind a host vNIC. */
  EndpointId?: string;
}

export interface EmulatedRoute {
  DestinationPrefix: string;
  NextHop: string;
  InterfaceIndex: number;
  InterfaceLuid: string;
  Metric: number;
  /** `NetMgmt` (made by CreateIpForwardEntry2) or `Local` (an interface's own subnet, made by the stack). */
  Protocol: 'NetMgmt' | 'Local';
}

/** Which interface a route or a change is for: by index or by LUID, as MIB rows name it. */
export interface InterfaceRef {
  InterfaceIndex?: number;
  InterfaceLuid?: string;
}

export interface RouteSpec extends InterfaceRef {
  DestinationPrefix: string;
  NextHop: string;
  Metric?: number;
}

interface StoredRoute {
  DestinationPrefix: string;
  NextHop: string;
  Identity: string;
  Metric: number;
}

interface IfIndexFile {
  next: number;
  byIdentity: Record<string, number>;
}

/** Network types whose networks bind the host adapter through an external vSwitch. */
const EXTERNAL_TYPES = new Set(['L2Bridge', 'L2Tunnel', 'Overlay', 'Transparent']);
/** IF_TYPE_ETHERNET_CSMACD: the IfType bits (48-63) of an Ethernet interface's NET_LUID. */
const IF_TYPE_ETHERNET = 6n;
/** Windows numbers interfaces from small values; the first ones are taken by loopback and the like. */
const FIRST_INDEX = 4;
const DEFAULT_ROUTE_METRIC = 256;

const hostDir = (dir: string) => path.join(dir, 'host');
const routesDir = (dir: string) => path.join(hostDir(dir), 'routes');
const ifIndexFile = (dir: string) => path.join(hostDir(dir), 'ifindex.json');
const forwardingFile = (dir: string) => path.join(hostDir(dir), 'forwarding.json');

/** NET_LUID of an Ethernet interface: IfType in bits 48-63, NetLuidIndex in bits 24-47. */
function luidOf(index: number): string {
  return ((IF_TYPE_ETHERNET << 48n) | (BigInt(index) << 24n)).toString();
}

interface Source {
  identity: string;
  alias: string;
  addresses: { Address: string; PrefixLength: number }[];
  kind: 'uplink' | 'endpoint';
  endpointId?: string;
}

function adapterName(net: HostComputeNetwork | undefined): string {
  const p = net?.Policies?.find((x) => x.Type === 'NetAdapterName');
  return (p?.Settings as { NetworkAdapterName?: string } | undefined)?.NetworkAdapterName ?? 'Ethernet';
}

function endpointAddresses(ep: HostComputeEndpoint): { Address: string; PrefixLength: number }[] {
  return (ep.IpConfigurations ?? []).filter((c) => c.IpAddress).map((c) => ({ Address: c.IpAddress!, PrefixLength: c.PrefixLength ?? (c.IpAddress!.includes(':') ? 128 : 32) }));
}

/** The interfaces the HNS state implies (see the header). */
function sources(tx: StoreTx, cfg: EmulatorConfig): Source[] {
  const external = tx.ids('Network').map((id) => tx.get('Network', id)).filter((n): n is HostComputeNetwork => !!n && EXTERNAL_TYPES.has(String(n.Type)));
  const first = external[0];
  const uplink: Source = first
    ? { identity: `vswitch:${first.ID}`, alias: `vEthernet (${adapterName(first)})`, addresses: [], kind: 'uplink' }
    : { identity: 'adapter', alias: adapterName(undefined), addresses: [], kind: 'uplink' };
  uplink.addresses.push({ Address: cfg.managementIp, PrefixLength: cfg.managementPrefixLength });
  const out = [uplink];
  for (const nsId of tx.defaultNamespaces()) {
    for (const r of tx.get('Namespace', nsId)?.Resources ?? []) {
      if (r.Type !== 'Endpoint') continue;
      const ep = tx.get('Endpoint', r.Data.Id);
      if (!ep) continue;
      out.push({ identity: `ep:${ep.ID}`, alias: `vEthernet (${ep.Name ?? ep.ID})`, addresses: endpointAddresses(ep), kind: 'endpoint', endpointId: ep.ID! });
    }
  }
  return out;
}

/** The host's state as one call sees it. */
class HostView {
  readonly interfaces: EmulatedInterface[];
  private readonly identityOf = new Map<number, string>();
  private readonly byIdentity = new Map<string, EmulatedInterface>();
  private ifIndexDirty = false;

  constructor(readonly dir: string, srcs: Source[], private readonly ifIndex: IfIndexFile, private readonly forwarding: Record<string, boolean>) {
    this.interfaces = srcs.map((s) => {
      let index = ifIndex.byIdentity[s.identity];
      if (index === undefined) {
        index = ifIndex.next++;
        ifIndex.byIdentity[s.identity] = index;
        this.ifIndexDirty = true;
      }
      const row: EmulatedInterface = {
        InterfaceIndex: index,
        InterfaceLuid: luidOf(index),
        InterfaceAlias: s.alias,
        Addresses: s.addresses,
        Forwarding: { IPv4: forwarding[`${s.identity}|4`] === true, IPv6: forwarding[`${s.identity}|6`] === true },
        Kind: s.kind,
      };
      if (s.endpointId) row.EndpointId = s.endpointId;
      this.identityOf.set(index, s.identity);
      this.byIdentity.set(s.identity, row);
      return row;
    });
  }

  /** The identity of the interface a row names (by LUID if given, as iphlpapi prefers it). */
  resolve(ref: InterfaceRef, call: string): { identity: string; row: EmulatedInterface } {
    const index = ref.InterfaceLuid !== undefined && ref.InterfaceLuid !== '0'
      ? this.interfaces.find((i) => i.InterfaceLuid === ref.InterfaceLuid)?.InterfaceIndex
      : ref.InterfaceIndex;
    const identity = index === undefined ? undefined : this.identityOf.get(index);
    if (!identity) throw new HostCallFailure(ERROR_NOT_FOUND, call, `no interface with ${ref.InterfaceLuid && ref.InterfaceLuid !== '0' ? `LUID ${ref.InterfaceLuid}` : `index ${ref.InterfaceIndex}`}`);
    return { identity, row: this.byIdentity.get(identity)! };
  }

  live(identity: string): EmulatedInterface | undefined {
    return this.byIdentity.get(identity);
  }

  /** Persists newly numbered interfaces (under the lock only). */
  saveIndexes(): void {
    if (this.ifIndexDirty) writeAtomic(ifIndexFile(this.dir), JSON.stringify(this.ifIndex));
    this.ifIndexDirty = false;
  }

  get forwardingFlags(): Record<string, boolean> {
    return this.forwarding;
  }
}

/** The view from a store transaction (held under the state lock by updateStore). */
function view(dir: string, cfg: EmulatorConfig, tx: StoreTx): HostView {
  const srcs = sources(tx, cfg);
  const ifIndex = readJson<IfIndexFile>(ifIndexFile(dir)) ?? { next: FIRST_INDEX, byIdentity: {} };
  const forwarding = readJson<Record<string, boolean>>(forwardingFile(dir)) ?? {};
  return new HostView(dir, srcs, ifIndex, forwarding);
}

function routeFile(dir: string, r: Pick<StoredRoute, 'DestinationPrefix' | 'NextHop' | 'Identity'>): string {
  const key = createHash('sha256').update(`${r.DestinationPrefix}|${r.NextHop}|${r.Identity}`).digest('hex').slice(0, 32);
  return path.join(routesDir(dir), `${key}.json`);
}

function storedRoutes(dir: string): { file: string; route: StoredRoute }[] {
  const out: { file: string; route: StoredRoute }[] = [];
  for (const name of list(routesDir(dir))) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const file = path.join(routesDir(dir), name);
    const route = readJson<StoredRoute>(file);
    if (route) out.push({ file, route });
  }
  return out;
}

/** The table as GetIpForwardTable2 returns it: the stack's on-link routes, then the stored ones on live interfaces. */
function table(v: HostView, stored: StoredRoute[]): EmulatedRoute[] {
  const out: EmulatedRoute[] = [];
  for (const i of v.interfaces) {
    for (const a of i.Addresses) {
      const c = parseCidr(`${a.Address}/${a.PrefixLength}`);
      if (!c) continue;
      const net = formatCidr({ ip: networkAddress(c), prefix: c.prefix });
      out.push({ DestinationPrefix: net, NextHop: c.ip.family === 4 ? '0.0.0.0' : '::', InterfaceIndex: i.InterfaceIndex, InterfaceLuid: i.InterfaceLuid, Metric: DEFAULT_ROUTE_METRIC, Protocol: 'Local' });
    }
  }
  for (const r of [...stored].sort((a, b) => (a.DestinationPrefix < b.DestinationPrefix ? -1 : a.DestinationPrefix > b.DestinationPrefix ? 1 : 0))) {
    const i = v.live(r.Identity);
    if (i) out.push({ DestinationPrefix: r.DestinationPrefix, NextHop: r.NextHop, InterfaceIndex: i.InterfaceIndex, InterfaceLuid: i.InterfaceLuid, Metric: r.Metric, Protocol: 'NetMgmt' });
  }
  return out;
}

/** Checks a route as CreateIpForwardEntry2 does; the canonical prefix and next hop. */
function checkRoute(spec: RouteSpec, call: string): { prefix: string; nextHop: string } {
  const c = parseCidr(spec.DestinationPrefix);
  if (!c) throw new HostCallFailure(ERROR_INVALID_PARAMETER, call, `DestinationPrefix ${JSON.stringify(spec.DestinationPrefix)} is not a prefix`);
  if (hasHostBits(c)) throw new HostCallFailure(ERROR_INVALID_PARAMETER, call, `DestinationPrefix ${spec.DestinationPrefix} has host bits set`);
  const hop = parseIp(spec.NextHop);
  if (!hop || hop.family !== c.ip.family) throw new HostCallFailure(ERROR_INVALID_PARAMETER, call, `NextHop ${JSON.stringify(spec.NextHop)} is not an address of the prefix's family`);
  return { prefix: formatCidr(c), nextHop: formatIp(hop) };
}

/** Under the lock: the view of the host as the call finds it. */
async function locked<T>(dir: string, call: string, doc: unknown, fn: (v: HostView, cfg: EmulatorConfig) => T, changes = false): Promise<T> {
  const cfg = readConfig(dir);
  const t0 = performance.now();
  let code = 0;
  try {
    // updateStore holds the state lock (and finishes a crashed HNS call first); the HNS store
    // itself is only read here, so its commit writes nothing.
    return await updateStore(dir, cfg, (tx) => {
      const v = view(dir, cfg, tx);
      const out = fn(v, cfg);
      v.saveIndexes();
      return out;
    }, { hostChanged: changes });
  } catch (err) {
    code = err instanceof HostCallFailure ? err.code : 31; // ERROR_GEN_FAILURE
    throw err;
  } finally {
    if (cfg.callLog !== false) {
      const hrText = code ? `0x${((0x80070000 | code) >>> 0).toString(16).toUpperCase()}` : '0x00000000';
      appendCall(dir, { time: new Date().toISOString(), pid: process.pid, op: call, doc, ms: Math.round((performance.now() - t0) * 100) / 100, hr: hrText });
    }
  }
}

/** The host's IP stack as the Linux data plane realizes it: interfaces by identity, their forwarding flags, the routes made on live ones. */
export interface HostSnapshot {
  interfaces: { identity: string; kind: 'uplink' | 'endpoint'; endpointId?: string; forwarding: { v4: boolean; v6: boolean } }[];
  routes: { DestinationPrefix: string; NextHop: string; Identity: string; Metric: number }[];
}

/** Reads the host's files (no lock taken: the caller holds the state lock, or only reads). */
export function hostSnapshot(dir: string, cfg: EmulatorConfig, tx: StoreTx): HostSnapshot {
  const forwarding = readJson<Record<string, boolean>>(forwardingFile(dir)) ?? {};
  const srcs = sources(tx, cfg);
  const live = new Set(srcs.map((s) => s.identity));
  return {
    interfaces: srcs.map((s) => ({ identity: s.identity, kind: s.kind, ...(s.endpointId ? { endpointId: s.endpointId } : {}), forwarding: { v4: forwarding[`${s.identity}|4`] === true, v6: forwarding[`${s.identity}|6`] === true } })),
    routes: storedRoutes(dir).map((r) => r.route).filter((r) => live.has(r.Identity)),
  };
}

// --- the calls -------------------------------------------------------------------------------

/** GetIpInterfaceTable + GetUnicastIpAddressTable, joined: every interface with its addresses and flags. */
export function hostInterfaces(dir: string): Promise<EmulatedInterface[]> {
  return locked(dir, 'GetIpInterfaceTable', undefined, (v) => v.interfaces);
}

/**
 * GetIpForwardTable2(AF_UNSPEC). Routes of interfaces that went away are not in it: Windows drops
 * them with the interface; their files are removed here, the one call that reads them all anyway
 * (a route call reads only its own file, so 1,000 routes cost 1,000 small writes, not a million reads).
 */
export function hostRoutes(dir: string): Promise<EmulatedRoute[]> {
  return locked(dir, 'GetIpForwardTable2', undefined, (v) => {
    const all = storedRoutes(dir);
    for (const { file, route } of all) if (!v.live(route.Identity)) remove(file);
    return table(v, all.map((s) => s.route));
  });
}

/** CreateIpForwardEntry2: ERROR_OBJECT_ALREADY_EXISTS for the same prefix, next hop and interface. */
export function createHostRoute(dir: string, spec: RouteSpec): Promise<EmulatedRoute> {
  const call = 'CreateIpForwardEntry2';
  return locked(dir, call, spec, (v) => {
    const { prefix, nextHop } = checkRoute(spec, call);
    const { identity, row } = v.resolve(spec, call);
    const stored: StoredRoute = { DestinationPrefix: prefix, NextHop: nextHop, Identity: identity, Metric: spec.Metric ?? DEFAULT_ROUTE_METRIC };
    const file = routeFile(dir, stored);
    if (readJson<StoredRoute>(file)) throw new HostCallFailure(ERROR_OBJECT_ALREADY_EXISTS, call, `a route to ${prefix} via ${nextHop} on interface ${row.InterfaceIndex} exists`);
    writeAtomic(file, JSON.stringify(stored));
    return { DestinationPrefix: prefix, NextHop: nextHop, InterfaceIndex: row.InterfaceIndex, InterfaceLuid: row.InterfaceLuid, Metric: stored.Metric, Protocol: 'NetMgmt' };
  }, true);
}

/** DeleteIpForwardEntry2: ERROR_NOT_FOUND when no such route is there. */
export function deleteHostRoute(dir: string, spec: RouteSpec): Promise<void> {
  const call = 'DeleteIpForwardEntry2';
  return locked(dir, call, spec, (v) => {
    const { prefix, nextHop } = checkRoute(spec, call);
    const { identity, row } = v.resolve(spec, call);
    const file = routeFile(dir, { DestinationPrefix: prefix, NextHop: nextHop, Identity: identity });
    if (!readJson<StoredRoute>(file)) throw new HostCallFailure(ERROR_NOT_FOUND, call, `no route to ${prefix} via ${nextHop} on interface ${row.InterfaceIndex}`);
    remove(file);
  }, true);
}

/** SetIpInterfaceEntry with ForwardingEnabled for one family. */
export function setHostForwarding(dir: string, ref: InterfaceRef, family: 4 | 6, enabled: boolean): Promise<void> {
  const call = 'SetIpInterfaceEntry';
  return locked(dir, call, { ...ref, Family: family === 4 ? 'AF_INET' : 'AF_INET6', ForwardingEnabled: enabled }, (v) => {
    const { identity } = v.resolve(ref, call);
    const flags = { ...v.forwardingFlags };
    if (enabled) flags[`${identity}|${family}`] = true;
    else delete flags[`${identity}|${family}`];
    writeAtomic(forwardingFile(dir), JSON.stringify(flags));
  }, true);
}

/** Every route made by CreateIpForwardEntry2 goes (an operator's `route -f`, or a reboot); returns how many. */
export async function flushHostRoutes(dir: string): Promise<number> {
  const cfg = readConfig(dir);
  return updateStore(dir, cfg, () => {
    const all = storedRoutes(dir);
    for (const { file } of all) remove(file);
    return all.length;
  }, { hostChanged: true });
}

/** A reboot: routes made at run time and forwarding flags do not survive it (the index numbering does). Call under the lock. */
export function rebootHost(dir: string): void {
  removeTree(routesDir(dir));
  remove(forwardingFile(dir));
}

/** A fresh host. Call under the lock. */
export function resetHost(dir: string): void {
  removeTree(hostDir(dir));
}
