// HostComputeNetwork rules (hcn-api.md §2.1, §4.1, §4.2).

import type { HostComputeNetwork, Ipam, NetworkMode } from '../../model/network';
import { NETWORK_MODES } from '../../model/network';
import type { NetworkPolicy } from '../../model/policy';
import type { NetworkModifyRequest } from '../../model/modify';
import type { EmulatorConfig, EmulatorState } from './store';
import { defaultMacPool } from './alloc';
import { fail } from './failure';
import { newGuid } from './guid';
import { endpointsOf, enumOut, getObject, serviceFields, withoutServiceKeys } from './objects';
import { addPolicies, removePolicies } from './policies';
import { dropEndpoint } from './endpoints';
import { requestName, resourceName } from './requests';

const IPAM_TYPES = ['Static', 'Dhcp'] as const;

function ipamsOut(ipams: Ipam[] | undefined): Ipam[] | undefined {
  return ipams?.map((ipam) => {
    const { Type, Subnets, ...rest } = ipam;
    const type = enumOut(Type, IPAM_TYPES);
    const out: Ipam = type ? { Type: type, ...rest } : { ...rest };
    // The service names every subnet (IpConfigurations refer to them by IpSubnetId).
    if (Subnets) out.Subnets = Subnets.map(({ ID, ...sub }) => ({ ID: ID?.toUpperCase() ?? newGuid(), ...sub }));
    return out;
  });
}

/** Overlay networks get the host's distributed router MAC and provider address (flannel waits for DrMacAddress). */
function overlayPolicies(policies: NetworkPolicy[] | undefined, cfg: EmulatorConfig): NetworkPolicy[] {
  const out = [...(policies ?? [])];
  if (!out.some((p) => p.Type === 'DrMacAddress')) out.push({ Type: 'DrMacAddress', Settings: { Address: cfg.drMacAddress } });
  if (!out.some((p) => p.Type === 'ProviderAddress')) out.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: cfg.managementIp } });
  return out;
}

export function createNetwork(s: EmulatorState, cfg: EmulatorConfig, id: string | undefined, doc: HostComputeNetwork): HostComputeNetwork {
  if (id && s.networks[id]) fail('ERROR_ALREADY_EXISTS');
  if (doc.Name !== undefined && Object.values(s.networks).some((n) => n.Name === doc.Name)) fail('HCN_E_NETWORK_ALREADY_EXISTS');
  const { Type, Ipams, MacPool, Policies, ...rest } = withoutServiceKeys(doc);
  const type = enumOut<NetworkMode>(Type, NETWORK_MODES);
  const net: HostComputeNetwork = { ID: id ?? newGuid(), ...rest };
  if (type) net.Type = type;
  const ipams = ipamsOut(Ipams);
  if (ipams) net.Ipams = ipams;
  net.MacPool = MacPool?.Ranges?.length ? MacPool : defaultMacPool(s.nextMacPool++);
  const policies = type === 'Overlay' ? overlayPolicies(Policies, cfg) : Policies;
  if (policies) net.Policies = policies;
  Object.assign(net, serviceFields(cfg));
  s.networks[net.ID!] = net;
  return net;
}

/** Deleting a network takes its endpoints with it (and out of their namespaces). */
export function deleteNetwork(s: EmulatorState, cfg: EmulatorConfig, id: string): void {
  const net = getObject(s, cfg, 'Network', id);
  for (const ep of endpointsOf(s, net.ID!)) dropEndpoint(s, ep);
  delete s.networks[net.ID!];
}

export function modifyNetwork(s: EmulatorState, cfg: EmulatorConfig, id: string, req: NetworkModifyRequest): void {
  const net = getObject(s, cfg, 'Network', id);
  const resource = resourceName(req.ResourceType, ['DNS', 'Extension', 'Policy', 'Subnet', 'IPSubnet']);
  const request = requestName(req.RequestType);
  if (resource === 'Policy' && (request === 'Add' || request === 'Remove')) {
    const given = (req.Settings as { Policies: NetworkPolicy[] }).Policies;
    net.Policies = request === 'Add' ? addPolicies(net.Policies, given) : removePolicies(net.Policies, given);
    return;
  }
  if (resource === 'DNS' && request === 'Update') {
    net.Dns = req.Settings as HostComputeNetwork['Dns'];
    return;
  }
  fail('E_NOTIMPL', `{{${resource} ${request},the emulator does not model this network modification}}`);
}
