// hostPort mappings (runtimeConfig.portMappings) as HCN PortMapping policies. On L2Bridge the
// service applies them only with LocalRoutedVip (Windows-Containers#360), and a dual-stack pod
// needs an IPv6 twin of each mapping (flag IPv6).

import { CniError, ErrorCode } from '../cni/errors';
import { NatFlags, Protocol, type EndpointPolicy } from '../hns/model/policy';
import type { PortMapping } from '../config/types';
import { parseIp } from '../net/ip';

const PROTOCOLS: Record<string, number> = { tcp: Protocol.TCP, udp: Protocol.UDP };

/** `tcp`/`TCP`/`6` -> 6. Anything HNS cannot map (sctp, icmp, ...) is "unsupported" (code 2). */
export function protocolNumber(name: string, where: string): number {
  const n = PROTOCOLS[name.toLowerCase()] ?? (/^(6|17)$/.test(name) ? Number(name) : undefined);
  if (n === undefined) throw new CniError(ErrorCode.UnsupportedField, `unsupported protocol in ${where}: ${JSON.stringify(name)}`, 'HNS port mappings support tcp and udp');
  return n;
}

export interface PortMappingRules {
  /** L2Bridge modes: LocalRoutedVip, or the mapping is not applied for host-local traffic. */
  localRoutedVip: boolean;
  /** The pod has an IPv6 address: add the IPv6 twin of each mapping. */
  ipv6: boolean;
}

export function portMappingPolicies(mappings: PortMapping[] | undefined, rules: PortMappingRules): EndpointPolicy[] {
  const out: EndpointPolicy[] = [];
  const seen = new Set<string>();
  (mappings ?? []).forEach((m, i) => {
    const where = `runtimeConfig.portMappings[${i}]`;
    const protocol = protocolNumber(m.protocol ?? 'tcp', `${where}.protocol`);
    const hostIp = m.hostIP ? parseIp(m.hostIP) : undefined;
    if (m.hostIP && !hostIp) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${where}.hostIP: ${JSON.stringify(m.hostIP)} is not an IP address`);
    const key = `${protocol}/${m.hostPort}/${m.hostIP ?? ''}`;
    if (seen.has(key)) throw new CniError(ErrorCode.InvalidNetworkConfig, `duplicate port mapping in ${where}: host port ${m.hostPort}/${m.protocol ?? 'tcp'} is mapped twice`);
    seen.add(key);
    const base = rules.localRoutedVip ? NatFlags.LocalRoutedVip : NatFlags.None;
    if (!hostIp || hostIp.family === 4) {
      out.push({ Type: 'PortMapping', Settings: { InternalPort: m.containerPort, ExternalPort: m.hostPort, Protocol: protocol, VIP: hostIp ? m.hostIP! : '', Flags: base } });
    }
    if (rules.ipv6 && (!hostIp || hostIp.family === 6)) {
      out.push({ Type: 'PortMapping', Settings: { InternalPort: m.containerPort, ExternalPort: m.hostPort, Protocol: protocol, VIP: hostIp ? m.hostIP! : '', Flags: base | NatFlags.IPv6 } });
    }
  });
  return out;
}
