// The agent's loop: one worker runs reconcile passes one at a time, asked for by
//   - a timer every reconcileSeconds, and every successful Node list: a "full" pass (the node's
//     network, host endpoint, forwarding and conflist, then the peers against the node's actual
//     routes or policies);
//   - a Node watch event or a peer file change: an "event" pass (the peers' desired set against
//     what was last applied, in memory; only the difference reaches the system).
// Requests that arrive while a pass runs are merged into the next one. The rules themselves are in
// shared/node (what the node should hold) and shared/kube (where the Nodes come from).

import { HnsClient } from '../../shared/hns/client';
import type { HcnApi } from '../../shared/hns/api';
import { openBackend } from '../../shared/hns/backend';
import type { AgentConfig } from '../../shared/config/agent';
import { isBridged } from '../../shared/config/agent';
import { openHostRoutes } from '../../shared/host/backend';
import type { Family, HostRoutes, RouteRequest } from '../../shared/host/routes';
import { annotationChanges, flannelKeys, flannelVxlanAnnotations, publicIpToPublish } from '../../shared/kube/annotations';
import { type NodeInfo, peerOf } from '../../shared/kube/nodes';
import { httpStatus, listNodes, NodeWatcher, PAGE_SIZE } from '../../shared/kube/watch';
import type { KubeNodeClient } from '../../shared/kube/client';
import { NodeStateError } from '../../shared/node/errors';
import { otherPeers, type Peer, type PeerProblem } from '../../shared/node/peers';
import { REFUSAL_RULES } from '../../shared/node/sanity';
import { type NodeFacts, NodeReconciler, type NodeReport } from '../../shared/node/reconcile';
import { RecordStore } from '../../shared/node/records';
import { monotonicMs } from '../../shared/sys/clock';
import { parseIp } from '../../shared/net/ip';
import fs from 'node:fs';
import path from 'node:path';
import { startProbeServer, type ProbeServer } from './http';
import type { AgentLog } from './log';
import { hostVersions, NOT_YET_KNOWN, rememberHnsVersion, versionText } from '../../shared/hns/version-cache';
import { agentMetrics, type AgentMetrics } from './metrics';
import { FilePeers } from './peers-file';
import { errorText } from '../../shared/log/logger';

export interface AgentDeps {
  cfg: AgentConfig;
  log: AgentLog;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** In-process tests inject these; the executable opens the platform's. */
  hcnApi?: HcnApi;
  hostRoutes?: HostRoutes;
  kube?: KubeNodeClient;
}

interface Status {
  nodeReady: boolean;
  peersSynced: boolean;
  running: boolean;
  started: number;
  lastPassStart: number;
  lastPassEnd: number;
  lastError?: string;
  node?: NodeReport;
  firstSyncMs?: number;
  /** The peers' claims refused in the last pass (readyz shows the first of them). */
  problems?: PeerProblem[];
}

/** A HostRoutes whose every call is counted (cni_agent_route_calls_total). */
function countingHost(host: HostRoutes, m: AgentMetrics): HostRoutes {
  const count = async <T>(call: string, p: () => Promise<T>): Promise<T> => {
    try {
      const out = await p();
      m.routeCalls.inc({ call, outcome: 'ok' });
      return out;
    } catch (err) {
      m.routeCalls.inc({ call, outcome: (err as { kind?: string }).kind ?? 'error' });
      throw err;
    }
  };
  return {
    backend: host.backend,
    listInterfaces: () => count('GetIpInterfaceTable', () => host.listInterfaces()),
    listRoutes: () => count('GetIpForwardTable2', () => host.listRoutes()),
    addRoute: (r: RouteRequest) => count('CreateIpForwardEntry2', () => host.addRoute(r)),
    deleteRoute: (r: RouteRequest) => count('DeleteIpForwardEntry2', () => host.deleteRoute(r)),
    setForwarding: (i: number, f: Family, e: boolean) => count('SetIpInterfaceEntry', () => host.setForwarding(i, f, e)),
    dispose: () => host.dispose(),
  };
}

export class Agent {
  readonly metrics = agentMetrics();
  readonly status: Status = { nodeReady: false, peersSynced: false, running: false, started: Date.now(), lastPassStart: 0, lastPassEnd: 0 };
  private api?: HcnApi;
  private hns?: HnsClient;
  private host?: HostRoutes;
  private reconciler?: NodeReconciler;
  private watcher?: NodeWatcher;
  private listed?: Map<string, NodeInfo>;
  private file?: FilePeers;
  private server?: ProbeServer;
  private timer?: NodeJS.Timeout;
  private pending = { full: false, event: false, since: 0 };
  private working?: Promise<void>;
  private stopping = false;
  private readonly keys: ReturnType<typeof flannelKeys>;
  private lastProblems = '[]';
  private lastErrorLogged = { text: '', at: 0 };
  private published = { key: '', at: 0 };
  private fileError = '';

  constructor(private readonly deps: AgentDeps) {
    this.keys = flannelKeys(deps.cfg.flannel.annotationPrefix);
  }

  get cfg(): AgentConfig {
    return this.deps.cfg;
  }

  /** What the agent made and keeps. */
  owned(): { routes: number; policies: number } {
    return { routes: this.reconciler?.ownedRoutes ?? 0, policies: this.reconciler?.ownedPolicies ?? 0 };
  }

  /**
   * The OS build and HNS version for the agent's first line (pain point 21). The agent is started
   * once, so it asks the service (one call) rather than trusting the plugins' cache, and refreshes
   * that cache for them; a service that does not answer yet is said plainly.
   */
  private async hostVersions(): Promise<{ osBuild: string; hnsVersion: string }> {
    const host = hostVersions(this.deps.env, this.deps.platform);
    try {
      const v = await this.hns!.serviceVersion();
      rememberHnsVersion(host, v);
      return { osBuild: host.osBuild, hnsVersion: versionText(v) };
    } catch (err) {
      return { osBuild: host.osBuild, hnsVersion: `${NOT_YET_KNOWN} (${errorText(err)}): the service did not answer when the agent started` };
    }
  }

  /** Opens the backends and the peer source (nothing is changed yet). */
  async open(): Promise<void> {
    const { cfg, env, platform, log } = this.deps;
    const m = this.metrics;
    this.api = this.deps.hcnApi ?? (await openBackend(env, platform));
    this.hns = new HnsClient(this.api, { callTimeoutMs: cfg.hnsTimeoutMs, onCall: (call, _ms, err) => m.hnsCalls.inc({ call, outcome: err ? err.kind : 'ok' }) });
    if (isBridged(cfg.mode)) this.host = countingHost(this.deps.hostRoutes ?? (await openHostRoutes(env, platform)), m);
    this.reconciler = new NodeReconciler({ cfg, hns: this.hns, ...(this.host ? { host: this.host } : {}), records: new RecordStore(path.join(cfg.stateDir, `${cfg.network}.json`)), log });
    m.registry.gauge('cni_agent_info', 'The agent: mode, network, node and backends (always 1).').set(1, { mode: cfg.mode, network: cfg.network, node: cfg.node, hns: this.api.backend, host: this.host?.backend ?? 'none', peers: cfg.peers.source });
    m.ownedRoutes.set(this.reconciler.ownedRoutes);
    m.ownedPolicies.set(this.reconciler.ownedPolicies);
    if (cfg.peers.source === 'file') this.file = new FilePeers(cfg.peers.file);
    else this.deps.kube ??= (await import('../../shared/kube/client')).kubeNodeClient({ ...(cfg.peers.kubeconfig ? { kubeconfig: cfg.peers.kubeconfig } : {}) }, env);
    log.event('opened', { ...(await this.hostVersions()), hns: this.api.backend, host: this.host?.backend ?? 'none', peers: cfg.peers.source, ...(this.deps.kube ? { server: this.deps.kube.server } : {}) });
    if (cfg.binDir) {
      // containerd runs the conflist's plugin from its bin_dir: a conflist naming a plugin that is not there fails every pod.
      const exe = path.join(cfg.binDir, this.deps.platform === 'win32' ? `${cfg.mode}.exe` : cfg.mode);
      if (!fs.existsSync(exe)) log.warn('bin-dir', `${exe} does not exist: containerd will not find the ${cfg.mode} plugin the conflist names`, { binDir: cfg.binDir });
    }
  }

  /** Starts the probe server, the peer source and the timer; returns once they run. */
  async start(): Promise<string> {
    const { cfg, log } = this.deps;
    this.server = await startProbeServer(cfg.listen.host, cfg.listen.port, {
      healthz: () => this.healthz(),
      readyz: () => this.readyz(),
      metrics: () => this.metrics.registry.render(),
    });
    log.event('listening', { address: this.server.address });
    if (this.file) {
      this.file.refresh();
      this.noteFileError();
      this.file.watch(() => {
        if (this.file!.refresh()) this.kick('event');
        this.noteFileError();
      });
    }
    if (this.deps.kube) {
      const m = this.metrics;
      this.watcher = new NodeWatcher(this.deps.kube, {
        onSync: (nodes, reason, how) => {
          log.event('nodes-listed', { nodes: nodes.size, reason, how, resourceVersion: this.watcher!.resourceVersion });
          this.kick('full');
        },
        // The watcher calls this only when what the agent uses of a Node changed (not for heartbeats).
        onChange: (name, before, after) => {
          if (name === cfg.node) return this.kick('full');
          m.watchEvents.inc({ type: !after ? 'deleted' : !before ? 'added' : 'modified' });
          this.kick('event');
        },
        onUnchanged: () => m.watchEvents.inc({ type: 'unchanged' }),
        onError: (stage, err, retryInMs) => {
          m.errors.inc({ stage: 'kube' });
          this.logError(`kube-${stage}`, err, { retryInMs, status: httpStatus(err) ?? null });
        },
        onFallback: (err) => log.warn('kube-watch-list', `the API server has no streaming list (${errorText(err)}): listing in pages instead`),
        onRequest: (verb, outcome) => m.kubeRequests.inc({ verb, outcome }),
      }, { resyncMs: cfg.resyncMs, keys: this.keys });
      this.watcher.start();
    }
    this.timer = setInterval(() => this.kick('full'), cfg.reconcileMs);
    // With the API as the source, the first list brings this node's pod subnet and kicks a pass.
    if (!this.deps.kube || cfg.podCIDRs.length) this.kick('full');
    return this.server.address;
  }

  /** One full pass (the `--once` mode): true when the node matches its desired state. */
  async once(): Promise<boolean> {
    if (this.file) {
      this.file.refresh();
      this.noteFileError();
    }
    if (this.deps.kube) {
      try {
        const list = await listNodes(this.deps.kube, this.keys, { resourceVersion: '0', limit: PAGE_SIZE }, (outcome) => this.metrics.kubeRequests.inc({ verb: 'list', outcome }));
        this.listed = list.nodes;
      } catch (err) {
        this.logError('kube-list', err);
        return false;
      }
    }
    await this.pass('full', 0);
    return this.status.nodeReady && this.status.peersSynced && !this.status.lastError;
  }

  /** Stops cleanly: no new pass, the running one finishes (what it made stays: a restart adopts it). */
  async stop(reason = 'stop'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { log } = this.deps;
    if (this.timer) clearInterval(this.timer);
    this.file?.stop();
    await this.watcher?.stop();
    await this.working;
    await this.server?.close();
    await this.hns?.close();
    await this.api?.dispose().catch(() => undefined);
    await this.host?.dispose().catch(() => undefined);
    log.event('stopped', { reason });
  }

  // --- the worker -------------------------------------------------------------------------

  kick(kind: 'full' | 'event'): void {
    if (this.stopping) return;
    if (kind === 'full') this.pending.full = true;
    else {
      if (!this.pending.event) this.pending.since = monotonicMs();
      this.pending.event = true;
    }
    this.working ??= this.drain().finally(() => {
      this.working = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopping && (this.pending.full || this.pending.event)) {
      const { full, since } = this.pending;
      const event = this.pending.event;
      this.pending = { full: false, event: false, since: 0 };
      await this.pass(full ? 'full' : 'event', event ? since : 0);
    }
  }

  /** This node's pod subnet (its Node's spec.podCIDRs, else the config) and IPs (the config, else its InternalIPs). */
  facts(): NodeFacts {
    const own = this.nodes()?.get(this.cfg.node);
    const podCIDRs = own?.podCIDRs.length ? own.podCIDRs : this.cfg.podCIDRs;
    const nodeIPs = this.cfg.nodeIPs.length ? this.cfg.nodeIPs : own?.internalIPs ?? [];
    return { podCIDRs, nodeIPs };
  }

  private nodes(): ReadonlyMap<string, NodeInfo> | undefined {
    if (this.watcher?.synced) return this.watcher.nodes;
    return this.listed;
  }

  /** The peers, or undefined while none have been read yet (never an empty list standing for a failure). */
  peers(): Peer[] | undefined {
    if (this.file) return this.file.peers && otherPeers(this.file.peers, this.cfg.node);
    const nodes = this.nodes();
    if (!nodes) return undefined;
    const changes = this.watcher?.synced && nodes === this.watcher.nodes ? this.watcher.changes : 0;
    const last = this.peerList;
    if (last && last.nodes === nodes && last.changes === changes) return last.peers;
    const peers = otherPeers([...nodes.values()].map((n) => this.peerOfNode(n)), this.cfg.node);
    this.peerList = { nodes, changes, peers };
    return peers;
  }

  /** The peers as last derived from the Node cache, until the cache changes (a pass must not sort 5,000 names again for nothing). */
  private peerList?: { nodes: ReadonlyMap<string, NodeInfo>; changes: number; peers: Peer[] };

  /** One Peer object per trimmed Node, for as long as the Node is unchanged: the reconciler keeps each peer's verdict by that object (peers.ts PeerVerdicts). */
  private readonly peerObjects = new WeakMap<NodeInfo, Peer>();

  private peerOfNode(n: NodeInfo): Peer {
    let p = this.peerObjects.get(n);
    if (!p) this.peerObjects.set(n, (p = peerOf(n, this.keys)));
    return p;
  }

  private async pass(kind: 'full' | 'event', eventSince: number): Promise<void> {
    const { log } = this.deps;
    const m = this.metrics;
    const t0 = monotonicMs();
    this.status.running = true;
    this.status.lastPassStart = Date.now();
    let stage = 'node';
    let pass: 'full' | 'event' = kind;
    const fields: Record<string, unknown> = {};
    try {
      if (this.file && kind === 'full' && this.file.refresh()) fields.peerFile = 'changed';
      if (this.file) this.noteFileError();
      const facts = this.facts();
      if (kind === 'full' || !this.status.nodeReady) {
        pass = 'full';
        try {
          const report = await this.reconciler!.ensureNode(facts);
          this.status.node = report;
          this.status.nodeReady = true;
        } catch (err) {
          this.status.nodeReady = false;
          throw err;
        }
        stage = 'annotations';
        await this.publish(this.status.node!, facts);
      }
      stage = 'peers';
      const peers = this.peers();
      m.peers.set(peers?.length ?? 0);
      if (!peers) {
        this.status.peersSynced = false;
        fields.peers = 'not read yet';
      } else {
        const r = await this.reconciler!.syncPeers(peers, pass);
        m.peerChanges.inc({ change: 'added' }, r.added);
        m.peerChanges.inc({ change: 'removed' }, r.removed);
        Object.assign(fields, { peers: peers.length, added: r.added, removed: r.removed, foreign: r.foreign });
        this.noteProblems(r.problems);
        if (r.errors.length) {
          this.status.peersSynced = false;
          throw new Error(`${r.errors.length} peer change(s) failed, first: ${r.errors[0]}`);
        }
        this.status.peersSynced = true;
        if (this.status.firstSyncMs === undefined) {
          this.status.firstSyncMs = Date.now() - this.status.started;
          const mem = process.memoryUsage();
          const mib = (n: number) => Math.round(n / 2 ** 20);
          log.event('first-sync', { ms: this.status.firstSyncMs, peers: peers.length, owned: this.reconciler!.ownedRoutes + this.reconciler!.ownedPolicies, memoryMiB: { rss: mib(mem.rss), heapUsed: mib(mem.heapUsed), heapTotal: mib(mem.heapTotal), external: mib(mem.external) } });
        }
      }
      this.status.lastError = undefined;
      m.reconciles.inc({ kind: pass, outcome: 'ok' });
    } catch (err) {
      const text = errorText(err);
      this.status.lastError = text;
      m.errors.inc({ stage: err instanceof NodeStateError ? `${stage}:${err.kind}` : stage });
      m.reconciles.inc({ kind: pass, outcome: 'error' });
      this.logError(`reconcile-${stage}`, err, { pass });
      // An event pass trusts the last full one; when it fails, the node may have changed under it.
      if (pass === 'event') this.pending.full = true;
    } finally {
      const ms = monotonicMs() - t0;
      m.reconcileSeconds.observe(ms / 1000, { kind: pass });
      m.ready.set(this.ready() ? 1 : 0);
      m.ownedRoutes.set(this.reconciler!.ownedRoutes);
      m.ownedPolicies.set(this.reconciler!.ownedPolicies);
      m.lastReconcile.set(Date.now() / 1000);
      this.status.running = false;
      this.status.lastPassEnd = Date.now();
      const changed = (fields.added as number) > 0 || (fields.removed as number) > 0;
      if (pass === 'event' || changed) log.event('reconcile', { pass, ms: round(ms), ...(eventSince ? { sinceEventMs: round(monotonicMs() - eventSince) } : {}), ...fields });
    }
  }

  /** win-overlay with the Kubernetes source: this node's flannel lease, its DR MAC as VTEP MAC (only what differs is patched). */
  private async publish(report: NodeReport, facts: NodeFacts): Promise<void> {
    const { cfg, log, kube } = this.deps;
    if (cfg.mode !== 'win-overlay' || !kube || !cfg.flannel.publish || !report.drMac) return;
    const own = this.nodes()?.get(cfg.node);
    if (!own) return;
    const publicIp = publicIpToPublish(own.annotations, this.keys, facts.nodeIPs.find((ip) => parseIp(ip)?.family === 4) ?? report.providerAddress);
    if (!publicIp) return;
    const changes = annotationChanges(own.annotations, flannelVxlanAnnotations(this.keys, { vni: cfg.vni, vtepMac: report.drMac, publicIp }));
    if (Object.keys(changes).length === 0) return;
    const key = JSON.stringify(changes);
    // The watch brings the patched Node back a moment later; until then, do not patch it again.
    if (key === this.published.key && Date.now() - this.published.at < 10_000) return;
    try {
      await kube.patchNodeAnnotations(cfg.node, changes);
      this.metrics.kubeRequests.inc({ verb: 'patch', outcome: 'ok' });
      this.published = { key, at: Date.now() };
      Object.assign(own.annotations, changes);
      log.event('annotations-published', { node: cfg.node, annotations: changes });
    } catch (err) {
      this.metrics.kubeRequests.inc({ verb: 'patch', outcome: 'error' });
      this.metrics.errors.inc({ stage: 'annotations' });
      this.logError('annotations', err, { status: httpStatus(err) ?? null });
    }
  }

  private noteProblems(problems: PeerProblem[]): void {
    const text = JSON.stringify(problems);
    if (text === this.lastProblems) return;
    this.lastProblems = text;
    this.status.problems = problems;
    const byRule = new Map<string, number>(REFUSAL_RULES.map((r) => [r, 0]));
    for (const p of problems) byRule.set(p.rule, (byRule.get(p.rule) ?? 0) + 1);
    for (const [reason, n] of byRule) this.metrics.peersRefused.set(n, { reason });
    if (problems.length) this.deps.log.warn('peer-problems', `${problems.length} peer(s) get no route: ${problems.slice(0, 5).map((p) => `${p.peer}: ${p.reason}`).join('; ')}`, { problems: problems.slice(0, 50) });
    else this.deps.log.event('peer-problems', { problems: [] });
  }

  private noteFileError(): void {
    const text = this.file?.lastError?.message ?? '';
    if (text === this.fileError) return;
    this.fileError = text;
    if (text) {
      this.metrics.errors.inc({ stage: 'config' });
      this.deps.log.warn('peer-file', `${text} (keeping the last good list)`);
    } else this.deps.log.event('peer-file', { file: this.file!.file, peers: this.file!.peers?.length ?? 0 });
  }

  /** Logs an error, but the same one at most once a minute (a long outage must not fill the disk). */
  private logError(step: string, err: unknown, fields: Record<string, unknown> = {}): void {
    const text = `${step}: ${errorText(err)}`;
    if (text === this.lastErrorLogged.text && Date.now() - this.lastErrorLogged.at < 60_000) return;
    this.lastErrorLogged = { text, at: Date.now() };
    this.deps.log.error(step, err, fields);
  }

  // --- probes -----------------------------------------------------------------------------

  ready(): boolean {
    return this.status.nodeReady && this.status.peersSynced && !!this.status.node;
  }

  private healthz() {
    // Alive while passes keep ending (or one is under way within its calls' deadlines).
    const limit = Math.max(3 * this.cfg.reconcileMs, 2 * this.cfg.hnsTimeoutMs + this.cfg.networkWaitMs, 30_000);
    const since = Date.now() - (this.status.running ? this.status.lastPassStart : this.status.lastPassEnd || this.status.started);
    return { ok: since < limit, detail: { msSinceLastPass: since } };
  }

  private readyz() {
    return {
      ok: this.ready(),
      detail: {
        network: this.status.nodeReady ? 'ready' : 'not ready',
        peers: this.status.peersSynced ? 'synced' : 'not synced',
        conflist: this.status.node?.conflist ?? null,
        ownedRoutes: this.reconciler?.ownedRoutes ?? 0,
        ownedPolicies: this.reconciler?.ownedPolicies ?? 0,
        ...(this.status.lastError ? { lastError: this.status.lastError } : {}),
        ...(this.status.problems?.length ? { refusedPeers: this.status.problems.length, refused: this.status.problems.slice(0, 20) } : {}),
      },
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
