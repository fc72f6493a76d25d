// HostComputeNetwork (network.schema.json).

import type { Base, Dns, Guid, Route } from './common';
import type { NetworkPolicy, SubnetPolicy } from './policy';

export const NETWORK_MODES = ['NAT', 'ICS', 'Transparent', 'L2Bridge', 'L2Tunnel', 'Overlay', 'Private', 'Internal', 'Mirrored', 'Infiniband', 'ConstrainedICS'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

/** NetworkFlags bits. */
export const NetworkFlags = {
  None: 0, EnableDns: 1, EnableDhcp: 2, EnableMirroring: 4, EnableNonPersistent: 8, EnablePersistent: 16, IsolateVSwitch: 32,
  EnableFlowSteering: 64, DisableSharing: 128, EnableFirewall: 256, SuppressMediaDisconnect: 512, DisableHostPort: 1024, EnableIov: 8192,
} as const;

export interface Subnet {
  ID?: Guid;
  IpAddressPrefix?: string;
  Policies?: SubnetPolicy[];
  Routes?: Route[];
  IpSubnets?: { ID?: Guid; IpAddressPrefix?: string; Flags?: number }[];
  /** DoNotReserveGatewayAddress 1 */
  Flags?: number;
}

export interface Ipam {
  Type?: 'Static' | 'Dhcp' | 0 | 1;
  Subnets?: Subnet[];
}

export interface MacPool {
  Ranges?: { StartMacAddress: string; EndMacAddress: string }[];
}

export interface HostComputeNetwork extends Base {
  Type?: NetworkMode | number;
  Flags?: number;
  Ipams?: Ipam[];
  Policies?: NetworkPolicy[];
  MacPool?: MacPool;
  Dns?: Dns;
}
