// N. Error output (cni-spec.md §8.2 N01-N06; §1.4, §4): checked on every plugin run of the
// other cases of this plugin (they run first) and on a battery of failures of its own.

import fs from 'node:fs';
import path from 'node:path';
import type { CaseDef, RunState } from '../lib/case';
import type { CaseContext, ExecRecord } from '../lib/context';
import type { CaseNode } from '../lib/node';
import { describe } from '../lib/exec';
import { ensure, errorObjectProblems, fail, parseStdout } from '../lib/expect';
import { buildRequest } from '../runtime/libcni';

/** Codes 1-99 the spec (and the reference library) define. */
const DEFINED = new Set([1, 2, 3, 4, 5, 6, 7, 8, 11, 50, 51]);
/** How a code-4 message may name a variable: its CNI_ name, or the reference's words. */
const VARIABLE_WORDS = /CNI_[A-Z]+|containerid|netns|ifname|interface name|cni_path|\bpath\b|command/i;
/** A stack trace line. */
const STACK = /\n\s+at .+(\(|:\d+:\d+)/;

interface Failure {
  label: string;
  command: string;
  setup?: (node: CaseNode) => void;
  /** Only where the harness can break the backend. */
  emulatorOnly?: boolean;
  options: (ctx: CaseContext) => Parameters<CaseContext['exec']>[2];
  /** For code 2: the key and the value the message must name. */
  names?: string[];
}

const BATTERY: Failure[] = [
  { label: 'CNI_COMMAND=FROB', command: 'FROB', options: () => ({}) },
  { label: 'ADD without CNI_NETNS', command: 'ADD', options: () => ({ unset: ['CNI_NETNS'] }) },
  { label: 'ADD with bad JSON', command: 'ADD', options: () => ({ stdin: '{"name": "testnet",' }) },
  { label: 'ADD at 0.5.0', command: 'ADD', options: (ctx) => ({ conf: ctx.conf('0.5.0') }) },
  { label: 'ADD with an unsupported policy', command: 'ADD', options: (ctx) => ({ conf: ctx.conf('1.1.0', { [ctx.profile.unsupported.key]: ctx.profile.unsupported.value }) }), names: [] },
  {
    label: 'ADD mapping sctp',
    command: 'ADD',
    options: (ctx) => {
      const plugin = ctx.conf('1.1.0', { capabilities: { portMappings: true } });
      return { stdin: buildRequest({ name: 'testnet', cniVersion: '1.1.0', plugins: [plugin] }, plugin, { capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'sctp' }] } }) };
    },
    names: ['protocol', 'sctp'],
  },
  { label: 'ADD with FAKE-IPAM failing', command: 'ADD', setup: (node) => node.editControl((c) => { c.answers = { ADD: { error: { code: 11, msg: 'busy' } } }; }), options: () => ({}) },
  { label: 'CHECK without prevResult', command: 'CHECK', options: () => ({}) },
  { label: 'ADD into a missing namespace', command: 'ADD', options: () => ({ netns: '0BADC0DE-0000-4000-8000-000000000005' }), emulatorOnly: true },
];

/** Runs the battery, each in a fresh node; returns the records. */
async function battery(ctx: CaseContext): Promise<(ExecRecord & { names?: string[] })[]> {
  const out: (ExecRecord & { names?: string[] })[] = [];
  for (const f of BATTERY) {
    if (f.emulatorOnly && ctx.profile.backend !== 'emulator') continue;
    const node = ctx.newNode();
    f.setup?.(node);
    const o = await ctx.exec(f.label, f.command, { node, ...f.options(ctx) });
    ensure(o.code !== 0, `battery: ${f.label} succeeded (${describe(o)})`);
    const names = f.label === 'ADD with an unsupported policy' ? ctx.profile.unsupported.mentions : f.names;
    out.push({ caseId: ctx.caseId, label: f.label, command: f.command, outcome: o, names });
  }
  return out;
}

/** Every run to look at: the other cases' (except killed ones) and the battery's. */
async function allRuns(ctx: CaseContext, state: RunState): Promise<(ExecRecord & { names?: string[] })[]> {
  const mine = await battery(ctx);
  // The other N cases' batteries run beside this one: leave them out, so every N case sees the same runs.
  return [...state.records.filter((r) => !r.outcome.killed && !r.outcome.timedOut && !r.caseId.startsWith('N')), ...mine];
}

function where(r: ExecRecord): string {
  return `${r.caseId} "${r.label}"`;
}

function check(id: string, title: string, fn: (ctx: CaseContext, runs: (ExecRecord & { names?: string[] })[]) => void): CaseDef {
  return {
    id,
    title,
    final: true,
    run: async (ctx, state) => {
      const runs = await allRuns(ctx, state);
      fn(ctx, runs);
      ctx.note(`${runs.length} runs looked at (${runs.filter((r) => r.outcome.code !== 0).length} failing)`);
    },
  };
}

function errorOf(r: ExecRecord): { code: number; msg: string; details?: string } | undefined {
  const p = parseStdout(r.outcome.stdout);
  if (!p.ok || !p.value || typeof p.value !== 'object' || Array.isArray(p.value)) return undefined;
  const v = p.value as Record<string, unknown>;
  return 'code' in v ? (v as { code: number; msg: string; details?: string }) : undefined;
}

export const cases: CaseDef[] = [
  check('N01', 'Exit code non-zero exactly when stdout holds an error object', (_ctx, runs) => {
    const bad = runs.filter((r) => (r.outcome.code !== 0) !== (errorOf(r) !== undefined));
    if (bad.length) fail(`${bad.length} run(s) break it, e.g. ${bad.slice(0, 3).map((r) => `${where(r)}: ${describe(r.outcome, 160)}`).join(' | ')}`);
  }),
  check('N02', 'Failure stdout is exactly one JSON object with integer code ≥ 1, non-empty msg, optional string details', (_ctx, runs) => {
    const bad = runs.filter((r) => r.outcome.code !== 0).map((r) => ({ r, p: errorObjectProblems(r.outcome.stdout) })).filter((x) => x.p.length);
    if (bad.length) fail(`${bad.length} failure(s) break it, e.g. ${bad.slice(0, 3).map((x) => `${where(x.r)}: ${x.p.join('; ')}`).join(' | ')}`);
  }),
  check('N03', 'Codes 1-99 only with their §4.2 meanings; plugin-specific codes ≥ 100', (_ctx, runs) => {
    const bad = runs.map((r) => ({ r, e: errorOf(r) })).filter((x) => x.e && typeof x.e.code === 'number' && x.e.code < 100 && !DEFINED.has(x.e.code));
    if (bad.length) fail(`undefined codes: ${bad.slice(0, 5).map((x) => `${where(x.r)}: code ${x.e!.code}`).join(' | ')}`);
  }),
  check('N04', 'Code-4 messages name the variable(s); code-2 messages contain key and value', (_ctx, runs) => {
    const bad4 = runs.map((r) => ({ r, e: errorOf(r) })).filter((x) => x.e?.code === 4 && !VARIABLE_WORDS.test(`${x.e.msg} ${x.e.details ?? ''}`));
    if (bad4.length) fail(`code-4 errors naming no variable: ${bad4.slice(0, 3).map((x) => `${where(x.r)}: ${JSON.stringify(x.e!.msg)}`).join(' | ')}`);
    let twos = 0;
    for (const r of runs) {
      const e = errorOf(r);
      if (e?.code !== 2 || !r.names) continue;
      twos++;
      const text = `${e.msg} ${e.details ?? ''}`.toLowerCase();
      const missing = r.names.filter((n) => !text.includes(n.toLowerCase()));
      if (missing.length) fail(`${where(r)}: the code-2 error does not name ${missing.join(', ')}: ${JSON.stringify(e)}`);
    }
    ensure(twos > 0, 'no code-2 error in the battery to look at (the unsupported policy and the sctp mapping were not refused with code 2)');
  }),
  {
    id: 'N05',
    title: 'Unexpected exceptions produce an error object (999 or 100+); stack traces only on stderr',
    final: true,
    run: async (ctx, state) => {
      const tries: { label: string; o: Parameters<CaseContext['exec']>[2]; codes: (c: number) => boolean }[] = [];
      // The plugin's state directory is a file: an I/O failure (§4.3 also allows 5 for it).
      const n1 = ctx.newNode();
      fs.mkdirSync(path.dirname(n1.stateDir), { recursive: true });
      fs.writeFileSync(n1.stateDir, 'not a directory');
      tries.push({ label: 'ADD with CNI_STATE_DIR a regular file', o: { node: n1 }, codes: (c) => c === 5 || c >= 100 });
      if (ctx.profile.backend === 'emulator') {
        // The HNS service's state is corrupt: nothing the plugin can expect.
        const n2 = ctx.newNode();
        fs.writeFileSync(path.join(n2.emulatorDir, 'state.json'), '{"networks": {"X": ');
        tries.push({ label: 'ADD with the HNS state corrupt', o: { node: n2 }, codes: (c) => c >= 100 });
      }
      for (const t of tries) {
        const out = await ctx.exec(t.label, 'ADD', t.o);
        ensure(out.code !== 0, `${t.label}: it succeeded`);
        const problems = errorObjectProblems(out.stdout);
        ensure(problems.length === 0, `${t.label}: ${problems.join('; ')} (${describe(out)})`);
        const e = JSON.parse(out.stdout) as { code: number };
        ensure(t.codes(e.code), `${t.label}: code ${e.code}, expected 999 or 100+${t.label.includes('STATE_DIR') ? ' (or 5)' : ''}`);
        ensure(!STACK.test(out.stdout), `${t.label}: a stack trace on stdout`);
      }
      const traced = state.records.filter((r) => STACK.test(r.outcome.stdout));
      ensure(traced.length === 0, `stack traces on stdout in ${traced.slice(0, 3).map(where).join(', ')}`);
      ctx.note(tries.map((t) => t.label).join('; '));
    },
  },
  check('N06', 'Nothing is written to stdout before the final JSON in any case', (_ctx, runs) => {
    const bad = runs.filter((r) => r.outcome.stdout.trim() !== '' && !parseStdout(r.outcome.stdout).ok);
    if (bad.length) fail(`${bad.length} run(s) with more than one JSON document on stdout, e.g. ${bad.slice(0, 3).map((r) => `${where(r)}: ${JSON.stringify(r.outcome.stdout.slice(0, 160))}`).join(' | ')}`);
  }),
];
