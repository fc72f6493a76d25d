// The agent on one emulated node with the file peer source and `--once`: what each mode makes,
// what it refuses, and configuration errors that name the key.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { RecordStore } from '../../shared/node/records';
import { AGENT, HNSCTL } from './cluster';
import { prepare } from './prepare';

const test = suite('agent: one node, file peers, --once');

interface Node {
  dir: string;
  hns: string;
  env: NodeJS.ProcessEnv;
  config(extra: Record<string, unknown>): string;
  once(extra?: Record<string, unknown>): { code: number | null; out: string; err: string; json?: Record<string, unknown> };
  peers(list: unknown[]): void;
}

let tmp: string;

function node(name: string): Node {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const hns = path.join(dir, 'hns');
  const env = { PATH: process.env.PATH, CNI_HNS_BACKEND: 'emulator', CNI_HNS_EMULATOR_DIR: hns, CNI_STATE_DIR: path.join(dir, 'cni-state') };
  const n: Node = {
    dir,
    hns,
    env,
    config(extra) {
      const file = path.join(dir, 'agent.json');
      fs.writeFileSync(file, JSON.stringify({
        mode: 'host-gateway', network: 'cbr0', node: 'me', podCIDR: '10.244.1.0/24', nodeIP: '192.0.2.10', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12',
        confDir: path.join(dir, 'conf'), peers: { source: 'file', file: 'peers.json' }, stateDir: path.join(dir, 'state'), logFile: path.join(dir, 'agent.log'), listen: '127.0.0.1:0', ...extra,
      }));
      return file;
    },
    once(extra = {}) {
      const file = n.config(extra);
      const r = spawnSync(AGENT, ['--config', file, '--once'], { env, encoding: 'utf8', timeout: 60_000 });
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse((r.stdout || r.stderr).trim().split('\n').pop()!);
      } catch {
        json = undefined;
      }
      return { code: r.status, out: r.stdout, err: r.stderr, ...(json ? { json } : {}) };
    },
    peers(list) {
      fs.writeFileSync(path.join(dir, 'peers.json'), JSON.stringify(list));
    },
  };
  n.peers([]);
  return n;
}

function hnsctl(n: Node, ...args: string[]): string {
  const r = spawnSync(HNSCTL, args, { env: n.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hnsctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test.before(() => {
  prepare();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-agent-local-'));
});

test.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('host-gateway from a peer file: --once makes the node and its routes, then follows the file', () => {
  const n = node('hostgw');
  n.peers([{ name: 'me', nodeIP: '192.0.2.10', podCIDR: '10.244.1.0/24' }, { name: 'b', nodeIP: '192.0.2.11', podCIDR: '10.244.2.0/24' }, { name: 'c', nodeIP: '192.0.2.12', podCIDR: '10.244.3.0/24' }]);
  const r = n.once();
  assert.is(r.code, 0, r.err + r.out);
  assert.equal(r.json, { ok: true, network: 'ready', peers: 'synced', conflist: path.join(n.dir, 'conf', '10-cbr0.conflist'), ownedRoutes: 2, ownedPolicies: 0 });
  const routes = JSON.parse(hnsctl(n, 'list', 'routes', '--json')) as { DestinationPrefix: string; NextHop: string; Protocol: string }[];
  assert.equal(routes.filter((x) => x.Protocol === 'netmgmt').map((x) => `${x.DestinationPrefix} ${x.NextHop}`), ['10.244.2.0/24 192.0.2.11', '10.244.3.0/24 192.0.2.12']);
  // Again: nothing to do (no call that changes anything).
  emulatorAdmin(n.hns).clearCalls();
  assert.is(n.once().code, 0);
  const changing = emulatorAdmin(n.hns).readCalls().filter((x) => /^(Create|Delete|Modify|SetIp)/.test(x.op));
  assert.equal(changing, [], 'a second run changes nothing');
  // A peer leaves, another comes.
  n.peers([{ name: 'b', nodeIP: '192.0.2.11', podCIDR: '10.244.2.0/24' }, { name: 'd', nodeIP: '192.0.2.13', podCIDR: '10.244.4.0/24' }]);
  assert.is(n.once().code, 0);
  const after = (JSON.parse(hnsctl(n, 'list', 'routes', '--json')) as { DestinationPrefix: string; Protocol: string }[]).filter((x) => x.Protocol === 'netmgmt').map((x) => x.DestinationPrefix);
  assert.equal(after, ['10.244.2.0/24', '10.244.4.0/24']);
  // A broken file keeps the last good list: nothing is removed.
  const good = hnsctl(n, 'list', 'routes', '--json');
  emulatorAdmin(n.hns).clearCalls();
  fs.writeFileSync(path.join(n.dir, 'peers.json'), '[{"name": "b", "nodeIP": "not-an-ip"}]');
  const bad = n.once();
  assert.is(bad.code, 1);
  assert.match(bad.err, /\[0\]\.nodeIP/);
  const kept = (JSON.parse(hnsctl(n, 'list', 'routes', '--json')) as { DestinationPrefix: string; Protocol: string }[]).filter((x) => x.Protocol === 'netmgmt').map((x) => x.DestinationPrefix);
  assert.equal(kept, ['10.244.2.0/24', '10.244.4.0/24'], 'the peer routes of the last good list are still there');
  assert.equal(JSON.parse(hnsctl(n, 'list', 'routes', '--json')), JSON.parse(good), 'the host route table is as it was');
  assert.equal(emulatorAdmin(n.hns).readCalls().filter((x) => /^(Create|Delete|Modify|SetIp)/.test(x.op)), [], 'nothing was changed');
});

function peerRoutes(n: Node): string[] {
  return (JSON.parse(hnsctl(n, 'list', 'routes', '--json')) as { DestinationPrefix: string; NextHop: string; Protocol: string }[]).filter((x) => x.Protocol === 'netmgmt').map((x) => `${x.DestinationPrefix} via ${x.NextHop}`).sort();
}

test('a peer file with hostile entries: the sane peers get their routes, the others none, each named in the log and the readiness detail', () => {
  const n = node('hostile');
  n.peers([
    { name: 'good', nodeIP: '192.0.2.30', podCIDR: '10.244.3.0/24' },
    { name: 'svc', nodeIP: '192.0.2.31', podCIDR: '10.96.0.0/12' },
    { name: 'subnet', nodeIP: '192.0.2.32', podCIDR: '192.0.2.0/24' },
    { name: 'v6', nodeIP: ['192.0.2.33', 'fd00::33'], podCIDR: ['10.244.9.0/24', '::/0'] },
    { name: 'self-hop', nodeIP: '192.0.2.10', podCIDR: '10.244.4.0/24' },
    { name: 'loop-hop', nodeIP: '127.0.0.1', podCIDR: '10.244.5.0/24' },
    { name: 'far-hop', nodeIP: '198.51.100.7', podCIDR: '10.244.6.0/24' },
    { name: 'half', nodeIP: '192.0.2.34', podCIDR: '10.244.7.128/25' },
    { name: 'wide', nodeIP: '192.0.2.35', podCIDR: '10.244.6.0/23' },
    { name: 'seven', nodeIP: '192.0.2.36', podCIDR: '10.244.7.0/24' },
  ]);
  const r = n.once();
  assert.is(r.code, 0, r.err + r.out);
  assert.equal(peerRoutes(n), ['10.244.3.0/24 via 192.0.2.30', '10.244.9.0/24 via 192.0.2.33']);
  const refused = (r.json!.refused as { peer: string; rule: string }[]).map((p) => `${p.peer}:${p.rule}`).sort();
  assert.equal(refused, ['far-hop:next-hop', 'half:overlap', 'loop-hop:next-hop', 'self-hop:next-hop', 'seven:overlap', 'subnet:outside-cluster', 'svc:outside-cluster', 'v6:family', 'wide:overlap']);
  assert.is(r.json!.refusedPeers, 9);
  const log = fs.readFileSync(path.join(n.dir, 'agent.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const warning = log.find((l) => l.step === 'peer-problems' && l.outcome === 'warning')!;
  assert.ok(warning, 'a warning names the refused peers');
  assert.equal((warning.problems as { peer: string }[]).length, 9);
});

test('a damaged ownership record (truncated, empty, garbage, a directory, a null entry) is set aside; the restart adopts its routes and still removes a departed peer\'s', () => {
  const n = node('damaged');
  const peers = ['a', 'b', 'c', 'd', 'e', 'f'].map((x, i) => ({ name: x, nodeIP: `192.0.2.${40 + i}`, podCIDR: `10.244.${10 + i}.0/24` }));
  n.peers(peers);
  assert.is(n.once().code, 0);
  const record = path.join(n.dir, 'state', 'cbr0.json');
  const good = fs.readFileSync(record, 'utf8');
  const damage: [string, () => void][] = [
    ['truncated', () => fs.writeFileSync(record, good.slice(0, good.length / 2))],
    ['empty', () => fs.writeFileSync(record, '')],
    ['garbage', () => fs.writeFileSync(record, '\u0000\u0001 not json')],
    ['a directory', () => { fs.rmSync(record); fs.mkdirSync(record); }],
    ['a null entry', () => fs.writeFileSync(record, JSON.stringify({ ...JSON.parse(good), routes: [null] }))],
  ];
  let left = [...peers];
  for (const [kind, spoil] of damage) {
    spoil();
    left = left.slice(1);
    n.peers(left);
    const r = n.once();
    assert.is(r.code, 0, `${kind}: ${r.err}${r.out}`);
    assert.equal(peerRoutes(n), left.map((p) => `${p.podCIDR} via ${p.nodeIP}`).sort(), `${kind}: the departed peer's route removed, the others kept`);
    assert.is(r.json!.ownedRoutes, left.length, `${kind}: every remaining route is owned again`);
    const log = fs.readFileSync(path.join(n.dir, 'agent.log'), 'utf8');
    assert.match(log, /"step":"record-damaged"/, kind);
    assert.match(log, /"step":"record-rebuilt"/, kind);
  }
  const aside = fs.readdirSync(path.join(n.dir, 'state')).filter((f) => f.startsWith('cbr0.json.damaged-') && !f.endsWith('.journal'));
  assert.is(aside.length, 3, `the newest three set-aside records are kept (${aside.join(', ')})`);
  const again = new RecordStore(record).load('cbr0', 'host-gateway');
  assert.is(again.damaged, undefined, 'a whole record again');
  assert.is(again.record.routes.length, left.length, 'the record (with its journal) owns the remaining routes');
});

test('under umask 000 the folders the agent makes are not world-writable: conf 0755, state 0700, record 0600, conflist 0644', () => {
  const n = node('umask');
  n.peers([{ name: 'b', nodeIP: '192.0.2.11', podCIDR: '10.244.2.0/24' }]);
  const file = n.config({ confDir: path.join(n.dir, 'made', 'conf'), stateDir: path.join(n.dir, 'made', 'state') });
  const r = spawnSync('sh', ['-c', `umask 000; exec "$0" --config "$1" --once`, AGENT, file], { env: n.env, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr + r.stdout);
  const mode = (p: string) => (fs.statSync(path.join(n.dir, 'made', p)).mode & 0o777).toString(8);
  assert.equal([mode('conf'), mode('state'), mode('state/cbr0.json'), mode('conf/10-cbr0.conflist')], ['755', '700', '600', '644']);
});

test('win-l2bridge and l3-upstream: network, host endpoint at .2 attached to the host, forwarding, conflist; no routes', () => {
  for (const mode of ['win-l2bridge', 'l3-upstream']) {
    const n = node(mode);
    n.peers([{ name: 'b', nodeIP: '192.0.2.11', podCIDR: '10.244.2.0/24' }]);
    const r = n.once({ mode, network: 'l2net', podCIDR: ['10.244.1.0/24', 'fd00:10:244:1::/64'], nodeIP: '192.0.2.10' });
    assert.is(r.code, 0, r.err + r.out);
    const st = emulatorAdmin(n.hns).readState();
    const net = Object.values(st.networks)[0]!;
    assert.is(net.Name, 'l2net');
    assert.equal(net.Ipams![0]!.Subnets!.map((s) => [s.IpAddressPrefix, s.Routes![0]!.NextHop]), [['10.244.1.0/24', '10.244.1.1'], ['fd00:10:244:1::/64', 'fd00:10:244:1::1']]);
    const ep = Object.values(st.endpoints)[0]!;
    assert.is(ep.Name, 'l2net_ep');
    assert.equal(ep.IpConfigurations!.map((c) => c.IpAddress), ['10.244.1.2', 'fd00:10:244:1::2']);
    const hostDefault = Object.values(st.namespaces).find((ns) => ns.Type === 'HostDefault')!;
    assert.is(ep.HostComputeNamespace, hostDefault.ID);
    const routes = (JSON.parse(hnsctl(n, 'list', 'routes', '--json')) as { Protocol: string }[]).filter((x) => x.Protocol === 'netmgmt');
    assert.equal(routes, [], 'no peer state in this mode');
    const ifaces = JSON.parse(hnsctl(n, 'list', 'interfaces', '--json')) as { Forwarding: { IPv4: boolean; IPv6: boolean } }[];
    assert.ok(ifaces.every((i) => i.Forwarding.IPv4 && i.Forwarding.IPv6), 'forwarding on both families on both host vNICs');
    const conf = JSON.parse(fs.readFileSync(path.join(n.dir, 'conf', '10-l2net.conflist'), 'utf8'));
    assert.is(conf.plugins[0].type, mode);
    assert.equal(conf.plugins[0].ipam, { type: 'builtin', ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]] });
  }
});

test('a network of the same name but another subnet or type is refused, and left as it is', () => {
  const n = node('conflict');
  hnsctl(n, 'apply', path.join(__dirname, '..', '..', 'plugins', 'win-l2bridge', 'examples', 'node-network.json'));
  const before = emulatorAdmin(n.hns).readState();
  const r = n.once();
  assert.is(r.code, 1);
  assert.match(r.err, /HNS network "cbr0" \([0-9A-F-]+\) has subnet\(s\) 10\.244\.3\.0\/24, fd00:10:244:3::\/64, but this node's pod subnet is 10\.244\.1\.0\/24/);
  const overlay = n.once({ mode: 'win-overlay', podCIDR: '10.244.3.0/24' });
  assert.is(overlay.code, 1);
  assert.match(overlay.err, /is of type L2Bridge, but mode win-overlay needs Overlay/);
  const after = emulatorAdmin(n.hns).readState();
  assert.equal(Object.keys(after.networks), Object.keys(before.networks), 'the network was not deleted');
  assert.equal(Object.keys(after.endpoints), Object.keys(before.endpoints), 'nor its endpoints');
  assert.ok(!fs.existsSync(path.join(n.dir, 'conf', '10-cbr0.conflist')), 'no conflist for a network that is not right');
});

test('win-overlay waits (bounded) for the provider address and DR MAC', () => {
  const n = node('overlay');
  emulatorAdmin(n.hns).updateConfig({ providerAddressDelayMs: 700 });
  n.peers([{ name: 'b', nodeIP: '192.0.2.11', podCIDR: '10.244.2.0/24', vtepMac: '0e-2a-0a-f4-02-01' }, { name: 'c', nodeIP: '192.0.2.12', podCIDR: '10.244.3.0/24' }]);
  const slow = n.once({ mode: 'win-overlay', network: 'vxlan0', networkWaitSeconds: 0.2 });
  assert.is(slow.code, 1);
  assert.match(slow.err, /has not filled in the ProviderAddress and DrMacAddress/);
  const r = n.once({ mode: 'win-overlay', network: 'vxlan0', networkWaitSeconds: 5, vni: 4097 });
  assert.is(r.code, 1, 'the network exists with VNI 4096; 4097 is refused');
  assert.match(r.err, /has VNI 4096, but the agent is configured with 4097/);
  const ok = n.once({ mode: 'win-overlay', network: 'vxlan0', networkWaitSeconds: 5 });
  assert.is(ok.code, 0, ok.err);
  const net = emulatorAdmin(n.hns).networkByName('vxlan0')!;
  assert.equal(net.Policies!.filter((p) => p.Type === 'RemoteSubnetRoute').map((p) => p.Settings), [{ DestinationPrefix: '10.244.2.0/24', IsolationId: 4096, ProviderAddress: '192.0.2.11', DistributedRouterMacAddress: '0e:2a:0a:f4:02:01' }]);
});

test('configuration errors name the key and change nothing', () => {
  const n = node('config');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ vni: 5000 }, /key "vni" applies to win-overlay only/],
    [{ mode: 'win-overlay', vni: 12 }, /key "vni" .*4096/],
    [{ peers: { source: 'file' } }, /key "peers.file" is required/],
    [{ peers: { source: 'kubernetes', file: 'x' } }, /key "peers.file" does not go with this peer source/],
    [{ nodeIp: '1.2.3.4' }, /key "nodeIp" is not allowed here/],
    [{ clusterCIDR: '10.244.0.1/16' }, /key "clusterCIDR"/],
    [{ mode: 'flannel' }, /key "mode" must be one of/],
    [{ podCIDR: undefined }, /key "podCIDR" is required with the file peer source/],
  ];
  for (const [extra, re] of cases) {
    const r = n.once(extra);
    assert.is(r.code, 2, `${JSON.stringify(extra)}: ${r.err}`);
    assert.match(r.err, re);
  }
  assert.ok(!fs.existsSync(n.hns) || Object.keys(emulatorAdmin(n.hns).readState().networks).length === 0);
  const usage = spawnSync(AGENT, ['--bogus'], { encoding: 'utf8' });
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /usage: cni-agent --config <file>/);
  const version = spawnSync(AGENT, ['--version'], { encoding: 'utf8' });
  assert.is(version.status, 0);
  assert.match(version.stdout, /^cni-agent \d/);
});

test('an empty or relative CNI_HNS_EMULATOR_DIR is refused, naming it: no second, fresh HNS store under the state folder', () => {
  const n = node('emulator-dir');
  for (const value of ['', 'hns']) {
    const r = spawnSync(AGENT, ['--config', n.config({}), '--once'], { env: { ...n.env, CNI_HNS_EMULATOR_DIR: value }, cwd: n.dir, encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 1, `${JSON.stringify(value)}: ${r.stderr}`);
    assert.match(r.stderr, /CNI_HNS_EMULATOR_DIR=".*" is (empty|not an absolute path)/);
  }
  assert.not.ok(fs.existsSync(path.join(n.dir, 'cni-state', 'hns-emulator')), 'no store under the state folder');
  assert.not.ok(fs.existsSync(n.hns), 'nor in the working directory');
});

test('--service off Windows says so', () => {
  const n = node('service');
  const r = spawnSync(AGENT, ['--config', n.config({}), '--service'], { env: n.env, encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 2);
  assert.match(r.stderr, /--service works on Windows only/);
});

test.run();
