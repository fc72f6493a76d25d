#!/usr/bin/env node
// The node agent at scale: 1,000 Nodes in the stand-in API server (test/agent/apiserver.ts, over
// HTTPS through @kubernetes/client-node), one emulated Windows node running the built
// dist/linux-x64/cni-agent, for host-gateway (999 host routes) and win-overlay (999
// RemoteSubnetRoute policies). Measured:
//   first sync     the agent's start to every peer applied (the agent's own "first-sync" line: list,
//                  network, host endpoint, conflist, 999 routes or policies), and as seen from outside;
//   one event      a Node's address changed in the API to its route or policy replaced: the agent's
//                  "reconcile" line (sinceEventMs: from the watch event to the change made), and the
//                  route calls it took (diffed, not rewritten: one delete and one add);
//   memory         the agent's peak RSS (VmHWM) after the events.
// Targets: first sync < 2 s, one event < 50 ms, RSS < 100 MB.
//
//   node bench/agent.mjs [--nodes 1000] [--events 20] [--mode host-gateway|win-overlay|both]

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const AGENT = path.join(ROOT, 'dist', 'linux-x64', 'cni-agent');
const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const NODES = Number(arg('--nodes', 1000));
const EVENTS = Number(arg('--events', 20));
const MODES = arg('--mode', 'both') === 'both' ? ['host-gateway', 'win-overlay'] : [arg('--mode')];
const TARGETS = { firstSyncMs: 2000, eventMs: 50, rssMiB: 100 };

// The stand-in API server and the emulator are TypeScript: tsx's hooks, both loaders (as `node --import tsx` does).
registerCjs();
registerEsm();
const load = async (p) => {
  const m = await import(p);
  return m.default && typeof m.default === 'object' ? { ...m.default, ...m } : m;
};
const { makeCerts, StandInApiServer } = await load('../test/agent/apiserver.ts');
const { emulatorAdmin } = await load('../shared/hns/backends/emulator/admin.ts');

function ensureBuilt() {
  if (fs.existsSync(AGENT)) return;
  process.stderr.write('bench: building the Linux executables first\n');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'build.mjs'), '--target', 'linux-x64'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const podCIDR = (i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`;
const nodeIP = (i) => `172.16.${i >> 8}.${i & 255}`;
const mac = (i) => `0e:2a:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const FLANNEL = 'flannel.alpha.coreos.com';

function nodeSpec(i, mode, ip = nodeIP(i)) {
  const spec = { name: `node-${String(i).padStart(4, '0')}`, podCIDRs: [podCIDR(i)], internalIP: ip };
  if (mode === 'win-overlay' && i !== 1) {
    spec.annotations = {
      [`${FLANNEL}/backend-data`]: JSON.stringify({ VNI: 4096, VtepMAC: mac(i) }),
      [`${FLANNEL}/backend-type`]: 'vxlan',
      [`${FLANNEL}/kube-subnet-manager`]: 'true',
      [`${FLANNEL}/public-ip`]: ip,
    };
  }
  return spec;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), max: s[s.length - 1], n: s.length };
}

function logLines(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function rssMiB(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
  return { peak: kib('VmHWM') / 1024, now: kib('VmRSS') / 1024 };
}

async function waitFor(what, check, timeoutMs) {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`bench: ${what} not within ${timeoutMs} ms`);
    await sleep(5);
  }
}

async function run(mode) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-agent-bench-'));
  const api = new StandInApiServer({ certs: makeCerts(path.join(dir, 'pki')) });
  await api.start();
  let child;
  try {
    for (let i = 1; i <= NODES; i++) api.add(nodeSpec(i, mode));
    const hns = path.join(dir, 'hns');
    const admin = emulatorAdmin(hns);
    await admin.reset();
    admin.updateConfig({ managementIp: nodeIP(1), callLog: true });
    const logFile = path.join(dir, 'agent.log');
    const cfgFile = path.join(dir, 'agent.json');
    fs.writeFileSync(cfgFile, JSON.stringify({
      mode, network: mode === 'win-overlay' ? 'vxlan0' : 'cbr0', node: 'node-0001', clusterCIDR: '10.0.0.0/8', serviceCIDR: '10.96.0.0/12',
      confDir: path.join(dir, 'conf'), peers: { source: 'kubernetes', kubeconfig: api.kubeconfig(path.join(dir, 'kubeconfig')) },
      stateDir: path.join(dir, 'state'), logFile, listen: '127.0.0.1:0', reconcileSeconds: 60, resyncSeconds: 3600,
    }));
    const t0 = performance.now();
    child = spawn(AGENT, ['--config', cfgFile], { env: { PATH: process.env.PATH, CNI_HNS_BACKEND: 'emulator', CNI_HNS_EMULATOR_DIR: hns }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const firstSync = () => logLines(logFile).find((l) => l.step === 'first-sync' && l.owned === NODES - 1);
    await waitFor('first sync', () => !!firstSync() || child.exitCode !== null, 60_000);
    if (child.exitCode !== null) throw new Error(`the agent exited: ${stderr}`);
    const outside = performance.now() - t0;
    const sync = firstSync();
    const afterSync = rssMiB(child.pid);
    // Events: one Node's address changes; the agent replaces its route or policy.
    const agentMs = [];
    const wallMs = [];
    const callsPerEvent = [];
    for (let e = 0; e < EVENTS; e++) {
      const i = 2 + ((e * 37) % (NODES - 1));
      const before = logLines(logFile).filter((l) => l.step === 'reconcile' && l.pass === 'event').length;
      admin.clearCalls();
      const t1 = performance.now();
      api.update(nodeSpec(i, mode, `172.31.${e}.${i & 255}`));
      await waitFor('event applied', () => logLines(logFile).filter((l) => l.step === 'reconcile' && l.pass === 'event').length > before, 10_000);
      wallMs.push(performance.now() - t1);
      const line = logLines(logFile).filter((l) => l.step === 'reconcile' && l.pass === 'event').at(-1);
      agentMs.push(line.sinceEventMs);
      callsPerEvent.push(admin.readCalls().filter((c) => /IpForwardEntry2|ModifyNetwork/.test(c.op)).length);
      await sleep(20);
    }
    const rss = rssMiB(child.pid);
    const owned = mode === 'win-overlay'
      ? (admin.networkByName('vxlan0')?.Policies ?? []).filter((p) => p.Type === 'RemoteSubnetRoute').length
      : (await admin.hostRoutes()).filter((r) => r.Protocol === 'NetMgmt').length;
    return {
      mode,
      nodes: NODES,
      applied: owned,
      firstSyncMs: sync.ms,
      memoryAtFirstSyncMiB: sync.memoryMiB,
      firstSyncOutsideMs: Math.round(outside),
      eventAgentMs: stats(agentMs),
      eventWallMs: stats(wallMs),
      changeCallsPerEvent: stats(callsPerEvent),
      rssMiB: { afterFirstSync: Math.round(afterSync.peak), peak: Math.round(rss.peak), now: Math.round(rss.now) },
    };
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
    await api.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

ensureBuilt();
const results = [];
for (const mode of MODES) results.push(await run(mode));
const f1 = (x) => x.toFixed(1);
process.stdout.write(`\ncni-agent at scale: ${NODES} Nodes, ${EVENTS} Node changes each (targets: first sync < ${TARGETS.firstSyncMs} ms, one event < ${TARGETS.eventMs} ms, RSS < ${TARGETS.rssMiB} MiB)\n\n`);
process.stdout.write('| mode | applied | first sync (agent / outside) | one event: agent, median / p90 | one event: API change to applied, median | route/policy calls per event | peak RSS |\n|---|---|---|---|---|---|---|\n');
for (const r of results) {
  process.stdout.write(`| ${r.mode} | ${r.applied} | ${r.firstSyncMs} / ${r.firstSyncOutsideMs} ms | ${f1(r.eventAgentMs.median)} / ${f1(r.eventAgentMs.p90)} ms | ${f1(r.eventWallMs.median)} ms | ${r.changeCallsPerEvent.median} | ${r.rssMiB.peak} MiB |\n`);
}
const ok = results.every((r) => r.applied === NODES - 1 && r.firstSyncMs < TARGETS.firstSyncMs && r.eventAgentMs.p90 < TARGETS.eventMs && r.rssMiB.peak < TARGETS.rssMiB);
process.stdout.write(`\n${ok ? 'all targets met' : 'a target was missed'}\n`);
const outDir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, `agent-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ targets: TARGETS, results }, null, 2));
process.exitCode = ok ? 0 : 1;
