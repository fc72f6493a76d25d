// HostComputeNamespace rules (hcn-api.md §2.5, §4.1, §6): a namespace is a network compartment;
// containerd makes one per pod, the plugin adds the pod's endpoint to it, HCS adds containers.

import type { HostComputeNamespace, NamespaceResource, NamespaceType } from '../../model/namespace';
import { NAMESPACE_TYPES } from '../../model/namespace';
import type { NamespaceModifyRequest } from '../../model/modify';
import { fail } from './failure';
import { knowsReadyOnCreate } from './gates';
import { guidArg, newGuid, sameGuid } from './guid';
import { enumOut, isRemote, serviceStamp, withoutServiceKeys } from './objects';
import { requestName, resourceName } from './requests';
import type { StoreTx } from './store';

/** The host's default compartment, which a HostDefault namespace stands for. */
const DEFAULT_COMPARTMENT = 1;

/**
 * The compartment a new namespace gets. HostDefault: the default compartment (1), unless the
 * document names one (hcsshim's tests pass 5). Others: on an HNS 15.0 host, containerd's
 * namespaces show CompartmentId 0 until a container joins (projectcalico/calico#8465); builds that
 * know ReadyOnCreate (>= 13.4 / 15.2) "change how network compartments are initialized" when it is
 * set (containerd pkg/netns/netns_windows.go). So 0 at create ('lazy', the default), a compartment
 * at create with ReadyOnCreate on such a build, or always ('eager', config namespaceCompartment).
 */
function compartmentAtCreate(tx: StoreTx, type: NamespaceType | undefined, doc: HostComputeNamespace): number {
  if (doc.NamespaceId) return doc.NamespaceId;
  if (type === 'HostDefault') return DEFAULT_COMPARTMENT;
  const ready = doc.ReadyOnCreate === true && knowsReadyOnCreate(tx.cfg);
  return tx.cfg.namespaceCompartment === 'eager' || ready ? tx.nextCompartmentId() : 0;
}

/**
 * More than one HostDefault namespace is allowed: every host has one from the start, and
 * hcsshim's integration tests create more and expect success (hcn/hcnnamespace_test.go
 * TestSyncNamespaceHostDefault, HcnCreateTestNamespace).
 */
export function createNamespace(tx: StoreTx, id: string | undefined, doc: HostComputeNamespace): HostComputeNamespace {
  if (id && tx.rec('Namespace', id)) fail('ERROR_ALREADY_EXISTS');
  const { Type, Resources, NamespaceId: _id, NamespaceGuid, ...rest } = withoutServiceKeys(doc);
  const type = enumOut<NamespaceType>(Type, NAMESPACE_TYPES);
  if (Resources?.length) fail('E_INVALIDARG', '{{Resources,are added with HcnModifyNamespace}}');
  const ns: HostComputeNamespace = { ID: id ?? newGuid(), ...rest };
  if (type) ns.Type = type;
  ns.NamespaceId = compartmentAtCreate(tx, type, doc);
  ns.NamespaceGuid = NamespaceGuid?.toUpperCase() ?? newGuid();
  Object.assign(ns, serviceStamp(tx.cfg));
  return tx.create('Namespace', ns);
}

/** Refused while containers are in it; its endpoints stay, outside any namespace. */
export function deleteNamespace(tx: StoreTx, id: string): void {
  const ns = tx.must('Namespace', id);
  if (ns.Resources?.some((r) => r.Type === 'Container')) fail('HCN_E_REQUEST_UNSUPPORTED', '{{Resources,the namespace still has containers}}');
  for (const r of ns.Resources ?? []) {
    if (r.Type !== 'Endpoint') continue;
    const ep = tx.get('Endpoint', r.Data.Id);
    if (ep && sameGuid(ep.HostComputeNamespace, ns.ID)) {
      const { HostComputeNamespace: _gone, ...rest } = ep;
      tx.save('Endpoint', rest);
    }
  }
  tx.drop('Namespace', ns.ID!);
}

function addEndpoint(tx: StoreTx, ns: HostComputeNamespace, endpointId: string): void {
  const ep = tx.must('Endpoint', endpointId);
  if (isRemote(ep)) fail('HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION');
  if (ep.HostComputeNamespace) fail('HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', `{{EndpointId,the endpoint is in namespace ${ep.HostComputeNamespace}}}`);
  tx.save('Endpoint', { ...ep, HostComputeNamespace: ns.ID });
  tx.save('Namespace', { ...ns, Resources: [...(ns.Resources ?? []), { Type: 'Endpoint', Data: { Id: ep.ID! } }] });
}

function withoutResource(ns: HostComputeNamespace, match: (r: NamespaceResource) => boolean): HostComputeNamespace {
  const kept = (ns.Resources ?? []).filter((r) => !match(r));
  if (kept.length === (ns.Resources?.length ?? 0)) fail('ERROR_NOT_FOUND');
  const next = { ...ns };
  if (kept.length) next.Resources = kept;
  else delete next.Resources;
  return next;
}

export function modifyNamespace(tx: StoreTx, id: string, req: NamespaceModifyRequest): void {
  const ns = tx.must('Namespace', id);
  const resource = resourceName(req.ResourceType, ['Container', 'Endpoint']);
  const request = requestName(req.RequestType);
  if (resource === 'Endpoint' && (request === 'Add' || request === 'Remove')) {
    if (!req.Settings.EndpointId) fail('E_INVALIDARG', '{{EndpointId,missing}}');
    const endpointId = guidArg(req.Settings.EndpointId);
    if (request === 'Add') return addEndpoint(tx, ns, endpointId);
    tx.save('Namespace', withoutResource(ns, (r) => r.Type === 'Endpoint' && sameGuid(r.Data.Id, endpointId)));
    const ep = tx.get('Endpoint', endpointId);
    if (ep && sameGuid(ep.HostComputeNamespace, ns.ID)) {
      const { HostComputeNamespace: _gone, ...rest } = ep;
      tx.save('Endpoint', rest);
    }
    return;
  }
  if (resource === 'Container' && (request === 'Add' || request === 'Remove')) {
    const containerId = req.Settings.ContainerId;
    if (!containerId) fail('E_INVALIDARG', '{{ContainerId,missing}}');
    const isIt = (r: NamespaceResource) => r.Type === 'Container' && r.Data.Id === containerId;
    if (request === 'Remove') return tx.save('Namespace', withoutResource(ns, isIt));
    if (ns.Resources?.some(isIt)) fail('ERROR_ALREADY_EXISTS', `{{ContainerId,${containerId} is already in the namespace}}`);
    const next: HostComputeNamespace = { ...ns, Resources: [...(ns.Resources ?? []), { Type: 'Container', Data: { Id: containerId } }] };
    // The first container brings the compartment into being (lazy compartments, above).
    if (!next.NamespaceId) next.NamespaceId = tx.nextCompartmentId();
    return tx.save('Namespace', next);
  }
  fail('E_NOTIMPL', `{{${resource} ${request},the emulator does not model this namespace modification}}`);
}
