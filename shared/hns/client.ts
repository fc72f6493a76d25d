// The one HNS client every layer above uses, on either backend. It follows hcsshim's call
// sequences (enumerate -> open -> query -> close; create with the zero GUID then query), puts a
// deadline on every call, closes every handle it opens, and turns failures into typed errors.
// A plugin invocation keeps the handles of the few objects it works on (reuseHandles) and closes
// them at the end: an ADD is 11 round trips to a service that serializes them, not 20.

import { type Handle, type HcnApi, type HcnOutcome, type ObjectKind, ZERO_GUID } from './api';
import { errorFromCall, type HnsError, notFound, timeout } from './errors';
import { failed, parseErrorRecord } from './hresult';
import { query } from './model/query';
import type { Guid, SchemaVersion } from './model/common';
import type { HostComputeNetwork } from './model/network';
import type { HostComputeEndpoint } from './model/endpoint';
import type { HostComputeNamespace } from './model/namespace';
import type { EndpointModifyRequest, NamespaceModifyRequest, NetworkModifyRequest } from './model/modify';
import { featuresOf, type HnsFeatures } from './features';
import { monotonicMs } from '../sys/clock';
import { canonicalize } from '../schema/decode';
import { nodes as SHAPES, roots as SHAPE_ROOTS } from '../schema/shapes.generated';

const DOCUMENT_SHAPE = { Network: 'hcn-network', Endpoint: 'hcn-endpoint', Namespace: 'hcn-namespace' } as const;

/**
 * A document as the service returned it, in our schemas' spelling: hcsshim decodes what HNS sends
 * case-insensitively (Go), so nothing proves the service's casing (a namespace resource's
 * `Data.Id` or `Data.ID`); keys are folded, unknown ones kept.
 */
function readDocument(kind: ObjectKind, doc: Record<string, unknown>): Record<string, unknown> {
  return canonicalize(doc, SHAPES, SHAPE_ROOTS[DOCUMENT_SHAPE[kind]], { foldOnly: true }).conf;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/** Enumerations returning at most this many objects are lookups whose handles are worth keeping. */
const LOOKUP_MAX = 4;

export interface ClientOptions {
  /** Deadline of each HCN call. */
  callTimeoutMs?: number;
  /**
   * Keep each object's handle open until close(), so later calls on the same object (create an
   * endpoint on the network just looked up, modify the endpoint just created) skip the open and
   * close round trips. For one caller doing one thing at a time (a plugin invocation).
   */
  reuseHandles?: boolean;
  /** Told about every call (name, duration, outcome) for the invocation log. */
  onCall?: (call: string, ms: number, error?: HnsError) => void;
}

type ObjectOf<K extends ObjectKind> = K extends 'Network' ? HostComputeNetwork : K extends 'Endpoint' ? HostComputeEndpoint : HostComputeNamespace;

export class HnsClient {
  private readonly timeoutMs: number;
  private version?: Promise<SchemaVersion>;
  /** Open handles kept for reuse, by `<kind>:<ID upper case>` (reuseHandles). */
  private readonly kept = new Map<string, { kind: ObjectKind; handle: Handle }>();

  constructor(readonly api: HcnApi, private readonly opts: ClientOptions = {}) {
    this.timeoutMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  /** Closes every kept handle. The client stays usable. */
  async close(): Promise<void> {
    const all = [...this.kept.values()];
    this.kept.clear();
    for (const { kind, handle } of all) await this.closeHandle(kind, handle);
  }

  // --- networks ---------------------------------------------------------------------------

  listNetworks(filter?: Record<string, unknown>): Promise<HostComputeNetwork[]> {
    return this.list('Network', filter);
  }

  getNetworkById(id: Guid): Promise<HostComputeNetwork> {
    return this.getById('Network', id);
  }

  getNetworkByName(name: string): Promise<HostComputeNetwork> {
    return this.getOne('Network', { Name: name }, `"${name}"`);
  }

  createNetwork(doc: HostComputeNetwork): Promise<HostComputeNetwork> {
    return this.created('Network', () => this.call('HcnCreateNetwork', 'Network', this.api.createNetwork(ZERO_GUID, JSON.stringify(doc)), this.closer('Network')));
  }

  modifyNetwork(id: Guid, request: NetworkModifyRequest): Promise<void> {
    return this.withHandle('Network', id, async (h) => {
      await this.call('HcnModifyNetwork', 'Network', this.api.modifyNetwork(h, JSON.stringify(request)));
    });
  }

  async deleteNetwork(id: Guid): Promise<void> {
    await this.release('Network', id);
    await this.call('HcnDeleteNetwork', 'Network', this.api.deleteNetwork(id));
  }

  // --- endpoints --------------------------------------------------------------------------

  listEndpoints(filter?: Record<string, unknown>): Promise<HostComputeEndpoint[]> {
    return this.list('Endpoint', filter);
  }

  /** Endpoints of one network; the service filters by the v1 name `VirtualNetwork`. */
  listEndpointsOfNetwork(networkId: Guid): Promise<HostComputeEndpoint[]> {
    return this.list('Endpoint', { VirtualNetwork: networkId });
  }

  /** The IDs of a network's endpoints: one enumeration, where a listing opens and queries each (an overlay node has thousands of remote ones). */
  endpointIdsOfNetwork(networkId: Guid): Promise<Guid[]> {
    return this.enumerate('Endpoint', JSON.stringify(query({ VirtualNetwork: networkId })));
  }

  getEndpointById(id: Guid): Promise<HostComputeEndpoint> {
    return this.getById('Endpoint', id);
  }

  /** Endpoint names are not unique in HNS; this returns the first, as hcsshim does. */
  getEndpointByName(name: string): Promise<HostComputeEndpoint> {
    return this.getOne('Endpoint', { Name: name }, `"${name}"`);
  }

  /** Creates the endpoint on the network (its handle) with the zero GUID, and reads it back. */
  createEndpoint(networkId: Guid, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
    return this.withHandle('Network', networkId, (net) =>
      this.created('Endpoint', () => this.call('HcnCreateEndpoint', 'Endpoint', this.api.createEndpoint(net, ZERO_GUID, JSON.stringify(doc)), this.closer('Endpoint'))),
    );
  }

  modifyEndpoint(id: Guid, request: EndpointModifyRequest): Promise<void> {
    return this.withHandle('Endpoint', id, async (h) => {
      await this.call('HcnModifyEndpoint', 'Endpoint', this.api.modifyEndpoint(h, JSON.stringify(request)));
    });
  }

  /** A kept handle of the endpoint is closed first: the object is going away. */
  async deleteEndpoint(id: Guid): Promise<void> {
    await this.release('Endpoint', id);
    await this.call('HcnDeleteEndpoint', 'Endpoint', this.api.deleteEndpoint(id));
  }

  // --- namespaces -------------------------------------------------------------------------

  listNamespaces(filter?: Record<string, unknown>): Promise<HostComputeNamespace[]> {
    return this.list('Namespace', filter);
  }

  getNamespaceById(id: Guid): Promise<HostComputeNamespace> {
    return this.getById('Namespace', id);
  }

  createNamespace(doc: HostComputeNamespace = { SchemaVersion: { Major: 2, Minor: 0 } }): Promise<HostComputeNamespace> {
    return this.created('Namespace', () => this.call('HcnCreateNamespace', 'Namespace', this.api.createNamespace(ZERO_GUID, JSON.stringify(doc)), this.closer('Namespace')));
  }

  async deleteNamespace(id: Guid): Promise<void> {
    await this.release('Namespace', id);
    await this.call('HcnDeleteNamespace', 'Namespace', this.api.deleteNamespace(id));
  }

  modifyNamespace(id: Guid, request: NamespaceModifyRequest): Promise<void> {
    return this.withHandle('Namespace', id, async (h) => {
      await this.call('HcnModifyNamespace', 'Namespace', this.api.modifyNamespace(h, JSON.stringify(request)));
    });
  }

  addNamespaceEndpoint(namespaceId: Guid, endpointId: Guid): Promise<void> {
    return this.modifyNamespace(namespaceId, { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: endpointId } });
  }

  removeNamespaceEndpoint(namespaceId: Guid, endpointId: Guid): Promise<void> {
    return this.modifyNamespace(namespaceId, { ResourceType: 'Endpoint', RequestType: 'Remove', Settings: { EndpointId: endpointId } });
  }

  // --- service ----------------------------------------------------------------------------

  /**
   * The HNS version (GET /globals/version), asked once per client. A failed ask is not kept: a
   * long-lived client (the node agent) started before the service asks again on its next use.
   */
  serviceVersion(): Promise<SchemaVersion> {
    this.version ??= (async () => {
      const out = await this.call('HNSCall', undefined, this.api.hnsCall('GET', '/globals/version', ''));
      const envelope = JSON.parse(out ?? '{}') as { Success?: boolean; Error?: string; Output?: SchemaVersion };
      if (!envelope.Success || !envelope.Output) {
        throw errorFromCall('HNSCall GET /globals/version', 0x80004005, { Error: envelope.Error ?? 'no version in the reply' });
      }
      return envelope.Output;
    })().catch((err: unknown) => {
      this.version = undefined;
      throw err;
    });
    return this.version;
  }

  async features(): Promise<HnsFeatures> {
    return featuresOf(await this.serviceVersion());
  }

  // --- plumbing ---------------------------------------------------------------------------

  private async list<K extends ObjectKind>(kind: K, filter?: Record<string, unknown>): Promise<ObjectOf<K>[]> {
    const q = JSON.stringify(query(filter));
    const ids = await this.enumerate(kind, q);
    // A lookup (a name, a few objects) keeps its handles for what comes next; a listing does not.
    const keep = ids.length <= LOOKUP_MAX;
    const out: ObjectOf<K>[] = [];
    for (const id of ids) {
      try {
        out.push(await this.withHandle(kind, id, (h) => this.queryProps(kind, h, q), keep));
      } catch (err) {
        // Deleted between the enumeration and the open: it is simply not there any more.
        if ((err as HnsError).kind !== 'not-found') throw err;
      }
    }
    return out;
  }

  /** By ID the object can be opened directly: one call fewer than a filtered enumeration, and a missing one is the service's typed not-found. */
  private getById<K extends ObjectKind>(kind: K, id: Guid): Promise<ObjectOf<K>> {
    return this.withHandle(kind, id, (h) => this.queryProps(kind, h));
  }

  private async getOne<K extends ObjectKind>(kind: K, filter: Record<string, unknown>, what: string): Promise<ObjectOf<K>> {
    const found = await this.list(kind, filter);
    if (found.length === 0) throw notFound(kind, what);
    return found[0]!;
  }

  private async enumerate(kind: ObjectKind, q: string): Promise<string[]> {
    const call = `HcnEnumerate${kind}s`;
    const api = this.api;
    const pending = kind === 'Network' ? api.enumerateNetworks(q) : kind === 'Endpoint' ? api.enumerateEndpoints(q) : api.enumerateNamespaces(q);
    const text = await this.call(call, kind, pending);
    const ids = JSON.parse(text || '[]') as unknown;
    if (!Array.isArray(ids)) throw new Error(`${call} returned ${text}`);
    return ids.map(String);
  }

  private open(kind: ObjectKind, id: string): Promise<Handle | undefined> {
    const api = this.api;
    const pending = kind === 'Network' ? api.openNetwork(id) : kind === 'Endpoint' ? api.openEndpoint(id) : api.openNamespace(id);
    return this.call(`HcnOpen${kind}`, kind, pending, this.closer(kind));
  }

  /** Closes a handle that arrives after its call timed out: nobody else will. */
  private closer(kind: ObjectKind): (h: Handle) => void {
    return (h) => {
      const api = this.api;
      const closing = kind === 'Network' ? api.closeNetwork(h) : kind === 'Endpoint' ? api.closeEndpoint(h) : api.closeNamespace(h);
      closing.catch(() => undefined);
    };
  }

  private async queryProps<K extends ObjectKind>(kind: K, h: Handle, q = JSON.stringify(query())): Promise<ObjectOf<K>> {
    const api = this.api;
    const pending = kind === 'Network' ? api.queryNetworkProperties(h, q) : kind === 'Endpoint' ? api.queryEndpointProperties(h, q) : api.queryNamespaceProperties(h, q);
    const text = await this.call(`HcnQuery${kind}Properties`, kind, pending);
    return readDocument(kind, JSON.parse(text ?? "{}") as Record<string, unknown>) as unknown as ObjectOf<K>;
  }

  /** Runs `use` with a handle of the object: a kept one, or one opened now (closed after, unless kept). */
  private async withHandle<T>(kind: ObjectKind, id: Guid, use: (h: Handle) => Promise<T>, keep = true): Promise<T> {
    const key = `${kind}:${id.toUpperCase()}`;
    const kept = this.kept.get(key);
    if (kept) return use(kept.handle);
    const h = await this.open(kind, id);
    if (h === undefined) throw new Error(`HcnOpen${kind} returned no handle`);
    if (this.opts.reuseHandles && keep) {
      this.kept.set(key, { kind, handle: h });
      return use(h);
    }
    try {
      return await use(h);
    } finally {
      await this.closeHandle(kind, h);
    }
  }

  /** Reads back an object just created through its new handle, which is kept or closed. */
  private async created<K extends ObjectKind>(kind: K, create: () => Promise<Handle | undefined>): Promise<ObjectOf<K>> {
    const h = await create();
    if (h === undefined) throw new Error(`HcnCreate${kind} returned no handle`);
    let keep = false;
    try {
      const doc = await this.queryProps(kind, h);
      if (this.opts.reuseHandles && doc.ID) {
        this.kept.set(`${kind}:${doc.ID.toUpperCase()}`, { kind, handle: h });
        keep = true;
      }
      return doc;
    } finally {
      if (!keep) await this.closeHandle(kind, h);
    }
  }

  /** Closes the kept handle of an object, if any. */
  private async release(kind: ObjectKind, id: Guid): Promise<void> {
    const key = `${kind}:${id.toUpperCase()}`;
    const kept = this.kept.get(key);
    if (!kept) return;
    this.kept.delete(key);
    await this.closeHandle(kind, kept.handle);
  }

  private async closeHandle(kind: ObjectKind, h: Handle): Promise<void> {
    const api = this.api;
    const closing = kind === 'Network' ? api.closeNetwork(h) : kind === 'Endpoint' ? api.closeEndpoint(h) : api.closeNamespace(h);
    // A failed close leaks a handle in the service; there is nothing the caller could do about it.
    await this.call(`HcnClose${kind}`, kind, closing).catch(() => undefined);
  }

  /**
   * Awaits one HCN call under the deadline and turns a failure into a typed error. `releaseLate`
   * disposes of what a call that timed out returns after all (an open handle).
   */
  private async call<T>(name: string, kind: ObjectKind | undefined, pending: Promise<HcnOutcome<T>>, releaseLate?: (value: T) => void): Promise<T | undefined> {
    const t0 = monotonicMs();
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeout(name, this.timeoutMs)), this.timeoutMs);
        timer.unref?.();
      });
      const out = await Promise.race([pending, deadline]);
      // hcsshim treats a non-empty error record as a failure even when the HRESULT says success.
      if (failed(out.hr) || out.errorRecord) {
        throw errorFromCall(name, failed(out.hr) ? out.hr : 0x80004005, parseErrorRecord(out.errorRecord), kind);
      }
      this.opts.onCall?.(name, monotonicMs() - t0);
      return out.value;
    } catch (err) {
      this.opts.onCall?.(name, monotonicMs() - t0, err as HnsError);
      if (releaseLate && (err as HnsError).kind === 'timeout') {
        pending.then((out) => { if (!failed(out.hr) && out.value !== undefined) releaseLate(out.value); }, () => undefined);
      }
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}
