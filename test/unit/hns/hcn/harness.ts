// Test rig for the hcn adapter on Linux: the stand-in library (test/standin/hcnstandin.c, built
// with gcc), the stand-in server started in this process, and a recording fake HcnApi behind it.
//
//   adapter (koffi) -> libhcnstandin.so -> TCP JSON line -> startHnsServer -> RecordingFake
//
// One server per process: the library reads HCN_STANDIN_ADDR with getenv on every call, and
// changing the environment while koffi's worker threads may read it would race. Tests switch the
// HcnApi behind it with `serve(api)` instead.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Handle, HcnApi, HcnOutcome } from '../../../../shared/hns/api';
import { createHcnApi, type LibraryPaths } from '../../../../shared/hns/backends/hcn/index';
import { loadKoffi } from '../../../../shared/hns/backends/hcn/native';
import { type HnsServer, startHnsServer } from '../../../../tools/hns-server/server';

const ROOT = path.resolve(__dirname, '../../../..');
const STANDIN_DIR = path.join(ROOT, 'test', 'standin');
const OUT_DIR = path.join(ROOT, 'test', '.tmp', 'standin');
export const STANDIN_SO = path.join(OUT_DIR, 'libhcnstandin.so');

/** Compiles the stand-in unless the .so is newer than its sources; throws with gcc's output. */
export function buildStandin(): string {
  const sources = ['hcnstandin.c', 'build.sh'].map((f) => fs.statSync(path.join(STANDIN_DIR, f)).mtimeMs);
  const built = fs.existsSync(STANDIN_SO) ? fs.statSync(STANDIN_SO).mtimeMs : 0;
  if (built > Math.max(...sources)) return STANDIN_SO;
  const r = spawnSync('bash', [path.join(STANDIN_DIR, 'build.sh'), OUT_DIR, '--so-only'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the HCN stand-in failed (exit ${r.status}):\n${r.stderr}${r.stdout}${r.error ?? ''}`);
  return STANDIN_SO;
}

export const LIBRARIES = (): LibraryPaths => {
  const so = buildStandin();
  return { computenetwork: so, vmcompute: so, ole32: so };
};

// ---------------------------------------------------------------------------------------------
// The recording fake

export interface RecordedCall {
  fn: keyof HcnApi;
  args: unknown[];
}

type Responder = (...args: any[]) => HcnOutcome<any> | Promise<HcnOutcome<any>>;

const API_METHODS = [
  'enumerateNetworks', 'createNetwork', 'openNetwork', 'modifyNetwork', 'queryNetworkProperties', 'deleteNetwork', 'closeNetwork',
  'enumerateEndpoints', 'createEndpoint', 'openEndpoint', 'modifyEndpoint', 'queryEndpointProperties', 'deleteEndpoint', 'closeEndpoint',
  'enumerateNamespaces', 'createNamespace', 'openNamespace', 'modifyNamespace', 'queryNamespaceProperties', 'deleteNamespace', 'closeNamespace',
  'hnsCall',
] as const;
export type ApiMethod = (typeof API_METHODS)[number];

/** Records every call's arguments exactly as the server handed them over; answers from a script. */
export class RecordingFake {
  readonly calls: RecordedCall[] = [];
  private readonly script = new Map<string, Responder>();
  private nextHandle = 1;
  readonly api: HcnApi;

  constructor() {
    const api: Record<string, unknown> = { backend: 'recording-fake', dispose: async () => undefined };
    for (const m of API_METHODS) api[m] = (...args: unknown[]) => this.invoke(m, args);
    this.api = api as unknown as HcnApi;
  }

  /** Scripts the answer of `fn` (replacing the default). */
  on(fn: ApiMethod, responder: Responder): this {
    this.script.set(fn, responder);
    return this;
  }

  callsOf(fn: ApiMethod): unknown[][] {
    return this.calls.filter((c) => c.fn === fn).map((c) => c.args);
  }

  private async invoke(fn: ApiMethod, args: unknown[]): Promise<HcnOutcome<unknown>> {
    this.calls.push({ fn, args });
    const scripted = this.script.get(fn);
    return scripted ? scripted(...args) : this.defaultAnswer(fn);
  }

  private defaultAnswer(fn: ApiMethod): HcnOutcome<unknown> {
    if (/^(create|open)/.test(fn)) return { hr: 0, value: this.nextHandle++ };
    if (fn.startsWith('enumerate')) return { hr: 0, value: '[]' };
    if (fn.startsWith('query')) return { hr: 0, value: '{}' };
    if (fn === 'hnsCall') return { hr: 0, value: JSON.stringify({ Success: true, Output: { Major: 15, Minor: 1 } }) };
    return { hr: 0 };
  }
}

// ---------------------------------------------------------------------------------------------
// The server, once per process

let current: HcnApi = new RecordingFake().api;
let server: Promise<HnsServer> | undefined;

/** Starts the server (once) and makes it serve `api` from now on. */
export async function serve(api: HcnApi): Promise<HnsServer> {
  current = api;
  server ??= startHnsServer({
    api: new Proxy({} as HcnApi, { get: (_, key) => (key === 'backend' ? 'delegate' : (...a: unknown[]) => (current as any)[key](...a)) }),
    onProblem: (m) => process.stderr.write(`hns-server (test): ${m}\n`),
  }).then((s) => {
    s.unref(); // uvu does not exit the process; a listening server would keep it alive
    process.env.HCN_STANDIN_ADDR = s.address;
    return s;
  });
  return server;
}

/** A fresh fake behind the server and an hcn adapter over the stand-in. */
export async function rig(): Promise<{ fake: RecordingFake; api: HcnApi; server: HnsServer }> {
  const fake = new RecordingFake();
  const s = await serve(fake.api);
  const api = await createHcnApi({ env: {}, libraries: LIBRARIES() });
  return { fake, api, server: s };
}

// ---------------------------------------------------------------------------------------------
// The stand-in's counters

export interface Counters {
  stringsAllocated: number;
  stringsFreed: number;
  badFrees: number;
  handlesOpened: number;
  handlesClosed: number;
  calls: number;
}

const COUNTER_NAMES: (keyof Counters)[] = ['stringsAllocated', 'stringsFreed', 'badFrees', 'handlesOpened', 'handlesClosed', 'calls'];

type Fn = (...args: unknown[]) => any;
let readCounters: Fn | undefined;

/** The library's counters (process-wide; compare snapshots). */
export function counters(): Counters {
  if (!readCounters) {
    // A handle of our own keeps the library mapped, so adapters that unload never reset its counters.
    const lib = loadKoffi().load(buildStandin());
    readCounters = lib.func('StandinCounters', 'uint32_t', ['void *', 'uint32_t']) as Fn;
  }
  const buf = Buffer.alloc(8 * COUNTER_NAMES.length);
  readCounters(buf, COUNTER_NAMES.length);
  const out = {} as Counters;
  COUNTER_NAMES.forEach((name, i) => (out[name] = Number(buf.readBigInt64LE(8 * i))));
  return out;
}

export function since(before: Counters): Counters {
  const now = counters();
  const out = {} as Counters;
  for (const k of COUNTER_NAMES) out[k] = now[k] - before[k];
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves after `ms` with `value` (a service that answers late). */
export function late<T>(ms: number, value: T): Promise<T> {
  return new Promise((r) => setTimeout(() => r(value), ms));
}

export type { Handle };
