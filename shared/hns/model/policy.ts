// Endpoint, network and subnet policies (policy.schema.json): {Type, Settings}.

export type EndpointPolicyType =
  | 'PortMapping' | 'ACL' | 'QOS' | 'L2Driver' | 'OutBoundNAT' | 'SDNRoute' | 'L4Proxy' | 'L4WFPPROXY' | 'ProviderAddress'
  | 'PortName' | 'EncapOverhead' | 'InterfaceConstraint' | 'Encryption' | 'VLAN' | 'InterfaceParameters' | 'Iov' | 'TierAcl' | 'Firewall';

export type NetworkPolicyType =
  | 'SourceMacAddress' | 'NetAdapterName' | 'VSwitchExtension' | 'DrMacAddress' | 'AutomaticDNS' | 'InterfaceConstraint'
  | 'ProviderAddress' | 'RemoteSubnetRoute' | 'VxlanPort' | 'HostRoute' | 'SetPolicy' | 'L4Proxy' | 'LayerConstraint' | 'NetworkACL';

/** ProtocolType numbers as clients send them. */
export const Protocol = { Unknown: 0, ICMPv4: 1, IGMP: 2, TCP: 6, UDP: 17, ICMPv6: 58 } as const;

/** NatFlags of PortMapping and OutBoundNAT. */
export const NatFlags = { None: 0, LocalRoutedVip: 1, IPv6: 2, ExternalPortReserved: 4 } as const;

export interface PortMappingSettings {
  Protocol?: number | string;
  InternalPort?: number;
  ExternalPort?: number;
  VIP?: string;
  Flags?: number;
}

export interface OutboundNatSettings {
  VirtualIP?: string;
  Exceptions?: string[];
  Destinations?: string[];
  Flags?: number;
  MaxPortPoolUsage?: number;
}

export interface SdnRouteSettings {
  DestinationPrefix?: string;
  NextHop?: string;
  NeedEncap?: boolean;
  AutomaticEndpointMonitor?: boolean;
}

export interface ProviderAddressSettings {
  ProviderAddress: string;
}

export interface AclSettings {
  Protocols?: string;
  Action: 'Allow' | 'Block' | 'Pass';
  Direction: 'In' | 'Out';
  LocalAddresses?: string;
  RemoteAddresses?: string;
  LocalPorts?: string;
  RemotePorts?: string;
  RuleType?: 'Host' | 'Switch';
  Priority?: number;
  Id?: string;
}

export interface NetAdapterNameSettings {
  NetworkAdapterName: string;
}

export interface DrMacAddressSettings {
  Address: string;
}

export interface RemoteSubnetRouteSettings {
  DestinationPrefix: string;
  IsolationId: number;
  ProviderAddress: string;
  DistributedRouterMacAddress: string;
}

export interface VxlanPortSettings {
  Port: number;
}

export interface IsolationSettings {
  IsolationId: number;
}

/** The settings of the types we model; other known types pass through as plain objects. */
export type EndpointPolicy =
  | { Type: 'PortMapping'; Settings?: PortMappingSettings }
  | { Type: 'OutBoundNAT'; Settings?: OutboundNatSettings }
  | { Type: 'SDNRoute'; Settings?: SdnRouteSettings }
  | { Type: 'ProviderAddress'; Settings?: ProviderAddressSettings }
  | { Type: 'ACL'; Settings?: AclSettings }
  | { Type: Exclude<EndpointPolicyType, 'PortMapping' | 'OutBoundNAT' | 'SDNRoute' | 'ProviderAddress' | 'ACL'>; Settings?: Record<string, unknown> };

export type NetworkPolicy =
  | { Type: 'NetAdapterName'; Settings?: NetAdapterNameSettings }
  | { Type: 'DrMacAddress'; Settings?: DrMacAddressSettings }
  | { Type: 'ProviderAddress'; Settings?: ProviderAddressSettings }
  | { Type: 'RemoteSubnetRoute'; Settings?: RemoteSubnetRouteSettings }
  | { Type: 'HostRoute'; Settings?: Record<string, never> }
  | { Type: 'VxlanPort'; Settings?: VxlanPortSettings }
  | { Type: Exclude<NetworkPolicyType, 'NetAdapterName' | 'DrMacAddress' | 'ProviderAddress' | 'RemoteSubnetRoute' | 'HostRoute' | 'VxlanPort'>; Settings?: Record<string, unknown> };

export interface SubnetPolicy {
  Type: 'VLAN' | 'VSID';
  Settings: IsolationSettings;
}
