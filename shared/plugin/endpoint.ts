// The endpoint a pod gets, from the IPAM's addresses (or the network's subnet, when HNS assigns
// the address) and the mode's rules: addresses, one default route per family via the pod's
// gateway, DNS (conf merged with the runtime's), MAC, and policies.

import { CniError, ErrorCode } from '../cni/errors';
import type { Dns, Route100 } from '../cni/result/v100';
import type { NetConf } from '../config/types';
import type { HostComputeEndpoint } from '../hns/model/endpoint';
import type { HostComputeNetwork } from '../hns/model/network';
import type { Route } from '../hns/model/common';
import type { EndpointPolicy } from '../hns/model/policy';
import type { HnsFeatures } from '../hns/features';
import { type Cidr, contains, type Family, formatCidr, formatIp, networkAddress, parseCidr, parseIp } from '../net/ip';
import type { EndpointRequest } from '../pod/add';
import { aclForPortMappings, dsrPolicy, endpointPolicies } from '../policy/derive';
import { rawEndpointPolicies } from '../policy/raw';
import { gatewayOverride, hnsAssignsAddress, wantsLoopbackDsr } from './conf';
import type { Mode, ModeInput } from './mode';

export interface PodAddress {
  cidr: Cidr;
  /** `10.244.3.17/24` */
  text: string;
  gateway: string;
}

export interface EndpointPlan {
  request: EndpointRequest;
  /** The pod's addresses; with `hnsAssigned`, the network subnets HNS will pick them from. */
  addresses: PodAddress[];
  /** HNS picks the addresses when it creates the endpoint (ipam without a type). */
  hnsAssigned: boolean;
  /** Routes for the result: a default route per family, then the others. */
  routes: Route100[];
  dns: Dns;
  policies: EndpointPolicy[];
  /** Policies that need the address HNS assigns (added right after the create). */
  policiesAfterCreate?: (created: HostComputeEndpoint) => EndpointPolicy[];
  mtu?: number;
  /** What the plan could not honour as asked, for the log and stderr. */
  warnings: string[];
}

export interface PlanInput<C extends NetConf> {
  mode: Mode<C>;
  conf: C;
  net: HostComputeNetwork;
  /** `address/prefix` texts (from the IPAM on ADD, from prevResult on CHECK); undefined: HNS assigns. */
  addresses?: string[];
  ipamRoutes?: Route100[];
  /** Asked only when a feature gate matters (dual-stack, loopback DSR, MTU): one more HNS call. */
  features: () => Promise<HnsFeatures>;
  /** CHECK recomputes what ADD made: the gates were passed then. */
  skipFeatureGates?: boolean;
}

/** Subnets of the HNS network, for checking that the IPAM's addresses belong to it. */
export function networkSubnets(net: HostComputeNetwork): Cidr[] {
  return (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []).map((s) => (s.IpAddressPrefix ? parseCidr(s.IpAddressPrefix) : undefined)).filter((c): c is Cidr => !!c);
}

/**
 * One address per family, each inside the network and allowed by the mode, with the prefix
 * length of the network subnet holding it: that is the pod's on-link prefix (upstream sends no
 * PrefixLength and HNS takes the subnet's), whatever range the IPAM was given.
 */
export function podAddresses<C extends NetConf>(mode: Mode<C>, net: HostComputeNetwork, texts: string[]): Cidr[] {
  const out: Cidr[] = [];
  const subnets = networkSubnets(net);
  for (const text of texts) {
    const c = parseCidr(text);
    if (!c) throw new CniError(ErrorCode.IpamFailure, `IPAM returned ${JSON.stringify(text)}, which is not an address with a prefix length`);
    if (c.ip.family === 6 && !mode.ipv6) throw new CniError(ErrorCode.UnsupportedField, `${mode.plugin} does not support IPv6, but the IPAM returned ${text}`, 'VXLAN overlay networks on Windows are IPv4 only; remove the IPv6 range from "ipam"');
    if (out.some((o) => o.ip.family === c.ip.family)) throw new CniError(ErrorCode.IpamFailure, `the IPAM returned more than one IPv${c.ip.family} address (${texts.join(', ')})`, 'an HNS endpoint takes one address per family');
    if (subnets.length === 0) {
      out.push(c);
      continue;
    }
    const home = subnets.find((s) => contains(s, c.ip));
    if (!home) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `the IPAM returned ${text}, which is outside HNS network "${net.Name}" (${subnets.map(formatCidr).join(', ')})`, 'the IPAM range must be the node\'s pod subnet');
    }
    out.push({ ip: c.ip, prefix: home.prefix });
  }
  if (out.length === 0) throw new CniError(ErrorCode.IpamFailure, 'the IPAM returned no address for the pod');
  return out;
}

/** The subnet HNS assigns from when the endpoint asks for no address: the network's first. */
function assignableSubnet<C extends NetConf>(mode: Mode<C>, net: HostComputeNetwork, conf: C): Cidr {
  const subnets = networkSubnets(net);
  const first = subnets[0];
  if (!first) throw new CniError(ErrorCode.NetworkUnavailable, `HNS network "${net.Name}" has no subnet, so HNS cannot assign the pod an address`, 'give the conf an IPAM ("ipam": {"type": "host-local", ...}), or create the network with a subnet');
  if (first.ip.family === 6 && !mode.ipv6) throw new CniError(ErrorCode.UnsupportedField, `${mode.plugin} does not support IPv6, and HNS network "${net.Name}" would assign from ${formatCidr(first)}`);
  const wanted = conf.ipam?.subnet ? parseCidr(conf.ipam.subnet) : undefined;
  if (wanted && !subnets.some((s) => s.prefix === wanted.prefix && networkAddress(s).value === networkAddress(wanted).value && s.ip.family === wanted.ip.family)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network configuration: key "ipam.subnet" is ${conf.ipam!.subnet}, which is not a subnet of HNS network "${net.Name}" (${subnets.map(formatCidr).join(', ')})`, 'without an IPAM type, HNS assigns the address from the network\'s own subnet');
  }
  return { ip: networkAddress(first), prefix: first.prefix };
}

export function mergeDns(conf: NetConf): Dns {
  const d: Dns = { ...(conf.dns ?? {}) };
  const rt = conf.runtimeConfig?.dns;
  // Each list the runtime sends replaces the conf's (upstream win-bridge behaviour, spec H07).
  if (rt?.servers?.length) d.nameservers = [...rt.servers];
  if (rt?.searches?.length) d.search = [...rt.searches];
  if (rt?.options?.length) d.options = [...rt.options];
  return d;
}

function hnsDns(d: Dns): EndpointRequest['Dns'] | undefined {
  const out: NonNullable<EndpointRequest['Dns']> = {};
  if (d.nameservers?.length) out.ServerList = d.nameservers;
  if (d.search?.length) out.Search = d.search;
  if (d.domain) out.Domain = d.domain;
  if (d.options?.length) out.Options = d.options;
  return Object.keys(out).length ? out : undefined;
}

async function checkFeatures<C extends NetConf>(p: PlanInput<C>, dualStack: boolean): Promise<void> {
  const { conf } = p;
  const dsr = wantsLoopbackDsr(conf);
  if (p.skipFeatureGates || !(dualStack || dsr || conf.mtu !== undefined)) return;
  const features = await p.features();
  const version = `${features.version.Major}.${features.version.Minor}`;
  if (dualStack && !features.ipv6DualStack) {
    throw new CniError(ErrorCode.FeatureUnsupported, `dual-stack pods need HNS 11.10 or later; this node runs HNS ${version}`);
  }
  if (dsr && !features.dsr) {
    throw new CniError(ErrorCode.FeatureUnsupported, `loopbackDSR needs HNS DSR support (9.3-9.x or 10.2 and later); this node runs HNS ${version}`, 'remove "loopbackDSR" from the conf, or update Windows');
  }
  if (conf.mtu !== undefined && !features.interfaceParameters) {
    throw new CniError(ErrorCode.FeatureUnsupported, `key "mtu" needs the InterfaceParameters endpoint policy, which this node's HNS ${version} does not have`, `remove "mtu" from the conf: the pod keeps the adapter's MTU (upstream plugins set none)`);
  }
}

export async function planEndpoint<C extends NetConf>(p: PlanInput<C>): Promise<EndpointPlan> {
  const { mode, conf, net } = p;
  const warnings: string[] = [];
  const hnsAssigned = p.addresses === undefined;
  const cidrs = hnsAssigned ? [assignableSubnet(mode, net, conf)] : podAddresses(mode, net, p.addresses!);
  const input: ModeInput<C> = { conf, net, addresses: cidrs };
  await checkFeatures(p, cidrs.length > 1);
  const addresses = cidrs.map((c) => ({ cidr: c, text: formatCidr(c), gateway: gatewayOverride(conf, c.ip.family) ?? mode.gateway(c, input) }));
  const clash = hnsAssigned ? undefined : addresses.find((a) => formatIp(a.cidr.ip) === a.gateway);
  if (clash) {
    throw new CniError(ErrorCode.AddressConflict, `the IPAM handed out ${clash.gateway}, which is the pods' gateway`, 'keep the gateway out of the IPAM range (rangeStart above it, or "reserved" with the built-in IPAM)');
  }
  const raw = rawEndpointPolicies(conf).policies;
  const dsr = wantsLoopbackDsr(conf);
  const mappings = portMappingsFor(mode, conf, warnings);
  const dns = mergeDns(conf);
  const policies = endpointPolicies({
    conf,
    podAddresses: cidrs,
    modeExceptions: mode.natExceptions(input),
    nodeIpRoute: mode.bridged,
    localRoutedVip: mode.bridged,
    providerAddress: mode.providerAddress?.(input),
    loopbackDsr: dsr && !hnsAssigned,
    portMappings: mappings,
    raw,
    dnsServers: dns.nameservers,
    warnings,
  });
  if (conf.optionalFlags?.allowAclPortMapping) policies.push(...aclForPortMappings(mappings));
  const routes = resultRoutes(addresses, [...(p.ipamRoutes ?? []), ...extraRoutes(conf)], warnings);
  const request: EndpointRequest = {
    Routes: routes.map((r): Route => ({ DestinationPrefix: r.dst, NextHop: r.gw ?? defaultGateway(addresses, r.dst) })),
  };
  if (!hnsAssigned) request.IpConfigurations = cidrs.map((c) => ({ IpAddress: formatIp(c.ip), PrefixLength: c.prefix }));
  const hdns = hnsDns(dns);
  if (hdns) request.Dns = hdns;
  const mac = hnsAssigned ? undefined : mode.mac?.(input);
  if (mac) request.MacAddress = mac;
  if (hnsAssigned && mode.mac && (conf as { endpointMacPrefix?: string }).endpointMacPrefix) {
    warnings.push('endpointMacPrefix is not applied: HNS assigns the address, so the MAC (derived from it) is HNS\'s own');
  }
  if (policies.length) request.Policies = policies;
  const plan: EndpointPlan = { request, addresses, hnsAssigned, routes, dns, policies, mtu: mode.mtu?.(conf) ?? conf.mtu, warnings };
  if (hnsAssigned && dsr) plan.policiesAfterCreate = (created) => assignedAddresses(plan, created).filter((a) => a.cidr.ip.family === 4).map((a) => dsrPolicy(formatIp(a.cidr.ip)));
  return plan;
}

/** runtimeConfig.portMappings, unless the mode does not apply them (overlay without hostPorts). */
function portMappingsFor<C extends NetConf>(mode: Mode<C>, conf: C, warnings: string[]) {
  const mappings = conf.runtimeConfig?.portMappings ?? [];
  if (mappings.length === 0 || mode.appliesPortMappings(conf)) return mappings;
  warnings.push(`${mappings.length} host port mapping(s) not applied: upstream win-overlay never sends them and HNS support on Overlay networks is unproven; set "hostPorts": true to send them`);
  return [];
}

/** The addresses HNS gave an endpoint created without any (the plan's placeholders replaced). */
export function assignedAddresses(plan: EndpointPlan, endpoint: HostComputeEndpoint): PodAddress[] {
  if (!plan.hnsAssigned) return plan.addresses;
  const out: PodAddress[] = [];
  for (const c of endpoint.IpConfigurations ?? []) {
    const ip = c.IpAddress ? parseIp(c.IpAddress) : undefined;
    if (!ip) continue;
    const home = plan.addresses.find((a) => contains(a.cidr, ip)) ?? plan.addresses.find((a) => a.cidr.ip.family === ip.family);
    const prefix = c.PrefixLength ?? home?.cidr.prefix ?? (ip.family === 4 ? 32 : 128);
    const cidr = { ip, prefix };
    out.push({ cidr, text: formatCidr(cidr), gateway: home?.gateway ?? '' });
  }
  return out;
}

/** Routes the conf adds besides the default: typeless ipam routes and sdnbridge's additionalRoutes. */
function extraRoutes(conf: NetConf): Route100[] {
  const out: Route100[] = [];
  const routes = [...(hnsAssignsAddress(conf) ? conf.ipam?.routes ?? [] : []), ...(conf.additionalRoutes ?? [])];
  for (const r of routes) if (r.dst && parseCidr(r.dst)?.prefix !== 0) out.push({ dst: r.dst, gw: r.gw });
  return out;
}

/**
 * A default route per family via the pod's gateway, then the other routes (without duplicates).
 * A default route the IPAM gives through another gateway is dropped: two default routes would
 * send half the flows to an address nothing answers on (on L2Bridge, `.1`), and upstream
 * win-bridge routes only via its own gateway.
 */
function resultRoutes(addresses: PodAddress[], extra: Route100[], warnings: string[]): Route100[] {
  const out: Route100[] = addresses.map((a) => ({ dst: a.cidr.ip.family === 4 ? '0.0.0.0/0' : '::/0', gw: a.gateway }));
  for (const r of extra) {
    const dst = parseCidr(r.dst);
    if (!dst || !addresses.some((a) => a.cidr.ip.family === dst.ip.family)) continue;
    if (dst.prefix === 0) {
      const ours = out.find((o) => parseCidr(o.dst)?.ip.family === dst.ip.family);
      if (r.gw && ours && r.gw !== ours.gw) warnings.push(`the IPAM's default route ${r.dst} via ${r.gw} is replaced by the pod's gateway ${ours.gw}`);
      continue;
    }
    if (out.some((o) => o.dst === r.dst && (o.gw ?? '') === (r.gw ?? ''))) continue;
    out.push(r.gw ? { dst: r.dst, gw: r.gw } : { dst: r.dst });
  }
  return out;
}

function defaultGateway(addresses: PodAddress[], dst: string): string {
  const family: Family | undefined = parseCidr(dst)?.ip.family;
  return addresses.find((a) => a.cidr.ip.family === family)?.gateway ?? '';
}
