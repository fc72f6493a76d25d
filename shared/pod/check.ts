// CHECK: the attachment is still what ADD made. Read-only; reports the first difference by name.
// Two lookups (the endpoint by name, its network by ID), then everything is compared with what
// the service returned: its namespace, addresses, default routes and policies.

import { CniError, ErrorCode } from '../cni/errors';
import { isNotFound } from '../hns/errors';
import type { HostComputeEndpoint } from '../hns/model/endpoint';
import type { HostComputeNetwork, NetworkMode } from '../hns/model/network';
import type { EndpointPolicy } from '../hns/model/policy';
import { policyMatches } from '../policy/meaning';
import { parseIp } from '../net/ip';
import { networkMode } from './add';
import { hnsFailure, type PodContext } from './context';
import { endpointName, namespaceGuid, type PodRef, sameGuid } from './identity';
import { readRecord } from './records';

export interface ExpectedAttachment {
  /** `address/prefix` of every address prevResult gives the pod. */
  addresses: string[];
  /** The default gateway per family, where the pod has one. */
  gateways: string[];
  /** Policies the conf implies; the endpoint may carry more (the service adds its own). */
  policies: EndpointPolicy[];
}

function drift(msg: string, details?: string): CniError {
  return new CniError(ErrorCode.CheckFailed, msg, details);
}

/** The pod's endpoint and the network it is on (which must be the conf's, of the mode's type). */
export async function findPodEndpoint(ctx: PodContext, ref: PodRef, types: readonly NetworkMode[]): Promise<{ endpoint: HostComputeEndpoint; network: HostComputeNetwork }> {
  const record = readRecord(ctx.stateDir, ref.network, ref.containerId, ctx.log);
  if (record && record.ifName !== ref.ifName) {
    throw drift(`container ${ref.containerId} has no attachment for interface ${ref.ifName} on network ${ref.network}`, `its attachment is for ${record.ifName}`);
  }
  const name = endpointName(ref.containerId, ref.network);
  const found = await ctx.client.listEndpoints({ Name: name }).catch((err) => { throw hnsFailure(`looking up endpoint ${name}`, err); });
  const endpoint = found[0];
  if (!endpoint) throw drift(`endpoint ${name} does not exist`, 'the pod has no network; it needs to be recreated');
  let network: HostComputeNetwork;
  try {
    network = await ctx.client.getNetworkById(endpoint.HostComputeNetwork ?? '');
  } catch (err) {
    if (isNotFound(err)) throw drift(`endpoint ${name} is on network ${endpoint.HostComputeNetwork}, which no longer exists`);
    throw hnsFailure(`reading network ${endpoint.HostComputeNetwork}`, err);
  }
  if (network.Name !== ref.network) throw drift(`endpoint ${name} is on network ${network.Name} (${network.ID}), not on ${ref.network}`);
  const mode = networkMode(network);
  if (!types.includes(mode)) throw drift(`HNS network "${ref.network}" is of type ${mode}, not ${types.join(' or ')}`);
  return { endpoint, network };
}

export function checkPodEndpoint(ep: HostComputeEndpoint, ref: PodRef, net: HostComputeNetwork, want: ExpectedAttachment): HostComputeEndpoint {
  const nsId = namespaceGuid(ref.netns);
  if (!sameGuid(ep.HostComputeNetwork, net.ID)) throw drift(`endpoint ${ep.Name} is on network ${ep.HostComputeNetwork}, not on ${ref.network} (${net.ID})`);
  // The service keeps the endpoint's HostComputeNamespace and the namespace's resource list
  // together (hcn-api.md §2.5); the endpoint's side is read here.
  if (!sameGuid(ep.HostComputeNamespace, nsId)) throw drift(`endpoint ${ep.Name} is not in namespace ${nsId}`, `it is in ${ep.HostComputeNamespace ?? 'no namespace'}`);
  checkAddresses(ep, want.addresses);
  checkGateways(ep, want.gateways);
  checkPolicies(ep, want.policies);
  return ep;
}

/** Addresses compared as addresses (`::0:1` is `::1`); the prefix length only where the service reports one. */
function checkAddresses(ep: HostComputeEndpoint, addresses: string[]): void {
  const key = (ip: string) => {
    const p = parseIp(ip);
    return p ? `${p.family}:${p.value}` : ip;
  };
  const have = (ep.IpConfigurations ?? []).filter((c) => c.IpAddress).map((c) => ({ ip: key(c.IpAddress!), prefix: c.PrefixLength, text: `${c.IpAddress}${c.PrefixLength === undefined ? '' : `/${c.PrefixLength}`}` }));
  const wanted = addresses.map((a) => {
    const [ip, prefix] = a.split('/');
    return { ip: key(ip!), prefix: prefix === undefined ? undefined : Number(prefix), text: a };
  });
  for (const w of wanted) {
    const h = have.find((x) => x.ip === w.ip);
    if (!h || (h.prefix !== undefined && w.prefix !== undefined && h.prefix !== w.prefix)) throw drift(`endpoint ${ep.Name} does not have address ${w.text}`, `it has ${have.map((x) => x.text).join(', ') || 'none'}`);
  }
  for (const h of have) {
    if (!wanted.some((w) => w.ip === h.ip)) throw drift(`endpoint ${ep.Name} has address ${h.text}, which prevResult does not list`);
  }
}

function checkGateways(ep: HostComputeEndpoint, gateways: string[]): void {
  const hops = (ep.Routes ?? []).filter((r) => r.DestinationPrefix === '0.0.0.0/0' || r.DestinationPrefix === '::/0').map((r) => r.NextHop);
  for (const g of gateways) {
    if (!hops.includes(g)) throw drift(`endpoint ${ep.Name} has no default route via ${g}`, `its default routes go via ${hops.join(', ') || 'nothing'}`);
  }
}

function checkPolicies(ep: HostComputeEndpoint, policies: EndpointPolicy[]): void {
  const have = ep.Policies ?? [];
  for (const p of policies) {
    if (!have.some((h) => policyMatches(p, h))) throw drift(`endpoint ${ep.Name} lacks its ${p.Type} policy`, JSON.stringify(p));
  }
}

/** Who is in the pod's namespace: HCS lists each container it starts there (hcn-api.md §6, pod flow step 3). */
export interface NamespaceMembers {
  namespaceType?: string;
  containers: string[];
}

export async function namespaceMembers(ctx: PodContext, nsId: string): Promise<NamespaceMembers> {
  const ns = await ctx.client.getNamespaceById(nsId).catch((err) => {
    if (isNotFound(err)) throw drift(`namespace ${nsId} (CNI_NETNS) does not exist`, 'the pod sandbox is gone');
    throw hnsFailure(`reading namespace ${nsId}`, err);
  });
  const out: NamespaceMembers = { containers: containersOf(ns.Resources) };
  if (ns.Type !== undefined) out.namespaceType = String(ns.Type);
  return out;
}

/** The container IDs a namespace's resource list names (Type Container, or 0 as older builds answer). */
export function containersOf(resources: { Type: string | number; Data: { Id: string } }[] | undefined): string[] {
  return (resources ?? []).filter((r) => r.Type === 'Container' || r.Type === 0).map((r) => r.Data.Id);
}

/**
 * Why a namespace may hold no container: the sandbox is not (or no longer) running, or the pod
 * is Hyper-V isolated and its utility VM took the endpoint as a VM NIC without being listed
 * (which a real host does is INFERRED; windows-anchors.md §7 pain point 22).
 */
export const NO_CONTAINER_HINT = 'no container is attached to the pod\'s namespace: its sandbox has not started or has stopped, or it is a Hyper-V isolated pod whose utility VM is not listed (check the VM has the NIC: hcsdiag list, then Get-NetAdapter inside it)';
