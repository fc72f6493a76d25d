// The emulator's control panel for tests, benchmarks and hnsctl: what a Windows admin would do
// with Restart-Computer, Restart-Service hns or a fresh VM, plus the test-only files (config,
// faults, call log). Changes to the state go through the same lock as the service's own calls.

import fs from 'node:fs';
import path from 'node:path';
import type { HostComputeEndpoint } from '../../model/endpoint';
import { type HostComputeNetwork, NetworkFlags } from '../../model/network';
import { formatIp, parseIp } from '../../../net/ip';
import { type CallRecord, readCalls } from './calllog';
import { chooseProfile, type EmulatorConfig, type ProfileChoice, readConfig, readConfigFile } from './config';
import { dropEndpoint, createEndpoint } from './endpoints';
import type { Fault } from './faults';
import { readJson, writeAtomic } from './fsio';
import { findProfile, profileNames } from './profiles';
import { dataplaneModule, dataplaneOn, dirtyMarker, markDirty, type RealizeReport } from './plane';
import { RPC_S_SERVER_UNAVAILABLE, startService, stopService } from './service';
import { createHostRoute, deleteHostRoute, type EmulatedInterface, type EmulatedRoute, flushHostRoutes, hostInterfaces, hostRoutes, type InterfaceRef, rebootHost, resetHost, type RouteSpec, setHostForwarding } from './host';
import { type EmulatorState, fileIn, freshHost, FRESH_COUNTERS, importState, readState, type StoreTx, updateStore, withStateLock } from './store';

export class EmulatorAdmin {
  constructor(readonly dir: string) {}

  /** A freshly installed host: only the HostDefault namespace, no faults, no call log, default config (and none of its Linux data plane). */
  async reset(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    await withStateLock(this.dir, readConfig(this.dir), () => {
      const cfg = readConfig(this.dir);
      if (dataplaneOn(cfg)) dataplaneModule().teardown(this.dir, cfg);
      fs.rmSync(path.join(this.dir, 'dataplane'), { recursive: true, force: true });
      for (const f of ['config', 'faults', 'calls', 'service', 'state'] as const) fs.rmSync(fileIn(this.dir, f), { force: true });
      freshHost(this.dir, readConfig(this.dir));
      resetHost(this.dir);
    });
  }

  /** Every object (reads every object file: for tests and tools, not for hot paths). */
  readState(): EmulatorState {
    return readState(this.dir, readConfig(this.dir));
  }

  /**
   * The whole state as one JSON text (the emulator's earlier state.json format): written as
   * `state.json` into another emulator directory, it is imported there at the next call.
   */
  exportState(): string {
    return JSON.stringify(this.readState());
  }

  /** Replaces the whole state (objects as readState() gives them), re-indexed. */
  async writeState(s: Partial<EmulatorState>): Promise<void> {
    const cfg = readConfig(this.dir);
    await withStateLock(this.dir, cfg, () => importState(this.dir, cfg, s));
  }

  /** The configuration in force (profile values, then config.json). */
  config(): EmulatorConfig {
    return readConfig(this.dir);
  }

  /** The profile in force and where it came from (CNI_HNS_EMULATOR_PROFILE, config.json, default). */
  profile(): ProfileChoice {
    return chooseProfile(readConfigFile(this.dir));
  }

  /** Replaces config.json; absent knobs take the profile's values or their defaults. */
  setConfig(cfg: Partial<EmulatorConfig>): void {
    writeAtomic(fileIn(this.dir, 'config'), JSON.stringify(cfg, null, 2), true);
  }

  /** Changes some knobs of config.json, keeping the others. */
  updateConfig(change: Partial<EmulatorConfig>): void {
    this.setConfig({ ...readConfigFile(this.dir), ...change });
  }

  /**
   * Makes the host a given Windows build (profiles.ts): config.json `profile`, and the version
   * knobs the profile sets are dropped from config.json so that the profile's values apply.
   */
  setProfile(name: string): void {
    const p = findProfile(name);
    if (!p) throw new Error(`unknown profile ${name}; known: ${profileNames().join(', ')}`);
    const { hnsVersion: _h, schemaVersion: _s, rebootKeepsNetworks: _r, ...rest } = readConfigFile(this.dir);
    this.setConfig({ ...rest, profile: p.name });
  }

  /** Replaces faults.json (under the lock, where calls consume counts). */
  async setFaults(faults: Fault[]): Promise<void> {
    await withStateLock(this.dir, readConfig(this.dir), () => writeAtomic(fileIn(this.dir, 'faults'), JSON.stringify(faults, null, 2), true));
  }

  readFaults(): Fault[] {
    return readJson<Fault[]>(fileIn(this.dir, 'faults')) ?? [];
  }

  readCalls(): CallRecord[] {
    return readCalls(this.dir);
  }

  clearCalls(): void {
    fs.rmSync(fileIn(this.dir, 'calls'), { force: true });
  }

  /**
   * Restart-Computer (hcn-api.md §4.6): endpoints and namespaces are lost (the host's first
   * HostDefault namespace stays, empty: it is the default compartment); so are networks with
   * EnableNonPersistent (8), NAT networks ("NAT networks created on Windows Server 2019 (or
   * above) are no longer persisted after reboot", network-drivers-topologies.md; config
   * rebootKeepsNatNetworks), and every network on a build that kept none (rebootKeepsNetworks:
   * Server 2019 RTM). The service comes back up.
   */
  async reboot(): Promise<void> {
    const cfg = readConfig(this.dir);
    await updateStore(this.dir, cfg, (tx) => {
      for (const id of tx.ids('Endpoint')) tx.drop('Endpoint', id);
      const defaults = tx.defaultNamespaces();
      const keep = defaults.find((id) => tx.get('Namespace', id)?.NamespaceId === 1) ?? defaults[0];
      for (const id of tx.ids('Namespace')) {
        if (id !== keep) tx.drop('Namespace', id);
        else {
          const { Resources: _r, ...ns } = tx.get('Namespace', id)!;
          tx.save('Namespace', ns);
        }
      }
      for (const id of tx.ids('Network')) {
        const net = tx.get('Network', id)!;
        tx.dropAllocHints(id);
        const nat = net.Type === undefined || net.Type === 'NAT';
        if (!cfg.rebootKeepsNetworks || ((net.Flags ?? 0) & NetworkFlags.EnableNonPersistent) !== 0 || (nat && !cfg.rebootKeepsNatNetworks)) tx.drop('Network', id);
      }
      // Compartments are numbered afresh after a boot.
      tx.setNextCompartmentId(FRESH_COUNTERS.nextCompartmentId);
      // Routes made at run time (CreateIpForwardEntry2) and forwarding flags do not survive it.
      rebootHost(this.dir);
    });
    startService(this.dir);
  }

  /**
   * Restart-Service hns: the service forgets its endpoints while pods keep running (Server 2022:
   * projectcalico/calico#5164, docker/for-win#12425; research §13.5). Networks and namespaces
   * (compartments belong to the TCP/IP stack) stay; namespaces lose their endpoint entries
   * (INFERRED). The service comes back up.
   */
  async restartHns(): Promise<number> {
    const cfg = readConfig(this.dir);
    const dropped = await updateStore(this.dir, cfg, (tx) => {
      const ids = tx.ids('Endpoint');
      for (const id of ids) {
        const ep = tx.get('Endpoint', id);
        if (ep) dropEndpoint(tx, ep);
      }
      return ids.length;
    });
    startService(this.dir);
    return dropped;
  }

  /** The service stops: every call of every process fails with `hr` (RPC_S_SERVER_UNAVAILABLE) until startService(). */
  stopService(hr = RPC_S_SERVER_UNAVAILABLE): void {
    stopService(this.dir, hr);
  }

  startService(): void {
    startService(this.dir);
  }

  /**
   * Adds `count` remote endpoints (Flags 1) to a network, as kube-proxy makes one per service
   * backend on another node: IPs from `firstIp` up (outside the node's pod subnet by default),
   * MACs `02-11-<ip>` (kube-proxy's conjureMac), a ProviderAddress policy naming the peer node.
   * Same rules as HcnCreateEndpoint (conflicts, indexes), without a schema check per document
   * and in batches under one lock each: for benchmarks and scale tests.
   */
  async addRemoteEndpoints(networkId: string, count: number, opts: { firstIp?: string; providerAddress?: string; batch?: number } = {}): Promise<string[]> {
    const cfg = readConfig(this.dir);
    const first = parseIp(opts.firstIp ?? '10.128.0.2');
    if (!first || first.family !== 4) throw new Error(`firstIp ${opts.firstIp} is not an IPv4 address`);
    const batch = opts.batch ?? 500;
    const ids: string[] = [];
    for (let start = 0; start < count; start += batch) {
      const n = Math.min(batch, count - start);
      const made = await updateStore(this.dir, cfg, (tx: StoreTx) => {
        const out: string[] = [];
        for (let i = start; i < start + n; i++) {
          const ip = formatIp({ family: 4, value: first.value + BigInt(i) });
          const bytes = ip.split('.').map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0'));
          const doc: HostComputeEndpoint = {
            SchemaVersion: { Major: 2, Minor: 0 },
            HostComputeNetwork: networkId.toUpperCase(),
            Flags: 1,
            IpConfigurations: [{ IpAddress: ip }],
            MacAddress: ['02', '11', ...bytes].join('-'),
            Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: opts.providerAddress ?? '192.0.2.200' } }],
          };
          out.push(createEndpoint(tx, networkId.toUpperCase(), undefined, doc).ID!);
        }
        return out;
      });
      ids.push(...made);
    }
    return ids;
  }

  // --- the host's IP stack (host.ts): what iphlpapi.dll shows on Windows ---------------------

  /** The host's interfaces (the adapter or its vEthernet, and the host vNICs of HostDefault endpoints). */
  hostInterfaces(): Promise<EmulatedInterface[]> {
    return hostInterfaces(this.dir);
  }

  /** The route table (GetIpForwardTable2): on-link routes of the interfaces, then the routes made. */
  hostRoutes(): Promise<EmulatedRoute[]> {
    return hostRoutes(this.dir);
  }

  addHostRoute(spec: RouteSpec): Promise<EmulatedRoute> {
    return createHostRoute(this.dir, spec);
  }

  deleteHostRoute(spec: RouteSpec): Promise<void> {
    return deleteHostRoute(this.dir, spec);
  }

  setHostForwarding(ref: InterfaceRef, family: 4 | 6, enabled: boolean): Promise<void> {
    return setHostForwarding(this.dir, ref, family, enabled);
  }

  /** An operator's `route -f`: every route made at run time goes. */
  flushHostRoutes(): Promise<number> {
    return flushHostRoutes(this.dir);
  }

  // --- the Linux data plane (config dataplane: netns; plane.ts, dataplane/) ---------------------

  /** Converges every namespace of this host now, changed or not (after `dataplane` is set, or to repair drift). */
  async dataplaneSync(): Promise<RealizeReport> {
    const cfg = readConfig(this.dir);
    if (!dataplaneOn(cfg)) throw new Error('the data plane is off (hnsctl emulator set dataplane netns)');
    return withStateLock(this.dir, cfg, () => {
      markDirty(this.dir, cfg);
      const report = dataplaneModule().realize(this.dir, cfg, { force: true });
      if (report.ok) fs.rmSync(dirtyMarker(this.dir), { force: true });
      return report;
    });
  }

  /** Removes every namespace the data plane made for this host; what HNS holds stays (a later sync makes them again). */
  async dataplaneDown(): Promise<string[]> {
    const cfg = readConfig(this.dir);
    return withStateLock(this.dir, cfg, () => {
      const errors = dataplaneModule().teardown(this.dir, cfg);
      fs.rmSync(dirtyMarker(this.dir), { force: true });
      return errors;
    });
  }

  /** The network namespace that is this host, or, given an HNS namespace ID, the one that stands for it. */
  dataplaneNetns(namespaceId?: string): string {
    const cfg = readConfig(this.dir);
    const m = dataplaneModule();
    const node = m.nodeNetns(this.dir, cfg);
    return namespaceId ? m.podNetns(node, namespaceId) : node;
  }

  /** The network's document as the service holds it, by name (for helpers). */
  networkByName(name: string): HostComputeNetwork | undefined {
    return Object.values(this.readState().networks).find((n) => n.Name === name);
  }
}

export function emulatorAdmin(dir: string): EmulatorAdmin {
  return new EmulatorAdmin(dir);
}
