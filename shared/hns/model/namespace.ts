// HostComputeNamespace (namespace.schema.json): a Windows network compartment. containerd makes
// one per pod sandbox and passes its ID as CNI_NETNS.

import type { Base, Guid } from './common';

export const NAMESPACE_TYPES = ['Host', 'HostDefault', 'Guest', 'GuestDefault'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export interface NamespaceResource {
  Type: 'Container' | 'Endpoint' | 0 | 1;
  /** Endpoint: the endpoint GUID (upper case); Container: the container ID. */
  Data: { Id: string };
}

export interface HostComputeNamespace extends Base {
  /** The compartment ID. */
  NamespaceId?: number;
  NamespaceGuid?: Guid;
  Type?: NamespaceType | number;
  Resources?: NamespaceResource[];
  CreateWithCompartment?: boolean;
  ReadyOnCreate?: boolean;
}
