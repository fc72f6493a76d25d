// HostComputeEndpoint rules (hcn-api.md §2.3, §2.4, §4.1-§4.3).

import type { HostComputeEndpoint } from '../../model/endpoint';
import type { HostComputeNamespace } from '../../model/namespace';
import type { EndpointModifyRequest } from '../../model/modify';
import { allocateMac, assignIps, releaseAddresses } from './alloc';
import { fail } from './failure';
import { newGuid, sameGuid } from './guid';
import { serviceStamp, withoutServiceKeys } from './objects';
import { type AnyPolicy, addPolicies, checkPortMappings, checkSnatPortPool, removePolicies } from './policies';
import { requestName, resourceName } from './requests';
import type { StoreTx } from './store';

/** Creates an endpoint on the network the handle was opened for (the handle decides, as in the DLL). */
export function createEndpoint(tx: StoreTx, networkId: string, id: string | undefined, doc: HostComputeEndpoint): HostComputeEndpoint {
  const net = tx.must('Network', networkId);
  if (id && tx.rec('Endpoint', id)) fail('ERROR_ALREADY_EXISTS');
  // Read-only: only HcnModifyNamespace puts an endpoint into a namespace.
  if (doc.HostComputeNamespace) fail('HCN_E_INVALID_ENDPOINT', '{{HostComputeNamespace,is set by adding the endpoint to a namespace}}');
  if (doc.HostComputeNetwork && !sameGuid(doc.HostComputeNetwork, net.ID)) {
    fail('HCN_E_INVALID_ENDPOINT', `{{HostComputeNetwork,${doc.HostComputeNetwork} is not the network ${net.ID} the endpoint is created on}}`);
  }
  checkPortMappings(tx, doc.Policies as AnyPolicy[] | undefined);
  checkSnatPortPool(tx, doc.Policies as AnyPolicy[] | undefined);
  const ep: HostComputeEndpoint = { ID: id ?? newGuid(), ...withoutServiceKeys(doc), HostComputeNetwork: net.ID };
  ep.IpConfigurations = assignIps(tx, net, doc);
  if (!doc.MacAddress) ep.MacAddress = allocateMac(tx, net);
  Object.assign(ep, serviceStamp(tx.cfg));
  return tx.create('Endpoint', ep);
}

/** Removes the endpoint and its namespace's reference to it. */
export function dropEndpoint(tx: StoreTx, ep: HostComputeEndpoint): void {
  if (ep.HostComputeNamespace) {
    const ns = tx.get('Namespace', ep.HostComputeNamespace);
    if (ns?.Resources) {
      const kept = ns.Resources.filter((r) => !(r.Type === 'Endpoint' && sameGuid(r.Data.Id, ep.ID)));
      if (kept.length !== ns.Resources.length) {
        const next: HostComputeNamespace = { ...ns };
        if (kept.length) next.Resources = kept;
        else delete next.Resources;
        tx.save('Namespace', next);
      }
    }
  }
  releaseAddresses(tx, tx.get('Network', ep.HostComputeNetwork!), ep);
  tx.drop('Endpoint', ep.ID!);
}

export function deleteEndpoint(tx: StoreTx, id: string): void {
  const ep = tx.must('Endpoint', id);
  if (ep.HostComputeNamespace && tx.cfg.deleteEndpointInNamespace === 'refuse') {
    fail('HCN_E_ENTITY_HAS_REFERENCES', `{{HostComputeNamespace,the endpoint is still in namespace ${ep.HostComputeNamespace}}}`);
  }
  dropEndpoint(tx, ep);
}

export function modifyEndpoint(tx: StoreTx, id: string, req: EndpointModifyRequest): void {
  const ep = { ...tx.must('Endpoint', id) };
  const resource = resourceName(req.ResourceType, ['Port', 'Policy']);
  const request = requestName(req.RequestType);
  const given = (req.Settings.Policies ?? []) as AnyPolicy[];
  if (resource === 'Policy' && request === 'Add') {
    checkPortMappings(tx, given, ep.ID, true);
    ep.Policies = addPolicies(ep.Policies as AnyPolicy[] | undefined, given) as HostComputeEndpoint['Policies'];
    checkSnatPortPool(tx, ep.Policies as AnyPolicy[] | undefined, ep.ID);
    return tx.save('Endpoint', ep);
  }
  if (resource === 'Policy' && request === 'Remove') {
    ep.Policies = removePolicies(ep.Policies as AnyPolicy[] | undefined, given) as HostComputeEndpoint['Policies'];
    return tx.save('Endpoint', ep);
  }
  if (resource === 'Policy' && request === 'Update') {
    checkPortMappings(tx, given, ep.ID, false);
    checkSnatPortPool(tx, given, ep.ID);
    ep.Policies = given as HostComputeEndpoint['Policies'];
    return tx.save('Endpoint', ep);
  }
  fail('E_NOTIMPL', `{{${resource} ${request},the emulator does not model this endpoint modification}}`);
}
