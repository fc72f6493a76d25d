// The endpoint policies a mode's pod gets, derived from typed conf keys and merged with the raw
// ones (hcn-api.md §2.4, windows-anchors.md §8):
//   OutBoundNAT   SNAT to the node, except towards what must see pod IPs (cluster, services,
//                 the node, and whatever the mode or the operator adds); one policy per family,
//                 with the conf's SNAT VIP and port-pool cap (snatVirtualIP, snatMaxPortPoolUsage);
//                 the pod's own subnet and private cluster DNS servers are exempt by default:
//                 SNAT ports are a finite host pool, and DNS is what fails first when it runs out
//                 (windows-anchors.md §7 pain point 14);
//   SDNRoute      the service prefix (and, on L2Bridge, the node's own IP) through the host with
//                 NeedEncap, so kube-proxy's rules apply and pod->node does not hairpin on the wire;
//   ProviderAddress  the node's underlay IP (overlay);
//   OutBoundNAT Destinations  loopback DSR (a pod reaching itself through a DSR service);
//   PortMapping   hostPorts;
//   InterfaceParameters  the interface MTU, when the conf sets one.

import type { EndpointPolicy, OutboundNatSettings } from '../hns/model/policy';
import { asList, type NetConf, type PortMapping } from '../config/types';
import { type Cidr, contains, type Family, formatCidr, formatIp, networkAddress, parseCidr, parseIp } from '../net/ip';
import { CniError, ErrorCode } from '../cni/errors';
import { portMappingPolicies, protocolNumber } from './port-mapping';
import { canonicalJson } from '../schema/canonical';

export interface PolicyInput {
  conf: NetConf;
  /** The pod's addresses (with prefix), one per family at most. */
  podAddresses: Cidr[];
  /** Never-SNAT prefixes the mode adds (upstream overlay ipMasq: the node's pod subnet; l3-upstream: routedCIDRs). */
  modeExceptions: string[];
  /** L2Bridge: route the node's own IP through the host. */
  nodeIpRoute: boolean;
  /** L2Bridge: PortMapping needs LocalRoutedVip. */
  localRoutedVip: boolean;
  /** Overlay: the node's provider address. */
  providerAddress?: string;
  /** Loopback DSR was asked for and the service supports it (the caller checks the version). */
  loopbackDsr: boolean;
  /** The host port mappings the mode applies. */
  portMappings: PortMapping[];
  /** Raw policies from the conf, already normalized to v2. */
  raw: EndpointPolicy[];
  /** The pod's DNS servers (conf and runtime merged). */
  dnsServers?: string[];
  /** What the derivation did on its own that the operator should know of (logged). */
  warnings?: string[];
}

function familyOf(text: string): Family | undefined {
  return parseCidr(text)?.ip.family ?? parseIp(text)?.family;
}

function hostPrefix(ip: string): string {
  return `${ip}/${familyOf(ip) === 6 ? 128 : 32}`;
}

/** Prefixes that must see pod IPs, for one family, in a stable order without duplicates. */
export function natExceptions(input: PolicyInput, family: Family): string[] {
  const c = input.conf;
  const node = c.nodeSubnet !== undefined ? asList(c.nodeSubnet) : asList(c.nodeIP).map(hostPrefix);
  const all = [...asList(c.clusterCIDR), ...asList(c.serviceCIDR), ...node, ...(c.ipMasqNetwork ? [c.ipMasqNetwork] : []), ...input.modeExceptions, ...(c.noSnatCIDRs ?? [])];
  return [...new Set(all.filter((p) => familyOf(p) === family))];
}

function outboundNat(input: PolicyInput, families: Family[], raw: EndpointPolicy[]): EndpointPolicy[] {
  const c = input.conf;
  const set = SNAT_TUNING_KEYS.filter((k) => c[k] !== undefined);
  if (c.snat === false) {
    if (set.length) input.warnings?.push(`${set.join(', ')} ignored: "snat" is false, so the pod gets no OutBoundNAT policy`);
    return [];
  }
  const out: EndpointPolicy[] = [];
  const tuned: Family[] = [];
  for (const family of families) {
    const exceptions = natExceptions(input, family);
    const wanted = exceptions.length > 0 || c.ipMasq === true;
    // An OutBoundNAT the operator wrote (not a DSR one) absorbs ours: one SNAT policy per family.
    const existing = raw.find((p) => p.Type === 'OutBoundNAT' && !p.Settings?.Destinations && sameFamilyPolicy(p.Settings, family));
    if (!wanted && !existing) continue;
    const s = existing ? ((existing.Settings ??= {}) as OutboundNatSettings) : { Exceptions: [] as string[] } as OutboundNatSettings;
    s.Exceptions = [...new Set([...(s.Exceptions ?? []), ...exceptions])];
    s.Exceptions.push(...defaultExceptions(input, family, s.Exceptions));
    if (!existing && family === 6) s.Flags = 2; // NatFlags.IPv6
    tune(s, c, family);
    tuned.push(family);
    if (!existing) out.push({ Type: 'OutBoundNAT', Settings: s });
  }
  if (set.length && tuned.length === 0) input.warnings?.push(`${set.join(', ')} not applied: nothing asks for SNAT (no clusterCIDR, serviceCIDR, nodeIP, noSnatCIDRs, ipMasq or OutBoundNAT policy)`);
  return out;
}

const SNAT_TUNING_KEYS = ['snatVirtualIP', 'snatMaxPortPoolUsage'] as const;

/** The conf's SNAT address (of this family) and port-pool cap on one OutBoundNAT; a raw policy that says otherwise is a conflict, not overridden. */
function tune(s: OutboundNatSettings, c: NetConf, family: Family): void {
  const vip = asList(c.snatVirtualIP).find((ip) => familyOf(ip) === family);
  if (vip !== undefined) s.VirtualIP = agree(s.VirtualIP || undefined, vip, 'snatVirtualIP', 'VirtualIP');
  if (c.snatMaxPortPoolUsage !== undefined) s.MaxPortPoolUsage = agree(s.MaxPortPoolUsage, c.snatMaxPortPoolUsage, 'snatMaxPortPoolUsage', 'MaxPortPoolUsage');
}

function agree<T>(current: T | undefined, wanted: T, key: string, field: string): T {
  if (current !== undefined && current !== wanted) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `"${key}" (${String(wanted)}) contradicts the OutBoundNAT policy's ${field} (${String(current)})`, `set one of them, not both`);
  }
  return wanted;
}

/**
 * What is exempt unless the conf turns it off (snatDefaultExceptions false): the pod's own subnet
 * (in-cluster by definition) and the pod's DNS servers in private-use ranges (the cluster DNS is
 * a service IP; a public resolver must stay SNATed, its answers could not come back to a pod IP).
 * Only what no exception covers yet is added, and each is reported.
 */
function defaultExceptions(input: PolicyInput, family: Family, have: string[]): string[] {
  if (input.conf.snatDefaultExceptions === false) return [];
  const covered = (ip: Cidr) => have.some((h) => { const e = parseCidr(h) ?? hostCidr(h); return !!e && e.prefix <= ip.prefix && contains(e, ip.ip); });
  const add: string[] = [];
  const own = input.podAddresses.filter((a) => a.ip.family === family).map((a) => ({ ip: networkAddress(a), prefix: a.prefix }));
  const dns = (input.dnsServers ?? []).map((t) => hostCidr(t)).filter((d): d is Cidr => !!d && d.ip.family === family && isPrivateUse(d));
  for (const [what, c] of [...own.map((c) => ['the pod subnet', c] as const), ...dns.map((c) => ['the DNS server', c] as const)]) {
    const text = formatCidr(c);
    if (covered(c) || add.includes(text)) continue;
    add.push(text);
    input.warnings?.push(`${text} (${what}) is exempt from SNAT by default; set "snatDefaultExceptions": false to SNAT it`);
  }
  return add;
}

function hostCidr(text: string): Cidr | undefined {
  const ip = parseIp(text);
  return ip ? { ip, prefix: ip.family === 6 ? 128 : 32 } : undefined;
}

/** RFC 1918, RFC 6598 (shared address space) and RFC 4193 (unique local) prefixes: where cluster DNS lives, never the internet. */
const PRIVATE_USE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'].map((p) => parseCidr(p)!);

function isPrivateUse(c: Cidr): boolean {
  return PRIVATE_USE.some((p) => contains(p, c.ip));
}

function sameFamilyPolicy(s: OutboundNatSettings | undefined, family: Family): boolean {
  const v6 = ((s?.Flags ?? 0) & 2) !== 0 || (s?.Exceptions ?? []).some((e) => familyOf(e) === 6);
  return family === 6 ? v6 : !v6;
}

function sdnRoutes(input: PolicyInput, families: Family[]): EndpointPolicy[] {
  const c = input.conf;
  const prefixes = [...asList(c.serviceCIDR), ...(input.nodeIpRoute ? asList(c.nodeIP).map(hostPrefix) : [])];
  return prefixes.filter((p) => families.includes(familyOf(p)!)).map((p) => ({ Type: 'SDNRoute', Settings: { DestinationPrefix: p, NeedEncap: true } }));
}

export function endpointPolicies(input: PolicyInput): EndpointPolicy[] {
  const families = [...new Set(input.podAddresses.map((a) => a.ip.family))];
  const raw = structuredClone(input.raw);
  const derived: EndpointPolicy[] = [];
  if (input.providerAddress && !raw.some((p) => p.Type === 'ProviderAddress')) {
    derived.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: input.providerAddress } });
  }
  derived.push(...outboundNat(input, families, raw));
  derived.push(...sdnRoutes(input, families));
  const v4 = input.podAddresses.find((a) => a.ip.family === 4);
  if (input.loopbackDsr && v4) derived.push(dsrPolicy(formatIp(v4.ip)));
  derived.push(...portMappingPolicies(input.portMappings, { localRoutedVip: input.localRoutedVip, ipv6: families.includes(6) }));
  if (input.conf.mtu !== undefined) derived.push({ Type: 'InterfaceParameters', Settings: { Mtu: input.conf.mtu } });
  return dedupe([...raw, ...derived]);
}

/** Loopback DSR: traffic from the pod to its own address is SNATed, so a DSR service can answer it. */
export function dsrPolicy(podIpv4: string): EndpointPolicy {
  return { Type: 'OutBoundNAT', Settings: { Destinations: [podIpv4] } };
}

/** sdnbridge's optionalFlags.allowAclPortMapping: an inbound Allow ACL for each mapped container port. */
export function aclForPortMappings(mappings: PortMapping[]): EndpointPolicy[] {
  return mappings.map((m, i) => ({
    Type: 'ACL',
    Settings: { Protocols: String(protocolNumber(m.protocol ?? 'tcp', `runtimeConfig.portMappings[${i}].protocol`)), Action: 'Allow', Direction: 'In', LocalPorts: String(m.containerPort), Priority: ACL_PORT_MAPPING_PRIORITY },
  }));
}

/** The priority sdnbridge gives these ACLs (windows-anchors.md §4.1). */
const ACL_PORT_MAPPING_PRIORITY = 1000;

/** The same policy twice (a raw one and a derived one) would be refused or doubled by the service. */
function dedupe(policies: EndpointPolicy[]): EndpointPolicy[] {
  const seen = new Set<string>();
  return policies.filter((p) => {
    const k = canonicalJson(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
