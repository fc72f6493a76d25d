// STATUS: can ADD succeed now? The service answers and the network exists with the mode's type.
// Read-only. 50 = cannot serve ADD; 51 = and pods already on this network are affected.

import { CniError, ErrorCode } from '../cni/errors';
import { isNotFound } from '../hns/errors';
import type { HostComputeNetwork, NetworkMode } from '../hns/model/network';
import type { PodContext } from './context';
import { networkMode } from './add';
import { type AttachmentRecord, listRecords } from './records';
import { endpointName } from './identity';
import { errorText } from '../log/logger';

export async function networkStatus(ctx: PodContext, network: string, types: readonly NetworkMode[]): Promise<HostComputeNetwork> {
  const records = listRecords(ctx.stateDir, network);
  const pods = records.length;
  const unavailable = (msg: string, details?: string) =>
    new CniError(pods > 0 ? ErrorCode.PluginNotAvailableLimitedConnectivity : ErrorCode.PluginNotAvailable, msg, pods > 0 ? `${details ? `${details}; ` : ''}${pods} pod(s) on this node are attached to it` : details);
  let net: HostComputeNetwork;
  try {
    net = await ctx.log.step('status-network', () => ctx.client.getNetworkByName(network));
  } catch (err) {
    if (isNotFound(err)) throw unavailable(`HNS network "${network}" does not exist`, 'it is created by the node setup (or hnsctl apply); pods cannot start until it exists');
    throw unavailable(`the Host Networking Service does not answer: ${errorText(err)}`);
  }
  const mode = networkMode(net);
  if (!types.includes(mode)) throw unavailable(`HNS network "${network}" is of type ${mode}, not ${types.join(' or ')}`);
  await assertNoDrift(ctx, net, records);
  return net;
}

/**
 * HNS is the truth: pods whose recorded endpoint the service no longer has (an HNS restart or a
 * reboot dropped it) have no network, so STATUS reports them (51) until they are re-added or
 * deleted. Records of an ADD still under way (no endpoint yet) are not drift.
 */
async function assertNoDrift(ctx: PodContext, net: HostComputeNetwork, records: AttachmentRecord[]): Promise<void> {
  const attached = records.filter((r) => r.endpointId);
  if (attached.length === 0) return;
  const have = await ctx.log.step('status-endpoints', () => ctx.client.endpointIdsOfNetwork(net.ID!), (ids) => ({ endpoints: ids.length }))
    .catch((err) => { throw new CniError(ErrorCode.PluginNotAvailableLimitedConnectivity, `the Host Networking Service does not answer: ${errorText(err)}`); });
  const key = (id: string) => id.replace(/[{}]/g, '').toUpperCase();
  const present = new Set(have.map(key));
  const missing = attached.filter((r) => !present.has(key(r.endpointId!)));
  if (missing.length === 0) return;
  const named = missing.slice(0, 10).map((r) => `${r.containerId} (endpoint ${endpointName(r.containerId, r.network)} ${r.endpointId})`).join(', ');
  throw new CniError(ErrorCode.PluginNotAvailableLimitedConnectivity, `${missing.length} of ${attached.length} pod(s) on HNS network "${net.Name}" have lost their endpoint: ${named}${missing.length > 10 ? ', ...' : ''}`,
    'HNS dropped them (a service restart or a reboot): the pods have no network until the runtime re-adds or deletes them; hnsctl pods lists them');
}
