// HnsClient over the emulator: hcsshim's call sequences, typed errors, handles, deadlines.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HnsClient } from '../../../shared/hns/client';
import { HnsConflictError, HnsError, HnsInUseError, HnsInvalidError, HnsNotFoundError, HnsTimeoutError, HnsUnavailableError, isNotFound } from '../../../shared/hns/errors';
import { l2bridge, V2, withEmulator, type Emu } from '../../helpers/emulator';

async function rejectsWith<T extends HnsError>(pending: Promise<unknown>, type: new (...a: never[]) => T, hresult?: number): Promise<T> {
  try {
    await pending;
  } catch (err) {
    assert.instance(err, type, String(err));
    if (hresult !== undefined) assert.is((err as HnsError).hresult, hresult, String(err));
    return err as T;
  }
  assert.unreachable(`expected ${type.name}`);
  throw new Error('unreachable');
}

function client(e: Emu, callTimeoutMs?: number): HnsClient {
  return new HnsClient(e.api, callTimeoutMs ? { callTimeoutMs } : {});
}

test('create network, namespace and endpoint, attach, and read them back by name and ID; no handle stays open', () =>
  withEmulator(async (e) => {
    const c = client(e);
    const net = await c.createNetwork(l2bridge('cbr0'));
    assert.is((await c.getNetworkByName('cbr0')).ID, net.ID);
    assert.is((await c.getNetworkById(net.ID!.toLowerCase())).Name, 'cbr0');
    const ns = await c.createNamespace({ SchemaVersion: { Major: 0, Minor: 0 } });
    const ep = await c.createEndpoint(net.ID!, { SchemaVersion: V2, Name: 'ctr1_cbr0', HostComputeNetwork: net.ID });
    assert.equal(ep.IpConfigurations, [{ IpAddress: '10.244.1.2', PrefixLength: 24 }]);
    await c.addNamespaceEndpoint(ns.ID!.toLowerCase(), ep.ID!.toLowerCase());
    const found = await c.getEndpointByName('ctr1_cbr0');
    assert.is(found.HostComputeNamespace, ns.ID);
    assert.equal((await c.getNamespaceById(ns.ID!)).Resources, [{ Type: 'Endpoint', Data: { Id: ep.ID! } }]);
    assert.equal((await c.listEndpointsOfNetwork(net.ID!)).map((x) => x.ID), [ep.ID]);
    assert.equal(await c.serviceVersion(), { Major: 13, Minor: 3 }, 'the default profile: Server 2022');
    assert.is((await c.features()).disableHostPort, false, 'DisableHostPort needs HNS 15.1');
    await c.removeNamespaceEndpoint(ns.ID!, ep.ID!);
    await c.deleteEndpoint(ep.ID!);
    await c.deleteNamespace(ns.ID!);
    await c.deleteNetwork(net.ID!);
    assert.is(e.api.openHandleCount(), 0);
  }));

test('what the service returns is read in the schemas\' spelling whatever its casing (hcsshim decodes it case-insensitively); unknown fields are kept', () =>
  withEmulator(async (e) => {
    const c = client(e);
    const net = await c.createNetwork(l2bridge('cbr0'));
    const ns = await c.createNamespace({ SchemaVersion: { Major: 0, Minor: 0 } });
    const ep = await c.createEndpoint(net.ID!, { SchemaVersion: V2, Name: 'ctr1_cbr0', HostComputeNetwork: net.ID });
    await c.addNamespaceEndpoint(ns.ID!, ep.ID!);
    // The same service, answering every query with its keys in other casings.
    const shouting = (text: string) => JSON.stringify(JSON.parse(text), (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k === 'Id' ? 'ID' : k.toLowerCase(), x])) : v));
    const api = new Proxy(e.api, {
      get(target, prop, receiver) {
        const f = Reflect.get(target, prop, receiver);
        if (typeof prop === 'string' && /^query\w+Properties$/.test(prop)) {
          return async (...args: unknown[]) => {
            const out = await (f as (...a: unknown[]) => Promise<{ hr: number; value?: string }>).apply(target, args);
            return out.value ? { ...out, value: JSON.stringify({ ...JSON.parse(shouting(out.value)), futurefield: 1 }) } : out;
          };
        }
        return typeof f === 'function' ? f.bind(target) : f;
      },
    });
    const loud = new HnsClient(api);
    const got = await loud.getEndpointById(ep.ID!);
    assert.is(got.HostComputeNamespace, ns.ID);
    assert.equal(got.IpConfigurations, [{ IpAddress: '10.244.1.2', PrefixLength: 24 }]);
    assert.is((got as Record<string, unknown>).futurefield, 1);
    assert.equal((await loud.getNamespaceById(ns.ID!)).Resources, [{ Type: 'Endpoint', Data: { Id: ep.ID! } }]);
    assert.is((await loud.getNetworkByName('cbr0')).Type, 'L2Bridge');
  }));

test('a lookup by name that matches nothing is HnsNotFoundError (client-side, HRESULT 0); so is a service not-found', () =>
  withEmulator(async (e) => {
    const c = client(e);
    const err = await rejectsWith(c.getNetworkByName('nope'), HnsNotFoundError, 0);
    assert.ok(isNotFound(err));
    // By ID the object is opened directly: the service's own not-found.
    await rejectsWith(c.getEndpointById('7CC03AF7-2978-449F-9968-595862B80F8B'), HnsNotFoundError, 0x803b0002);
    await rejectsWith(c.getNamespaceById('7CB720C0-AC4C-4266-92E1-DC277B2A9B94'), HnsNotFoundError, 0x80070490);
    await rejectsWith(c.deleteEndpoint('7CC03AF7-2978-449F-9968-595862B80F8B'), HnsNotFoundError, 0x803b0002);
    await rejectsWith(c.removeNamespaceEndpoint('7CB720C0-AC4C-4266-92E1-DC277B2A9B94', '7CC03AF7-2978-449F-9968-595862B80F8B'), HnsNotFoundError, 0x80070490);
    await rejectsWith(c.createEndpoint('2CA473CC-84A9-481F-A1F7-CA49865A01A5', { SchemaVersion: V2, Name: 'x' }), HnsNotFoundError, 0x803b0001);
    assert.is(e.api.openHandleCount(), 0);
  }));

test('service refusals become typed errors: conflict, invalid, in-use, with the record text in the message', () =>
  withEmulator(async (e) => {
    const c = client(e);
    const net = await c.createNetwork(l2bridge('cbr0'));
    const dup = await rejectsWith(c.createNetwork(l2bridge('cbr0')), HnsConflictError, 0x803b0010);
    assert.is(dup.message, 'HcnCreateNetwork failed: A network with this name already exists. (0x803B0010)');
    assert.is(dup.record?.ErrorCode, 0x803b0010);
    await c.createEndpoint(net.ID!, { SchemaVersion: V2, Name: 'a', IpConfigurations: [{ IpAddress: '10.244.1.9' }] });
    await rejectsWith(c.createEndpoint(net.ID!, { SchemaVersion: V2, Name: 'b', IpConfigurations: [{ IpAddress: '10.244.1.9' }] }), HnsConflictError, 0x80071392);
    const invalid = await rejectsWith(c.createNamespace({ SchemaVersion: V2, Bogus: 1 } as never), HnsInvalidError, 0x803b001b);
    assert.match(invalid.message, '{{Bogus,UnknownField}}');
    const ns = await c.createNamespace();
    await c.modifyNamespace(ns.ID!, { ResourceType: 'Container', RequestType: 'Add', Settings: { ContainerId: 'pause' } });
    await rejectsWith(c.deleteNamespace(ns.ID!), HnsInUseError, 0x803b0015);
    assert.is(e.api.openHandleCount(), 0, 'handles are closed on failure paths too');
  }));

test('every call has a deadline: a late answer is HnsTimeoutError (CNI code 11)', () =>
  withEmulator(async (e) => {
    await e.admin.setFaults([{ op: 'EnumerateNetworks', delayMs: 400, count: 1 }]);
    const c = client(e, 100);
    const t0 = performance.now();
    const err = await rejectsWith(c.getNetworkByName('cbr0'), HnsTimeoutError, 0x800705b4);
    assert.ok(performance.now() - t0 < 350, 'gave up at the deadline, not when the service answered');
    assert.is(err.cniCode, 11);
    await new Promise((r) => setTimeout(r, 350)); // let the late answer land before the directory goes
  }));

test('a version asked while the service is down is asked again once it is up (a long-lived client, the node agent)', () =>
  withEmulator(async (e) => {
    const c = client(e);
    e.admin.stopService();
    await rejectsWith(c.features(), HnsUnavailableError);
    e.admin.startService();
    assert.equal(await c.serviceVersion(), { Major: 13, Minor: 3 });
    assert.is((await c.features()).disableHostPort, false);
  }));

test('a service that is stopping is HnsUnavailableError, worth a retry', () =>
  withEmulator(async (e) => {
    await e.admin.setFaults([{ op: 'CreateNamespace', hr: 0x803b0020, count: 1 }]);
    const c = client(e);
    const err = await rejectsWith(c.createNamespace(), HnsUnavailableError, 0x803b0020);
    assert.is(err.cniCode, 11);
    await c.createNamespace();
  }));

test('an HNS that is not running (RPC errors) is HnsUnavailableError, CNI "try again later" (11), with the Win32 text', () =>
  withEmulator(async (e) => {
    const c = client(e);
    for (const [hr, text] of [
      [0x800706ba, 'The RPC server is unavailable.'],
      [0x800706be, 'The remote procedure call failed.'],
      [0x800706bf, 'The remote procedure call failed and did not execute.'],
      [0x800706d9, 'There are no more endpoints available from the endpoint mapper.'],
    ] as const) {
      await e.admin.setFaults([{ op: 'EnumerateNetworks', hr, count: 1 }]);
      const err = await rejectsWith(c.listNetworks(), HnsUnavailableError, hr);
      assert.is(err.kind, 'unavailable');
      assert.is(err.cniCode, 11);
      assert.ok(err.message.includes(text), err.message);
    }
    e.admin.stopService();
    await rejectsWith(c.getNetworkByName('cbr0'), HnsUnavailableError, 0x800706ba);
    e.admin.startService();
    await c.listNetworks();
  }));

test('a failure after the handle was opened still closes it (query fault)', () =>
  withEmulator(async (e) => {
    const c = client(e);
    const net = await c.createNetwork(l2bridge('cbr0'));
    await e.admin.setFaults([{ op: 'QueryNetworkProperties', hr: 0x80004005 }]);
    await rejectsWith(c.getNetworkById(net.ID!), HnsError, 0x80004005);
    await rejectsWith(c.createNetwork(l2bridge('cbr1', '10.9.9')), HnsError, 0x80004005);
    assert.is(e.api.openHandleCount(), 0);
    const calls = e.admin.readCalls().map((x) => x.op);
    assert.is(calls.filter((op) => op.startsWith('Open') || op.startsWith('Create')).length, calls.filter((op) => op.startsWith('Close')).length);
  }));

test.run();
