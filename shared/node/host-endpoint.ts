// The host's bridge endpoint of an L2Bridge network: `<network>_ep` holding `.2` of each pod
// subnet, added to the host's default compartment (the HostDefault namespace, the v2 form of
// flannel's HostAttach(1)), so the host has a vNIC in the pod subnet and pods have a gateway
// (windows-anchors.md §5.2 step 3, §8.1).

import type { HostComputeEndpoint } from '../hns/model/endpoint';
import { parseCidr } from '../net/ip';
import { addressInPrefix } from './network';

export function hostEndpointName(network: string): string {
  return `${network}_ep`;
}

/** `.2` of each pod subnet, with the subnet's prefix length. */
export function hostEndpointAddresses(podCIDRs: string[]): { IpAddress: string; PrefixLength: number }[] {
  return podCIDRs.map((p) => ({ IpAddress: addressInPrefix(p, 2), PrefixLength: parseCidr(p)!.prefix }));
}

export function desiredHostEndpoint(network: string, networkId: string, podCIDRs: string[]): HostComputeEndpoint {
  return { SchemaVersion: { Major: 2, Minor: 0 }, Name: hostEndpointName(network), HostComputeNetwork: networkId, IpConfigurations: hostEndpointAddresses(podCIDRs) };
}

/** Whether the endpoint holds every `.2` address the pod subnets call for. */
export function holdsHostAddresses(ep: HostComputeEndpoint, podCIDRs: string[]): boolean {
  const have = new Set((ep.IpConfigurations ?? []).map((c) => c.IpAddress?.toLowerCase()));
  return hostEndpointAddresses(podCIDRs).every((a) => have.has(a.IpAddress.toLowerCase()));
}
