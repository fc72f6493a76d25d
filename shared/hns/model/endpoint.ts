// HostComputeEndpoint (endpoint.schema.json).

import type { Base, Dns, Guid, Route } from './common';
import type { EndpointPolicy } from './policy';

/** EndpointFlags bits. */
export const EndpointFlags = {
  None: 0, RemoteEndpoint: 1, DisableICC: 2, EnableMirroring: 4, EnableLowInterfaceMetric: 8, OverrideDNSServerOrder: 16, EnableDhcp: 32,
} as const;

export interface IpConfiguration {
  IpAddress?: string;
  PrefixLength?: number;
  IpSubnetId?: Guid;
}

export interface HostComputeEndpoint extends Base {
  HostComputeNetwork?: Guid;
  /** Read-only: the service fills it after the endpoint is added to a namespace. */
  HostComputeNamespace?: Guid;
  Policies?: EndpointPolicy[];
  IpConfigurations?: IpConfiguration[];
  Dns?: Dns;
  Routes?: Route[];
  /** `00-15-5D-52-C0-07` */
  MacAddress?: string;
  Flags?: number;
}
