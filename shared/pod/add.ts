// ADD: one endpoint for the pod, attached to its namespace, verified. Any failure undoes every
// earlier step before the error is returned, so a failed ADD leaves nothing behind.

import { CniError, ErrorCode } from '../cni/errors';
import { isNotFound, type HnsError } from '../hns/errors';
import { SCHEMA_V2 } from '../hns/model/common';
import { EndpointFlags, type HostComputeEndpoint } from '../hns/model/endpoint';
import { hr } from '../hns/hresult';
import type { HostComputeNetwork, NetworkMode } from '../hns/model/network';
import type { EndpointPolicy, OutboundNatSettings } from '../hns/model/policy';
import { NETWORK_MODES } from '../hns/model/network';
import { enumName } from '../hns/model/common';
import { hnsFailure, type PodContext } from './context';
import { containerIdOf, endpointName, namespaceGuid, POD_ENDPOINT_OWNER, type PodRef, sameGuid } from './identity';
import { type AttachmentRecord, listRecords, readRecord, removeRecord, writeRecord } from './records';
import { errorText } from '../log/logger';

/** The endpoint a mode wants for the pod: everything but the name and network, which are ours to set. */
export type EndpointRequest = Omit<HostComputeEndpoint, 'ID' | 'Name' | 'HostComputeNetwork' | 'HostComputeNamespace' | 'SchemaVersion'>;

export function networkMode(net: HostComputeNetwork): NetworkMode {
  return enumName(net.Type as NetworkMode | number | undefined, NETWORK_MODES, 'NAT');
}

/** How long ADD waits for a network that pods were on to come back (the agent re-creating it). */
const NETWORK_WAIT_MS = 5000;
const NETWORK_POLL_MS = 250;

/**
 * The pod's network, of one of the types the mode runs on. A missing network that pods on this
 * node were attached to (records exist) is most likely being re-created by the node agent after a
 * reboot or an HNS restart, so ADD waits for it, bounded and logged, instead of failing at once.
 */
export async function findNetwork(ctx: PodContext, name: string, types: readonly NetworkMode[]): Promise<HostComputeNetwork> {
  const lookup = () => ctx.client.getNetworkByName(name);
  let net: HostComputeNetwork;
  try {
    net = await ctx.log.step('find-network', lookup, (n) => ({ networkId: n.ID }));
  } catch (err) {
    const back = isNotFound(err) && listRecords(ctx.stateDir, name).length > 0 ? await waitForNetwork(ctx, name, lookup) : undefined;
    if (back) net = back;
    else if (isNotFound(err)) {
      throw new CniError(ErrorCode.NetworkUnavailable, `HNS network "${name}" not found`, `the conf's "name" must be the name of an existing ${types.join(' or ')} network on this node (hnsctl list networks)`);
    } else throw hnsFailure(`looking up HNS network "${name}"`, err);
  }
  const mode = networkMode(net);
  if (!types.includes(mode)) {
    throw new CniError(ErrorCode.NetworkUnavailable, `HNS network "${name}" is of type ${mode}, not ${types.join(' or ')}`, 'use the plugin that matches the network\'s mode');
  }
  return net;
}

async function waitForNetwork(ctx: PodContext, name: string, lookup: () => Promise<HostComputeNetwork>): Promise<HostComputeNetwork | undefined> {
  const t0 = Date.now();
  ctx.log.event('wait-network', { network: name, maxMs: NETWORK_WAIT_MS, note: 'pods were attached to it: waiting for the node agent to re-create it' }, 'warning');
  while (Date.now() - t0 < NETWORK_WAIT_MS) {
    await new Promise((r) => setTimeout(r, NETWORK_POLL_MS));
    try {
      const net = await lookup();
      ctx.log.event('network-back', { network: name, networkId: net.ID, waitedMs: Date.now() - t0 });
      return net;
    } catch (err) {
      if (!isNotFound(err)) throw hnsFailure(`looking up HNS network "${name}"`, err);
    }
  }
  ctx.log.event('wait-network-timeout', { network: name, waitedMs: Date.now() - t0 }, 'error');
  return undefined;
}

/**
 * Fails if this container already has an attachment on the network (spec: a second ADD must fail).
 * HNS is the truth: a record whose endpoint the service no longer has (an HNS restart or a reboot
 * dropped it) is stale, so it is removed and returned, and the ADD goes on reusing the pod's
 * address claim (issue 20).
 */
export async function assertNotAttached(ctx: PodContext, ref: PodRef): Promise<AttachmentRecord | undefined> {
  const name = endpointName(ref.containerId, ref.network);
  const existing = await ctx.client.listEndpoints({ Name: name }).catch((err) => {
    throw hnsFailure(`looking up endpoint ${name}`, err);
  });
  const record = readRecord(ctx.stateDir, ref.network, ref.containerId, ctx.log);
  if (existing.length === 0 && !record) return undefined;
  if (existing.length === 0 && record) {
    ctx.log.event('stale-record', { containerId: ref.containerId, endpoint: name, endpointId: record.endpointId, note: 'the record names an endpoint HNS no longer has; ADD reuses the address claim' }, 'warning');
    removeRecord(ctx.stateDir, ref.network, ref.containerId);
    return record;
  }
  const owner = record ? `interface ${record.ifName}` : 'an earlier ADD';
  const detail = record && record.ifName !== ref.ifName
    ? `this plugin gives a pod one endpoint per network; ${ref.containerId} already has one for ${record.ifName}`
    : 'DEL the attachment before adding it again';
  throw new CniError(ErrorCode.AttachmentExists, `container ${ref.containerId} is already attached to network ${ref.network} (${owner}, endpoint ${name})`, detail);
}

export interface AddedEndpoint {
  endpoint: HostComputeEndpoint;
  network: HostComputeNetwork;
}

export interface AddOptions {
  /**
   * Policies that can only be written once the service has picked the address (loopback DSR of
   * an HNS-assigned address): added to the new endpoint before it joins the namespace.
   */
  policiesAfterCreate?: (created: HostComputeEndpoint) => EndpointPolicy[];
}

/**
 * Creates the pod's endpoint and adds it to the pod's namespace. The caller holds the pod lock
 * and has checked that the pod has no attachment yet (assertNotAttached): checking twice would
 * cost a round trip to the service on every pod start.
 */
export async function addPodEndpoint(ctx: PodContext, ref: PodRef, net: HostComputeNetwork, request: EndpointRequest, opts: AddOptions = {}): Promise<AddedEndpoint> {
  const nsId = namespaceGuid(ref.netns);
  const name = endpointName(ref.containerId, ref.network);
  writeRecord(ctx.stateDir, { containerId: ref.containerId, ifName: ref.ifName, netns: nsId, network: ref.network, created: Date.now() });
  const undo: { step: string; run: () => Promise<void> }[] = [{ step: 'remove-record', run: async () => removeRecord(ctx.stateDir, ref.network, ref.containerId) }];
  try {
    const doc: HostComputeEndpoint = { SchemaVersion: SCHEMA_V2, Owner: POD_ENDPOINT_OWNER, Name: name, HostComputeNetwork: net.ID, ...request };
    // Each undo is registered before its call: a call that fails after the service acted (a
    // query that times out after the create went through) must still be undone. The endpoint is
    // found again by name: none had it before (checked under the pod lock), so all are ours.
    undo.unshift({ step: 'delete-endpoint', run: () => deleteEndpointsNamed(ctx, name) });
    let endpoint = await ctx.log.step('create-endpoint', () => createReclaiming(ctx, net, doc), (e) => ({ endpointId: e.ID, ips: e.IpConfigurations?.map((c) => c.IpAddress) }))
      .catch((err) => { throw err instanceof CniError ? err : createFailure(ctx, err, doc); });
    const id = endpoint.ID!;
    checkCreated(endpoint, request);
    const later = opts.policiesAfterCreate?.(endpoint) ?? [];
    if (later.length) {
      await ctx.log.step('add-policies', () => ctx.client.modifyEndpoint(id, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: later } }), { policies: later.map((p) => p.Type) })
        .catch((err) => { throw hnsFailure(`adding policies to endpoint ${id}`, err); });
      endpoint = { ...endpoint, Policies: [...(endpoint.Policies ?? []), ...later] as HostComputeEndpoint['Policies'] };
    }
    undo.unshift({ step: 'detach-namespace', run: () => ctx.client.removeNamespaceEndpoint(nsId, id) });
    // The service answers the modify with success only once the endpoint is in the namespace;
    // hcsshim's AddNamespaceEndpoint reads nothing back either.
    await ctx.log.step('attach-namespace', () => ctx.client.addNamespaceEndpoint(nsId, id), { namespace: nsId })
      .catch((err) => { throw attachFailure(err, nsId); });
    writeRecord(ctx.stateDir, { containerId: ref.containerId, ifName: ref.ifName, netns: nsId, network: ref.network, endpointId: id, created: Date.now() });
    return { endpoint: { ...endpoint, HostComputeNamespace: nsId }, network: net };
  } catch (err) {
    await rollback(ctx, undo);
    throw err;
  }
}

/** The create's answer has every address asked for (and one per entry that asked for none). */
function checkCreated(endpoint: HostComputeEndpoint, request: EndpointRequest): void {
  const got = endpoint.IpConfigurations ?? [];
  for (const want of request.IpConfigurations ?? []) {
    if (want.IpAddress && !got.some((c) => c.IpAddress === want.IpAddress)) {
      throw new CniError(ErrorCode.HnsFailure, `endpoint ${endpoint.ID} was created without the address ${want.IpAddress}`, `the service reports ${got.map((c) => c.IpAddress).join(', ') || 'no address'}`);
    }
  }
  if (!got.some((c) => c.IpAddress)) throw new CniError(ErrorCode.HnsFailure, `endpoint ${endpoint.ID} was created without an address`, 'the HNS network has no subnet to assign one from');
}

/**
 * Creates the endpoint. If an address or host port it needs is held by an endpoint of ours whose
 * pod is gone (its namespace no longer exists: a DEL that never came), that leaked endpoint is
 * removed and the create tried once more; a holder that is anyone else's is named in the error
 * (leaked endpoints holding pod IPs: kubernetes#130963).
 */
async function createReclaiming(ctx: PodContext, net: HostComputeNetwork, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
  try {
    return await ctx.client.createEndpoint(net.ID!, doc);
  } catch (err) {
    const code = (err as HnsError).hresult;
    if (code !== hr('ERROR_OBJECT_ALREADY_EXISTS') && code !== hr('HCN_E_PORT_ALREADY_EXISTS')) throw err;
    const holder = (await conflictCandidates(ctx, net, doc, code)).find((e) => holds(e, doc, net.ID!));
    if (!holder) throw err;
    if (!(await isLeakedPodEndpoint(ctx, holder, net.Name!))) {
      throw new CniError(ErrorCode.AddressConflict, `an address or host port of ${doc.Name} is held by endpoint ${holder.Name} (${holder.ID})`, `${(err as Error).message}; remove that endpoint if it is stale, or release the address in the IPAM`);
    }
    ctx.log.event('reclaim-leaked-endpoint', { endpointId: holder.ID, name: holder.Name }, 'warning');
    await ctx.client.deleteEndpoint(holder.ID!).catch((e) => { if (!isNotFound(e)) throw e; });
    const leakedContainer = containerIdOf(holder.Name, net.Name!);
    if (leakedContainer) removeRecord(ctx.stateDir, net.Name!, leakedContainer);
    return ctx.client.createEndpoint(net.ID!, doc);
  }
}

/**
 * Endpoints that may hold what the create needed, asked of the service by network and address
 * (filters use the v1 names, as in hcsshim's ListEndpointsOfNetwork), never the whole host: a
 * node with kube-proxy's remote endpoints has thousands. A host port is held host-wide, but only
 * an endpoint of ours on this network can be reclaimed, so the network's endpoints suffice.
 */
async function conflictCandidates(ctx: PodContext, net: HostComputeNetwork, doc: HostComputeEndpoint, code: number): Promise<HostComputeEndpoint[]> {
  if (code === hr('HCN_E_PORT_ALREADY_EXISTS')) return ctx.client.listEndpointsOfNetwork(net.ID!);
  const out: HostComputeEndpoint[] = [];
  for (const c of doc.IpConfigurations ?? []) {
    if (c.IpAddress) out.push(...(await ctx.client.listEndpoints({ VirtualNetwork: net.ID, IPAddress: c.IpAddress })));
  }
  return out;
}

/** Whether `e` has one of `doc`'s addresses on the same network, or one of its host ports (host-wide). */
function holds(e: HostComputeEndpoint, doc: HostComputeEndpoint, networkId: string): boolean {
  const ips = new Set((doc.IpConfigurations ?? []).map((c) => c.IpAddress).filter(Boolean));
  if (sameGuid(e.HostComputeNetwork, networkId) && e.IpConfigurations?.some((c) => ips.has(c.IpAddress))) return true;
  const ports = new Set(portKeys(doc));
  return portKeys(e).some((k) => ports.has(k));
}

function portKeys(e: HostComputeEndpoint): string[] {
  return (e.Policies ?? []).filter((p) => p.Type === 'PortMapping').map((p) => {
    const s = (p.Settings ?? {}) as { Protocol?: unknown; ExternalPort?: unknown; VIP?: unknown; Flags?: number };
    return `${String(s.Protocol)}/${String(s.ExternalPort)}/${String(s.VIP ?? '')}/${(s.Flags ?? 0) & 2}`;
  });
}

/** One of our pod endpoints (named `<id>_<network>`, local) whose namespace is gone or never was. */
async function isLeakedPodEndpoint(ctx: PodContext, ep: HostComputeEndpoint, network: string): Promise<boolean> {
  if (!containerIdOf(ep.Name, network) || ((ep.Flags ?? 0) & EndpointFlags.RemoteEndpoint) !== 0) return false;
  if (!ep.HostComputeNamespace) return true;
  try {
    await ctx.client.getNamespaceById(ep.HostComputeNamespace);
    return false;
  } catch (err) {
    return isNotFound(err);
  }
}

async function deleteEndpointsNamed(ctx: PodContext, name: string): Promise<void> {
  for (const ep of await ctx.client.listEndpoints({ Name: name })) await ctx.client.deleteEndpoint(ep.ID!);
}

function createFailure(ctx: PodContext, err: unknown, doc: HostComputeEndpoint): CniError {
  const e = err as HnsError;
  const name = doc.Name!;
  if (e?.kind === 'conflict') return hnsFailure(`creating endpoint ${name}: an address or port it needs is taken`, err, ErrorCode.AddressConflict);
  const snat = snatPolicies(doc);
  if (snat.length && isPortPoolFailure(e)) {
    const vips = [...new Set(snat.map((s) => s.VirtualIP || 'the node address'))].join(', ');
    ctx.log.event('snat-port-pool-exhausted', { endpoint: name, virtualIP: vips, hresult: e.hresult, error: e.message }, 'error');
    // Code 11: ports come back as pods go, so the runtime's retry may well succeed.
    return new CniError(ErrorCode.TryAgainLater, `the node's SNAT port pool is exhausted: HNS could not reserve ports for the OutBoundNAT of endpoint ${name} (SNAT to ${vips})`,
      `${e.message}; pod egress and DNS through SNAT fail until ports are free: cap each pod's share ("snatMaxPortPoolUsage"), exempt in-cluster destinations ("clusterCIDR", "serviceCIDR", "noSnatCIDRs"), or run fewer pods on this node`);
  }
  return hnsFailure(`creating endpoint ${name}`, err);
}

function snatPolicies(doc: HostComputeEndpoint): OutboundNatSettings[] {
  return (doc.Policies ?? []).filter((p) => p.Type === 'OutBoundNAT' && !(p.Settings as OutboundNatSettings | undefined)?.Destinations?.length).map((p) => (p.Settings ?? {}) as OutboundNatSettings);
}

/**
 * HNS's answer when no SNAT ports are left. Which code a real host gives is not on record
 * (INFERRED): a resource-exhaustion code, or an error text about the port pool, while the
 * endpoint asks for an OutBoundNAT.
 */
function isPortPoolFailure(e: HnsError | undefined): boolean {
  if (!e) return false;
  if (e.hresult === hr('ERROR_NO_SYSTEM_RESOURCES')) return true;
  return /port ?pool|snat port|no (free|available) ports|ports? (are |is )?exhausted/i.test(e.message ?? '');
}

function attachFailure(err: unknown, nsId: string): CniError {
  if (isNotFound(err)) {
    // Nothing is left once the rollback has run, so the runtime needs no DEL: code 3.
    return new CniError(ErrorCode.UnknownContainer, `HCN namespace ${nsId} (CNI_NETNS) does not exist`, (err as Error).message);
  }
  return hnsFailure(`adding the endpoint to namespace ${nsId}`, err);
}

/**
 * Undoes in reverse order. Every step is tried and failures are logged (the caller sees the
 * original error). The record goes last, and only if everything before it went: a DEL later
 * still needs it to find what is left.
 */
async function rollback(ctx: PodContext, undo: { step: string; run: () => Promise<void> }[]): Promise<void> {
  let incomplete = false;
  for (const u of undo) {
    if (u.step === 'remove-record' && incomplete) break;
    try {
      await ctx.log.step(`rollback-${u.step}`, u.run);
    } catch (err) {
      if (isNotFound(err)) continue;
      incomplete = true;
      ctx.log.event('rollback-incomplete', { failedStep: u.step, error: errorText(err) }, 'error');
    }
  }
}
