import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZERO_GUID } from '../../../../shared/hns/api';
import type { HostComputeEndpoint } from '../../../../shared/hns/model/endpoint';
import type { HostComputeNamespace } from '../../../../shared/hns/model/namespace';
import { validate as validNamespace } from '../../../../shared/hns/model/namespace.validator';
import { attach, fails, get, ids, mkEndpoint, mkNamespace, mkNetwork, modifyNamespace, ok, query, V2, withEmulator } from '../../../helpers/emulator';

const NOT_FOUND_RECORD = 'Element not found. ';
const container = (id: string, request: 'Add' | 'Remove' = 'Add') => ({ ResourceType: 'Container', RequestType: request, Settings: { ContainerId: id } });

test('containerd\'s {0,0} document is accepted; the service fills ID, NamespaceGuid, NamespaceId 0 (no compartment yet) and omits Type Host', () =>
  withEmulator(async ({ api }) => {
    const a = await mkNamespace(api);
    const b = await mkNamespace(api, { SchemaVersion: { Major: 2, Minor: 0 }, Type: 'Host' });
    assert.match(a.ID!, /^[0-9A-F-]{36}$/);
    assert.match(a.NamespaceGuid!, /^[0-9A-F-]{36}$/);
    assert.not.ok('Type' in a);
    assert.not.ok('Type' in b, 'Host (0) is omitted on output');
    assert.is(a.NamespaceId, 0, 'CompartmentId 0 until a container joins (projectcalico/calico#8465)');
    assert.is(a.State, 1);
    assert.is(a.Resources, undefined);
    assert.ok(validNamespace(a), JSON.stringify(validNamespace.errors));
  }));

test('the first container gives a namespace its compartment: unique IDs from 2 (1 is the host\'s)', () =>
  withEmulator(async ({ api }) => {
    const a = await mkNamespace(api);
    const b = await mkNamespace(api);
    await ok(modifyNamespace(api, a.ID!, container('pause-a')));
    await ok(modifyNamespace(api, b.ID!, container('pause-b')));
    await ok(modifyNamespace(api, a.ID!, container('app-a')));
    const ids = [(await get<HostComputeNamespace>(api, 'Namespace', a.ID!)).NamespaceId, (await get<HostComputeNamespace>(api, 'Namespace', b.ID!)).NamespaceId];
    assert.equal(ids, [2, 3]);
  }));

test('ReadyOnCreate on a build that knows it (HNS 13.4 / 15.2+) gives the compartment at create; older builds refuse the field', () =>
  withEmulator(async ({ api, admin }) => {
    const ready = await mkNamespace(api, { SchemaVersion: V2, ReadyOnCreate: true });
    assert.is(ready.NamespaceId, 2);
    assert.is((await mkNamespace(api, { SchemaVersion: V2, ReadyOnCreate: false })).NamespaceId, 0);
    admin.setProfile('ws2022');
    await fails(api.createNamespace(ZERO_GUID, JSON.stringify({ SchemaVersion: V2, ReadyOnCreate: true })), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{ReadyOnCreate,UnknownField}}');
    await fails(api.createNamespace(ZERO_GUID, JSON.stringify({ SchemaVersion: V2, CreateWithCompartment: true })), 'HCN_E_INVALID_JSON', 'Invalid JSON document string. {{CreateWithCompartment,UnknownField}}');
    admin.setProfile('ws2025');
    assert.is((await mkNamespace(api, { SchemaVersion: V2, ReadyOnCreate: true, CreateWithCompartment: true })).NamespaceId, 3);
  }, { profile: 'ws2022-13.4' }));

test('namespaceCompartment "eager": every namespace gets its compartment at create', () =>
  withEmulator(async ({ api }) => {
    assert.equal([(await mkNamespace(api)).NamespaceId, (await mkNamespace(api)).NamespaceId], [2, 3]);
  }, { namespaceCompartment: 'eager' }));

test('adding an endpoint sets its HostComputeNamespace and lists it as a resource (upper-case Id); removing undoes both', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!.toLowerCase(), attach(ep.ID!.toLowerCase())));
    assert.equal((await get<HostComputeNamespace>(api, 'Namespace', ns.ID!)).Resources, [{ Type: 'Endpoint', Data: { Id: ep.ID! } }]);
    assert.is((await get<HostComputeEndpoint>(api, 'Endpoint', ep.ID!)).HostComputeNamespace, ns.ID);
    await ok(modifyNamespace(api, ns.ID!, { ResourceType: 1, RequestType: 1, Settings: { EndpointId: ep.ID } }));
    assert.is((await get<HostComputeNamespace>(api, 'Namespace', ns.ID!)).Resources, undefined);
    assert.not.ok('HostComputeNamespace' in (await get<HostComputeEndpoint>(api, 'Endpoint', ep.ID!)));
  }));

test('adding an endpoint that is already in a namespace (this one or another): HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const ns1 = await mkNamespace(api);
    const ns2 = await mkNamespace(api);
    await ok(modifyNamespace(api, ns1.ID!, attach(ep.ID!)));
    await fails(modifyNamespace(api, ns1.ID!, attach(ep.ID!)), 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS');
    await fails(modifyNamespace(api, ns2.ID!, attach(ep.ID!)), 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS');
    assert.is(admin.readState().namespaces[ns2.ID!]!.Resources, undefined);
    assert.is(admin.readState().namespaces[ns1.ID!]!.Resources!.length, 1);
  }));

test('removing an endpoint that is not in the namespace: ERROR_NOT_FOUND ("Element not found. ")', () =>
  withEmulator(async ({ api }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const ns = await mkNamespace(api);
    await fails(modifyNamespace(api, ns.ID!, attach(ep.ID!, 'Remove')), 'ERROR_NOT_FOUND', NOT_FOUND_RECORD);
  }));

test('adding a missing endpoint: HCN_E_ENDPOINT_NOT_FOUND; adding a remote endpoint: HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const ns = await mkNamespace(api);
    await fails(modifyNamespace(api, ns.ID!, attach('7CC03AF7-2978-449F-9968-595862B80F8B')), 'HCN_E_ENDPOINT_NOT_FOUND');
    const remote = await mkEndpoint(api, net.ID!, { Name: 'r', Flags: 1, IpConfigurations: [{ IpAddress: '10.244.1.9' }] });
    await fails(modifyNamespace(api, ns.ID!, attach(remote.ID!)), 'HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION');
    assert.is(admin.readState().endpoints[remote.ID!]!.HostComputeNamespace, undefined);
  }));

test('open, modify and delete of a missing namespace: ERROR_NOT_FOUND with the service\'s record', () =>
  withEmulator(async ({ api }) => {
    const missing = '7cb720c0-ac4c-4266-92e1-dc277b2a9b94';
    const out = await api.openNamespace(missing);
    assert.is(out.hr, 0x80070490 | 0);
    assert.is(out.errorRecord, '{"Success":false,"Error":"Element not found. ","ErrorCode":2147943568}');
    await fails(api.deleteNamespace(missing), 'ERROR_NOT_FOUND', NOT_FOUND_RECORD);
  }));

test('deleting a namespace that still has containers: HCN_E_REQUEST_UNSUPPORTED; without them it goes', () =>
  withEmulator(async ({ api, admin }) => {
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!, container('pause-1')));
    await fails(modifyNamespace(api, ns.ID!, container('pause-1')), 'ERROR_ALREADY_EXISTS');
    assert.equal(admin.readState().namespaces[ns.ID!]!.Resources, [{ Type: 'Container', Data: { Id: 'pause-1' } }]);
    await fails(api.deleteNamespace(ns.ID!), 'HCN_E_REQUEST_UNSUPPORTED');
    assert.ok(admin.readState().namespaces[ns.ID!]);
    await ok(modifyNamespace(api, ns.ID!, container('pause-1', 'Remove')));
    await fails(modifyNamespace(api, ns.ID!, container('pause-1', 'Remove')), 'ERROR_NOT_FOUND');
    await ok(api.deleteNamespace(ns.ID!));
    assert.equal(Object.values(admin.readState().namespaces).map((n) => n.Type), ['HostDefault'], 'only the host\'s own namespace is left');
  }));

test('deleting a namespace that has only endpoints succeeds; the endpoints stay and lose HostComputeNamespace', () =>
  withEmulator(async ({ api, admin }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const ns = await mkNamespace(api);
    await ok(modifyNamespace(api, ns.ID!, attach(ep.ID!)));
    await ok(api.deleteNamespace(ns.ID!));
    const left = admin.readState().endpoints[ep.ID!];
    assert.ok(left);
    assert.not.ok('HostComputeNamespace' in left!);
    // CNI DEL after the runtime deleted the namespace: the detach finds nothing.
    await fails(api.openNamespace(ns.ID!), 'ERROR_NOT_FOUND');
  }));

test('every host has a HostDefault namespace (compartment 1) from the start, and more may be created (hcsshim\'s tests do)', () =>
  withEmulator(async ({ api, admin }) => {
    const [boot] = await ids(api.enumerateNamespaces(query({ IsDefault: true })));
    const first = await get<HostComputeNamespace>(api, 'Namespace', boot!);
    assert.is(first.Type, 'HostDefault');
    assert.is(first.NamespaceId, 1);
    const mine = await mkNamespace(api, { SchemaVersion: V2, Type: 'HostDefault', NamespaceId: 5 });
    assert.is(mine.NamespaceId, 5, 'as hcsshim HcnCreateTestNamespace asks');
    const plain = await mkNamespace(api, { SchemaVersion: V2, Type: 1 });
    assert.is(plain.Type, 'HostDefault');
    assert.is(plain.NamespaceId, 1, 'a HostDefault namespace stands for the default compartment');
    assert.is(Object.keys(admin.readState().namespaces).length, 3);
    await ok(api.deleteNamespace(mine.ID!));
  }));

test('namespace modifications the emulator does not model are E_NOTIMPL; Resources on create are refused', () =>
  withEmulator(async ({ api }) => {
    const ns = await mkNamespace(api);
    await fails(modifyNamespace(api, ns.ID!, { ResourceType: 'Endpoint', RequestType: 'Refresh', Settings: {} }), 'E_NOTIMPL');
    await fails(api.createNamespace(ZERO_GUID, JSON.stringify({ SchemaVersion: { Major: 2, Minor: 0 }, Resources: [{ Type: 'Container', Data: { Id: 'x' } }] })), 'E_INVALIDARG');
  }));

test.run();
