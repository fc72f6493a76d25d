// The endpoint a pod gets, from the IPAM's addresses and the mode's rules: addresses, default
// routes via the mode's gateway, DNS (conf merged with the runtime's), MAC, and policies.

import { CniError, ErrorCode } from '../cni/errors';
import type { Dns, Route100 } from '../cni/result/v100';
import type { NetConf } from '../config/types';
import type { HostComputeNetwork } from '../hns/model/network';
import type { Route } from '../hns/model/common';
import type { EndpointPolicy } from '../hns/model/policy';
import type { HnsFeatures } from '../hns/features';
import { type Cidr, contains, formatCidr, formatIp, parseCidr } from '../net/ip';
import type { EndpointRequest } from '../pod/add';
import { endpointPolicies } from '../policy/derive';
import { rawEndpointPolicies } from '../policy/raw';
import type { Mode, ModeInput } from './mode';

export interface PodAddress {
  cidr: Cidr;
  /** `10.244.3.17/24` */
  text: string;
  gateway: string;
}

export interface EndpointPlan {
  request: EndpointRequest;
  addresses: PodAddress[];
  /** Routes for the result: a default route per family, then the IPAM's. */
  routes: Route100[];
  dns: Dns;
  policies: EndpointPolicy[];
  mtu?: number;
}

export interface PlanInput<C extends NetConf> {
  mode: Mode<C>;
  conf: C;
  net: HostComputeNetwork;
  /** `address/prefix` texts (from the IPAM on ADD, from prevResult on CHECK). */
  addresses: string[];
  ipamRoutes?: Route100[];
  /** Asked only when a feature gate matters (dual-stack, loopback DSR): one more HNS call. */
  features: () => Promise<HnsFeatures>;
  /** CHECK recomputes what ADD made: the gates were passed then. */
  skipFeatureGates?: boolean;
}

/** Subnets of the HNS network, for checking that the IPAM's addresses belong to it. */
export function networkSubnets(net: HostComputeNetwork): Cidr[] {
  return (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []).map((s) => (s.IpAddressPrefix ? parseCidr(s.IpAddressPrefix) : undefined)).filter((c): c is Cidr => !!c);
}

/** One address per family, each inside the network and allowed by the mode. */
export function podAddresses<C extends NetConf>(mode: Mode<C>, net: HostComputeNetwork, texts: string[]): Cidr[] {
  const out: Cidr[] = [];
  const subnets = networkSubnets(net);
  for (const text of texts) {
    const c = parseCidr(text);
    if (!c) throw new CniError(ErrorCode.IpamFailure, `IPAM returned ${JSON.stringify(text)}, which is not an address with a prefix length`);
    if (c.ip.family === 6 && !mode.ipv6) throw new CniError(ErrorCode.UnsupportedField, `${mode.plugin} does not support IPv6, but the IPAM returned ${text}`, 'VXLAN overlay networks on Windows are IPv4 only; remove the IPv6 range from "ipam"');
    if (out.some((o) => o.ip.family === c.ip.family)) throw new CniError(ErrorCode.IpamFailure, `the IPAM returned more than one IPv${c.ip.family} address (${texts.join(', ')})`, 'an HNS endpoint takes one address per family');
    if (subnets.length > 0 && !subnets.some((s) => contains(s, c.ip))) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `the IPAM returned ${text}, which is outside HNS network "${net.Name}" (${subnets.map(formatCidr).join(', ')})`, 'the IPAM range must be the node\'s pod subnet');
    }
    out.push(c);
  }
  if (out.length === 0) throw new CniError(ErrorCode.IpamFailure, 'the IPAM returned no address for the pod');
  return out;
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

export async function planEndpoint<C extends NetConf>(p: PlanInput<C>): Promise<EndpointPlan> {
  const { mode, conf, net } = p;
  const cidrs = podAddresses(mode, net, p.addresses);
  const input: ModeInput<C> = { conf, net, addresses: cidrs };
  const dualStack = cidrs.length > 1;
  const needsFeatures = !p.skipFeatureGates && (dualStack || conf.loopbackDSR === true);
  const features = needsFeatures ? await p.features() : undefined;
  const version = features ? `${features.version.Major}.${features.version.Minor}` : '';
  if (features && dualStack && !features.ipv6DualStack) {
    throw new CniError(ErrorCode.FeatureUnsupported, `dual-stack pods need HNS 11.10 or later; this node runs HNS ${version}`);
  }
  if (features && conf.loopbackDSR && !features.dsr) {
    throw new CniError(ErrorCode.FeatureUnsupported, `loopbackDSR needs HNS DSR support (9.3-9.x or 10.2 and later); this node runs HNS ${version}`, 'remove "loopbackDSR" from the conf, or update Windows');
  }
  const addresses = cidrs.map((c) => ({ cidr: c, text: formatCidr(c), gateway: mode.gateway(c, input) }));
  const clash = addresses.find((a) => formatIp(a.cidr.ip) === a.gateway);
  if (clash) {
    throw new CniError(ErrorCode.AddressConflict, `the IPAM handed out ${clash.gateway}, which is the pods' gateway`, 'keep the gateway out of the IPAM range (rangeStart above it, or "reserved" with the built-in IPAM)');
  }
  const raw = rawEndpointPolicies(conf).policies;
  const policies = endpointPolicies({
    conf,
    podAddresses: cidrs,
    modeExceptions: mode.natExceptions(input),
    nodeIpRoute: mode.bridged,
    localRoutedVip: mode.bridged,
    providerAddress: mode.providerAddress?.(input),
    loopbackDsr: conf.loopbackDSR === true,
    raw,
  });
  const routes = resultRoutes(addresses, p.ipamRoutes ?? []);
  const dns = mergeDns(conf);
  const request: EndpointRequest = {
    IpConfigurations: cidrs.map((c) => ({ IpAddress: formatIp(c.ip), PrefixLength: c.prefix })),
    Routes: routes.map((r): Route => ({ DestinationPrefix: r.dst, NextHop: r.gw ?? gatewayFor(addresses, r.dst) })),
  };
  const hdns = hnsDns(dns);
  if (hdns) request.Dns = hdns;
  const mac = mode.mac?.(input);
  if (mac) request.MacAddress = mac;
  if (policies.length) request.Policies = policies;
  return { request, addresses, routes, dns, policies, mtu: mode.mtu?.(conf) ?? conf.mtu };
}

/** A default route per family via the pod's gateway, then the IPAM's routes (without duplicates). */
function resultRoutes(addresses: PodAddress[], ipamRoutes: Route100[]): Route100[] {
  const out: Route100[] = addresses.map((a) => ({ dst: a.cidr.ip.family === 4 ? '0.0.0.0/0' : '::/0', gw: a.gateway }));
  for (const r of ipamRoutes) {
    const dst = parseCidr(r.dst);
    if (!dst || !addresses.some((a) => a.cidr.ip.family === dst.ip.family)) continue;
    const isDefault = dst.prefix === 0;
    if (isDefault && !r.gw) continue; // "default route" with no gateway: ours already is
    if (out.some((o) => o.dst === r.dst && (o.gw ?? '') === (r.gw ?? ''))) continue;
    out.push(r.gw ? { dst: r.dst, gw: r.gw } : { dst: r.dst });
  }
  return out;
}

function gatewayFor(addresses: PodAddress[], dst: string): string {
  const family = parseCidr(dst)?.ip.family;
  return addresses.find((a) => a.cidr.ip.family === family)?.gateway ?? '';
}
