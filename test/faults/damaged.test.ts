// Damaged state: every file a verb reads back, left truncated, emptied, replaced by garbage,
// replaced by a directory (holding a file, so it cannot simply be rmdir'ed), or, for lock files,
// naming a live process that is not the holder (a pid reused since: its recorded start time is
// not that process's). Torn writes, which a kill cannot make (kill.test.ts), are the truncated
// and garbage cases here.
//
// Files: the pod's attachment record (<state>/attachments/<network>/<id>.json), the built-in
// IPAM's claim of the pod's address (<state>/ipam/<network>/<ip>), its last_reserved_ip.0, the
// pod lock (<state>/locks/pod-<id>.lock), the built-in IPAM's lock (builtin.lock) and the HNS
// emulator's state lock (<hns>/state.lock). Each with each verb: ADD (the pod not there yet, the
// damaged file left by an earlier one), and CHECK, DEL, GC (the pod listed as valid) and STATUS
// (the pod added, then the file damaged).
//
// Each verb either succeeds, or fails with exactly one CNI error object whose code is typed (not
// 999) and whose text names the damaged file; it answers within its deadline; a GC that succeeds
// keeps the (valid) pod's endpoint. Then the pod is never left undeletable: a DEL, or else a GC
// (nothing valid) and a DEL again, succeeds and leaves no endpoint of the pod and no address
// held by it, with the damage still in place (nobody repairs it by hand).
//
// Damaged files are back-dated 10 s: the damage was left by an earlier run (a lock file without
// readable content is judged abandoned 2 s after its last change: shared/sys/lock.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PluginName } from '../helpers/node';
import { describe, FaultNode, type IpamKind, limiter, type RunResult } from './lib';

const CONTAINER = 'damaged-0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const DAMAGES = ['truncated', 'emptied', 'garbage', 'directory', 'live-pid'] as const;
type Damage = (typeof DAMAGES)[number];
const VERBS = ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS'] as const;
type Verb = (typeof VERBS)[number];

/** A process that is alive and unrelated to any lock: its pid goes into the "live-pid" lock files. */
let bystanderProcess: ReturnType<typeof spawn> | undefined;
function bystanderPid(): number {
  bystanderProcess ??= spawn('sleep', ['3600'], { stdio: 'ignore' });
  return bystanderProcess.pid!;
}
const BOOT_ID = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

interface Target {
  name: string;
  /** The file, given the node and the pod's address (for the claim). */
  file(n: FaultNode, ip: string): string;
  /** What the file holds when it is whole (for the "truncated" damage); undefined: it exists only while a verb runs. */
  whole(n: FaultNode, ip: string): string;
  lock: boolean;
  /** Pairs of plugin and IPAM it is checked with. */
  combos: [PluginName, IpamKind][];
}

const BUILTIN: [PluginName, IpamKind][] = [['win-l2bridge', 'builtin']];
const BOTH: [PluginName, IpamKind][] = [['win-l2bridge', 'builtin'], ['win-overlay', 'host-local']];

function lockContent(pid: number, start?: string): string {
  return JSON.stringify({ pid, token: 'f'.repeat(32), created: Date.now(), ...(start ? { start } : {}) });
}

const TARGETS: Target[] = [
  {
    name: 'attachment record',
    file: (n) => path.join(n.node.stateDir, 'attachments', n.network, `${CONTAINER}.json`),
    whole: (n) => JSON.stringify({ containerId: CONTAINER, ifName: 'eth0', netns: n.namespaces[0], network: n.network, endpointId: '0D5E7B1A-1111-4222-8333-944455556666', created: Date.now() }),
    lock: false,
    combos: BOTH,
  },
  {
    name: 'built-in IPAM claim',
    file: (n, ip) => path.join(n.ipamDir(), ip),
    whole: () => `${CONTAINER}\r\neth0`,
    lock: false,
    combos: BUILTIN,
  },
  {
    name: 'last_reserved_ip',
    file: (n) => path.join(n.ipamDir(), 'last_reserved_ip.0'),
    whole: (_n, ip) => ip,
    lock: false,
    combos: BUILTIN,
  },
  {
    name: 'pod lock',
    file: (n) => path.join(n.node.stateDir, 'locks', `pod-${CONTAINER}.lock`),
    whole: () => lockContent(bystanderPid(), `${BOOT_ID}:1`),
    lock: true,
    combos: BOTH,
  },
  {
    name: 'built-in IPAM lock',
    file: (n) => path.join(n.ipamDir(), 'builtin.lock'),
    whole: () => lockContent(bystanderPid(), `${BOOT_ID}:1`),
    lock: true,
    combos: BUILTIN,
  },
  {
    name: 'HNS emulator state lock',
    file: (n) => path.join(n.node.emulatorDir, 'state.lock'),
    whole: () => lockContent(bystanderPid(), `${BOOT_ID}:1`),
    lock: true,
    combos: BOTH,
  },
];

/** Deterministic garbage: bytes that are neither JSON nor UTF-8 nor an address. */
function garbage(seed: number): Buffer {
  const out = Buffer.alloc(97);
  let x = seed * 2654435761;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  out[0] = 0xff;
  return out;
}

function damage(file: string, how: Damage, whole: string, seed: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const inPlace = (data: string | Buffer) => fs.writeFileSync(file, data); // same inode if it exists (O_TRUNC)
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.isDirectory()) fs.rmSync(file, { recursive: true });
  switch (how) {
    case 'truncated':
      inPlace(whole.slice(0, Math.max(1, Math.floor(whole.length / 2))));
      break;
    case 'emptied':
      inPlace('');
      break;
    case 'garbage':
      inPlace(garbage(seed));
      break;
    case 'directory':
      fs.rmSync(file, { force: true });
      fs.mkdirSync(file);
      fs.writeFileSync(path.join(file, 'x'), 'x');
      break;
    case 'live-pid':
      inPlace(whole);
      break;
  }
  const past = new Date(Date.now() - 10_000);
  fs.utimesSync(file, past, past);
}

interface Combo {
  plugin: PluginName;
  ipam: IpamKind;
  nodes: FaultNode[];
  free: FaultNode[];
  waiters: ((n: FaultNode) => void)[];
  /** Each node's ADD result (the prevResult of its CHECK). */
  addResult: Map<FaultNode, unknown>;
  ip: string;
}

const combos = new Map<string, Promise<Combo>>();
const allNodes: FaultNode[] = [];

async function comboOf(plugin: PluginName, ipam: IpamKind): Promise<Combo> {
  const key = `${plugin}/${ipam}`;
  if (!combos.has(key)) {
    combos.set(key, (async () => {
      const c: Combo = { plugin, ipam, nodes: [], free: [], waiters: [], addResult: new Map(), ip: '' };
      for (let i = 0; i < 2; i++) {
        const n = new FaultNode(plugin, ipam, 'cni-damaged-');
        c.nodes.push(n);
        allNodes.push(n); // removed by test.after, whatever happens below
        n.newNamespace();
        n.newNamespace();
        n.save('fresh');
        const added = await n.verb('ADD', CONTAINER, n.namespaces[0]!);
        if (added.code !== 0) throw new Error(`setup ADD failed: ${describe(added)}`);
        n.save('added');
        c.addResult.set(n, added.json);
        c.ip = String((added.json as { ips: { address: string }[] }).ips[0]!.address).split('/')[0]!;
        c.free.push(n);
      }
      return c;
    })());
  }
  return combos.get(key)!;
}

async function withNode<T>(c: Combo, fn: (n: FaultNode) => Promise<T>): Promise<T> {
  const n = c.free.pop() ?? (await new Promise<FaultNode>((r) => c.waiters.push(r)));
  try {
    return await fn(n);
  } finally {
    const w = c.waiters.shift();
    if (w) w(n);
    else c.free.push(n);
  }
}

function runVerb(n: FaultNode, c: Combo, verb: Verb): Promise<RunResult> {
  const ns = n.namespaces[0]!;
  switch (verb) {
    case 'ADD':
    case 'DEL':
      return n.verb(verb, CONTAINER, ns);
    case 'CHECK':
      return n.verb('CHECK', CONTAINER, ns, { prevResult: c.addResult.get(n) });
    case 'GC':
      return n.verb('GC', CONTAINER, ns, { 'cni.dev/valid-attachments': [{ containerID: CONTAINER, ifname: 'eth0' }] });
    case 'STATUS':
      return n.verb('STATUS', CONTAINER, ns);
  }
}

/** The verb's answer is acceptable: success, or one typed CNI error naming the file. Returns what is wrong. */
function judgeAnswer(r: RunResult, file: string): string | undefined {
  if (r.timedOut) return `did not answer within its deadline: ${describe(r)}`;
  if (r.code === 0) return undefined;
  const e = r.json as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  if (!e || typeof e !== 'object' || Array.isArray(e)) return `failed without one JSON error object on stdout: ${describe(r)}`;
  if (typeof e.code !== 'number') return `error object without a numeric code: ${describe(r)}`;
  if (e.code === 999) return `untyped error (999): ${describe(r)}`;
  const text = `${String(e.msg ?? '')} ${String(e.details ?? '')}`;
  if (!text.includes(file)) return `error ${e.code} does not name ${file}: ${describe(r)}`;
  return undefined;
}

async function caseOf(c: Combo, target: Target, how: Damage, verb: Verb, seed: number): Promise<string[]> {
  return withNode(c, async (n) => {
    const problems: string[] = [];
    const start = verb === 'ADD' ? 'fresh' : 'added';
    n.restore(start);
    const file = target.file(n, c.ip);
    const whole = fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : target.whole(n, c.ip);
    damage(file, how, whole, seed);
    const r = await runVerb(n, c, verb);
    const bad = judgeAnswer(r, file);
    if (bad) problems.push(`${verb}: ${bad}`);
    if (verb === 'GC' && r.code === 0 && (await n.podEndpoints(CONTAINER)).length !== 1) problems.push('GC removed the endpoint of a pod it was told is valid');
    // Never undeletable: DEL, or GC then DEL, with the damage left as it is.
    let del = await n.verb('DEL', CONTAINER, n.namespaces[0]!);
    const isClean = async (r: RunResult) => r.code === 0 && (await n.podEndpoints(CONTAINER)).length === 0 && n.heldAddresses(CONTAINER).length === 0;
    let clean = await isClean(del);
    let gc: RunResult | undefined;
    if (!clean) {
      gc = await n.verb('GC', CONTAINER, '');
      del = await n.verb('DEL', CONTAINER, n.namespaces[0]!);
      clean = await isClean(del);
    }
    if (!clean) {
      problems.push(`the pod is undeletable: after ${verb}, DEL, GC, DEL: DEL ${describe(del)}; GC ${gc ? describe(gc) : '-'}; endpoints [${(await n.podEndpoints(CONTAINER)).join(', ')}], addresses [${n.heldAddresses(CONTAINER).join(', ')}]`);
    }
    if (problems.length) problems.push(`log:\n      ${n.logTail(6).split('\n').join('\n      ')}`);
    return problems;
  });
}

const gate = limiter(2);
interface Case {
  name: string;
  start: () => Promise<string[]>;
}
const cases: Case[] = [];
let seed = 1;
for (const target of TARGETS) {
  for (const how of DAMAGES) {
    if (how === 'live-pid' && !target.lock) continue;
    for (const [plugin, ipam] of target.combos) {
      const s = seed++;
      const start = () => Promise.all(VERBS.map((verb) => gate(async () => caseOf(await comboOf(plugin, ipam), target, how, verb, s))))
        .then((lists) => lists.flat(), (err: unknown) => [`setup failed: ${(err as Error).stack ?? String(err)}`]);
      cases.push({ name: `${plugin}/${ipam}: ${target.name} ${how === 'live-pid' ? 'naming a live unrelated pid' : how}: ADD, CHECK, DEL, GC, STATUS recover or fail typed naming it; the pod stays deletable`, start });
    }
  }
}

let results: Promise<string[]>[] | undefined;
/** Every case is started by the first test (not at load: uvu loads every file of the suite first), two verbs at a time. */
function started(): Promise<string[]>[] {
  results ??= cases.map((c) => c.start());
  return results;
}

cases.forEach((c, i) => {
  test(c.name, async () => {
    const problems = await started()[i]!;
    assert.equal(problems, [], problems.join('\n  '));
  });
});

test.after(async () => {
  for (const n of allNodes) n.cleanup();
  bystanderProcess?.kill();
});

test.run();
