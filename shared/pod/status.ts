// STATUS: can ADD succeed now? The service answers and the network exists with the mode's type.
// Read-only. 50 = cannot serve ADD; 51 = and pods already on this network are affected.

import { CniError, ErrorCode } from '../cni/errors';
import { isNotFound } from '../hns/errors';
import type { HostComputeNetwork, NetworkMode } from '../hns/model/network';
import type { PodContext } from './context';
import { networkMode } from './add';
import { listRecords } from './records';
import { errorText } from '../log/logger';

export async function networkStatus(ctx: PodContext, network: string, types: readonly NetworkMode[]): Promise<HostComputeNetwork> {
  const pods = listRecords(ctx.stateDir, network).length;
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
  return net;
}
