// A scratch cluster for the agent's tests: the stand-in API server (HTTPS, certificates from the
// openssl CLI, a kubeconfig with a token), and emulated Windows nodes, each with its own HNS
// emulator directory (its management IP set to the node's IP, its own DR MAC) and its own agent:
// the built executable dist/linux-x64/cni-agent, talking to the API through the real client library.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emulatorAdmin, type EmulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import type { RemoteSubnetRouteSettings } from '../../shared/hns/model/policy';
import { waitFor } from '../helpers/wait';
import { type ApiServerOptions, makeCerts, type NodeSpec, StandInApiServer } from './apiserver';

export const ROOT = path.resolve(__dirname, '..', '..');
export const AGENT = path.join(ROOT, 'dist', 'linux-x64', 'cni-agent');
export const HNSCTL = path.join(ROOT, 'dist', 'linux-x64', 'hnsctl');

export type Mode = 'win-l2bridge' | 'host-gateway' | 'l3-upstream' | 'win-overlay';

export interface TestNode {
  name: string;
  ip: string;
  podCIDR: string;
  drMac: string;
  dir: string;
  hnsDir: string;
  admin: EmulatorAdmin;
  configFile: string;
  logFile: string;
  confDir: string;
  agent?: AgentProcess;
}

export interface AgentProcess {
  child: ChildProcess;
  stderr: () => string;
  address: Promise<string>;
  exited: Promise<number | null>;
}

export function nodeName(i: number): string {
  return `win-node-${i}`;
}

export class Cluster {
  readonly dir: string;
  readonly api: StandInApiServer;
  readonly kubeconfig: string;
  readonly nodes: TestNode[] = [];

  private constructor(dir: string, api: StandInApiServer, kubeconfig: string) {
    this.dir = dir;
    this.api = api;
    this.kubeconfig = kubeconfig;
  }

  static async create(prefix = 'cni-agent-', server: Omit<ApiServerOptions, 'certs'> = {}): Promise<Cluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const api = new StandInApiServer({ certs: makeCerts(path.join(dir, 'pki')), ...server });
    await api.start();
    return new Cluster(dir, api, api.kubeconfig(path.join(dir, 'kubeconfig')));
  }

  /** An emulated Windows node (i = 1, 2, ...) and its Node object; the agent is not started. */
  async addNode(i: number, mode: Mode, extra: Record<string, unknown> = {}, opts: { registerNode?: boolean } = {}): Promise<TestNode> {
    const name = nodeName(i);
    const dir = path.join(this.dir, name);
    const hnsDir = path.join(dir, 'hns');
    const admin = emulatorAdmin(hnsDir);
    await admin.reset();
    const ip = `192.168.10.${10 + i}`;
    const drMac = `00-15-5D-D0-00-${(i).toString(16).toUpperCase().padStart(2, '0')}`;
    admin.updateConfig({ managementIp: ip, drMacAddress: drMac });
    const node: TestNode = { name, ip, podCIDR: `10.244.${i}.0/24`, drMac, dir, hnsDir, admin, configFile: path.join(dir, 'agent.json'), logFile: path.join(dir, 'agent.log'), confDir: path.join(dir, 'conf') };
    this.writeConfig(node, mode, extra);
    if (opts.registerNode !== false) this.api.add({ name, podCIDRs: [node.podCIDR], internalIP: ip });
    this.nodes.push(node);
    return node;
  }

  writeConfig(node: TestNode, mode: Mode, extra: Record<string, unknown> = {}): void {
    const cfg = {
      mode,
      network: mode === 'win-overlay' ? 'vxlan0' : 'cbr0',
      node: node.name,
      netAdapter: 'Ethernet',
      clusterCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      clusterDNS: '10.96.0.10',
      confDir: node.confDir,
      peers: { source: 'kubernetes', kubeconfig: this.kubeconfig },
      stateDir: path.join(node.dir, 'state'),
      logFile: node.logFile,
      listen: '127.0.0.1:0',
      reconcileSeconds: 0.3,
      networkWaitSeconds: 5,
      ...extra,
    };
    fs.mkdirSync(node.dir, { recursive: true });
    fs.writeFileSync(node.configFile, JSON.stringify(cfg, null, 2));
  }

  env(node: TestNode): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, CNI_HNS_BACKEND: 'emulator', CNI_HNS_EMULATOR_DIR: node.hnsDir, CNI_STATE_DIR: path.join(node.dir, 'cni-state'), CNI_LOG_FILE: path.join(node.dir, 'cni.log') };
  }

  /** Starts the node's agent (the built executable) and resolves its probe address once it listens. */
  startAgent(node: TestNode, args: string[] = []): AgentProcess {
    const child = spawn(AGENT, ['--config', node.configFile, ...args], { env: this.env(node), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let resolveAddress: (a: string) => void;
    let rejectAddress: (e: Error) => void;
    const address = new Promise<string>((res, rej) => {
      resolveAddress = res;
      rejectAddress = rej;
    });
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /probes on http:\/\/(\S+)/.exec(err);
      if (m) resolveAddress(m[1]!);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
      rejectAddress(new Error(`the agent of ${node.name} exited (${code}) before listening: ${err}`));
      resolve(code);
    }));
    address.catch(() => undefined);
    node.agent = { child, stderr: () => err, address, exited };
    return node.agent;
  }

  /** SIGTERM, then the exit code. */
  async stopAgent(node: TestNode): Promise<number | null> {
    const a = node.agent;
    if (!a) return null;
    node.agent = undefined;
    if (a.child.exitCode !== null) return a.child.exitCode;
    a.child.kill('SIGTERM');
    const timer = setTimeout(() => a.child.kill('SIGKILL'), 10_000);
    const code = await a.exited;
    clearTimeout(timer);
    return code;
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await this.stopAgent(n);
    await this.api.stop();
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }
}

/** The host-gw routes the agent made (NetMgmt) on a node, as "prefix via hop". */
export async function routesOf(node: TestNode): Promise<string[]> {
  const routes = await node.admin.hostRoutes();
  return routes.filter((r) => r.Protocol === 'NetMgmt').map((r) => `${r.DestinationPrefix} via ${r.NextHop}`).sort();
}

/** The RemoteSubnetRoute policies on a node's overlay network. */
export function policiesOf(node: TestNode, network = 'vxlan0'): RemoteSubnetRouteSettings[] {
  const net = node.admin.networkByName(network);
  return (net?.Policies ?? []).filter((p) => p.Type === 'RemoteSubnetRoute').map((p) => p.Settings as RemoteSubnetRouteSettings).sort((a, b) => (a.DestinationPrefix < b.DestinationPrefix ? -1 : 1));
}

export { waitFor };

/** GET of a probe path on the agent. */
export async function probe(node: TestNode, p: string): Promise<{ status: number; body: string }> {
  const address = await node.agent!.address;
  const res = await fetch(`http://${address}${p}`);
  return { status: res.status, body: await res.text() };
}

export function logLines(node: TestNode): Record<string, unknown>[] {
  if (!fs.existsSync(node.logFile)) return [];
  return fs.readFileSync(node.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function nodeSpec(node: TestNode, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { name: node.name, podCIDRs: [node.podCIDR], internalIP: node.ip, ...extra };
}

/** A line of /metrics, anchored: the sample as written (name and labels) and its value (any number when omitted). */
export function sampleLine(sample: string, value?: number): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(sample)} ${value === undefined ? '-?[0-9][0-9.e+-]*' : esc(String(value))}$`, 'm');
}

/** The value of one sample of the node's /metrics (name and labels as written), or undefined when it has none. */
export async function metricValue(node: TestNode, sample: string): Promise<number | undefined> {
  const body = (await probe(node, '/metrics')).body;
  const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** Reconcile passes the node's agent has finished, of every kind and outcome (cni_agent_reconciles_total). */
export async function passesDone(node: TestNode): Promise<number> {
  const body = (await probe(node, '/metrics')).body;
  return [...body.matchAll(/^cni_agent_reconciles_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/**
 * Resolves once the node's agent has finished a reconcile pass that began after the call (the
 * second pass to end from now: the first may have begun before), so the pass saw everything the
 * agent knew at the call. A full pass that changes nothing logs nothing, so this is read from the
 * pass counter, not the log.
 */
export async function passAfterNow(node: TestNode, timeoutMs = 5_000): Promise<void> {
  const start = await passesDone(node);
  await waitFor(`${node.name}: a reconcile pass begun after now`, async () => (await passesDone(node)) >= start + 2, timeoutMs);
}

export interface PeerProblem {
  peer: string;
  reason: string;
}

/**
 * The peers the node's agent reports as getting nothing, as its latest 'peer-problems' log line
 * from line `from` on says (every pass reports them when they change), or undefined when it has
 * logged none since.
 */
export function peerProblemsSince(node: TestNode, from: number): PeerProblem[] | undefined {
  const line = logLines(node).slice(from).filter((l) => l.step === 'peer-problems').at(-1);
  return line ? (line.problems as PeerProblem[]) : undefined;
}
