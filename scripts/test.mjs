#!/usr/bin/env node
// Runs the test suites and prints one summary line, `N passed, N failed`, last.
//
//   node scripts/test.mjs                 everything (what CI runs)
//   node scripts/test.mjs unit exec       only those suites
//
// Suites, in order:
//   setup        system packages the tests use (Debian's host-local, gcc, mingw, Wine, Go, go-cni);
//                in a whole run it installs them while typecheck, unit and build run, its output shown after
//   typecheck    tsc --noEmit over the whole tree (after generating the validators)
//   unit         uvu over test/unit (in-process, TypeScript through tsx)
//   build        node build.mjs (both targets, plus the linux test tools)
//   exec         uvu over test/exec (the built Linux executables on the HNS emulator)
//   gocni        uvu over test/gocni (pods through containerd's go-cni and libcni, Debian's Go packages)
//   agent        uvu over test/agent (cni-agent on three emulated nodes, a stand-in API server over HTTPS)
//   dataplane    uvu over test/dataplane (the emulator's Linux data plane: real traffic between pods of emulated nodes in
//                network namespaces, every mode and a Linux flannel node; needs root: it fails, never skips, without)
//   faults       uvu over test/faults (kill -9 at every state-changing call under strace, fuzzed requests, damaged state files)
//   conformance  the CNI conformance harness over the four built plugins
//   windows      the built .exe files under Wine against the stand-in computenetwork.dll

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'node_modules', '.bin');

const SUITES = {
  setup: () => run('bash', [path.join(ROOT, 'scripts', 'setup-deps.sh')], { counts: 'single' }),
  typecheck: async () => {
    const gen = await run(process.execPath, ['build.mjs', '--generate'], { counts: 'single', label: 'generate validators' });
    const tsc = await run(path.join(BIN, 'tsc'), ['-p', 'tsconfig.json', '--noEmit'], { counts: 'single', label: 'tsc --noEmit' });
    return add(gen, tsc);
  },
  unit: () => uvu('test/unit'),
  build: () => run(process.execPath, ['build.mjs', '--tools'], { counts: 'single', label: 'build executables' }),
  // The selftest's SIGKILL points: every second in CI, the two modes taking alternate halves
  // (CNI_SELFTEST_KILL_EVERY=1 runs all of both).
  exec: () => uvu('test/exec', { CNI_SELFTEST_KILL_EVERY: process.env.CNI_SELFTEST_KILL_EVERY ?? '2' }),
  gocni: () => uvu('test/gocni'),
  agent: () => uvu('test/agent'),
  dataplane: () => uvu('test/dataplane'),
  // Every kill point of win-l2bridge and win-overlay, every third of host-gateway and l3-upstream (the
  // same bridged code with other policies): CI's time. CNI_FAULTS_SAMPLE=1 runs every point of all four.
  faults: () => uvu('test/faults', { CNI_FAULTS_SAMPLE: process.env.CNI_FAULTS_SAMPLE ?? '3' }),
  conformance: () => run(process.execPath, ['conformance/run.mjs'], { counts: 'summary' }),
  windows: () => run('bash', [path.join(ROOT, 'test', 'windows', 'run.sh')], { counts: 'summary' }),
};

function add(a, b) {
  return { passed: a.passed + b.passed, failed: a.failed + b.failed };
}

function uvu(dir, env = {}) {
  if (!fs.existsSync(path.join(ROOT, dir))) return { passed: 0, failed: 0 };
  // --import tsx registers both the CommonJS and the ESM hooks: the code under test uses dynamic import().
  return run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'node_modules', 'uvu', 'bin.js'), dir, '\\.test\\.ts$'], { counts: 'uvu', label: `uvu ${dir}`, env });
}

/**
 * Runs a command with its output passed through. `counts` says how to read its result:
 * 'single' one test (exit status), 'uvu' uvu's Total/Passed lines, 'summary' a last line
 * `N passed, N failed` of the tool's own.
 */
function run(cmd, args, { counts, label = [cmd, ...args].join(' '), env = {} }) {
  return new Promise((resolve) => {
    const write = output.write;
    write(`\n=== ${label}\n`);
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      write(d);
    });
    child.stderr.on('data', (d) => write(d));
    child.on('error', (err) => {
      write(`${label}: ${err.message}\n`);
      resolve({ passed: 0, failed: 1 });
    });
    child.on('close', (code) => {
      const text = out.replace(/\x1b\[[0-9;]*m/g, '');
      if (counts === 'uvu') {
        const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? 0);
        const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? 0);
        const failed = Math.max(total - passed, code === 0 ? 0 : 1);
        resolve({ passed, failed });
      } else if (counts === 'summary') {
        const m = /(\d+) passed, (\d+) failed\s*$/.exec(text.trimEnd());
        if (m) resolve({ passed: Number(m[1]), failed: Number(m[2]) + (code !== 0 && Number(m[2]) === 0 ? 1 : 0) });
        else resolve({ passed: 0, failed: 1 });
      } else {
        resolve(code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });
      }
    });
  });
}

/** Where a suite's output goes: straight through, or held while another suite has the terminal. */
const output = { write: (d) => process.stdout.write(d) };

/** Suites that need none of setup's system packages: while they run, setup installs them. */
const WITHOUT_SYSTEM_PACKAGES = new Set(['typecheck', 'unit', 'build']);

/**
 * Starts setup with its output held back (apt's download and unpacking wait mostly on the network
 * and the disk), so that the suites before the first one that needs its packages run meanwhile.
 */
function startSetup() {
  const held = [];
  const t0 = Date.now();
  const saved = output.write;
  output.write = (d) => held.push(String(d));
  const done = SUITES.setup().then((r) => ({ ...r, seconds: (Date.now() - t0) / 1000 }));
  output.write = saved;
  return { done, held };
}

async function main() {
  const wanted = process.argv.slice(2);
  for (const w of wanted) if (!SUITES[w]) throw new Error(`unknown suite ${w}; known: ${Object.keys(SUITES).join(', ')}`);
  const names = wanted.length ? wanted : Object.keys(SUITES);
  const results = [];
  let total = { passed: 0, failed: 0 };
  const early = names[0] === 'setup' && WITHOUT_SYSTEM_PACKAGES.has(names[1] ?? '') ? startSetup() : undefined;
  const awaitSetup = async () => {
    if (!early || results.some((r) => r.name === 'setup')) return;
    const r = await early.done;
    process.stdout.write(early.held.join(''));
    results.push({ name: 'setup', ...r });
    total = add(total, r);
  };
  for (const name of names) {
    if (name === 'setup' && early) continue;
    if (!WITHOUT_SYSTEM_PACKAGES.has(name)) await awaitSetup();
    const t0 = Date.now();
    const r = await SUITES[name]();
    results.push({ name, ...r, seconds: (Date.now() - t0) / 1000 });
    total = add(total, r);
    // Nothing after a failed build can mean anything.
    if ((name === 'build' || name === 'typecheck') && r.failed) break;
  }
  await awaitSetup();
  results.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
  process.stdout.write('\nsuite        passed  failed  seconds\n');
  for (const r of results) process.stdout.write(`${r.name.padEnd(12)} ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${r.seconds.toFixed(1).padStart(7)}\n`);
  process.stdout.write(`${total.passed} passed, ${total.failed} failed\n`);
  process.exitCode = total.failed ? 1 : 0;
}

main();
