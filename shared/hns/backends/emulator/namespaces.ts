// HostComputeNamespace rules (hcn-api.md §2.5, §4.1, §6): a namespace is a network compartment;
// containerd makes one per pod, the plugin adds the pod's endpoint to it, HCS adds containers.

import type { HostComputeNamespace, NamespaceResource, NamespaceType } from '../../model/namespace';
import { NAMESPACE_TYPES } from '../../model/namespace';
import type { NamespaceModifyRequest } from '../../model/modify';
import type { EmulatorConfig, EmulatorState } from './store';
import { fail } from './failure';
import { guidArg, newGuid, sameGuid } from './guid';
import { enumOut, getObject, serviceFields, withoutServiceKeys } from './objects';
import { requestName, resourceName } from './requests';

/** The host's default compartment, which the HostDefault namespace stands for. */
const DEFAULT_COMPARTMENT = 1;
const REMOTE_ENDPOINT = 1;

export function createNamespace(s: EmulatorState, cfg: EmulatorConfig, id: string | undefined, doc: HostComputeNamespace): HostComputeNamespace {
  if (id && s.namespaces[id]) fail('ERROR_ALREADY_EXISTS');
  const { Type, Resources, NamespaceId, NamespaceGuid, ...rest } = withoutServiceKeys(doc);
  const type = enumOut<NamespaceType>(Type, NAMESPACE_TYPES);
  if (type === 'HostDefault' && Object.values(s.namespaces).some((n) => n.Type === 'HostDefault')) fail('GCN_E_DEFAULTNAMESPACE_EXISTS');
  if (Resources?.length) fail('E_INVALIDARG', '{{Resources,are added with HcnModifyNamespace}}');
  const ns: HostComputeNamespace = { ID: id ?? newGuid(), ...rest };
  if (type) ns.Type = type;
  ns.NamespaceId = NamespaceId || (type === 'HostDefault' ? DEFAULT_COMPARTMENT : s.nextCompartmentId++);
  ns.NamespaceGuid = NamespaceGuid?.toUpperCase() ?? newGuid();
  Object.assign(ns, serviceFields(cfg));
  s.namespaces[ns.ID!] = ns;
  return ns;
}

/** Refused while containers are in it; its endpoints stay, outside any namespace. */
export function deleteNamespace(s: EmulatorState, cfg: EmulatorConfig, id: string): void {
  const ns = getObject(s, cfg, 'Namespace', id);
  if (ns.Resources?.some((r) => r.Type === 'Container')) fail('HCN_E_REQUEST_UNSUPPORTED', '{{Resources,the namespace still has containers}}');
  for (const ep of Object.values(s.endpoints)) if (sameGuid(ep.HostComputeNamespace, ns.ID)) delete ep.HostComputeNamespace;
  delete s.namespaces[ns.ID!];
}

function addEndpoint(s: EmulatorState, cfg: EmulatorConfig, ns: HostComputeNamespace, endpointId: string): void {
  const ep = getObject(s, cfg, 'Endpoint', endpointId);
  if (((ep.Flags ?? 0) & REMOTE_ENDPOINT) !== 0) fail('HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION');
  if (ep.HostComputeNamespace) fail('HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', `{{EndpointId,the endpoint is in namespace ${ep.HostComputeNamespace}}}`);
  ep.HostComputeNamespace = ns.ID;
  ns.Resources = [...(ns.Resources ?? []), { Type: 'Endpoint', Data: { Id: ep.ID! } }];
}

function removeResource(ns: HostComputeNamespace, match: (r: NamespaceResource) => boolean): void {
  const kept = (ns.Resources ?? []).filter((r) => !match(r));
  if (kept.length === (ns.Resources?.length ?? 0)) fail('ERROR_NOT_FOUND');
  if (kept.length) ns.Resources = kept;
  else delete ns.Resources;
}

export function modifyNamespace(s: EmulatorState, cfg: EmulatorConfig, id: string, req: NamespaceModifyRequest): void {
  const ns = getObject(s, cfg, 'Namespace', id);
  const resource = resourceName(req.ResourceType, ['Container', 'Endpoint']);
  const request = requestName(req.RequestType);
  if (resource === 'Endpoint' && (request === 'Add' || request === 'Remove')) {
    if (!req.Settings.EndpointId) fail('E_INVALIDARG', '{{EndpointId,missing}}');
    const endpointId = guidArg(req.Settings.EndpointId);
    if (request === 'Add') return addEndpoint(s, cfg, ns, endpointId);
    removeResource(ns, (r) => r.Type === 'Endpoint' && sameGuid(r.Data.Id, endpointId));
    const ep = s.endpoints[endpointId];
    if (ep && sameGuid(ep.HostComputeNamespace, ns.ID)) delete ep.HostComputeNamespace;
    return;
  }
  if (resource === 'Container' && (request === 'Add' || request === 'Remove')) {
    const containerId = req.Settings.ContainerId;
    if (!containerId) fail('E_INVALIDARG', '{{ContainerId,missing}}');
    const isIt = (r: NamespaceResource) => r.Type === 'Container' && r.Data.Id === containerId;
    if (request === 'Remove') return removeResource(ns, isIt);
    if (ns.Resources?.some(isIt)) fail('ERROR_ALREADY_EXISTS', `{{ContainerId,${containerId} is already in the namespace}}`);
    ns.Resources = [...(ns.Resources ?? []), { Type: 'Container', Data: { Id: containerId } }];
    return;
  }
  fail('E_NOTIMPL', `{{${resource} ${request},the emulator does not model this namespace modification}}`);
}
