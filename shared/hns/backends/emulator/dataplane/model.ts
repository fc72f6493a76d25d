// The HNS state (and the host's IP stack beside it) -> what each Linux network namespace should
// hold. Pure: the same state gives the same spec, so a pass can tell from a hash which namespaces
// changed. Each rule here is listed, with its evidence, in ../README.md ("The Linux data plane").

import type { HostComputeEndpoint } from '../../../model/endpoint';
import type { HostComputeNamespace } from '../../../model/namespace';
import type { HostComputeNetwork } from '../../../model/network';
import type { AclSettings, OutboundNatSettings, PortMappingSettings, RemoteSubnetRouteSettings, SdnRouteSettings } from '../../../model/policy';
import { NatFlags, Protocol } from '../../../model/policy';
import { type Cidr, contains, type Family, formatCidr, formatIp, networkAddress, nthAddress, parseCidr, parseIp } from '../../../../net/ip';
import type { HostSnapshot } from '../host';
import { isRemote } from '../objects';
import { bridgeName, hostNicName, linuxMac, overlayTable, portName, RULE_PRIORITY, short, UNDERLAY_MTU, underlayPort, UPLINK, uplinkMac, vxlanName, VXLAN_OVERHEAD, podNetns } from './names';
import type { LinkSpec, NetnsSpec, PlaneSpec, RouteSpec } from './spec';

export interface PlaneInput {
  /** This host's namespace. */
  node: string;
  underlay: string;
  managementIp: string;
  managementPrefixLength: number;
  networks: HostComputeNetwork[];
  endpoints: HostComputeEndpoint[];
  namespaces: HostComputeNamespace[];
  host: HostSnapshot;
  /** The name a pod NIC made now is given (the attaching plugin's CNI_IFNAME). */
  nicName: string;
}

const VXLAN_PORT = 4789;
const UPLINK_ID = 'uplink';

function emptyNetns(name: string, role: 'node' | 'pod'): NetnsSpec {
  return { name, role, links: [], addresses: [], routes: [], rules: [], neighbours: [], fdb: [], sysctls: [], iptables: '' };
}

function policy<T>(policies: { Type: string; Settings?: unknown }[] | undefined, type: string): T[] {
  return (policies ?? []).filter((p) => p.Type === type).map((p) => (p.Settings ?? {}) as T);
}

function familyOf(text: string): Family | undefined {
  return parseCidr(text)?.ip.family ?? parseIp(text)?.family;
}

function canonicalPrefix(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const c = parseCidr(text) ?? (parseIp(text) ? parseCidr(`${text}/${familyOf(text) === 6 ? 128 : 32}`) : undefined);
  return c ? formatCidr({ ip: networkAddress(c), prefix: c.prefix }) : undefined;
}

function isUnspecified(ip: string | undefined): boolean {
  return !ip || ip === '0.0.0.0' || ip === '::';
}

const isDefault = (prefix: string) => prefix === '0.0.0.0/0' || prefix === '::/0';

/** The endpoint's addresses with their prefix (an address without PrefixLength is a host address, as host.ts reads it). */
function endpointCidrs(ep: HostComputeEndpoint): Cidr[] {
  return (ep.IpConfigurations ?? []).flatMap((c) => {
    const ip = c.IpAddress ? parseIp(c.IpAddress) : undefined;
    if (!ip) return [];
    return [{ ip, prefix: c.PrefixLength ?? (ip.family === 6 ? 128 : 32) }];
  });
}

interface OverlayFacts {
  vni: number;
  providerAddress: string;
  drMac: string;
}

function overlayFacts(net: HostComputeNetwork, managementIp: string): OverlayFacts | string {
  const subnets = (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []);
  const vsid = subnets.flatMap((s) => s.Policies ?? []).find((p) => String(p.Type).toUpperCase() === 'VSID');
  const vni = (vsid?.Settings as { IsolationId?: number } | undefined)?.IsolationId;
  if (!vni) return 'it has no VSID subnet policy (no VNI)';
  const drMac = linuxMac(policy<{ Address?: string }>(net.Policies, 'DrMacAddress')[0]?.Address);
  if (!drMac) return 'HNS has not filled in its DrMacAddress yet';
  const pa = policy<{ ProviderAddress?: string }>(net.Policies, 'ProviderAddress')[0]?.ProviderAddress ?? managementIp;
  return { vni, providerAddress: pa, drMac };
}

/** The gateway a subnet's pods are given: its default route's next hop, else .1. */
function subnetGateway(sub: NonNullable<NonNullable<HostComputeNetwork['Ipams']>[number]['Subnets']>[number], c: Cidr): string {
  const hop = (sub.Routes ?? []).find((r) => r.DestinationPrefix && isDefault(canonicalPrefix(r.DestinationPrefix) ?? ''))?.NextHop;
  return hop && !isUnspecified(hop) ? hop : formatIp(nthAddress(c, 1n));
}

interface RealizedNetwork {
  net: HostComputeNetwork;
  type: 'L2Bridge' | 'Overlay';
  bridge: string;
  overlay?: OverlayFacts;
}

class Builder {
  readonly node: NetnsSpec;
  readonly pods = new Map<string, NetnsSpec>();
  readonly notRealized: string[] = [];
  private readonly nat: string[] = [];
  private readonly natChains: string[] = [];
  private readonly filter = new Map<string, string[]>();
  private readonly networks = new Map<string, RealizedNetwork>();
  /** Endpoints realized as host vNICs in this host's namespace (the host's routes may name them). */
  private readonly hostNics = new Set<string>();

  constructor(private readonly input: PlaneInput) {
    this.node = emptyNetns(input.node, 'node');
  }

  skip(what: string): void {
    this.notRealized.push(what);
  }

  build(): PlaneSpec {
    this.host();
    for (const ns of this.input.namespaces) if (ns.Type !== 'HostDefault') this.pods.set(ns.ID!.toUpperCase(), emptyNetns(podNetns(this.input.node, ns.ID!), 'pod'));
    for (const net of this.input.networks) this.network(net);
    for (const ep of this.input.endpoints) this.endpoint(ep);
    this.hostRoutes();
    this.switchNatReplies();
    this.node.iptables = iptablesText(this.nat, this.natChains, this.filter.get(this.node.name) ?? []);
    for (const pod of this.pods.values()) pod.iptables = iptablesText([], [], this.filter.get(pod.name) ?? []);
    return { underlay: this.input.underlay, node: this.node, pods: [...this.pods.values()], notRealized: this.notRealized };
  }

  /** The host: its uplink into the underlay holding the management IP, and the stack's settings. */
  private host(): void {
    const { node, host } = this.input;
    const uplink = host.interfaces.find((i) => i.kind === 'uplink');
    this.node.links.push({
      kind: 'veth', id: UPLINK_ID, name: UPLINK, mac: uplinkMac(node), mtu: UNDERLAY_MTU,
      peer: { netns: this.input.underlay, id: `underlay:${node}`, name: underlayPort(node) },
      forwarding: uplink?.forwarding.v4 === true,
    });
    this.node.addresses.push({ dev: UPLINK_ID, cidr: `${this.input.managementIp}/${this.input.managementPrefixLength}` });
    this.node.sysctls.push(
      // Forwarding is per interface (SetIpInterfaceEntry); new interfaces start without it.
      ['net.ipv4.conf.default.forwarding', '0'],
      // The strong host model of Windows: an interface answers ARP only for its own addresses (a
      // vSwitch's bridge device holds none, so it never answers for the host vNIC's .2).
      ['net.ipv4.conf.all.arp_ignore', '1'], ['net.ipv4.conf.default.arp_ignore', '1'],
      ['net.ipv4.conf.all.arp_announce', '2'], ['net.ipv4.conf.default.arp_announce', '2'],
      // Paths stay as the routes say: no redirects learnt or sent, no reverse-path filtering.
      ['net.ipv4.conf.all.accept_redirects', '0'], ['net.ipv4.conf.default.accept_redirects', '0'],
      ['net.ipv4.conf.all.send_redirects', '0'], ['net.ipv4.conf.default.send_redirects', '0'],
      ['net.ipv4.conf.all.rp_filter', '0'], ['net.ipv4.conf.default.rp_filter', '0'],
      // What a vSwitch switches is not filtered by the host (br_netfilter, when loaded, would).
      ['net.bridge.bridge-nf-call-iptables', '0'], ['net.bridge.bridge-nf-call-ip6tables', '0'], ['net.bridge.bridge-nf-call-arptables', '0'],
      // IPv6 forwarding has no per-interface switch on Linux: on when any interface forwards IPv6.
      ['net.ipv6.conf.all.forwarding', host.interfaces.some((i) => i.forwarding.v6) ? '1' : '0'],
    );
  }

  private network(net: HostComputeNetwork): void {
    const type = String(net.Type ?? 'NAT');
    const label = `network "${net.Name ?? net.ID}"`;
    if (type !== 'L2Bridge' && type !== 'Overlay') return this.skip(`${label}: type ${type}`);
    const id = net.ID!.toUpperCase();
    const bridge = bridgeName(id);
    if (type === 'L2Bridge') {
      this.node.links.push({ kind: 'bridge', id: `net:${id}`, name: bridge, forwarding: false });
      this.networks.set(id, { net, type, bridge });
      for (const p of net.Policies ?? []) if (p.Type !== 'NetAdapterName' && p.Type !== 'ProviderAddress') this.skip(`${label}: network policy ${p.Type}`);
      return;
    }
    const facts = overlayFacts(net, this.input.managementIp);
    if (typeof facts === 'string') return this.skip(`${label}: ${facts}`);
    const port = policy<{ Port?: number }>(net.Policies, 'VxlanPort')[0]?.Port ?? VXLAN_PORT;
    const vxlan = vxlanName(id);
    const table = overlayTable(id);
    this.node.links.push({ kind: 'bridge', id: `net:${id}`, name: bridge, mac: facts.drMac, forwarding: true });
    this.node.links.push({ kind: 'vxlan', id: `vxlan:${id}`, name: vxlan, vni: facts.vni, port, local: facts.providerAddress, dev: UPLINK_ID, mac: facts.drMac, mtu: UNDERLAY_MTU - VXLAN_OVERHEAD, forwarding: true });
    this.networks.set(id, { net, type, bridge, overlay: facts });
    const hostRoute = (net.Policies ?? []).some((p) => p.Type === 'HostRoute');
    for (const sub of (net.Ipams ?? []).flatMap((i) => i.Subnets ?? [])) {
      const c = sub.IpAddressPrefix ? parseCidr(sub.IpAddressPrefix) : undefined;
      if (!c) continue;
      if (c.ip.family !== 4) {
        this.skip(`${label}: IPv6 subnet ${sub.IpAddressPrefix} (Overlay networks are IPv4 only)`);
        continue;
      }
      const prefix = formatCidr({ ip: networkAddress(c), prefix: c.prefix });
      // The distributed router: the subnet's gateway, answered with the DR MAC.
      this.node.addresses.push({ dev: `net:${id}`, cidr: `${subnetGateway(sub, c)}/32` });
      this.node.routes.push({ table, dst: prefix, dev: `net:${id}` });
      if (hostRoute) this.node.routes.push({ table: 'main', dst: prefix, dev: `net:${id}`, src: facts.providerAddress });
    }
    this.node.rules.push({ priority: RULE_PRIORITY, iif: `net:${id}`, table }, { priority: RULE_PRIORITY, iif: `vxlan:${id}`, table });
    const gateways = new Map<string, string>();
    for (const r of policy<RemoteSubnetRouteSettings>(net.Policies, 'RemoteSubnetRoute')) this.remoteSubnet(r, id, facts, table, label, gateways);
    for (const p of net.Policies ?? []) {
      if (!['NetAdapterName', 'ProviderAddress', 'DrMacAddress', 'RemoteSubnetRoute', 'HostRoute', 'VxlanPort'].includes(p.Type)) this.skip(`${label}: network policy ${p.Type}`);
    }
  }

  /**
   * A RemoteSubnetRoute, as flannel's Linux vxlan backend realizes a peer's lease: a route to the
   * prefix via its network address, on-link on the VXLAN device; that address's neighbour entry is
   * the peer's DR (VTEP) MAC, the inner destination MAC; the MAC's FDB entry is the peer's provider
   * address, the outer destination.
   */
  private remoteSubnet(r: RemoteSubnetRouteSettings, id: string, facts: OverlayFacts, table: number, label: string, gateways: Map<string, string>): void {
    const what = `${label}: RemoteSubnetRoute ${r.DestinationPrefix}`;
    const c = r.DestinationPrefix ? parseCidr(r.DestinationPrefix) : undefined;
    const mac = linuxMac(r.DistributedRouterMacAddress);
    const pa = r.ProviderAddress ? parseIp(r.ProviderAddress) : undefined;
    if (!c || c.ip.family !== 4 || !mac || !pa || pa.family !== 4) return this.skip(`${what}: not an IPv4 prefix, provider address and MAC`);
    if (r.IsolationId !== facts.vni) return this.skip(`${what}: IsolationId ${r.IsolationId} is not the network's VSID ${facts.vni} (one VXLAN device per network)`);
    const gw = formatIp(networkAddress(c));
    const dst = formatCidr({ ip: networkAddress(c), prefix: c.prefix });
    if (gateways.has(gw) && gateways.get(gw) !== mac) return this.skip(`${what}: its network address ${gw} already stands for another remote subnet`);
    gateways.set(gw, mac);
    this.node.routes.push({ table, dst, via: gw, dev: `vxlan:${id}`, onlink: true });
    this.node.neighbours.push({ dev: `vxlan:${id}`, ip: gw, mac });
    this.node.fdb.push({ dev: `vxlan:${id}`, mac, dst: formatIp(pa) });
  }

  private endpoint(ep: HostComputeEndpoint): void {
    const label = `endpoint "${ep.Name ?? ep.ID}"`;
    if (isRemote(ep)) return this.skip(`${label}: remote endpoint`);
    if (!ep.HostComputeNamespace) return;
    const epId = ep.ID!.toUpperCase();
    const realized = this.networks.get(ep.HostComputeNetwork!.toUpperCase());
    if (!realized) return;
    const nsId = ep.HostComputeNamespace.toUpperCase();
    const ns = this.input.namespaces.find((n) => n.ID!.toUpperCase() === nsId);
    if (!ns) return;
    const hostDefault = ns.Type === 'HostDefault';
    const target = hostDefault ? this.node : this.pods.get(nsId)!;
    const mtu = policy<{ Mtu?: number }>(ep.Policies, 'InterfaceParameters')[0]?.Mtu ?? (realized.type === 'Overlay' ? UNDERLAY_MTU - VXLAN_OVERHEAD : UNDERLAY_MTU);
    const nicId = `nic:${epId}`;
    const hostIface = this.input.host.interfaces.find((i) => i.endpointId?.toUpperCase() === epId);
    const nicName = hostDefault ? hostNicName(epId) : this.input.nicName;
    this.node.links.push({ kind: 'veth', id: `port:${epId}`, name: portName(epId), master: `net:${realized.net.ID!.toUpperCase()}`, mtu, peer: { netns: target.name, id: nicId, name: nicName } });
    const nic: LinkSpec = { kind: 'peer', id: nicId, name: nicName, mtu };
    const mac = linuxMac(ep.MacAddress);
    if (mac) nic.mac = mac;
    if (hostDefault) {
      nic.forwarding = hostIface?.forwarding.v4 === true;
      this.hostNics.add(epId);
    }
    target.links.push(nic);
    const cidrs = endpointCidrs(ep);
    for (const c of cidrs) target.addresses.push({ dev: nicId, cidr: formatCidr(c) });
    const gateways = new Map<Family, string>();
    for (const r of ep.Routes ?? []) {
      const dst = canonicalPrefix(r.DestinationPrefix);
      if (!dst) continue;
      if (isDefault(dst) && !isUnspecified(r.NextHop)) gateways.set(familyOf(dst)!, r.NextHop!);
      this.endpointRoute(target, nicId, cidrs, dst, r.NextHop, r.Metric, `${label}: route ${r.DestinationPrefix} via ${r.NextHop}`);
    }
    this.endpointPolicies(ep, epId, label, realized, target, nicId, cidrs, gateways);
  }

  /** A route in the endpoint's compartment: on-link, or via a next hop on one of its subnets (else the kernel refuses it). */
  private endpointRoute(target: NetnsSpec, nicId: string, cidrs: Cidr[], dst: string, via: string | undefined, metric: number | undefined, what: string): void {
    const spec: RouteSpec = { table: 'main', dst, dev: nicId };
    if (!isUnspecified(via)) {
      const hop = parseIp(via!);
      if (!hop || !cidrs.some((c) => c.ip.family === hop.family && contains(c, hop))) return this.skip(`${what}: the next hop is on none of the endpoint's subnets`);
      spec.via = formatIp(hop);
    }
    if (metric) spec.metric = metric;
    if (!target.routes.some((r) => r.dst === spec.dst && r.dev === spec.dev)) target.routes.push(spec);
  }

  private endpointPolicies(ep: HostComputeEndpoint, epId: string, label: string, realized: RealizedNetwork, target: NetnsSpec, nicId: string, cidrs: Cidr[], gateways: Map<Family, string>): void {
    const v4 = cidrs.find((c) => c.ip.family === 4);
    let natIndex = 0;
    for (const p of ep.Policies ?? []) {
      const what = `${label}: ${p.Type}`;
      switch (p.Type) {
        case 'InterfaceParameters':
          break;
        case 'SDNRoute': {
          const s = (p.Settings ?? {}) as SdnRouteSettings;
          const dst = canonicalPrefix(s.DestinationPrefix);
          if (!dst) break;
          // NeedEncap: handed to the host's path, where the endpoint's gateway leads.
          const via = !isUnspecified(s.NextHop) ? s.NextHop : gateways.get(familyOf(dst)!);
          if (!via) this.skip(`${what} ${dst}: no next hop and no gateway of that family`);
          else this.endpointRoute(target, nicId, cidrs, dst, via, undefined, `${what} ${dst}`);
          break;
        }
        case 'OutBoundNAT': {
          const s = (p.Settings ?? {}) as OutboundNatSettings;
          if (s.Destinations?.length) this.skip(`${what} with Destinations (loopback DSR)`);
          else if (((s.Flags ?? 0) & NatFlags.IPv6) !== 0 || (s.Exceptions ?? []).some((e) => familyOf(e) === 6)) this.skip(`${what} for IPv6 (the emulated host has no IPv6 management address to SNAT to)`);
          else if (!v4) this.skip(`${what}: the endpoint has no IPv4 address`);
          else this.outboundNat(epId, natIndex++, formatIp(v4.ip), s);
          break;
        }
        case 'PortMapping': {
          const s = (p.Settings ?? {}) as PortMappingSettings;
          if (realized.type !== 'L2Bridge') this.skip(`${what} on an Overlay network (VFP's NAT in the switch is not modelled)`);
          else if (((s.Flags ?? 0) & NatFlags.IPv6) !== 0) this.skip(`${what} for IPv6 (the emulated host has no IPv6 management address)`);
          else if (!v4) this.skip(`${what}: the endpoint has no IPv4 address`);
          else this.portMapping(epId, formatIp(v4.ip), s, what);
          break;
        }
        case 'ACL':
          this.acl(target, epId, (p.Settings ?? {}) as AclSettings, what);
          break;
        case 'ProviderAddress': {
          const pa = (p.Settings as { ProviderAddress?: string } | undefined)?.ProviderAddress;
          if (realized.overlay && pa && pa !== realized.overlay.providerAddress) this.skip(`${what} ${pa}: not the network's provider address ${realized.overlay.providerAddress} (the outer source is the network's)`);
          break;
        }
        default:
          this.skip(what);
      }
    }
  }

  /** SNAT to the host (or the policy's VIP) of what leaves for a destination in no exception. */
  private outboundNat(epId: string, index: number, podIp: string, s: OutboundNatSettings): void {
    const chain = `HNS-OBN-${short(epId)}-${index}`;
    this.natChains.push(chain);
    this.nat.push(`-A POSTROUTING -s ${podIp}/32 -m comment --comment "hns:${epId} OutBoundNAT" -j ${chain}`);
    for (const e of s.Exceptions ?? []) {
      const prefix = canonicalPrefix(e);
      if (prefix) this.nat.push(`-A ${chain} -d ${prefix} -j RETURN`);
      else this.skip(`endpoint ${epId}: OutBoundNAT exception ${JSON.stringify(e)} is no IPv4 prefix`);
    }
    this.nat.push(`-A ${chain} -j SNAT --to-source ${s.VirtualIP || this.input.managementIp}`);
    // How HNS caps one endpoint's share of the pool is not known: Linux SNAT here draws on every port.
    if (s.MaxPortPoolUsage) this.skip(`endpoint ${epId}: OutBoundNAT MaxPortPoolUsage ${s.MaxPortPoolUsage} (the SNAT uses the whole port range)`);
  }

  /** DNAT from the VIP (the management IP when none) and external port to the pod; LocalRoutedVip: from the host itself too. */
  private portMapping(epId: string, podIp: string, s: PortMappingSettings, what: string): void {
    const proto = protocolName(s.Protocol);
    if (!proto || (proto !== 'tcp' && proto !== 'udp')) return this.skip(`${what}: protocol ${s.Protocol}`);
    if (!s.ExternalPort) return this.skip(`${what}: no ExternalPort`);
    const vip = s.VIP || this.input.managementIp;
    const rule = `-d ${vip}/32 -p ${proto} -m ${proto} --dport ${s.ExternalPort} -m comment --comment "hns:${epId} PortMapping" -j DNAT --to-destination ${podIp}:${s.InternalPort || s.ExternalPort}`;
    this.nat.push(`-A PREROUTING ${rule}`);
    if (((s.Flags ?? 0) & NatFlags.LocalRoutedVip) !== 0) this.nat.push(`-A OUTPUT ${rule}`);
  }

  /** ACLs in the endpoint's own compartment: In = what reaches it, Out = what it sends; by Priority, first match wins. */
  private acl(target: NetnsSpec, epId: string, s: AclSettings, what: string): void {
    const action = s.Action === 'Allow' ? 'ACCEPT' : s.Action === 'Block' ? 'DROP' : undefined;
    if (!action) return this.skip(`${what}: Action ${s.Action}`);
    const dir = s.Direction === 'Out' ? 'OUTPUT' : 'INPUT';
    const rules = this.filter.get(target.name) ?? [];
    this.filter.set(target.name, rules);
    const protocols = (s.Protocols ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    const list = (x: string | undefined) => (x ?? '').split(',').map((v) => v.trim()).filter(Boolean);
    const local = list(s.LocalAddresses);
    const remote = list(s.RemoteAddresses);
    const lports = list(s.LocalPorts);
    const rports = list(s.RemotePorts);
    for (const proto of protocols.length ? protocols : ['']) {
      const name = proto ? protocolName(Number(proto)) : '';
      if (proto && !name) {
        this.skip(`${what}: protocol ${proto}`);
        continue;
      }
      if ((lports.length || rports.length) && name !== 'tcp' && name !== 'udp') {
        this.skip(`${what}: ports without TCP or UDP`);
        continue;
      }
      const parts = [`-A ${dir}`, `-m comment --comment "hns:${epId} ACL ${s.Priority ?? 0}"`];
      if (name) parts.push(`-p ${name}`);
      const [src, dst] = dir === 'INPUT' ? [remote, local] : [local, remote];
      if (src.length) parts.push(`-s ${src.join(',')}`);
      if (dst.length) parts.push(`-d ${dst.join(',')}`);
      const [sports, dports] = dir === 'INPUT' ? [rports, lports] : [lports, rports];
      if (sports.length) parts.push(`-m multiport --sports ${sports.join(',').replace(/-/g, ':')}`);
      if (dports.length) parts.push(`-m multiport --dports ${dports.join(',').replace(/-/g, ':')}`);
      parts.push(`-j ${action}`);
      rules.push(`${String(s.Priority ?? 0).padStart(6, '0')} ${parts.join(' ')}`);
    }
  }

  /**
   * On an Overlay network VFP SNATs a pod's traffic to the outside in the switch and turns the
   * replies back there, whatever the host's forwarding flags (the agent, as flannel, turns none on
   * for Overlay). Linux de-NATs them in the host's stack, so the uplink forwards them: replies of
   * known flows only, unless the host itself forwards on the uplink.
   */
  private switchNatReplies(): void {
    const uplink = this.node.links.find((l) => l.id === UPLINK_ID)!;
    if (uplink.forwarding || ![...this.networks.values()].some((n) => n.type === 'Overlay')) return;
    uplink.forwarding = true;
    const rules = this.filter.get(this.node.name) ?? [];
    rules.push(`000000 -A FORWARD -i ${UPLINK} -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment "hns: VFP NAT replies" -j ACCEPT`, `000001 -A FORWARD -i ${UPLINK} -m comment --comment "hns: the host does not forward" -j DROP`);
    this.filter.set(this.node.name, rules);
  }

  /** Routes the node agent made through the IP Helper model, on the interfaces they name. */
  private hostRoutes(): void {
    const ifaces = new Map(this.input.host.interfaces.map((i) => [i.identity, i]));
    for (const r of this.input.host.routes) {
      const iface = ifaces.get(r.Identity);
      const dev = iface?.kind === 'uplink' ? UPLINK_ID : iface?.endpointId && this.hostNics.has(iface.endpointId.toUpperCase()) ? `nic:${iface.endpointId.toUpperCase()}` : undefined;
      const dst = canonicalPrefix(r.DestinationPrefix);
      if (!dev || !dst) {
        this.skip(`host route ${r.DestinationPrefix} via ${r.NextHop}: its interface is not realized`);
        continue;
      }
      const spec: RouteSpec = { table: 'main', dst, dev, metric: r.Metric };
      if (!isUnspecified(r.NextHop)) spec.via = r.NextHop;
      this.node.routes.push(spec);
    }
  }
}

function protocolName(p: number | string | undefined): string | undefined {
  const n = typeof p === 'string' ? (Protocol as Record<string, number>)[p] ?? Number(p) : p;
  return n === 6 ? 'tcp' : n === 17 ? 'udp' : n === 1 ? 'icmp' : n === 58 ? 'ipv6-icmp' : undefined;
}

/** iptables-restore input: the nat table (host only) and the filter table, replacing what is there. */
function iptablesText(nat: string[], chains: string[], filter: string[]): string {
  const out = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  for (const c of chains) out.push(`:${c} - [0:0]`);
  out.push(...nat, 'COMMIT', '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]');
  const acl = filter.filter((l) => !l.slice(7).startsWith('-A FORWARD'));
  if (acl.length) {
    // What the endpoint itself started may come back (INFERRED: VFP's ACLs are taken as stateful).
    out.push('-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT', '-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT');
  }
  out.push(...[...filter].sort().map((l) => l.slice(7)));
  out.push('COMMIT', '');
  return out.join('\n');
}

export function planeSpec(input: PlaneInput): PlaneSpec {
  return new Builder(input).build();
}
