// A runtime that calls CNI plugins the way containerd does through libcni (cni-spec.md §7):
// conflists (and single-plugin .conf files) loaded and versioned as libcni does, requests built
// with the list's name and version, runtimeConfig from the declared capabilities, keys sorted
// (libcni re-marshals a map), ADD results cached and handed back as prevResult to CHECK and
// DEL, DEL in reverse order, GC with both attachment keys. Plugins are found on CNI_PATH.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../shared/schema/canonical';

export const LIBCNI_MAX_VERSION = '1.1.0';

export interface ConfList {
  cniVersion?: string;
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean | string;
  disableGC?: boolean | string;
  plugins: Record<string, unknown>[];
}

/** A conflist file, or a single-plugin .conf wrapped into a one-plugin list (what libcni still does). CRLF is fine. */
export function loadConfList(file: string): ConfList {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (Array.isArray(doc.plugins)) {
    if (doc.plugins.length === 0) throw new Error(`${file}: "plugins" is empty`);
    return doc as unknown as ConfList;
  }
  if (typeof doc.type !== 'string') throw new Error(`${file}: neither a conflist nor a plugin conf`);
  return { cniVersion: doc.cniVersion as string | undefined, name: doc.name as string, plugins: [doc] };
}

function versionTuple(v: string): number[] {
  return v.split('.').map((n) => Number(n));
}

function cmp(a: string, b: string): number {
  const x = versionTuple(a);
  const y = versionTuple(b);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** The version every plugin of the list gets: the highest of cniVersions ∪ {cniVersion} libcni knows. */
export function listVersion(list: ConfList): string {
  if (!list.cniVersions?.length) return list.cniVersion ?? '';
  const all = [...list.cniVersions, ...(list.cniVersion ? [list.cniVersion] : [])].filter((v) => cmp(v, LIBCNI_MAX_VERSION) <= 0);
  return all.sort(cmp).at(-1) ?? list.cniVersion ?? '';
}

/** libcni re-marshals the request from a map: keys sorted at every level. */
export const sortedJson = canonicalJson;

export interface RuntimeAttachment {
  containerId: string;
  ifName: string;
  netns: string;
  /** CNI_ARGS pairs. */
  args?: [string, string][];
  /** Capability data: portMappings, dns, io.kubernetes.cri.pod-annotations, ... */
  capabilityArgs?: Record<string, unknown>;
}

export interface RequestOptions {
  prevResult?: unknown;
  capabilityArgs?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  version?: string;
}

/** The stdin of one plugin of the list. */
export function buildRequest(list: ConfList, plugin: Record<string, unknown>, opts: RequestOptions = {}): string {
  const req: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: opts.version ?? listVersion(list) };
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const rc: Record<string, unknown> = {};
  for (const [cap, on] of Object.entries(caps)) if (on && opts.capabilityArgs && cap in opts.capabilityArgs) rc[cap] = opts.capabilityArgs[cap];
  if (Object.keys(rc).length) req.runtimeConfig = rc;
  if (opts.prevResult !== undefined) req.prevResult = opts.prevResult;
  Object.assign(req, opts.extra ?? {});
  return sortedJson(req);
}

export interface ExecOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Runtime {
  /** Directories of CNI_PATH, in order. */
  binDirs: string[];
  /** The environment every plugin inherits (backend selection, state dirs, ...). */
  env: NodeJS.ProcessEnv;
  /** Where ADD results are cached for CHECK and DEL (libcni's cacheDir). */
  cacheDir: string;
  platform?: NodeJS.Platform;
}

export function findPluginBinary(rt: Runtime, type: string): string {
  const win = (rt.platform ?? process.platform) === 'win32';
  for (const dir of rt.binDirs) {
    for (const name of win ? [`${type}.exe`, type] : [type]) {
      const file = path.join(dir, name);
      if (fs.existsSync(file) && fs.statSync(file).isFile()) return file;
    }
  }
  throw new Error(`failed to find plugin "${type}" in path [${rt.binDirs.join(' ')}]`);
}

export function execPlugin(file: string, env: NodeJS.ProcessEnv, stdin: string): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

export function cniEnvironment(rt: Runtime, command: string, a?: RuntimeAttachment): NodeJS.ProcessEnv {
  const sep = (rt.platform ?? process.platform) === 'win32' ? ';' : ':';
  return {
    ...rt.env,
    CNI_COMMAND: command,
    CNI_CONTAINERID: a?.containerId ?? '',
    CNI_NETNS: a?.netns ?? '',
    CNI_IFNAME: a?.ifName ?? '',
    CNI_ARGS: (a?.args ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: rt.binDirs.join(sep),
  };
}

export class PluginError extends Error {
  constructor(readonly plugin: string, readonly verb: string, readonly outcome: ExecOutcome, readonly error?: { code: number; msg: string; details?: string }) {
    super(`plugin type="${plugin}" failed (${verb}): ${error ? `${error.msg}${error.details ? `; ${error.details}` : ''}` : outcome.stderr.trim() || 'netplugin failed with no error message'}`);
  }
}

function decodeError(out: ExecOutcome): { code: number; msg: string; details?: string } | undefined {
  try {
    const e = JSON.parse(out.stdout) as { code?: number; msg?: string; details?: string };
    return typeof e.code === 'number' ? { code: e.code, msg: e.msg ?? '', details: e.details } : undefined;
  } catch {
    return undefined;
  }
}

function cacheFile(rt: Runtime, list: ConfList, a: RuntimeAttachment): string {
  return path.join(rt.cacheDir, 'results', `${list.name}-${a.containerId}-${a.ifName}`);
}

export function cachedResult(rt: Runtime, list: ConfList, a: RuntimeAttachment): unknown {
  try {
    return (JSON.parse(fs.readFileSync(cacheFile(rt, list, a), 'utf8')) as { result: unknown }).result;
  } catch {
    return undefined;
  }
}

async function invoke(rt: Runtime, list: ConfList, plugin: Record<string, unknown>, verb: string, a: RuntimeAttachment | undefined, opts: RequestOptions): Promise<ExecOutcome> {
  const type = String(plugin.type);
  const file = findPluginBinary(rt, type);
  const out = await execPlugin(file, cniEnvironment(rt, verb, a), buildRequest(list, plugin, opts));
  if (out.code !== 0) throw new PluginError(type, verb, out, decodeError(out));
  return out;
}

export async function addNetworkList(rt: Runtime, list: ConfList, a: RuntimeAttachment): Promise<unknown> {
  let prev: unknown;
  for (const plugin of list.plugins) {
    const out = await invoke(rt, list, plugin, 'ADD', a, { prevResult: prev, capabilityArgs: a.capabilityArgs });
    prev = JSON.parse(out.stdout);
  }
  fs.mkdirSync(path.join(rt.cacheDir, 'results'), { recursive: true, mode: 0o700 });
  fs.writeFileSync(cacheFile(rt, list, a), JSON.stringify({ kind: 'cniCacheV1', containerId: a.containerId, ifName: a.ifName, networkName: list.name, netns: a.netns, result: prev }), { mode: 0o600 });
  return prev;
}

export async function checkNetworkList(rt: Runtime, list: ConfList, a: RuntimeAttachment): Promise<void> {
  const version = listVersion(list);
  if (cmp(version || '0.1.0', '0.4.0') < 0) throw new Error(`configuration version "${version}" does not support the CHECK command`);
  if (list.disableCheck === true || String(list.disableCheck).toLowerCase() === 'true') return;
  const prev = cachedResult(rt, list, a);
  for (const plugin of list.plugins) await invoke(rt, list, plugin, 'CHECK', a, { prevResult: prev, capabilityArgs: a.capabilityArgs });
}

export async function delNetworkList(rt: Runtime, list: ConfList, a: RuntimeAttachment): Promise<void> {
  const version = listVersion(list);
  const prev = cmp(version || '0.1.0', '0.4.0') >= 0 ? cachedResult(rt, list, a) : undefined;
  for (const plugin of [...list.plugins].reverse()) await invoke(rt, list, plugin, 'DEL', a, { prevResult: prev, capabilityArgs: a.capabilityArgs });
  fs.rmSync(cacheFile(rt, list, a), { force: true });
}

export async function gcNetworkList(rt: Runtime, list: ConfList, valid: { containerID: string; ifname: string }[] | null): Promise<void> {
  if (cmp(listVersion(list) || '0.1.0', '1.1.0') < 0) return;
  for (const plugin of list.plugins) {
    await invoke(rt, list, plugin, 'GC', undefined, { extra: { 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid } });
  }
}

export async function statusNetworkList(rt: Runtime, list: ConfList): Promise<void> {
  if (cmp(listVersion(list) || '0.1.0', '1.1.0') < 0) return;
  for (const plugin of list.plugins) await invoke(rt, list, plugin, 'STATUS', undefined, {});
}
