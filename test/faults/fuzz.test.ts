// Fuzzing the built executables with generated requests (fuzz-gen.ts, fast-check): confs with
// random, garbage, mis-typed and mis-cased keys, values of the wrong shape anywhere (an object or
// a list for a string, null or a scalar for a list: fuzz-gen.ts SHAPE_PATHS, on requests that are
// otherwise sane, DEL most of all), damaged prevResults, policies of every shape, runtimeConfig
// with Go and lower-case names, odd CNI_* values (IDs up to and past the limits, unicode, bad
// GUIDs, missing variables, every verb and version, garbage commands), an HNS backend or emulator
// folder the node cannot have, logFile paths in folders that do not exist, raw garbage on stdin.
//
// Properties, for every request:
//   1. a non-zero exit prints exactly one CNI error object on stdout (the whole of stdout is one
//      JSON object) with a numeric code and a message, and the code is typed: never 999, since
//      every request here is malformed in some way or fine; a successful ADD prints one result;
//   2. the error object carries the request's cniVersion whenever stdin is a JSON object whose
//      cniVersion is one the plugins speak (absent, null or empty: 0.1.0), whatever failed;
//   3. nothing hangs: a request still running after 90 s is killed and fails the suite (the
//      confs ask for short HNS timeouts, hnsTimeoutSeconds 2-5, so the invocation deadline is
//      well below that);
//   4. a failed request changes no state: the HNS emulator's objects, and every file of the
//      plugin state directory, the IPAM stores and the working directory, are as before. (The
//      built-in IPAM's last_reserved_ip cursor is the one file left out: like host-local's it
//      may advance past an address handed out and then released by a failed ADD's rollback.)
//      DEL and GC try every step and report what failed, so a failed one may have removed what
//      it was asked to remove (endpoints, their namespace attachments, records, claims); it must
//      not create or change anything. And no request, failed or not, makes a folder its conf's
//      logFile names outside the log folder.
// And for the pass as a whole: enough requests got through validation to the verbs' work (ADD,
// DEL, GC and STATUS that succeeded, CHECKs that reached the check): floors as shares of the
// requests (FLOORS), so properties that hold because everything died at parsing fail.
//
// Each request starts from the same node (restored byte for byte): three HNS networks (cbr0
// L2Bridge, vxlan0 Overlay, l3net L2Bridge), three namespaces, a standing pod on each network,
// so DEL, CHECK and GC have something to act on. Requests run three at a time, each worker on
// its own node.
//
// `npm test` runs 1,000 requests with a fixed seed; `npm run fuzz` runs 10,000. The seed is
// printed; FUZZ_SEED / --seed, FUZZ_RUNS / --runs and --only <index> (one request, printed in
// full) reproduce a failure.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { plugin } from '../helpers/node';
import { describe, FaultNode, NETWORKS, pool, type RunResult, run } from './lib';
import { type FuzzRequest, type NetnsRef, requestArb, STANDING_POD, VERSIONS } from './fuzz-gen';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const SEED = Number(arg('seed') ?? process.env.FUZZ_SEED ?? 20261129);
const RUNS = Number(arg('runs') ?? process.env.FUZZ_RUNS ?? 1000);
const ONLY = arg('only') === undefined ? undefined : Number(arg('only'));
const JOBS = Number(process.env.FUZZ_JOBS ?? 3);
const DEADLINE_MS = 90_000;

/** A node with every plugin's network, three namespaces and a standing pod on each network. */
async function fuzzNode(): Promise<FaultNode> {
  const n = new FaultNode('win-l2bridge', 'builtin', 'cni-fuzz-', ['win-overlay', 'l3-upstream']);
  try {
    await setUpFuzzNode(n);
    return n;
  } catch (err) {
    n.cleanup();
    throw err;
  }
}

async function setUpFuzzNode(n: FaultNode): Promise<void> {
  for (let i = 0; i < 3; i++) n.newNamespace();
  for (const p of ['win-l2bridge', 'win-overlay', 'l3-upstream'] as const) {
    const conf = { cniVersion: '1.0.0', name: NETWORKS[p].name, type: p, ...NETWORKS[p].extra, ipam: { type: 'builtin', subnet: '10.244.3.0/24' } };
    const r = await run(plugin(p), n.env('ADD', STANDING_POD, n.namespaces[0]!), JSON.stringify(conf));
    if (r.code !== 0) throw new Error(`standing pod on ${p}: ${describe(r)}`);
  }
  // host-local's store (its directory and lock file per network, and the bridge gateway our
  // bridged plugins reserve in it) is made by the first ADD: here, once.
  for (const p of ['win-l2bridge', 'win-overlay', 'l3-upstream'] as const) {
    const conf = { cniVersion: '1.0.0', name: NETWORKS[p].name, type: p, ...NETWORKS[p].extra, ipam: { type: 'host-local', subnet: '10.244.3.0/24', rangeStart: '10.244.3.150', rangeEnd: '10.244.3.200', dataDir: n.hostLocalDir } };
    for (const verb of ['ADD', 'DEL'] as const) {
      const r = await run(plugin(p), n.env(verb, 'fuzz-setup', n.namespaces[1]!), JSON.stringify(conf));
      if (r.code !== 0) throw new Error(`host-local setup ${verb} on ${p}: ${describe(r)}`);
    }
  }
  n.save('base');
  n.restore('base');
}

function netnsText(n: FaultNode, ref: NetnsRef): string {
  if ('text' in ref) return ref.text;
  const id = n.namespaces[ref.live]!;
  return ref.form === 'lower' ? id.toLowerCase() : ref.form === 'braced' ? `{${id}}` : id;
}

function stdinOf(n: FaultNode, r: FuzzRequest): string {
  if ('raw' in r.stdin) return r.stdin.raw;
  return JSON.stringify(r.stdin.conf).split('"DATADIR"').join(JSON.stringify(n.hostLocalDir)).split('"LIVE0"').join(JSON.stringify(n.namespaces[0])).split('NODEDIR').join(n.dir);
}

/**
 * The cniVersion an error object for this stdin must carry, or undefined if none is required:
 * the top-level cniVersion (its exact spelling, else the first in any casing) when it is a
 * version the plugins speak; absent, null or empty means 0.1.0.
 */
function expectedErrorVersion(stdin: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(stdin);
  } catch {
    return undefined;
  }
  if (doc === null) return '0.1.0';
  if (typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const o = doc as Record<string, unknown>;
  const key = 'cniVersion' in o ? 'cniVersion' : Object.keys(o).find((k) => k.toLowerCase() === 'cniversion');
  const v = key === undefined ? undefined : o[key];
  if (v === undefined || v === null || v === '') return '0.1.0';
  return typeof v === 'string' && VERSIONS.includes(v) ? v : undefined;
}

/** The folder fuzz-gen.ts LOG_FILES names outside the log folder: no plugin may make it. */
const MADE_BY_LOG_FILE = 'made';

function envOf(n: FaultNode, r: FuzzRequest): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...n.node.env, CNI_COMMAND: r.command };
  if (r.containerId !== undefined) env.CNI_CONTAINERID = r.containerId;
  if (r.netns !== undefined) env.CNI_NETNS = netnsText(n, r.netns);
  if (r.ifName !== undefined) env.CNI_IFNAME = r.ifName;
  if (r.args !== undefined) env.CNI_ARGS = r.args;
  env.CNI_PATH = r.cniPath === 'good' ? `${n.node.binDir}:/usr/lib/cni` : r.cniPath.text;
  Object.assign(env, r.nodeEnv);
  // The environment cannot carry NUL: such a value is what a runtime could never send.
  for (const [k, v] of Object.entries(env)) if (v?.includes('\u0000')) env[k] = v.replace(/\u0000/g, '');
  return env;
}

const SKIP_TOP = new Set(['log', 'hns', 'bin', 'saved']);

/**
 * Every file and directory under the node's directory but the log, the emulator's own files and
 * the saved copies: path -> content hash (a directory: its path with a trailing "/" -> "dir", so
 * one made or removed, even empty, is a difference).
 */
function files(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (!rel && SKIP_TOP.has(e.name)) continue;
    if (e.isDirectory()) {
      out.set(`${r}/`, 'dir');
      files(dir, r, out);
    } else if (/^last_reserved_ip\./.test(e.name)) continue;
    else out.set(r, e.isFile() ? createHash('sha1').update(fs.readFileSync(path.join(dir, r))).digest('hex') : e.isSymbolicLink() ? `link:${fs.readlinkSync(path.join(dir, r))}` : 'special');
  }
  return out;
}

interface Fingerprint {
  emulator: string;
  files: Map<string, string>;
}

function fingerprint(n: FaultNode): Fingerprint {
  return { emulator: JSON.stringify(emulatorAdmin(n.node.emulatorDir).readState()), files: files(n.dir) };
}

interface Difference {
  what: string;
  /** Only takes something away (an endpoint or file removed, an endpoint detached from its namespace). */
  removal: boolean;
}

function detachedOnly(before: Record<string, unknown>, after: Record<string, unknown>): boolean {
  const { Resources: rb, ...b } = before as { Resources?: unknown[] };
  const { Resources: ra, ...a } = after as { Resources?: unknown[] };
  if (JSON.stringify(a) !== JSON.stringify(b)) return false;
  const keep = new Set((rb ?? []).map((x) => JSON.stringify(x)));
  return (ra ?? []).every((x) => keep.has(JSON.stringify(x)));
}

function differences(a: Fingerprint, b: Fingerprint): Difference[] {
  const out: Difference[] = [];
  if (a.emulator !== b.emulator) {
    const x = JSON.parse(a.emulator) as Record<string, Record<string, Record<string, unknown>>>;
    const y = JSON.parse(b.emulator) as Record<string, Record<string, Record<string, unknown>>>;
    for (const kind of ['networks', 'endpoints', 'namespaces']) {
      for (const id of new Set([...Object.keys(x[kind] ?? {}), ...Object.keys(y[kind] ?? {})])) {
        const before = x[kind]?.[id];
        const after = y[kind]?.[id];
        if (JSON.stringify(before) === JSON.stringify(after)) continue;
        if (!before) out.push({ what: `HNS ${kind} ${id} created`, removal: false });
        else if (!after) out.push({ what: `HNS ${kind} ${id} (${String(before.Name ?? '')}) deleted`, removal: kind === 'endpoints' });
        else out.push({ what: `HNS ${kind} ${id} changed: ${JSON.stringify(before).slice(0, 200)} -> ${JSON.stringify(after).slice(0, 200)}`, removal: kind === 'namespaces' && detachedOnly(before, after) });
      }
    }
    for (const k of ['nextCompartmentId', 'nextMacPool']) if ((x as Record<string, unknown>)[k] !== (y as Record<string, unknown>)[k]) out.push({ what: `HNS ${k} changed`, removal: false });
  }
  for (const [f, h] of b.files) if (a.files.get(f) !== h) out.push({ what: `${a.files.has(f) ? 'changed' : 'created'}: ${f}`, removal: false });
  for (const f of a.files.keys()) if (!b.files.has(f)) out.push({ what: `removed: ${f}`, removal: true });
  return out;
}

interface Outcome {
  index: number;
  verb: string;
  code: number | null;
  typed: string[];
  /** Error objects without the request's cniVersion. */
  versionless: string[];
  hang: string[];
  state: string[];
  /** The error's code and message, for the summary (FUZZ_VERBOSE=1). */
  error?: string;
  /** The error object's code, when it has a numeric one. */
  errorCode?: number;
}

function show(index: number, n: FaultNode, req: FuzzRequest, r: RunResult): string {
  const env = envOf(n, req);
  const vars = Object.entries(env).filter(([k]) => k.startsWith('CNI_') && !['CNI_HNS_BACKEND', 'CNI_HNS_EMULATOR_DIR', 'CNI_STATE_DIR', 'CNI_LOG_FILE'].includes(k)).map(([k, v]) => `${k}=${JSON.stringify(v!.length > 120 ? `${v!.slice(0, 120)}...(${v!.length})` : v)}`);
  const stdin = stdinOf(n, req);
  return `request #${index} (seed ${SEED}; rerun with --seed ${SEED} --only ${index}): ${req.plugin} ${vars.join(' ')}\n      stdin ${stdin.length > 1500 ? `${stdin.slice(0, 1500)}...(${stdin.length} bytes)` : stdin}\n      answer: ${describe(r)}`;
}

async function check(index: number, n: FaultNode, req: FuzzRequest, base: Fingerprint): Promise<Outcome> {
  n.restore('base');
  const r = await run(plugin(req.plugin), envOf(n, req), stdinOf(n, req), { timeoutMs: DEADLINE_MS, cwd: n.dir });
  const o: Outcome = { index, verb: req.command, code: r.code, typed: [], versionless: [], hang: [], state: [] };
  const madeDir = path.join(n.dir, MADE_BY_LOG_FILE);
  if (fs.existsSync(madeDir)) {
    o.state.push(`made the folder ${madeDir} its conf's logFile names: ${show(index, n, req, r)}`);
    fs.rmSync(madeDir, { recursive: true, force: true });
  }
  if (r.timedOut) {
    o.hang.push(`still running after ${DEADLINE_MS / 1000} s: ${show(index, n, req, r)}`);
    return o;
  }
  if (r.code !== 0) {
    let doc: unknown;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      doc = undefined;
    }
    const e = doc as { code?: unknown; msg?: unknown } | undefined;
    if (typeof e?.code === 'number') o.errorCode = e.code;
    o.error = `${String(e?.code)} ${String(e?.msg).replace(process.env.FUZZ_VERBOSE === "2" ? /[0-9A-Fa-f]{8}-[0-9A-Fa-f-]{27}/g : /[0-9A-Fa-f]{8}-[0-9A-Fa-f-]{27}|\d+(\.\d+)+|"[^"]*"/g, '~').slice(0, 90)}`;
    if (r.code === null) o.typed.push(`died by ${r.signal}: ${show(index, n, req, r)}`);
    else if (!e || typeof e !== 'object' || Array.isArray(e)) o.typed.push(`stdout is not one JSON object: ${show(index, n, req, r)}`);
    else if (typeof e.code !== 'number' || typeof e.msg !== 'string') o.typed.push(`the error object has no numeric code and message: ${show(index, n, req, r)}`);
    else if (e.code === 999) o.typed.push(`untyped error 999: ${show(index, n, req, r)}`);
    const version = expectedErrorVersion(stdinOf(n, req));
    if (e && typeof e === 'object' && version !== undefined && (e as { cniVersion?: unknown }).cniVersion !== version) {
      o.versionless.push(`the error object carries cniVersion ${JSON.stringify((e as { cniVersion?: unknown }).cniVersion)}, not the request's ${version}: ${show(index, n, req, r)}`);
    }
    // DEL and GC try every step and report what failed: one may fail after another removed
    // something. They may only ever take away; everything else must not change at all.
    const cleanup = req.command === 'DEL' || req.command === 'GC';
    const diff = differences(base, fingerprint(n)).filter((d) => !(cleanup && d.removal));
    if (diff.length) o.state.push(`${diff.slice(0, 8).map((d) => d.what).join('; ')}\n      ${show(index, n, req, r)}`);
  } else if (req.command === 'ADD') {
    let ok = false;
    try {
      const v = JSON.parse(r.stdout) as { cniVersion?: unknown };
      ok = typeof v === 'object' && v !== null && typeof v.cniVersion === 'string';
    } catch {
      ok = false;
    }
    if (!ok) o.typed.push(`a successful ADD did not print one result object: ${show(index, n, req, r)}`);
  }
  return o;
}

interface Pass {
  outcomes: Outcome[];
  seconds: number;
}

let pass: Promise<Pass> | undefined;

function runPass(): Promise<Pass> {
  pass ??= (async () => {
    const t0 = Date.now();
    // The i-th request depends only on the seed and i, so --only i needs no --runs.
    const all = fc.sample(requestArb, { seed: SEED, numRuns: ONLY === undefined ? RUNS : Math.max(RUNS, ONLY + 1) });
    const chosen = ONLY === undefined ? all.map((r, i) => ({ r, i })) : [{ r: all[ONLY]!, i: ONLY }];
    const jobs = Math.min(JOBS, chosen.length);
    console.log(`  fuzz: ${chosen.length} requests, seed ${SEED}, ${jobs} at a time (--seed/FUZZ_SEED, --runs/FUZZ_RUNS, --only <index>)`);
    const nodes: FaultNode[] = [];
    for (let i = 0; i < jobs; i++) {
      try {
        nodes.push(await fuzzNode());
      } catch (err) {
        for (const n of nodes) n.cleanup();
        throw err;
      }
    }
    try {
      const bases = nodes.map((n) => fingerprint(n));
      const free = nodes.map((_, i) => i);
      const outcomes = await pool(chosen, jobs, async ({ r, i }) => {
        const slot = free.pop()!;
        try {
          return await check(i, nodes[slot]!, r, bases[slot]!);
        } finally {
          free.push(slot);
        }
      });
      if (ONLY !== undefined) console.log(`  ${show(ONLY, nodes[0]!, chosen[0]!.r, await run(plugin(chosen[0]!.r.plugin), envOf(nodes[0]!, chosen[0]!.r), stdinOf(nodes[0]!, chosen[0]!.r), { cwd: nodes[0]!.dir }))}`);
      return { outcomes, seconds: (Date.now() - t0) / 1000 };
    } finally {
      for (const n of nodes) n.cleanup();
    }
  })();
  return pass;
}

const CHECKED = 'CHECK checked';

function counts(p: Pass): Map<string, number> {
  const by = new Map<string, number>();
  for (const o of p.outcomes) {
    const key = `${/^(ADD|DEL|CHECK|GC|STATUS|VERSION)$/.test(o.verb) ? o.verb : 'other'} ${o.code === 0 ? 'ok' : 'error'}`;
    by.set(key, (by.get(key) ?? 0) + 1);
    // A CHECK that got past the request's validation to the check itself: ok, or refused with a
    // plugin-specific code (100 and up: the attachment is not as the prevResult says).
    if (o.verb === 'CHECK' && (o.code === 0 || (o.errorCode ?? 0) >= 100)) by.set(CHECKED, (by.get(CHECKED) ?? 0) + 1);
  }
  return by;
}

function summary(p: Pass): string {
  return [...counts(p)].sort().map(([k, v]) => `${k} ${v}`).join(', ');
}

/**
 * What a pass must have exercised, as a share of its requests: the properties above hold
 * trivially for requests that all die at parsing. The fixed seed's 1,000 requests gave ADD ok 113,
 * DEL ok 81, GC ok 17, STATUS ok 36, and 15 CHECKs that reached the check itself (none passes it:
 * a generated prevResult never matches the standing pod); the floors are a third or less of that,
 * so another seed passes them too, but a generator that stopped making requests the plugins
 * accept does not.
 */
const FLOORS: [string, number][] = [['ADD ok', 0.03], ['DEL ok', 0.02], ['GC ok', 0.005], ['STATUS ok', 0.01], [CHECKED, 0.005]];
/** Below this many requests (--only, a small --runs) the shares say nothing. */
const FLOOR_MIN_RUNS = 500;

test(`generated requests: every failure is exactly one typed CNI error object on stdout (never 999)`, async () => {
  const p = await runPass();
  console.log(`  fuzz: ${p.outcomes.length} requests in ${p.seconds.toFixed(0)} s: ${summary(p)}`);
  if (process.env.FUZZ_VERBOSE) {
    const by = new Map<string, number>();
    for (const o of p.outcomes) if (o.error) by.set(`${o.verb.slice(0, 8)} ${o.error}`, (by.get(`${o.verb.slice(0, 8)} ${o.error}`) ?? 0) + 1);
    for (const [k, v] of [...by].sort((x, y) => y[1] - x[1]).slice(0, 40)) console.log(`    ${String(v).padStart(4)} ${k}`);
  }
  const bad = p.outcomes.flatMap((o) => o.typed);
  assert.equal(bad, [], `${bad.length} request(s):\n    ${bad.slice(0, 20).join('\n    ')}`);
});

test(`generated requests: enough of them get through to each verb's work (${FLOORS.map(([k, f]) => `${k} >= ${f * 100}%`).join(', ')})`, async () => {
  const p = await runPass();
  if (p.outcomes.length < FLOOR_MIN_RUNS) {
    console.log(`  fuzz: ${p.outcomes.length} requests, fewer than ${FLOOR_MIN_RUNS}: the floors are not checked`);
    return;
  }
  const by = counts(p);
  const short = FLOORS.filter(([k, f]) => (by.get(k) ?? 0) < Math.ceil(f * p.outcomes.length)).map(([k, f]) => `${k} ${by.get(k) ?? 0} < ${Math.ceil(f * p.outcomes.length)}`);
  assert.equal(short, [], `too few requests exercised (${summary(p)}): ${short.join(', ')}`);
});

test('generated requests: every error object carries the request\'s cniVersion once stdin has one the plugins speak', async () => {
  const bad = (await runPass()).outcomes.flatMap((o) => o.versionless);
  assert.equal(bad, [], `${bad.length} request(s):\n    ${bad.slice(0, 20).join('\n    ')}`);
});

test('generated requests: none hangs past its deadline', async () => {
  const bad = (await runPass()).outcomes.flatMap((o) => o.hang);
  assert.equal(bad, [], `${bad.length} request(s):\n    ${bad.slice(0, 20).join('\n    ')}`);
});

test('generated requests: a failed request changes no state (HNS objects, plugin state, IPAM stores, working directory)', async () => {
  const bad = (await runPass()).outcomes.flatMap((o) => o.state);
  assert.equal(bad, [], `${bad.length} request(s):\n    ${bad.slice(0, 20).join('\n    ')}`);
});

test.run();
