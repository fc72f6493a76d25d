// Fault injection, the call log, and the admin operations.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZERO_GUID } from '../../../../shared/hns/api';
import { createEmulatorApi } from '../../../../shared/hns/backends/emulator/index';
import { fails, ids, l2bridge, mkEndpoint, mkNamespace, mkNetwork, ok, query, tryEndpoint, V2, withEmulator, attach, modifyNamespace } from '../../../helpers/emulator';

test('a fault with hr fails every matching call with that code and its record, and changes nothing', () =>
  withEmulator(async ({ api, admin }) => {
    await admin.setFaults([{ op: 'CreateNetwork', hr: 0x803b0020 }]);
    const text = await fails(api.createNetwork(ZERO_GUID, JSON.stringify(l2bridge())), 'HCN_E_MANAGER_STOPPED');
    assert.is(text, 'Operation cannot be performed while service is stopping. ');
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify(l2bridge())), 'HCN_E_MANAGER_STOPPED');
    assert.equal(admin.readState().networks, {});
    await mkNamespace(api); // other calls are untouched
  }));

test('count limits a fault to that many calls, consumed in faults.json (visible to every process)', () =>
  withEmulator(async ({ api, admin, dir }) => {
    await admin.setFaults([{ op: 'CreateNamespace', hr: 0x80004005, count: 2 }]);
    const other = createEmulatorApi({ dir }); // another "process" on the same state
    await fails(api.createNamespace(ZERO_GUID, '{}'), 'E_FAIL');
    assert.is(admin.readFaults()[0]!.count, 1);
    await fails(other.createNamespace(ZERO_GUID, '{}'), 'E_FAIL');
    assert.is(admin.readFaults()[0]!.count, 0);
    await mkNamespace(api);
    assert.is(Object.keys(admin.readState().namespaces).length, 2, 'the HostDefault namespace and the one made');
  }));

test('skip lets that many matching calls through before the fault applies (the n-th call fails)', () =>
  withEmulator(async ({ api, admin }) => {
    await admin.setFaults([{ op: 'CreateNamespace', hr: 0x80004005, skip: 2, count: 1 }]);
    await mkNamespace(api);
    await mkNamespace(api);
    await fails(api.createNamespace(ZERO_GUID, '{}'), 'E_FAIL');
    await mkNamespace(api);
    assert.equal(admin.readFaults(), [{ op: 'CreateNamespace', hr: 0x80004005, skip: 0, count: 0 }]);
    assert.is(Object.keys(admin.readState().namespaces).length, 4, 'the HostDefault namespace and the three made');
  }));

test('match limits a fault to calls whose argument text contains it (IDs, documents)', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const victim = await mkEndpoint(api, net.ID!, { Name: 'victim_cbr0' });
    const bystander = await mkEndpoint(api, net.ID!, { Name: 'bystander_cbr0' });
    await admin.setFaults([
      { op: 'CreateEndpoint', hr: 0x803b0013, match: '"ExternalPort":8080' },
      { op: 'DeleteEndpoint', hr: 0x80070490, match: victim.ID! },
    ]);
    await fails(tryEndpoint(api, net.ID!, { Name: 'p', Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080 } }] }), 'HCN_E_PORT_ALREADY_EXISTS');
    await mkEndpoint(api, net.ID!, { Name: 'q' });
    await fails(api.deleteEndpoint(victim.ID!), 'ERROR_NOT_FOUND');
    await ok(api.deleteEndpoint(bystander.ID!));
  }));

test('a fault with delayMs answers late; without hr the call then succeeds', () =>
  withEmulator(async ({ api, admin }) => {
    await admin.setFaults([{ op: 'EnumerateNetworks', delayMs: 150, count: 1 }]);
    const t0 = performance.now();
    assert.equal(await ids(api.enumerateNetworks(query())), []);
    assert.ok(performance.now() - t0 >= 140, 'answered late');
    const t1 = performance.now();
    await ids(api.enumerateNetworks(query()));
    assert.ok(performance.now() - t1 < 140, 'only once');
  }));

test('HNSCall faults fail the version query with an envelope', () =>
  withEmulator(async ({ api, admin }) => {
    await admin.setFaults([{ op: 'HNSCall', hr: 0x800706ba, match: '/globals/version' }]);
    const out = await api.hnsCall('GET', '/globals/version', '');
    assert.is(out.hr, 0x800706ba | 0);
    assert.is(JSON.parse(out.value!).Success, false);
  }));

test('the call log has one line per call: op, the object, the document sent, duration, hr and pid', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    admin.clearCalls();
    const sent = { SchemaVersion: V2, Name: 'ctr_cbr0', IpConfigurations: [{ IpAddress: '10.244.1.9' }] };
    const ep = await mkEndpoint(api, net.ID!, sent);
    await fails(tryEndpoint(api, net.ID!, sent), 'ERROR_OBJECT_ALREADY_EXISTS');
    const calls = admin.readCalls();
    assert.equal(calls.map((c) => c.op), [
      'OpenNetwork', 'CreateEndpoint', 'QueryEndpointProperties', 'CloseEndpoint', 'CloseNetwork',
      'OpenNetwork', 'CreateEndpoint', 'CloseNetwork',
    ]);
    const created = calls[1]!;
    assert.is(created.id, ep.ID);
    assert.is(created.name, 'ctr_cbr0');
    assert.equal(created.doc, sent);
    assert.is(created.hr, '0x00000000');
    assert.is(created.pid, process.pid);
    assert.type(created.ms, 'number');
    assert.is(calls[6]!.hr, '0x80071392');
    assert.is(calls[0]!.id, net.ID);
    assert.is(calls[3]!.id, ep.ID, 'handle calls name their object');
  }));

test('callLog false writes no log', () =>
  withEmulator(async ({ api, admin }) => {
    await mkNamespace(api);
    assert.equal(admin.readCalls(), []);
  }, { callLog: false }));

test('reboot drops endpoints, namespaces, NAT and non-persistent networks; stale IDs are then not found', () =>
  withEmulator(async ({ api, admin }) => {
    const [boot] = await ids(api.enumerateNamespaces(query()));
    const kept = await mkNetwork(api);
    const gone = await mkNetwork(api, l2bridge('np', '10.9.0', { Flags: 8 }));
    const nat = await mkNetwork(api, { SchemaVersion: V2, Name: 'nat', Type: 'NAT', Ipams: [{ Subnets: [{ IpAddressPrefix: '172.16.0.0/24', Routes: [{ NextHop: '172.16.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }] });
    const ep = await mkEndpoint(api, kept.ID!, { Name: 'a' });
    const host = await mkEndpoint(api, kept.ID!, { Name: 'host' });
    await ok(modifyNamespace(api, boot!, attach(host.ID!)));
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!, attach(ep.ID!)));
    await admin.reboot();
    assert.equal(await ids(api.enumerateNetworks(query())), [kept.ID], 'the NAT network is not persisted (network-drivers-topologies.md)');
    assert.equal(await ids(api.enumerateEndpoints(query())), []);
    assert.equal(await ids(api.enumerateNamespaces(query())), [boot], 'the host keeps its default namespace');
    assert.is(admin.readState().namespaces[boot!]!.Resources, undefined, 'emptied');
    await fails(api.openNetwork(nat.ID!), 'HCN_E_NETWORK_NOT_FOUND');
    // Addresses start over.
    assert.equal((await mkEndpoint(api, kept.ID!, { Name: 'again' })).IpConfigurations, [{ IpAddress: '10.244.1.2', PrefixLength: 24 }]);
    await fails(api.openNetwork(gone.ID!), 'HCN_E_NETWORK_NOT_FOUND');
    await fails(api.deleteEndpoint(ep.ID!), 'HCN_E_ENDPOINT_NOT_FOUND');
    await fails(api.openNamespace(ns.ID!), 'ERROR_NOT_FOUND');
  }));

test('reboot with rebootKeepsNetworks false drops every network', () =>
  withEmulator(async ({ api, admin }) => {
    await mkNetwork(api);
    await admin.reboot();
    assert.equal(admin.readState().networks, {});
  }, { rebootKeepsNetworks: false }));

test('the Server 2019 RTM profile loses every network at reboot', () =>
  withEmulator(async ({ api, admin }) => {
    await mkNetwork(api);
    await admin.reboot();
    assert.equal(admin.readState().networks, {});
  }, { profile: 'ws2019-rtm' }));

test('restartHns (Restart-Service hns) drops every endpoint, keeps networks and namespaces; namespaces lose their endpoints', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'pod_cbr0', Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6 } }] as never });
    await mkEndpoint(api, net.ID!, { Name: 'remote', Flags: 1, IpConfigurations: [{ IpAddress: '10.9.9.9' }] });
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!, attach(ep.ID!)));
    assert.is(await admin.restartHns(), 2);
    const s = admin.readState();
    assert.equal(Object.keys(s.networks), [net.ID]);
    assert.equal(s.endpoints, {});
    assert.ok(s.namespaces[ns.ID!]);
    assert.is(s.namespaces[ns.ID!]!.Resources, undefined);
    await fails(api.openEndpoint(ep.ID!), 'HCN_E_ENDPOINT_NOT_FOUND');
    // What the endpoint held is free again.
    const again = await mkEndpoint(api, net.ID!, { Name: 'pod_cbr0', Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6 } }] as never });
    assert.equal(again.IpConfigurations, ep.IpConfigurations);
  }));

test('service down: every call of every process fails with RPC_S_SERVER_UNAVAILABLE until the service starts again', () =>
  withEmulator(async ({ api, admin, dir }) => {
    const net = await mkNetwork(api);
    const h = await ok(api.openNetwork(net.ID!));
    admin.stopService();
    const other = createEmulatorApi({ dir });
    await fails(api.enumerateNetworks(query()), 'RPC_S_SERVER_UNAVAILABLE', 'The RPC server is unavailable. ');
    await fails(other.createNamespace(ZERO_GUID, '{}'), 'RPC_S_SERVER_UNAVAILABLE');
    await fails(api.closeNetwork(h), 'RPC_S_SERVER_UNAVAILABLE');
    const v = await api.hnsCall('GET', '/globals/version', '');
    assert.is(v.hr, 0x800706ba | 0);
    assert.is(JSON.parse(v.value!).Success, false);
    admin.stopService(0x800706bf);
    await fails(api.openNetwork(net.ID!), 'RPC_S_CALL_FAILED_DNE', 'The remote procedure call failed and did not execute. ');
    admin.startService();
    await ok(api.closeNetwork(h));
    assert.equal(await ids(api.enumerateNetworks(query())), [net.ID]);
  }));

test('RPC failures are injectable like any HRESULT, with their Win32 texts', () =>
  withEmulator(async ({ api, admin }) => {
    await admin.setFaults([
      { op: 'CreateNamespace', hr: 0x800706be, count: 1 },
      { op: 'CreateNamespace', hr: 0x800706d9, count: 1 },
    ]);
    await fails(api.createNamespace(ZERO_GUID, '{}'), 'RPC_S_CALL_FAILED', 'The remote procedure call failed. ');
    await fails(api.createNamespace(ZERO_GUID, '{}'), 'EPT_S_NOT_REGISTERED', 'There are no more endpoints available from the endpoint mapper. ');
  }));

test('notFoundHr changes the code for a missing object of one kind', () =>
  withEmulator(async ({ api }) => {
    await fails(api.openEndpoint('7CC03AF7-2978-449F-9968-595862B80F8B'), 'ERROR_NOT_FOUND');
    await fails(api.openNetwork('7CC03AF7-2978-449F-9968-595862B80F8B'), 'HCN_E_NETWORK_NOT_FOUND');
  }, { notFoundHr: { Endpoint: 0x80070490 } as never }));

test('reset returns the host to a fresh install: no objects, faults, calls or config', () =>
  withEmulator(async ({ api, admin }) => {
    admin.setConfig({ hnsVersion: { Major: 9, Minor: 2 } });
    await mkNetwork(api);
    await admin.setFaults([{ op: 'OpenNetwork', hr: 0x80004005 }]);
    await admin.reset();
    assert.equal(admin.readState().networks, {});
    assert.equal(Object.values(admin.readState().namespaces).map((n) => [n.Type, n.NamespaceId]), [['HostDefault', 1]]);
    assert.equal(admin.readFaults(), []);
    assert.equal(admin.readCalls(), []);
    assert.equal(admin.config().hnsVersion, { Major: 13, Minor: 3 }, 'the default profile (Server 2022)');
    assert.is(admin.config().profile, 'ws2022');
    await mkNetwork(api);
  }));

test.run();
