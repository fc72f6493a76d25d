// Makes the node match its desired state, on either backend:
//   ensureNode   the HNS network of the mode (created if missing, refused if of our name but
//                another type or subnet, never deleted); on Overlay a bounded wait for the
//                ProviderAddress and DR MAC HNS fills in; on L2Bridge the host's bridge endpoint
//                at .2 in the HostDefault namespace and forwarding on the host vNICs; then the
//                conflist;
//   syncPeers    host-gateway routes or win-overlay RemoteSubnetRoute policies. A "full" pass
//                reads what the node has (the route table, the network's policies) and repairs
//                drift; an "event" pass diffs the desired set against what the agent last applied,
//                in memory, and sends only the changes (one Node changing costs one or two calls).
// It adds what is missing and removes only what its record (records.ts) says it made.

import type { AgentConfig } from '../config/agent';
import type { HnsClient } from '../hns/client';
import type { HnsError } from '../hns/errors';
import type { HostComputeEndpoint } from '../hns/model/endpoint';
import type { HostComputeNetwork } from '../hns/model/network';
import type { RemoteSubnetRouteSettings } from '../hns/model/policy';
import { type HostInterface, type HostRouteError, type HostRoutes, interfaceWithAddress } from '../host/routes';
import { conflistPath, renderConflist, writeConflist } from './conflist';
import { conflict, notReady } from './errors';
import { desiredHostEndpoint, holdsHostAddresses, hostEndpointAddresses, hostEndpointName } from './host-endpoint';
import { checkExistingNetwork, desiredNetwork, type NetworkSpec } from './network';
import { overlayServiceFields, waitForNetwork } from '../hns/overlay';
import { type DesiredPolicy, type DesiredRoute, desiredPolicies, desiredRoutes, goMac, type Peer, PeerVerdicts, type PeerProblem, policyKey, routeIdentity } from './peers';
import type { PeerRules } from './sanity';
import { type OwnedPolicy, type OwnedRoute, type OwnershipRecord, type RecordStore } from './records';

/** This node's own facts: its pod subnet(s) and underlay IP(s), from the config or its Node object. */
export interface NodeFacts {
  podCIDRs: string[];
  nodeIPs: string[];
}

export interface ReconcileLog {
  event(step: string, fields?: Record<string, unknown>, outcome?: string): void;
}

export interface ReconcilerDeps {
  cfg: AgentConfig;
  hns: HnsClient;
  /** The host's IP stack: needed by the L2Bridge modes (forwarding; routes for host-gateway). */
  host?: HostRoutes;
  records: RecordStore;
  log: ReconcileLog;
  sleep?: (ms: number) => Promise<void>;
}

export interface NodeReport {
  networkId: string;
  networkCreated: boolean;
  hostEndpointId?: string;
  conflistWritten: boolean;
  conflist: string;
  providerAddress?: string;
  drMac?: string;
  uplink?: HostInterface;
}

export interface PeerReport {
  added: number;
  removed: number;
  /** Desired and already there, made by someone else: left alone and not owned. */
  foreign: number;
  problems: PeerProblem[];
  /** Calls that failed (the next pass retries). */
  errors: string[];
}

/** RemoteSubnetRoute policies per HcnModifyNetwork request: a large cluster's first sync in a few calls. */
const POLICY_BATCH = 100;

export class NodeReconciler {
  private record: OwnershipRecord;
  private network?: HostComputeNetwork;
  private uplink?: HostInterface;
  private facts?: NodeFacts;
  /** Every RemoteSubnetRoute on the network as last seen (ours and others'), by key. */
  private presentPolicies = new Map<string, RemoteSubnetRouteSettings>();
  /** Each peer's sanity verdict, kept while the peer object and the rules stay the same (peers.ts). */
  private readonly verdicts = new PeerVerdicts();

  constructor(private readonly deps: ReconcilerDeps) {
    const { record, damaged, from } = deps.records.load(deps.cfg.network, deps.cfg.mode);
    this.record = record;
    if (damaged) {
      let aside: string | undefined;
      try {
        aside = deps.records.setAside();
      } catch (err) {
        aside = `not moved: ${(err as Error).message}`;
      }
      this.adopting = true;
      const note = from ? `continuing from ${from}` : 'starting from an empty record';
      deps.log.event('record-damaged', { file: deps.records.file, error: damaged, setAside: aside ?? null, note: `${note}: the next full pass also adopts the routes or policies on the node that are exactly what the peers want, and leaves everything else alone` }, 'warning');
    }
  }

  /**
   * After a damaged record: what is on the node and exactly what the desired state asks for (the
   * same prefix, next hop and interface; the same four policy settings) is taken as this agent's,
   * since it is what the agent would make; anything else stays someone else's, never removed.
   */
  private adopting = false;

  private adopt<T>(kind: 'routes' | 'policies', matches: T[], own: (m: T) => void): void {
    for (const m of matches) own(m);
    this.adopting = false;
    this.deps.records.save(this.record);
    this.deps.log.event('record-rebuilt', { [kind]: matches.length, file: this.deps.records.file });
  }

  get ownedRoutes(): number {
    return this.record.routes.length;
  }

  get ownedPolicies(): number {
    return this.record.policies.length;
  }

  /** The network, host endpoint, forwarding and conflist; throws a NodeStateError or an HNS/host error when the node cannot be made right now. */
  async ensureNode(facts: NodeFacts): Promise<NodeReport> {
    const { cfg, hns, log } = this.deps;
    if (facts.podCIDRs.length === 0) throw notReady(`node ${cfg.node} has no pod subnet yet`, 'set "podCIDR" or wait for the controller manager to assign spec.podCIDRs');
    const spec: NetworkSpec = { mode: cfg.mode, name: cfg.network, podCIDRs: facts.podCIDRs, vni: cfg.vni, vxlanPort: cfg.vxlanPort, ...(cfg.netAdapter ? { netAdapter: cfg.netAdapter } : {}) };
    const features = await hns.features();
    let net = (await hns.listNetworks({ Name: cfg.network }))[0];
    let created = false;
    if (!net) {
      net = await hns.createNetwork(desiredNetwork(spec, features));
      created = true;
      log.event('network-created', { network: cfg.network, id: net.ID, type: net.Type, subnets: facts.podCIDRs });
    }
    checkExistingNetwork(net, spec);
    const report: NodeReport = { networkId: net.ID!, networkCreated: created, conflistWritten: false, conflist: '' };
    if (cfg.mode === 'win-overlay') {
      net = await this.waitForProviderAddress(net);
      const f = overlayServiceFields(net);
      if (f.providerAddress) report.providerAddress = f.providerAddress;
      if (f.drMac) report.drMac = f.drMac;
    } else {
      report.hostEndpointId = (await this.ensureHostEndpoint(net, facts)).ID!;
      report.uplink = await this.ensureForwarding(facts);
    }
    this.network = net;
    this.facts = facts;
    const text = renderConflist(cfg, facts);
    report.conflist = conflistPath(cfg);
    report.conflistWritten = writeConflist(report.conflist, text);
    if (report.conflistWritten) log.event('conflist-written', { file: report.conflist });
    return report;
  }

  /** Routes or policies for the peers: `full` reads the node's actual state first, `event` trusts what was last applied. */
  async syncPeers(peers: Peer[], pass: 'full' | 'event'): Promise<PeerReport> {
    const { cfg } = this.deps;
    const report: PeerReport = { added: 0, removed: 0, foreign: 0, problems: [], errors: [] };
    if (!this.facts || !this.network) throw notReady('the node network is not set up yet');
    if (cfg.mode === 'host-gateway') await this.syncRoutes(peers, pass, report);
    else if (cfg.mode === 'win-overlay') await this.syncPolicies(peers, pass, report);
    return report;
  }

  // --- network and host endpoint ----------------------------------------------------------

  private async waitForProviderAddress(net: HostComputeNetwork): Promise<HostComputeNetwork> {
    const { cfg, hns, log } = this.deps;
    const ready = (n: HostComputeNetwork) => {
      const f = overlayServiceFields(n);
      return !!f.providerAddress && !!f.drMac;
    };
    const { net: current } = await waitForNetwork(net, ready, { reread: () => hns.getNetworkById(net.ID!), waitMs: cfg.networkWaitMs, ...(this.deps.sleep ? { sleep: this.deps.sleep } : {}) });
    if (!ready(current)) {
      throw notReady(`HNS has not filled in the ProviderAddress and DrMacAddress of overlay network "${cfg.network}" within ${cfg.networkWaitMs / 1000} s`, 'the host adapter may still be coming up; the agent keeps trying');
    }
    if (current !== net) log.event('provider-address', overlayServiceFields(current));
    return current;
  }

  private async hostDefaultNamespace(): Promise<string> {
    const all = await this.deps.hns.listNamespaces({ IsDefault: true });
    const ns = all.find((n) => n.NamespaceId === 1) ?? all[0];
    if (!ns) throw notReady('the host has no HostDefault namespace (default compartment)');
    return ns.ID!;
  }

  /** `<network>_ep` at .2, in the HostDefault namespace: created, or attached, when missing (after an HNS restart every endpoint is gone). */
  private async ensureHostEndpoint(net: HostComputeNetwork, facts: NodeFacts): Promise<HostComputeEndpoint> {
    const { cfg, hns, log } = this.deps;
    const name = hostEndpointName(cfg.network);
    const found = await hns.listEndpoints({ Name: name, VirtualNetwork: net.ID });
    let ep = found.find((e) => holdsHostAddresses(e, facts.podCIDRs));
    if (!ep && found.length) {
      const have = found.flatMap((e) => (e.IpConfigurations ?? []).map((c) => c.IpAddress)).join(', ');
      throw conflict(`endpoint "${name}" on network "${cfg.network}" holds ${have || 'no address'}, not the host address(es) ${hostEndpointAddresses(facts.podCIDRs).map((a) => a.IpAddress).join(', ')}`, `delete it (hnsctl delete endpoint ${found[0]!.ID}) and the agent makes it again`);
    }
    if (!ep) {
      ep = await hns.createEndpoint(net.ID!, desiredHostEndpoint(cfg.network, net.ID!, facts.podCIDRs));
      log.event('host-endpoint-created', { endpoint: name, id: ep.ID, addresses: (ep.IpConfigurations ?? []).map((c) => c.IpAddress) });
    }
    const hostNs = await this.hostDefaultNamespace();
    if (!ep.HostComputeNamespace) {
      await hns.addNamespaceEndpoint(hostNs, ep.ID!);
      log.event('host-endpoint-attached', { endpoint: name, id: ep.ID, namespace: hostNs });
    } else if (ep.HostComputeNamespace.toUpperCase() !== hostNs.toUpperCase()) {
      throw conflict(`endpoint "${name}" is in namespace ${ep.HostComputeNamespace}, not the host's default compartment ${hostNs}`);
    }
    return ep;
  }

  /**
   * Forwarding on the host vNIC holding the node IP (the routes' interface) and on the bridge
   * endpoint's vNIC (the pods' gateway), as flannel host-gw does (hostgw_windows.go step 7) and
   * every L2Bridge node needs (windows-anchors.md §8.1): the host routes pod traffic.
   */
  private async ensureForwarding(facts: NodeFacts): Promise<HostInterface> {
    const { host, log } = this.deps;
    if (!host) throw new Error('the L2Bridge modes need the host IP stack adapter');
    const ifaces = await host.listInterfaces();
    const uplink = facts.nodeIPs.map((ip) => interfaceWithAddress(ifaces, ip)).find((i) => i);
    if (!uplink) throw notReady(`no host interface holds the node IP ${facts.nodeIPs.join(' or ')}`, 'check "nodeIP" (or the Node\'s InternalIP): host-gw routes go on the interface that holds it');
    const bridgeIp = hostEndpointAddresses(facts.podCIDRs)[0]!.IpAddress;
    const bridge = interfaceWithAddress(ifaces, bridgeIp);
    if (!bridge) throw notReady(`no host interface holds ${bridgeIp} yet (the vNIC of the bridge endpoint)`);
    const families = [...new Set(facts.podCIDRs.map((p) => (p.includes(':') ? 6 : 4) as 4 | 6))];
    for (const iface of [uplink, bridge]) {
      for (const family of families) {
        if (family === 4 ? iface.forwarding.ipv4 : iface.forwarding.ipv6) continue;
        await host.setForwarding(iface.index, family, true);
        log.event('forwarding-enabled', { interface: iface.index, alias: iface.alias, family: `IPv${family}` });
      }
    }
    if (this.uplink && this.uplink.index !== uplink.index) log.event('uplink-changed', { from: this.uplink.index, to: uplink.index, alias: uplink.alias });
    this.uplink = uplink;
    return uplink;
  }

  /**
   * What a peer's claims are checked against (sanity.ts): the cluster's CIDRs from the config,
   * this node's subnets and addresses, and on host-gateway the uplink's subnets (a next hop must be
   * on-link), on win-overlay this node's DR MAC.
   */
  private peerRules(uplink?: HostInterface): PeerRules {
    const { cfg } = this.deps;
    const facts = this.facts!;
    const rules: PeerRules = {
      clusterCIDRs: cfg.clusterCIDRs,
      serviceCIDRs: cfg.serviceCIDRs,
      clusterDNS: cfg.clusterDNS,
      ownPodCIDRs: facts.podCIDRs,
      ownAddresses: [...facts.nodeIPs],
    };
    if (uplink) {
      rules.ownAddresses.push(...uplink.addresses.map((a) => a.address), ...hostEndpointAddresses(facts.podCIDRs).map((a) => a.IpAddress));
      rules.onLink = uplink.addresses.map((a) => `${a.address}/${a.prefixLength}`);
    } else if (this.network) {
      const f = overlayServiceFields(this.network);
      if (f.providerAddress) rules.ownAddresses.push(f.providerAddress);
      const mac = goMac(f.drMac);
      if (mac) rules.ownMacs = [mac];
    }
    return rules;
  }

  // --- host-gateway routes ----------------------------------------------------------------

  // Identities kept per object: the same desired route (peers.ts keeps it per peer) and the same
  // owned entry come back on every pass, and building 10,000 key strings per event was garbage.
  private readonly desiredKeys = new WeakMap<DesiredRoute, { index: number; key: string }>();
  private readonly ownedKeys = new WeakMap<OwnedRoute, string>();

  /** A desired route is in one spelling already (peers.ts), so its identity is the plain join. */
  private desiredKey(r: DesiredRoute, index: number): string {
    let k = this.desiredKeys.get(r);
    if (!k || k.index !== index) this.desiredKeys.set(r, (k = { index, key: `${r.destinationPrefix}|${r.nextHop}|${index}` }));
    return k.key;
  }

  private ownedKey(r: OwnedRoute): string {
    let k = this.ownedKeys.get(r);
    if (k === undefined) this.ownedKeys.set(r, (k = routeIdentity(r)));
    return k;
  }

  private async syncRoutes(peers: Peer[], pass: 'full' | 'event', report: PeerReport): Promise<void> {
    const { host, records, log } = this.deps;
    const uplink = this.uplink;
    if (!host || !uplink) throw notReady('the interface holding the node IP is not known yet');
    const { routes, problems } = desiredRoutes(peers, this.peerRules(uplink), this.verdicts);
    report.problems = problems;
    const want = new Map<string, DesiredRoute>();
    for (const r of routes) want.set(this.desiredKey(r, uplink.index), r);
    let present: Set<string> | undefined;
    if (pass === 'full') {
      present = new Set((await host.listRoutes()).map(routeIdentity));
      // What the record claims but the node does not have was never made, or went away with its
      // interface or an operator: not ours to remove any more.
      const kept = this.record.routes.filter((r) => present!.has(routeIdentity(r)));
      const changed = kept.length !== this.record.routes.length || kept.some((r) => r.state !== 'added');
      this.record.routes = kept.map((r) => ({ ...r, state: 'added' as const }));
      if (changed) records.save(this.record);
    }
    if (pass === 'full' && this.adopting) {
      const mine = new Set(this.record.routes.map(routeIdentity));
      const matches = [...want].filter(([k]) => present!.has(k) && !mine.has(k));
      this.adopt('routes', matches, ([, r]) => this.record.routes.push({ destinationPrefix: r.destinationPrefix, nextHop: r.nextHop, interfaceIndex: uplink.index, interfaceLuid: uplink.luid, state: 'added' }));
    }
    const owned = new Map<string, OwnedRoute>();
    for (const r of this.record.routes) owned.set(this.ownedKey(r), r);
    const toAdd: [string, DesiredRoute][] = [];
    for (const [k, r] of want) {
      if (owned.has(k)) continue;
      if (present?.has(k)) report.foreign++;
      else toAdd.push([k, r]);
    }
    const toRemove: [string, OwnedRoute][] = [];
    for (const [k, r] of owned) if (!want.has(k)) toRemove.push([k, r]);
    if (toAdd.length === 0 && toRemove.length === 0) return;

    // Recorded before they are made: a crash now leaves "adding" entries, settled by the next full pass.
    const adding = toAdd.map(([, r]): OwnedRoute => ({ destinationPrefix: r.destinationPrefix, nextHop: r.nextHop, interfaceIndex: uplink.index, interfaceLuid: uplink.luid, state: 'adding' }));
    if (adding.length) {
      this.record.routes.push(...adding);
      records.change(this.record, { put: { routes: adding } }, true);
    }
    const notOurs = new Set<OwnedRoute>();
    for (const r of adding) {
      try {
        await host.addRoute({ destinationPrefix: r.destinationPrefix, nextHop: r.nextHop, interfaceIndex: r.interfaceIndex });
        r.state = 'added';
        report.added++;
      } catch (err) {
        notOurs.add(r);
        if ((err as HostRouteError).kind === 'conflict') report.foreign++;
        else report.errors.push((err as Error).message);
      }
    }
    const removed = new Set<OwnedRoute>();
    for (const [, r] of toRemove) {
      try {
        await host.deleteRoute({ destinationPrefix: r.destinationPrefix, nextHop: r.nextHop, interfaceIndex: r.interfaceIndex });
        report.removed++;
        removed.add(r);
      } catch (err) {
        // Gone already (an operator, or its interface): nothing of ours is left to remove.
        if ((err as HostRouteError).kind === 'not-found') removed.add(r);
        else report.errors.push((err as Error).message);
      }
    }
    this.record.routes = this.record.routes.filter((r) => !notOurs.has(r) && !removed.has(r));
    // A confirmation may be lost in a power cut (the entry stays "adding", settled by the next
    // full pass); an entry no longer ours must not be: the record would claim someone else's route.
    const dropped = [...notOurs, ...removed];
    records.change(this.record, { put: { routes: adding.filter((r) => !notOurs.has(r)) }, drop: { routes: dropped } }, dropped.length > 0);
    log.event('routes', { pass, added: report.added, removed: report.removed, foreign: report.foreign, errors: report.errors.length, owned: this.record.routes.length, interface: uplink.index });
  }

  // --- win-overlay policies ---------------------------------------------------------------

  private async syncPolicies(peers: Peer[], pass: 'full' | 'event', report: PeerReport): Promise<void> {
    const { cfg, hns, records, log } = this.deps;
    // A full pass sees the network's policies as they are (ensureNode just read it); an event
    // pass works from that view plus its own changes, so a watch event costs only its own calls.
    const net = this.network!;
    if (pass === 'full') this.presentPolicies = remoteSubnetRoutes(net);
    const { policies, problems } = desiredPolicies(peers, this.peerRules(), cfg.vni, this.verdicts);
    report.problems = problems;
    if (pass === 'full') {
      const kept = this.record.policies.filter((p) => p.networkId.toUpperCase() === net.ID!.toUpperCase() && this.presentPolicies.has(policyKey(p.settings)));
      const changed = kept.length !== this.record.policies.length || kept.some((p) => p.state !== 'added');
      this.record.policies = kept.map((p) => ({ ...p, state: 'added' as const }));
      if (changed) records.save(this.record);
    }
    const want = new Map<string, DesiredPolicy>(policies.map((p) => [policyKey(p.settings), p]));
    if (pass === 'full' && this.adopting) {
      const mine = new Set(this.record.policies.map((p) => policyKey(p.settings)));
      const matches = [...this.presentPolicies].filter(([k]) => want.has(k) && !mine.has(k));
      this.adopt('policies', matches, ([, settings]) => this.record.policies.push({ networkId: net.ID!, settings, state: 'added' }));
    }
    const owned = new Map<string, OwnedPolicy>(this.record.policies.map((p) => [policyKey(p.settings), p]));
    // A prefix that a policy we did not make already routes: two RemoteSubnetRoutes for one prefix
    // would be ambiguous, and the other one is not ours to remove. So ours is not added, and if
    // ours came first in a race (an event pass adds from the last full pass's view), the next full
    // pass removes ours and leaves theirs.
    const foreignPrefixes = new Map<string, string>();
    for (const [k, s] of this.presentPolicies) if (!owned.has(k)) foreignPrefixes.set(s.DestinationPrefix, k);
    const toRemove = [...owned].filter(([k, p]) => !want.has(k) || foreignPrefixes.has(p.settings.DestinationPrefix));
    const toAdd: DesiredPolicy[] = [];
    for (const [k, p] of want) {
      if (owned.has(k) && !foreignPrefixes.has(p.settings.DestinationPrefix)) continue;
      const other = foreignPrefixes.get(p.settings.DestinationPrefix);
      if (other === k) report.foreign++;
      else if (other) report.problems.push({ peer: p.peer, rule: 'overlap', reason: `network "${cfg.network}" already has a RemoteSubnetRoute for ${p.settings.DestinationPrefix} that this agent did not make (${other}); left alone` });
      else toAdd.push(p);
    }
    if (toAdd.length === 0 && toRemove.length === 0) return;

    // Removals first: a peer whose MAC or address changed keeps its prefix, and HNS should never
    // hold two routes for one prefix (flannel removes the old policy before adding the new one).
    const removed = new Set<OwnedPolicy>();
    for (const batch of chunks(toRemove.map(([, p]) => p), POLICY_BATCH)) {
      // The settings as HNS holds them: a removal must match the stored policy exactly.
      const failed = await this.modifyPolicies(net.ID!, 'Remove', batch.map((p) => this.presentPolicies.get(policyKey(p.settings)) ?? p.settings), report);
      for (const p of batch) {
        if (failed.has(policyKey(p.settings))) continue;
        removed.add(p);
        this.presentPolicies.delete(policyKey(p.settings));
        report.removed++;
      }
    }
    const adding = toAdd.map((p): OwnedPolicy => ({ networkId: net.ID!, settings: p.settings, state: 'adding' }));
    this.record.policies = this.record.policies.filter((p) => !removed.has(p));
    let unrecorded = [...removed];
    if (adding.length) {
      this.record.policies.push(...adding);
      records.change(this.record, { put: { policies: adding }, drop: { policies: unrecorded } }, true);
      unrecorded = [];
    }
    const notOurs = new Set<OwnedPolicy>();
    for (const batch of chunks(adding, POLICY_BATCH)) {
      const failed = await this.modifyPolicies(net.ID!, 'Add', batch.map((p) => p.settings), report);
      for (const p of batch) {
        const k = policyKey(p.settings);
        if (failed.has(k)) {
          notOurs.add(p);
          continue;
        }
        p.state = 'added';
        this.presentPolicies.set(k, p.settings);
        report.added++;
      }
    }
    this.record.policies = this.record.policies.filter((p) => !notOurs.has(p));
    // As for routes: a lost confirmation is settled by the next full pass, a lost drop is not.
    const dropped = [...unrecorded, ...notOurs];
    records.change(this.record, { put: { policies: adding.filter((p) => !notOurs.has(p)) }, drop: { policies: dropped } }, dropped.length > 0);
    log.event('policies', { pass, added: report.added, removed: report.removed, foreign: report.foreign, errors: report.errors.length, owned: this.record.policies.length, networkId: net.ID });
  }

  /**
   * One HcnModifyNetwork for a batch; if the batch fails, each policy alone, so one bad entry does
   * not hold back the others. Returns the keys that did not go through: for Remove, a policy that
   * is not there counts as removed; for Add, one that is there already (someone else's) fails.
   */
  private async modifyPolicies(networkId: string, request: 'Add' | 'Remove', settings: RemoteSubnetRouteSettings[], report: PeerReport): Promise<Set<string>> {
    const { hns } = this.deps;
    const send = (list: RemoteSubnetRouteSettings[]) =>
      hns.modifyNetwork(networkId, { ResourceType: 'Policy', RequestType: request, Settings: { Policies: list.map((s) => ({ Type: 'RemoteSubnetRoute' as const, Settings: s })) } });
    const failed = new Set<string>();
    if (settings.length === 0) return failed;
    try {
      await send(settings);
      return failed;
    } catch (err) {
      if (settings.length === 1) return this.oneFailed(err as HnsError, request, settings[0]!, report, failed);
    }
    for (const s of settings) {
      try {
        await send([s]);
      } catch (err) {
        this.oneFailed(err as HnsError, request, s, report, failed);
      }
    }
    return failed;
  }

  private oneFailed(err: HnsError, request: 'Add' | 'Remove', s: RemoteSubnetRouteSettings, report: PeerReport, failed: Set<string>): Set<string> {
    if (request === 'Remove' && err.kind === 'not-found') return failed;
    failed.add(policyKey(s));
    if (request === 'Add' && err.kind === 'conflict') report.foreign++;
    else report.errors.push(`${request} RemoteSubnetRoute ${s.DestinationPrefix}: ${err.message}`);
    return failed;
  }
}

function remoteSubnetRoutes(net: HostComputeNetwork): Map<string, RemoteSubnetRouteSettings> {
  const out = new Map<string, RemoteSubnetRouteSettings>();
  for (const p of net.Policies ?? []) {
    if (p.Type !== 'RemoteSubnetRoute' || !p.Settings) continue;
    const s = p.Settings as RemoteSubnetRouteSettings;
    out.set(policyKey(s), s);
  }
  return out;
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

