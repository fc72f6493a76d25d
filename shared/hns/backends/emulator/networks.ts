// HostComputeNetwork rules (hcn-api.md §2.1, §4.1, §4.2).

import type { HostComputeNetwork, Ipam, NetworkMode } from '../../model/network';
import { NETWORK_MODES } from '../../model/network';
import type { NetworkPolicy } from '../../model/policy';
import type { NetworkModifyRequest } from '../../model/modify';
import { defaultMacPool } from './alloc';
import { fail } from './failure';
import { newGuid } from './guid';
import { enumOut, serviceStamp, withoutServiceKeys } from './objects';
import { addPolicies, removePolicies } from './policies';
import { dropEndpoint } from './endpoints';
import { requestName, resourceName } from './requests';
import type { Fill, StoreTx } from './store';
import type { EmulatorConfig } from './config';

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

/**
 * The policies the service adds to a network of this type, some time after create: Overlay
 * networks get the host's distributed router MAC and provider address. Flannel polls
 * GetNetworkByID every 500 ms for up to 5 s until the ProviderAddress policy is there, then reads
 * DrMacAddress once (flannel pkg/backend/vxlan/device_windows.go ensureNetwork,
 * vxlan_windows.go): both appear late, together (research §6). L2Bridge: flannel host-gw and
 * Calico wait for the v1 ManagementIP the same way; a v2 ProviderAddress policy on L2Bridge is
 * unconfirmed, so it is a knob (l2BridgeProviderAddress, INFERRED).
 */
function serviceFilledPolicies(type: NetworkMode | undefined, given: NetworkPolicy[] | undefined, cfg: EmulatorConfig): NetworkPolicy[] {
  const have = new Set((given ?? []).map((p) => p.Type));
  const out: NetworkPolicy[] = [];
  if (type === 'Overlay') {
    if (!have.has('DrMacAddress')) out.push({ Type: 'DrMacAddress', Settings: { Address: cfg.drMacAddress } });
    if (!have.has('ProviderAddress')) out.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: cfg.managementIp } });
  }
  if (type === 'L2Bridge' && cfg.l2BridgeProviderAddress && !have.has('ProviderAddress')) out.push({ Type: 'ProviderAddress', Settings: { ProviderAddress: cfg.managementIp } });
  return out;
}

export function createNetwork(tx: StoreTx, id: string | undefined, doc: HostComputeNetwork): HostComputeNetwork {
  if (id && tx.rec('Network', id)) fail('ERROR_ALREADY_EXISTS');
  if (doc.Name !== undefined && tx.byName('Network', doc.Name).length > 0) fail('HCN_E_NETWORK_ALREADY_EXISTS');
  const { Type, Ipams, MacPool, Policies, ...rest } = withoutServiceKeys(doc);
  const type = enumOut<NetworkMode>(Type, NETWORK_MODES);
  const net: HostComputeNetwork = { ID: id ?? newGuid(), ...rest };
  if (type) net.Type = type;
  const ipams = ipamsOut(Ipams);
  if (ipams) net.Ipams = ipams;
  net.MacPool = MacPool?.Ranges?.length ? MacPool : defaultMacPool(tx.nextMacPool());
  const filled = serviceFilledPolicies(type, Policies, tx.cfg);
  const delay = tx.cfg.providerAddressDelayMs;
  const now = [...(Policies ?? []), ...(delay > 0 ? [] : filled)];
  if (Policies || now.length) net.Policies = now;
  Object.assign(net, serviceStamp(tx.cfg));
  // The v1 ManagementIP of these networks appears after the same delay (flannel hostgw_windows.go
  // and Calico chkMgmtIPandEnableForwarding poll for it on L2Bridge).
  const late = filled.length > 0 || type === 'L2Bridge' || type === 'L2Tunnel' || type === 'Overlay';
  const fill: Fill | undefined = delay > 0 && late ? { at: tx.now + delay, policies: filled } : undefined;
  return tx.create('Network', net, fill);
}

/** When the v1 view shows the network's ManagementIP (the same delay as the policies). */
export function managementIpVisible(tx: StoreTx, id: string): boolean {
  const rec = tx.rec('Network', id);
  return !rec?.fill || tx.now >= rec.fill.at;
}

/** Deleting a network takes its endpoints with it (and out of their namespaces). */
export function deleteNetwork(tx: StoreTx, id: string): void {
  const net = tx.must('Network', id);
  for (const epId of tx.endpointsOf(net.ID!)) {
    const ep = tx.get('Endpoint', epId);
    if (ep) dropEndpoint(tx, ep);
  }
  tx.dropAllocHints(net.ID!);
  tx.drop('Network', net.ID!);
}

export function modifyNetwork(tx: StoreTx, id: string, req: NetworkModifyRequest): void {
  const net = { ...tx.must('Network', id) };
  const resource = resourceName(req.ResourceType, ['DNS', 'Extension', 'Policy', 'Subnet', 'IPSubnet']);
  const request = requestName(req.RequestType);
  if (resource === 'Policy' && (request === 'Add' || request === 'Remove')) {
    const given = (req.Settings as { Policies: NetworkPolicy[] }).Policies;
    net.Policies = request === 'Add' ? addPolicies(net.Policies, given) : removePolicies(net.Policies, given);
    return tx.save('Network', net);
  }
  if (resource === 'DNS' && request === 'Update') {
    net.Dns = req.Settings as HostComputeNetwork['Dns'];
    return tx.save('Network', net);
  }
  fail('E_NOTIMPL', `{{${resource} ${request},the emulator does not model this network modification}}`);
}
