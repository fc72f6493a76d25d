// What a peer may make this node do. A peer's pod CIDRs, node IPs and VTEP MAC come from Node
// objects that every kubelet can edit for its own node (flannel's public-ip annotation, the
// InternalIP), or from a file an operator typed: taken as they come, one bad value turns into a
// route or a RemoteSubnetRoute that redirects the node's service, DNS, node-subnet or default
// traffic. So a claim is installed only when it is sane for this node, and each refusal names the
// peer, the value (clipped) and the rule.
//
// The rules (issue 19): a pod CIDR lies inside the cluster CIDR of its family when one is
// configured, is of a family this node has a pod subnet of, and touches none of: this node's own
// pod subnets and addresses, the service CIDRs and cluster DNS, the node's on-link subnets,
// default, loopback, link-local, multicast, "this network" (0/8) and 240/4; pod CIDRs of two peers
// that overlap are both refused. A next hop or provider address is a unicast address of the
// prefix's family that is not this node's, and for host-gw on this node's on-link subnet. A VTEP
// MAC is unicast, non-zero and not this node's.

import { type Family, parseCidr, parseIp } from '../net/ip';

/** The label of `cni_agent_peers_refused{reason}`: which rule kept a peer's claim out. */
export const REFUSAL_RULES = ['incomplete', 'invalid', 'family', 'outside-cluster', 'reserved', 'overlap', 'next-hop', 'vtep-mac', 'vni', 'duplicate-name'] as const;
export type RefusalRule = (typeof REFUSAL_RULES)[number];

export interface PeerRules {
  /** Cluster CIDRs (any family); a family without one falls back to the reserved-prefix rules alone. */
  clusterCIDRs: string[];
  serviceCIDRs: string[];
  clusterDNS: string[];
  ownPodCIDRs: string[];
  /** Addresses this node holds: node IPs, the host vNIC's .2, the provider address. */
  ownAddresses: string[];
  /** host-gateway: the subnets of the interface the routes go on; a next hop must be in one of them. */
  onLink?: string[];
  /** win-overlay: this node's DR MAC (Go form), never a peer's VTEP. */
  ownMacs?: string[];
}

export interface Block {
  family: Family;
  start: bigint;
  end: bigint;
  prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

/**
 * Parsed once per distinct string: every pass checks every peer again, with the same strings
 * (the cache stays the size of the cluster, and is dropped whole if it ever grows past that).
 */
const blocks = new Map<string, Block | null>();

export function blockOf(text: string): Block | undefined {
  let b = blocks.get(text);
  if (b === undefined) {
    const c = parseCidr(text) ?? (parseIp(text) ? parseCidr(`${text}/${text.includes(':') ? 128 : 32}`) : undefined);
    if (c) {
      const host = (1n << BigInt(BITS[c.ip.family] - c.prefix)) - 1n;
      const start = c.ip.value & ~host;
      b = { family: c.ip.family, start, end: start | host, prefix: c.prefix };
    } else b = null;
    if (blocks.size > 50_000) blocks.clear();
    blocks.set(text, b);
  }
  return b ?? undefined;
}

const overlap = (a: Block, b: Block) => a.family === b.family && a.start <= b.end && b.start <= a.end;
const inside = (inner: Block, outer: Block) => inner.family === outer.family && inner.start >= outer.start && inner.end <= outer.end;

/** Prefixes no pod subnet may touch, whatever the cluster CIDR says. */
const RESERVED: [string, string][] = [
  ['0.0.0.0/8', '"this network"'], ['127.0.0.0/8', 'loopback'], ['169.254.0.0/16', 'link-local'], ['224.0.0.0/4', 'multicast'], ['240.0.0.0/4', 'reserved (240/4)'],
  ['::/128', 'unspecified'], ['::1/128', 'loopback'], ['fe80::/10', 'link-local'], ['ff00::/8', 'multicast'],
];
const RESERVED_BLOCKS = RESERVED.map(([p, what]) => ({ block: blockOf(p)!, what }));

/** A value from a peer, as it may appear in a log line: as it is when short and plain, else quoted and cut to 48 characters. */
export function clip(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  if (text.length > 64) return `${JSON.stringify(text.slice(0, 48))}... (${text.length} characters)`;
  return /^[\x21-\x7e]+$/.test(text) && !text.includes('"') ? text : JSON.stringify(text);
}

export interface Refusal {
  rule: RefusalRule;
  reason: string;
}

const refuse = (rule: RefusalRule, reason: string): Refusal => ({ rule, reason });

function firstTouching(b: Block, list: string[]): string | undefined {
  return list.find((p) => {
    const o = blockOf(p);
    return !!o && overlap(b, o);
  });
}

/** Why this pod CIDR (already parsed as `b`) must not become a route or policy on this node, if it must not. */
export function podCidrRefusal(text: string, b: Block, rules: PeerRules): Refusal | undefined {
  const shown = clip(text);
  if (!rules.ownPodCIDRs.some((p) => blockOf(p)?.family === b.family)) return refuse('family', `pod subnet ${shown} is IPv${b.family}, and this node has no IPv${b.family} pod subnet`);
  if (b.prefix === 0) return refuse('reserved', `pod subnet ${shown} is a default route`);
  const clusters = rules.clusterCIDRs.map(blockOf).filter((c): c is Block => !!c && c.family === b.family);
  if (clusters.length && !clusters.some((c) => inside(b, c))) return refuse('outside-cluster', `pod subnet ${shown} is not inside the cluster CIDR ${rules.clusterCIDRs.filter((c) => blockOf(c)?.family === b.family).join(', ')}`);
  const own = firstTouching(b, rules.ownPodCIDRs);
  if (own) return refuse('overlap', `pod subnet ${shown} overlaps this node's own ${own}`);
  for (const [list, what] of [[rules.serviceCIDRs, 'the service CIDR'], [rules.clusterDNS, 'the cluster DNS address'], [rules.onLink ?? [], "this node's subnet"], [rules.ownAddresses, "this node's address"]] as const) {
    const hit = firstTouching(b, list);
    if (hit) return refuse('reserved', `pod subnet ${shown} overlaps ${what} ${hit}`);
  }
  const reserved = RESERVED_BLOCKS.find((r) => overlap(b, r.block));
  if (reserved) return refuse('reserved', `pod subnet ${shown} touches ${reserved.what} addresses`);
  return undefined;
}

/** Why this address must not be a peer's next hop (host-gw, `onLink`) or provider address (VXLAN), if it must not. */
export function underlayRefusal(text: string, family: Family, rules: PeerRules, what: 'next hop' | 'provider address'): Refusal | undefined {
  const shown = clip(text);
  const b = blockOf(text);
  if (!b || b.prefix !== BITS[b.family] || text.includes('/')) return refuse('next-hop', `${what} ${shown} is not an IP address`);
  if (b.family !== family) return refuse('next-hop', `${what} ${shown} is not IPv${family}`);
  if (family === 4 && b.start === 0xffffffffn) return refuse('next-hop', `${what} ${shown} is the broadcast address`);
  const reserved = RESERVED_BLOCKS.find((r) => inside(b, r.block));
  if (reserved) return refuse('next-hop', `${what} ${shown} is a ${reserved.what} address`);
  if (firstTouching(b, rules.ownAddresses)) return refuse('next-hop', `${what} ${shown} is this node's own address`);
  if (rules.onLink) {
    const subnets = rules.onLink.filter((p) => blockOf(p)?.family === family);
    if (!subnets.some((p) => inside(b, blockOf(p)!))) return refuse('next-hop', `${what} ${shown} is not on this node's subnet ${subnets.join(', ') || `(the interface has no IPv${family} address)`}: a host-gw next hop must be on-link`);
    const own = subnets.map(blockOf).find((s) => s && s.family === 4 && s.prefix < 31 && (b.start === s.start || b.start === s.end));
    if (own) return refuse('next-hop', `${what} ${shown} is the network or broadcast address of this node's subnet`);
  }
  return undefined;
}

/** Why this VTEP MAC (Go form, or undefined when it is none) must not be a peer's, if it must not. */
export function vtepMacRefusal(mac: string | undefined, raw: string | undefined, rules: PeerRules): Refusal | undefined {
  if (!mac) return raw ? refuse('vtep-mac', `VTEP MAC ${clip(raw)} is not a MAC`) : refuse('incomplete', 'no VTEP MAC announced yet');
  if (mac === '00:00:00:00:00:00') return refuse('vtep-mac', `VTEP MAC ${mac} is all zeros`);
  if ((parseInt(mac.slice(0, 2), 16) & 1) !== 0) return refuse('vtep-mac', `VTEP MAC ${mac} is ${mac === 'ff:ff:ff:ff:ff:ff' ? 'the broadcast' : 'a multicast'} address`);
  if (rules.ownMacs?.includes(mac)) return refuse('vtep-mac', `VTEP MAC ${mac} is this node's own DR MAC`);
  return undefined;
}

export interface Claim<T> {
  peer: string;
  prefix: string;
  block: Block;
  value: T;
}

/**
 * Claims whose prefixes overlap another peer's: every one of them, each with the peers it
 * overlaps (prefixes nest or are disjoint, so one sweep in address order finds every pair that
 * shares addresses with an earlier, wider or equal prefix).
 */
export function overlappingClaims<T>(claims: Claim<T>[]): Map<Claim<T>, Set<string>> {
  const out = new Map<Claim<T>, Set<string>>();
  const note = (c: Claim<T>, other: string) => {
    let s = out.get(c);
    if (!s) out.set(c, (s = new Set()));
    s.add(other);
  };
  for (const family of [4, 6] as const) {
    const sorted = claims.filter((c) => c.block.family === family).sort((a, b) => (a.block.start < b.block.start ? -1 : a.block.start > b.block.start ? 1 : a.block.prefix - b.block.prefix));
    // The wider prefixes still open at this point of the sweep (each contains the next one's start, or is done).
    const open: Claim<T>[] = [];
    for (const c of sorted) {
      while (open.length && open[open.length - 1]!.block.end < c.block.start) open.pop();
      for (const o of open) {
        if (o.peer === c.peer) continue;
        note(c, o.peer);
        note(o, c.peer);
      }
      open.push(c);
    }
  }
  return out;
}

/** Names that appear more than once in one list of peers: none of them can be told apart, so none is used. */
export function duplicateNames(names: string[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const n of names) (seen.has(n) ? twice : seen).add(n);
  return twice;
}
