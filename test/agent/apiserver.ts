// A stand-in Kubernetes API server for the agent's tests and benchmark: Nodes only, over HTTPS
// with a bearer token, as the real server serves them to a client-go-like client:
//   GET   /api/v1/nodes                         a NodeList at the current resourceVersion
//   GET   /api/v1/nodes?watch=true&resourceVersion=N   a stream of JSON lines (ADDED, MODIFIED,
//         DELETED, BOOKMARK), from the events after N; N older than the compacted history is an
//         ERROR event with a 410 Status (what kube-apiserver sends), or with `goneAsHttp` an HTTP 410
//   GET   /api/v1/nodes/<name>, PATCH /api/v1/nodes/<name> (JSON merge patch of metadata.annotations)
// Test controls: add/update/delete Nodes, compact the history, end every watch with 410, fail
// the next requests, and an outage (every connection dropped, new ones refused) and its end.
// Certificates come from Debian's openssl CLI, made at test time (certs()).

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
  metadata: { name: string; uid: string; resourceVersion: string; creationTimestamp: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { podCIDR?: string; podCIDRs?: string[] };
  status: { addresses: { type: string; address: string }[] };
}

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: NodeDoc;
}

interface Watch {
  res: import('node:http').ServerResponse;
  after: number;
}

export interface Request {
  method: string;
  path: string;
  watch: boolean;
  resourceVersion?: string;
  status: number;
}

export interface ApiServerOptions {
  certs: Certs;
  token?: string;
  port?: number;
  /** How many past events a watch can resume from (older: 410). */
  history?: number;
  /** Answer a too-old watch with HTTP 410 instead of a 200 with an ERROR event. */
  goneAsHttp?: boolean;
}

export class StandInApiServer {
  readonly token: string;
  private server?: https.Server;
  private readonly nodes = new Map<string, NodeDoc>();
  private events: Event[] = [];
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
    return doc;
  }

  private emit(type: Event['type'], object: NodeDoc): void {
    const e: Event = { rv: this.rv, type, object };
    this.events.push(e);
    const keep = this.opts.history ?? 10_000;
    if (this.events.length > keep) {
      const dropped = this.events.splice(0, this.events.length - keep);
      this.compactedAt = Math.max(this.compactedAt, dropped[dropped.length - 1]!.rv);
    }
    const line = `${JSON.stringify({ type, object })}\n`;
    for (const w of this.watches) if (e.rv > w.after) w.res.write(line);
  }

  /** Adds Nodes (one event each). */
  add(...specs: NodeSpec[]): void {
    for (const spec of specs) {
      if (this.nodes.has(spec.name)) throw new Error(`node ${spec.name} exists`);
      const doc = this.doc(spec, ++this.rv);
      this.nodes.set(spec.name, doc);
      this.emit('ADDED', doc);
    }
  }

  /** Replaces a Node's spec, addresses and annotations (annotations kept unless given). */
  update(spec: NodeSpec): void {
    const old = this.nodes.get(spec.name);
    if (!old) throw new Error(`no node ${spec.name}`);
    const doc = this.doc({ annotations: old.metadata.annotations, ...spec }, ++this.rv, old.metadata.uid);
    this.nodes.set(spec.name, doc);
    this.emit('MODIFIED', doc);
  }

  remove(name: string): void {
    const old = this.nodes.get(name);
    if (!old) throw new Error(`no node ${name}`);
    this.nodes.delete(name);
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
    for (const w of this.watches) w.res.write(line);
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
    const rec: Request = { method: req.method ?? 'GET', path: url.pathname, watch, status: 200 };
    const rvParam = url.searchParams.get('resourceVersion');
    if (rvParam !== null) rec.resourceVersion = rvParam;
    this.requests.push(rec);
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
      return send(200, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items: [...this.nodes.values()] });
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
        this.nodes.set(name, doc);
        this.emit('MODIFIED', doc);
        send(200, doc);
      });
      return;
    }
    return status(405, 'MethodNotAllowed', `${req.method} is not allowed`);
  }

  private startWatch(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, rec: Request, after: number): void {
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
    for (const e of this.events) if (e.rv > start) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    const w: Watch = { res, after: start };
    this.watches.add(w);
    const timeout = Number(new URL(req.url ?? '/', 'https://x').searchParams.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      this.watches.delete(w);
    };
    res.on('close', done);
    req.on('close', done);
  }
}
