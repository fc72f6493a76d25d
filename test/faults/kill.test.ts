// kill -9 at every state-changing step of ADD and of DEL, for each plugin with the built-in IPAM
// and with Debian's host-local, through the built executables on the HNS emulator.
//
// How: strace's fault injection (strace.ts has how strace counts, and why a point is one
// (syscall, N) pair): a reference run of the verb is traced without injection, every call of the
// plugin's process that changes a file or a directory (write, pwrite, rename, link, unlink, mkdir,
// rmdir, fsync, ftruncate: the files of the plugin state, the IPAM store, the log, and the HNS
// emulator's store, so every HCN call that changes something is in there, journal, object and
// index files one by one) is a kill point, and the verb is run again killed with SIGKILL on entry
// to that call. The killed run is traced too, so the test knows which call it died on, and it is
// repeated with the count corrected when libuv's pipe/eventfd writes moved it.
//
// Then, at every point: a normal DEL of the pod, then a GC (cniVersion 1.1.0,
// "cni.dev/valid-attachments": []) must both succeed and leave no endpoint of the pod in HNS, no
// address held by it (built-in claims, host-local files naming the container), no record of it
// and no temporary file anywhere on the node (a claim, gateway hold or log file killed half-way
// leaves one: GC removes those whose writer is dead); the next ADD of the same pod (same
// container ID, another namespace) must succeed, and its DEL leave nothing again.
//
// Kill points are counted against a fresh node (the first ADD makes the state directories, so it
// has the most steps): each point starts from a byte-for-byte copy of the node as it was after its
// setup (FaultNode.save/restore), so one scratch node per plugin/IPAM serves all its points. Two
// plugin/IPAM pairs run at a time.
//
// Torn writes are not covered here: a process killed on entry to write() has written nothing, and
// one killed after it has written everything. Truncated, emptied and garbled files are the
// damaged-state suite's (damaged.test.ts).
//
// Time (2-core machine): every point of every plugin with both IPAMs, 8 pairs of about 95 points
// (ADD about 60, DEL about 37), about 4 minutes. CNI_FAULTS_SAMPLE=3 keeps every point of
// win-l2bridge (bridged) and win-overlay (overlay) and every third of host-gateway and
// l3-upstream (the same bridged code with other policies): about 2.5 minutes. `npm test` (scripts/test.mjs)
// runs that sample unless CNI_FAULTS_SAMPLE is set; CNI_FAULTS_SAMPLE=1 runs every point.
// CNI_FAULTS_ONLY=win-overlay/host-local,... runs only those pairs; CNI_FAULTS_DEBUG=1 shows each re-aim.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { plugin, PLUGINS, type PluginName } from '../helpers/node';
import { describe, FaultNode, IPAM_KINDS, type IpamKind, limiter, type RunResult } from './lib';
import { killPoints, type KillPoint, runKilled, type TraceEvent, traceRun } from './strace';

/** 1: every point everywhere; N > 1: every N-th point of the plugins not in FULL. */
const SAMPLE_EVERY = Math.max(1, Number(process.env.CNI_FAULTS_SAMPLE ?? 1));
const FULL: PluginName[] = ['win-l2bridge', 'win-overlay'];
const CONTAINER = 'kill9-4f1c2e9a0b7d4c3e8f6a5b2c1d0e9f8a';
const gate = limiter(2);

interface Report {
  add: { points: number; run: number };
  del: { points: number; run: number };
  retried: number;
  failures: string[];
  seconds: number;
}

function sample(points: KillPoint[], full: boolean, offset: number): KillPoint[] {
  return full ? points : points.filter((_, i) => i % SAMPLE_EVERY === offset % SAMPLE_EVERY);
}

function label(verb: string, p: KillPoint): string {
  return `${verb} killed at call ${p.seq} ${p.syscall}#${p.nth} (${p.signature.replace(/\s+/g, ' ').slice(0, 140)})`;
}

async function checkPoint(n: FaultNode, verb: 'ADD' | 'DEL', p: KillPoint, reference: TraceEvent[], start: string, conf: string, ns: [string, string]): Promise<{ failure?: string; attempts: number }> {
  const hide = [n.dir];
  const killed = await runKilled(plugin(n.plugin), n.env(verb, CONTAINER, ns[0]), conf, p, reference, () => n.restore(start), hide);
  const problems: string[] = [];
  const step = (what: string, r: RunResult) => {
    if (r.code !== 0) problems.push(`${what}: ${describe(r)}`);
  };
  // The kill must have happened, on that call: the plugin ended by SIGKILL (strace ends itself
  // with its tracee's signal), and the call it landed on never returned.
  if (killed.result.signal !== 'SIGKILL') problems.push(`the run was not killed by SIGKILL (${describe(killed.result)})`);
  if (!killed.landed || !killed.landed.killed || killed.landed.signature !== p.signature || killed.landed.occurrence !== p.occurrence) {
    problems.push(`the run did not die on that call (it died on ${killed.landed ? `${killed.landed.syscall}#${killed.landed.nth} ${killed.landed.signature}${killed.landed.killed ? '' : ' (returned normally)'}` : 'nothing'}; ${describe(killed.result)})`);
  }
  const del = await n.verb('DEL', CONTAINER, ns[0]);
  step('DEL after the kill', del);
  const gc = await n.verb('GC', CONTAINER, '');
  step('GC after the DEL', gc);
  const eps = await n.podEndpoints(CONTAINER);
  const held = n.heldAddresses(CONTAINER);
  if (eps.length) problems.push(`after DEL and GC the pod still has endpoint(s) ${eps.join(', ')}`);
  if (held.length) problems.push(`after DEL and GC the pod still holds address(es) ${held.join(', ')}`);
  if (n.recordExists(CONTAINER)) problems.push('after DEL and GC the pod\'s attachment record is still there');
  const temps = n.temporaries();
  if (temps.length) problems.push(`after DEL and GC temporary file(s) are left: ${temps.join(', ')}`);
  const again = await n.verb('ADD', CONTAINER, ns[1]);
  step('ADD of the same pod in a new namespace', again);
  const del2 = await n.verb('DEL', CONTAINER, ns[1]);
  step('DEL after that ADD', del2);
  const eps2 = await n.podEndpoints(CONTAINER);
  const held2 = n.heldAddresses(CONTAINER);
  if (eps2.length || held2.length) problems.push(`after the second ADD and DEL: endpoints [${eps2.join(', ')}], addresses [${held2.join(', ')}]`);
  if (problems.length === 0) return { attempts: killed.attempts };
  return { attempts: killed.attempts, failure: `${label(verb, p)}:\n    ${problems.join('\n    ')}\n    log:\n      ${n.logTail(8).split('\n').join('\n      ')}` };
}

async function runCombo(p: PluginName, ipam: IpamKind, offset: number): Promise<Report> {
  const t0 = Date.now();
  const n = new FaultNode(p, ipam, `cni-kill-${p}-${ipam}-`);
  const report: Report = { add: { points: 0, run: 0 }, del: { points: 0, run: 0 }, retried: 0, failures: [], seconds: 0 };
  try {
    const ns: [string, string] = [n.newNamespace(), n.newNamespace()];
    n.save('fresh');
    const conf = JSON.stringify(n.conf());
    const hide = [n.dir];
    const full = SAMPLE_EVERY === 1 || FULL.includes(p);

    n.restore('fresh');
    const refAdd = await traceRun(plugin(p), n.env('ADD', CONTAINER, ns[0]), conf, hide);
    if (refAdd.result.code !== 0) throw new Error(`reference ADD failed: ${describe(refAdd.result)}`);
    n.restore('fresh');
    const added = await n.verb('ADD', CONTAINER, ns[0]);
    if (added.code !== 0) throw new Error(`ADD failed: ${describe(added)}`);
    n.save('added');
    const refDel = await traceRun(plugin(p), n.env('DEL', CONTAINER, ns[0]), conf, hide);
    if (refDel.result.code !== 0) throw new Error(`reference DEL failed: ${describe(refDel.result)}`);

    for (const [verb, ref, start] of [['ADD', refAdd, 'fresh'], ['DEL', refDel, 'added']] as const) {
      const all = killPoints(ref.events, path.basename(plugin(p)));
      const chosen = sample(all, full, offset);
      const slot = verb === 'ADD' ? report.add : report.del;
      slot.points = all.length;
      slot.run = chosen.length;
      for (const point of chosen) {
        const r = await checkPoint(n, verb, point, ref.events, start, conf, ns);
        if (r.attempts > 1) report.retried++;
        if (r.failure) report.failures.push(r.failure);
      }
    }
  } finally {
    report.seconds = (Date.now() - t0) / 1000;
    n.cleanup();
  }
  return report;
}

const ONLY = process.env.CNI_FAULTS_ONLY?.split(',');
const combos = PLUGINS.flatMap((p) => IPAM_KINDS.map((ipam, i) => ({ p, ipam, offset: i }))).filter((c) => !ONLY || ONLY.includes(`${c.p}/${c.ipam}`));
type Done = { r: Report } | { err: unknown };
let pending: Map<string, Promise<Done>> | undefined;
/** All pairs are started by the first test (not at load: uvu loads every file of the suite first), two at a time; each test waits for its own. */
function started(): Map<string, Promise<Done>> {
  pending ??= new Map(combos.map((c) => [`${c.p}/${c.ipam}`, gate(() => runCombo(c.p, c.ipam, c.offset)).then((r): Done => ({ r }), (err: unknown): Done => ({ err }))]));
  return pending;
}

for (const c of combos) {
  const key = `${c.p}/${c.ipam}`;
  test(`${key}: kill -9 at every state-changing call of ADD and DEL${SAMPLE_EVERY === 1 || FULL.includes(c.p) ? '' : ` (every ${SAMPLE_EVERY}th)`}; DEL + GC leave nothing, the pod can be added again`, async () => {
    const out = await started().get(key)!;
    if ('err' in out) throw out.err;
    const r = out.r;
    console.log(`  ${key}: ADD ${r.add.run}/${r.add.points} kill points, DEL ${r.del.run}/${r.del.points}, ${r.retried} re-aimed, ${r.failures.length} failed, ${r.seconds.toFixed(0)} s`);
    assert.ok(r.add.points > 20 && r.del.points > 10, 'the reference runs were traced');
    assert.equal(r.failures, [], `${r.failures.length} kill point(s) failed:\n  ${r.failures.join('\n  ')}`);
  });
}

test.run();
