// Runs the cases against one plugin: a template node made once, every case in fresh nodes of its
// own (so cases may run side by side), the N group last, one line per case as soon as it and all
// cases before it are done.

import { type CaseDef, type CaseResult, type RunState } from './case';
import { CaseContext } from './context';
import { CaseFailure } from './expect';
import { makeTemplate } from './node';
import type { PluginProfile } from './profile';

export interface RunOptions {
  jobs: number;
  /** Deadline of one case. */
  caseTimeoutMs: number;
  print: (line: string) => void;
  /** Keep scratch directories of failed cases (their path is printed). */
  keep: boolean;
}

export interface PluginRun {
  profile: PluginProfile;
  results: CaseResult[];
  seconds: number;
}

/** An unexpected error in one line: its message and where it was thrown. */
function oneLine(err: unknown): string {
  const e = err as Error;
  const at = e?.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim();
  return `${e?.message ?? String(err)}${at ? ` (${at})` : ''}`;
}

export function formatLine(profile: PluginProfile, r: CaseResult): string {
  const status = r.status === 'pass' ? 'pass' : r.status === 'fail' ? 'FAIL' : 'n/a ';
  const detail = r.detail ? ` — ${r.detail}` : '';
  return `${profile.label.padEnd(14)} ${r.id}  ${status}  ${r.title}${detail}`;
}

async function runOne(c: CaseDef, profile: PluginProfile, template: Awaited<ReturnType<typeof makeTemplate>>, state: RunState, opts: RunOptions): Promise<CaseResult> {
  const started = Date.now();
  const ctx = new CaseContext(c.id, profile, template);
  let status: CaseResult['status'] = 'pass';
  let detail = '';
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.run(ctx, state),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CaseFailure(`the case did not finish within ${opts.caseTimeoutMs / 1000} s`)), opts.caseTimeoutMs);
      }),
    ]);
    detail = ctx.notes.join('; ');
  } catch (err) {
    status = 'fail';
    detail = err instanceof CaseFailure ? err.message : `harness error: ${oneLine(err)}`;
  } finally {
    if (timer) clearTimeout(timer);
    state.records.push(...ctx.records);
    if (status === 'fail' && opts.keep) detail += ` [kept ${ctx.node.dir}]`;
    else ctx.cleanup();
  }
  const result: CaseResult = { id: c.id, title: c.title, status, detail, ms: Date.now() - started };
  if (status === 'fail') {
    const clip = (t: string) => (t.length > 2000 ? `${t.slice(0, 2000)}…` : t);
    result.runs = ctx.records.slice(-8).map((r) => ({
      label: r.label, command: r.command, exit: r.outcome.code, signal: r.outcome.signal, ms: Math.round(r.outcome.ms), stdout: clip(r.outcome.stdout), stderr: clip(r.outcome.stderr),
    }));
  }
  return result;
}

export async function runPlugin(profile: PluginProfile, cases: CaseDef[], opts: RunOptions): Promise<PluginRun> {
  const started = Date.now();
  const template = await makeTemplate(profile);
  const state: RunState = { records: [] };
  const results = new Map<string, CaseResult>();
  const order = cases.map((c) => c.id);
  let printed = 0;
  const flush = () => {
    while (printed < order.length && results.has(order[printed]!)) opts.print(formatLine(profile, results.get(order[printed++]!)!));
  };
  const done = (r: CaseResult) => {
    results.set(r.id, r);
    flush();
  };

  const runnable: CaseDef[] = [];
  for (const c of cases) {
    const applies = c.applies ? c.applies(profile) : true;
    if (applies !== true) done({ id: c.id, title: c.title, status: 'n/a', detail: applies, ms: 0 });
    else runnable.push(c);
  }
  const phases = [runnable.filter((c) => !c.final && !c.exclusive), runnable.filter((c) => c.exclusive && !c.final), runnable.filter((c) => c.final)];
  for (const [i, phase] of phases.entries()) {
    const width = i === 1 ? 1 : opts.jobs;
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(width, phase.length) }, async () => {
      while (next < phase.length) {
        const c = phase[next++]!;
        done(await runOne(c, profile, template, state, opts));
      }
    }));
  }
  flush();
  return { profile, results: order.map((id) => results.get(id)!), seconds: (Date.now() - started) / 1000 };
}
