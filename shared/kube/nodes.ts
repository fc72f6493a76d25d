// Nodes as the agent needs them: name, pod subnets, underlay address and annotations, taken from
// the API's Node objects (plain JSON, as the watch delivers them) and turned into peers.

import { readFlannelLease, type FlannelKeys } from './annotations';
import type { Peer } from '../node/peers';

/** The fields of a v1 Node the agent reads (the API's JSON, or the client library's model). */
export interface NodeObject {
  metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> | null };
  spec?: { podCIDR?: string; podCIDRs?: string[] | null };
  status?: { addresses?: { type?: string; address?: string }[] | null };
}

export interface NodeInfo {
  name: string;
  podCIDRs: string[];
  /** InternalIP addresses, in the order the kubelet reports them. */
  internalIPs: string[];
  annotations: Record<string, string>;
}

export function nodeInfo(n: NodeObject): NodeInfo | undefined {
  const name = n.metadata?.name;
  if (!name) return undefined;
  const podCIDRs = n.spec?.podCIDRs?.length ? [...n.spec.podCIDRs] : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
  const internalIPs = (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' && a.address).map((a) => a.address!);
  return { name, podCIDRs, internalIPs, annotations: { ...(n.metadata?.annotations ?? {}) } };
}

/**
 * A Node as a peer. Its address is flannel's public-ip when it holds a flannel lease (what
 * flannel nodes encapsulate to; it honours public-ip-overwrite), else its InternalIPs; VXLAN
 * peers announce their VTEP MAC and VNI in flannel's backend-data.
 */
export function peerOf(n: NodeInfo, keys: FlannelKeys): Peer {
  const lease = readFlannelLease(n.annotations, keys);
  const nodeIPs = lease?.publicIp ? [lease.publicIp, ...n.internalIPs.filter((ip) => ip !== lease.publicIp)] : [...n.internalIPs];
  const peer: Peer = { name: n.name, nodeIPs, podCIDRs: n.podCIDRs };
  if (lease && lease.backendType.toLowerCase() === 'vxlan') {
    if (lease.vtepMac) peer.vtepMac = lease.vtepMac;
    if (lease.vni !== undefined) peer.vni = lease.vni;
  }
  return peer;
}

/** Whether a change of a Node can change what the agent does (flannel's handleUpdateLeaseEvent compares the same way). */
/** The Nodes of a list the agent can read, by name. */
export function nodeMap(items: readonly NodeObject[]): Map<string, NodeInfo> {
  const out = new Map<string, NodeInfo>();
  for (const item of items) {
    const n = nodeInfo(item);
    if (n) out.set(n.name, n);
  }
  return out;
}

export function sameForAgent(a: NodeInfo | undefined, b: NodeInfo | undefined, keys: FlannelKeys): boolean {
  if (!a || !b) return a === b;
  const pick = (n: NodeInfo) => JSON.stringify([n.podCIDRs, n.internalIPs, n.annotations[keys.backendData], n.annotations[keys.backendType], n.annotations[keys.publicIp], n.annotations[keys.publicIpOverwrite], n.annotations[keys.subnetKubeManaged]]);
  return pick(a) === pick(b);
}
