// Peers (the other nodes) and what each needs on this node: host-gateway a host route to each of
// the peer's pod subnets via the peer's node IP (flannel host-gw: windows-anchors.md §5.2 step 5,
// §8.2); win-overlay a RemoteSubnetRoute network policy per peer (flannel vxlan_network_windows.go
// handleSubnetEvents: DestinationPrefix = the peer's pod subnet, IsolationId = the VNI,
// ProviderAddress = the peer's public IP, DistributedRouterMacAddress = the peer's VTEP MAC).
// Everything here is pure: the same peers give the same desired set, so a watch event costs a
// diff of sets in memory, and only what changed is sent to the system.

import { contains, formatCidr, formatIp, parseCidr, parseIp } from '../net/ip';
import type { RemoteSubnetRouteSettings } from '../hns/model/policy';

export interface Peer {
  name: string;
  /** Underlay addresses: the next hop of host-gw routes, the provider address of VXLAN. */
  nodeIPs: string[];
  podCIDRs: string[];
  /** VXLAN: the MAC of the peer's VTEP (flannel.<VNI> on Linux, the DR MAC on Windows). */
  vtepMac?: string;
  /** VXLAN: the VNI the peer announced (flannel backend-data); a peer on another VNI is not reachable. */
  vni?: number;
}

/** Something a peer cannot get, and why (logged once per change, counted). */
export interface PeerProblem {
  peer: string;
  reason: string;
}

export interface DesiredRoute {
  destinationPrefix: string;
  nextHop: string;
  peer: string;
}

export interface DesiredPolicy {
  settings: RemoteSubnetRouteSettings;
  peer: string;
}

/**
 * One spelling per prefix and address, memoized: a pass over 1,000 peers canonicalizes each
 * string a few times, and parsing is most of what a watch event costs the agent (the same
 * strings come back on every pass, so the cache stays the size of the cluster).
 */
const canonical = new Map<string, string | null>();

function memo(text: string, f: (t: string) => string | undefined): string | undefined {
  let v = canonical.get(text);
  if (v === undefined) {
    if (canonical.size > 50_000) canonical.clear();
    v = f(text) ?? null;
    canonical.set(text, v);
  }
  return v ?? undefined;
}

function canonicalPrefix(text: string): string | undefined {
  return memo(`p:${text}`, () => {
    const c = parseCidr(text);
    return c ? formatCidr(c) : undefined;
  });
}

function canonicalIp(text: string): string | undefined {
  return memo(`a:${text}`, () => {
    const ip = parseIp(text);
    return ip ? formatIp(ip) : undefined;
  });
}

function familyOf(text: string): 4 | 6 {
  return text.includes(':') ? 6 : 4;
}

/**
 * A MAC as Go's net.HardwareAddr.String() writes it (`0e:2a:0a:f4:03:07`): what flannel puts in
 * both its VtepMAC annotation and the RemoteSubnetRoute policies it sends HNS
 * (vxlan_network_windows.go: `net.HardwareAddr(vxlanAttrs.VtepMAC).String()`). Accepts the dash
 * form HNS writes its own DrMacAddress in. Undefined when it is no 6-byte MAC.
 */
export function goMac(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const m = /^([0-9A-Fa-f]{2})([-:.]?)([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})\2([0-9A-Fa-f]{2})$/.exec(text.trim());
  if (!m) return undefined;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].map((b) => b!.toLowerCase()).join(':');
}

const overlaps = new Map<string, boolean>();

function overlapsAny(prefix: string, own: string[]): boolean {
  const key = `${prefix}|${own.join(',')}`;
  let v = overlaps.get(key);
  if (v === undefined) {
    const p = parseCidr(prefix)!;
    v = own.some((o) => {
      const c = parseCidr(o);
      return !!c && c.ip.family === p.ip.family && (contains(c, p.ip) || contains(p, c.ip));
    });
    if (overlaps.size > 50_000) overlaps.clear();
    overlaps.set(key, v);
  }
  return v;
}

/** Peers by name, without this node. */
export function otherPeers(peers: Iterable<Peer>, self: string): Peer[] {
  return [...peers].filter((p) => p.name !== self).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * host-gateway: one route per peer pod subnet, via the peer's node IP of the same family. A pod
 * subnet overlapping this node's own, or claimed by two peers, is a problem, not a route: two
 * routes to one prefix would split its traffic.
 */
export function desiredRoutes(peers: Peer[], ownPodCIDRs: string[]): { routes: DesiredRoute[]; problems: PeerProblem[] } {
  const routes: DesiredRoute[] = [];
  const problems: PeerProblem[] = [];
  const claimed = new Map<string, string>();
  for (const peer of peers) {
    if (peer.podCIDRs.length === 0) problems.push({ peer: peer.name, reason: 'no pod subnet yet' });
    for (const raw of peer.podCIDRs) {
      const prefix = canonicalPrefix(raw);
      if (!prefix) {
        problems.push({ peer: peer.name, reason: `pod subnet ${raw} is not a prefix` });
        continue;
      }
      const family = familyOf(prefix);
      const hop = peer.nodeIPs.map(canonicalIp).find((ip) => ip && familyOf(ip) === family);
      if (!hop) {
        problems.push({ peer: peer.name, reason: `no IPv${family} node IP for pod subnet ${prefix}` });
        continue;
      }
      if (overlapsAny(prefix, ownPodCIDRs)) {
        problems.push({ peer: peer.name, reason: `pod subnet ${prefix} overlaps this node's own` });
        continue;
      }
      const owner = claimed.get(prefix);
      if (owner) {
        problems.push({ peer: peer.name, reason: `pod subnet ${prefix} is also claimed by ${owner}` });
        continue;
      }
      claimed.set(prefix, peer.name);
      routes.push({ destinationPrefix: prefix, nextHop: hop, peer: peer.name });
    }
  }
  return { routes, problems };
}

/**
 * win-overlay: one RemoteSubnetRoute per peer with an IPv4 pod subnet, an IPv4 address and a
 * VTEP MAC on our VNI. Like flannel, a peer without a MAC yet (its first lease, flannel PR #1137)
 * gets nothing until it has one. Settings keys in hcsshim's RemoteSubnetRoutePolicySetting order.
 */
export function desiredPolicies(peers: Peer[], ownPodCIDRs: string[], vni: number): { policies: DesiredPolicy[]; problems: PeerProblem[] } {
  const policies: DesiredPolicy[] = [];
  const problems: PeerProblem[] = [];
  const claimed = new Map<string, string>();
  for (const peer of peers) {
    const prefix = peer.podCIDRs.map(canonicalPrefix).find((p) => p && familyOf(p) === 4);
    const pa = peer.nodeIPs.map(canonicalIp).find((ip) => ip && familyOf(ip) === 4);
    const mac = goMac(peer.vtepMac);
    let reason: string | undefined;
    if (!prefix) reason = 'no IPv4 pod subnet yet';
    else if (!pa) reason = 'no IPv4 node IP';
    else if (!mac) reason = peer.vtepMac ? `VTEP MAC ${JSON.stringify(peer.vtepMac)} is not a MAC` : 'no VTEP MAC announced yet';
    else if (peer.vni !== undefined && peer.vni !== vni) reason = `announces VNI ${peer.vni}, this node uses ${vni}`;
    else if (overlapsAny(prefix, ownPodCIDRs)) reason = `pod subnet ${prefix} overlaps this node's own`;
    else if (claimed.has(prefix)) reason = `pod subnet ${prefix} is also claimed by ${claimed.get(prefix)}`;
    if (reason) {
      problems.push({ peer: peer.name, reason });
      continue;
    }
    claimed.set(prefix!, peer.name);
    policies.push({ peer: peer.name, settings: { DestinationPrefix: prefix!, IsolationId: vni, ProviderAddress: pa!, DistributedRouterMacAddress: mac! } });
  }
  return { policies, problems };
}

/** The identity of a RemoteSubnetRoute: its four settings, one spelling each. */
export function policyKey(s: RemoteSubnetRouteSettings): string {
  return [canonicalPrefix(s.DestinationPrefix) ?? s.DestinationPrefix, s.IsolationId, canonicalIp(s.ProviderAddress) ?? s.ProviderAddress, goMac(s.DistributedRouterMacAddress) ?? s.DistributedRouterMacAddress].join('|');
}

/** The identity of a route: prefix, next hop, interface. */
export function routeIdentity(r: { destinationPrefix: string; nextHop: string; interfaceIndex: number }): string {
  return `${canonicalPrefix(r.destinationPrefix) ?? r.destinationPrefix}|${canonicalIp(r.nextHop) ?? r.nextHop}|${r.interfaceIndex}`;
}
