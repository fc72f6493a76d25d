#!/usr/bin/env node
// Entry point of the CNI conformance harness (conformance/README.md): runs conformance/main.ts
// through tsx with the same arguments. Its last output line is `N passed, N failed`; the exit
// status is non-zero when a case failed.
//
//   node conformance/run.mjs                                     the suite's four plugins
//   node conformance/run.mjs --plugin /path/to/plugin --conf my.conflist

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// tsx resolved from this repository, so the harness runs from any directory.
const TSX = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'conformance', 'main.ts'), ...process.argv.slice(2)], {
  cwd: process.cwd(),
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('error', (err) => {
  process.stderr.write(`conformance: cannot start node: ${err.message}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
});
child.on('close', (code, signal) => {
  if (signal) {
    process.stdout.write(`0 passed, 1 failed\n`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
