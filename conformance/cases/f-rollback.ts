// F. ADD failure and rollback (cni-spec.md §8.2 F01-F10; §2.1, §6.2).

import fs from 'node:fs';
import path from 'node:path';
import { type CaseDef, needsEmulator } from '../lib/case';
import type { CallOptions, CaseContext } from '../lib/context';
import { ensure, expectErr, fail } from '../lib/expect';
import type { CaseNode } from '../lib/node';
import { ipamRan, stdinBytes } from './util';

/** A well-formed namespace GUID that no namespace has. */
const BOGUS_NETNS = '0BADC0DE-0000-4000-8000-00000000F008';

interface Scenario {
  id: string;
  title: string;
  applies?: CaseDef['applies'];
  /** Breaks the node; returns the ADD's options. */
  setup(ctx: CaseContext, node: CaseNode): Promise<CallOptions> | CallOptions;
  /** What the failed ADD must show (the snapshot before it is given). */
  verify(ctx: CaseContext, node: CaseNode, out: Awaited<ReturnType<CaseContext['exec']>>, from: number): void;
  /** Puts the node right again before F09's DEL (same CNI parameters). */
  heal(ctx: CaseContext, node: CaseNode): Promise<void> | void;
}

/** An empty directory: CNI_PATH without FAKE-IPAM. */
function emptyBin(node: CaseNode): string {
  const d = path.join(node.dir, 'empty-bin');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function answer(node: CaseNode, a: NonNullable<NonNullable<ReturnType<CaseNode['control']>['answers']>['ADD']>): void {
  node.editControl((c) => { c.answers = { ...(c.answers ?? {}), ADD: a }; });
}

function clearAnswers(node: CaseNode): void {
  node.editControl((c) => { delete c.answers; });
}

/** IPAM ADD ran, then IPAM DEL with the ADD's stdin and CNI_COMMAND=DEL. */
function rolledBack(ctx: CaseContext, node: CaseNode, label: string, from: number): void {
  const calls = ctx.ipamCallsSince(from, node);
  const add = calls.find((c) => c.command === 'ADD');
  ensure(add, `${label}: FAKE-IPAM ADD never ran`);
  const del = calls.slice(calls.indexOf(add) + 1).find((c) => c.command === 'DEL');
  ensure(del, `${label}: no FAKE-IPAM DEL after its ADD (it saw ${calls.map((c) => c.command).join(', ')})`);
  ensure(del.env.CNI_COMMAND === 'DEL', `${label}: the IPAM DEL ran with CNI_COMMAND=${del.env.CNI_COMMAND}`);
  ensure(del.stdin.sha256 === add.stdin.sha256, `${label}: the IPAM DEL got other stdin bytes than the IPAM ADD (${del.stdin.length} vs ${add.stdin.length} bytes)`);
}

function noEndpoint(ctx: CaseContext, node: CaseNode, label: string): void {
  if (ctx.profile.backend !== 'emulator') return;
  const eps = node.podEndpoints();
  ensure(eps.length === 0, `${label}: ${eps.length} pod endpoint(s) left: ${eps.map((e) => e.Name).join(', ')}`);
}

const SCENARIOS: Scenario[] = [
  {
    id: 'F01',
    title: 'FAKE-IPAM absent from CNI_PATH → ERR(*), msg names fake-ipam; NOSIDE',
    setup: (_ctx, node) => ({ path: emptyBin(node) }),
    verify: (ctx, node, out) => {
      expectErr('ADD without FAKE-IPAM on CNI_PATH', out, '*', { mentions: ['fake-ipam'] });
      noEndpoint(ctx, node, 'ADD without FAKE-IPAM');
    },
    heal: () => undefined,
  },
  {
    id: 'F02',
    title: 'FAKE-IPAM fails with {"code":11,...} → ERR(11) (the delegate\'s code kept); no endpoint created',
    setup: (_ctx, node) => {
      answer(node, { error: { code: 11, msg: 'fake-ipam: try again later', details: 'scripted' } });
      return {};
    },
    verify: (ctx, node, out) => {
      expectErr('ADD with FAKE-IPAM failing with code 11', out, 11);
      noEndpoint(ctx, node, 'ADD with FAKE-IPAM failing');
    },
    heal: (_ctx, node) => clearAnswers(node),
  },
  {
    id: 'F03',
    title: 'FAKE-IPAM fails with empty stdout and text on stderr → ERR(*), msg contains that text; the text also on the plugin\'s stderr',
    setup: (_ctx, node) => {
      answer(node, { stdout: '', stderr: 'fake-ipam: disk on fire 4711\n', exit: 3 });
      return {};
    },
    verify: (ctx, node, out) => {
      expectErr('ADD with FAKE-IPAM failing on stderr', out, '*', { mentions: ['disk on fire 4711'] });
      ensure(out.stderr.includes('disk on fire 4711'), `the plugin's stderr does not carry FAKE-IPAM's text: ${JSON.stringify(out.stderr.slice(0, 300))}`);
      noEndpoint(ctx, node, 'ADD with FAKE-IPAM failing');
    },
    heal: (_ctx, node) => clearAnswers(node),
  },
  {
    id: 'F04',
    title: 'FAKE-IPAM exits 0 with non-JSON stdout → ERR(6 or *); IPAM DEL logged afterwards',
    setup: (_ctx, node) => {
      answer(node, { stdout: 'this is not JSON\n' });
      return {};
    },
    verify: (ctx, node, out, from) => {
      expectErr('ADD with FAKE-IPAM printing garbage', out, '*');
      rolledBack(ctx, node, 'ADD with FAKE-IPAM printing garbage', from);
      noEndpoint(ctx, node, 'ADD with FAKE-IPAM printing garbage');
    },
    heal: (_ctx, node) => clearAnswers(node),
  },
  {
    id: 'F05',
    title: 'FAKE-IPAM returns zero IPs → ERR(*); IPAM DEL logged',
    setup: (_ctx, node) => {
      answer(node, { noIps: true });
      return {};
    },
    verify: (ctx, node, out, from) => {
      expectErr('ADD with FAKE-IPAM returning no IP', out, '*');
      rolledBack(ctx, node, 'ADD with FAKE-IPAM returning no IP', from);
      noEndpoint(ctx, node, 'ADD with FAKE-IPAM returning no IP');
    },
    heal: (_ctx, node) => clearAnswers(node),
  },
  {
    id: 'F06',
    title: 'FAKE-IPAM returns an address outside the network\'s subnet → ERR(7 or *); IPAM DEL logged; no endpoint',
    setup: (_ctx, node) => {
      answer(node, { addresses: [{ address: '10.99.0.5/24', gateway: '10.99.0.1' }] });
      return {};
    },
    verify: (ctx, node, out, from) => {
      expectErr('ADD with an address outside the network', out, '*');
      rolledBack(ctx, node, 'ADD with an address outside the network', from);
      noEndpoint(ctx, node, 'ADD with an address outside the network');
    },
    heal: (_ctx, node) => clearAnswers(node),
  },
  {
    id: 'F07',
    title: 'Endpoint creation fails (fault injection) → ERR(*); IPAM DEL with the ADD\'s stdin and CNI_COMMAND=DEL; no endpoint remains',
    applies: needsEmulator,
    setup: async (_ctx, node) => {
      await node.admin().setFaults([{ op: 'CreateEndpoint', hr: 0x80004005 }]);
      return {};
    },
    verify: (ctx, node, out, from) => {
      expectErr('ADD with CreateEndpoint failing', out, '*');
      rolledBack(ctx, node, 'ADD with CreateEndpoint failing', from);
      noEndpoint(ctx, node, 'ADD with CreateEndpoint failing');
    },
    heal: async (_ctx, node) => node.admin().setFaults([]),
  },
  {
    id: 'F08',
    title: 'Attaching to the namespace fails (bogus CNI_NETNS GUID) → ERR(*); endpoint deleted; IPAM DEL logged',
    applies: needsEmulator,
    setup: () => ({ netns: BOGUS_NETNS }),
    verify: (ctx, node, out, from) => {
      expectErr('ADD into a namespace that does not exist', out, '*');
      if (ctx.ipamCallsSince(from, node).some((c) => c.command === 'ADD')) rolledBack(ctx, node, 'ADD into a namespace that does not exist', from);
      else ctx.note('the namespace was checked before the IPAM ran');
      noEndpoint(ctx, node, 'ADD into a namespace that does not exist');
    },
    heal: () => undefined,
  },
];

/** Runs one scenario on `node`: the failing ADD, its checks, and the node as it was (FAKE-IPAM's log aside). */
async function failAdd(ctx: CaseContext, s: Scenario, node: CaseNode): Promise<CallOptions> {
  const before = ctx.snap(node);
  const from = ctx.ipamCalls(node).length;
  const o = { node, ...(await s.setup(ctx, node)) };
  const out = await ctx.exec(`ADD (${s.id})`, 'ADD', o);
  s.verify(ctx, node, out, from);
  ctx.same(`after the failed ADD (${s.id})`, before, ['ipamCalls'], node);
  return o;
}

const killPoints = 10;

/** A small deterministic generator, so a failing kill point can be reproduced. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Waits until every FAKE-IPAM process that started has exited (a killed plugin leaves its delegate running). */
async function delegatesDone(ctx: CaseContext, node: CaseNode): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const pid of ctx.ipamCalls(node).map((c) => c.pid)) {
    for (;;) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      if (Date.now() > deadline) fail(`FAKE-IPAM process ${pid} is still running after 10 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function slowNode(ctx: CaseContext): Promise<CaseNode> {
  const node = ctx.newNode();
  // Slow steps widen the window, so the kill points land in IPAM ADD, endpoint creation and attachment.
  if (ctx.profile.backend === 'emulator') {
    await node.admin().setFaults([{ op: 'CreateEndpoint', delayMs: 40 }, { op: 'ModifyNamespace', delayMs: 40 }, { op: 'ModifyEndpoint', delayMs: 20 }]);
  }
  node.editControl((c) => { c.answers = { ADD: { delayMs: 40 } }; });
  return node;
}

export const cases: CaseDef[] = [
  ...SCENARIOS.map((s): CaseDef => ({
    id: s.id,
    title: s.title,
    applies: s.applies,
    run: async (ctx) => {
      await failAdd(ctx, s, ctx.node);
    },
  })),
  {
    id: 'F09',
    title: 'After each of F01-F08, DEL with the same parameters → OK0',
    run: async (ctx) => {
      const ran: string[] = [];
      for (const s of SCENARIOS) {
        if (s.applies && s.applies(ctx.profile) !== true) continue;
        const node = ctx.newNode();
        const before = ctx.snap(node);
        const o = await failAdd(ctx, s, node);
        await s.heal(ctx, node);
        // The same CNI parameters; F01's DEL finds FAKE-IPAM again (J08 is the DEL without it).
        const { path: _p, ...same } = o;
        await ctx.del(`DEL after ${s.id}`, same);
        ctx.same(`after ${s.id} and its DEL`, before, ['ipamCalls'], node);
        ran.push(s.id);
      }
      ctx.note(`after ${ran.join(', ')}`);
    },
  },
  {
    id: 'F10',
    title: 'Plugin killed at 10 random points during ADD, then DEL → OK0 and the snapshot equals the pre-ADD one',
    exclusive: true,
    run: async (ctx) => {
      // A new seed each run (CONFORMANCE_SEED=<n> repeats one); the note and any failure name it.
      const seed = process.env.CONFORMANCE_SEED ? Number(process.env.CONFORMANCE_SEED) : Math.floor(Math.random() * 2 ** 31);
      const random = seeded(seed);
      const calibrate = await slowNode(ctx);
      const full = await ctx.exec('ADD (timing)', 'ADD', { node: calibrate });
      ensure(full.code === 0, `the undisturbed ADD failed: exit ${full.code} ${full.stdout.slice(0, 200)}`);
      const points = Array.from({ length: killPoints }, (_, i) => Math.round(((i + random()) / killPoints) * full.ms));
      for (const at of points) {
        const node = await slowNode(ctx);
        const before = ctx.snap(node);
        const out = await ctx.exec(`ADD killed after ${at} ms`, 'ADD', { node, killAfterMs: at });
        await delegatesDone(ctx, node);
        if (ctx.profile.backend === 'emulator') await node.admin().setFaults([]);
        const del = await ctx.exec(`DEL after the ADD killed at ${at} ms`, 'DEL', { node });
        if (del.code !== 0 || del.stdout.trim() !== '') fail(`DEL after the ADD killed at ${at} ms (of ${full.ms.toFixed(0)}; ${out.killed ? 'killed' : 'it had finished'}; seed ${seed}): exit ${del.code}, stdout ${del.stdout.trim().slice(0, 300)}`);
        await delegatesDone(ctx, node);
        ctx.same(`ADD killed at ${at} ms then DEL (seed ${seed})`, before, ['ipamCalls'], node);
      }
      ctx.note(`kill points ${points.join(', ')} ms of a ${full.ms.toFixed(0)} ms ADD (seed ${seed})`);
    },
  },
];
