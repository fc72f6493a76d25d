// cni-agent's configuration: one JSON file checked by agent.schema.json (precompiled like the
// plugins' schemas) before anything is done, with errors that name the key, then completed with
// the defaults. Unlike a conflist, the file is ours: keys are matched exactly and an unknown key
// is refused, since a misspelt key in a long-running agent would go unnoticed for months.

import path from 'node:path';
import { validate } from './agent.validator';
import { describeSchemaError, errorKey } from '../schema/validator';
import { asList } from './types';
import { defaultLogFile, stateDir } from '../sys/paths';

export type AgentMode = 'win-l2bridge' | 'host-gateway' | 'l3-upstream' | 'win-overlay';

export type PeerSource = { source: 'kubernetes'; kubeconfig?: string } | { source: 'file'; file: string };

/** The file as written (the schema's shape). */
export interface AgentConfigFile {
  mode: AgentMode;
  network: string;
  node?: string;
  podCIDR?: string | string[];
  nodeIP?: string | string[];
  netAdapter?: string;
  clusterCIDR: string | string[];
  serviceCIDR: string | string[];
  clusterDNS?: string | string[];
  clusterDomain?: string;
  noSnatCIDRs?: string[];
  reservedIPs?: string[];
  ipam?: 'builtin' | 'host-local';
  mtu?: number;
  vni?: number;
  vxlanPort?: number;
  binDir?: string;
  confDir: string;
  conflistName?: string;
  cniVersion?: string;
  peers: PeerSource;
  flannel?: { annotationPrefix?: string; publish?: boolean };
  stateDir?: string;
  logFile?: string;
  logStderr?: boolean;
  listen?: string;
  reconcileSeconds?: number;
  resyncSeconds?: number;
  networkWaitSeconds?: number;
  hnsTimeoutSeconds?: number;
}

/** The configuration with every default filled in and every "one or two" key as a list. */
export interface AgentConfig {
  mode: AgentMode;
  network: string;
  node: string;
  podCIDRs: string[];
  nodeIPs: string[];
  netAdapter?: string;
  clusterCIDRs: string[];
  serviceCIDRs: string[];
  clusterDNS: string[];
  clusterDomain: string;
  noSnatCIDRs: string[];
  reservedIPs: string[];
  ipam: 'builtin' | 'host-local';
  mtu?: number;
  vni: number;
  vxlanPort: number;
  binDir?: string;
  confDir: string;
  conflistName: string;
  cniVersion: string;
  peers: PeerSource;
  flannel: { annotationPrefix: string; publish: boolean };
  stateDir: string;
  logFile: string;
  logStderr: boolean;
  listen: { host: string; port: number };
  reconcileMs: number;
  resyncMs: number;
  networkWaitMs: number;
  hnsTimeoutMs: number;
}

/** The configuration cannot be used; `key` names the offending key (`peers.file`, `vni`, ...). */
export class AgentConfigError extends Error {
  constructor(readonly file: string, readonly key: string | undefined, message: string) {
    super(message);
    this.name = 'AgentConfigError';
  }
}

export const DEFAULT_LISTEN = '127.0.0.1:9925';

function parseListen(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const host = text.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(text.slice(i + 1)) };
}

/** Checks what the schema cannot say (a mode's needs, one key against another). */
function crossChecks(file: string, c: AgentConfigFile): void {
  const fail = (key: string, why: string): never => {
    throw new AgentConfigError(file, key, `${file}: key "${key}" ${why}`);
  };
  if (c.peers.source === 'file') {
    if (c.podCIDR === undefined) fail('podCIDR', 'is required with the file peer source (no Node object gives it)');
    if (c.nodeIP === undefined) fail('nodeIP', 'is required with the file peer source (no Node object gives it)');
  }
  if (c.mode === 'win-overlay') {
    if (asList(c.podCIDR).some((p) => p.includes(':'))) fail('podCIDR', 'must be IPv4 in win-overlay mode (HNS overlay networks are IPv4 only)');
  } else {
    for (const k of ['vni', 'vxlanPort'] as const) if (c[k] !== undefined) fail(k, `applies to win-overlay only, not to mode ${c.mode}`);
  }
  const port = parseListen(c.listen ?? DEFAULT_LISTEN).port;
  if (port > 65535) fail('listen', `has port ${port}, above 65535`);
}

/** What the command line may set instead of the file. */
export interface AgentOverrides {
  /** `--node`: a DaemonSet passes spec.nodeName from the downward API. */
  node?: string;
}

/** Parses and checks a configuration file's text; `file` names it in errors. */
export function parseAgentConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, overrides: AgentOverrides = {}): AgentConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new AgentConfigError(file, undefined, `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    if (!e) throw new AgentConfigError(file, undefined, `${file}: invalid configuration`);
    // `false` schemas say a key belongs to the other peer source.
    const sentence = e.keyword === 'false schema' ? `key "${errorKey(e)}" does not go with this peer source` : describeSchemaError(e, doc);
    throw new AgentConfigError(file, errorKey(e) || undefined, `${file}: ${sentence} (tools/cni-agent/README.md lists every key)`);
  }
  const c = doc as AgentConfigFile;
  if (overrides.node) c.node = overrides.node;
  if (!c.node) throw new AgentConfigError(file, 'node', `${file}: key "node" is required (or --node <name>)`);
  crossChecks(file, c);
  const base = path.dirname(path.resolve(file));
  const abs = (p: string) => (path.isAbsolute(p) || path.win32.isAbsolute(p) ? p : path.resolve(base, p));
  const logFile = c.logFile ? abs(c.logFile) : path.join(path.dirname(defaultLogFile(env, platform)), 'cni-agent.log');
  return {
    mode: c.mode,
    network: c.network,
    // Node names are lower case; the kubelet lower-cases a Windows host name (WIN-NODE1) into one.
    node: c.node!.toLowerCase(),
    podCIDRs: asList(c.podCIDR),
    nodeIPs: asList(c.nodeIP),
    ...(c.netAdapter ? { netAdapter: c.netAdapter } : {}),
    clusterCIDRs: asList(c.clusterCIDR),
    serviceCIDRs: asList(c.serviceCIDR),
    clusterDNS: asList(c.clusterDNS),
    clusterDomain: c.clusterDomain ?? 'cluster.local',
    noSnatCIDRs: c.noSnatCIDRs ?? [],
    reservedIPs: c.reservedIPs ?? [],
    ipam: c.ipam ?? 'builtin',
    ...(c.mtu !== undefined ? { mtu: c.mtu } : {}),
    vni: c.vni ?? 4096,
    vxlanPort: c.vxlanPort ?? 4789,
    ...(c.binDir ? { binDir: abs(c.binDir) } : {}),
    confDir: abs(c.confDir),
    conflistName: c.conflistName ?? `10-${c.network}.conflist`,
    cniVersion: c.cniVersion ?? '1.0.0',
    peers: c.peers.source === 'file' ? { source: 'file', file: abs(c.peers.file) } : { source: 'kubernetes', ...(c.peers.kubeconfig ? { kubeconfig: abs(c.peers.kubeconfig) } : {}) },
    flannel: { annotationPrefix: c.flannel?.annotationPrefix ?? 'flannel.alpha.coreos.com', publish: c.flannel?.publish ?? true },
    stateDir: c.stateDir ? abs(c.stateDir) : path.join(stateDir(env, platform), 'agent'),
    logFile,
    logStderr: c.logStderr ?? false,
    listen: parseListen(c.listen ?? DEFAULT_LISTEN),
    reconcileMs: Math.round((c.reconcileSeconds ?? 10) * 1000),
    resyncMs: Math.round((c.resyncSeconds ?? 3600) * 1000),
    networkWaitMs: Math.round((c.networkWaitSeconds ?? 45) * 1000),
    hnsTimeoutMs: Math.round((c.hnsTimeoutSeconds ?? 30) * 1000),
  };
}

/** True for the modes whose network is an L2Bridge with the host's bridge endpoint at .2. */
export function isBridged(mode: AgentMode): boolean {
  return mode !== 'win-overlay';
}
