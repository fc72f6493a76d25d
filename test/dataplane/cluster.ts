// Emulated Windows nodes whose HNS emulator realizes its state as Linux networking (config
// `dataplane: netns`), brought up by their own cni-agent (the built executable) against the
// stand-in API server of test/agent, and pods attached through the built plugins as containerd's
// CRI calls them (conformance/runtime/libcni: the agent's conflist, runtimeConfig portMappings).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { addNetworkList, delNetworkList, gcNetworkList, loadConfList, type RuntimeAttachment } from '../../conformance/runtime/libcni';
import { Cluster, HNSCTL, type Mode, probe, type TestNode, waitFor } from '../agent/cluster';
import { prepare } from '../agent/prepare';
import { DIST } from '../helpers/node';
import { Probe, RUN } from './fabric';

export interface PlaneNode extends TestNode {
  /** The namespace that is this node. */
  netns: string;
  /** Its probe (started on first use). */
  probe?: Probe;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface Pod {
  node: PlaneNode;
  name: string;
  containerId: string;
  /** The HNS namespace (CNI_NETNS) and the Linux namespace that stands for it. */
  hnsNamespace: string;
  netns: string;
  ip: string;
  endpointId: string;
  probe: Probe;
  attachment: RuntimeAttachment;
}

export const POD_PORT = 5000;
export const CONTAINER_PORT = 80;

export class PlaneCluster {
  readonly nodes: PlaneNode[] = [];

  private constructor(readonly c: Cluster, readonly mode: Mode, readonly tag: string, readonly underlay: string) {}

  /** `count` nodes of the mode on one underlay (no agent started yet). */
  static async create(mode: Mode, tag: string, count = 3): Promise<PlaneCluster> {
    prepare();
    const c = await Cluster.create(`cni-dataplane-${tag}-`);
    const pc = new PlaneCluster(c, mode, tag, `${RUN}-${tag}-ul`);
    try {
      for (let i = 1; i <= count; i++) await pc.addNode(i);
    } catch (err) {
      await pc.close();
      throw err;
    }
    return pc;
  }

  async addNode(i: number, extra: Record<string, unknown> = {}): Promise<PlaneNode> {
    const n = (await this.c.addNode(i, this.mode, extra)) as PlaneNode;
    n.netns = `${RUN}-${this.tag}-n${i}`;
    n.admin.updateConfig({ dataplane: 'netns', dataplaneNode: n.netns, dataplaneUnderlay: this.underlay });
    const r = await n.admin.dataplaneSync();
    if (!r.ok) throw new Error(`data plane of ${n.name}: ${r.errors.join('; ')}`);
    this.nodes.push(n);
    return n;
  }

  get api() {
    return this.c.api;
  }

  /** Starts every node's agent and waits until each reports its network, conflist and peers ready. */
  async startAgents(): Promise<void> {
    for (const n of this.nodes) this.c.startAgent(n);
    for (const n of this.nodes) await n.agent!.address;
    await waitFor('every agent ready', async () => {
      for (const n of this.nodes) if ((await probe(n, '/readyz')).status !== 200) return false;
      return true;
    }, 20_000);
  }

  env(n: PlaneNode): NodeJS.ProcessEnv {
    return this.c.env(n);
  }

  hnsctl(n: PlaneNode, ...args: string[]): string {
    const out = spawnSync(HNSCTL, args, { env: this.env(n), encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`hnsctl ${args.join(' ')} on ${n.name}: ${out.stderr}`);
    return out.stdout.trim();
  }

  conflist(n: PlaneNode) {
    const file = fs.readdirSync(n.confDir).find((f) => f.endsWith('.conflist'));
    if (!file) throw new Error(`${n.name} has no conflist yet`);
    return loadConfList(path.join(n.confDir, file));
  }

  runtime(n: PlaneNode) {
    return { binDirs: [DIST], env: this.env(n), cacheDir: path.join(n.dir, 'cri-cache') };
  }

  /** A pod as containerd makes one: an HNS namespace, then ADD of the node's conflist; a probe runs in it. */
  async addPod(n: PlaneNode, name: string, portMappings: PortMapping[] = []): Promise<Pod> {
    const hnsNamespace = this.hnsctl(n, 'namespace', 'create');
    const attachment: RuntimeAttachment = {
      containerId: `${this.tag}-${name}-${process.pid}`,
      ifName: 'eth0',
      netns: hnsNamespace,
      args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', name]],
      capabilityArgs: { portMappings, dns: { servers: ['10.96.0.10'] } },
    };
    const result = (await addNetworkList(this.runtime(n), this.conflist(n), attachment)) as { ips: { address: string }[] };
    const ip = result.ips.find((x) => !x.address.includes(':'))!.address.split('/')[0]!;
    const ep = Object.values(n.admin.readState().endpoints).find((e) => e.Name?.startsWith(attachment.containerId));
    const netns = n.admin.dataplaneNetns(hnsNamespace);
    const p = new Probe(netns, [POD_PORT, CONTAINER_PORT]);
    await p.ready;
    return { node: n, name, containerId: attachment.containerId, hnsNamespace, netns, ip, endpointId: ep!.ID!, probe: p, attachment };
  }

  /** The pod goes as containerd removes it: its processes, DEL, then the namespace. */
  async removePod(pod: Pod): Promise<void> {
    pod.probe.stop();
    await delNetworkList(this.runtime(pod.node), this.conflist(pod.node), pod.attachment);
    this.hnsctl(pod.node, 'namespace', 'delete', pod.hnsNamespace);
  }

  /** GC with nothing valid but `keep` (cniVersion 1.1.0 conflists only). */
  async gc(n: PlaneNode, keep: Pod[] = []): Promise<void> {
    await gcNetworkList(this.runtime(n), this.conflist(n), keep.map((p) => ({ containerID: p.containerId, ifname: 'eth0' })));
  }

  async nodeProbe(n: PlaneNode): Promise<Probe> {
    if (!n.probe) {
      n.probe = new Probe(n.netns, [POD_PORT]);
      await n.probe.ready;
    }
    return n.probe;
  }

  /** The host's uplink as the IP Helper model numbers it (for routes an operator adds). */
  async uplinkIndex(n: PlaneNode): Promise<number> {
    const ifaces = await n.admin.hostInterfaces();
    const up = ifaces.find((i) => i.Kind === 'uplink');
    if (!up) throw new Error(`${n.name} has no uplink`);
    return up.InterfaceIndex;
  }

  /**
   * The agent goes at once: what it leaves is what the data plane tests look at, not how it stops
   * (it logs its clean stop on SIGTERM, then its process lingers on an open socket until the
   * 10 s SIGKILL of Cluster.stopAgent: test/agent's concern).
   */
  async killAgent(n: PlaneNode): Promise<void> {
    const a = n.agent;
    if (!a) return;
    n.agent = undefined;
    if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
    await a.exited;
  }

  /** Agents stopped, the scratch directories removed (down() first takes each node's data plane down). */
  async close(): Promise<void> {
    for (const n of this.nodes) {
      n.probe?.stop();
      await this.killAgent(n);
    }
    await this.c.close().catch(() => undefined);
  }

  async down(): Promise<string[]> {
    const errors: string[] = [];
    for (const n of this.nodes) {
      n.probe?.stop();
      if (fs.existsSync(n.hnsDir)) errors.push(...(await n.admin.dataplaneDown()));
    }
    return errors;
  }
}
