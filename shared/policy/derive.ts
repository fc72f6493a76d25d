// The endpoint policies a mode's pod gets, derived from typed conf keys and merged with the raw
// ones (hcn-api.md §2.4, windows-anchors.md §8):
//   OutBoundNAT   SNAT to the node, except towards what must see pod IPs (cluster, services,
//                 the node, and whatever the mode or the operator adds); one policy per family;
//   SDNRoute      the service prefix (and, on L2Bridge, the node's own IP) through the host with
//                 NeedEncap, so kube-proxy's rules apply and pod->node does not hairpin on the wire;
//   ProviderAddress  the node's underlay IP (overlay);
//   OutBoundNAT Destinations  loopback DSR (a pod reaching itself through a DSR service);
//   PortMapping   hostPorts;
//   InterfaceParameters  the interface MTU, when the conf sets one.

import type { EndpointPolicy, OutboundNatSettings } from '../hns/model/policy';
import { asList, type NetConf, type PortMapping } from '../config/types';
import { type Cidr, type Family, formatIp, parseCidr, parseIp } from '../net/ip';
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
  if (input.conf.snat === false) return [];
  const out: EndpointPolicy[] = [];
  for (const family of families) {
    const exceptions = natExceptions(input, family);
    const wanted = exceptions.length > 0 || input.conf.ipMasq === true;
    if (!wanted) continue;
    // An OutBoundNAT the operator wrote (not a DSR one) absorbs ours: one SNAT policy per family.
    const existing = raw.find((p) => p.Type === 'OutBoundNAT' && !p.Settings?.Destinations && sameFamilyPolicy(p.Settings, family));
    if (existing) {
      const s = (existing.Settings ??= {}) as OutboundNatSettings;
      s.Exceptions = [...new Set([...(s.Exceptions ?? []), ...exceptions])];
      continue;
    }
    const settings: OutboundNatSettings = { Exceptions: exceptions };
    if (family === 6) settings.Flags = 2; // NatFlags.IPv6
    out.push({ Type: 'OutBoundNAT', Settings: settings });
  }
  return out;
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
