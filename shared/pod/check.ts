// CHECK: the attachment is still what ADD made. Read-only; reports the first difference by name.

import { CniError, ErrorCode } from '../cni/errors';
import { isNotFound } from '../hns/errors';
import type { HostComputeEndpoint } from '../hns/model/endpoint';
import type { HostComputeNetwork } from '../hns/model/network';
import type { EndpointPolicy } from '../hns/model/policy';
import { hnsFailure, type PodContext } from './context';
import { endpointName, namespaceGuid, type PodRef, sameGuid } from './identity';
import { readRecord } from './records';
import { canonicalJson as canonical } from '../schema/canonical';

export interface ExpectedAttachment {
  /** `address/prefix` of every address prevResult gives the pod. */
  addresses: string[];
  /** The default gateway per family, where the pod has one. */
  gateways: string[];
  /** Policies the conf implies; the endpoint may carry more. */
  policies: EndpointPolicy[];
}

function drift(msg: string, details?: string): CniError {
  return new CniError(ErrorCode.CheckFailed, msg, details);
}

export async function checkPodEndpoint(ctx: PodContext, ref: PodRef, net: HostComputeNetwork, want: ExpectedAttachment): Promise<HostComputeEndpoint> {
  const nsId = namespaceGuid(ref.netns);
  const record = readRecord(ctx.stateDir, ref.network, ref.containerId);
  if (record && record.ifName !== ref.ifName) {
    throw drift(`container ${ref.containerId} has no attachment for interface ${ref.ifName} on network ${ref.network}`, `its attachment is for ${record.ifName}`);
  }
  const name = endpointName(ref.containerId, ref.network);
  const found = await ctx.client.listEndpoints({ Name: name }).catch((err) => { throw hnsFailure(`looking up endpoint ${name}`, err); });
  const ep = found[0];
  if (!ep) throw drift(`endpoint ${name} does not exist`, 'the pod has no network; it needs to be recreated');
  if (!sameGuid(ep.HostComputeNetwork, net.ID)) throw drift(`endpoint ${name} is on network ${ep.HostComputeNetwork}, not on ${ref.network} (${net.ID})`);
  if (!sameGuid(ep.HostComputeNamespace, nsId)) throw drift(`endpoint ${name} is not in namespace ${nsId}`, `it is in ${ep.HostComputeNamespace ?? 'no namespace'}`);
  await checkNamespaceLists(ctx, nsId, ep);
  checkAddresses(ep, want.addresses);
  checkGateways(ep, want.gateways);
  checkPolicies(ep, want.policies);
  return ep;
}

async function checkNamespaceLists(ctx: PodContext, nsId: string, ep: HostComputeEndpoint): Promise<void> {
  let resources;
  try {
    resources = (await ctx.client.getNamespaceById(nsId)).Resources ?? [];
  } catch (err) {
    if (isNotFound(err)) throw drift(`namespace ${nsId} (CNI_NETNS) does not exist`);
    throw hnsFailure(`reading namespace ${nsId}`, err);
  }
  if (!resources.some((r) => (r.Type === 'Endpoint' || r.Type === 1) && sameGuid(r.Data.Id, ep.ID))) {
    throw drift(`namespace ${nsId} does not list endpoint ${ep.ID}`);
  }
}

function checkAddresses(ep: HostComputeEndpoint, addresses: string[]): void {
  const have = (ep.IpConfigurations ?? []).map((c) => `${c.IpAddress}/${c.PrefixLength}`);
  for (const a of addresses) {
    if (!have.includes(a)) throw drift(`endpoint ${ep.Name} does not have address ${a}`, `it has ${have.join(', ') || 'none'}`);
  }
  for (const h of have) {
    if (!addresses.includes(h)) throw drift(`endpoint ${ep.Name} has address ${h}, which prevResult does not list`);
  }
}

function checkGateways(ep: HostComputeEndpoint, gateways: string[]): void {
  const hops = (ep.Routes ?? []).filter((r) => r.DestinationPrefix === '0.0.0.0/0' || r.DestinationPrefix === '::/0').map((r) => r.NextHop);
  for (const g of gateways) {
    if (!hops.includes(g)) throw drift(`endpoint ${ep.Name} has no default route via ${g}`, `its default routes go via ${hops.join(', ') || 'nothing'}`);
  }
}

function checkPolicies(ep: HostComputeEndpoint, policies: EndpointPolicy[]): void {
  const have = (ep.Policies ?? []).map(canonical);
  for (const p of policies) {
    if (!have.includes(canonical(p))) throw drift(`endpoint ${ep.Name} lacks its ${p.Type} policy`, JSON.stringify(p));
  }
}
