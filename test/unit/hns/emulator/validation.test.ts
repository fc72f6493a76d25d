// Every document is checked against the HCN schemas, and refused the way Windows refuses it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZERO_GUID } from '../../../../shared/hns/api';
import { fails, l2bridge, mkEndpoint, mkNamespace, mkNetwork, modifyEndpoint, modifyNamespace, modifyNetwork, ok, query, tryEndpoint, V2, withEmulator } from '../../../helpers/emulator';

const create = (doc: unknown) => JSON.stringify(doc);

test('malformed JSON and non-objects: HCN_E_INVALID_JSON', () =>
  withEmulator(async ({ api, admin }) => {
    await fails(api.createNetwork(ZERO_GUID, '{"SchemaVersion":'), 'HCN_E_INVALID_JSON', /^Invalid JSON document string\. \{\{/);
    await fails(api.createNamespace(ZERO_GUID, '[]'), 'HCN_E_INVALID_JSON');
    await fails(api.enumerateNetworks('nope'), 'HCN_E_INVALID_JSON');
    assert.equal(admin.readState().networks, {});
  }));

test('an unknown field: HCN_E_INVALID_JSON with {{Field,UnknownField}}, at any depth', () =>
  withEmulator(async ({ api }) => {
    await fails(api.createNamespace(ZERO_GUID, create({ SchemaVersion: V2, CreateWithCompartmentX: true })), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{CreateWithCompartmentX,UnknownField}}');
    await fails(api.createNetwork(ZERO_GUID, create(l2bridge('x', '10.1.1', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.1.1.0/24', Gateway: '10.1.1.1' }] }] } as never))), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{Gateway,UnknownField}}');
    const net = await mkNetwork(api);
    // Older spellings from the docs are not the v2 schema's.
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', IPConfigurations: [{ IPAddress: '10.244.1.5' }] }), 'HCN_E_INVALID_JSON', /\{\{IPConfigurations,UnknownField\}\}/);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'OutBoundNAT', Setting: {} }] }), 'HCN_E_INVALID_JSON', /\{\{Setting,UnknownField\}\}/);
  }));

test('config unknownFields: field names refused on top of what the profile lacks, at any depth', () =>
  withEmulator(async ({ api }) => {
    await fails(api.createNamespace(ZERO_GUID, create({ SchemaVersion: V2, ReadyOnCreate: true })), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{ReadyOnCreate,UnknownField}}');
    await fails(api.createNetwork(ZERO_GUID, create(l2bridge('x', '10.1.1', { Dns: { Options: ['ndots:5'] } }))), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{Options,UnknownField}}');
    await mkNamespace(api, { SchemaVersion: V2, CreateWithCompartment: true });
  }, { profile: 'ws2025', unknownFields: ['ReadyOnCreate', 'Options'] }));

test('the unknown-field record is exactly as observed on Server 2022: no trailing space after }}', () =>
  withEmulator(async ({ api }) => {
    const out = await api.createNamespace(ZERO_GUID, create({ SchemaVersion: V2, CreateWithCompartment: true }));
    assert.is(out.errorRecord, '{"Success":false,"Error":"Invalid JSON document string. {{CreateWithCompartment,UnknownField}}","ErrorCode":2151350299}');
  }, { profile: 'ws2022' }));

test('an unknown policy Type: HCN_E_INVALID_POLICY_TYPE (network, endpoint, modify, and a Type missing)', () =>
  withEmulator(async ({ api }) => {
    await fails(api.createNetwork(ZERO_GUID, create(l2bridge('x', '10.1.1', { Policies: [{ Type: 'Teleport', Settings: {} }] } as never))), 'HCN_E_INVALID_POLICY_TYPE');
    const net = await mkNetwork(api);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'VxlanPort', Settings: { Port: 4789 } }] }), 'HCN_E_INVALID_POLICY_TYPE', /^Invalid policy type\. /);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Settings: {} }] }), 'HCN_E_INVALID_POLICY_TYPE');
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    await fails(modifyEndpoint(api, ep.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'portmappings', Settings: {} }] } }), 'HCN_E_INVALID_POLICY_TYPE');
    // v1 names are not v2 names, in any case.
    await fails(modifyEndpoint(api, ep.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'ROUTE', Settings: {} }] } }), 'HCN_E_INVALID_POLICY_TYPE');
  }));

test('bad policy Settings: HCN_E_INVALID_POLICY naming the setting', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 70000, ExternalPort: 80 } }] }), 'HCN_E_INVALID_POLICY', /^The provided policy configuration is invalid or missing parameters\. \{\{InternalPort,/);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'OutBoundNAT', Settings: { ExceptionList: ['10.0.0.0/8'] } }] }), 'HCN_E_INVALID_POLICY', /\{\{ExceptionList,UnknownField\}\}/);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'ProviderAddress', Settings: {} }] }), 'HCN_E_INVALID_POLICY', /ProviderAddress/);
    await fails(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'VxlanPort', Settings: { Port: 'x' } }] } }), 'HCN_E_INVALID_POLICY');
    // Types the schemas let through are checked in code (settings.ts).
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'QOS', Settings: { MaximumOutgoingBandwidthInBytes: -1 } }] }), 'HCN_E_INVALID_POLICY', /MaximumOutgoingBandwidthInBytes/);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'EncapOverhead', Settings: { Overhed: 50 } }] }), 'HCN_E_INVALID_POLICY', /\{\{Overhed,UnknownField\}\}/);
    await fails(modifyNetwork(api, net.ID!, { ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'SetPolicy', Settings: { PolicyType: 'HASHSET' } }] } }), 'HCN_E_INVALID_POLICY', /PolicyType/);
  }));

test('a non-GUID where a GUID belongs: HCN_E_GUID_CONVERSION_FAILURE (document fields and arguments)', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', HostComputeNetwork: 'cbr0' }), 'HCN_E_GUID_CONVERSION_FAILURE');
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', HostComputeNetwork: `{${net.ID}}` }), 'HCN_E_GUID_CONVERSION_FAILURE', /^Failed to interpret a parameter as a GUID\. /);
    const ns = await mkNamespace(api);
    await fails(modifyNamespace(api, ns.ID!, { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: 'not-a-guid' } }), 'HCN_E_GUID_CONVERSION_FAILURE');
    await fails(api.openNetwork('cbr0'), 'HCN_E_GUID_CONVERSION_FAILURE');
    await fails(api.deleteEndpoint(`{${ZERO_GUID}}`), 'HCN_E_GUID_CONVERSION_FAILURE');
    await fails(api.createNamespace('xyz', create({ SchemaVersion: V2 })), 'HCN_E_GUID_CONVERSION_FAILURE');
  }));

test('other schema violations: HCN_E_INVALID_JSON; an unknown network Type: HCN_E_INVALID_NETWORK_TYPE; a bad IP: HCN_E_INVALID_IP', () =>
  withEmulator(async ({ api }) => {
    await fails(api.createNetwork(ZERO_GUID, create({ SchemaVersion: V2, Name: 7 })), 'HCN_E_INVALID_JSON', /\{\{Name,/);
    await fails(api.createNetwork(ZERO_GUID, create(l2bridge('x', '10.1.1', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.1.1.5/24' }] }] }))), 'HCN_E_INVALID_JSON', /IpAddressPrefix/);
    await fails(api.createNetwork(ZERO_GUID, create({ SchemaVersion: V2, Name: 'x', Type: 'Bridge' })), 'HCN_E_INVALID_NETWORK_TYPE');
    const net = await mkNetwork(api);
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', IpConfigurations: [{ IpAddress: '10.244.1.300' }] }), 'HCN_E_INVALID_IP');
    await fails(tryEndpoint(api, net.ID!, { Name: 'a', MacAddress: '00155D000001' }), 'HCN_E_INVALID_JSON', /MacAddress/);
  }));

test('modify requests and queries are validated too', () =>
  withEmulator(async ({ api }) => {
    const ns = await mkNamespace(api);
    await fails(modifyNamespace(api, ns.ID!, { ResourceType: 'Endpoint', RequestType: 'Attach', Settings: {} }), 'HCN_E_INVALID_JSON', /RequestType/);
    await fails(modifyNamespace(api, ns.ID!, { ResourceType: 'Endpoint', RequestType: 'Add' }), 'HCN_E_INVALID_JSON', /Settings/);
    await fails(api.enumerateNamespaces(JSON.stringify({ SchemaVersion: V2, Filter: { ID: ns.ID } })), 'HCN_E_INVALID_JSON', /Filter/);
    await fails(api.enumerateNamespaces(JSON.stringify({ Filter: '{"ID":' })), 'HCN_E_INVALID_JSON');
  }));

test('no error record is written on success', () =>
  withEmulator(async ({ api }) => {
    const outs = [
      await api.enumerateNetworks(query()),
      await api.createNamespace(ZERO_GUID, create({ SchemaVersion: { Major: 0, Minor: 0 } })),
      await api.hnsCall('GET', '/globals/version', ''),
    ];
    for (const o of outs) {
      assert.is(o.hr, 0);
      assert.is(o.errorRecord, undefined);
    }
    await ok(api.closeNamespace(outs[1]!.value as number));
  }));

test.run();
