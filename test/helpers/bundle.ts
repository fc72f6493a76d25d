// Child-process tests run a worker bundled once with esbuild and started with plain node: a tsx
// start costs ~0.4 s of CPU per process, too much for 50 processes on a 2-core machine.

import { buildSync } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const built = new Map<string, string>();
let dir: string | undefined;

/** A CommonJS bundle of `entry` (a path relative to test/helpers/workers), made once per test process. */
export function bundledWorker(entry: string): string {
  const cached = built.get(entry);
  if (cached) return cached;
  if (!dir) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-workers-'));
    dir = d;
    process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  }
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}.cjs`);
  buildSync({ entryPoints: [path.join(__dirname, 'workers', entry)], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile, logLevel: 'silent' });
  built.set(entry, outfile);
  return outfile;
}
