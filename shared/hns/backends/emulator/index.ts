// The HCN service emulated as state in a directory (store.ts), behind the same C-shaped
// interface as computenetwork.dll (api.ts): documents in and out as JSON text, GUIDs as text,
// signed HRESULTs and the service's error records. Every call may meet an injected fault
// (faults.ts) and is written to calls.log (calllog.ts). Handles belong to one emulator instance
// (one process), as RPC context handles belong to one client.
//
// Loading this module does no work; the schema validators load on the first call that needs them.

import fs from 'node:fs';
import { monotonicMs } from '../../../sys/clock';
import type { Handle, HcnApi, HcnOutcome, ObjectKind } from '../../api';
import type { HostComputeEndpoint } from '../../model/endpoint';
import type { HostComputeNamespace } from '../../model/namespace';
import type { HostComputeNetwork } from '../../model/network';
import type { EndpointModifyRequest, NamespaceModifyRequest, NetworkModifyRequest } from '../../model/modify';
import { errorRecord, hex, hr, signed } from '../../hresult';
import { LockTimeoutError } from '../../../sys/lock';
import { appendCall } from './calllog';
import { type EmulatorConfig, readConfig } from './config';
import { createEndpoint, deleteEndpoint, modifyEndpoint } from './endpoints';
import { HcnFailure } from './failure';
import { meetFault, takeFault } from './faults';
import { guidArg, requestedId } from './guid';
import { envelope, hnsCallOutput } from './hnscall';
import { createNamespace, deleteNamespace, modifyNamespace } from './namespaces';
import { createNetwork, deleteNetwork, modifyNetwork } from './networks';
import { enumerate, parseQuery } from './query';
import { serviceDown } from './service';
import { readStore, type StoreTx, updateStore } from './store';
import { checkDocument, type DocumentHost, type DocumentKind } from './validate';

export type { EmulatorConfig } from './config';
export type { Fault } from './faults';
export type { CallRecord } from './calllog';

export interface EmulatorOptions {
  /** The emulator's state directory (created if missing). */
  dir: string;
}

export interface EmulatorApi extends HcnApi {
  readonly dir: string;
  /** Handles this instance gave out and nobody closed yet. */
  openHandleCount(): number;
}

export function createEmulatorApi(opts: EmulatorOptions): EmulatorApi {
  fs.mkdirSync(opts.dir, { recursive: true });
  return new Emulator(opts.dir);
}

/** What one call knows while it runs, for its calls.log line. */
interface CallContext {
  cfg: EmulatorConfig;
  id?: string;
  name?: string;
}

const DOC_KIND: Record<ObjectKind, DocumentKind> = { Network: 'network', Endpoint: 'endpoint', Namespace: 'namespace' };
const MODIFY_KIND: Record<ObjectKind, DocumentKind> = { Network: 'modify-network', Endpoint: 'modify-endpoint', Namespace: 'modify-namespace' };

function parsedForLog(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** What the host's documents are checked against: its versions and extra unknown fields. */
function hostOf(cfg: EmulatorConfig): DocumentHost {
  return { hnsVersion: cfg.hnsVersion, schemaVersion: cfg.schemaVersion, unknownFields: cfg.unknownFields };
}

function failureOutcome<T>(err: unknown): HcnOutcome<T> {
  if (err instanceof HcnFailure) return { hr: signed(err.code), errorRecord: errorRecord(err.code, err.detail) };
  // A state lock nobody released in time: to the client, the service did not answer.
  if (err instanceof LockTimeoutError) return { hr: signed(hr('ERROR_TIMEOUT')), errorRecord: errorRecord(hr('ERROR_TIMEOUT'), `{{${err.message}}}`) };
  return { hr: signed(hr('E_FAIL')), errorRecord: errorRecord(hr('E_FAIL'), `{{emulator: ${(err as Error)?.message ?? String(err)}}}`) };
}

class Emulator implements EmulatorApi {
  readonly backend = 'emulator';
  private readonly handles = new Map<number, { kind: ObjectKind; id: string }>();
  private nextHandle = 1;

  constructor(readonly dir: string) {}

  openHandleCount(): number {
    return this.handles.size;
  }

  // --- networks ---------------------------------------------------------------------------

  enumerateNetworks(query: string) {
    return this.enumerateOf('Network', query);
  }
  createNetwork(id: string, settings: string) {
    return this.createOf('Network', id, settings, (tx, guid, doc) => createNetwork(tx, guid, doc as HostComputeNetwork));
  }
  openNetwork(id: string) {
    return this.openOf('Network', id);
  }
  modifyNetwork(network: Handle, settings: string) {
    return this.modifyOf('Network', network, settings, (tx, id, req) => modifyNetwork(tx, id, req as NetworkModifyRequest));
  }
  queryNetworkProperties(network: Handle, query: string) {
    return this.queryOf('Network', network, query);
  }
  deleteNetwork(id: string) {
    return this.deleteOf('Network', id, deleteNetwork);
  }
  closeNetwork(network: Handle) {
    return this.closeOf('Network', network);
  }

  // --- endpoints --------------------------------------------------------------------------

  enumerateEndpoints(query: string) {
    return this.enumerateOf('Endpoint', query);
  }
  createEndpoint(network: Handle, id: string, settings: string): Promise<HcnOutcome<Handle>> {
    return this.call('CreateEndpoint', { id: this.handles.get(Number(network))?.id, args: [id], doc: settings }, async (ctx) => {
      const networkId = this.resolve(network, 'Network');
      const doc = await checkDocument<HostComputeEndpoint>('endpoint', settings, hostOf(ctx.cfg));
      const guid = requestedId(id, doc.ID);
      ctx.name = doc.Name;
      const ep = await updateStore(this.dir, ctx.cfg, (tx) => createEndpoint(tx, networkId, guid, doc));
      ctx.id = ep.ID;
      return this.newHandle('Endpoint', ep.ID!);
    });
  }
  openEndpoint(id: string) {
    return this.openOf('Endpoint', id);
  }
  modifyEndpoint(endpoint: Handle, settings: string) {
    return this.modifyOf('Endpoint', endpoint, settings, (tx, id, req) => modifyEndpoint(tx, id, req as EndpointModifyRequest));
  }
  queryEndpointProperties(endpoint: Handle, query: string) {
    return this.queryOf('Endpoint', endpoint, query);
  }
  deleteEndpoint(id: string) {
    return this.deleteOf('Endpoint', id, deleteEndpoint);
  }
  closeEndpoint(endpoint: Handle) {
    return this.closeOf('Endpoint', endpoint);
  }

  // --- namespaces -------------------------------------------------------------------------

  enumerateNamespaces(query: string) {
    return this.enumerateOf('Namespace', query);
  }
  createNamespace(id: string, settings: string) {
    return this.createOf('Namespace', id, settings, (tx, guid, doc) => createNamespace(tx, guid, doc as HostComputeNamespace));
  }
  openNamespace(id: string) {
    return this.openOf('Namespace', id);
  }
  modifyNamespace(namespace: Handle, settings: string) {
    return this.modifyOf('Namespace', namespace, settings, (tx, id, req) => modifyNamespace(tx, id, req as NamespaceModifyRequest));
  }
  queryNamespaceProperties(namespace: Handle, query: string) {
    return this.queryOf('Namespace', namespace, query);
  }
  deleteNamespace(id: string) {
    return this.deleteOf('Namespace', id, deleteNamespace);
  }
  closeNamespace(namespace: Handle) {
    return this.closeOf('Namespace', namespace);
  }

  // --- v1 ---------------------------------------------------------------------------------

  async hnsCall(method: string, path: string, request: string): Promise<HcnOutcome<string>> {
    const out = await this.call('HNSCall', { args: [method, path], doc: request, logDoc: { method, path, request: parsedForLog(request) } }, async (ctx) =>
      envelope(await readStore(this.dir, ctx.cfg, (tx) => hnsCallOutput(tx, method, path))),
    );
    // HNSCall has no error record of its own: the envelope (same shape) is its answer either way.
    return out.errorRecord ? { ...out, value: out.errorRecord } : out;
  }

  async dispose(): Promise<void> {
    this.handles.clear();
  }

  // --- one shape per call kind ------------------------------------------------------------

  private enumerateOf(kind: ObjectKind, query: string): Promise<HcnOutcome<string>> {
    return this.call(`Enumerate${kind}s`, { doc: query }, async (ctx) => {
      const q = await parseQuery(query, kind);
      return JSON.stringify(await readStore(this.dir, ctx.cfg, (tx) => enumerate(tx, kind, q.filter)));
    });
  }

  private createOf(
    kind: 'Network' | 'Namespace',
    id: string,
    settings: string,
    create: (tx: StoreTx, guid: string | undefined, doc: object) => { ID?: string },
  ): Promise<HcnOutcome<Handle>> {
    return this.call(`Create${kind}`, { args: [id], doc: settings }, async (ctx) => {
      const doc = await checkDocument<{ ID?: string; Name?: string }>(DOC_KIND[kind], settings, hostOf(ctx.cfg));
      const guid = requestedId(id, doc.ID);
      ctx.name = doc.Name;
      const obj = await updateStore(this.dir, ctx.cfg, (tx) => create(tx, guid, doc));
      ctx.id = obj.ID;
      return this.newHandle(kind, obj.ID!);
    });
  }

  private openOf(kind: ObjectKind, id: string): Promise<HcnOutcome<Handle>> {
    return this.call(`Open${kind}`, { id }, async (ctx) => {
      const guid = guidArg(id);
      const obj = await readStore(this.dir, ctx.cfg, (tx) => tx.must(kind, guid));
      return this.newHandle(kind, obj.ID!);
    });
  }

  private modifyOf(
    kind: ObjectKind,
    h: Handle,
    settings: string,
    modify: (tx: StoreTx, id: string, req: object) => void,
  ): Promise<HcnOutcome> {
    return this.call(`Modify${kind}`, { id: this.handles.get(Number(h))?.id, doc: settings }, async (ctx) => {
      const id = this.resolve(h, kind);
      const req = await checkDocument<object>(MODIFY_KIND[kind], settings, hostOf(ctx.cfg));
      await updateStore(this.dir, ctx.cfg, (tx) => modify(tx, id, req));
      return undefined;
    });
  }

  private queryOf(kind: ObjectKind, h: Handle, query: string): Promise<HcnOutcome<string>> {
    return this.call(`Query${kind}Properties`, { id: this.handles.get(Number(h))?.id, doc: query }, async (ctx) => {
      const id = this.resolve(h, kind);
      const q = await parseQuery(query, kind);
      if (q.v1) throw new HcnFailure(hr('E_NOTIMPL'), '{{SchemaVersion,the emulator answers queries in schema 2.x only}}');
      return JSON.stringify(await readStore(this.dir, ctx.cfg, (tx) => {
        tx.must(kind, id);
        return tx.present(kind, id);
      }));
    });
  }

  private deleteOf(kind: ObjectKind, id: string, remove: (tx: StoreTx, id: string) => void): Promise<HcnOutcome> {
    return this.call(`Delete${kind}`, { id }, async (ctx) => {
      const guid = guidArg(id);
      await updateStore(this.dir, ctx.cfg, (tx) => remove(tx, guid));
      return undefined;
    });
  }

  private closeOf(kind: ObjectKind, h: Handle): Promise<HcnOutcome> {
    return this.call(`Close${kind}`, { id: this.handles.get(Number(h))?.id }, () => {
      this.resolve(h, kind);
      this.handles.delete(Number(h));
      return undefined;
    });
  }

  // --- plumbing ---------------------------------------------------------------------------

  private newHandle(kind: ObjectKind, id: string): number {
    const h = this.nextHandle++;
    this.handles.set(h, { kind, id });
    return h;
  }

  /** The object ID behind an open handle of this kind; a closed, foreign or wrong-kind handle is ERROR_INVALID_HANDLE. */
  private resolve(h: Handle, kind: ObjectKind): string {
    const entry = this.handles.get(Number(h));
    if (!entry || entry.kind !== kind) throw new HcnFailure(hr('ERROR_INVALID_HANDLE'));
    return entry.id;
  }

  /**
   * Runs one call: config, then any injected fault, then the body; turns a refusal into the
   * HRESULT and error record, and writes the calls.log line.
   */
  private async call<T>(
    op: string,
    info: { id?: string; args?: string[]; doc?: string; logDoc?: unknown },
    body: (ctx: CallContext) => Promise<T> | T,
  ): Promise<HcnOutcome<T>> {
    const t0 = monotonicMs();
    const ctx: Partial<CallContext> = { id: info.id };
    let out: HcnOutcome<T>;
    try {
      ctx.cfg = readConfig(this.dir);
      const down = serviceDown(this.dir);
      if (down) throw new HcnFailure(down.hr >>> 0, '');
      const argText = [info.id, ...(info.args ?? []), info.doc].filter((x) => x !== undefined).join('\n');
      await meetFault(await takeFault(this.dir, ctx.cfg, op, argText));
      out = { hr: 0, value: await body(ctx as CallContext) };
    } catch (err) {
      out = failureOutcome(err);
    }
    if (ctx.cfg?.callLog !== false) {
      appendCall(this.dir, {
        time: new Date().toISOString(),
        pid: process.pid,
        op,
        id: ctx.id,
        name: ctx.name,
        doc: info.logDoc ?? parsedForLog(info.doc),
        ms: Math.round((monotonicMs() - t0) * 100) / 100,
        hr: hex(out.hr),
      });
    }
    return out;
  }
}
