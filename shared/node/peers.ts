// Peers (the other nodes) and what each needs on this node: host-gateway a host route to each of
// the peer's pod subnets via the peer's node IP (flannel host-gw: windows-anchors.md §5.2 step 5,
// §8.2); win-overlay a RemoteSubnetRoute network policy per peer (flannel vxlan_network_windows.go
// handleSubnetEvents: DestinationPrefix = the peer's pod subnet, IsolationId = the VNI,
// ProviderAddress = the peer's public IP, DistributedRouterMacAddress = the peer's VTEP MAC).
// Everything here is pure: the same peers give the same desired set, so a watch event costs a
// diff of sets in memory, and only what changed is sent to the system.

import { formatCidr, formatIp, parseCidr, parseIp } from '../net/ip';
import { type Block, blockOf, type Claim, clip, duplicateNames, overlappingClaims, type PeerRules, podCidrRefusal, type RefusalRule, underlayRefusal, vtepMacRefusal } from './sanity';
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
  /** Which rule (sanity.ts): the label of cni_agent_peers_refused. */
  rule: RefusalRule;
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
const canonicalPrefixes = new Map<string, string | null>();
const canonicalIps = new Map<string, string | null>();

// One map per kind, looked up by the text itself: a key built per call (`p:${text}`) was a new
// string to hash every time, the biggest cost of an event pass at 5,000 peers.
function memo(cache: Map<string, string | null>, text: string, f: (t: string) => string | undefined): string | undefined {
  let v = cache.get(text);
  if (v === undefined) {
    if (cache.size > 50_000) cache.clear();
    v = f(text) ?? null;
    cache.set(text, v);
  }
  return v ?? undefined;
}

function canonicalPrefix(text: string): string | undefined {
  return memo(canonicalPrefixes, text, () => {
    const c = parseCidr(text);
    return c ? formatCidr(c) : undefined;
  });
}

function canonicalIp(text: string): string | undefined {
  return memo(canonicalIps, text, () => {
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

/** Peers by name, without this node. */
export function otherPeers(peers: Iterable<Peer>, self: string): Peer[] {
  return [...peers].filter((p) => p.name !== self).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The pod CIDRs a peer claims, each once, in one spelling, with the refusals of the ones that are not sane (sanity.ts). */
function sanePodCidrs(peer: Peer, rules: PeerRules, family: 4 | 6 | undefined, problems: PeerProblem[]): { prefix: string; block: Block }[] {
  const out: { prefix: string; block: Block }[] = [];
  const seen = new Set<string>();
  for (const raw of peer.podCIDRs) {
    const prefix = typeof raw === 'string' ? canonicalPrefix(raw) : undefined;
    const block = prefix ? blockOf(prefix) : undefined;
    if (!prefix || !block) {
      problems.push({ peer: peer.name, rule: 'invalid', reason: `pod subnet ${clip(raw)} is not a prefix` });
      continue;
    }
    if ((family && block.family !== family) || seen.has(prefix)) continue;
    seen.add(prefix);
    const bad = podCidrRefusal(prefix, block, rules);
    if (bad) problems.push({ peer: peer.name, ...bad });
    else out.push({ prefix, block });
  }
  return out;
}

/** Drops every claim that overlaps another peer's, naming both sides. */
function withoutOverlaps<T>(claims: Claim<T>[], problems: PeerProblem[]): Claim<T>[] {
  const clashes = overlappingClaims(claims);
  for (const [c, others] of [...clashes].sort(([a], [b]) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))) {
    const names = [...others].sort();
    problems.push({ peer: c.peer, rule: 'overlap', reason: `pod subnet ${c.prefix} overlaps that of ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}: neither gets it until one of them changes` });
  }
  return clashes.size ? claims.filter((c) => !clashes.has(c)) : claims;
}

/** Peers whose name is not theirs alone (the same name twice in one list): none of them is used. */
function distinctPeers(peers: Peer[], problems: PeerProblem[]): Peer[] {
  const twice = duplicateNames(peers.map((p) => p.name));
  if (!twice.size) return peers;
  for (const name of twice) problems.push({ peer: name, rule: 'duplicate-name', reason: 'the name appears more than once in the list of peers: none of them is used' });
  return peers.filter((p) => !twice.has(p.name));
}

/** What one peer may claim on this node, and what it may not: a pure function of the peer and the rules. */
interface Verdict<T> {
  claims: Claim<T>[];
  problems: PeerProblem[];
}

/**
 * The per-peer half of a pass, kept from one pass to the next: a watch event changes one Node,
 * and checking every other peer again (parsing, the sanity rules) was most of what the event cost
 * at 5,000 Nodes. A verdict is kept for the same Peer object under the same rules, so the caller
 * hands over an unchanged peer as the very object it handed over before (the agent keeps one per
 * trimmed Node); a new object, or any change of the rules, is checked afresh. What spans peers
 * (names given twice, overlapping subnets) is always decided over the whole list.
 */
export class PeerVerdicts {
  private rulesKey = '';
  private kept = new WeakMap<Peer, Verdict<unknown>>();

  /** The verdicts of `peers` under `rules`, from the last pass where the peer and the rules are the same. */
  of<T>(peers: Peer[], rules: PeerRules, judge: (p: Peer) => Verdict<T>, extra = ''): Verdict<T>[] {
    const key = `${extra}|${JSON.stringify(rules)}`;
    if (key !== this.rulesKey) {
      this.rulesKey = key;
      this.kept = new WeakMap();
    }
    return peers.map((p) => {
      let v = this.kept.get(p) as Verdict<T> | undefined;
      if (!v) this.kept.set(p, (v = judge(p)));
      return v;
    });
  }
}

function judged<T>(peers: Peer[], rules: PeerRules, judge: (p: Peer) => Verdict<T>, cache: PeerVerdicts | undefined, extra = ''): Verdict<T>[] {
  return cache ? cache.of(peers, rules, judge, extra) : peers.map(judge);
}

/** The claims that survive the sweeps across peers, the problems of all (each peer's first, then the overlaps). */
function settle<T>(verdicts: Verdict<T>[], problems: PeerProblem[]): Claim<T>[] {
  const claims: Claim<T>[] = [];
  for (const v of verdicts) {
    for (const p of v.problems) problems.push(p);
    for (const c of v.claims) claims.push(c);
  }
  return withoutOverlaps(claims, problems);
}

function routeVerdict(peer: Peer, rules: PeerRules): Verdict<string> {
  const problems: PeerProblem[] = [];
  const claims: Claim<string>[] = [];
  if (peer.podCIDRs.length === 0) problems.push({ peer: peer.name, rule: 'incomplete', reason: 'no pod subnet yet' });
  for (const { prefix, block } of sanePodCidrs(peer, rules, undefined, problems)) {
    const hop = peer.nodeIPs.map(canonicalIp).find((ip) => ip && familyOf(ip) === block.family);
    const bad = hop ? underlayRefusal(hop, block.family, rules, 'next hop') : { rule: 'incomplete' as const, reason: `no IPv${block.family} node IP for pod subnet ${prefix}` };
    if (bad) problems.push({ peer: peer.name, ...bad });
    else claims.push({ peer: peer.name, prefix, block, value: hop! });
  }
  return { claims, problems };
}

function policyVerdict(peer: Peer, rules: PeerRules, vni: number): Verdict<{ pa: string; mac: string }> {
  const problems: PeerProblem[] = [];
  const prefix = sanePodCidrs(peer, rules, 4, problems)[0];
  const pa = peer.nodeIPs.map(canonicalIp).find((ip) => ip && familyOf(ip) === 4);
  const mac = goMac(peer.vtepMac);
  let bad: { rule: RefusalRule; reason: string } | undefined;
  if (!prefix) bad = problems.length ? undefined : { rule: 'incomplete', reason: 'no IPv4 pod subnet yet' };
  else if (!pa) bad = { rule: 'incomplete', reason: 'no IPv4 node IP' };
  else bad = underlayRefusal(pa, 4, rules, 'provider address') ?? vtepMacRefusal(mac, peer.vtepMac, rules);
  if (!bad && prefix && peer.vni !== undefined && peer.vni !== vni) bad = { rule: 'vni', reason: `announces VNI ${clip(peer.vni)}, this node uses ${vni}` };
  if (bad) problems.push({ peer: peer.name, ...bad });
  const claims = !bad && prefix ? [{ peer: peer.name, prefix: prefix.prefix, block: prefix.block, value: { pa: pa!, mac: mac! } }] : [];
  return { claims, problems };
}

// A kept claim (PeerVerdicts) gives the same route or policy object on every pass: an event pass
// at 5,000 peers then allocates next to nothing, and the garbage collector, not the diff, was what
// made some events slow.
const routeOfClaim = new WeakMap<Claim<string>, DesiredRoute>();
const policyOfClaim = new WeakMap<Claim<{ pa: string; mac: string }>, DesiredPolicy>();

function routeOf(c: Claim<string>): DesiredRoute {
  let r = routeOfClaim.get(c);
  if (!r) routeOfClaim.set(c, (r = { destinationPrefix: c.prefix, nextHop: c.value, peer: c.peer }));
  return r;
}

function policyOf(c: Claim<{ pa: string; mac: string }>, vni: number): DesiredPolicy {
  let p = policyOfClaim.get(c);
  if (!p || p.settings.IsolationId !== vni) policyOfClaim.set(c, (p = { peer: c.peer, settings: { DestinationPrefix: c.prefix, IsolationId: vni, ProviderAddress: c.value.pa, DistributedRouterMacAddress: c.value.mac } }));
  return p;
}

/**
 * host-gateway: one route per peer pod subnet, via the peer's node IP of the same family, when
 * both are sane for this node (sanity.ts). Two peers whose pod subnets overlap get neither: two
 * routes to one address would split that node's pods between two next hops.
 */
export function desiredRoutes(peers: Peer[], rules: PeerRules, cache?: PeerVerdicts): { routes: DesiredRoute[]; problems: PeerProblem[] } {
  const problems: PeerProblem[] = [];
  const verdicts = judged(distinctPeers(peers, problems), rules, (p) => routeVerdict(p, rules), cache, 'routes');
  const routes = settle(verdicts, problems).map(routeOf);
  return { routes, problems };
}

/**
 * win-overlay: one RemoteSubnetRoute per peer with a sane IPv4 pod subnet, provider address and
 * VTEP MAC on our VNI. Like flannel, a peer without a MAC yet (its first lease, flannel PR #1137)
 * gets nothing until it has one. Settings keys in hcsshim's RemoteSubnetRoutePolicySetting order.
 */
export function desiredPolicies(peers: Peer[], rules: PeerRules, vni: number, cache?: PeerVerdicts): { policies: DesiredPolicy[]; problems: PeerProblem[] } {
  const problems: PeerProblem[] = [];
  const verdicts = judged(distinctPeers(peers, problems), rules, (p) => policyVerdict(p, rules, vni), cache, `policies|${vni}`);
  const policies = settle(verdicts, problems).map((c) => policyOf(c, vni));
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
