import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZERO_GUID } from '../../../../shared/hns/api';
import type { HostComputeNetwork } from '../../../../shared/hns/model/network';
import { validate as validNetwork } from '../../../../shared/hns/model/network.validator';
import { fails, get, ids, l2bridge, mkEndpoint, mkNamespace, mkNetwork, modifyNamespace, attach, modifyNetwork, ok, query, V2, withEmulator } from '../../../helpers/emulator';

const UPPER_GUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

test('create fills what the service fills: upper-case ID, State 1, Version, Health, MacPool, subnet IDs; Static IPAM type omitted', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, l2bridge('cbr0'));
    assert.match(net.ID!, UPPER_GUID);
    assert.is(net.State, 1);
    assert.is(net.Version, 13 * 2 ** 32 + 3, 'the default profile is Server 2022 (HNS 13.3): (13 << 32) | 3 without 32-bit truncation');
    assert.ok(net.Health);
    assert.equal(net.MacPool, { Ranges: [{ StartMacAddress: '00-15-5D-A0-00-00', EndMacAddress: '00-15-5D-A0-0F-FF' }] });
    assert.is(net.Type, 'L2Bridge');
    assert.is(net.Ipams![0]!.Type, undefined, 'Static (0) is omitted as the service omits zero enums');
    assert.match(net.Ipams![0]!.Subnets![0]!.ID!, UPPER_GUID);
    assert.ok(validNetwork(net), `the output is a valid network document: ${JSON.stringify(validNetwork.errors)}`);
    const second = await mkNetwork(api, l2bridge('cbr1', '10.244.2'));
    assert.is(second.MacPool!.Ranges![0]!.StartMacAddress, '00-15-5D-A0-10-00', 'each network gets its own default pool');
  }));

test('the Version field follows the configured HNS version exactly', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    assert.is(net.Version, 15 * 4294967296 + 4);
    assert.is(String(net.Version), '64424509444');
  }, { hnsVersion: { Major: 15, Minor: 4 } }));

test('the 13.3 Version value observed on Server 2022 hosts (55834574851)', () =>
  withEmulator(async ({ api }) => {
    assert.is(String((await mkNetwork(api)).Version), '55834574851');
  }, { profile: 'ws2022' }));

test('a NAT network has no Type on output; numeric enums come back as names', () =>
  withEmulator(async ({ api }) => {
    const nat = await mkNetwork(api, { SchemaVersion: V2, Name: 'nat', Type: 'NAT' });
    assert.not.ok('Type' in nat);
    const overlay = await mkNetwork(api, { SchemaVersion: V2, Name: 'ov', Type: 5, Ipams: [{ Type: 1, Subnets: [] }] });
    assert.is(overlay.Type, 'Overlay');
    assert.is(overlay.Ipams![0]!.Type, 'Dhcp');
  }));

test('Overlay networks get DrMacAddress and ProviderAddress policies; caller policies are echoed verbatim', () =>
  withEmulator(async ({ api }) => {
    const vsid = { Type: 'VSID' as const, Settings: { IsolationId: 4096 } };
    const net = await mkNetwork(api, {
      SchemaVersion: V2, Name: 'vxlan0', Type: 'Overlay',
      Ipams: [{ Subnets: [{ IpAddressPrefix: '10.244.0.0/16', Routes: [{ NextHop: '10.244.0.1', DestinationPrefix: '0.0.0.0/0' }], Policies: [vsid] }] }],
      Policies: [{ Type: 'VxlanPort', Settings: { Port: 4789 } }],
    });
    assert.equal(net.Policies, [
      { Type: 'VxlanPort', Settings: { Port: 4789 } },
      { Type: 'DrMacAddress', Settings: { Address: '00-15-5D-D0-00-01' } },
      { Type: 'ProviderAddress', Settings: { ProviderAddress: '198.51.100.7' } },
    ]);
    assert.equal(net.Ipams![0]!.Subnets![0]!.Policies, [vsid]);
  }, { managementIp: '198.51.100.7' }));

test('a second network with the same name: HCN_E_NETWORK_ALREADY_EXISTS with the service record; state unchanged', () =>
  withEmulator(async ({ api, admin }) => {
    await mkNetwork(api, l2bridge('cbr0'));
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify(l2bridge('cbr0', '10.9.9'))), 'HCN_E_NETWORK_ALREADY_EXISTS', 'A network with this name already exists. ');
    assert.is(Object.keys(admin.readState().networks).length, 1);
  }));

test('the ProviderAddress and DrMacAddress policies appear providerAddressDelayMs after create (flannel polls for them), as does the v1 ManagementIP', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, { ...l2bridge('vxlan0', '10.244.0'), Type: 'Overlay' });
    assert.is(net.Policies, undefined, 'nothing yet right after HcnCreateNetwork');
    const v1 = JSON.parse(await ok(api.hnsCall('GET', `/networks/${net.ID}`, ''))).Output;
    assert.not.ok('ManagementIP' in v1, 'no v1 ManagementIP yet either');
    const bridge = await mkNetwork(api, l2bridge('cbr0', '10.244.1'));
    assert.not.ok('ManagementIP' in JSON.parse(await ok(api.hnsCall('GET', `/networks/${bridge.ID}`, ''))).Output, 'L2Bridge: the v1 ManagementIP is late too');
    await new Promise((r) => setTimeout(r, 320));
    const later = await get<HostComputeNetwork>(api, 'Network', net.ID!);
    assert.equal(later.Policies!.map((p) => p.Type), ['DrMacAddress', 'ProviderAddress']);
    assert.is(JSON.parse(await ok(api.hnsCall('GET', `/networks/${net.ID}`, ''))).Output.ManagementIP, '192.0.2.10');
    assert.equal((await get<HostComputeNetwork>(api, 'Network', bridge.ID!)).Policies, undefined, 'no v2 ProviderAddress on L2Bridge unless l2BridgeProviderAddress');
  }, { providerAddressDelayMs: 250 }));

test('with l2BridgeProviderAddress, L2Bridge networks get a ProviderAddress policy too (INFERRED)', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, l2bridge('cbr0'));
    assert.equal(net.Policies, [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.0.2.10' } }]);
  }, { l2BridgeProviderAddress: true }));

test('network policy types are gated on the HNS version as hcsshim gates them: HCN_E_INVALID_POLICY_TYPE', () =>
  withEmulator(async ({ api }) => {
    // Server 2019 (9.5): no VxlanPort (10.3), SetPolicy (13.0) or NetworkACL (15.0); L4Proxy 9.5-9.* yes.
    const vx = { SchemaVersion: V2, Name: 'ov', Type: 'Overlay', Policies: [{ Type: 'VxlanPort', Settings: { Port: 4789 } }] };
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify(vx)), 'HCN_E_INVALID_POLICY_TYPE', /\{\{Type,VxlanPort is not known to HNS 9\.5, schema 2\.0\}\}/);
    const net = await mkNetwork(api);
    const add = (policy: object) => modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [policy] } });
    await fails(add({ Type: 'SetPolicy', Settings: { Id: 'a', Name: 'a', PolicyType: 'IPSET', Values: '10.0.0.1' } }), 'HCN_E_INVALID_POLICY_TYPE');
    await fails(add({ Type: 'NetworkACL', Settings: { Action: 'Allow', Direction: 'In' } }), 'HCN_E_INVALID_POLICY_TYPE');
    await ok(add({ Type: 'L4Proxy', Settings: { Port: '15001', Exceptions: ['10.0.0.0/8'], OutboundNAT: true } }));
    await ok(add({ Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: '10.244.2.0/24', IsolationId: 4096, ProviderAddress: '192.168.1.12', DistributedRouterMacAddress: '00-15-5D-D0-00-02' } }));
  }, { profile: 'ws2019' }));

test('Server 2019 RTM (9.1): no RemoteSubnetRoute or HostRoute yet (hcsshim gates both at 9.2)', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await fails(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'HostRoute', Settings: {} }] } }), 'HCN_E_INVALID_POLICY_TYPE');
  }, { profile: 'ws2019-rtm' }));

test('newer fields, network types and flags than the host\'s schema are refused: IpSubnets 2.3, Subnet Flags 2.7, Mirrored 2.4, DisableHostPort 15.1', () =>
  withEmulator(async ({ api }) => {
    const sub = (extra: object) => l2bridge('x', '10.1.1', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.1.1.0/24', Routes: [{ NextHop: '10.1.1.1', DestinationPrefix: '0.0.0.0/0' }], ...extra }] }] });
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify(sub({ IpSubnets: [{ IpAddressPrefix: '10.1.1.0/25' }] }))), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{IpSubnets,UnknownField}}');
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify(sub({ Flags: 1 }))), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{Flags,UnknownField}}');
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify({ SchemaVersion: V2, Name: 'm', Type: 'Mirrored' })), 'HCN_E_INVALID_NETWORK_TYPE');
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify(l2bridge('y', '10.2.2', { Flags: 1024 }))), 'HCN_E_INVALID_NETWORK', /DisableHostPort/);
  }, { profile: 'ws2019' }));

test('Server 2022 takes IpSubnets and Subnet Flags; DisableHostPort waits for 15.1 (Server 2025)', () =>
  withEmulator(async ({ api, admin }) => {
    await mkNetwork(api, l2bridge('x', '10.1.1', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.1.1.0/24', Flags: 1, IpSubnets: [{ IpAddressPrefix: '10.1.1.0/25' }], Routes: [{ NextHop: '10.1.1.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }));
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify(l2bridge('y', '10.2.2', { Flags: 1024 }))), 'HCN_E_INVALID_NETWORK');
    admin.setProfile('ws2025');
    await mkNetwork(api, l2bridge('y', '10.2.2', { Flags: 1024 }));
  }));

test('create with an explicit ID uses it (upper-cased); the same ID again is ERROR_ALREADY_EXISTS', () =>
  withEmulator(async ({ api }) => {
    const id = '2ca473cc-84a9-481f-a1f7-ca49865a01a5';
    const h = await ok(api.createNetwork(id, JSON.stringify(l2bridge('a'))));
    await ok(api.closeNetwork(h));
    assert.is((await get<HostComputeNetwork>(api, 'Network', id)).ID, id.toUpperCase());
    await fails(api.createNetwork(id.toUpperCase(), JSON.stringify(l2bridge('b', '10.1.1'))), 'ERROR_ALREADY_EXISTS', 'Cannot create a file when that file already exists. ');
  }));

test('open and delete of a missing network: HCN_E_NETWORK_NOT_FOUND', () =>
  withEmulator(async ({ api }) => {
    const missing = '11223344-5566-7788-99aa-bbccddeeff00';
    await fails(api.openNetwork(missing), 'HCN_E_NETWORK_NOT_FOUND', 'The network was not found. ');
    await fails(api.deleteNetwork(missing), 'HCN_E_NETWORK_NOT_FOUND');
  }));

test('deleting a network with endpoints succeeds and takes them (and their namespace references) with it', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const other = await mkNetwork(api, l2bridge('other', '10.9.0'));
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a_cbr0' });
    const kept = await mkEndpoint(api, other.ID!, { Name: 'b_other' });
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!, attach(ep.ID!)));
    const ns2 = await mkNamespace(api);
    await ok(modifyNamespace(api, ns2.ID!, attach(kept.ID!)));
    await ok(api.deleteNetwork(net.ID!.toLowerCase()));
    const s = admin.readState();
    assert.equal(Object.keys(s.networks), [other.ID]);
    assert.equal(Object.keys(s.endpoints), [kept.ID]);
    assert.equal(await ids(api.enumerateEndpoints(query())), [kept.ID]);
    await fails(api.openEndpoint(ep.ID!), 'HCN_E_ENDPOINT_NOT_FOUND');
    assert.not.ok(JSON.stringify(s.namespaces[ns.ID!]).includes(ep.ID!), 'the namespace lost the endpoint');
    assert.equal(s.namespaces[ns2.ID!]!.Resources, [{ Type: 'Endpoint', Data: { Id: kept.ID! } }], 'other namespaces keep theirs');
  }));

test('network policy modify: Add and Remove RemoteSubnetRoute and HostRoute; removing what is not there fails', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const route = { Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: '10.244.2.0/24', IsolationId: 4096, ProviderAddress: '192.168.1.12', DistributedRouterMacAddress: '00-15-5D-D0-00-02' } };
    await ok(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [route, { Type: 'HostRoute', Settings: {} }] } }));
    let now = await get<HostComputeNetwork>(api, 'Network', net.ID!);
    assert.equal(now.Policies, [route, { Type: 'HostRoute', Settings: {} }]);
    await fails(modifyNetwork(api, net.ID!, { ResourceType: 2, RequestType: 0, Settings: { Policies: [route] } }), 'HCN_E_POLICY_ALREADY_EXISTS');
    // Settings match by content, whatever the key order.
    const reordered = { Type: 'RemoteSubnetRoute', Settings: { IsolationId: 4096, DestinationPrefix: '10.244.2.0/24', DistributedRouterMacAddress: '00-15-5D-D0-00-02', ProviderAddress: '192.168.1.12' } };
    await ok(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [reordered] } }));
    now = await get<HostComputeNetwork>(api, 'Network', net.ID!);
    assert.equal(now.Policies, [{ Type: 'HostRoute', Settings: {} }]);
    await fails(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [route] } }), 'HCN_E_POLICY_NOT_FOUND');
    await fails(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: '10.244.2.0/24' } }] } }), 'HCN_E_INVALID_POLICY');
  }));

test('network policy modify matches Type and Settings keys case-insensitively and stores the canonical spelling', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const sent = { type: 'remotesubnetroute', settings: { destinationprefix: '10.244.9.0/24', isolationId: 4096, ProviderAddress: '192.168.1.19', DISTRIBUTEDROUTERMACADDRESS: '00-15-5D-D0-00-09' } };
    await ok(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [sent] } }));
    assert.equal((await get<HostComputeNetwork>(api, 'Network', net.ID!)).Policies, [
      { Type: 'RemoteSubnetRoute', Settings: { DestinationPrefix: '10.244.9.0/24', IsolationId: 4096, ProviderAddress: '192.168.1.19', DistributedRouterMacAddress: '00-15-5D-D0-00-09' } },
    ]);
    await ok(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [{ Type: 'REMOTESUBNETROUTE' }] } }));
  }));

test('network DNS Update replaces Dns; modifications the emulator does not model are E_NOTIMPL', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await ok(modifyNetwork(api, net.ID!, { ResourceType: 'DNS', RequestType: 'Update', Settings: { ServerList: ['10.96.0.10'] } }));
    assert.equal((await get<HostComputeNetwork>(api, 'Network', net.ID!)).Dns, { ServerList: ['10.96.0.10'] });
    await fails(modifyNetwork(api, net.ID!, { ResourceType: 'Subnet', RequestType: 'Add', Settings: { Subnets: [] } }), 'E_NOTIMPL', /does not model/);
  }));

test('v1-shaped documents (no SchemaVersion, or Major 1) are refused with E_NOTIMPL saying so', () =>
  withEmulator(async ({ api, admin }) => {
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify({ Name: 'v1', Type: 'nat', Subnets: [{ AddressPrefix: '172.16.0.0/24' }] })), 'E_NOTIMPL', /v1 \(schema 1\.x\) network document/);
    await fails(api.createNetwork(ZERO_GUID, JSON.stringify({ SchemaVersion: { Major: 1, Minor: 0 }, Name: 'v1' })), 'E_NOTIMPL');
    assert.equal(admin.readState().networks, {});
  }));

test.run();
