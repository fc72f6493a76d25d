// `hnsctl validate` (issue 20, item 3) on the built executable against the HNS emulator: per mode a
// conf that fits the node (no errors, no warnings) and broken ones, each finding asserted by the
// key it names and its severity; a conf the plugin refuses is reported with the plugin's own message.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, exampleNode, newNamespace, plugin, type PluginName, runExe, type ScratchNode } from '../helpers/node';

interface Finding {
  severity: 'error' | 'warning' | 'ok' | 'info';
  key: string;
  plugin?: string;
  message: string;
}

interface Validated {
  code: number | null;
  errors: number;
  warnings: number;
  findings: Finding[];
  stdout: string;
  stderr: string;
}

const NETWORK: Record<PluginName, string> = { 'win-l2bridge': 'cbr0', 'host-gateway': 'cbr0', 'l3-upstream': 'l3net', 'win-overlay': 'vxlan0' };

/** A conf that fits the example node of the mode (node-network.json, management IP 192.168.10.21). */
function goodConf(p: PluginName, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    type: p,
    capabilities: p === 'win-overlay' ? { dns: true } : { portMappings: true, dns: true },
    ipam: { type: 'builtin', subnet: '10.244.3.0/24' },
    dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
    clusterCIDR: '10.244.0.0/16',
    serviceCIDR: '10.96.0.0/12',
    nodeIP: '192.168.10.21',
    ...extra,
  };
  return { cniVersion: '1.0.0', name: NETWORK[p], plugins: [entry] };
}

function validate(node: ScratchNode, conf: unknown, args: string[] = [], file = 'net.conflist'): Validated {
  const at = path.join(node.dir, file);
  fs.writeFileSync(at, typeof conf === 'string' ? conf : JSON.stringify(conf, null, 2));
  const r = runExe(plugin('hnsctl'), node.env, '', ['validate', at, '--json', ...args]);
  const json = r.json as { errors: number; warnings: number; findings: Finding[] } | undefined;
  assert.ok(json, `hnsctl validate printed JSON (exit ${r.code}): ${r.stdout} ${r.stderr}`);
  return { code: r.code, errors: json.errors, warnings: json.warnings, findings: json.findings, stdout: r.stdout, stderr: r.stderr };
}

/** The one finding of this severity at this key; fails listing what there is. */
function finding(v: Validated, severity: Finding['severity'], key: string, pattern?: RegExp | string): Finding {
  const hits = v.findings.filter((f) => f.severity === severity && f.key === key);
  const listed = v.findings.map((f) => `${f.severity} ${f.key}: ${f.message}`).join('\n  ');
  assert.ok(hits.length > 0, `a ${severity} at ${key}; findings:\n  ${listed}`);
  const hit = pattern ? hits.find((f) => (typeof pattern === 'string' ? f.message.includes(pattern) : pattern.test(f.message))) : hits[0];
  assert.ok(hit, `a ${severity} at ${key} saying ${pattern}; findings:\n  ${listed}`);
  return hit!;
}

function problems(v: Validated): string[] {
  return v.findings.filter((f) => f.severity === 'error' || f.severity === 'warning').map((f) => `${f.severity} ${f.key}: ${f.message}`);
}

/** What the node agent does beside the host endpoint: forwarding on the bridge vNIC (windows-anchors.md §5.2 step 4). */
async function forwardingOn(node: ScratchNode): Promise<void> {
  const admin = emulatorAdmin(node.emulatorDir);
  for (const i of await admin.hostInterfaces()) {
    if (!/_ep\)$/.test(i.InterfaceAlias)) continue;
    await admin.setHostForwarding({ InterfaceIndex: i.InterfaceIndex }, 4, true);
    await admin.setHostForwarding({ InterfaceIndex: i.InterfaceIndex }, 6, true);
  }
}

async function withNode(p: PluginName, fn: (node: ScratchNode) => Promise<void> | void): Promise<void> {
  const node = exampleNode(p, 'cni-validate-');
  try {
    if (p !== 'win-overlay') await forwardingOn(node);
    await fn(node);
  } finally {
    node.cleanup();
  }
}

// --- a good conf per mode --------------------------------------------------------------------

for (const p of ['win-l2bridge', 'host-gateway', 'l3-upstream', 'win-overlay'] as const) {
  test(`${p}: a conf that fits the node has no error and no warning; exit 0`, () => withNode(p, (node) => {
    const v = validate(node, goodConf(p));
    assert.equal(problems(v), []);
    assert.is(v.code, 0, v.stderr);
    finding(v, 'ok', 'plugins[0]', `${p} accepts the conf`);
    finding(v, 'ok', 'name', `HNS network "${NETWORK[p]}" exists`);
    finding(v, 'ok', 'plugins[0].ipam.subnet');
    finding(v, 'ok', 'plugins[0].nodeIP', 'is on interface');
    finding(v, 'ok', 'plugins[0].gateway', p === 'win-overlay' ? 'distributed router' : 'is the host endpoint');
    finding(v, 'ok', 'plugins[0].clusterCIDR', 'is an OutBoundNAT exception');
    finding(v, 'ok', 'plugins[0].serviceCIDR', 'is an OutBoundNAT exception');
  }));
}

// --- win-l2bridge ----------------------------------------------------------------------------

test('win-l2bridge: an IPAM subnet outside the network is an error at ipam.subnet; exit 1', () => withNode('win-l2bridge', (node) => {
  const v = validate(node, goodConf('win-l2bridge', { ipam: { type: 'builtin', subnet: '10.244.9.0/24' } }));
  finding(v, 'error', 'plugins[0].ipam.subnet', 'is not inside HNS network "cbr0"');
  assert.is(v.code, 1);
  assert.match(v.stderr, 'validate ');
}));

test('win-l2bridge: the gateway .2 held by no host endpoint is an error at gateway', () => withNode('win-l2bridge', (node) => {
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['delete', 'endpoint', 'cbr0_ep']).code, 0);
  const v = validate(node, goodConf('win-l2bridge'));
  finding(v, 'error', 'plugins[0].gateway', '10.244.3.2 (.2 of 10.244.3.0/24) is held by no endpoint');
  assert.is(v.code, 1);
}));

test('win-l2bridge: .2 held by an endpoint that is not the host\'s is an error at gateway', () => withNode('win-l2bridge', (node) => {
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['delete', 'endpoint', 'cbr0_ep']).code, 0);
  const apply = path.join(node.dir, 'pod-holds-gateway.json');
  fs.writeFileSync(apply, JSON.stringify({ endpoints: [{ network: 'cbr0', Name: 'stray_cbr0', IpConfigurations: [{ IpAddress: '10.244.3.2' }] }] }));
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['apply', apply]).code, 0);
  const v = validate(node, goodConf('win-l2bridge'));
  finding(v, 'error', 'plugins[0].gateway', 'is held by endpoint stray_cbr0, in no namespace');
}));

test('win-l2bridge: forwarding off on the bridge vNIC warns at gateway; warnings alone exit 0', () => {
  const node = exampleNode('win-l2bridge', 'cni-validate-');
  try {
    const v = validate(node, goodConf('win-l2bridge'));
    finding(v, 'warning', 'plugins[0].gateway', 'IPv4 forwarding is off on vEthernet (cbr0_ep)');
    assert.is(v.errors, 0);
    assert.is(v.code, 0);
  } finally {
    node.cleanup();
  }
});

test('win-l2bridge: dual-stack on an HNS without it (11.0) is an error at ipam.ranges', () => withNode('win-l2bridge', (node) => {
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['emulator', 'set', 'hnsVersion', '11.0']).code, 0);
  const ipam = { type: 'builtin', ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]] };
  const v = validate(node, goodConf('win-l2bridge', { ipam }));
  finding(v, 'error', 'plugins[0].ipam.ranges', 'dual-stack pods need HNS 11.10 or later; this node runs HNS 11.0');
  assert.is(v.code, 1);
}));

test('win-l2bridge: a conf the plugin refuses is reported at its key with the plugin\'s own message', () => withNode('win-l2bridge', (node) => {
  const conf = goodConf('win-l2bridge', { mtu: 100 });
  const v = validate(node, conf);
  const f = finding(v, 'error', 'plugins[0].mtu');
  // The same conf as the runtime hands it to the plugin: the plugin's ADD refuses it with this message.
  const list = conf as { name: string; cniVersion: string; plugins: Record<string, unknown>[] };
  const stdin = JSON.stringify({ ...list.plugins[0], name: list.name, cniVersion: list.cniVersion });
  const add = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', netns: newNamespace(node) }), stdin);
  assert.is(add.json?.code, 7, add.stdout);
  assert.ok(f.message.includes(add.json.msg), `"${f.message}" carries the plugin's "${add.json.msg}"`);
  assert.is(v.findings.filter((x) => x.key === 'name').length, 0, 'a refused conf is not held against the node');
}));

// --- host-gateway ----------------------------------------------------------------------------

test('host-gateway: exceptions missing the service CIDR are an error at the policy\'s Exceptions', () => withNode('host-gateway', (node) => {
  const policies = [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } } }];
  const v = validate(node, goodConf('host-gateway', { serviceCIDR: undefined, policies }), ['--service-cidr', '10.96.0.0/12']);
  finding(v, 'error', 'plugins[0].policies[0].value.Settings.Exceptions', 'the service CIDR 10.96.0.0/12 (from --service-cidr) is SNATed');
  finding(v, 'ok', 'plugins[0].policies[0].value.Settings.Exceptions', 'the cluster CIDR 10.244.0.0/16 is an OutBoundNAT exception');
  assert.is(v.code, 1);
}));

test('host-gateway: a /8 exception where the cluster is a /16 warns at that exception', () => withNode('host-gateway', (node) => {
  const policies = [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8', '10.96.0.0/12'] } } }];
  const v = validate(node, goodConf('host-gateway', { policies }));
  finding(v, 'warning', 'plugins[0].policies[0].value.Settings.Exceptions[0]', '10.0.0.0/8 is 256 times the size of the cluster CIDR 10.244.0.0/16');
  assert.is(v.findings.filter((f) => f.severity === 'warning' && f.key.endsWith('Exceptions[1]')).length, 0, 'the /12 of the services is not broad');
  assert.is(v.errors, 0);
  assert.is(v.code, 0);
}));

test('host-gateway: a cluster CIDR that does not hold the node\'s pod subnet is an error at clusterCIDR', () => withNode('host-gateway', (node) => {
  const v = validate(node, goodConf('host-gateway'), ['--cluster-cidr=10.245.0.0/16']);
  finding(v, 'warning', 'plugins[0].clusterCIDR', 'is not the cluster CIDR given with --cluster-cidr');
  finding(v, 'error', 'plugins[0].clusterCIDR', 'does not hold this node\'s pod subnet 10.244.3.0/24');
}));

// --- l3-upstream -----------------------------------------------------------------------------

test('l3-upstream: a nodeIP on no interface of the host is an error at nodeIP', () => withNode('l3-upstream', (node) => {
  const v = validate(node, goodConf('l3-upstream', { nodeIP: '192.168.10.99' }));
  finding(v, 'error', 'plugins[0].nodeIP', '192.168.10.99 is on no interface of this host');
  assert.is(v.code, 1);
}));

test('l3-upstream: a network the node does not have is an error at name', () => withNode('l3-upstream', (node) => {
  const v = validate(node, { ...goodConf('l3-upstream'), name: 'l3other' });
  finding(v, 'error', 'name', 'HNS network "l3other" does not exist');
  assert.is(v.code, 1);
}));

test('l3-upstream: routedCIDRs wider than the cluster are meant, and do not warn', () => withNode('l3-upstream', (node) => {
  const v = validate(node, goodConf('l3-upstream', { routedCIDRs: ['10.0.0.0/8'] }));
  assert.equal(problems(v), []);
}));

// --- win-overlay -----------------------------------------------------------------------------

test('win-overlay: mtu and loopbackDSR on an HNS without them (9.2) are errors at their keys', () => withNode('win-overlay', (node) => {
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['emulator', 'set', 'hnsVersion', '9.2']).code, 0);
  const v = validate(node, goodConf('win-overlay', { mtu: 1450, loopbackDSR: true }));
  finding(v, 'error', 'plugins[0].mtu', 'InterfaceParameters');
  finding(v, 'error', 'plugins[0].loopbackDSR', 'this node runs HNS 9.2');
  assert.is(v.code, 1);
}));

test('win-overlay: on an L2Bridge network it is an error at type', () => withNode('win-l2bridge', (node) => {
  const v = validate(node, { ...goodConf('win-overlay'), name: 'cbr0' });
  finding(v, 'error', 'plugins[0].type', 'is of type L2Bridge, and win-overlay runs on Overlay networks');
}));

test('win-overlay: portMappings declared without hostPorts warns; a providerAddress not of this host is an error', () => withNode('win-overlay', (node) => {
  const v = validate(node, goodConf('win-overlay', { capabilities: { portMappings: true, dns: true }, providerAddress: '192.168.10.99' }));
  finding(v, 'warning', 'plugins[0].capabilities.portMappings', 'unless "hostPorts" is true');
  finding(v, 'error', 'plugins[0].providerAddress', 'is on no interface of this host');
  finding(v, 'warning', 'plugins[0].providerAddress', 'is not the network\'s 192.168.10.21');
}));

// --- the file --------------------------------------------------------------------------------

test('entries of other plugins are noted, not judged; a single .conf has its keys at the top', () => withNode('win-l2bridge', (node) => {
  const list = goodConf('win-l2bridge') as { plugins: unknown[] };
  list.plugins.push({ type: 'portmap', capabilities: { portMappings: true } });
  const v = validate(node, list);
  finding(v, 'info', 'plugins[1].type', '"portmap" is not a plugin of this suite');
  assert.is(v.code, 0);
  const single = { cniVersion: '1.0.0', name: 'cbr0', ...(list.plugins[0] as object), nodeIP: '192.168.10.99' };
  const one = validate(node, single, [], 'net.conf');
  finding(one, 'error', 'nodeIP');
  finding(one, 'ok', 'ipam.subnet');
}));

test('exit status 2 for a command line validate does not understand; a file that is not JSON is an error finding', () => withNode('win-l2bridge', (node) => {
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['validate']).code, 2);
  const bad = runExe(plugin('hnsctl'), node.env, '', ['validate', 'x.conflist', '--cluster-cidr', 'nonsense']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, '--cluster-cidr "nonsense" is not a prefix');
  const v = validate(node, '{"cniVersion": "1.0.0",');
  finding(v, 'error', '', 'invalid JSON');
  assert.is(v.code, 1);
  const table = runExe(plugin('hnsctl'), node.env, '', ['validate', path.join(node.dir, 'net.conflist')]);
  assert.match(table.stdout, /^SEVERITY\s+KEY\s+FINDING\n/);
}));

test.run();
