// A stand-in Kubernetes API server for the agent's tests and benchmark: Nodes only, over HTTPS
// with a bearer token, as the real server serves them to a client-go-like client (the rules are
// the API concepts page's, kubernetes/website content/en/docs/reference/using-api/api-concepts.md):
//   GET   /api/v1/nodes[?limit=L][&continue=T]   a NodeList at the current resourceVersion, in
//         pages of L (at most maxPageSize) with a continue token; a token can be made to expire
//         (410 Expired, as after its 5 minutes), and a token with a resourceVersion is refused (400);
//   GET   /api/v1/nodes?watch=true&resourceVersion=N   a stream of JSON lines (ADDED, MODIFIED,
//         DELETED, BOOKMARK), from the events after N; N older than the compacted history is an
//         ERROR event with a 410 Status (what kube-apiserver sends), or with `goneAsHttp` an HTTP 410;
//         with sendInitialEvents=true&resourceVersionMatch=NotOlderThan the streaming list (every
//         Node as ADDED, a BOOKMARK annotated k8s.io/initial-events-end, then the watch), or, with
//         `watchList: false`, 422 Invalid as a server without the WatchList feature answers;
//   GET   /api/v1/nodes/<name>, PATCH /api/v1/nodes/<name> (JSON merge patch of metadata.annotations)
// Large responses are written with backpressure, and each response's body bytes are counted
// (`requests`, `bytesSent`). Test controls: add/update/delete Nodes, kubelet heartbeats, compact
// the history, end every watch with 410, expire continue tokens, fail the next requests, and an
// outage (every connection dropped, new ones refused) and its end. `dress` makes Nodes shaped as
// a real cluster's (real-node.ts). Certificates come from Debian's openssl CLI, made at test time.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

export interface Certs {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
}

/** A CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI (ECDSA P-256: fast). */
export function makeCerts(dir: string): Certs {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  if (!fs.existsSync(f('server.crt'))) {
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=cni-agent-test-ca');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver');
    fs.writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  }
  return { caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key'), ca: fs.readFileSync(f('ca.crt'), 'utf8') };
}

export interface NodeSpec {
  name: string;
  podCIDRs?: string[];
  internalIP?: string | string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface NodeDoc {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; uid: string; resourceVersion: string; creationTimestamp: string; annotations?: Record<string, string>; labels?: Record<string, string>; [k: string]: unknown };
  spec: { podCIDR?: string; podCIDRs?: string[]; [k: string]: unknown };
  status: { addresses: { type: string; address: string }[]; conditions?: { type: string; lastHeartbeatTime?: string; [k: string]: unknown }[]; [k: string]: unknown };
}

interface Event {
  rv: number;
  line: string;
}

interface Watch {
  res: import('node:http').ServerResponse;
  after: number;
  /** Events that came while the streaming list's initial events were being written. */
  queue?: string[];
}

export interface Request {
  method: string;
  path: string;
  watch: boolean;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
  sendInitialEvents?: boolean;
  status: number;
  /** Response body bytes written. */
  bytes: number;
  /** performance.now() when it arrived. */
  at: number;
}

export interface ApiServerOptions {
  certs: Certs;
  token?: string;
  port?: number;
  /** How many past events a watch can resume from (older: 410). */
  history?: number;
  /** Answer a too-old watch with HTTP 410 instead of a 200 with an ERROR event. */
  goneAsHttp?: boolean;
  /** The streaming list (sendInitialEvents); default true. */
  watchList?: boolean;
  /** Pages hold at most this many Nodes, whatever limit asks (a server may return fewer). */
  maxPageSize?: number;
  /** Fills in a Node's other fields (real-node.ts: images, managedFields, conditions, ...). */
  dress?: (doc: NodeDoc, spec: NodeSpec) => void;
}

export class StandInApiServer {
  readonly token: string;
  private server?: https.Server;
  private readonly nodes = new Map<string, NodeDoc>();
  /** Each Node's JSON, made once per change (what lists and events send). */
  private readonly texts = new Map<string, string>();
  private events: Event[] = [];
  private expireTokens = 0;
  bytesSent = 0;
  private rv = 1;
  /** Watches may not resume from before this resourceVersion. */
  private compactedAt = 1;
  private readonly watches = new Set<Watch>();
  private readonly sockets = new Set<Socket>();
  private failNext: { count: number; status: number; watchOnly: boolean } = { count: 0, status: 500, watchOnly: false };
  private down = false;
  readonly requests: Request[] = [];
  port = 0;

  constructor(private readonly opts: ApiServerOptions) {
    this.token = opts.token ?? 'test-token-0123456789';
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = https.createServer({ cert: fs.readFileSync(this.opts.certs.certFile), key: fs.readFileSync(this.opts.certs.keyFile) }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s: Socket) => {
      if (this.down) {
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port || this.opts.port || 0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }

  /** An outage: every connection is dropped and the port stops listening (ECONNREFUSED). */
  async outage(): Promise<void> {
    this.down = true;
    await this.stop();
  }

  /** The server comes back on the same port, with the same state. */
  async restore(): Promise<void> {
    this.down = false;
    await this.start();
  }

  /** A kubeconfig (JSON, which is YAML) for this server. */
  kubeconfig(file: string): string {
    const cfg = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: this.url, 'certificate-authority-data': Buffer.from(this.opts.certs.ca).toString('base64') } }],
      users: [{ name: 'agent', user: { token: this.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'agent' } }],
      'current-context': 'test',
    };
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
    return file;
  }

  // --- the Nodes --------------------------------------------------------------------------

  get resourceVersion(): number {
    return this.rv;
  }

  node(name: string): NodeDoc | undefined {
    return this.nodes.get(name);
  }

  allNodes(): NodeDoc[] {
    return [...this.nodes.values()];
  }

  private doc(spec: NodeSpec, rv: number, uid?: string): NodeDoc {
    const ips = spec.internalIP === undefined ? [] : Array.isArray(spec.internalIP) ? spec.internalIP : [spec.internalIP];
    const doc: NodeDoc = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: spec.name, uid: uid ?? `uid-${spec.name}-${rv}`, resourceVersion: String(rv), creationTimestamp: '2024-01-01T00:00:00Z' },
      spec: {},
      status: { addresses: [...ips.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: spec.name }] },
    };
    if (spec.annotations && Object.keys(spec.annotations).length) doc.metadata.annotations = { ...spec.annotations };
    if (spec.labels) doc.metadata.labels = { ...spec.labels };
    if (spec.podCIDRs?.length) {
      doc.spec.podCIDR = spec.podCIDRs[0];
      doc.spec.podCIDRs = [...spec.podCIDRs];
    }
    this.opts.dress?.(doc, spec);
    return doc;
  }

  private store(doc: NodeDoc): string {
    const text = JSON.stringify(doc);
    this.nodes.set(doc.metadata.name, doc);
    this.texts.set(doc.metadata.name, text);
    return text;
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: NodeDoc, text = JSON.stringify(object)): void {
    const line = `{"type":"${type}","object":${text}}\n`;
    const e: Event = { rv: this.rv, line };
    this.events.push(e);
    const keep = this.opts.history ?? 10_000;
    if (this.events.length > keep) {
      const dropped = this.events.splice(0, this.events.length - keep);
      this.compactedAt = Math.max(this.compactedAt, dropped[dropped.length - 1]!.rv);
    }
    for (const w of this.watches) {
      if (e.rv <= w.after) continue;
      if (w.queue) w.queue.push(line);
      else w.res.write(line);
    }
  }

  /** Adds Nodes (one event each). */
  add(...specs: NodeSpec[]): void {
    for (const spec of specs) {
      if (this.nodes.has(spec.name)) throw new Error(`node ${spec.name} exists`);
      const doc = this.doc(spec, ++this.rv);
      this.emit('ADDED', doc, this.store(doc));
    }
  }

  /** Replaces a Node's spec, addresses and annotations (annotations kept unless given). */
  update(spec: NodeSpec): void {
    const old = this.nodes.get(spec.name);
    if (!old) throw new Error(`no node ${spec.name}`);
    const doc = this.doc({ annotations: old.metadata.annotations, ...spec }, ++this.rv, old.metadata.uid);
    this.emit('MODIFIED', doc, this.store(doc));
  }

  /** kubelet's status update: the conditions' lastHeartbeatTime moves, nothing else (a MODIFIED event). */
  heartbeat(name: string, at = new Date()): void {
    const old = this.nodes.get(name);
    if (!old) throw new Error(`no node ${name}`);
    const when = at.toISOString().replace(/\.\d+Z$/, 'Z');
    const conditions = (old.status.conditions ?? [{ type: 'Ready', status: 'True' }]).map((c) => ({ ...c, lastHeartbeatTime: when }));
    const doc: NodeDoc = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) }, status: { ...old.status, conditions } };
    this.emit('MODIFIED', doc, this.store(doc));
  }

  remove(name: string): void {
    const old = this.nodes.get(name);
    if (!old) throw new Error(`no node ${name}`);
    this.nodes.delete(name);
    this.texts.delete(name);
    const doc: NodeDoc = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    this.emit('DELETED', doc);
  }

  /** Forgets the history: a watch from any earlier resourceVersion is now 410 Gone. */
  compact(): void {
    this.compactedAt = this.rv;
    this.events = [];
  }

  /** Ends every open watch with an ERROR 410 event (the history moved on under the watchers). */
  expireWatches(): void {
    this.compact();
    const line = `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } })}\n`;
    for (const w of this.watches) w.res.end(line);
    this.watches.clear();
  }

  /** Ends every open watch cleanly (as the server does at timeoutSeconds). */
  endWatches(): void {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  /** Sends a BOOKMARK to every open watch. */
  bookmark(): void {
    const line = `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } })}\n`;
    for (const w of this.watches) if (!w.queue) w.res.write(line);
  }

  /** The next `count` list pages asked with a continue token get 410 Expired (the token outlived its 5 minutes). */
  expireContinue(count = 1): void {
    this.expireTokens = count;
  }

  /** The next `count` requests (or watches only) fail with `status`. */
  fail(count: number, status = 500, watchOnly = false): void {
    this.failNext = { count, status, watchOnly };
  }

  get openWatches(): number {
    return this.watches.size;
  }

  // --- HTTP -------------------------------------------------------------------------------

  private handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const rec: Request = { method: req.method ?? 'GET', path: url.pathname, watch, status: 200, bytes: 0, at: performance.now() };
    const rvParam = url.searchParams.get('resourceVersion');
    if (rvParam !== null) rec.resourceVersion = rvParam;
    const limit = Number(url.searchParams.get('limit') ?? 0);
    if (limit) rec.limit = limit;
    const cont = url.searchParams.get('continue');
    if (cont) rec.continue = cont;
    if (url.searchParams.get('sendInitialEvents') === 'true') rec.sendInitialEvents = true;
    this.requests.push(rec);
    this.countBytes(res, rec);
    const send = (status: number, body: unknown) => {
      rec.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    const status = (code: number, reason: string, message: string) => send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(401, 'Unauthorized', 'Unauthorized');
    if (this.failNext.count > 0 && (!this.failNext.watchOnly || watch)) {
      this.failNext.count--;
      return status(this.failNext.status, 'InternalError', 'injected failure');
    }
    const m = /^\/api\/v1\/nodes(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return status(404, 'NotFound', `the server could not find ${url.pathname}`);
    const name = m[1] && decodeURIComponent(m[1]);
    if (!name && req.method === 'GET' && !watch) {
      if (cont && rvParam) return status(400, 'BadRequest', 'specifying resource version is not allowed when using continue');
      let start = 0;
      let listRv = this.rv;
      if (cont) {
        const token = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { rv: number; start: number };
        if (this.expireTokens > 0 || token.rv < this.compactedAt) {
          this.expireTokens = Math.max(0, this.expireTokens - 1);
          return status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
        }
        start = token.start;
        listRv = token.rv;
      }
      const size = Math.min(limit || Infinity, this.opts.maxPageSize ?? Infinity);
      const names = [...this.texts.keys()].sort();
      const page = names.slice(start, start + size);
      const next = start + page.length < names.length ? Buffer.from(JSON.stringify({ rv: listRv, start: start + page.length })).toString('base64url') : undefined;
      rec.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const head = `{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"${listRv}"${next ? `,"continue":"${next}"` : ''}},"items":[`;
      void this.writeAll(res, head, page.map((n) => this.texts.get(n)!), ',', ']}');
      return;
    }
    if (!name && req.method === 'GET' && watch) return this.startWatch(req, res, rec, Number(rvParam ?? 0));
    if (name && req.method === 'GET') {
      const n = this.nodes.get(name);
      return n ? send(200, n) : status(404, 'NotFound', `nodes "${name}" not found`);
    }
    if (name && req.method === 'PATCH') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const n = this.nodes.get(name);
        if (!n) return status(404, 'NotFound', `nodes "${name}" not found`);
        if (!String(req.headers['content-type']).startsWith('application/merge-patch+json') && !String(req.headers['content-type']).startsWith('application/strategic-merge-patch+json')) {
          return status(415, 'UnsupportedMediaType', `unsupported patch type ${req.headers['content-type']}`);
        }
        let patch: { metadata?: { annotations?: Record<string, string | null> } };
        try {
          patch = JSON.parse(body);
        } catch {
          return status(400, 'BadRequest', 'invalid JSON');
        }
        const annotations: Record<string, string> = { ...(n.metadata.annotations ?? {}) };
        for (const [k, v] of Object.entries(patch.metadata?.annotations ?? {})) {
          if (v === null) delete annotations[k];
          else annotations[k] = v;
        }
        const doc: NodeDoc = { ...n, metadata: { ...n.metadata, annotations, resourceVersion: String(++this.rv) } };
        this.emit('MODIFIED', doc, this.store(doc));
        send(200, doc);
      });
      return;
    }
    return status(405, 'MethodNotAllowed', `${req.method} is not allowed`);
  }

  /** Counts the body bytes of a response (per request and in all). */
  private countBytes(res: import('node:http').ServerResponse, rec: Request): void {
    const size = (chunk: unknown) => (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk instanceof Uint8Array ? chunk.length : 0);
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    const end = res.end.bind(res) as (...a: unknown[]) => typeof res;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      rec.bytes += size(chunk);
      this.bytesSent += size(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') {
        rec.bytes += size(chunk);
        this.bytesSent += size(chunk);
      }
      return end(chunk, ...rest);
    }) as typeof res.end;
  }

  /** head, the parts joined by sep, tail: written in batches, waiting for the socket to drain. */
  private async writeAll(res: import('node:http').ServerResponse, head: string, parts: string[], sep: string, tail: string | undefined): Promise<void> {
    let batch = head;
    for (let i = 0; i < parts.length; i++) {
      batch += (i ? sep : '') + parts[i];
      if (batch.length > 256 * 1024) {
        if (!res.write(batch)) await new Promise((r) => res.once('drain', r));
        if (res.destroyed) return;
        batch = '';
      }
    }
    if (tail === undefined) res.write(batch);
    else res.end(batch + tail);
  }

  private startWatch(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, rec: Request, after: number): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const initial = url.searchParams.get('sendInitialEvents') === 'true';
    const match = url.searchParams.get('resourceVersionMatch');
    if ((initial || match) && this.opts.watchList === false) {
      rec.status = 422;
      res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Invalid', code: 422, message: 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled' }));
      return;
    }
    if (initial && match !== 'NotOlderThan') {
      rec.status = 422;
      res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Invalid', code: 422, message: 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' }));
      return;
    }
    if (initial) return this.startWatchList(req, res, url);
    if (after && after < this.compactedAt) {
      const gone = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${after} (${this.compactedAt})`, reason: 'Expired', code: 410 };
      if (this.opts.goneAsHttp) {
        rec.status = 410;
        res.writeHead(410, { 'Content-Type': 'application/json' }).end(JSON.stringify(gone));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const start = after || this.rv;
    for (const e of this.events) if (e.rv > start) res.write(e.line);
    const w: Watch = { res, after: start };
    this.watchUntilTimeout(req, res, w, url);
  }

  /** The streaming list: every Node as ADDED, the initial-events-end bookmark, then what came meanwhile and the watch. */
  private startWatchList(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, url: URL): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const at = this.rv;
    const texts = [...this.texts.values()];
    const w: Watch = { res, after: at, queue: [] };
    this.watchUntilTimeout(req, res, w, url);
    const bookmark = JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(at), annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    void this.writeAll(res, '', texts.map((t) => `{"type":"ADDED","object":${t}}\n`), '', undefined).then(() => {
      if (res.destroyed) return;
      res.write(`${bookmark}\n`);
      for (const line of w.queue ?? []) res.write(line);
      w.queue = undefined;
    });
  }

  private watchUntilTimeout(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, w: Watch, url: URL): void {
    this.watches.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      this.watches.delete(w);
    };
    res.on('close', done);
    req.on('close', done);
  }
}
