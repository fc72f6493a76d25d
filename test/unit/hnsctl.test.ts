// hnsctl in-process: its commands over an emulator, output captured.

import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HcnApi } from '../../shared/hns/api';
import { HnsClient } from '../../shared/hns/client';
import { writeFileAtomic } from '../../shared/sys/atomic';
import { run } from '../../tools/hnsctl/cli';
import fs from 'node:fs';
import { EmulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { l2bridge, tempDir, V2, withEmulator, type Emu } from '../helpers/emulator';
import { decodeText } from '../../shared/sys/text';

interface Ran {
  code: number;
  out: string;
  err: string;
  opened: number;
}

async function hnsctl(e: Emu, argv: string[], files: Record<string, string> = {}, api: HcnApi = e.api): Promise<Ran> {
  const r: Ran = { code: -1, out: '', err: '', opened: 0 };
  r.code = await run(argv, {
    openApi: async () => (r.opened++, api),
    out: (t) => (r.out += t),
    err: (t) => (r.err += t),
    readFile: (f) => {
      if (!(f in files)) throw new Error(`ENOENT: no such file ${f}`);
      return files[f]!;
    },
  });
  return r;
}

const GUID_LINE = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\n$/;

const APPLY = JSON.stringify({
  networks: [l2bridge('cbr0')],
  namespaces: [{ Name: 'pod-a' }],
  endpoints: [
    { network: 'cbr0', namespace: 'pod-a', Name: 'abc123_cbr0', IpConfigurations: [{ IpAddress: '10.244.1.7' }] },
    { network: 'cbr0', Name: 'loose99_cbr0', IpConfigurations: [{ IpAddress: '10.244.1.3' }] },
  ],
  hostEndpoints: [{ network: 'cbr0', Name: 'cbr0_ep', IpConfigurations: [{ IpAddress: '10.244.1.2' }] }],
});

test('apply creates what the file describes and prints it; a second apply changes nothing', () =>
  withEmulator(async (e) => {
    const first = await hnsctl(e, ['apply', 'node.json'], { 'node.json': APPLY });
    assert.is(first.code, 0, first.err);
    const lines = first.out.trim().split('\n');
    assert.match(lines[0]!, /^created network cbr0 [0-9A-F-]{36}$/);
    assert.match(lines[1]!, /^created namespace pod-a [0-9A-F-]{36}$/);
    assert.match(lines[2]!, /^created endpoint abc123_cbr0 [0-9A-F-]{36} 10\.244\.1\.7$/);
    assert.match(lines[3]!, /^attached endpoint abc123_cbr0 to namespace /);
    assert.match(lines[4]!, /^created endpoint loose99_cbr0 [0-9A-F-]{36} 10\.244\.1\.3$/);
    assert.match(lines[5]!, /^created endpoint cbr0_ep .* 10\.244\.1\.2$/);
    assert.match(lines[6]!, /^unchanged namespace HostDefault /, 'every host has its HostDefault namespace');
    assert.match(lines[7]!, /^attached endpoint cbr0_ep to namespace /);
    assert.is(lines.length, 8);
    const s = e.admin.readState();
    const def = Object.values(s.namespaces).find((n) => n.Type === 'HostDefault')!;
    assert.ok(def.Resources!.some((r) => s.endpoints[r.Data.Id]?.Name === 'cbr0_ep'), 'the host endpoint is in the HostDefault namespace');

    const again = await hnsctl(e, ['apply', 'node.json'], { 'node.json': APPLY });
    assert.is(again.code, 0, again.err);
    assert.not.match(again.out, /created|attached/);
    assert.is(again.out.trim().split('\n').filter((l) => l.startsWith('unchanged ')).length, 6, again.out);
    assert.is(Object.keys(e.admin.readState().endpoints).length, 3);
  }));

test('apply refuses a malformed file before creating anything, and names the failing object when the service refuses', () =>
  withEmulator(async (e) => {
    const bad = await hnsctl(e, ['apply', 'f'], { f: JSON.stringify({ networks: [l2bridge()], pods: [] }) });
    assert.is(bad.code, 1);
    assert.is(bad.err, 'hnsctl: apply f: unknown key "pods"; known: networks, namespaces, endpoints, hostEndpoints\n');
    assert.equal(e.admin.readState().networks, {});
    const noNet = await hnsctl(e, ['apply', 'f'], { f: JSON.stringify({ endpoints: [{ Name: 'x' }] }) });
    assert.match(noNet.err, 'endpoints[0] needs "network"');
    const refused = await hnsctl(e, ['apply', 'f'], { f: JSON.stringify({ networks: [l2bridge('cbr0'), { Name: 'bad', Type: 'Bridge' }] }) });
    assert.is(refused.code, 1);
    assert.match(refused.out, /^created network cbr0 /);
    assert.match(refused.err, /^hnsctl: apply f: creating network "bad": HcnCreateNetwork failed: Invalid network type\. .*\(0x803B000B\)\n$/);
    const missing = await hnsctl(e, ['apply', 'nope.json']);
    assert.is(missing.code, 1);
    assert.match(missing.err, /^hnsctl: apply: cannot read nope\.json/);
  }));

test('list prints tables, or the service\'s objects with --json', () =>
  withEmulator(async (e) => {
    await hnsctl(e, ['apply', 'f'], { f: APPLY });
    const nets = await hnsctl(e, ['list', 'networks']);
    assert.is(nets.code, 0);
    const [header, row] = nets.out.trim().split('\n');
    assert.match(header!, /^ID\s+NAME\s+TYPE\s+SUBNETS\s+FLAGS$/);
    assert.match(row!, /^[0-9A-F-]{36}\s+cbr0\s+L2Bridge\s+10\.244\.1\.0\/24\s+-$/);
    const eps = await hnsctl(e, ['list', 'endpoints']);
    assert.match(eps.out, /abc123_cbr0\s+cbr0\s+10\.244\.1\.7\s+00-15-5D-A0-00-00\s+[0-9A-F-]{36}\s+local/);
    const nsJson = JSON.parse((await hnsctl(e, ['list', 'namespaces', '--json'])).out);
    assert.is(nsJson.length, 2);
    assert.equal(nsJson.map((n: { Type?: string }) => n.Type ?? 'Host').sort(), ['Host', 'HostDefault']);
    const bad = await hnsctl(e, ['list', 'pods']);
    assert.is(bad.code, 2);
    assert.match(bad.err, /^hnsctl: list what\?/);
  }));

test('pods lists pod endpoints with container, network, IP and namespace, and flags orphans', () =>
  withEmulator(async (e) => {
    await hnsctl(e, ['apply', 'f'], { f: APPLY });
    const c = new HnsClient(e.api);
    const gone = await c.createNamespace();
    const net = await c.getNetworkByName('cbr0');
    const ep = await c.createEndpoint(net.ID!, { SchemaVersion: V2, Name: 'gone42_cbr0' });
    await c.addNamespaceEndpoint(gone.ID!, ep.ID!);
    // The emulator clears the endpoint's reference when its namespace goes; whether Windows
    // always does is unconfirmed, so hnsctl must also report a reference to a namespace that is gone.
    const s = e.admin.readState();
    delete s.namespaces[gone.ID!];
    await e.admin.writeState(s);
    const pods = JSON.parse((await hnsctl(e, ['pods', '--json'])).out) as { containerId: string; orphaned: boolean; reason?: string; ips: string[]; network: string; namespace?: string }[];
    assert.equal(pods.map((p) => [p.containerId, p.network, p.ips, p.orphaned, p.reason ?? null]), [
      ['abc123', 'cbr0', ['10.244.1.7'], false, null],
      ['loose99', 'cbr0', ['10.244.1.3'], true, 'no namespace'],
      ['gone42', 'cbr0', ['10.244.1.4'], true, 'namespace gone'],
    ]);
    assert.ok(pods[0]!.namespace, 'the attached pod names its namespace');
    const table = (await hnsctl(e, ['pods'])).out;
    assert.match(table, /^CONTAINER\s+NETWORK\s+IP\s+NAMESPACE\s+ATTACHED\s+ENDPOINT\s+STATE\n/);
    assert.match(table, /loose99\s+cbr0\s+10\.244\.1\.3\s+-\s+0\s+[0-9A-F-]{36}\s+orphaned \(no namespace\)/);
    assert.match(table, /abc123\s+cbr0\s+10\.244\.1\.7\s+[0-9A-F-]{36}\s+0\s+[0-9A-F-]{36}\s+no container attached/);
    assert.not.match(table, /cbr0_ep/, 'the host endpoint is not a pod');
  }));

test('namespace create prints only the GUID; namespace delete removes it', () =>
  withEmulator(async (e) => {
    const made = await hnsctl(e, ['namespace', 'create']);
    assert.is(made.code, 0);
    assert.match(made.out, GUID_LINE);
    const id = made.out.trim();
    assert.ok(e.admin.readState().namespaces[id]);
    const del = await hnsctl(e, ['namespace', 'delete', id.toLowerCase()]);
    assert.is(del.code, 0, del.err);
    assert.equal(Object.values(e.admin.readState().namespaces).map((n) => n.Type), ['HostDefault']);
    const again = await hnsctl(e, ['namespace', 'delete', id]);
    assert.is(again.code, 1);
    assert.is(again.err, `hnsctl: deleting namespace ${id}: HcnDeleteNamespace failed: Element not found. (0x80070490)\n`);
  }));

test('delete network|endpoint by name or ID; an ambiguous name is refused', () =>
  withEmulator(async (e) => {
    await hnsctl(e, ['apply', 'f'], { f: APPLY });
    const byName = await hnsctl(e, ['delete', 'endpoint', 'loose99_cbr0']);
    assert.is(byName.code, 0, byName.err);
    assert.match(byName.out, /^deleted endpoint loose99_cbr0 [0-9A-F-]{36}\n$/);
    const c = new HnsClient(e.api);
    const net = await c.getNetworkByName('cbr0');
    await c.createEndpoint(net.ID!, { SchemaVersion: V2, Name: 'twin' });
    await c.createEndpoint(net.ID!, { SchemaVersion: V2, Name: 'twin' });
    const twin = await hnsctl(e, ['delete', 'endpoint', 'twin']);
    assert.is(twin.code, 1);
    assert.match(twin.err, /^hnsctl: 2 endpoints are named twin \(.*\); delete one by ID\n$/);
    const byId = await hnsctl(e, ['delete', 'network', net.ID!.toLowerCase()]);
    assert.is(byId.code, 0, byId.err);
    assert.equal(e.admin.readState().networks, {});
    assert.equal(e.admin.readState().endpoints, {}, 'the network took its endpoints');
    const none = await hnsctl(e, ['delete', 'network', 'cbr0']);
    assert.is(none.code, 1);
    assert.is(none.err, 'hnsctl: no network with name cbr0\n');
  }));

test('version prints the backend, HNS version and features', () =>
  withEmulator(async (e) => {
    const v = await hnsctl(e, ['version']);
    assert.is(v.code, 0);
    assert.match(v.out, /^BACKEND\s+PROFILE\s+HNS\s+SCHEMA\s+FEATURES\nemulator\s+ws2019-kb4489899 \(config\.json\)\s+9\.2\s+2\.0\s+remoteSubnet,hostRoute\n$/);
    const j = JSON.parse((await hnsctl(e, ['version', '--json'])).out);
    assert.equal(j, { backend: 'emulator', version: { Major: 9, Minor: 2 }, features: ['remoteSubnet', 'hostRoute'] });
  }, { profile: 'ws2019-kb4489899' }));

test('version on a default emulator: the Server 2022 profile, HNS 13.3, schema 2.11', () =>
  withEmulator(async (e) => {
    const v = await hnsctl(e, ['version']);
    assert.match(v.out, /\nemulator\s+ws2022 \(default\)\s+13\.3\s+2\.11\s+/);
  }));

test('emulator profile / profiles / set / show change and show the emulated host', () =>
  withEmulator(async (e) => {
    const list = await hnsctl(e, ['emulator', 'profiles']);
    assert.is(list.code, 0);
    assert.match(list.out, /^PROFILE\s+HNS\s+SCHEMA\s+WINDOWS\s+BUILD\n/);
    assert.match(list.out, /\nws2019\s+9\.5\s+2\.0\s+Windows Server 2019, current servicing/);
    assert.match(list.out, /\nws2025\s+15\.4\s+2\.16\s+/);
    const set = await hnsctl(e, ['emulator', 'profile', '2019']);
    assert.is(set.code, 0, set.err);
    assert.is(set.out, 'ws2019: Windows Server 2019, current servicing, HNS 9.5, schema 2.0 (from config.json)\n');
    assert.equal(e.admin.config().hnsVersion, { Major: 9, Minor: 5 });
    assert.match((await hnsctl(e, ['version'])).out, /ws2019 \(config\.json\)\s+9\.5\s+2\.0/);
    const knob = await hnsctl(e, ['emulator', 'set', 'providerAddressDelayMs', '1500']);
    assert.is(knob.out, 'providerAddressDelayMs = 1500\n');
    await hnsctl(e, ['emulator', 'set', 'hnsVersion', '9.3']);
    const shown = JSON.parse((await hnsctl(e, ['emulator', 'show'])).out);
    assert.is(shown.profile, 'ws2019');
    assert.is(shown.providerAddressDelayMs, 1500);
    assert.equal(shown.hnsVersion, { Major: 9, Minor: 3 }, 'a knob overrides the profile');
    assert.equal(shown.schemaVersion, { Major: 2, Minor: 0 });
    const again = await hnsctl(e, ['emulator', 'profile', 'ws2025']);
    assert.is(again.code, 0);
    assert.equal(e.admin.config().hnsVersion, { Major: 15, Minor: 4 }, 'choosing a profile drops the version knobs');
    assert.is(e.admin.config().providerAddressDelayMs, 1500, 'other knobs stay');
    const refused: [string[], number, RegExp][] = [
      [['emulator', 'profile', 'ws2030'], 1, /^hnsctl: unknown profile ws2030; known: .*\bws2025\b/],
      [['emulator', 'set', 'nope', '1'], 2, /^hnsctl: emulator set: unknown knob nope; known: .*\bipAllocation\b/],
      [['emulator', 'set', 'ipAllocation', 'sideways'], 2, /^hnsctl: emulator set: ipAllocation is one of lowest, random\n/],
    ];
    for (const [argv, code, re] of refused) {
      const bad = await hnsctl(e, argv);
      assert.is(bad.code, code, `${argv.join(' ')}: ${bad.err}`);
      assert.match(bad.err, re, argv.join(' '));
    }
  }));

test('emulator restart-hns, reboot and service stop|start', () =>
  withEmulator(async (e) => {
    await hnsctl(e, ['apply', 'f'], { f: APPLY });
    const restart = await hnsctl(e, ['emulator', 'restart-hns']);
    assert.is(restart.out, 'restarted the HNS service: 3 endpoint(s) dropped\n');
    assert.equal(e.admin.readState().endpoints, {});
    assert.is(Object.keys(e.admin.readState().networks).length, 1);
    assert.is((await hnsctl(e, ['emulator', 'reboot'])).out, 'rebooted\n');
    assert.equal(Object.values(e.admin.readState().namespaces).map((n) => n.Type), ['HostDefault']);
    await hnsctl(e, ['emulator', 'service', 'stop']);
    const down = await hnsctl(e, ['list', 'networks']);
    assert.is(down.code, 1);
    assert.match(down.err, /The RPC server is unavailable\. \(0x800706BA\)/);
    await hnsctl(e, ['emulator', 'service', 'start']);
    assert.is((await hnsctl(e, ['list', 'networks'])).code, 0);
  }));

test('emulator commands on the real service (hcn backend) are a clear error; usage errors do not open the backend', () =>
  withEmulator(async (e) => {
    const hcn = Object.assign(Object.create(e.api) as HcnApi, { backend: 'hcn', dir: undefined });
    const r = await hnsctl(e, ['emulator', 'restart-hns'], {}, hcn);
    assert.is(r.code, 1);
    assert.is(r.err, 'hnsctl: emulator restart-hns: this host talks to the real HNS service (backend hcn); emulator commands change only the HNS emulator (CNI_HNS_BACKEND=emulator)\n');
    for (const argv of [['emulator'], ['emulator', 'frob'], ['emulator', 'service', 'pause'], ['emulator', 'set', 'x']]) {
      const u = await hnsctl(e, argv);
      assert.is(u.code, 2, argv.join(' '));
      assert.is(u.opened, 0, argv.join(' '));
    }
  }));

const V2_EXPORT = {
  ActivityId: undefined,
  ID: '2CA473CC-84A9-481F-A1F7-CA49865A01A5',
  Name: 'cbr0',
  Type: 'L2Bridge',
  Ipams: [{ Type: 'Static', Subnets: [{ ID: '5B0D6D0C-8C0E-4E7A-9D0E-7C8A2E6B1F00', IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }] }],
  Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }, { Type: 'ProviderAddress', Settings: { ProviderAddress: '10.0.0.4' } }],
  MacPool: { Ranges: [{ StartMacAddress: '00-15-5D-52-C0-00', EndMacAddress: '00-15-5D-52-CF-FF' }] },
  Dns: {},
  Version: 55834574851,
  State: 1,
  Health: { Data: { LastErrorCode: 0 } },
  SchemaVersion: { Major: 2, Minor: 0 },
};

test('apply takes a bare v2 network document, as Get-HnsNetwork | ConvertTo-Json exports it (service-filled fields left out)', () =>
  withEmulator(async (e) => {
    const r = await hnsctl(e, ['apply', 'net.json'], { 'net.json': JSON.stringify(V2_EXPORT) });
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /^created network cbr0 [0-9A-F-]{36}\n$/);
    const net = Object.values(e.admin.readState().networks)[0]!;
    assert.is.not(net.ID, V2_EXPORT.ID, 'the other node\'s ID is not reused');
    assert.equal(net.Policies, [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }], 'the other node\'s ProviderAddress is not copied');
    assert.equal(net.MacPool, V2_EXPORT.MacPool);
    const again = await hnsctl(e, ['apply', 'net.json'], { 'net.json': JSON.stringify(V2_EXPORT) });
    assert.match(again.out, /^unchanged network cbr0 /);
  }));

test('apply takes an array of networks, PowerShell\'s {value, Count} wrapper and UTF-16 files', () =>
  withEmulator(async (e) => {
    const two = [{ ...V2_EXPORT, Name: 'a' }, { ...V2_EXPORT, Name: 'b', Ipams: [{ Subnets: [{ IpAddressPrefix: '10.244.2.0/24', Routes: [{ NextHop: '10.244.2.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }];
    const r = await hnsctl(e, ['apply', 'f'], { f: JSON.stringify(two) });
    assert.is(r.code, 0, r.err);
    assert.is(r.out.trim().split('\n').length, 2);
    const wrapped = JSON.stringify({ value: [{ ...V2_EXPORT, Name: 'c', Ipams: [{ Subnets: [{ IpAddressPrefix: '10.244.3.0/24' }] }] }], Count: 1 });
    // What Windows PowerShell 5.1's `>` writes: UTF-16LE with a byte order mark, read as hnsctl reads files.
    const utf16 = decodeText(Buffer.from(`\uFEFF${wrapped}`, 'utf16le'));
    const w = await hnsctl(e, ['apply', 'f'], { f: utf16 });
    assert.is(w.code, 0, w.err);
    assert.match(w.out, /^created network c /);
    const cut = await hnsctl(e, ['apply', 'f'], { f: JSON.stringify({ Name: 'd', Type: 'L2Bridge', SchemaVersion: { Major: 2, Minor: 0 }, Ipams: ['@{Type=Static; Subnets=System.Object[]}'] }) });
    assert.is(cut.code, 1);
    assert.match(cut.err, /ConvertTo-Json -Depth 10/);
  }));

test('apply takes a v1 network (hns.psm1 / docs shape): Subnets, NetworkAdapterName, DNSServerList, flat policies', () =>
  withEmulator(async (e) => {
    const v1 = {
      Name: 'vxlan0', Type: 'overlay', NetworkAdapterName: 'Ethernet', DNSServerList: '10.96.0.10, 10.96.0.11', ManagementIP: '10.0.0.4', DrMacAddress: '00-15-5D-D0-00-01',
      Subnets: [{ AddressPrefix: '10.244.3.0/24', GatewayAddress: '10.244.3.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }],
      Policies: [{ Type: 'VxlanPort', Port: 4789 }, { Type: 'HostRoute' }],
    };
    const r = await hnsctl(e, ['apply', 'f'], { f: JSON.stringify(v1) });
    assert.is(r.code, 0, r.err);
    const net = Object.values(e.admin.readState().networks)[0]!;
    assert.is(net.Type, 'Overlay');
    assert.equal(net.Ipams, [{ Subnets: [{ ID: net.Ipams![0]!.Subnets![0]!.ID, IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }], Policies: [{ Type: 'VSID', Settings: { IsolationId: 4096 } }] }] }]);
    assert.equal(net.Policies!.slice(0, 3), [
      { Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } },
      { Type: 'VxlanPort', Settings: { Port: 4789 } },
      { Type: 'HostRoute', Settings: {} },
    ]);
    assert.equal(net.Dns, { ServerList: ['10.96.0.10', '10.96.0.11'] });
  }));

test('an old whole-state state.json in the emulator directory is imported at the next call', () =>
  withEmulator(async (e) => {
    await hnsctl(e, ['apply', 'f'], { f: APPLY });
    const before = e.admin.readState();
    const other = tempDir();
    try {
      writeFileAtomic(path.join(other, 'state.json'), JSON.stringify(before));
      const { createEmulatorApi } = await import('../../shared/hns/backends/emulator/index');
      const api = createEmulatorApi({ dir: other });
      const r = await hnsctl(e, ['list', 'endpoints', '--json'], {}, api);
      assert.is(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).map((x: { ID: string }) => x.ID), Object.keys(before.endpoints));
      assert.not.ok(fs.existsSync(path.join(other, 'state.json')), 'imported, then removed');
      assert.equal(new EmulatorAdmin(other).readState(), before);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  }));

test('usage errors exit 2 without opening the backend; help prints usage', () =>
  withEmulator(async (e) => {
    for (const argv of [[], ['frobnicate'], ['list'], ['list', 'networks', '--yaml'], ['delete', 'namespace', 'x'], ['namespace', 'create', 'extra']]) {
      const r = await hnsctl(e, argv);
      assert.is(r.code, 2, argv.join(' '));
      assert.match(r.err, /^hnsctl: .*\nusage: hnsctl <command>/);
      assert.is(r.out, '');
    }
    const help = await hnsctl(e, ['--help']);
    assert.is(help.code, 0);
    assert.match(help.out, /^usage: hnsctl <command>/);
    assert.is(help.opened, 0);
  }));

test('a backend that cannot be opened is a one-line error', () =>
  withEmulator(async () => {
    let err = '';
    const r = await run(['list', 'networks'], { openApi: () => Promise.reject(new Error('CNI_HNS_BACKEND=x is not a backend')), out: () => undefined, err: (t) => (err += t), readFile: () => '' });
    assert.is(r, 1);
    assert.is(err, 'hnsctl: CNI_HNS_BACKEND=x is not a backend\n');
  }));

test.run();
