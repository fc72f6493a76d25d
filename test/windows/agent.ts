// cni-agent.exe under Wine, on the Windows code path: the agent loaded from the executable's SEA
// asset, the hcn backend through koffi and the stand-in computenetwork.dll (forwarding to the
// emulator of a scratch node, test/windows/rig.ts), and the service control protocol through
// Wine's own services.exe and sc.exe:
//   1. --once in win-overlay mode (no host routes: the overlay needs none) makes the network and the
//      peers' RemoteSubnetRoute policies, every string freed and handle closed;
//   2. registered with `sc create`, `sc start` reaches RUNNING (a plain executable would fail with
//      error 1053 after 30 s), the agent works as a service (network and conflist made), `sc stop`
//      reaches STOPPED and the process ends, having logged its clean stop.
// Run: node --import tsx test/windows/agent.ts (after test/windows/suite.ts has prepared the prefix,
// or on its own: it prepares what it needs). Prints one line per check, `N passed, N failed` last.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers/wait';
import { assertBalanced, assertThroughServer, BIN_WIN, prepare, startWine, stopWine, TMP, WINE, WineNode, winPath } from './rig';

const WINE_ENV = { WINEPREFIX: path.join(TMP, 'prefix'), WINEDEBUG: '-all' };
const SERVICE = 'cniagent';
const totals = { passed: 0, failed: 0 };

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function check(name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  try {
    await fn();
    totals.passed++;
    say(`  ✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    totals.failed++;
    const e = err as Error & { expects?: unknown; actual?: unknown };
    say(`  ✘ ${name}\n      ${String(e.message).split("\n").join("\n      ")}${e.expects !== undefined ? `\n      expected ${JSON.stringify(e.expects)}\n      actual   ${JSON.stringify(e.actual)}` : ""}`);
  }
}

function wine(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; out: string } {
  const r = spawnSync(WINE, args, { env: { ...process.env, ...WINE_ENV, ...env }, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function state(): string {
  const q = wine(['sc', 'query', SERVICE]).out;
  return /STATE\s*:\s*\d+\s+(\w+)/.exec(q)?.[1] ?? q.trim();
}

/** `sc query` under Wine is slow: every 250 ms. */
const until = (what: string, check: () => boolean, ms: number) => waitFor(what, check, ms, 250);

/** The Linux host's IPv4 routes (/proc/net/route), which Wine's GetIpForwardTable2 reports. */
function linuxRoutes(): string[] {
  const ip = (hex: string) => [0, 1, 2, 3].map((i) => parseInt(hex.slice(6 - 2 * i, 8 - 2 * i), 16)).join('.');
  const bits = (hex: string) => ip(hex).split('.').reduce((n, b) => n + Number(b).toString(2).replace(/0/g, '').length, 0);
  return fs.readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).map((f) => `${ip(f[1]!)}/${bits(f[7]!)} via ${ip(f[2]!)}`).sort();
}

function writeConfig(dir: string, name: string, extra: Record<string, unknown> = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'peers.json'), JSON.stringify([
    { name: 'win-node-4', nodeIP: '192.168.10.22', podCIDR: '10.244.4.0/24', vtepMac: '00-15-5D-D0-00-04' },
    { name: 'linux-node-5', nodeIP: '192.168.10.23', podCIDR: '10.244.5.0/24', vtepMac: 'ae:4f:1c:22:01:9b' },
  ]));
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({
    mode: 'win-overlay', network: 'vxlan0', node: 'win-node-3', podCIDR: '10.244.3.0/24', nodeIP: '192.168.10.21',
    clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', confDir: winPath(path.join(dir, 'conf')),
    peers: { source: 'file', file: winPath(path.join(dir, 'peers.json')) }, stateDir: winPath(path.join(dir, 'state')),
    logFile: winPath(path.join(dir, 'agent.log')), listen: '127.0.0.1:0', reconcileSeconds: 1, ...extra,
  }));
  return file;
}

const ENV_KEY = 'HKLM\\System\\CurrentControlSet\\Control\\Session Manager\\Environment';

/** The system environment as the prefix had it: no stand-in address left from an earlier run (it would override ours). */
function clearSystemEnv(): void {
  wine(['reg', 'delete', ENV_KEY, '/v', 'HCN_STANDIN_ADDR', '/f']);
  stopWine();
}

async function main(): Promise<void> {
  prepare(say);
  clearSystemEnv();
  startWine();
  const node = await WineNode.start('agent', { managementIp: '192.168.10.21' });
  const dir = path.join(node.dir, 'agent');
  try {
    await check('cni-agent.exe --once: the overlay network and one RemoteSubnetRoute per peer, through computenetwork.dll', async () => {
      const r = await node.run(`${BIN_WIN}\\cni-agent.exe`, { args: ['--config', winPath(writeConfig(dir, 'once.json')), '--once'] });
      assert.is(r.code, 0, `${r.stdout}${r.stderr}`);
      assert.equal(JSON.parse(r.stdout), { ok: true, network: 'ready', peers: 'synced', conflist: `${winPath(path.join(dir, 'conf'))}\\10-vxlan0.conflist`, ownedRoutes: 0, ownedPolicies: 2 });
      const net = node.admin.networkByName('vxlan0')!;
      const routes = net.Policies!.filter((p) => p.Type === 'RemoteSubnetRoute').map((p) => p.Settings as { DestinationPrefix: string });
      assert.equal(routes.sort((a, b) => (a.DestinationPrefix < b.DestinationPrefix ? -1 : 1)), [
        { DestinationPrefix: '10.244.4.0/24', IsolationId: 4096, ProviderAddress: '192.168.10.22', DistributedRouterMacAddress: '00:15:5d:d0:00:04' },
        { DestinationPrefix: '10.244.5.0/24', IsolationId: 4096, ProviderAddress: '192.168.10.23', DistributedRouterMacAddress: 'ae:4f:1c:22:01:9b' },
      ]);
      assert.ok(fs.existsSync(path.join(dir, 'conf', '10-vxlan0.conflist')));
      assertThroughServer(node, r, 'cni-agent --once');
      assertBalanced(r, 'cni-agent --once');
    });

    await check('hnsctl.exe list routes --json decodes Wine\'s own iphlpapi.dll (GetIpForwardTable2, FreeMibTable): the Linux host\'s IPv4 routes', async () => {
      const r = await node.run(`${BIN_WIN}\\hnsctl.exe`, { args: ['list', 'routes', '--json'] });
      assert.is(r.code, 0, `${r.stdout}${r.stderr}`);
      const got = (JSON.parse(r.stdout) as { DestinationPrefix: string; NextHop: string }[]).filter((x) => !x.DestinationPrefix.includes(':')).map((x) => `${x.DestinationPrefix} via ${x.NextHop}`).sort();
      assert.equal(got, linuxRoutes());
    });

    await check('as a Windows service: sc start reaches RUNNING, the agent works, sc stop reaches STOPPED with a clean stop', async () => {
      const svcDir = path.join(node.dir, 'service');
      const cfg = writeConfig(svcDir, 'service.json', { network: 'vxlan1', podCIDR: '10.244.30.0/24' });
      // Services start with services.exe's environment: the stand-in's address goes in the
      // system environment, and the Wine session is restarted so that services.exe reads it.
      const env = node.env();
      wine(['reg', 'add', ENV_KEY, '/v', 'HCN_STANDIN_ADDR', '/d', String(env.HCN_STANDIN_ADDR), '/f']);
      stopWine();
      startWine();
      wine(['sc', 'delete', SERVICE]);
      const created = wine(['sc', 'create', SERVICE, 'binPath=', `${BIN_WIN}\\cni-agent.exe --service ${SERVICE} --config ${winPath(cfg)}`]);
      assert.is(created.code, 0, created.out);
      const started = wine(['sc', 'start', SERVICE]);
      assert.is(started.code, 0, `sc start: ${started.out}`);
      await until('RUNNING', () => state() === 'RUNNING', 60_000);
      await until('the service made the network and the conflist', () => fs.existsSync(path.join(svcDir, 'conf', '10-vxlan1.conflist')), 60_000);
      assert.ok(node.admin.networkByName('vxlan1'), 'network made by the service');
      const stopped = wine(['sc', 'stop', SERVICE]);
      assert.is(stopped.code, 0, `sc stop: ${stopped.out}`);
      await until('STOPPED', () => state() === 'STOPPED', 60_000);
      const log = fs.readFileSync(path.join(svcDir, 'agent.log'), 'utf8');
      assert.match(log, /"step":"service-starting"/);
      assert.match(log, /"step":"stopped","outcome":"ok","reason":"service stop"/);
      wine(['sc', 'delete', SERVICE]);
    });
  } finally {
    await node.stop();
    wine(['sc', 'delete', SERVICE]);
    clearSystemEnv();
  }
  say(`${totals.passed} passed, ${totals.failed} failed`);
  process.exitCode = totals.failed ? 1 : 0;
}

main().catch((err) => {
  say(`agent under Wine: ${(err as Error).stack ?? String(err)}`);
  say(`${totals.passed} passed, ${totals.failed + 1} failed`);
  process.exitCode = 1;
});
