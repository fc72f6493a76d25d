// The server side of the HCN stand-in (test/standin/hcnstandin.c): serves any HcnApi to the
// stand-in library over loopback TCP, one JSON line per request and one per answer.
//
//   request  {"fn":"HcnCreateNetwork","id":"<GUID>","handle":"0x..","settings":"..","query":"..",
//             "method":"..","path":"..","request":"..","wantsRecord":true}
//   answer   {"hr":<signed int32>,"out":".."|null,"record":".."|null,"handle":"0x.."|null}
//   report   {"fn":"StandinCounters","module":"..","counters":{..}}   (no answer)
//
// The stand-in formats the GUID from the struct it was given and sends the handle value it was
// given, so what reaches the HcnApi here is what the caller put in native memory. Handles are
// the server's business: it gives the library full 64-bit values (above 2^53, so a caller that
// squeezes a pointer through a JS number breaks visibly) and maps them back to the HcnApi's own
// handles, like the RPC layer does with context handles. One table serves every connection,
// because the stand-in opens one connection per call.

import net from 'node:net';
import type { Handle, HcnApi, HcnOutcome } from '../../shared/hns/api';
import { errorRecord, signed } from '../../shared/hns/hresult';

export interface StandinRequest {
  fn: string;
  id?: string | null;
  handle?: string | null;
  query?: string | null;
  settings?: string | null;
  method?: string | null;
  path?: string | null;
  request?: string | null;
  wantsRecord?: boolean;
}

export interface StandinAnswer {
  hr: number;
  out: string | null;
  record: string | null;
  handle: string | null;
}

/** What the Windows stand-in sends when it unloads (its counters are otherwise unreachable). */
export interface StandinReport {
  module: string;
  counters: Record<string, number>;
}

export interface HnsServerOptions {
  api: HcnApi;
  host?: string;
  port?: number;
  onReport?: (report: StandinReport) => void;
  /** Told about requests it could not serve (malformed lines, exceptions in the HcnApi). */
  onProblem?: (message: string) => void;
}

export interface HnsServer {
  readonly port: number;
  /** `127.0.0.1:<port>`, the value of HCN_STANDIN_ADDR. */
  readonly address: string;
  /** Handles issued and not closed yet. */
  openHandles(): number;
  /** Lets the process exit while the server still listens (in-process use, e.g. tests). */
  unref(): void;
  close(): Promise<void>;
}

const E_POINTER = 0x80004003;
const E_FAIL = 0x80004005;
const ERROR_INVALID_HANDLE = 0x80070006;
const HANDLE_BASE = 0x48434e0000000000n; // "HCN" in the top bytes

/** Wire handle (full 64-bit value) <-> the HcnApi's handle. */
export class HandleTable {
  private next = HANDLE_BASE;
  private readonly byWire = new Map<bigint, Handle>();

  issue(h: Handle): string {
    this.next += 0x10n; // aligned, like a heap pointer
    this.byWire.set(this.next, h);
    return `0x${this.next.toString(16)}`;
  }

  lookup(wire: string | null | undefined): Handle | undefined {
    const key = parseWire(wire);
    return key === undefined ? undefined : this.byWire.get(key);
  }

  release(wire: string | null | undefined): void {
    const key = parseWire(wire);
    if (key !== undefined) this.byWire.delete(key);
  }

  get size(): number {
    return this.byWire.size;
  }
}

function parseWire(wire: string | null | undefined): bigint | undefined {
  if (!wire) return undefined;
  try {
    return BigInt(wire);
  } catch {
    return undefined;
  }
}

function fail(code: number, detail?: string): StandinAnswer {
  return { hr: signed(code), out: null, record: errorRecord(code, detail), handle: null };
}

type Kind = 'Network' | 'Endpoint' | 'Namespace';
type Served = (api: HcnApi, r: StandinRequest, handles: HandleTable) => Promise<StandinAnswer>;

/** Turns an outcome into an answer; a handle it carries is registered under a wire value. */
function answer(o: HcnOutcome<unknown>, handles: HandleTable): StandinAnswer {
  const out = typeof o.value === 'string' ? o.value : null;
  const isHandle = typeof o.value === 'number' || typeof o.value === 'bigint';
  const handle = isHandle && o.hr >= 0 ? handles.issue(o.value as Handle) : null;
  return { hr: o.hr | 0, out, record: o.errorRecord ?? null, handle };
}

// Each function's arguments, checked the way the service checks them: a NULL required string is
// E_POINTER and an unknown handle ERROR_INVALID_HANDLE, both without reaching the HcnApi.
function withText(r: StandinRequest, field: keyof StandinRequest, use: (text: string) => Promise<StandinAnswer>): Promise<StandinAnswer> {
  const v = r[field];
  return typeof v === 'string' ? use(v) : Promise.resolve(fail(E_POINTER, `${String(field)} is NULL`));
}

function withHandle(r: StandinRequest, handles: HandleTable, use: (h: Handle) => Promise<StandinAnswer>): Promise<StandinAnswer> {
  const h = handles.lookup(r.handle);
  return h === undefined ? Promise.resolve(fail(ERROR_INVALID_HANDLE)) : use(h);
}

function objectFunctions(kind: Kind): Record<string, Served> {
  const call = (api: HcnApi, method: string, ...args: unknown[]) =>
    (api as unknown as Record<string, (...a: unknown[]) => Promise<HcnOutcome<unknown>>>)[method]!.call(api, ...args);
  const fns: Record<string, Served> = {
    [`HcnEnumerate${kind}s`]: (api, r, hs) => withText(r, 'query', async (q) => answer(await call(api, `enumerate${kind}s`, q), hs)),
    [`HcnOpen${kind}`]: (api, r, hs) => withText(r, 'id', async (id) => answer(await call(api, `open${kind}`, id), hs)),
    [`HcnModify${kind}`]: (api, r, hs) =>
      withHandle(r, hs, (h) => withText(r, 'settings', async (s) => answer(await call(api, `modify${kind}`, h, s), hs))),
    [`HcnQuery${kind}Properties`]: (api, r, hs) =>
      withHandle(r, hs, (h) => withText(r, 'query', async (q) => answer(await call(api, `query${kind}Properties`, h, q), hs))),
    [`HcnDelete${kind}`]: (api, r, hs) => withText(r, 'id', async (id) => answer(await call(api, `delete${kind}`, id), hs)),
    [`HcnClose${kind}`]: (api, r, hs) =>
      withHandle(r, hs, async (h) => {
        const a = answer(await call(api, `close${kind}`, h), hs);
        if (a.hr >= 0) hs.release(r.handle);
        return a;
      }),
  };
  fns[`HcnCreate${kind}`] =
    kind === 'Endpoint'
      ? (api, r, hs) =>
          withHandle(r, hs, (net) => withText(r, 'id', (id) => withText(r, 'settings', async (s) => answer(await api.createEndpoint(net, id, s), hs))))
      : (api, r, hs) => withText(r, 'id', (id) => withText(r, 'settings', async (s) => answer(await call(api, `create${kind}`, id, s), hs)));
  return fns;
}

const FUNCTIONS: Record<string, Served> = {
  ...objectFunctions('Network'),
  ...objectFunctions('Endpoint'),
  ...objectFunctions('Namespace'),
  HNSCall: (api, r, hs) =>
    withText(r, 'method', (m) => withText(r, 'path', (p) => withText(r, 'request', async (body) => answer(await api.hnsCall(m, p, body), hs)))),
};

/** Serves one request line; undefined for a report (which has no answer). */
export async function serveLine(line: string, api: HcnApi, handles: HandleTable, opts: Pick<HnsServerOptions, 'onReport' | 'onProblem'> = {}): Promise<StandinAnswer | undefined> {
  let req: StandinRequest & Partial<StandinReport>;
  try {
    req = JSON.parse(line) as StandinRequest & Partial<StandinReport>;
  } catch {
    opts.onProblem?.(`unreadable request: ${line.slice(0, 200)}`);
    return fail(E_FAIL, 'unreadable request');
  }
  if (req.fn === 'StandinCounters') {
    opts.onReport?.({ module: String(req.module ?? ''), counters: req.counters ?? {} });
    return undefined;
  }
  const serve = FUNCTIONS[req.fn];
  if (!serve) return fail(0x8007007f, `no function ${req.fn}`); // ERROR_PROC_NOT_FOUND
  try {
    const a = await serve(api, req, handles);
    return req.wantsRecord ? a : { ...a, record: null }; // no slot, no record
  } catch (err) {
    opts.onProblem?.(`${req.fn}: ${(err as Error).stack ?? err}`);
    return fail(E_FAIL, `${req.fn} threw: ${(err as Error).message}`);
  }
}

export function startHnsServer(opts: HnsServerOptions): Promise<HnsServer> {
  const handles = new HandleTable();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy()); // the caller went away; nothing to tell it
    serveConnection(socket, opts, handles);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        address: `${opts.host ?? '127.0.0.1'}:${port}`,
        openHandles: () => handles.size,
        unref: () => void server.unref(),
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Requests on one connection are answered in order. */
function serveConnection(socket: net.Socket, opts: HnsServerOptions, handles: HandleTable): void {
  let pending = '';
  let chain = Promise.resolve();
  socket.setNoDelay(true);
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.trim()) continue;
      chain = chain.then(async () => {
        const a = await serveLine(line, opts.api, handles, opts);
        if (a && !socket.destroyed) socket.write(`${JSON.stringify(a)}\n`);
      });
    }
  });
}
