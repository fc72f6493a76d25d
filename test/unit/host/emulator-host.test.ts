// The emulator's host IP stack (shared/hns/backends/emulator/host.ts) through the HostRoutes
// adapter the agent uses: interfaces that follow the HNS state, the route table's rules and Win32
// errors, and what an interface going away (or a reboot) does to routes and forwarding.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HnsClient } from '../../../shared/hns/client';
import { createEmulatorHostRoutes } from '../../../shared/host/backends/emulator';
import { HostRouteError } from '../../../shared/host/routes';
import { withEmulator } from '../../helpers/emulator';

const l2bridge = (name = 'cbr0') => ({
  SchemaVersion: { Major: 2, Minor: 0 },
  Name: name,
  Type: 'L2Bridge' as const,
  Ipams: [{ Type: 'Static' as const, Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }] }],
  Policies: [{ Type: 'NetAdapterName' as const, Settings: { NetworkAdapterName: 'Ethernet 2' } }],
});

async function kind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    assert.instance(err, HostRouteError);
    return `${(err as HostRouteError).kind} ${(err as HostRouteError).code}`;
  }
}

test('interfaces follow HNS: the adapter, its vEthernet while an external network exists, a vNIC per HostDefault endpoint', () =>
  withEmulator(async ({ dir, api, admin }) => {
    admin.updateConfig({ managementIp: '192.168.10.11' });
    const host = createEmulatorHostRoutes(dir);
    const hns = new HnsClient(api);
    const before = await host.listInterfaces();
    assert.equal(before.map((i) => [i.alias, i.addresses]), [['Ethernet', [{ address: '192.168.10.11', prefixLength: 24 }]]]);
    const net = await hns.createNetwork(l2bridge());
    const ep = await hns.createEndpoint(net.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, Name: 'cbr0_ep', IpConfigurations: [{ IpAddress: '10.244.1.2', PrefixLength: 24 }] });
    let ifaces = await host.listInterfaces();
    assert.equal(ifaces.map((i) => i.alias), ['vEthernet (Ethernet 2)'], 'an endpoint in no namespace has no host vNIC');
    assert.not.equal(ifaces[0]!.index, before[0]!.index, 'the vSwitch replaced the adapter: a new interface');
    const hostNs = (await hns.listNamespaces({ IsDefault: true }))[0]!;
    await hns.addNamespaceEndpoint(hostNs.ID!, ep.ID!);
    ifaces = await host.listInterfaces();
    assert.equal(ifaces.map((i) => [i.alias, i.addresses.map((a) => `${a.address}/${a.prefixLength}`)]), [['vEthernet (Ethernet 2)', ['192.168.10.11/24']], ['vEthernet (cbr0_ep)', ['10.244.1.2/24']]]);
    const routes = await host.listRoutes();
    assert.equal(routes.map((r) => [r.destinationPrefix, r.nextHop, r.protocol]), [['192.168.10.0/24', '0.0.0.0', 'local'], ['10.244.1.0/24', '0.0.0.0', 'local']], 'each interface\'s own subnet is on-link');
    assert.equal(ifaces.map((i) => i.luid), ifaces.map((i) => ((6n << 48n) | (BigInt(i.index) << 24n)).toString()), 'an Ethernet NET_LUID');
  }));

test('routes: made on an interface, refused twice, refused with host bits, a missing interface or a missing route', () =>
  withEmulator(async ({ dir, admin }) => {
    admin.updateConfig({ managementIp: '192.168.10.11' });
    const host = createEmulatorHostRoutes(dir);
    const [uplink] = await host.listInterfaces();
    const r = { destinationPrefix: '10.244.2.0/24', nextHop: '192.168.10.12', interfaceIndex: uplink!.index };
    assert.is(await kind(host.addRoute(r)), 'ok');
    assert.is(await kind(host.addRoute(r)), 'conflict 5010');
    assert.is(await kind(host.addRoute({ ...r, nextHop: '192.168.10.13' })), 'ok', 'another next hop is another route');
    assert.is(await kind(host.addRoute({ ...r, destinationPrefix: '10.244.2.1/24' })), 'invalid 87');
    assert.is(await kind(host.addRoute({ ...r, nextHop: 'fd00::1' })), 'invalid 87');
    assert.is(await kind(host.addRoute({ ...r, interfaceIndex: 999 })), 'not-found 1168');
    assert.is(await kind(host.deleteRoute({ ...r, nextHop: '192.168.10.99' })), 'not-found 1168');
    assert.is(await kind(host.deleteRoute(r)), 'ok');
    assert.equal((await host.listRoutes()).filter((x) => x.protocol === 'netmgmt').map((x) => `${x.destinationPrefix} ${x.nextHop} ${x.metric}`), ['10.244.2.0/24 192.168.10.13 256']);
    const calls = admin.readCalls().map((c) => `${c.op} ${c.hr}`);
    assert.ok(calls.includes('CreateIpForwardEntry2 0x80071392'), 'failures are in calls.log as HRESULT_FROM_WIN32');
  }));

test('an interface that goes away takes its routes and forwarding flags; its successor starts clean', () =>
  withEmulator(async ({ dir, api, admin }) => {
    admin.updateConfig({ managementIp: '192.168.10.11' });
    const host = createEmulatorHostRoutes(dir);
    const hns = new HnsClient(api);
    const net = await hns.createNetwork(l2bridge());
    const [uplink] = await host.listInterfaces();
    await host.addRoute({ destinationPrefix: '10.244.2.0/24', nextHop: '192.168.10.12', interfaceIndex: uplink!.index });
    await host.setForwarding(uplink!.index, 4, true);
    assert.ok((await host.listInterfaces())[0]!.forwarding.ipv4);
    await hns.deleteNetwork(net.ID!);
    await hns.createNetwork(l2bridge());
    const [again] = await host.listInterfaces();
    assert.not.equal(again!.index, uplink!.index);
    assert.not.ok(again!.forwarding.ipv4, 'forwarding is off on the new vNIC');
    assert.equal((await host.listRoutes()).filter((x) => x.protocol === 'netmgmt'), [], 'the routes went with the old interface');
    assert.is(await kind(host.setForwarding(uplink!.index, 4, true)), 'not-found 1168');
  }));

test('a reboot drops the routes made at run time and the forwarding flags; reset forgets everything', () =>
  withEmulator(async ({ dir, admin }) => {
    const host = createEmulatorHostRoutes(dir);
    const [nic] = await host.listInterfaces();
    await host.addRoute({ destinationPrefix: '10.244.2.0/24', nextHop: '192.0.2.12', interfaceIndex: nic!.index });
    await host.setForwarding(nic!.index, 4, true);
    await admin.reboot();
    assert.equal((await host.listRoutes()).filter((x) => x.protocol === 'netmgmt'), []);
    assert.not.ok((await host.listInterfaces())[0]!.forwarding.ipv4);
    await host.addRoute({ destinationPrefix: '10.244.2.0/24', nextHop: '192.0.2.12', interfaceIndex: nic!.index });
    assert.is(await admin.flushHostRoutes(), 1);
    await admin.reset();
    assert.equal((await admin.hostRoutes()).filter((x) => x.Protocol === 'NetMgmt'), []);
  }));

test.run();
