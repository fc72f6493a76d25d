// hnsctl validate, against the live node: a conf the plugin accepts, held against this host's HNS
// (through HnsClient) and IP stack (shared/host). What is checked, and why:
//   - the network `name` exists, of a type the mode runs on, and the IPAM's subnets lie in its
//     subnets (else every ADD fails: windows-anchors.md §2.2, §8);
//   - the pods' gateway: on L2Bridge `.2`, held by the host's bridge endpoint in the HostDefault
//     namespace, with forwarding on its vNIC (§5.2, §8.1); on Overlay the network's `.1`, which the
//     distributed router answers once HNS has given the network its DR MAC (§8.3);
//   - the HNS features the conf needs on this build (dual-stack, loopback DSR, mtu: hcn-api.md §4.8);
//   - nodeIP and providerAddress are addresses of this host;
//   - OutBoundNAT: the cluster and service prefixes are exceptions, and no exception is absurdly
//     wider than what it is for (§7 #13).

import { CniError } from '../../shared/cni/errors';
import { asList, type NetConf } from '../../shared/config/types';
import type { HnsFeatures } from '../../shared/hns/features';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';
import type { HostComputeNetwork } from '../../shared/hns/model/network';
import type { EndpointPolicy } from '../../shared/hns/model/policy';
import { isNotFound } from '../../shared/hns/errors';
import { overlayServiceFields } from '../../shared/hns/overlay';
import { canonicalIp, type HostInterface, interfaceWithAddress } from '../../shared/host/routes';
import { type Cidr, contains, type Family, formatCidr, formatIp, networkAddress, nthAddress, parseCidr, parseIp } from '../../shared/net/ip';
import { gatewayOverride, hnsAssignsAddress, wantsLoopbackDsr } from '../../shared/plugin/conf';
import { networkSubnets, planEndpoint } from '../../shared/plugin/endpoint';
import type { Mode } from '../../shared/plugin/mode';
import { networkMode } from '../../shared/pod/add';
import type { Entry, Judged, Severity, ValidateIo, ValidateOptions } from './validate';

export interface LiveContext {
  io: ValidateIo;
  opts: ValidateOptions;
  /** Asked once per run. */
  features: Promise<HnsFeatures> | undefined;
  host: { dispose(): Promise<void>; interfaces: Promise<HostInterface[]> } | undefined;
}

type Add = (severity: Severity, key: string, message: string) => void;

/** An exception this much wider than the cluster or service prefix it covers (2^8 times) is absurd (a /8 for a /16). */
const BROAD_BITS = 8;

function errText(err: unknown): string {
  if (err instanceof CniError) return err.details ? `${err.message} (${err.details})` : err.message;
  return (err as Error)?.message ?? String(err);
}

const familyOf = (text: string): Family | undefined => parseCidr(text)?.ip.family ?? parseIp(text)?.family;

function inside(inner: Cidr, outer: Cidr): boolean {
  return outer.prefix <= inner.prefix && contains(outer, inner.ip);
}

function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.prefix === b.prefix && a.ip.family === b.ip.family && networkAddress(a).value === networkAddress(b).value;
}

const show = (c: Cidr) => formatCidr({ ip: networkAddress(c), prefix: c.prefix });

/** A list-or-one key's path for one of its values: `nodeIP` or `nodeIP[1]`. */
function listKey(conf: NetConf, key: keyof NetConf, i: number): string {
  return Array.isArray(conf[key]) ? `${key}[${i}]` : key;
}

// --- the IPAM's subnets ------------------------------------------------------------------------

interface IpamSubnet {
  key: string;
  cidr: Cidr;
}

/** The subnets the IPAM allocates from, with their keys (host-local and the built-in IPAM read `subnet` and `ranges`). */
function ipamSubnets(conf: NetConf): IpamSubnet[] {
  const ipam = conf.ipam as { subnet?: unknown; ranges?: unknown } | undefined;
  const out: IpamSubnet[] = [];
  const take = (key: string, v: unknown) => {
    const c = typeof v === 'string' ? parseCidr(v) : undefined;
    if (c) out.push({ key, cidr: c });
  };
  take('ipam.subnet', ipam?.subnet);
  if (Array.isArray(ipam?.ranges)) {
    ipam.ranges.forEach((set, i) => Array.isArray(set) && set.forEach((r, j) => take(`ipam.ranges[${i}][${j}].subnet`, (r as { subnet?: unknown } | null)?.subnet)));
  }
  return out;
}

// --- entry -----------------------------------------------------------------------------------

export async function checkLive(ctx: LiveContext, entry: Entry, { conf, mode }: Judged, add: Add): Promise<void> {
  const client = await ctx.io.client();
  ctx.features ??= client.features();
  let features: HnsFeatures;
  try {
    features = await ctx.features;
  } catch (err) {
    add('error', '', `the Host Networking Service does not answer (${errText(err)}): nothing could be checked against the node`);
    return;
  }
  const interfaces = await hostInterfaces(ctx);
  checkAddresses(conf, mode, interfaces, add);
  let net: HostComputeNetwork;
  try {
    net = await client.getNetworkByName(conf.name);
  } catch (err) {
    if (isNotFound(err)) {
      add('error', 'name', `HNS network "${conf.name}" does not exist on this node: every ADD fails (code 101) until it does; the node agent (cni-agent) makes it, or hnsctl apply plugins/${mode.plugin}/examples/node-network.json`);
    } else add('error', 'name', `looking up HNS network "${conf.name}": ${errText(err)}`);
    return;
  }
  const type = networkMode(net);
  const subnetsText = networkSubnets(net).map(show).join(', ') || 'no subnet';
  if (!mode.networkTypes.includes(type)) {
    const other = type === 'Overlay' ? 'win-overlay' : type === 'L2Bridge' || type === 'L2Tunnel' ? 'win-l2bridge, host-gateway or l3-upstream' : undefined;
    add('error', 'type', `HNS network "${conf.name}" is of type ${type}, and ${mode.plugin} runs on ${mode.networkTypes.join(' or ')} networks: every ADD fails (code 101)${other ? `; a ${type} network is for ${other}` : ''}`);
    return;
  }
  add('ok', 'name', `HNS network "${conf.name}" exists: ${type}, ${subnetsText}`);
  const pods = checkSubnets(conf, mode, net, features, add);
  if (!pods) return;
  checkFeatures(conf, features, add);
  const endpoints = mode.bridged ? await client.listEndpointsOfNetwork(net.ID!) : [];
  const namespaces = mode.bridged ? await client.listNamespaces() : [];
  const hostDefault = new Set(namespaces.filter((n) => n.Type === 'HostDefault').map((n) => n.ID!.toUpperCase()));
  for (const p of pods.cidrs) {
    if (mode.bridged) checkBridgeGateway(conf, mode, net, p, endpoints, hostDefault, interfaces, add);
    else checkRouterGateway(conf, mode, net, p, add);
  }
  if (mode.providerAddress) checkProviderAddress(conf, net, features, add);
  let policies: EndpointPolicy[];
  try {
    const plan = await planEndpoint({ mode, conf, net, addresses: pods.samples, features: () => Promise.resolve(features), skipFeatureGates: true });
    policies = plan.policies;
  } catch (err) {
    add('error', '', `${mode.plugin} cannot plan a pod's endpoint on this node: ${errText(err)}`);
    return;
  }
  checkSnat(ctx.opts, conf, mode, net, pods.cidrs.map((c) => c.ip.family), policies, add);
}

async function hostInterfaces(ctx: LiveContext): Promise<HostInterface[] | undefined> {
  if (!ctx.host) {
    const open = ctx.io.openHost;
    if (!open) return undefined;
    const host = await open().catch(() => undefined);
    ctx.host = { dispose: () => host?.dispose() ?? Promise.resolve(), interfaces: host ? host.listInterfaces() : Promise.reject(new Error('the host\'s IP stack cannot be opened')) };
    ctx.host.interfaces.catch(() => undefined);
  }
  return ctx.host.interfaces.catch(() => undefined);
}

/** nodeIP and the overlay's providerAddress: addresses of this host, or the policies derived from them point elsewhere. */
function checkAddresses(conf: NetConf, mode: Mode<NetConf>, interfaces: HostInterface[] | undefined, add: Add): void {
  const given: [string, string][] = asList(conf.nodeIP).map((ip, i) => [listKey(conf, 'nodeIP', i), ip]);
  const pa = (conf as { providerAddress?: string }).providerAddress;
  if (pa) given.push(['providerAddress', pa]);
  if (given.length === 0) return;
  if (!interfaces) {
    add('warning', given[0]![0], 'the host\'s interfaces cannot be read here: whether the node\'s addresses are this host\'s is not checked');
    return;
  }
  const all = interfaces.flatMap((i) => i.addresses.map((a) => canonicalIp(a.address))).join(', ');
  for (const [key, ip] of given) {
    const on = interfaceWithAddress(interfaces, ip);
    const role = key === 'providerAddress' ? 'the VXLAN source address peers send to' : mode.bridged ? 'never SNATed and routed through the host' : 'never SNATed';
    if (on) add('ok', key, `${ip} is on interface ${on.alias || on.index}`);
    else add('error', key, `${ip} is on no interface of this host (its addresses: ${all || 'none'}): it is ${role}, so it must be this node's address; set it to the node's IP`);
  }
}

interface PodFamilies {
  /** One pod subnet per family (the network's subnet holding the IPAM's range, prefix of the network). */
  cidrs: Cidr[];
  /** Addresses a pod could get, for planning its endpoint as the plugin does; undefined: HNS assigns. */
  samples: string[] | undefined;
}

/**
 * The IPAM's subnets against the network's: each must lie in one (the plugin refuses an address
 * outside the network, code 7); without an IPAM type, `ipam.subnet` must be one of them.
 */
function checkSubnets(conf: NetConf, mode: Mode<NetConf>, net: HostComputeNetwork, features: HnsFeatures, add: Add): PodFamilies | undefined {
  const netSubnets = networkSubnets(net);
  const shown = netSubnets.map(show).join(', ') || 'none';
  if (netSubnets.length === 0) {
    add('error', 'name', `HNS network "${conf.name}" has no subnet: pods can get no address on it; re-create it with this node's pod subnet`);
    return undefined;
  }
  const subnets = ipamSubnets(conf);
  const assigned = hnsAssignsAddress(conf);
  const known = assigned || conf.ipam?.type === 'builtin' || conf.ipam?.type === 'host-local';
  if (!known && subnets.length === 0) add('info', 'ipam.type', `the IPAM plugin ${conf.ipam?.type} keeps its ranges to itself: whether they lie in the network's subnets (${shown}) is not checked`);
  let bad = false;
  const homes: Cidr[] = [];
  for (const s of subnets) {
    const home = netSubnets.find((n) => (assigned ? sameCidr(n, s.cidr) : inside(s.cidr, n)));
    if (s.cidr.ip.family === 6 && !mode.ipv6) {
      add('error', s.key, `${mode.plugin} does not support IPv6 (VXLAN overlay networks on Windows are IPv4 only), and the IPAM would hand out ${show(s.cidr)}: ADD fails (code 2); remove the IPv6 range`);
      bad = true;
    } else if (!home) {
      add('error', s.key, assigned
        ? `${show(s.cidr)} is not a subnet of HNS network "${conf.name}" (${shown}): without an IPAM type HNS assigns from the network's own subnet, and the plugin refuses the conf (code 7); set it to the network's subnet`
        : `${show(s.cidr)} is not inside HNS network "${conf.name}"'s subnets (${shown}): every address the IPAM hands out is refused (code 7); set it to this node's pod subnet`);
      bad = true;
    } else {
      add('ok', s.key, `${show(s.cidr)} lies in the network's subnet ${show(home)}`);
      if (!homes.some((h) => h.ip.family === home.ip.family)) homes.push(home);
    }
  }
  if (bad) return undefined;
  if (assigned) {
    const first = netSubnets[0]!;
    return { cidrs: [{ ip: networkAddress(first), prefix: first.prefix }], samples: undefined };
  }
  // A delegated IPAM whose ranges are unknown: the network's subnets stand for them.
  const cidrs = homes.length ? homes : netSubnets.filter((n, i) => (mode.ipv6 || n.ip.family === 4) && netSubnets.findIndex((m) => m.ip.family === n.ip.family) === i);
  if (cidrs.length > 1) {
    const v = `${features.version.Major}.${features.version.Minor}`;
    const key = subnets.find((s) => s.cidr.ip.family === 6)?.key.replace(/\[\d+\]\.subnet$/, '').replace(/\[\d+\]$/, '') ?? 'ipam';
    if (!features.ipv6DualStack) {
      add('error', key, `dual-stack pods need HNS 11.10 or later; this node runs HNS ${v}: ADD fails (code 107); give the IPAM one family, or update Windows`);
      return undefined;
    }
    add('ok', key, `dual-stack: HNS ${v} has IPv6 dual-stack (11.10 and later)`);
  }
  const samples = cidrs.map((c) => sampleAddress(conf, mode, net, c));
  return { cidrs, samples };
}

/** An address a pod could get in the subnet (not the network address nor the gateway), as `address/prefix`. */
function sampleAddress(conf: NetConf, mode: Mode<NetConf>, net: HostComputeNetwork, c: Cidr): string {
  const gateway = gatewayOverride(conf, c.ip.family) ?? mode.gateway(c, { conf, net, addresses: [c] });
  for (const n of [10n, 3n, 1n, 2n]) {
    const ip = nthAddress(c, n);
    if (contains(c, ip) && formatIp(ip) !== canonicalIp(gateway)) return `${formatIp(ip)}/${c.prefix}`;
  }
  return `${formatIp(c.ip)}/${c.prefix}`;
}

/** The key that sets the pods' gateway of a family, for findings about it. */
function gatewayKey(conf: NetConf, family: Family): string {
  const typed = family === 4 ? 'gateway' : 'gateway6';
  if (conf[typed]) return typed;
  if (conf.optionalFlags?.gatewayFromAdditionalRoutes && conf.additionalRoutes?.length) return 'additionalRoutes';
  if (hnsAssignsAddress(conf) && conf.ipam?.routes?.length) return 'ipam.routes';
  return typed;
}

function checkFeatures(conf: NetConf, features: HnsFeatures, add: Add): void {
  const v = `${features.version.Major}.${features.version.Minor}`;
  if (wantsLoopbackDsr(conf)) {
    const key = conf.loopbackDSR === true ? 'loopbackDSR' : 'optionalFlags.loopbackDSR';
    if (features.dsr) add('ok', key, `HNS ${v} has DSR (9.3-9.x, 10.2 and later)`);
    else add('error', key, `loopbackDSR needs HNS DSR support (9.3-9.x or 10.2 and later); this node runs HNS ${v}: ADD fails (code 107); remove it, or update Windows`);
  }
  if (conf.mtu !== undefined) {
    if (features.interfaceParameters) add('ok', 'mtu', `HNS ${v} has the InterfaceParameters endpoint policy (11.0 and later)`);
    else add('error', 'mtu', `"mtu" needs the InterfaceParameters endpoint policy, which this node's HNS ${v} does not have (11.0 and later): ADD fails (code 107); remove it: the pod keeps the adapter's MTU`);
  }
}

function holds(ep: HostComputeEndpoint, ip: string): boolean {
  return (ep.IpConfigurations ?? []).some((c) => c.IpAddress && canonicalIp(c.IpAddress) === canonicalIp(ip));
}

/** L2Bridge: the pods' gateway is the host's bridge endpoint, a vNIC of the host in the pod subnet. */
function checkBridgeGateway(conf: NetConf, mode: Mode<NetConf>, net: HostComputeNetwork, pod: Cidr, endpoints: HostComputeEndpoint[], hostDefault: Set<string>, interfaces: HostInterface[] | undefined, add: Add): void {
  const family = pod.ip.family;
  const key = gatewayKey(conf, family);
  const gateway = gatewayOverride(conf, family) ?? mode.gateway(pod, { conf, net, addresses: [pod] });
  const what = `the pods' IPv${family} gateway ${gateway}${conf[family === 4 ? 'gateway' : 'gateway6'] ? '' : ` (.2 of ${show(pod)})`}`;
  const holder = endpoints.find((e) => holds(e, gateway));
  if (!holder) {
    add('error', key, `${what} is held by no endpoint of HNS network "${net.Name}": the host's bridge endpoint (${net.Name}_ep, made by cni-agent, or hnsctl apply with "hostEndpoints") is missing, so pods have no gateway`);
    return;
  }
  const ns = holder.HostComputeNamespace?.toUpperCase();
  if (((holder.Flags ?? 0) & 1) !== 0 || !ns || !hostDefault.has(ns)) {
    const where = ((holder.Flags ?? 0) & 1) !== 0 ? 'a remote endpoint' : ns ? `in namespace ${holder.HostComputeNamespace}, not the host's` : 'in no namespace';
    add('error', key, `${what} is held by endpoint ${holder.Name ?? holder.ID}, ${where}: only an endpoint in the host's HostDefault namespace gives the host a vNIC that answers for pods; attach the bridge endpoint to the host (cni-agent, or hnsctl apply "hostEndpoints")`);
    return;
  }
  const vnic = interfaces ? interfaceWithAddress(interfaces, gateway) : undefined;
  if (interfaces && !vnic) {
    add('warning', key, `${what} is held by the host endpoint ${holder.Name}, but no interface of the host has the address yet`);
    return;
  }
  add('ok', key, `${what} is the host endpoint ${holder.Name}${vnic ? ` (${vnic.alias})` : ''}`);
  if (vnic && !(family === 4 ? vnic.forwarding.ipv4 : vnic.forwarding.ipv6)) {
    add('warning', key, `IPv${family} forwarding is off on ${vnic.alias}: the host does not route pods' traffic to other nodes and beyond; turn it on (cni-agent does; Set-NetIPInterface -InterfaceIndex ${vnic.index} -Forwarding Enabled)`);
  }
}

/** Overlay: the gateway is the network's own (.1), answered by the distributed router HNS runs once it gave the network a DR MAC. */
function checkRouterGateway(conf: NetConf, mode: Mode<NetConf>, net: HostComputeNetwork, pod: Cidr, add: Add): void {
  const family = pod.ip.family;
  const key = gatewayKey(conf, family);
  const networkGateway = mode.gateway(pod, { conf: { ...conf, gateway: undefined, gateway6: undefined }, net, addresses: [pod] });
  const gateway = gatewayOverride(conf, family) ?? networkGateway;
  if (canonicalIp(gateway) !== canonicalIp(networkGateway)) {
    add('warning', key, `the pods' gateway ${gateway} is not the network's gateway ${networkGateway}, the address the distributed router answers: pods would send to an address nothing answers; remove "${key}"`);
    return;
  }
  const { drMac } = overlayServiceFields(net);
  if (!drMac) {
    add('error', key, `the pods' gateway ${gateway} is answered by the distributed router, and HNS network "${net.Name}" has no DrMacAddress policy: HNS has not brought the network up; re-create it (cni-agent, or hnsctl apply)`);
    return;
  }
  add('ok', key, `the pods' gateway ${gateway} is the network's distributed router (DR MAC ${drMac})`);
}

/** Overlay: the endpoint's ProviderAddress is the VXLAN source; peers' RemoteSubnetRoutes name the network's. */
function checkProviderAddress(conf: NetConf, net: HostComputeNetwork, features: HnsFeatures, add: Add): void {
  const networkPa = overlayServiceFields(net).providerAddress;
  const typed = (conf as { providerAddress?: string }).providerAddress;
  const nodeIp = asList(conf.nodeIP).find((ip) => familyOf(ip) === 4);
  const pa = typed ?? networkPa ?? nodeIp;
  const key = typed ? 'providerAddress' : networkPa || !nodeIp ? 'providerAddress' : listKey(conf, 'nodeIP', asList(conf.nodeIP).indexOf(nodeIp));
  if (!pa) {
    add('error', key, `HNS network "${net.Name}" has no ProviderAddress policy and the conf sets none: ADD fails (code 101); HNS adds it when the network comes up, else set "providerAddress" (or "nodeIP")`);
    return;
  }
  if (networkPa && canonicalIp(pa) !== canonicalIp(networkPa)) {
    add('warning', key, `the pods' provider address ${pa} is not the network's ${networkPa}: peers' RemoteSubnetRoutes send this node's pods' traffic to ${networkPa}; remove "${key}" so the network's is used`);
  } else add('ok', key, `the pods' provider address is ${pa}${networkPa ? ', the network\'s' : ''}`);
  if (!features.remoteSubnet) {
    add('warning', 'type', `HNS ${features.version.Major}.${features.version.Minor} has no RemoteSubnetRoute (9.2 and later): pods on other nodes cannot be reached over VXLAN`);
  }
}

// --- SNAT ------------------------------------------------------------------------------------

interface Prefixes {
  list: Cidr[];
  /** Where they come from: a flag, or the conf key. */
  source: string;
  /** The conf key that adds them to the exceptions. */
  typedKey: string;
}

/** The cluster's or services' prefixes: the operator's flag, else the conf's key, else what an upstream conf says of them. */
function prefixesOf(opts: ValidateOptions, conf: NetConf, what: 'cluster' | 'service', policies: EndpointPolicy[], add: Add): Prefixes | undefined {
  const typedKey = what === 'cluster' ? 'clusterCIDR' : 'serviceCIDR';
  const flag = what === 'cluster' ? opts.clusterCIDRs : opts.serviceCIDRs;
  const typed = asList(conf[typedKey]);
  const parse = (xs: string[]) => xs.map(parseCidr).filter((c): c is Cidr => !!c);
  if (flag.length) {
    const fromFlag = parse(flag);
    if (typed.length) {
      const conf = parse(typed);
      const differ = conf.length !== fromFlag.length || conf.some((c) => !fromFlag.some((f) => sameCidr(c, f)));
      if (differ) add('warning', typedKey, `${typed.join(', ')} is not the ${what} CIDR given with --${what}-cidr (${flag.join(', ')})`);
    }
    return { list: fromFlag, source: `--${what}-cidr`, typedKey };
  }
  if (typed.length) return { list: parse(typed), source: typedKey, typedKey };
  // Upstream confs: flannel renders ipMasqNetwork from its cluster network (windows-anchors.md §5.1);
  // every published conf routes the service prefix through the host with SDNRoute NeedEncap (§8).
  if (what === 'cluster' && conf.ipMasqNetwork) return { list: parse([conf.ipMasqNetwork]), source: 'ipMasqNetwork', typedKey };
  if (what === 'service') {
    const routed = policies.filter((p) => p.Type === 'SDNRoute' && (p.Settings as { NeedEncap?: boolean } | undefined)?.NeedEncap)
      .map((p) => parseCidr(String((p.Settings as { DestinationPrefix?: string }).DestinationPrefix ?? '')))
      .filter((c): c is Cidr => !!c && c.prefix < (c.ip.family === 4 ? 32 : 128));
    if (routed.length) return { list: routed, source: 'the SDNRoute policies', typedKey };
  }
  return undefined;
}

interface Exception {
  cidr: Cidr;
  key: string;
  /** An exception the operator declared on purpose as a prefix that must see pod IPs (routedCIDRs, nodeSubnet, peers). */
  deliberate: boolean;
}

function rawPolicyEntries(conf: NetConf): { where: string; policy: Record<string, unknown> }[] {
  const out: { where: string; policy: Record<string, unknown> }[] = [];
  (conf.policies ?? []).forEach((e, i) => {
    if (e.name === undefined) out.push({ where: `policies[${i}]`, policy: e as Record<string, unknown> });
    else if (e.name === 'EndpointPolicy' && e.value) out.push({ where: `policies[${i}].value`, policy: e.value });
  });
  (conf.hcnPolicyArgs ?? []).forEach((p, i) => out.push({ where: `hcnPolicyArgs[${i}]`, policy: p as Record<string, unknown> }));
  (conf.AdditionalArgs ?? []).forEach((e, i) => {
    if (e.Name === 'EndpointPolicy' && e.Value) out.push({ where: `AdditionalArgs[${i}].Value`, policy: e.Value });
  });
  return out;
}

/** Every prefix that ends up an OutBoundNAT exception, with the key that put it there (shared/policy/derive.ts natExceptions). */
function exceptionSources(conf: NetConf, mode: Mode<NetConf>, net: HostComputeNetwork): { exceptions: Exception[]; rawLists: Map<Family, string> } {
  const exceptions: Exception[] = [];
  const rawLists = new Map<Family, string>();
  const take = (text: string, key: string, deliberate = false) => {
    const c = parseCidr(text) ?? (parseIp(text) ? parseCidr(`${text}/${familyOf(text) === 6 ? 128 : 32}`) : undefined);
    if (c) exceptions.push({ cidr: c, key, deliberate });
  };
  for (const { where, policy } of rawPolicyEntries(conf)) {
    if (policy.Type !== 'OutBoundNAT') continue;
    const settings = policy.Settings as { Exceptions?: unknown; Destinations?: unknown; Flags?: number } | undefined;
    const v1 = settings === undefined;
    const list = v1 ? policy.ExceptionList : settings.Exceptions;
    if ((v1 ? policy.Destinations : settings.Destinations) !== undefined) continue;
    const listKey = `${where}.${v1 ? 'ExceptionList' : 'Settings.Exceptions'}`;
    const items = Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
    items.forEach((p, i) => take(p, `${listKey}[${i}]`));
    const family: Family = ((settings?.Flags ?? 0) & 2) !== 0 || items.some((p) => familyOf(p) === 6) ? 6 : 4;
    if (!rawLists.has(family)) rawLists.set(family, listKey);
  }
  const typed: (keyof NetConf)[] = ['clusterCIDR', 'serviceCIDR'];
  for (const key of typed) asList(conf[key] as string | string[] | undefined).forEach((p, i) => take(p, listKey(conf, key, i)));
  if (conf.nodeSubnet !== undefined) asList(conf.nodeSubnet).forEach((p, i) => take(p, listKey(conf, 'nodeSubnet', i), true));
  else asList(conf.nodeIP).forEach((p, i) => take(p, listKey(conf, 'nodeIP', i)));
  if (conf.ipMasqNetwork) take(conf.ipMasqNetwork, 'ipMasqNetwork');
  (conf.noSnatCIDRs ?? []).forEach((p, i) => take(p, `noSnatCIDRs[${i}]`));
  const routed = (conf as { routedCIDRs?: string[] }).routedCIDRs;
  routed?.forEach((p, i) => take(p, `routedCIDRs[${i}]`, true));
  (conf as { peers?: { podCIDR: string }[] }).peers?.forEach((p, i) => take(p.podCIDR, `peers[${i}].podCIDR`, true));
  if (mode.plugin === 'win-overlay' && conf.ipMasq) networkSubnets(net).forEach((s) => take(show(s), 'ipMasq', true));
  return { exceptions, rawLists };
}

/**
 * A conf without any cluster key (win-bridge's): the exceptions that hold this node's pod subnet
 * stand for the cluster CIDR, as the plugin itself judges such a conf (shared/plugin/verbs.ts
 * warnIfClusterSnated).
 */
function clusterFromExceptions(mode: Mode<NetConf>, net: HostComputeNetwork, exceptions: Exception[], add: Add): Prefixes | undefined {
  const holding = exceptions.filter((e) => networkSubnets(net).some((s) => inside(s, e.cidr)));
  if (holding.length === 0) return undefined;
  add('info', 'clusterCIDR', `not set: the OutBoundNAT exception${holding.length > 1 ? 's' : ''} ${holding.map((e) => `${show(e.cidr)} (${e.key})`).join(', ')} holding this node's pod subnet stand${holding.length > 1 ? '' : 's'} for the cluster CIDR${mode.routesPodIps ? '; set "clusterCIDR" to say so' : ''}`);
  return { list: holding.map((e) => e.cidr), source: holding[0]!.key, typedKey: 'clusterCIDR' };
}

/** OutBoundNAT of the pod's endpoint (as planned by the plugin): what must see pod IPs is excepted, and nothing absurdly wider. */
function checkSnat(opts: ValidateOptions, conf: NetConf, mode: Mode<NetConf>, net: HostComputeNetwork, families: Family[], policies: EndpointPolicy[], add: Add): void {
  const { exceptions, rawLists } = exceptionSources(conf, mode, net);
  const cluster = prefixesOf(opts, conf, 'cluster', policies, add) ?? clusterFromExceptions(mode, net, exceptions, add);
  const service = prefixesOf(opts, conf, 'service', policies, add);
  for (const s of networkSubnets(net)) {
    const same = cluster?.list.filter((c) => c.ip.family === s.ip.family) ?? [];
    if (cluster && same.length && !same.some((c) => inside(s, c))) {
      add('error', cluster.source.startsWith('--') ? cluster.typedKey : cluster.source, `the cluster CIDR (${same.map(show).join(', ')}, from ${cluster.source}) does not hold this node's pod subnet ${show(s)}: one of them is wrong`);
    }
  }
  const nat = policies.filter((p) => p.Type === 'OutBoundNAT' && !(p.Settings as { Destinations?: unknown } | undefined)?.Destinations);
  for (const family of families) {
    const policy = nat.find((p) => {
      const s = p.Settings as { Exceptions?: string[]; Flags?: number } | undefined;
      const v6 = ((s?.Flags ?? 0) & 2) !== 0 || (s?.Exceptions ?? []).some((e) => familyOf(e) === 6);
      return family === 6 ? v6 : !v6;
    });
    if (!policy) {
      add('ok', 'snat', `no OutBoundNAT for IPv${family}: pods' traffic keeps the pod's address everywhere${conf.snat === false ? ' ("snat": false)' : ' (no exception key and no ipMasq)'}`);
      continue;
    }
    const list = ((policy.Settings as { Exceptions?: string[] } | undefined)?.Exceptions ?? []).map((e) => parseCidr(e)).filter((c): c is Cidr => !!c);
    const shown = list.map(show).join(', ') || 'none';
    for (const [what, p] of [['cluster', cluster], ['service', service]] as const) {
      if (!p && what === 'cluster') {
        // Nothing says what the cluster is, and no exception holds even this node's pod subnet.
        const subnets = networkSubnets(net).filter((x) => x.ip.family === family).map(show).join(', ');
        add(mode.routesPodIps ? 'error' : 'warning', rawLists.get(family) ?? 'clusterCIDR', `no OutBoundNAT exception holds this node's pod subnet ${subnets} (exceptions: ${shown}), so pods' traffic to pods on other nodes is SNATed to the node's address${mode.routesPodIps ? ', which this mode must never do' : ''}; set "clusterCIDR" (or pass --cluster-cidr to check against the cluster's)`);
        continue;
      }
      if (!p) {
        add('warning', 'serviceCIDR', `the service CIDR is unknown, so whether pods' traffic to services is SNATed cannot be told; set "serviceCIDR", or pass --service-cidr`);
        continue;
      }
      for (const c of p.list.filter((x) => x.ip.family === family)) {
        if (list.some((e) => inside(c, e))) {
          add('ok', rawLists.get(family) ?? p.typedKey, `the ${what} CIDR ${show(c)} is an OutBoundNAT exception: never SNATed`);
          continue;
        }
        const target = rawLists.get(family);
        const fix = target ? `add ${show(c)} to this list, or set "${p.typedKey}"` : `set "${p.typedKey}": "${show(c)}"`;
        const harm = what === 'cluster' ? (mode.routesPodIps ? 'pod-to-pod traffic across nodes is SNATed to the node\'s address, which this mode must never do' : 'traffic to pods on other nodes is SNATed to the node\'s address') : 'pods reach services with the node\'s address instead of their own';
        add('error', target ?? p.typedKey, `the ${what} CIDR ${show(c)} (from ${p.source}) is SNATed: no OutBoundNAT exception covers it (exceptions: ${shown}), so ${harm}; ${fix}`);
      }
    }
    const targets = [...(cluster?.list ?? []), ...(service?.list ?? [])].filter((c) => c.ip.family === family);
    for (const e of exceptions.filter((x) => x.cidr.ip.family === family && !x.deliberate)) {
      const covered = targets.filter((t) => inside(t, e.cidr));
      if (covered.length === 0) continue;
      const narrowest = covered.reduce((a, b) => (a.prefix >= b.prefix ? a : b));
      const bits = narrowest.prefix - e.cidr.prefix;
      if (bits < BROAD_BITS) continue;
      const factor = bits >= 31 ? `2^${bits}` : String(2 ** bits);
      const routedHint = mode.plugin === 'l3-upstream' ? ' (if all of it is routed to the pods, say so with "routedCIDRs")' : '';
      add('warning', e.key, `the OutBoundNAT exception ${show(e.cidr)} is ${factor} times the size of the ${cluster?.list.includes(narrowest) ? 'cluster' : 'service'} CIDR ${show(narrowest)} it covers: pods reach every host in it with their own address, unSNATed, and hosts there that do not route the pod network back cannot answer; narrow it to what must see pod IPs (clusterCIDR, serviceCIDR, nodeSubnet, noSnatCIDRs)${routedHint}`);
    }
  }
  if (service) {
    const routes = policies.filter((p) => p.Type === 'SDNRoute').map((p) => parseCidr(String((p.Settings as { DestinationPrefix?: string } | undefined)?.DestinationPrefix ?? ''))).filter((c): c is Cidr => !!c);
    for (const c of service.list.filter((x) => families.includes(x.ip.family))) {
      if (!routes.some((r) => inside(c, r))) add('warning', service.typedKey, `no SDNRoute (NeedEncap) sends the service CIDR ${show(c)} through the host, so kube-proxy's service rules do not apply to pods' traffic; set "serviceCIDR"`);
    }
  }
}
