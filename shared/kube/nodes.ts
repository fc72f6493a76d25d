// Nodes as the agent needs them: name, pod subnets, underlay address and flannel's annotations,
// taken from the API's Node objects and turned into peers. A real Node is 15-20 KiB of JSON
// (status.images, managedFields, conditions, nodeInfo, capacity, labels, other controllers'
// annotations); the agent keeps a few hundred bytes of it. Each object is trimmed here as soon as
// it is decoded (one list item or one watch event at a time) and the rest is dropped, so the
// Node cache costs memory in proportion to what the agent uses, not to what kubelet reports.

import { readFlannelLease, type FlannelKeys } from './annotations';
import type { Peer } from '../node/peers';

/** The fields of a v1 Node the agent reads (the API's JSON; everything else is ignored). */
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
  /** flannel's annotations only (the keys of FlannelKeys that the Node has). */
  annotations: Record<string, string>;
}

/** A Node trimmed to what the agent uses; undefined for an object without a name. */
export function nodeInfo(n: NodeObject, keys: FlannelKeys): NodeInfo | undefined {
  const name = n.metadata?.name;
  if (!name) return undefined;
  const podCIDRs = n.spec?.podCIDRs?.length ? [...n.spec.podCIDRs] : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
  const internalIPs = (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' && a.address).map((a) => a.address!);
  const annotations: Record<string, string> = {};
  const all = n.metadata?.annotations;
  if (all) {
    for (const key of Object.values(keys)) {
      const v = all[key];
      if (typeof v === 'string') annotations[key] = v;
    }
  }
  return { name, podCIDRs, internalIPs, annotations };
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

/**
 * Whether two trimmed Nodes are the same for the agent. Trimming keeps only what the agent uses,
 * so kubelet's status updates (conditions, images, heartbeat times) and other controllers'
 * labels and annotations compare equal (flannel's handleUpdateLeaseEvent compares the same way).
 */
export function sameForAgent(a: NodeInfo | undefined, b: NodeInfo | undefined): boolean {
  if (!a || !b) return a === b;
  return a.name === b.name && sameList(a.podCIDRs, b.podCIDRs) && sameList(a.internalIPs, b.internalIPs) && sameRecord(a.annotations, b.annotations);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
