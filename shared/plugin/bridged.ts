// The rules the three L2Bridge modes share (windows-anchors.md §8.1): the pod's gateway is the
// host's bridge endpoint, `.2` of the pod subnet (`.1` belongs to the platform and no host
// interface owns it); the node IP is routed through the host; host ports need LocalRoutedVip.

import type { NetConf } from '../config/types';
import { type Cidr, formatIp, nthAddress } from '../net/ip';
import type { Mode, ModeInput } from './mode';

export function bridgeGateway(addr: Cidr, conf: NetConf): string {
  const override = addr.ip.family === 4 ? conf.gateway : conf.gateway6;
  return override ?? formatIp(nthAddress(addr, 2n));
}

type BridgedMode<C extends NetConf> = Pick<Mode<C>, 'plugin' | 'validate' | 'ownKeys'> & { natExceptions?: (input: ModeInput<C>) => string[] };

export function bridgedMode<C extends NetConf>(m: BridgedMode<C>): Mode<C> {
  return {
    networkTypes: ['L2Bridge'],
    ipv6: true,
    bridged: true,
    gateway: (addr, input) => bridgeGateway(addr, input.conf),
    reservedGateways: (conf) => [conf.gateway, conf.gateway6].filter((g): g is string => !!g),
    natExceptions: () => [],
    mtu: (conf) => conf.mtu,
    ...m,
  };
}
