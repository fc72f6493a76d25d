// The node's HNS network, as the mode wants it (windows-anchors.md §8): L2Bridge for
// win-l2bridge, host-gateway and l3-upstream, Overlay (VXLAN) for win-overlay, with this node's pod
// subnet(s) and the platform's gateway `.1`. An existing network of the same name is used as it is
// when it is of the same type and subnets, and refused otherwise: it may hold pod endpoints, and
// deleting a network deletes them (flannel deletes and re-creates it; we do not).

import type { AgentMode } from '../config/agent';
import type { HostComputeNetwork } from '../hns/model/network';
import { NetworkFlags } from '../hns/model/network';
import type { NetworkPolicy } from '../hns/model/policy';
import type { HnsFeatures } from '../hns/features';
import { formatCidr, formatIp, nthAddress, parseCidr } from '../net/ip';
import { conflict, invalid } from './errors';

export interface NetworkSpec {
  mode: AgentMode;
  name: string;
  podCIDRs: string[];
  netAdapter?: string;
  vni: number;
  vxlanPort: number;
}

export const VXLAN_DEFAULT_PORT = 4789;

/** `10.244.3.0/24` -> `10.244.3.<n>` (n = 1 the platform's gateway, 2 the host's bridge endpoint). */
export function addressInPrefix(prefix: string, n: number): string {
  const c = parseCidr(prefix);
  if (!c) throw invalid(`${prefix} is not a prefix`);
  return formatIp(nthAddress(c, BigInt(n)));
}

function canonicalPrefix(prefix: string): string {
  const c = parseCidr(prefix);
  return c ? formatCidr(c) : prefix;
}

export function networkType(mode: AgentMode): 'L2Bridge' | 'Overlay' {
  return mode === 'win-overlay' ? 'Overlay' : 'L2Bridge';
}

/** The HcnCreateNetwork document (windows-anchors.md §8.1, §8.3; flannel vxlan device_windows.go). */
export function desiredNetwork(spec: NetworkSpec, features: HnsFeatures): HostComputeNetwork {
  const type = networkType(spec.mode);
  const subnets = spec.podCIDRs.map((p) => {
    const v6 = p.includes(':');
    const sub: NonNullable<NonNullable<HostComputeNetwork['Ipams']>[number]['Subnets']>[number] = {
      IpAddressPrefix: canonicalPrefix(p),
      Routes: [{ NextHop: addressInPrefix(p, 1), DestinationPrefix: v6 ? '::/0' : '0.0.0.0/0' }],
    };
    if (type === 'Overlay') sub.Policies = [{ Type: 'VSID', Settings: { IsolationId: spec.vni } }];
    return sub;
  });
  const policies: NetworkPolicy[] = [];
  if (spec.netAdapter) policies.push({ Type: 'NetAdapterName', Settings: { NetworkAdapterName: spec.netAdapter } });
  if (type === 'Overlay') {
    // Host <-> local pod reachability (flannel adds it on HNS 9.2+, "19H1+").
    if (features.hostRoute) policies.push({ Type: 'HostRoute', Settings: {} } as NetworkPolicy);
    if (spec.vxlanPort !== VXLAN_DEFAULT_PORT) {
      if (!features.vxlanPort) throw invalid(`vxlanPort ${spec.vxlanPort} needs HNS 10.3 (VxlanPort policy); this host runs HNS ${features.version.Major}.${features.version.Minor}`, 'use 4789');
      policies.push({ Type: 'VxlanPort', Settings: { Port: spec.vxlanPort } });
    }
  }
  const net: HostComputeNetwork = { SchemaVersion: { Major: 2, Minor: 0 }, Name: spec.name, Type: type, Ipams: [{ Type: 'Static', Subnets: subnets }] };
  // flannel makes its overlay network non-persistent: a reboot drops it with the endpoints, and the agent makes it again.
  if (type === 'Overlay') net.Flags = NetworkFlags.EnableNonPersistent;
  if (policies.length) net.Policies = policies;
  return net;
}

export function networkSubnets(net: HostComputeNetwork): string[] {
  return (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []).map((s) => s.IpAddressPrefix).filter((p): p is string => !!p).map(canonicalPrefix);
}

function vsidOf(net: HostComputeNetwork): number | undefined {
  for (const s of (net.Ipams ?? []).flatMap((i) => i.Subnets ?? [])) {
    const p = s.Policies?.find((x) => String(x.Type).toUpperCase() === 'VSID');
    const id = (p?.Settings as { IsolationId?: number } | undefined)?.IsolationId;
    if (id !== undefined) return id;
  }
  return undefined;
}

/** Why an existing network of our name cannot be used (a typed conflict), or nothing when it can. */
export function checkExistingNetwork(net: HostComputeNetwork, spec: NetworkSpec): void {
  const want = networkType(spec.mode);
  const type = String(net.Type ?? 'NAT');
  const hint = `delete it yourself once no pod uses it (hnsctl delete network ${spec.name}), or give the agent another "network" name`;
  if (type !== want) throw conflict(`HNS network "${spec.name}" (${net.ID}) is of type ${type}, but mode ${spec.mode} needs ${want}`, hint);
  const have = networkSubnets(net).sort();
  const need = spec.podCIDRs.map(canonicalPrefix).sort();
  if (have.join(',') !== need.join(',')) throw conflict(`HNS network "${spec.name}" (${net.ID}) has subnet(s) ${have.join(', ') || 'none'}, but this node's pod subnet is ${need.join(', ')}`, hint);
  if (want === 'Overlay') {
    const vsid = vsidOf(net);
    if (vsid !== undefined && vsid !== spec.vni) throw conflict(`HNS network "${spec.name}" (${net.ID}) has VNI ${vsid}, but the agent is configured with ${spec.vni}`, hint);
  }
}
