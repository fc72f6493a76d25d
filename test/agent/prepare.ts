// Builds the Linux executables once per test process (incremental: seconds when nothing changed);
// AGENT_SKIP_BUILD=1 uses dist/linux-x64 as it is.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT, ROOT } from './cluster';

let built = false;

export function prepare(): void {
  if (built) return;
  built = true;
  if (process.env.AGENT_SKIP_BUILD === '1' && fs.existsSync(AGENT)) return;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'build.mjs'), '--target', 'linux-x64'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`node build.mjs --target linux-x64 failed:\n${r.stderr}`);
}

/** Convergence times seen by the tests, printed at the end of each suite (the README quotes them). */
export const timings: { what: string; ms: number }[] = [];

export function record(what: string, ms: number): number {
  timings.push({ what, ms });
  return ms;
}

export function printTimings(title: string): void {
  if (!timings.length) return;
  const max = Math.max(...timings.map((t) => t.ms));
  process.stdout.write(`\n${title}: ${timings.length} convergences, max ${max.toFixed(0)} ms\n${timings.map((t) => `  ${t.ms.toFixed(0).padStart(5)} ms  ${t.what}`).join('\n')}\n`);
  timings.length = 0;
}
