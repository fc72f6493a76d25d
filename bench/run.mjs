#!/usr/bin/env node
// npm run bench: what a pod start costs, measured on the built Linux executables.
//
//   1. start-up: each plugin answering VERSION next to a bare Node SEA that only prints a line
//      (bench/sea-hello.ts, built the same way), interleaved in one run; medians and their ratio
//      (target: ratio <= 1.3, VERSION < 100 ms);
//   2. a pod's network lifecycle on the HNS emulator: ADD and DEL latency per plugin, with the
//      built-in IPAM and with Debian's host-local; the HCN calls of ADD, CHECK and DEL by kind; the
//      plugin's own time per ADD (outside HCN calls) against the bare SEA; and ADD with 0 and
//      5,000 remote endpoints on the host;
//   3. memory: peak RSS of an ADD;
//   4. sizes of the bundles and executables;
//   5. (with --wine, or when test/windows left a Wine prefix) start-up of an .exe under Wine.
// The numbers go to stdout and to bench/results/<time>.json. NODE_EXTRA_CA_CERTS is removed from
// the environment: it costs ~50 ms in Node 20 processes and is not how nodes run plugins.
//
//   node bench/run.mjs [--runs N] [--wine]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist', 'linux-x64');
const HELLO = path.join(ROOT, 'dist', 'test-tools', 'linux-x64', 'sea-hello');
const PLUGINS = ['win-l2bridge', 'win-overlay', 'host-gateway', 'l3-upstream'];
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 40;
const BASE_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS' && !k.startsWith('CNI_')));

function ensureBuilt() {
  const missing = [...PLUGINS.map((p) => path.join(DIST, p)), path.join(DIST, 'hnsctl'), HELLO].filter((f) => !fs.existsSync(f));
  if (missing.length === 0) return;
  process.stderr.write('bench: building the Linux executables first\n');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'build.mjs'), '--target', 'linux-x64', '--tools'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

function timeOnce(file, env, input = '', argv = []) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, argv, { env, input, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], n: s.length };
}

const f1 = (x) => x.toFixed(1);

// 1. Start-up --------------------------------------------------------------------------------

function startup() {
  const env = { ...BASE_ENV, CNI_COMMAND: 'VERSION' };
  const subjects = [{ name: 'sea-hello', file: HELLO }, ...PLUGINS.map((p) => ({ name: p, file: path.join(DIST, p) }))];
  for (const s of subjects) for (let i = 0; i < 3; i++) timeOnce(s.file, env); // warm the page cache
  const samples = Object.fromEntries(subjects.map((s) => [s.name, []]));
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift in machine load hits every subject alike.
    for (const s of subjects) {
      const r = timeOnce(s.file, env);
      if (r.status !== 0) throw new Error(`${s.name} VERSION failed: ${r.stderr}`);
      samples[s.name].push(r.ms);
    }
  }
  const base = stats(samples['sea-hello']).median;
  return subjects.map((s) => {
    const st = stats(samples[s.name]);
    return { name: s.name, ...st, ratio: st.median / base };
  });
}

// 2-3. A pod's lifecycle on the emulator -----------------------------------------------------

function hnsctl(env, ...argv) {
  const r = spawnSync(path.join(DIST, 'hnsctl'), argv, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hnsctl ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

function maxRssKiB(file, env, input) {
  // The peak RSS of a child, from the kernel's accounting (ru_maxrss of waited-for children).
  const py = 'import resource,subprocess,sys\nsubprocess.run(sys.argv[1:], input=sys.stdin.buffer.read(), stdout=subprocess.DEVNULL)\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)';
  const r = spawnSync('python3', ['-c', py, file], { env, input, encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

function readCalls(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

/** HCN calls by kind (`Open` for OpenNetwork/OpenEndpoint/...), as `Enumerate 2, Open 1, ...`. */
function byKind(calls) {
  const kinds = {};
  for (const c of calls) {
    const kind = c.op.replace(/(Network|Endpoint|Namespace)s?(Properties)?$/, '').replace(/^HNSCall$/, 'HNSCall');
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

function kindsText(k) {
  return Object.entries(k).map(([n, c]) => `${n} ${c}`).join(', ');
}

/**
 * A pod's lifecycle, N times: ADD and DEL latency; the HCN calls of one ADD, CHECK and DEL by kind;
 * the plugin's own time per ADD (wall time minus the time the emulated service spent in the calls,
 * which calls.log records); optionally with `remote` remote endpoints on the node's network first.
 */
function lifecycle(plugin, ipamType, remote = 0) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-bench-'));
  try {
    const env = { ...BASE_ENV, CNI_HNS_BACKEND: 'emulator', CNI_HNS_EMULATOR_DIR: path.join(dir, 'hns'), CNI_STATE_DIR: path.join(dir, 'state'), CNI_LOG_FILE: path.join(dir, 'cni.log'), CNI_PATH: '/usr/lib/cni', CNI_IFNAME: 'eth0' };
    hnsctl(env, 'apply', path.join(ROOT, 'plugins', plugin, 'examples', 'node-network.json'));
    const name = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', plugin, 'examples', 'node-network.json'), 'utf8')).networks[0].Name;
    if (remote > 0) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'populate.ts'), path.join(dir, 'hns'), name, String(remote)], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`populating ${remote} remote endpoints: ${r.stderr}`);
    }
    const conf = { cniVersion: '1.0.0', name, type: plugin, clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', nodeIP: '192.168.10.21', providerAddress: plugin === 'win-overlay' ? '192.168.10.21' : undefined, ipam: { type: ipamType, subnet: '10.244.3.0/24', rangeStart: '10.244.3.10', dataDir: path.join(dir, 'ipam') } };
    const confText = JSON.stringify(conf);
    const callsFile = path.join(dir, 'hns', 'calls.log');
    const add = [];
    const own = [];
    const del = [];
    // The bare SEA, timed between the ADDs: the ratio compares the two under the same load.
    const bare = [];
    let calls;
    const runs = Math.max(10, Math.floor(RUNS / 2));
    for (let i = 0; i < runs; i++) {
      const netns = hnsctl(env, 'namespace', 'create');
      const podEnv = { ...env, CNI_CONTAINERID: `bench-${i}`, CNI_NETNS: netns };
      const before = readCalls(callsFile).length;
      const a = timeOnce(path.join(DIST, plugin), { ...podEnv, CNI_COMMAND: 'ADD' }, confText);
      if (a.status !== 0) throw new Error(`${plugin} ADD: ${a.stdout}`);
      const addCalls = readCalls(callsFile).slice(before);
      add.push(a.ms);
      own.push(a.ms - addCalls.reduce((t, c) => t + c.ms, 0));
      bare.push(timeOnce(HELLO, BASE_ENV, '').ms);
      if (!calls) {
        const beforeCheck = readCalls(callsFile).length;
        const c = timeOnce(path.join(DIST, plugin), { ...podEnv, CNI_COMMAND: 'CHECK' }, JSON.stringify({ ...conf, prevResult: JSON.parse(a.stdout) }));
        if (c.status !== 0) throw new Error(`${plugin} CHECK: ${c.stdout}`);
        calls = { add: addCalls, check: readCalls(callsFile).slice(beforeCheck) };
      }
      const beforeDel = readCalls(callsFile).length;
      const d = timeOnce(path.join(DIST, plugin), { ...podEnv, CNI_COMMAND: 'DEL' }, confText);
      if (d.status !== 0) throw new Error(`${plugin} DEL: ${d.stdout}`);
      del.push(d.ms);
      calls.del ??= readCalls(callsFile).slice(beforeDel);
    }
    const netns = hnsctl(env, 'namespace', 'create');
    const rss = maxRssKiB(path.join(DIST, plugin), { ...env, CNI_CONTAINERID: 'bench-rss', CNI_NETNS: netns, CNI_COMMAND: 'ADD' }, confText);
    return {
      plugin, ipam: ipamType, remoteEndpoints: remote, add: stats(add), ownPerAdd: stats(own), bareSea: stats(bare), ownRatio: stats(own).median / stats(bare).median, del: stats(del), addMaxRssMiB: rss && rss / 1024,
      hcnCalls: { add: calls.add.length, check: calls.check.length, del: calls.del.length },
      hcnCallsByKind: { add: byKind(calls.add), check: byKind(calls.check), del: byKind(calls.del) },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// 4. Sizes -----------------------------------------------------------------------------------

/** The one executable, and what bin_dir holds: its names are links to one file. */
function sizes() {
  const size = (f) => (fs.existsSync(f) ? fs.statSync(f).size : undefined);
  const onDisk = (dir) => {
    if (!fs.existsSync(dir)) return undefined;
    const seen = new Map();
    for (const f of fs.readdirSync(dir)) {
      const st = fs.statSync(path.join(dir, f));
      if (st.isFile()) seen.set(`${st.dev}:${st.ino}`, st.size);
    }
    return { names: fs.readdirSync(dir).length, files: seen.size, MiB: [...seen.values()].reduce((a, b) => a + b, 0) / 2 ** 20 };
  };
  return {
    bundleKiB: size(path.join(ROOT, 'dist', 'bundle', 'cni-suite.js')) / 1024,
    linux: onDisk(DIST),
    win: onDisk(path.join(ROOT, 'dist', 'win-x64')),
  };
}

// 5. Wine ------------------------------------------------------------------------------------

function wine() {
  const prefix = process.env.WINEPREFIX || path.join(ROOT, 'test', '.tmp', 'wine', 'prefix');
  const wine64 = '/usr/lib/wine/wine64';
  const exe = path.join(ROOT, 'dist', 'win-x64', 'win-l2bridge.exe');
  if (!fs.existsSync(wine64) || !fs.existsSync(path.join(prefix, 'system.reg')) || !fs.existsSync(exe)) return undefined;
  const env = { ...BASE_ENV, WINEPREFIX: prefix, WINEDEBUG: '-all', CNI_COMMAND: 'VERSION' };
  const server = (flag) => spawnSync('/usr/lib/wine/wineserver64', [flag], { env, stdio: 'ignore' }); // `-p` daemonizes: no pipes of ours
  // stderr not captured: a cold run starts the prefix's services (services.exe, rpcss.exe, ...) with
  // the caller's stderr, and a captured one would make the run last until they exit.
  const once = () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(wine64, [exe], { env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'], timeout: 60_000 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0 || !r.stdout.includes('"supportedVersions"')) throw new Error(`win-l2bridge.exe VERSION under Wine failed (exit ${r.status}): ${r.stdout}`);
    return ms;
  };
  const cold = [];
  const warm = [];
  try {
    for (let i = 0; i < 5; i++) {
      server('-k');
      server('-w');
      cold.push(once()); // starts the wineserver and the prefix's services
    }
    server('-p'); // a persistent wineserver: the warm case
    once();
    for (let i = 0; i < 10; i++) warm.push(once());
  } finally {
    server('-k');
  }
  return { cold: stats(cold), warm: stats(warm) };
}

// ---------------------------------------------------------------------------------------------

function main() {
  ensureBuilt();
  const result = { time: new Date().toISOString(), host: { cpus: os.cpus().length, node: process.version }, runs: RUNS };
  result.startup = startup();
  process.stdout.write(`\nStart-up: VERSION, ${RUNS} interleaved runs each (ms)\n`);
  process.stdout.write('executable      median    p10    p90   ratio to bare SEA\n');
  for (const s of result.startup) process.stdout.write(`${s.name.padEnd(14)} ${f1(s.median).padStart(7)} ${f1(s.p10).padStart(6)} ${f1(s.p90).padStart(6)}   ${s.ratio.toFixed(2)}\n`);
  const worst = Math.max(...result.startup.filter((s) => s.name !== 'sea-hello').map((s) => s.ratio));
  const slowest = Math.max(...result.startup.filter((s) => s.name !== 'sea-hello').map((s) => s.median));
  process.stdout.write(`worst ratio ${worst.toFixed(2)} (target <= 1.3: ${worst <= 1.3 ? 'met' : 'NOT met'}); slowest VERSION median ${f1(slowest)} ms (target < 100 ms: ${slowest < 100 ? 'met' : 'NOT met'})\n`);

  result.lifecycle = [];
  const bare = result.startup.find((x) => x.name === 'sea-hello').median;
  process.stdout.write('\nPod lifecycle on the HNS emulator (ms); own = ADD wall time minus the time spent inside HCN calls\n');
  process.stdout.write('plugin         ipam        ADD median   p90   own median  own/bare SEA   DEL median   p90  HCN calls ADD/CHECK/DEL  ADD peak RSS\n');
  const row = (l) => process.stdout.write(`${l.plugin.padEnd(14)} ${l.ipam.padEnd(11)} ${f1(l.add.median).padStart(10)} ${f1(l.add.p90).padStart(5)} ${f1(l.ownPerAdd.median).padStart(11)} ${l.ownRatio.toFixed(2).padStart(13)} ${f1(l.del.median).padStart(12)} ${f1(l.del.p90).padStart(5)} ${`${l.hcnCalls.add}/${l.hcnCalls.check}/${l.hcnCalls.del}`.padStart(24)}  ${l.addMaxRssMiB ? `${f1(l.addMaxRssMiB)} MiB` : '-'}\n`);
  for (const p of PLUGINS) {
    for (const ipam of ['builtin', 'host-local']) {
      const l = lifecycle(p, ipam);
      result.lifecycle.push(l);
      row(l);
    }
  }
  const first = result.lifecycle[0];
  process.stdout.write(`HCN calls by kind (${first.plugin}): ADD ${kindsText(first.hcnCallsByKind.add)}; CHECK ${kindsText(first.hcnCallsByKind.check)}; DEL ${kindsText(first.hcnCallsByKind.del)}\n`);
  const maxCalls = (k) => Math.max(...result.lifecycle.map((l) => l.hcnCalls[k]));
  process.stdout.write(`most HCN calls: ADD ${maxCalls('add')} (target <= 12), CHECK ${maxCalls('check')}, DEL ${maxCalls('del')} (targets <= 8)\n`);
  const builtin = result.lifecycle.filter((l) => l.ipam === 'builtin');
  const worstOwn = Math.max(...builtin.map((l) => l.ownRatio));
  process.stdout.write(`own time per ADD with the built-in IPAM: worst ${worstOwn.toFixed(2)} x the bare SEA timed between the ADDs (${builtin.map((l) => f1(l.bareSea.median)).join(' / ')} ms; target <= 1.5)\n`);

  process.stdout.write('\nADD with 0 and 5,000 remote endpoints on the host (win-overlay, built-in IPAM)\n');
  result.scale = [0, 5000].map((n) => lifecycle('win-overlay', 'builtin', n));
  for (const l of result.scale) process.stdout.write(`${String(l.remoteEndpoints).padStart(5)} remote endpoints: ADD median ${f1(l.add.median)} ms, own ${f1(l.ownPerAdd.median)} ms (${l.ownRatio.toFixed(2)} x bare SEA), HCN calls ADD/CHECK/DEL ${l.hcnCalls.add}/${l.hcnCalls.check}/${l.hcnCalls.del}\n`);

  result.sizes = sizes();
  const disk = (d) => (d ? `${d.names} names, ${d.files} file(s), ${f1(d.MiB)} MiB on disk` : 'not built');
  process.stdout.write(`\nSizes: cni-suite bundle ${f1(result.sizes.bundleKiB)} KiB; linux-x64: ${disk(result.sizes.linux)}; win-x64: ${disk(result.sizes.win)}\n`);

  if (args.includes('--wine') || fs.existsSync(path.join(ROOT, 'test', '.tmp', 'wine', 'prefix', 'system.reg'))) {
    result.wine = wine();
    if (result.wine) {
      process.stdout.write(`\nUnder Wine (not Windows): win-l2bridge.exe VERSION, cold wineserver median ${f1(result.wine.cold.median)} ms (n=${result.wine.cold.n}), warm median ${f1(result.wine.warm.median)} ms (n=${result.wine.warm.n})\n`);
    } else {
      process.stdout.write('\nWine: no prefix yet (run npm run test:windows first)\n');
    }
  }

  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${result.time.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`);
}

main();
