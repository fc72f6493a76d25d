// The rules the three L2Bridge modes share (windows-anchors.md §8.1): the pod's gateway is the
// host's bridge endpoint, `.2` of the pod subnet (`.1` belongs to the platform and no host
// interface owns it); the node IP is routed through the host; host ports need LocalRoutedVip.

import type { NetConf } from '../config/types';
import { type Cidr, formatIp, nthAddress } from '../net/ip';
import { gatewayOverrides } from './conf';
import type { Mode, ModeInput } from './mode';

/** `.2` of the pod's subnet (sdnbridge's optionalFlags.forceBridgeGateway says the same). */
export function bridgeGateway(addr: Cidr): string {
  return formatIp(nthAddress(addr, 2n));
}

type BridgedMode<C extends NetConf> = Pick<Mode<C>, 'plugin' | 'validate'> & Partial<Pick<Mode<C>, 'natExceptions' | 'routesPodIps'>>;

export function bridgedMode<C extends NetConf>(m: BridgedMode<C>): Mode<C> {
  return {
    // L2Tunnel too, as upstream win-bridge: the same bridged endpoint on a network whose
    // traffic the host forwards to its own router (windows-anchors.md §2.2).
    networkTypes: ['L2Bridge', 'L2Tunnel'],
    ipv6: true,
    bridged: true,
    gateway: (addr) => bridgeGateway(addr),
    reservedGateways: (conf) => gatewayOverrides(conf),
    natExceptions: () => [],
    routesPodIps: false,
    appliesPortMappings: () => true,
    mtu: (conf) => conf.mtu,
    ...m,
  };
}
