// ModifyRequest documents (modify.schema.json).

import type { Dns, Guid } from './common';
import type { EndpointPolicy, NetworkPolicy } from './policy';

export type RequestType = 'Add' | 'Remove' | 'Update' | 'Refresh' | 'Reset';
export const REQUEST_TYPES: readonly RequestType[] = ['Add', 'Remove', 'Update', 'Refresh', 'Reset'];

export interface NamespaceModifyRequest {
  ResourceType: 'Container' | 'Endpoint' | 0 | 1;
  RequestType: RequestType | number;
  ResourceUri?: string;
  Settings: { EndpointId?: Guid; ContainerId?: string };
}

export interface EndpointModifyRequest {
  ResourceType: 'Port' | 'Policy' | 0 | 1;
  RequestType: RequestType | number;
  ResourceUri?: string;
  Settings: { Policies?: EndpointPolicy[]; PortId?: Guid; VirtualNicName?: string; VirtualMachineId?: Guid };
}

export type NetworkModifyRequest =
  | { ResourceType: 'Policy' | 2; RequestType: RequestType | number; ResourceUri?: string; Settings: { Policies: NetworkPolicy[] } }
  | { ResourceType: 'DNS' | 0; RequestType: RequestType | number; ResourceUri?: string; Settings: Dns }
  | { ResourceType: 'Extension' | 'Subnet' | 'IPSubnet' | 1 | 3 | 4; RequestType: RequestType | number; ResourceUri?: string; Settings: Record<string, unknown> };
