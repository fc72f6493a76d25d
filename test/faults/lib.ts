// Shared by the fault suites (kill points, damaged state, fuzz): a scratch node per plugin and
// IPAM that can be put back to a saved copy of itself, the plugins run asynchronously with a
// deadline, and what a pod holds on the node (its HNS endpoints, its addresses, its record).

import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { createEmulatorApi } from '../../shared/hns/backends/emulator/index';
import { HnsClient } from '../../shared/hns/client';
import { describe, execute, type Outcome } from '../../conformance/lib/exec';
import { DEBIAN_CNI_DIR, plugin, type PluginName, ROOT, runExe, scratchNode, type ScratchNode } from '../helpers/node';

export type IpamKind = 'builtin' | 'host-local';
export const IPAM_KINDS: IpamKind[] = ['builtin', 'host-local'];

/** The network each plugin's example node setup makes, and what the plugin's conf needs beyond it. */
export const NETWORKS: Record<PluginName, { name: string; extra: Record<string, unknown> }> = {
  'win-l2bridge': { name: 'cbr0', extra: {} },
  'win-overlay': { name: 'vxlan0', extra: {} },
  'host-gateway': { name: 'cbr0', extra: { clusterCIDR: '10.244.0.0/16' } },
  'l3-upstream': { name: 'l3net', extra: { clusterCIDR: '10.244.0.0/16' } },
};

export const SUBNET = '10.244.3.0/24';

export interface RunResult extends Outcome {
  /** stdout parsed, when it is JSON. */
  json?: any;
}

/** Runs `file` with `env` and `stdin`; past `timeoutMs` it is killed (SIGKILL) and `timedOut` is set. */
export async function run(file: string, env: NodeJS.ProcessEnv, stdin: string, opts: { args?: string[]; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const r = await execute({ binary: file, args: opts.args, env: env as Record<string, string>, stdin: Buffer.from(stdin), timeoutMs: opts.timeoutMs ?? 90_000, cwd: opts.cwd });
  let json: any;
  try {
    json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { ...r, json };
}

/** At most `n` of the tasks at a time; results in order. */
export async function pool<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** A limiter shared by independent callers: at most `n` bodies run at once. */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** The parts of a node that change (the bin directory of links does not). */
const MUTABLE = ['hns', 'state', 'log', 'hl'];
/** Written by readState() as a side effect; a copy of them would be taken for a foreign state on restore. */
const SNAPSHOT_SKIP = new Set(['state.json', 'snapshot.json']);

/**
 * A scratch node running one plugin with one IPAM: the plugin's example node network applied,
 * two pod namespaces made. `save(name)` keeps a copy of everything that changes; `restore(name)`
 * puts it back byte for byte, so every kill point starts from the same files.
 */
export class FaultNode {
  readonly node: ScratchNode;
  readonly network: string;
  readonly hostLocalDir: string;
  readonly namespaces: string[] = [];

  /** `also`: other plugins whose example node network the node gets too. */
  constructor(readonly plugin: PluginName, readonly ipam: IpamKind, prefix = 'cni-faults-', also: PluginName[] = []) {
    this.node = scratchNode(prefix);
    this.network = NETWORKS[plugin].name;
    this.hostLocalDir = path.join(this.node.dir, 'hl');
    emulatorAdmin(this.node.emulatorDir).setConfig({ managementIp: '192.168.10.21' });
    for (const p of new Set([plugin, ...also])) {
      const applied = runExe(path.join(DIST_BIN, 'hnsctl'), this.node.env, '', ['apply', path.join(ROOT, 'plugins', p, 'examples', 'node-network.json')]);
      if (applied.code !== 0) throw new Error(`hnsctl apply failed: ${applied.stderr}`);
    }
  }

  get dir(): string {
    return this.node.dir;
  }

  newNamespace(): string {
    const r = runExe(path.join(DIST_BIN, 'hnsctl'), this.node.env, '', ['namespace', 'create']);
    if (r.code !== 0) throw new Error(`hnsctl namespace create failed: ${r.stderr}`);
    const ns = r.stdout.trim();
    this.namespaces.push(ns);
    return ns;
  }

  /** The IPAM section of the conf. */
  ipamConf(): Record<string, unknown> {
    return this.ipam === 'builtin' ? { type: 'builtin', subnet: SUBNET } : { type: 'host-local', subnet: SUBNET, dataDir: this.hostLocalDir };
  }

  conf(version = '1.0.0', extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { cniVersion: version, name: this.network, type: this.plugin, ...NETWORKS[this.plugin].extra, ipam: this.ipamConf(), ...extra };
  }

  /** Where the IPAM keeps this network's addresses. */
  ipamDir(): string {
    return this.ipam === 'builtin' ? path.join(this.node.stateDir, 'ipam', this.network) : path.join(this.hostLocalDir, this.network);
  }

  env(command: string, containerId: string, netns: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const gcLike = command === 'GC' || command === 'STATUS';
    return {
      ...this.node.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: gcLike ? '' : containerId,
      CNI_NETNS: gcLike ? '' : netns,
      CNI_IFNAME: gcLike ? '' : 'eth0',
      CNI_ARGS: gcLike ? '' : `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=${containerId}`,
      CNI_PATH: `${this.node.binDir}:${DEBIAN_CNI_DIR}`,
      ...extra,
    };
  }

  /** One verb for the pod through the plugin (GC: nothing valid, at 1.1.0). */
  verb(command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS', containerId: string, netns: string, extraConf: Record<string, unknown> = {}): Promise<RunResult> {
    const conf = command === 'GC' ? this.conf('1.1.0', { 'cni.dev/valid-attachments': [], ...extraConf }) : command === 'STATUS' ? this.conf('1.1.0', extraConf) : this.conf('1.0.0', extraConf);
    return run(plugin(this.plugin), this.env(command, containerId, netns), JSON.stringify(conf));
  }

  save(name: string): void {
    const to = path.join(this.node.dir, 'saved', name);
    fs.rmSync(to, { recursive: true, force: true });
    fs.mkdirSync(to, { recursive: true });
    for (const d of MUTABLE) {
      const from = path.join(this.node.dir, d);
      if (fs.existsSync(from)) copyTree(from, path.join(to, d), (name) => !SNAPSHOT_SKIP.has(name));
    }
  }

  restore(name: string): void {
    const from = path.join(this.node.dir, 'saved', name);
    for (const d of MUTABLE) {
      fs.rmSync(path.join(this.node.dir, d), { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
      if (fs.existsSync(path.join(from, d))) copyTree(path.join(from, d), path.join(this.node.dir, d));
    }
  }

  /**
   * The pod's endpoints in HNS (by name, `<containerId>_<network>`), asked of the emulated service
   * as a plugin asks it (lock-free reads; a crashed call is finished first under the state lock,
   * whose stale holders are recognised). EmulatorAdmin.readState is not used here: it waits for
   * the state lock without breaking a stale one.
   */
  async podEndpoints(containerId: string): Promise<string[]> {
    const client = new HnsClient(createEmulatorApi({ dir: this.node.emulatorDir }));
    try {
      return (await client.listEndpoints({ Name: `${containerId}_${this.network}` })).map((e) => e.Name ?? '');
    } finally {
      await client.close();
    }
  }

  /** Address files of the IPAM that name the container (builtin claims or host-local's files). */
  heldAddresses(containerId: string): string[] {
    return heldIn(this.ipamDir(), containerId);
  }

  /** The plugin's attachment record of the pod, if its file exists. */
  recordExists(containerId: string): boolean {
    return fs.existsSync(path.join(this.node.stateDir, 'attachments', this.network, `${containerId}.json`));
  }

  /** Temporary files (`*.tmp`) anywhere on the node but the saved copies: a writer's leftovers. */
  temporaries(): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
      for (const e of fs.readdirSync(path.join(this.node.dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (!rel && (e.name === 'saved' || e.name === 'bin')) continue;
        if (e.isDirectory()) walk(r);
        else if (e.name.endsWith('.tmp')) out.push(r);
      }
    };
    walk('');
    return out.sort();
  }

  logTail(lines = 12): string {
    try {
      return fs.readFileSync(this.node.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  cleanup(): void {
    this.node.cleanup();
  }
}

const DIST_BIN = path.join(ROOT, 'dist', 'linux-x64');

/**
 * Copies a tree keeping modes and hard links (fs.cpSync makes two files of two links, and the
 * built-in IPAM proves a claim is its own by its marker being the same file).
 */
export function copyTree(from: string, to: string, keep: (name: string) => boolean = () => true, links = new Map<string, string>()): void {
  const st = fs.lstatSync(from);
  fs.mkdirSync(to, { mode: st.mode & 0o7777 });
  fs.chmodSync(to, st.mode & 0o7777);
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    if (!keep(e.name)) continue;
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) copyTree(src, dst, keep, links);
    else if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else {
      const s = fs.lstatSync(src);
      const key = `${s.dev}:${s.ino}`;
      const first = s.nlink > 1 ? links.get(key) : undefined;
      if (first) fs.linkSync(first, dst);
      else {
        fs.copyFileSync(src, dst);
        fs.chmodSync(dst, s.mode & 0o7777);
        if (s.nlink > 1) links.set(key, dst);
      }
    }
  }
}

/** Files named by an IP address (host-local's and the built-in allocator's format) whose owner is the container. */
export function heldIn(dir: string, containerId: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (!/^[0-9a-f.:_]+$/i.test(n) || !/\d/.test(n) || n.startsWith('.')) continue;
    let text = '';
    try {
      text = fs.readFileSync(path.join(dir, n), 'utf8');
    } catch {
      continue;
    }
    if (text.split(/\r?\n/)[0]?.trim() === containerId) out.push(n);
  }
  return out;
}

export { describe };
