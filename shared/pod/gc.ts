// GC: delete this network's pod endpoints whose attachment the runtime no longer lists, and
// nothing else: not other networks' endpoints, not host or remote endpoints, not endpoints
// someone else named. Keeps going after a failure and reports them all.

import { CniError, ErrorCode } from '../cni/errors';
import { isNotFound } from '../hns/errors';
import { EndpointFlags, type HostComputeEndpoint } from '../hns/model/endpoint';
import { hnsFailure, type PodContext, withPodLock } from './context';
import { LockTimeoutError } from '../sys/lock';
import { containerIdOf } from './identity';
import { listRecords, removeRecord } from './records';
import { removeEndpoint } from './del';

export interface Attachment {
  containerId: string;
  ifName: string;
}

/**
 * An endpoint with our name but no record was made by an earlier plugin (win-bridge, before the
 * conflist changed type) or its record was lost: containerd makes one attachment per network,
 * on eth0, so that is what it is taken to be.
 */
const UNRECORDED_IFNAME = 'eth0';

const GC_LOCK_WAIT_MS = 2_000;

export interface GcOutcome {
  /** Attachments removed (endpoint and record). */
  removed: Attachment[];
}

export async function collectGarbage(ctx: PodContext, network: string, valid: Attachment[]): Promise<GcOutcome> {
  const keep = new Set(valid.map((a) => `${a.containerId}\u0000${a.ifName}`));
  const isValid = (a: Attachment) => keep.has(`${a.containerId}\u0000${a.ifName}`);
  const records = new Map(listRecords(ctx.stateDir, network).map((r) => [r.containerId, r]));
  const endpoints = await ourEndpoints(ctx, network);
  const removed: Attachment[] = [];
  const failures: string[] = [];
  for (const [containerId, ep] of endpoints) {
    const attachment = { containerId, ifName: records.get(containerId)?.ifName ?? UNRECORDED_IFNAME };
    if (isValid(attachment)) continue;
    // Under the pod's own lock: a runtime that breaks the rule and runs GC beside an ADD or DEL
    // of this pod must not have the two interleave. A pod busy right now is left for the next GC.
    const problems = await withPodLock(ctx, containerId, () => removeEndpoint(ctx, ep), GC_LOCK_WAIT_MS).catch((err) => {
      if (err instanceof LockTimeoutError) return [];
      throw err;
    });
    failures.push(...problems);
    if (problems.length === 0) {
      removeRecord(ctx.stateDir, network, containerId);
      removed.push(attachment);
    }
  }
  // Records whose endpoint is already gone (a DEL that never came, a reboot).
  for (const r of records.values()) {
    if (endpoints.has(r.containerId) || isValid(r)) continue;
    removeRecord(ctx.stateDir, network, r.containerId);
    removed.push({ containerId: r.containerId, ifName: r.ifName });
  }
  ctx.log.event('gc', { removed: removed.length, failures: failures.length });
  if (failures.length > 0) throw new CniError(ErrorCode.CleanupFailed, `GC could not remove everything stale on network ${network}: ${failures.join('; ')}`);
  return { removed };
}

/** This network's local pod endpoints named `<containerId>_<network>`, by container ID. */
async function ourEndpoints(ctx: PodContext, network: string): Promise<Map<string, HostComputeEndpoint>> {
  let netId: string | undefined;
  try {
    netId = (await ctx.client.getNetworkByName(network)).ID;
  } catch (err) {
    if (isNotFound(err)) return new Map(); // the network, and so its endpoints, is gone
    throw hnsFailure(`looking up HNS network "${network}"`, err);
  }
  const all = await ctx.client.listEndpointsOfNetwork(netId!).catch((err) => { throw hnsFailure(`listing endpoints of network ${network}`, err); });
  const out = new Map<string, HostComputeEndpoint>();
  for (const ep of all) {
    if (((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0) continue;
    const id = containerIdOf(ep.Name, network);
    if (id) out.set(id, ep);
  }
  return out;
}
