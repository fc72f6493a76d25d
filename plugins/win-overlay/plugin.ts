// win-overlay: pods on the node's VXLAN Overlay network (windows-anchors.md §8.3). IPv4 only.
// The pod's gateway is the network's own (`.1`, served by the distributed router); the endpoint
// carries the node's provider address (the VXLAN source); the MAC is derived from the pod IP
// (upstream endpointMacPrefix); the interface MTU leaves room for the 50-byte VXLAN header.

import type { CniRequest } from '../../shared/cni/skel';
import { CniError, ErrorCode } from '../../shared/cni/errors';
import { asList, type OverlayConf } from '../../shared/config/types';
import { validate } from '../../shared/config/overlay.validator';
import type { HostComputeNetwork } from '../../shared/hns/model/network';
import { overlayServiceFields, waitForNetwork } from '../../shared/hns/overlay';
import { type Cidr, contains, formatIp, nthAddress, parseCidr, parseIp } from '../../shared/net/ip';
import type { Mode, ModeInput, NetworkReadiness } from '../../shared/plugin/mode';
import { networkSubnets } from '../../shared/plugin/endpoint';
import { gatewayOverrides } from '../../shared/plugin/conf';
import { addAttachment, checkAttachment, collectStale, deleteAttachment, reportStatus } from '../../shared/plugin/verbs';

const DEFAULT_MAC_PREFIX = '0E-2A';
/** VXLAN over IPv4 adds 50 bytes; on the usual 1500-byte underlay the pod gets 1450. */
const VXLAN_OVERHEAD = 50;
const DEFAULT_UNDERLAY_MTU = 1500;

/** The default route's next hop of the network subnet that holds the pod's address. */
function networkGateway(net: HostComputeNetwork, addr: Cidr): string | undefined {
  for (const subnet of (net.Ipams ?? []).flatMap((i) => i.Subnets ?? [])) {
    const prefix = subnet.IpAddressPrefix ? parseCidr(subnet.IpAddressPrefix) : undefined;
    if (!prefix || !contains(prefix, addr.ip)) continue;
    const hop = subnet.Routes?.find((r) => r.DestinationPrefix === '0.0.0.0/0' && r.NextHop)?.NextHop;
    if (hop) return hop;
  }
  return undefined;
}

function networkProviderAddress(net: HostComputeNetwork): string | undefined {
  return overlayServiceFields(net).providerAddress;
}

function confProviderAddress(conf: OverlayConf): string | undefined {
  return conf.providerAddress ?? asList(conf.nodeIP).find((ip) => parseIp(ip)?.family === 4);
}

/** flannel waits up to 5 s for a new Overlay network's ProviderAddress (vxlan/device_windows.go). */
const PA_WAIT_MS = 5_000;

/**
 * A network just created has no ProviderAddress yet: the service adds it (with the DR MAC) a
 * moment later. Without one from the conf, wait for it as flannel does, then give up.
 */
async function networkReady({ conf, net, reread, log }: NetworkReadiness<OverlayConf>): Promise<HostComputeNetwork> {
  if (conf.providerAddress || networkProviderAddress(net)) return net;
  const { net: current, waitedMs } = await waitForNetwork(net, (n) => !!networkProviderAddress(n), { reread, waitMs: PA_WAIT_MS });
  log.event('provider-address-wait', { found: networkProviderAddress(current) ?? null, waitedMs });
  // Checked here, before the IPAM hands out anything.
  providerAddress({ conf, net: current, addresses: [] });
  return current;
}

/** The provider address: the conf's, else the one HNS put on the network, else the node IP. */
function providerAddress({ conf, net }: ModeInput<OverlayConf>): string {
  const pa = conf.providerAddress ?? networkProviderAddress(net) ?? confProviderAddress(conf);
  if (!pa) {
    throw new CniError(ErrorCode.NetworkUnavailable, `win-overlay needs the node's provider address, and network "${net.Name}" has no ProviderAddress policy ${PA_WAIT_MS / 1000} s after the plugin started looking`, 'HNS adds it when the network comes up; set "providerAddress" (or "nodeIP") in the conf to go without');
  }
  return pa;
}

/** `0E-2A-0A-F4-03-07` for 10.244.3.7: the prefix, then the four bytes of the IPv4 address. */
export function overlayMac(prefix: string, ipv4: Cidr): string {
  const bytes = [24n, 16n, 8n, 0n].map((s) => Number((ipv4.ip.value >> s) & 0xffn).toString(16).toUpperCase().padStart(2, '0'));
  return [prefix.toUpperCase(), ...bytes].join('-');
}

export const mode: Mode<OverlayConf> = {
  plugin: 'win-overlay',
  networkTypes: ['Overlay'],
  validate,
  ipv6: false,
  bridged: false,
  routesPodIps: false,
  gateway: (addr, { net }) => networkGateway(net, addr) ?? formatIp(nthAddress(addr, 1n)),
  reservedGateways: (conf, net) => {
    const hops = net ? networkSubnets(net).map((s) => networkGateway(net, s)).filter((h): h is string => !!h) : [];
    return [...gatewayOverrides(conf), ...hops];
  },
  // Upstream win-overlay sends no port mappings (windows-anchors.md §3.1); sending them is opt-in.
  appliesPortMappings: (conf) => conf.hostPorts === true,
  // Upstream win-overlay's ipMasq: the node's own pod subnet is not SNATed.
  natExceptions: ({ conf, net }) => (conf.ipMasq ? networkSubnets(net).filter((s) => s.ip.family === 4).map((s) => `${formatIp(s.ip)}/${s.prefix}`) : []),
  networkReady,
  providerAddress,
  mac: ({ conf, addresses }) => {
    const v4 = addresses.find((a) => a.ip.family === 4);
    return v4 ? overlayMac(conf.endpointMacPrefix ?? DEFAULT_MAC_PREFIX, v4) : undefined;
  },
  mtu: (conf) => conf.mtu ?? DEFAULT_UNDERLAY_MTU - VXLAN_OVERHEAD,
};

export const add = (req: CniRequest) => addAttachment(req, mode);
export const del = (req: CniRequest) => deleteAttachment(req, mode);
export const check = (req: CniRequest) => checkAttachment(req, mode);
export const gc = (req: CniRequest) => collectStale(req, mode);
export const status = (req: CniRequest) => reportStatus(req, mode);
