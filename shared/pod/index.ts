// The compartment library: each pod gets exactly one endpoint, attached to its namespace.

export type { PodContext } from './context';
export { withPodLock, hnsFailure } from './context';
export type { PodRef } from './identity';
export { endpointName, namespaceGuid, containerIdOf, sameGuid } from './identity';
export type { EndpointRequest, AddedEndpoint } from './add';
export { addPodEndpoint, assertNotAttached, findNetwork, networkMode } from './add';
export { deletePodEndpoint } from './del';
export type { ExpectedAttachment } from './check';
export { checkPodEndpoint, findPodEndpoint, namespaceMembers, NO_CONTAINER_HINT } from './check';
export type { Attachment } from './gc';
export { collectGarbage } from './gc';
export { networkStatus } from './status';
export { readRecord, listRecords } from './records';
