// HostComputeEndpoint rules (hcn-api.md §2.3, §2.4, §4.1-§4.3).

import type { HostComputeEndpoint } from '../../model/endpoint';
import type { EndpointModifyRequest } from '../../model/modify';
import type { EmulatorConfig, EmulatorState } from './store';
import { allocateMac, assignIps } from './alloc';
import { fail } from './failure';
import { newGuid, sameGuid } from './guid';
import { endpointsOf, getObject, serviceFields, withoutServiceKeys } from './objects';
import { type AnyPolicy, addPolicies, checkPortMappings, removePolicies } from './policies';
import { requestName, resourceName } from './requests';

function othersThan(s: EmulatorState, id: string | undefined): HostComputeEndpoint[] {
  return Object.values(s.endpoints).filter((e) => e.ID !== id);
}

/** Creates an endpoint on the network the handle was opened for (the handle decides, as in the DLL). */
export function createEndpoint(s: EmulatorState, cfg: EmulatorConfig, networkId: string, id: string | undefined, doc: HostComputeEndpoint): HostComputeEndpoint {
  const net = getObject(s, cfg, 'Network', networkId);
  if (id && s.endpoints[id]) fail('ERROR_ALREADY_EXISTS');
  // Read-only: only HcnModifyNamespace puts an endpoint into a namespace.
  if (doc.HostComputeNamespace) fail('HCN_E_INVALID_ENDPOINT', '{{HostComputeNamespace,is set by adding the endpoint to a namespace}}');
  if (doc.HostComputeNetwork && !sameGuid(doc.HostComputeNetwork, net.ID)) {
    fail('HCN_E_INVALID_ENDPOINT', `{{HostComputeNetwork,${doc.HostComputeNetwork} is not the network ${net.ID} the endpoint is created on}}`);
  }
  checkPortMappings(doc.Policies as AnyPolicy[] | undefined, Object.values(s.endpoints));
  const siblings = endpointsOf(s, net.ID!);
  const ep: HostComputeEndpoint = { ID: id ?? newGuid(), ...withoutServiceKeys(doc), HostComputeNetwork: net.ID };
  ep.IpConfigurations = assignIps(net, siblings, doc, cfg.remoteSharesLocalIps);
  if (!doc.MacAddress) ep.MacAddress = allocateMac(net, siblings);
  Object.assign(ep, serviceFields(cfg));
  s.endpoints[ep.ID!] = ep;
  return ep;
}

/** Removes the endpoint and every namespace's reference to it. */
export function dropEndpoint(s: EmulatorState, ep: HostComputeEndpoint): void {
  for (const ns of Object.values(s.namespaces)) {
    if (!ns.Resources) continue;
    ns.Resources = ns.Resources.filter((r) => !(r.Type === 'Endpoint' && sameGuid(r.Data.Id, ep.ID)));
    if (ns.Resources.length === 0) delete ns.Resources;
  }
  delete s.endpoints[ep.ID!];
}

export function deleteEndpoint(s: EmulatorState, cfg: EmulatorConfig, id: string): void {
  const ep = getObject(s, cfg, 'Endpoint', id);
  if (ep.HostComputeNamespace && cfg.deleteEndpointInNamespace === 'refuse') {
    fail('HCN_E_ENTITY_HAS_REFERENCES', `{{HostComputeNamespace,the endpoint is still in namespace ${ep.HostComputeNamespace}}}`);
  }
  dropEndpoint(s, ep);
}

export function modifyEndpoint(s: EmulatorState, cfg: EmulatorConfig, id: string, req: EndpointModifyRequest): void {
  const ep = getObject(s, cfg, 'Endpoint', id);
  const resource = resourceName(req.ResourceType, ['Port', 'Policy']);
  const request = requestName(req.RequestType);
  const given = (req.Settings.Policies ?? []) as AnyPolicy[];
  if (resource === 'Policy' && request === 'Add') {
    checkPortMappings(given, othersThan(s, ep.ID).concat(ep));
    ep.Policies = addPolicies(ep.Policies as AnyPolicy[] | undefined, given) as HostComputeEndpoint['Policies'];
    return;
  }
  if (resource === 'Policy' && request === 'Remove') {
    ep.Policies = removePolicies(ep.Policies as AnyPolicy[] | undefined, given) as HostComputeEndpoint['Policies'];
    return;
  }
  if (resource === 'Policy' && request === 'Update') {
    checkPortMappings(given, othersThan(s, ep.ID));
    ep.Policies = given as HostComputeEndpoint['Policies'];
    return;
  }
  fail('E_NOTIMPL', `{{${resource} ${request},the emulator does not model this endpoint modification}}`);
}
