// A scratch "node" for tests that run the built executables: its own HNS emulator state, plugin
// state, log file and CNI_PATH, in a temporary directory removed afterwards.

import { spawnSync } from 'node:child_process';
import { execPlugin } from '../../conformance/runtime/libcni';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist', 'linux-x64');
export const TOOLS = path.join(ROOT, 'dist', 'test-tools', 'linux-x64');
export const PLUGINS = ['win-l2bridge', 'win-overlay', 'host-gateway', 'l3-upstream'] as const;
export type PluginName = (typeof PLUGINS)[number];

/** Debian's containernetworking-plugins puts the reference plugins here. */
export const DEBIAN_CNI_DIR = '/usr/lib/cni';

export interface ScratchNode {
  dir: string;
  emulatorDir: string;
  stateDir: string;
  logFile: string;
  /** A CNI_PATH directory holding links to our plugins (and whatever a test adds). */
  binDir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function scratchNode(prefix = 'cni-node-'): ScratchNode {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const emulatorDir = path.join(dir, 'hns');
  const stateDir = path.join(dir, 'state');
  const binDir = path.join(dir, 'bin');
  const logFile = path.join(dir, 'log', 'cni.log');
  fs.mkdirSync(binDir, { recursive: true });
  for (const p of [...PLUGINS, 'hnsctl']) {
    const src = path.join(DIST, p);
    if (fs.existsSync(src)) fs.symlinkSync(src, path.join(binDir, p));
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    CNI_HNS_BACKEND: 'emulator',
    CNI_HNS_EMULATOR_DIR: emulatorDir,
    CNI_STATE_DIR: stateDir,
    CNI_LOG_FILE: logFile,
  };
  return { dir, emulatorDir, stateDir, logFile, binDir, env, cleanup: () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }) };
}

/** The management IP the scratch nodes' emulated HNS gives its networks. */
export const MANAGEMENT_IP = '192.168.10.21';

/**
 * A scratch node as the plugin's node setup leaves it: the emulated HNS with management IP
 * MANAGEMENT_IP, and plugins/<p>/examples/node-network.json applied with hnsctl.
 */
export function exampleNode(p: PluginName, prefix = 'cni-example-'): ScratchNode {
  const node = scratchNode(prefix);
  try {
    emulatorAdmin(node.emulatorDir).setConfig({ managementIp: MANAGEMENT_IP });
    const applied = runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', p, 'examples', 'node-network.json')]);
    if (applied.code !== 0) throw new Error(`hnsctl apply of ${p}'s node-network.json exited ${applied.code}: ${applied.stderr}`);
    return node;
  } catch (err) {
    node.cleanup();
    throw err;
  }
}

/** A new HNS namespace on the node (what containerd makes for each pod sandbox): its ID. */
export function newNamespace(node: ScratchNode): string {
  const r = runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']);
  if (r.code !== 0) throw new Error(`hnsctl namespace create exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json?: any;
}

function parse(stdout: string): any {
  try {
    return stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs an executable as a runtime does: env, stdin, no arguments. */
export function runExe(file: string, env: NodeJS.ProcessEnv, stdin = '', args: string[] = []): ExecResult {
  const r = spawnSync(file, args, { env, input: stdin, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', json: parse(r.stdout ?? '') };
}

export async function runExeAsync(file: string, env: NodeJS.ProcessEnv, stdin = ''): Promise<ExecResult> {
  const out = await execPlugin(file, env, stdin);
  return { ...out, json: parse(out.stdout) };
}

export function plugin(name: PluginName | 'hnsctl'): string {
  return path.join(DIST, name);
}

export interface CniCall {
  command: string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  path?: string;
  extra?: Record<string, string>;
}

/** The CNI_* environment of one call, as libcni builds it (empty strings where not applicable). */
export function cniEnv(node: ScratchNode, c: CniCall): NodeJS.ProcessEnv {
  const gcLike = c.command === 'GC' || c.command === 'STATUS';
  return {
    ...node.env,
    CNI_COMMAND: c.command,
    CNI_CONTAINERID: c.containerId ?? (gcLike ? '' : 'ctr-a1'),
    CNI_NETNS: c.netns ?? '',
    CNI_IFNAME: c.ifName ?? (gcLike ? '' : 'eth0'),
    CNI_ARGS: c.args ?? (gcLike ? '' : `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=${c.containerId ?? 'ctr-a1'};K8S_POD_UID=u1`),
    CNI_PATH: c.path ?? node.binDir,
    ...c.extra,
  };
}
