// Enumeration, filters, handles and HNSCall.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostComputeNetwork } from '../../../../shared/hns/model/network';
import { fails, ids, l2bridge, mkEndpoint, mkNamespace, mkNetwork, ok, query, V2, withEmulator } from '../../../helpers/emulator';

test('Enumerate returns upper-case GUIDs in creation order; an empty or absent query lists all', () =>
  withEmulator(async ({ api }) => {
    assert.equal(await ids(api.enumerateNetworks(query())), []);
    const a = await mkNetwork(api, l2bridge('a', '10.1.1'));
    const b = await mkNetwork(api, l2bridge('b', '10.1.2'));
    assert.equal(await ids(api.enumerateNetworks(query())), [a.ID, b.ID]);
    assert.equal(await ids(api.enumerateNetworks('')), [a.ID, b.ID]);
    assert.equal(await ids(api.enumerateNetworks(JSON.stringify({ Flags: 1 }))), [a.ID, b.ID], 'WSL sends no SchemaVersion');
    assert.equal(await ids(api.enumerateNetworks(JSON.stringify({ SchemaVersion: V2, Filter: '' }))), [a.ID, b.ID]);
  }));

test('filters: ID (any case), Name (exact), no match is [] not an error', () =>
  withEmulator(async ({ api }) => {
    const a = await mkNetwork(api, l2bridge('cbr0', '10.1.1'));
    await mkNetwork(api, l2bridge('cbr1', '10.1.2'));
    assert.equal(await ids(api.enumerateNetworks(query({ ID: a.ID!.toLowerCase() }))), [a.ID]);
    assert.equal(await ids(api.enumerateNetworks(query({ Name: 'cbr0' }))), [a.ID]);
    assert.equal(await ids(api.enumerateNetworks(query({ Name: 'CBR0' }))), []);
    assert.equal(await ids(api.enumerateNetworks(query({ Name: 'none' }))), []);
  }));

test('endpoint filters: VirtualNetwork (GUID, any case) and VirtualNetworkName, ANDed with Name', () =>
  withEmulator(async ({ api }) => {
    const n1 = await mkNetwork(api, l2bridge('cbr0', '10.1.1'));
    const n2 = await mkNetwork(api, l2bridge('cbr1', '10.1.2'));
    const e1 = await mkEndpoint(api, n1.ID!, { Name: 'ctr_x' });
    const e2 = await mkEndpoint(api, n2.ID!, { Name: 'ctr_x' });
    const e3 = await mkEndpoint(api, n2.ID!, { Name: 'ctr_y' });
    assert.equal(await ids(api.enumerateEndpoints(query({ VirtualNetwork: n2.ID!.toLowerCase() }))), [e2.ID, e3.ID]);
    assert.equal(await ids(api.enumerateEndpoints(query({ VirtualNetworkName: 'cbr0' }))), [e1.ID]);
    assert.equal(await ids(api.enumerateEndpoints(query({ Name: 'ctr_x' }))), [e1.ID, e2.ID]);
    assert.equal(await ids(api.enumerateEndpoints(query({ Name: 'ctr_x', VirtualNetwork: n2.ID }))), [e2.ID]);
    assert.equal(await ids(api.enumerateEndpoints(query({ Name: 'ctr_y', VirtualNetworkName: 'cbr0' }))), []);
  }));

test('namespace filter IsDefault finds the HostDefault namespaces (the host\'s own first)', () =>
  withEmulator(async ({ api }) => {
    const [boot] = await ids(api.enumerateNamespaces(query({ IsDefault: true })));
    const plain = await mkNamespace(api);
    const def = await mkNamespace(api, { SchemaVersion: V2, Type: 'HostDefault' });
    assert.equal(await ids(api.enumerateNamespaces(query({ IsDefault: true }))), [boot, def.ID]);
    assert.equal(await ids(api.enumerateNamespaces(query({ IsDefault: false }))), [plain.ID]);
    assert.equal(await ids(api.enumerateNamespaces(query({ ID: plain.ID!.toLowerCase() }))), [plain.ID]);
  }));

test('a filter key the service does not understand is refused rather than matching everything', () =>
  withEmulator(async ({ api }) => {
    await fails(api.enumerateEndpoints(query({ HostComputeNetwork: '2CA473CC-84A9-481F-A1F7-CA49865A01A5' })), 'E_INVALIDARG', /cannot be filtered by HostComputeNetwork/);
    await fails(api.enumerateNetworks(query({ VirtualNetwork: 'x' })), 'E_INVALIDARG');
  }));

test('QueryProperties answers the object; a v1 query (Major 1) is E_NOTIMPL', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const h = await ok(api.openNetwork(net.ID!));
    assert.equal(JSON.parse(await ok(api.queryNetworkProperties(h, query({ Name: 'ignored here' })))) as HostComputeNetwork, net);
    await fails(api.queryNetworkProperties(h, JSON.stringify({ SchemaVersion: { Major: 1, Minor: 0 } })), 'E_NOTIMPL');
    await ok(api.closeNetwork(h));
  }));

test('handles: a closed handle and a handle of another kind are ERROR_INVALID_HANDLE; one whose object was deleted gives its not-found code', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const ns = await mkNamespace(api);
    const hn = await ok(api.openNetwork(net.ID!));
    const he = await ok(api.openEndpoint(ep.ID!));
    const hs = await ok(api.openNamespace(ns.ID!));
    assert.is(api.openHandleCount(), 3);
    await fails(api.queryEndpointProperties(hn, query()), 'ERROR_INVALID_HANDLE', 'The handle is invalid. ');
    await fails(api.closeNamespace(he), 'ERROR_INVALID_HANDLE');
    await ok(api.deleteEndpoint(ep.ID!));
    await ok(api.deleteNamespace(ns.ID!));
    await fails(api.queryEndpointProperties(he, query()), 'HCN_E_ENDPOINT_NOT_FOUND');
    await fails(api.modifyNamespace(hs, JSON.stringify({ ResourceType: 'Container', RequestType: 'Add', Settings: { ContainerId: 'c' } })), 'ERROR_NOT_FOUND');
    await ok(api.deleteNetwork(net.ID!));
    await fails(api.queryNetworkProperties(hn, query()), 'HCN_E_NETWORK_NOT_FOUND');
    for (const [close, h] of [[api.closeNetwork, hn], [api.closeEndpoint, he], [api.closeNamespace, hs]] as const) await ok(close.call(api, h));
    assert.is(api.openHandleCount(), 0);
    await fails(api.closeNetwork(hn), 'ERROR_INVALID_HANDLE');
    await fails(api.queryNetworkProperties(hn, query()), 'ERROR_INVALID_HANDLE');
    await fails(api.closeEndpoint(12345), 'ERROR_INVALID_HANDLE');
  }));

test('HNSCall GET /globals/version: the envelope with the configured version', () =>
  withEmulator(async ({ api }) => {
    const out = await api.hnsCall('GET', '/globals/version', '');
    assert.is(out.hr, 0);
    assert.equal(JSON.parse(out.value!), { Success: true, Output: { Major: 13, Minor: 4 } });
  }, { hnsVersion: { Major: 13, Minor: 4 } }));

test('HNSCall GET /networks/: the v1 view with ManagementIP and Subnets[{AddressPrefix, GatewayAddress}]', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, { ...l2bridge('vxlan0', '10.244.0'), Type: 'Overlay', Dns: { ServerList: ['10.96.0.10', '10.96.0.11'] } });
    await mkEndpoint(api, net.ID!, { Name: 'a' });
    const list = JSON.parse(await ok(api.hnsCall('GET', '/networks/', '')));
    assert.is(list.Success, true);
    assert.equal(list.Output, [{
      ID: net.ID, Name: 'vxlan0', Type: 'Overlay', ManagementIP: '192.0.2.10',
      Subnets: [{ AddressPrefix: '10.244.0.0/24', GatewayAddress: '10.244.0.1' }],
      MacPools: net.MacPool!.Ranges, CurrentEndpointCount: 1, Version: net.Version, DNSServerList: '10.96.0.10,10.96.0.11',
    }]);
    const one = JSON.parse(await ok(api.hnsCall('GET', `/networks/${net.ID!.toLowerCase()}`, '')));
    assert.is(one.Output.ID, net.ID);
  }));

test('HNSCall failures: a failing HRESULT and an envelope with Success false', () =>
  withEmulator(async ({ api }) => {
    const missing = await api.hnsCall('GET', '/networks/2CA473CC-84A9-481F-A1F7-CA49865A01A5', '');
    assert.is(missing.hr, 0x80070490 | 0);
    assert.equal(JSON.parse(missing.value!), { Success: false, Error: 'Element not found. ', ErrorCode: 0x80070490 });
    await fails(api.hnsCall('GET', '/policylists/', ''), 'E_NOTIMPL');
    const post = await api.hnsCall('POST', '/networks/', '{}');
    assert.is(JSON.parse(post.value!).Success, false);
    assert.ok(post.hr < 0);
  }));

test.run();
