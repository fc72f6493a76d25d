// The iphlpapi adapter (shared/host/backends/iphlpapi) on Linux, through koffi, against the C
// stand-in test/standin/iphlpstandin.c: the structure layouts (koffi's, ours, and the stand-in's
// compiler's, which are asserted there to be the real netioapi.h's), the documented call sequences,
// the Win32 errors as typed errors, and every table freed exactly once.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadKoffi } from '../../../shared/hns/backends/hcn/native';
import { createIphlpapiHostRoutes, defaultIphlpapiPath } from '../../../shared/host/backends/iphlpapi/index';
import { structTypes } from '../../../shared/host/backends/iphlpapi/bindings';
import { MIB_IPFORWARD_ROW2, MIB_IPINTERFACE_ROW, MIB_UNICASTIPADDRESS_ROW, SOCKADDR_INET } from '../../../shared/host/backends/iphlpapi/layout';
import { HostRouteError, type HostRoutes } from '../../../shared/host/routes';

const ROOT = path.resolve(__dirname, '../../..');
const SRC = path.join(ROOT, 'test', 'standin', 'iphlpstandin.c');
const SO = path.join(ROOT, 'test', '.tmp', 'standin', 'libiphlpstandin.so');

function build(): string {
  const stale = !fs.existsSync(SO) || fs.statSync(SO).mtimeMs < fs.statSync(SRC).mtimeMs;
  if (stale) {
    fs.mkdirSync(path.dirname(SO), { recursive: true });
    const tmp = `${SO}.${process.pid}.tmp`;
    const r = spawnSync('gcc', ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-fvisibility=hidden', '-o', tmp, SRC], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gcc iphlpstandin.c: ${r.stderr}`);
    fs.renameSync(tmp, SO);
  }
  return SO;
}

const koffi = loadKoffi();
const lib = koffi.load(build());
const reset = lib.func('void IphlpStandinReset(void)');
const addInterface = lib.func('void IphlpStandinAddInterface(uint32_t index, uint64_t luid, const char *alias, int v6, const uint8_t *addr, uint8_t prefix)');
const standinLog = lib.func('const char *IphlpStandinLog(void)');
const counter = lib.func('long IphlpStandinCounter(int which)');

const LUID4 = (6n << 48n) | (4n << 24n);
const LUID7 = (6n << 48n) | (7n << 24n);

function setup(): HostRoutes {
  reset();
  addInterface(4, LUID4, 'vEthernet (Ethernet)', 0, Buffer.from([192, 168, 10, 11]), 24);
  addInterface(4, LUID4, 'vEthernet (Ethernet)', 1, Buffer.from('fd000000000000000000000000000011', 'hex'), 64);
  addInterface(7, LUID7, 'vEthernet (cbr0_ep)', 0, Buffer.from([10, 244, 1, 2]), 24);
  return createIphlpapiHostRoutes({ env: {}, library: SO, koffi });
}

const calls = () => (standinLog() as string).trim().split('\n').filter(Boolean);
const tables = () => ({ allocated: counter(0) as number, freed: counter(1) as number, badFrees: counter(2) as number });

async function rejects(p: Promise<unknown>, kind: string, code: number): Promise<HostRouteError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, HostRouteError);
    assert.is((err as HostRouteError).kind, kind, (err as Error).message);
    assert.is((err as HostRouteError).code, code);
    return err as HostRouteError;
  }
  throw new Error('expected a failure');
}

test('koffi lays the MIB structures out exactly as layout.ts (and the stand-in\'s compiler, asserted against netioapi.h)', () => {
  const t = structTypes(koffi);
  assert.is(koffi.sizeof(t.SOCKADDR_INET!), SOCKADDR_INET.size);
  assert.is(koffi.sizeof(t.IP_ADDRESS_PREFIX!), 32);
  assert.is(koffi.sizeof(t.MIB_IPFORWARD_ROW2!), MIB_IPFORWARD_ROW2.size);
  for (const f of ['InterfaceLuid', 'InterfaceIndex', 'DestinationPrefix', 'NextHop', 'SitePrefixLength', 'ValidLifetime', 'PreferredLifetime', 'Metric', 'Protocol', 'Loopback', 'AutoconfigureAddress', 'Publish', 'Immortal', 'Age', 'Origin'] as const) {
    assert.is(koffi.offsetof(t.MIB_IPFORWARD_ROW2!, f), MIB_IPFORWARD_ROW2[f], `MIB_IPFORWARD_ROW2.${f}`);
  }
  assert.is(koffi.offsetof(t.IP_ADDRESS_PREFIX!, 'PrefixLength') + MIB_IPFORWARD_ROW2.DestinationPrefix, MIB_IPFORWARD_ROW2.DestinationPrefixLength);
  assert.is(koffi.sizeof(t.MIB_IPINTERFACE_ROW!), MIB_IPINTERFACE_ROW.size);
  for (const f of ['Family', 'InterfaceLuid', 'InterfaceIndex', 'ForwardingEnabled', 'SitePrefixLength', 'Metric', 'NlMtu', 'Connected'] as const) {
    assert.is(koffi.offsetof(t.MIB_IPINTERFACE_ROW!, f), MIB_IPINTERFACE_ROW[f], `MIB_IPINTERFACE_ROW.${f}`);
  }
  assert.is(koffi.sizeof(t.MIB_UNICASTIPADDRESS_ROW!), MIB_UNICASTIPADDRESS_ROW.size);
  for (const f of ['Address', 'InterfaceLuid', 'InterfaceIndex', 'OnLinkPrefixLength'] as const) {
    assert.is(koffi.offsetof(t.MIB_UNICASTIPADDRESS_ROW!, f), MIB_UNICASTIPADDRESS_ROW[f], `MIB_UNICASTIPADDRESS_ROW.${f}`);
  }
});

test('the DLL is loaded by full path from System32', () => {
  assert.is(defaultIphlpapiPath({}), 'C:\\Windows\\System32\\iphlpapi.dll');
  assert.is(defaultIphlpapiPath({ SystemRoot: 'D:\\Win' }), 'D:\\Win\\System32\\iphlpapi.dll');
});

test('a route: InitializeIpForwardEntry, then every field the docs leave illegal, then CreateIpForwardEntry2', async () => {
  const host = setup();
  await host.addRoute({ destinationPrefix: '10.244.2.0/24', nextHop: '192.168.10.12', interfaceIndex: 4 });
  await host.addRoute({ destinationPrefix: 'fd00:10:244:2::/64', nextHop: 'fd00::12', interfaceIndex: 4, metric: 10 });
  assert.equal(calls(), [
    'InitializeIpForwardEntry',
    'CreateIpForwardEntry2 luid=0 if=4 dst=10.244.2.0/24 hop=192.168.10.12 metric=256 proto=3 site=0 valid=4294967295 pref=4294967295',
    'InitializeIpForwardEntry',
    'CreateIpForwardEntry2 luid=0 if=4 dst=fd00:10:244:2:0:0:0:0/64 hop=fd00:0:0:0:0:0:0:12 metric=10 proto=3 site=0 valid=4294967295 pref=4294967295',
  ]);
  const routes = await host.listRoutes();
  assert.equal(routes, [
    { destinationPrefix: '10.244.2.0/24', nextHop: '192.168.10.12', interfaceIndex: 4, interfaceLuid: LUID4.toString(), metric: 256, protocol: 'netmgmt' },
    { destinationPrefix: 'fd00:10:244:2::/64', nextHop: 'fd00::12', interfaceIndex: 4, interfaceLuid: LUID4.toString(), metric: 10, protocol: 'netmgmt' },
  ]);
  await host.deleteRoute({ destinationPrefix: '10.244.2.0/24', nextHop: '192.168.10.12', interfaceIndex: 4 });
  assert.equal((await host.listRoutes()).map((r) => r.destinationPrefix), ['fd00:10:244:2::/64']);
  assert.equal(tables(), { allocated: 2, freed: 2, badFrees: 0 });
  await host.dispose();
});

test('Win32 errors become typed errors: exists is a conflict, missing is not-found, a bad row is invalid', async () => {
  const host = setup();
  const r = { destinationPrefix: '10.244.3.0/24', nextHop: '192.168.10.13', interfaceIndex: 4 };
  await host.addRoute(r);
  const dup = await rejects(host.addRoute(r), 'conflict', 5010);
  assert.match(dup.message, /CreateIpForwardEntry2 failed: route to 10\.244\.3\.0\/24 via 192\.168\.10\.13 on interface 4: The object already exists\./);
  await rejects(host.deleteRoute({ ...r, nextHop: '192.168.10.99' }), 'not-found', 1168);
  await rejects(host.addRoute({ ...r, interfaceIndex: 99 }), 'not-found', 1168);
  await rejects(host.addRoute({ ...r, destinationPrefix: '10.244.3.1/24' }), 'invalid', 87);
  await rejects(host.setForwarding(99, 4, true), 'not-found', 1168);
  await host.dispose();
});

test('forwarding: Initialize, Get (which fills the row), then Set with SitePrefixLength zeroed for IPv4; nothing set when already on', async () => {
  const host = setup();
  await host.setForwarding(7, 4, true);
  await host.setForwarding(7, 4, true);
  await host.setForwarding(4, 6, true);
  assert.equal(calls(), [
    'InitializeIpInterfaceEntry',
    'GetIpInterfaceEntry family=2 luid=0 if=7',
    `SetIpInterfaceEntry family=2 luid=${LUID7} if=7 forwarding=1 site=0`,
    'InitializeIpInterfaceEntry',
    'GetIpInterfaceEntry family=2 luid=0 if=7',
    'InitializeIpInterfaceEntry',
    'GetIpInterfaceEntry family=23 luid=0 if=4',
    `SetIpInterfaceEntry family=23 luid=${LUID4} if=4 forwarding=1 site=64`,
  ]);
  const ifaces = await host.listInterfaces();
  assert.equal(ifaces, [
    { index: 4, luid: LUID4.toString(), alias: 'vEthernet (Ethernet)', addresses: [{ address: '192.168.10.11', prefixLength: 24 }, { address: 'fd00::11', prefixLength: 64 }], forwarding: { ipv4: false, ipv6: true } },
    { index: 7, luid: LUID7.toString(), alias: 'vEthernet (cbr0_ep)', addresses: [{ address: '10.244.1.2', prefixLength: 24 }], forwarding: { ipv4: true, ipv6: false } },
  ]);
  assert.equal(tables(), { allocated: 2, freed: 2, badFrees: 0 }, 'the interface and address tables were freed');
  await host.dispose();
});

test.run();
