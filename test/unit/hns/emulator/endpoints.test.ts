import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZERO_GUID } from '../../../../shared/hns/api';
import type { HostComputeEndpoint } from '../../../../shared/hns/model/endpoint';
import type { HostComputeNamespace } from '../../../../shared/hns/model/namespace';
import { validate as validEndpoint } from '../../../../shared/hns/model/endpoint.validator';
import { attach, fails, get, l2bridge, mkEndpoint, mkNamespace, mkNetwork, modifyEndpoint, modifyNamespace, ok, tryEndpoint, V2, withEmulator } from '../../../helpers/emulator';

const ipsOf = (ep: HostComputeEndpoint) => ep.IpConfigurations!.map((c) => c.IpAddress);
const portMapping = (external: number, internal = 80, extra: object = {}) => ({ Type: 'PortMapping', Settings: { InternalPort: internal, ExternalPort: external, Protocol: 6, VIP: '', ...extra } });

test('create fills ID, HostComputeNetwork (upper case), MAC from the pool, IP and prefix from the static subnet, State, Version', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!.toLowerCase(), { Name: 'ctr1_cbr0', HostComputeNetwork: net.ID!.toLowerCase() });
    assert.match(ep.ID!, /^[0-9A-F-]{36}$/);
    assert.is(ep.HostComputeNetwork, net.ID);
    assert.is(ep.MacAddress, '00-15-5D-A0-00-00');
    assert.equal(ep.IpConfigurations, [{ IpAddress: '10.244.1.2', PrefixLength: 24 }], '.0 is the network address and .1 the gateway');
    assert.is(ep.State, 1);
    assert.is(ep.Version, 13 * 2 ** 32 + 3);
    assert.is(ep.HostComputeNamespace, undefined);
    assert.ok(validEndpoint(ep), JSON.stringify(validEndpoint.errors));
    const next = await mkEndpoint(api, net.ID!, { Name: 'ctr2_cbr0', IpConfigurations: [{}] });
    assert.equal(ipsOf(next), ['10.244.1.3'], 'lowest free address; `IpConfigurations:[{}]` (win-bridge without IPAM) allocates too');
    assert.is(next.MacAddress, '00-15-5D-A0-00-01');
  }));

test('allocation skips addresses in use and the broadcast address, and reuses freed ones', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, l2bridge('small', '10.0.0', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.0.0.0/29', Routes: [{ NextHop: '10.0.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }));
    const made: HostComputeEndpoint[] = [];
    for (let i = 0; i < 5; i++) made.push(await mkEndpoint(api, net.ID!, { Name: `e${i}` }));
    assert.equal(made.map((e) => ipsOf(e)[0]), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    await fails(tryEndpoint(api, net.ID!, { Name: 'full' }), 'HCN_E_ADDR_INVALID_OR_RESERVED', /no free address/);
    await ok(api.deleteEndpoint(made[1]!.ID!));
    assert.equal(ipsOf(await mkEndpoint(api, net.ID!, { Name: 'again' })), ['10.0.0.3']);
  }));

test('a given IP keeps its text; a missing PrefixLength comes from its subnet; a given MAC is kept as sent', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'x', IpConfigurations: [{ IpAddress: '10.244.1.77' }], MacAddress: '0e-2a-0a-f4-01-4d' });
    assert.equal(ep.IpConfigurations, [{ IpAddress: '10.244.1.77', PrefixLength: 24 }]);
    assert.is(ep.MacAddress, '0e-2a-0a-f4-01-4d');
  }));

test('an endpoint on a missing network fails at HcnOpenNetwork; a handle to a deleted network fails the create', () =>
  withEmulator(async ({ api, admin }) => {
    await fails(api.openNetwork('7cc03af7-2978-449f-9968-595862b80f8b'), 'HCN_E_NETWORK_NOT_FOUND');
    const net = await mkNetwork(api);
    const h = await ok(api.openNetwork(net.ID!));
    await ok(api.deleteNetwork(net.ID!));
    await fails(api.createEndpoint(h, ZERO_GUID, JSON.stringify({ SchemaVersion: V2, Name: 'x' })), 'HCN_E_NETWORK_NOT_FOUND');
    await ok(api.closeNetwork(h));
    assert.equal(admin.readState().endpoints, {});
  }));

test('an IP held by another local endpoint of the network: ERROR_OBJECT_ALREADY_EXISTS; a remote endpoint may share it', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    await mkEndpoint(api, net.ID!, { Name: 'a', IpConfigurations: [{ IpAddress: '10.244.1.5' }] });
    await fails(tryEndpoint(api, net.ID!, { Name: 'b', IpConfigurations: [{ IpAddress: '10.244.1.5' }] }), 'ERROR_OBJECT_ALREADY_EXISTS', 'The object already exists. {{IpAddress,10.244.1.5 belongs to another endpoint}}');
    const remote = await mkEndpoint(api, net.ID!, { Name: 'r', Flags: 1, IpConfigurations: [{ IpAddress: '10.244.1.5' }], MacAddress: '00-11-22-33-44-55' });
    assert.is(remote.Flags, 1);
    assert.is(Object.keys(admin.readState().endpoints).length, 2);
    // Another network's endpoints do not count.
    const other = await mkNetwork(api, l2bridge('other'));
    await mkEndpoint(api, other.ID!, { Name: 'c', IpConfigurations: [{ IpAddress: '10.244.1.5' }] });
  }));

test('with remoteSharesLocalIps false, a remote endpoint may not take a local endpoint\'s IP', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await mkEndpoint(api, net.ID!, { Name: 'a', IpConfigurations: [{ IpAddress: '10.244.1.5' }] });
    await fails(tryEndpoint(api, net.ID!, { Name: 'r', Flags: 1, IpConfigurations: [{ IpAddress: '10.244.1.5' }] }), 'ERROR_OBJECT_ALREADY_EXISTS');
  }, { remoteSharesLocalIps: false }));

test('an IP outside every subnet: HCN_E_INVALID_IP; remote endpoints (pods on other nodes) are not held to local subnets', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', IpConfigurations: [{ IpAddress: '10.244.2.5' }] }), 'HCN_E_INVALID_IP', /10\.244\.2\.5 is in no subnet/);
    await mkEndpoint(api, net.ID!, { Name: 'r', Flags: 1, IpConfigurations: [{ IpAddress: '10.244.2.5' }] });
  }));

test('reserved addresses (network address, gateway, broadcast): HCN_E_ADDR_INVALID_OR_RESERVED, unless the subnet frees its gateway', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    for (const ip of ['10.244.1.0', '10.244.1.1', '10.244.1.255']) {
      await fails(tryEndpoint(api, net.ID!, { Name: ip, IpConfigurations: [{ IpAddress: ip }] }), 'HCN_E_ADDR_INVALID_OR_RESERVED', `An address provided is invalid or reserved. {{IpAddress,${ip}}}`);
    }
    const free = await mkNetwork(api, l2bridge('free', '10.9.0', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.9.0.0/24', Flags: 1, Routes: [{ NextHop: '10.9.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }));
    assert.equal(ipsOf(await mkEndpoint(api, free.ID!, { Name: 'gw' })), ['10.9.0.1'], 'DoNotReserveGatewayAddress');
  }));

test('HostComputeNamespace set on create is refused: HCN_E_INVALID_ENDPOINT', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const ns = await mkNamespace(api);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', HostComputeNamespace: ns.ID }), 'HCN_E_INVALID_ENDPOINT', /HostComputeNamespace/);
    assert.equal(admin.readState().endpoints, {});
  }));

test('HostComputeNetwork naming another network than the handle: HCN_E_INVALID_ENDPOINT', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const other = await mkNetwork(api, l2bridge('other', '10.9.0'));
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', HostComputeNetwork: other.ID }), 'HCN_E_INVALID_ENDPOINT', /is not the network/);
  }));

test('a port mapping taken anywhere on the host: HCN_E_PORT_ALREADY_EXISTS; another protocol, port or VIP is fine', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const other = await mkNetwork(api, l2bridge('other', '10.9.0'));
    await mkEndpoint(api, net.ID!, { Name: 'a', Policies: [portMapping(8080) as never] });
    await fails(tryEndpoint(api, other.ID!, { Name: 'b', Policies: [portMapping(8080, 81)] }), 'HCN_E_PORT_ALREADY_EXISTS', 'The specified port already exists. {{ExternalPort,8080}}');
    await fails(tryEndpoint(api, other.ID!, { Name: 'b', Policies: [portMapping(9090, 80, { Protocol: 'TCP' }), portMapping(9090)] }), 'HCN_E_PORT_ALREADY_EXISTS', /9090/);
    await mkEndpoint(api, other.ID!, { Name: 'udp', Policies: [portMapping(8080, 80, { Protocol: 17 }) as never] });
    await mkEndpoint(api, other.ID!, { Name: 'vip', Policies: [portMapping(8080, 80, { VIP: '198.51.100.4' }) as never] });
    assert.is(Object.keys(admin.readState().endpoints).length, 3);
  }));

test('a mapping without VIP takes the management IP, so it conflicts with one naming that IP (INFERRED, emptyVipIsManagementIp)', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await mkEndpoint(api, net.ID!, { Name: 'a', Policies: [portMapping(8080) as never] });
    await fails(tryEndpoint(api, net.ID!, { Name: 'b', Policies: [portMapping(8080, 80, { VIP: '192.0.2.10' })] }), 'HCN_E_PORT_ALREADY_EXISTS');
  }));

test('with emptyVipIsManagementIp false, VIP "" and the management IP are different keys', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await mkEndpoint(api, net.ID!, { Name: 'a', Policies: [portMapping(8080) as never] });
    await mkEndpoint(api, net.ID!, { Name: 'b', Policies: [portMapping(8080, 80, { VIP: '192.0.2.10' }) as never] });
  }, { emptyVipIsManagementIp: false }));

test('deleting an endpoint frees its port mappings, address and MAC for the next one', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const a = await mkEndpoint(api, net.ID!, { Name: 'a', Policies: [portMapping(8080) as never] });
    await mkEndpoint(api, net.ID!, { Name: 'b' });
    await ok(api.deleteEndpoint(a.ID!));
    const c = await mkEndpoint(api, net.ID!, { Name: 'c', Policies: [portMapping(8080) as never] });
    assert.equal(ipsOf(c), ipsOf(a));
    assert.is(c.MacAddress, a.MacAddress);
  }));

test('ipAllocation "random": addresses from all over the subnet, never a taken or reserved one', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, l2bridge('wide', '10.8.0', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.8.0.0/16', Routes: [{ NextHop: '10.8.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }));
    const got: string[] = [];
    for (let i = 0; i < 20; i++) got.push(ipsOf(await mkEndpoint(api, net.ID!, { Name: `e${i}` }))[0]!);
    assert.is(new Set(got).size, 20);
    assert.ok(got.some((ip) => !ip.startsWith('10.8.0.')), `scattered: ${got.join(' ')}`);
    assert.not.ok(got.includes('10.8.0.1') || got.includes('10.8.0.0') || got.includes('10.8.255.255'));
    const small = await mkNetwork(api, l2bridge('small', '10.0.0', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.0.0.0/29', Routes: [{ NextHop: '10.0.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }));
    const five: string[] = [];
    for (let i = 0; i < 5; i++) five.push(ipsOf(await mkEndpoint(api, small.ID!, { Name: `s${i}` }))[0]!);
    assert.equal(five.sort(), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    await fails(tryEndpoint(api, small.ID!, { Name: 'full' }), 'HCN_E_ADDR_INVALID_OR_RESERVED');
  }, { ipAllocation: 'random' }));

test('policy Type names and Settings keys are matched case-insensitively and stored canonical (Calico sends "SDNROUTE")', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, {
      Name: 'a',
      Policies: [
        { type: 'SDNROUTE', settings: { destinationPrefix: '10.96.0.0/12', NeedEncap: true } },
        { Type: 'outboundnat', Settings: { exceptions: ['10.244.0.0/16'] } },
        { Type: 'interfaceparameters', Settings: { MTU: 1450 } },
      ] as never,
    });
    assert.equal(ep.Policies, [
      { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } },
      { Type: 'InterfaceParameters', Settings: { Mtu: 1450 } },
    ]);
    await fails(tryEndpoint(api, net.ID!, { Name: 'b', Policies: [{ Type: 'sdnroute', Settings: { destinationprefix: 'x' } }] }), 'HCN_E_INVALID_POLICY', /DestinationPrefix/);
  }));

test('endpoint policy types the host\'s schema lacks: HCN_E_INVALID_POLICY_TYPE (Server 2019: InterfaceParameters and VLAN are 2.4, L4WFPPROXY 2.5)', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    for (const p of [{ Type: 'InterfaceParameters', Settings: { Mtu: 1450 } }, { Type: 'VLAN', Settings: { IsolationId: 7 } }, { Type: 'L4WFPPROXY', Settings: { UserSID: 'S-1-5-18' } }, { Type: 'TierAcl', Settings: {} }]) {
      await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [p] }), 'HCN_E_INVALID_POLICY_TYPE', new RegExp(`^Invalid policy type\\. \\{\\{Type,${p.Type} is not known to HNS 9\\.5, schema 2\\.0\\}\\}$`));
    }
    // NatFlags.IPv6 is 2.8; IpSubnetId 2.3.
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [portMapping(80, 80, { Flags: 2 })] }), 'HCN_E_INVALID_POLICY', /IPv6/);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', IpConfigurations: [{ IpAddress: '10.244.1.9', IpSubnetId: '2CA473CC-84A9-481F-A1F7-CA49865A01A5' }] }), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{IpSubnetId,UnknownField}}');
    await mkEndpoint(api, net.ID!, { Name: 'ok', Policies: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } }, portMapping(80) as never] });
  }, { profile: 'ws2019' }));

test('Server 2022 (schema 2.11, HNS 13.3) takes InterfaceParameters and L4WFPPROXY ports; 2.14 exceptions and TierAcl (14.0) wait for later builds', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    await mkEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'InterfaceParameters', Settings: { Mtu: 1450 } }, { Type: 'L4WFPPROXY', Settings: { InboundProxyPort: '15006', OutboundProxyPort: '15001' } }] as never });
    await fails(tryEndpoint(api, net.ID!, { Name: 'b', Policies: [{ Type: 'L4WFPPROXY', Settings: { InboundExceptions: {} } }] }), 'HCN_E_INVALID_POLICY', /\{\{InboundExceptions,UnknownField\}\}/);
    await fails(tryEndpoint(api, net.ID!, { Name: 'b', Policies: [{ Type: 'TierAcl', Settings: {} }] }), 'HCN_E_INVALID_POLICY_TYPE');
    await fails(tryEndpoint(api, net.ID!, { Name: 'b', Policies: [{ Type: 'InterfaceParameters', Settings: { Mtu: 70000 } }] }), 'HCN_E_INVALID_POLICY', /Mtu/);
    admin.setProfile('ws2025');
    await mkEndpoint(api, net.ID!, { Name: 'c', Policies: [{ Type: 'TierAcl', Settings: {} }, { Type: 'L4WFPPROXY', Settings: { InboundExceptions: {} } }] as never });
  }));

test('a port mapping with InternalPort 0 or none: HCN_E_INVALID_INTERNAL_PORT', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [portMapping(8080, 0)] }), 'HCN_E_INVALID_INTERNAL_PORT');
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'PortMapping', Settings: { ExternalPort: 8080, Protocol: 6 } }] }), 'HCN_E_INVALID_INTERNAL_PORT');
  }));

test('endpoint policies are echoed verbatim, key order kept', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const policies = [
      { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16', '10.96.0.0/12'] } },
      { Type: 'SDNRoute', Settings: { NeedEncap: true, DestinationPrefix: '10.96.0.0/12' } },
      { Type: 'ACL', Settings: { Protocols: '6', Action: 'Allow', Direction: 'In', RemotePorts: '80', Priority: 200 } },
    ];
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a', Policies: policies as never });
    assert.is(JSON.stringify(ep.Policies), JSON.stringify(policies));
  }));

test('endpoint policy modify: Add (port rules apply), Remove, Update; unknown removals are HCN_E_POLICY_NOT_FOUND', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const a = await mkEndpoint(api, net.ID!, { Name: 'a', Policies: [portMapping(8080) as never] });
    const b = await mkEndpoint(api, net.ID!, { Name: 'b' });
    await fails(modifyEndpoint(api, b.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [portMapping(8080)] } }), 'HCN_E_PORT_ALREADY_EXISTS');
    await ok(modifyEndpoint(api, b.ID!, { ResourceType: 1, RequestType: 0, Settings: { Policies: [portMapping(8081)] } }));
    assert.equal((await get<HostComputeEndpoint>(api, 'Endpoint', b.ID!)).Policies, [portMapping(8081)]);
    await ok(modifyEndpoint(api, a.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [portMapping(8080)] } }));
    assert.equal((await get<HostComputeEndpoint>(api, 'Endpoint', a.ID!)).Policies, []);
    await fails(modifyEndpoint(api, a.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [portMapping(8080)] } }), 'HCN_E_POLICY_NOT_FOUND');
    await ok(modifyEndpoint(api, b.ID!, { ResourceType: 'Policy', RequestType: 'Update', Settings: { Policies: [portMapping(8080)] } }));
    assert.equal((await get<HostComputeEndpoint>(api, 'Endpoint', b.ID!)).Policies, [portMapping(8080)], 'the freed port can be taken again');
    await fails(modifyEndpoint(api, b.ID!, { ResourceType: 'Port', RequestType: 'Add', Settings: { PortId: a.ID } }), 'E_NOTIMPL');
  }));

test('open and delete of a missing endpoint: HCN_E_ENDPOINT_NOT_FOUND', () =>
  withEmulator(async ({ api }) => {
    const missing = '7CC03AF7-2978-449F-9968-595862B80F8B';
    await fails(api.openEndpoint(missing), 'HCN_E_ENDPOINT_NOT_FOUND', 'The endpoint was not found. ');
    await fails(api.deleteEndpoint(missing), 'HCN_E_ENDPOINT_NOT_FOUND');
  }));

test('deleting an endpoint still in a namespace is allowed by default: the namespace loses the resource', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!, attach(ep.ID!)));
    await ok(api.deleteEndpoint(ep.ID!));
    assert.is((await get<HostComputeNamespace>(api, 'Namespace', ns.ID!)).Resources, undefined);
  }));

test('with deleteEndpointInNamespace "refuse", it is HCN_E_ENTITY_HAS_REFERENCES and both stay', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!, attach(ep.ID!)));
    await fails(api.deleteEndpoint(ep.ID!), 'HCN_E_ENTITY_HAS_REFERENCES');
    assert.ok(admin.readState().endpoints[ep.ID!]);
    assert.is(admin.readState().namespaces[ns.ID!]!.Resources!.length, 1);
  }, { deleteEndpointInNamespace: 'refuse' }));

test('two endpoints may share a name; an explicit endpoint ID in use is ERROR_ALREADY_EXISTS', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await mkEndpoint(api, net.ID!, { Name: 'same' });
    const second = await mkEndpoint(api, net.ID!, { Name: 'same' });
    const h = await ok(api.openNetwork(net.ID!));
    await fails(api.createEndpoint(h, second.ID!.toLowerCase(), JSON.stringify({ SchemaVersion: V2, Name: 'dup' })), 'ERROR_ALREADY_EXISTS');
    await ok(api.closeNetwork(h));
  }));

test('a network without a static subnet cannot allocate: HCN_E_SUBNET_NOT_FOUND', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, { SchemaVersion: V2, Name: 'bare', Type: 'Transparent' });
    await fails(tryEndpoint(api, net.ID!, { Name: 'a' }), 'HCN_E_SUBNET_NOT_FOUND');
    assert.equal(ipsOf(await mkEndpoint(api, net.ID!, { Name: 'b', IpConfigurations: [{ IpAddress: '192.168.5.5', PrefixLength: 24 }] })), ['192.168.5.5']);
  }));

test('IPv6 subnets allocate too, without a broadcast address', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api, { SchemaVersion: V2, Name: 'v6', Type: 'L2Bridge', Ipams: [{ Subnets: [{ IpAddressPrefix: 'fd00:10::/126', Routes: [{ NextHop: 'fd00:10::1', DestinationPrefix: '::/0' }] }] }] });
    assert.equal(ipsOf(await mkEndpoint(api, net.ID!, { Name: 'a' })), ['fd00:10::2']);
    assert.equal(ipsOf(await mkEndpoint(api, net.ID!, { Name: 'b' })), ['fd00:10::3']);
    await fails(tryEndpoint(api, net.ID!, { Name: 'c' }), 'HCN_E_ADDR_INVALID_OR_RESERVED', /no free address/);
  }));

test.run();
