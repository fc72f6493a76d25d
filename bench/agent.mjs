#!/usr/bin/env node
// The node agent at real cluster size. The stand-in API server (test/agent/apiserver.ts, over
// HTTPS through @kubernetes/client-node) holds Nodes shaped as a real cluster's
// (test/agent/real-node.ts: the API reference's fields, 50 images, managedFields, ~17 KiB each);
// one emulated Windows node runs the built dist/linux-x64/cni-agent. Per run (Node count, and
// whether the server has the streaming list or the agent falls back to paged lists):
//   first sync     the agent's start to every peer applied (its own "first-sync" line);
//   peak RSS       the agent's VmHWM at first sync and at the end;
//   one change     a Node added or a pod CIDR changed in the API, to its route made: the agent's
//                  "reconcile" line (sinceEventMs: from the watch event to the change made);
//   heartbeats     kubelet status updates (only the conditions' heartbeat times move), one MODIFIED
//                  event each: the HNS and route calls they cause and the agent's CPU time;
//   API load       bytes (response bodies) and requests the agent asks of the API server at start,
//                  and per hour of steady state from what was measured (the model is printed).
// Every figure is printed against the issue's target (met / not met).
//
//   node bench/agent.mjs [--nodes 1000,5000] [--events 20] [--heartbeats 5000] [--mode host-gateway|win-overlay] [--no-fallback] [--per-event] [--agent <cni-agent>]

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
// --agent: another build of the executable (an earlier commit's, to compare).
const AGENT = path.resolve(arg('--agent', path.join(ROOT, 'dist', 'linux-x64', 'cni-agent')));
const COUNTS = String(arg('--nodes', '1000,5000')).split(',').map(Number);
const EVENTS = Number(arg('--events', 20));
const HEARTBEATS = Number(arg('--heartbeats', 5000));
const MODE = arg('--mode', 'host-gateway');
const FALLBACK = !args.includes('--no-fallback');
// --per-event: each relevant change's time on stderr (a p90 far above the median is a few slow ones: which kind, how often).
const PER_EVENT = args.includes('--per-event');
// The issue's targets (issue 17).
const TARGETS = { firstSyncMs: { 1000: 1000, 5000: 3000 }, rssMiB: { 1000: 90, 5000: 120 }, changeP90Ms: 50, heartbeatCalls: 0, heartbeatCpuMs: 1000 };
// Steady state, as a cluster produces it: kubelet posts its Node's status every 5 minutes when
// nothing changed (nodeStatusReportFrequency; the Lease is the heartbeat), the agent's watch ends
// after 5-10 minutes (mean 7.5) and is resumed, kube-apiserver sends a bookmark about once a
// minute, and the agent relists every resyncSeconds (3600) x [1, 1.5).
const STEADY = { statusPerNodePerHour: 12, watchesPerHour: 3600 / 450, bookmarksPerHour: 60, relistsPerHour: 3600 / (3600 * 1.25) };

registerCjs();
registerEsm();
const load = async (p) => {
  const m = await import(p);
  return m.default && typeof m.default === 'object' ? { ...m.default, ...m } : m;
};
const { makeCerts, StandInApiServer } = await load('../test/agent/apiserver.ts');
const { dressRealNode } = await load('../test/agent/real-node.ts');
const { emulatorAdmin } = await load('../shared/hns/backends/emulator/admin.ts');

function ensureBuilt() {
  if (fs.existsSync(AGENT)) return;
  process.stderr.write('bench: building the Linux executables first\n');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'build.mjs'), '--target', 'linux-x64'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Outside the service CIDR 10.96.0.0/12 (10.96-10.111): a pod subnet there is refused (shared/node/sanity.ts).
const podCIDR = (i) => `10.${128 + (i >> 8)}.${i & 255}.0/24`;
const nodeIP = (i) => `172.16.${i >> 8}.${i & 255}`;
const mac = (i) => `0e:2a:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const FLANNEL = 'flannel.alpha.coreos.com';
const name = (i) => `node-${String(i).padStart(5, '0')}`;

function nodeSpec(i, mode, over = {}) {
  const ip = over.ip ?? nodeIP(i);
  const spec = { name: name(i), podCIDRs: [over.podCIDR ?? podCIDR(i)], internalIP: ip };
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

/** The agent's log lines from byte `from` on (the log only grows during a run). */
function logLines(file, from = 0) {
  if (!fs.existsSync(file)) return [];
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    fs.readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } finally {
    fs.closeSync(fd);
  }
}

function proc(pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
  // utime and stime, in clock ticks (100 per second on Linux), are fields 14 and 15 of /proc/pid/stat.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024, cpuMs: (Number(f[11]) + Number(f[12])) * 10 };
}

async function waitFor(what, check, timeoutMs) {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`bench: ${what} not within ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function metric(address, sample) {
  const body = await (await fetch(`http://${address}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

const changing = (c) => /IpForwardEntry2|ModifyNetwork|CreateNetwork|CreateEndpoint|SetIpInterface/.test(c.op);

async function run(nodes, watchList) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-agent-bench-'));
  const api = new StandInApiServer({ certs: makeCerts(path.join(dir, 'pki')), watchList, dress: dressRealNode });
  await api.start();
  let child;
  try {
    for (let i = 1; i <= nodes; i++) api.add(nodeSpec(i, MODE));
    const listMiB = api.allNodes().reduce((n, d) => n + JSON.stringify(d).length, 0) / 2 ** 20;
    const hns = path.join(dir, 'hns');
    const admin = emulatorAdmin(hns);
    await admin.reset();
    // Every node on one L2 segment (host-gw's rule, windows-anchors.md §8.2): 172.16.0.0/16 holds them all.
    admin.updateConfig({ managementIp: nodeIP(1), managementPrefixLength: 16, callLog: true });
    const logFile = path.join(dir, 'agent.log');
    const cfgFile = path.join(dir, 'agent.json');
    fs.writeFileSync(cfgFile, JSON.stringify({
      mode: MODE, network: MODE === 'win-overlay' ? 'vxlan0' : 'cbr0', node: name(1), clusterCIDR: '10.0.0.0/8', serviceCIDR: '10.96.0.0/12',
      confDir: path.join(dir, 'conf'), peers: { source: 'kubernetes', kubeconfig: api.kubeconfig(path.join(dir, 'kubeconfig')) },
      // No periodic full pass during the run: every call the emulator logs is one the events caused.
      stateDir: path.join(dir, 'state'), logFile, listen: '127.0.0.1:0', reconcileSeconds: 3600, resyncSeconds: 3600,
    }));
    const t0 = performance.now();
    child = spawn(AGENT, ['--config', cfgFile], { env: { PATH: process.env.PATH, CNI_HNS_BACKEND: 'emulator', CNI_HNS_EMULATOR_DIR: hns }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const firstSync = () => logLines(logFile).find((l) => l.step === 'first-sync' && l.owned === nodes - 1);
    try {
      await waitFor('first sync', () => !!firstSync() || child.exitCode !== null, 120_000);
    } catch (err) {
      const tail = logLines(logFile).slice(-5).map((l) => JSON.stringify(l).slice(0, 600)).join('\n');
      throw new Error(`${err.message}; the agent's last log lines:\n${tail}`);
    }
    if (child.exitCode !== null) throw new Error(`the agent exited: ${stderr}`);
    const outside = performance.now() - t0;
    const sync = firstSync();
    const lines = logLines(logFile);
    const at = (step) => Date.parse(lines.find((l) => l.step === step)?.time ?? '') - Date.parse(lines[0].time);
    // Where the first sync went: the process start to its log opening is not in the agent's figure.
    const phases = { opened: at('opened'), listed: at('nodes-listed'), network: at('network-created'), synced: at('first-sync') };
    const address = logLines(logFile).find((l) => l.step === 'listening').address;
    const atSync = proc(child.pid);
    const start = { requests: api.requests.length, bytes: api.bytesSent };

    // One relevant change at a time: a Node added, or a Node's pod CIDR changed.
    const agentMs = [];
    const calls = [];
    const callMs = [];
    let mark = fs.statSync(logFile).size;
    for (let e = 0; e < EVENTS; e++) {
      admin.clearCalls();
      if (e % 2 === 0) api.add(nodeSpec(nodes + 1 + e, MODE));
      else {
        const i = 2 + ((e * 37) % (nodes - 1));
        api.update(nodeSpec(i, MODE, { podCIDR: `10.${200 + (e >> 8)}.${e & 255}.0/24` }));
      }
      let line;
      await waitFor('change applied', () => (line = logLines(logFile, mark).find((l) => l.step === 'reconcile' && l.pass === 'event')), 10_000);
      mark = fs.statSync(logFile).size;
      agentMs.push(line.sinceEventMs);
      if (PER_EVENT) process.stderr.write(`change ${e + 1}: ${e % 2 ? 'pod CIDR changed' : 'Node added'}, ${line.sinceEventMs} ms from the watch event (the pass ${line.ms} ms)\n`);
      const made = admin.readCalls();
      calls.push(made.filter(changing).length);
      callMs.push(made.reduce((n, c) => n + c.ms, 0));
      await sleep(20);
    }

    // Heartbeats: HEARTBEATS status updates, round-robin over the Nodes.
    await sleep(300);
    admin.clearCalls();
    const unchanged0 = await metric(address, 'cni_agent_watch_events_total{type="unchanged"}');
    const passes0 = await metric(address, 'cni_agent_reconciles_total{kind="event",outcome="ok"}');
    const cpu0 = proc(child.pid).cpuMs;
    const bytes0 = api.bytesSent;
    const all = api.allNodes().map((d) => d.metadata.name);
    for (let k = 0; k < HEARTBEATS; k++) {
      api.heartbeat(all[k % all.length], new Date(Date.UTC(2024, 5, 1, 0, 0, Math.floor(k / all.length) + 1)));
      if (k % 250 === 249) await sleep(1);
    }
    await waitFor('heartbeats seen', async () => (await metric(address, 'cni_agent_watch_events_total{type="unchanged"}')) >= unchanged0 + HEARTBEATS, 60_000);
    const heartbeat = {
      events: HEARTBEATS,
      cpuMs: proc(child.pid).cpuMs - cpu0,
      hnsAndRouteCalls: admin.readCalls().length,
      eventPasses: (await metric(address, 'cni_agent_reconciles_total{kind="event",outcome="ok"}')) - passes0,
      bytesPerEvent: (api.bytesSent - bytes0) / HEARTBEATS,
    };
    const end = proc(child.pid);
    const startBytes = start.bytes;
    const perHour = {
      requests: STEADY.watchesPerHour + STEADY.relistsPerHour * start.requests,
      bytes: STEADY.statusPerNodePerHour * nodes * heartbeat.bytesPerEvent + STEADY.bookmarksPerHour * 150 + STEADY.relistsPerHour * startBytes,
    };
    return {
      nodes, watchList, listMiB, phases, applied: sync.owned, firstSyncMs: sync.ms, firstSyncOutsideMs: Math.round(outside), memoryAtFirstSyncMiB: sync.memoryMiB,
      rssMiB: { atFirstSync: Math.round(atSync.peakMiB), peak: Math.round(end.peakMiB), now: Math.round(end.rssMiB) },
      change: stats(agentMs), changeCalls: stats(calls), changeCallMs: stats(callMs), heartbeat,
      api: { start: { requests: start.requests, bytes: startBytes, how: api.requests.slice(0, start.requests).map((r) => `${r.watch ? 'watch' : 'list'}${r.sendInitialEvents ? '+initial' : ''}${r.limit ? `/limit=${r.limit}` : ''}${r.continue ? '/continue' : ''} ${r.status}`) }, perHour },
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
for (const n of COUNTS) results.push(await run(n, true));
if (FALLBACK) results.push(await run(Math.max(...COUNTS), false));

const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const verdict = (ok) => (ok ? 'met' : 'NOT MET');
const rows = [];
const row = (figure, value, target, ok) => rows.push(`| ${figure} | ${value} | ${target} | ${ok === undefined ? 'reported' : verdict(ok)} |`);
for (const r of results) {
  const how = r.watchList ? 'streaming list' : 'no streaming list: paged list';
  const t = (table) => table[r.nodes];
  row(`first sync, ${r.nodes} Nodes (${how})`, `${r.firstSyncMs} ms (outside: ${r.firstSyncOutsideMs} ms), ${r.applied} routes`, t(TARGETS.firstSyncMs) ? `<= ${t(TARGETS.firstSyncMs)} ms` : '-', t(TARGETS.firstSyncMs) ? r.firstSyncMs <= t(TARGETS.firstSyncMs) : undefined);
  row(`agent peak RSS, ${r.nodes} Nodes (${how})`, `${r.rssMiB.peak} MiB (at first sync ${r.rssMiB.atFirstSync} MiB)`, t(TARGETS.rssMiB) ? `<= ${t(TARGETS.rssMiB)} MiB` : '-', t(TARGETS.rssMiB) ? r.rssMiB.peak <= t(TARGETS.rssMiB) : undefined);
  if (r.nodes >= 5000 && r.watchList) row(`one relevant change, agent time, ${r.nodes} Nodes`, `median ${r.change.median} / p90 ${r.change.p90} ms, ${r.changeCalls.median} changing calls each, the emulator's own time in its calls median ${r.changeCallMs.median.toFixed(1)} ms (n=${r.change.n})`, `p90 <= ${TARGETS.changeP90Ms} ms`, r.change.p90 <= TARGETS.changeP90Ms);
  if (r.nodes >= 5000 && r.watchList) {
    row(`${r.heartbeat.events} heartbeat MODIFIED events, ${r.nodes} Nodes: HNS/route calls`, `${r.heartbeat.hnsAndRouteCalls} (event passes: ${r.heartbeat.eventPasses})`, '0 calls', r.heartbeat.hnsAndRouteCalls === 0 && r.heartbeat.eventPasses === 0);
    row(`${r.heartbeat.events} heartbeat MODIFIED events, ${r.nodes} Nodes: agent CPU`, `${r.heartbeat.cpuMs} ms`, '<= 1000 ms', r.heartbeat.cpuMs <= TARGETS.heartbeatCpuMs);
  }
  row(`API at start, ${r.nodes} Nodes (${how})`, `${r.api.start.requests} requests, ${mib(r.api.start.bytes)} (the Nodes: ${r.listMiB.toFixed(1)} MiB)`, 'reported');
  row(`API per hour of steady state, ${r.nodes} Nodes (${how})`, `${r.api.perHour.requests.toFixed(1)} requests, ${mib(r.api.perHour.bytes)}`, 'reported');
}
process.stdout.write(`\ncni-agent (${MODE}) at real cluster size: Nodes of ~17 KiB (test/agent/real-node.ts), ${EVENTS} relevant changes, ${HEARTBEATS} heartbeats per run\n\n`);
process.stdout.write(`| figure | measured | target | |\n|---|---|---|---|\n${rows.join('\n')}\n`);
process.stdout.write(`\nsteady state per hour = ${STEADY.statusPerNodePerHour} status updates per Node x bytes per event measured + ${STEADY.watchesPerHour} watch restarts (5-10 min timeouts) + ${STEADY.bookmarksPerHour} bookmarks + ${STEADY.relistsPerHour} relists (resyncSeconds 3600 x [1, 1.5)) x the start's requests and bytes\n`);
for (const r of results) process.stdout.write(`first sync, ${r.nodes} Nodes${r.watchList ? '' : ' (no streaming list)'}: agent log opened at ${r.phases.opened} ms, Nodes read at ${r.phases.listed} ms, every route made at ${r.phases.synced} ms\n`);
for (const r of results) process.stdout.write(`start requests, ${r.nodes} Nodes${r.watchList ? '' : ' (no streaming list)'}: ${r.api.start.how.join(', ')}\n`);
const ok = !rows.some((l) => l.endsWith('NOT MET |'));
process.stdout.write(`\n${ok ? 'all targets met' : 'a target was not met'}\n`);
const outDir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, `agent-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ targets: TARGETS, steady: STEADY, results }, null, 2));
process.exitCode = ok ? 0 : 1;
