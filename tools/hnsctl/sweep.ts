// hnsctl sweep: pod endpoints of ours whose pod is gone (its namespace is gone or it never had
// one, or it is not in a valid-attachments list), listed, and with --delete removed. An endpoint
// is ours only if it carries our Owner mark (POD_ENDPOINT_OWNER, set at create): a
// `<containerID>_<network>` name alone is what every Windows plugin uses, so an endpoint without
// the mark is never touched, whatever its name.
//
// With the network's conf (--conf), a swept pod is removed by the plugin's own DEL, run in this
// process: the one path that releases the endpoint, the per-pod record and the address claim
// (built-in or delegated IPAM) together, under the pod's lock, as the runtime's DEL would have.
// Without it, sweep can remove the endpoint and the record but not the claim, and says so.

import type { HnsClient } from '../../shared/hns/client';
import { isNotFound } from '../../shared/hns/errors';
import { EndpointFlags } from '../../shared/hns/model/endpoint';
import { POD_ENDPOINT_OWNER } from '../../shared/pod/identity';
import { readRecord, removeRecord } from '../../shared/pod/records';
import { listPods, type PodEndpoint } from './cli';
import { cell, table } from './table';

/** One network's conf of one of our plugins, as libcni hands it to the plugin (stdin). */
export interface NetworkConf {
  type: string;
  stdin: string;
}

/** Runs one of the suite's plugins for a CNI DEL in this process; stdout is its error object if code is not 0. */
export type RunDel = (type: string, stdin: string, env: Record<string, string>) => Promise<{ code: number; stdout: string }>;

export interface SweepOptions {
  delete: boolean;
  /** Container IDs the runtime still runs (CNI GC's cni.dev/valid-attachments, or plain IDs). */
  valid?: Set<string>;
  stateDir?: string;
  /** Our plugins' confs by network name (--conf). */
  confs?: Map<string, NetworkConf>;
  runDel?: RunDel;
}

export interface SweptPod extends PodEndpoint {
  why: string;
  /** What --delete did. */
  action?: string;
  deleted?: boolean;
  /** The address claim was released (by the plugin's DEL). */
  released?: boolean;
  error?: string;
}

export interface SweepOutcome {
  swept: SweptPod[];
  /** Pod-named endpoints without our mark (another plugin's, or made before the mark): left alone. */
  foreign: number;
  failed: number;
}

/** The valid-attachments list: `["<id>", ...]`, `[{"containerID": "<id>", "ifname": ...}, ...]`, or a GC request's object holding it. */
export function parseValidList(text: string, file: string): Set<string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`sweep: ${file} is not JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { 'cni.dev/valid-attachments'?: unknown })?.['cni.dev/valid-attachments'];
  if (!Array.isArray(list)) throw new Error(`sweep: ${file} must be a JSON array of container IDs or of {"containerID": ...} (cni.dev/valid-attachments)`);
  return new Set(list.map((v, i) => {
    const id = typeof v === 'string' ? v : (v as { containerID?: unknown })?.containerID;
    if (typeof id !== 'string' || !id) throw new Error(`sweep: ${file}[${i}] has no containerID`);
    return id;
  }));
}

/**
 * The networks a .conflist or .conf file configures with one of `ours` (plugin types), each as
 * libcni builds the plugin's stdin: the list's cniVersion and name put into the plugin's entry.
 */
export function parseConfFile(text: string, file: string, ours: ReadonlySet<string>): Map<string, NetworkConf> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`sweep: ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || typeof doc.name !== 'string' || !doc.name) throw new Error(`sweep: ${file} is not a CNI network configuration (no "name")`);
  const entries = Array.isArray(doc.plugins) ? doc.plugins as Record<string, unknown>[] : [doc];
  const out = new Map<string, NetworkConf>();
  for (const entry of entries) {
    if (!entry || typeof entry !== 'object' || typeof entry.type !== 'string' || !ours.has(entry.type)) continue;
    out.set(doc.name, { type: entry.type, stdin: JSON.stringify({ ...entry, cniVersion: doc.cniVersion, name: doc.name }) });
  }
  if (out.size === 0) throw new Error(`sweep: ${file} configures none of this suite's plugins (${[...ours].join(', ')})`);
  return out;
}

export async function sweep(client: HnsClient, opts: SweepOptions): Promise<SweepOutcome> {
  const [pods, eps] = await Promise.all([listPods(client), client.listEndpoints()]);
  const byId = new Map(eps.map((e) => [e.ID!.toUpperCase(), e]));
  const swept: SweptPod[] = [];
  let foreign = 0;
  for (const pod of pods) {
    const ep = byId.get(pod.endpointId.toUpperCase());
    if (!ep || ep.Owner !== POD_ENDPOINT_OWNER || ((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0) {
      foreign++;
      continue;
    }
    const why = pod.orphaned ? pod.reason! : opts.valid && !opts.valid.has(pod.containerId) ? 'not in the valid list' : undefined;
    if (why) swept.push({ ...pod, why });
  }
  let failed = 0;
  if (opts.delete) {
    for (const pod of swept) {
      try {
        await removePod(client, pod, opts);
      } catch (err) {
        pod.error = (err as Error).message;
        failed++;
      }
    }
  }
  return { swept, foreign, failed };
}

async function removePod(client: HnsClient, pod: SweptPod, opts: SweepOptions): Promise<void> {
  const conf = opts.confs?.get(pod.network);
  if (conf && opts.runDel) {
    const record = opts.stateDir ? readRecord(opts.stateDir, pod.network, pod.containerId) : undefined;
    const env = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: pod.containerId, CNI_IFNAME: record?.ifName ?? 'eth0', CNI_NETNS: record?.netns ?? pod.namespace ?? '' };
    const { code, stdout } = await opts.runDel(conf.type, conf.stdin, env);
    if (code !== 0) throw new Error(`${conf.type} DEL of ${pod.containerId} failed: ${delError(stdout)}`);
    Object.assign(pod, { deleted: true, released: true, action: `removed by ${conf.type} DEL (endpoint, record and address)` });
    return;
  }
  await client.deleteEndpoint(pod.endpointId).catch((err) => {
    if (!isNotFound(err)) throw new Error(`deleting endpoint ${pod.endpointName} (${pod.endpointId}): ${(err as Error).message}`);
  });
  if (opts.stateDir) removeRecord(opts.stateDir, pod.network, pod.containerId);
  Object.assign(pod, { deleted: true, released: false, action: `endpoint and record removed; address claim kept (give --conf for network ${pod.network} to release it)` });
}

function delError(stdout: string): string {
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    return `code ${e.code}: ${e.msg}${e.details ? ` (${e.details})` : ''}`;
  } catch {
    return stdout.trim() || 'no error object';
  }
}

export async function sweepCommand(client: HnsClient, opts: SweepOptions, asJson: boolean, out: (t: string) => void): Promise<void> {
  const outcome = await sweep(client, opts);
  const { swept, foreign, failed } = outcome;
  if (asJson) out(`${JSON.stringify({ swept, untouchedForeign: foreign, failed }, null, 2)}\n`);
  else {
    const rows = swept.map((p) => [p.containerId, p.network, cell(p.ips.join(',')), p.endpointId, p.why, p.error ? `FAILED: ${p.error}` : p.action ?? 'would delete']);
    out(table(['CONTAINER', 'NETWORK', 'IP', 'ENDPOINT', 'WHY', 'ACTION'], rows));
    out(`${swept.length} pod endpoint(s) of ours ${opts.delete ? `swept, ${failed} failed` : 'to sweep (run with --delete)'}; ${foreign} pod-named endpoint(s) not provably ours left alone\n`);
  }
  if (failed > 0) throw new SweepFailed(`${failed} of ${swept.length} pod(s) could not be swept`);
}

/** Some pods could not be removed: reported per pod above; the exit code says so too. */
export class SweepFailed extends Error {}
