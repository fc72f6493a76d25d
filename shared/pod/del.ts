// DEL: take the pod's endpoint out of its namespace and delete it. Every step is tried even when
// one fails; what is already gone counts as done (containerd may have deleted the namespace
// first, the runtime may DEL twice); the error lists everything that could not be removed.

import { CniError, ErrorCode } from '../cni/errors';
import { isNotFound } from '../hns/errors';
import type { HostComputeEndpoint } from '../hns/model/endpoint';
import { hnsFailure, type PodContext } from './context';
import { endpointName, type PodRef } from './identity';
import { readRecord, removeRecord } from './records';
import { errorText } from '../log/logger';

export interface DeleteOutcome {
  /** IDs of the endpoints removed. */
  removed: string[];
  /** Set when the attachment belongs to another CNI_IFNAME: nothing of ours was touched. */
  otherInterface?: string;
}

export async function deletePodEndpoint(ctx: PodContext, ref: PodRef): Promise<DeleteOutcome> {
  const record = readRecord(ctx.stateDir, ref.network, ref.containerId, ctx.log);
  if (record && record.ifName !== ref.ifName) {
    ctx.log.event('del-other-interface', { recordedIfName: record.ifName });
    return { removed: [], otherInterface: record.ifName };
  }
  const name = endpointName(ref.containerId, ref.network);
  const endpoints = await ctx.log.step('find-endpoints', () => ctx.client.listEndpoints({ Name: name }), (e) => ({ found: e.length }))
    .catch((err) => { throw hnsFailure(`looking up endpoint ${name}`, err); });
  const failures: string[] = [];
  const removed: string[] = [];
  for (const ep of endpoints) {
    const problems = await removeEndpoint(ctx, ep);
    if (problems.length === 0) removed.push(ep.ID!);
    failures.push(...problems);
  }
  if (failures.length > 0) {
    throw new CniError(ErrorCode.CleanupFailed, `could not remove everything of container ${ref.containerId} on network ${ref.network}: ${failures.join('; ')}`, 'a later DEL retries what is left');
  }
  removeRecord(ctx.stateDir, ref.network, ref.containerId);
  return { removed };
}

/** Detaches and deletes one endpoint, returning what failed (not-found is success). */
export async function removeEndpoint(ctx: PodContext, ep: HostComputeEndpoint): Promise<string[]> {
  const problems: string[] = [];
  const id = ep.ID!;
  if (ep.HostComputeNamespace) {
    const ns = ep.HostComputeNamespace;
    try {
      await ctx.log.step('detach-namespace', () => ctx.client.removeNamespaceEndpoint(ns, id), { endpointId: id, namespace: ns });
    } catch (err) {
      if (!isNotFound(err)) problems.push(`detaching endpoint ${id} from namespace ${ns}: ${errorText(err)}`);
    }
  }
  try {
    await ctx.log.step('delete-endpoint', () => ctx.client.deleteEndpoint(id), { endpointId: id });
  } catch (err) {
    if (!isNotFound(err)) problems.push(`deleting endpoint ${id}: ${errorText(err)}`);
  }
  return problems;
}
