// Memory and handle discipline of the hcn adapter, read from the stand-in's own counters: every
// string the "service" hands out is freed exactly once, every handle opened is closed, also on
// failures and after client-side timeouts; and the counters do see a leak when there is one.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZERO_GUID } from '../../../../shared/hns/api';
import { loadKoffi } from '../../../../shared/hns/backends/hcn/native';
import { HnsClient } from '../../../../shared/hns/client';
import { HnsTimeoutError } from '../../../../shared/hns/errors';
import { errorRecord, signed } from '../../../../shared/hns/hresult';
import { buildStandin, counters, late, rig, since, sleep } from './harness';

const NET = '11223344-5566-7788-99AA-BBCCDDEEFF00';
const NET2 = 'A0A1A2A3-B0B1-C0C1-D0D1-D2D3D4D5D6D7';
const EP = '2CA473CC-84A9-481F-A1F7-CA49865A01A5';

function assertBalanced(d: ReturnType<typeof since>, what: string) {
  assert.is(d.badFrees, 0, `${what}: no double or foreign frees`);
  assert.is(d.stringsFreed, d.stringsAllocated, `${what}: every string freed (${d.stringsAllocated} allocated)`);
  assert.is(d.handlesClosed, d.handlesOpened, `${what}: every handle closed (${d.handlesOpened} opened)`);
}

test('a sequence of client operations, with failures and a timeout, frees every string and closes every handle', async () => {
  const { fake, api, server } = await rig();
  const before = counters();
  const handlesBefore = server.openHandles();
  const props = (id: string, name: string) => ({ hr: 0, value: JSON.stringify({ ID: id, Name: name }) });
  fake
    .on('queryNetworkProperties', (h) => (h === 1 ? props(NET, 'cbr0') : props(NET2, 'cbr1')))
    .on('enumerateNetworks', () => ({ hr: 0, value: JSON.stringify([NET, NET2, EP]) }))
    .on('openNetwork', (id) => (id === EP ? { hr: signed(0x803b0001), errorRecord: errorRecord(0x803b0001) } : { hr: 0, value: id === NET ? 1 : 2 }))
    .on('modifyNetwork', () => ({ hr: 0, errorRecord: '{"Success":false,"Error":"but it said S_OK"}' }))
    .on('deleteEndpoint', () => ({ hr: signed(0x803b0002), errorRecord: errorRecord(0x803b0002) }))
    .on('createEndpoint', () => ({ hr: signed(0x803b001e), errorRecord: errorRecord(0x803b001e) }))
    .on('queryNamespaceProperties', () => late(300, { hr: 0, value: '{"ID":"late"}' }));
  const client = new HnsClient(api, { callTimeoutMs: 100 });
  const settle = (p: Promise<unknown>) => p.then(() => 'ok', (e: Error) => e.constructor.name);

  // Listing opens and queries each network; the third was "deleted" in between (not-found, skipped).
  const listed = await client.listNetworks();
  assert.equal(listed.map((n) => n.Name), ['cbr0', 'cbr1']);
  assert.is(await settle(client.createNetwork({ Name: 'cbr0' })), 'ok');
  assert.is(await settle(client.modifyNetwork(NET, { ResourceType: 'Policy', RequestType: 'Add' } as never)), 'HnsError');
  assert.is(await settle(client.deleteEndpoint(EP)), 'HnsNotFoundError');
  assert.is(await settle(client.createEndpoint(NET, { Name: 'x' })), 'HnsInvalidError');
  assert.is(await settle(client.modifyNetwork(EP, { ResourceType: 'Policy', RequestType: 'Add' } as never)), 'HnsNotFoundError');
  // The namespace query answers after the deadline: the client gives up and closes the handle;
  // the late answer's string is still freed when it arrives.
  assert.is(await settle(client.createNamespace()), 'HnsTimeoutError');
  await sleep(400);

  const d = since(before);
  assertBalanced(d, 'client sequence');
  // 1 enumeration + 2 properties + 1 open record (listing), 1 properties (create), 1 record each for
  // the modify, the delete, the endpoint create and the failed open, 1 late properties string.
  assert.is(d.stringsAllocated, 10, 'every string went through the library');
  // 2 (listing) + create + modify's open + the endpoint's network + the namespace.
  assert.is(d.handlesOpened, 6, 'every handle went through the library');
  assert.is(server.openHandles(), handlesBefore, 'the server holds no handle of ours');
  await api.dispose();
});

test('concurrent calls on koffi worker threads keep the accounting exact', async () => {
  const { fake, api } = await rig();
  fake.on('queryEndpointProperties', (h) => late(5 + Number(h) % 7, { hr: 0, value: JSON.stringify({ ID: EP, Name: `ep${h}` }) }));
  const before = counters();
  const client = new HnsClient(api);
  fake.on('enumerateEndpoints', () => ({ hr: 0, value: JSON.stringify(Array.from({ length: 12 }, () => EP)) }));
  const results = await Promise.all(Array.from({ length: 6 }, () => client.listEndpoints()));
  assert.is(results.flat().length, 72);
  const names = new Set(results.flat().map((e) => e.Name));
  assert.is(names.size, 72, 'each answer reached its own caller');
  assertBalanced(since(before), 'concurrent');
  await api.dispose();
});

test('the counters detect a string not freed, a string freed twice, and a handle not closed', async () => {
  const { fake } = await rig();
  fake.on('queryNetworkProperties', () => ({ hr: 0, value: '{"Name":"leak"}' }));
  const koffi = loadKoffi();
  const lib = koffi.load(buildStandin());
  const outPtr = koffi.out(koffi.pointer('void *'));
  const open = lib.func('HcnOpenNetwork', 'int32_t', ['const void *', outPtr, outPtr]);
  const query = lib.func('HcnQueryNetworkProperties', 'int32_t', ['void *', 'const char16_t *', outPtr, outPtr]);
  const close = lib.func('HcnCloseNetwork', 'int32_t', ['void *']);
  const free = lib.func('CoTaskMemFree', 'void', ['void *']);
  const call = (fn: typeof open, ...args: unknown[]) =>
    new Promise<number>((resolve, reject) => fn.async(...args, (err: unknown, hr: number) => (err ? reject(err) : resolve(hr))));
  const before = counters();

  const h: [unknown] = [null];
  assert.is(await call(open, Buffer.alloc(16), h, [null]), 0);
  const props: [unknown] = [null];
  assert.is(await call(query, h[0], '{}', props, [null]), 0);
  let d = since(before);
  assert.is(d.stringsAllocated - d.stringsFreed, 1, 'the unfreed properties string shows');
  assert.is(d.handlesOpened - d.handlesClosed, 1, 'the open handle shows');

  free(props[0]);
  d = since(before);
  assert.is(d.stringsAllocated - d.stringsFreed, 0);
  free(props[0]);
  assert.is(since(before).badFrees, 1, 'the second free of the same string shows');
  free(null); // CoTaskMemFree(NULL) is a no-op, not a bad free
  assert.is(since(before).badFrees, 1);

  assert.is(await call(close, h[0]), 0);
  d = since(before);
  assert.is(d.handlesOpened - d.handlesClosed, 0);
  lib.unload();
});

test('the client deadline fires while the DLL call still blocks (async binding)', async () => {
  const { fake, api } = await rig();
  fake.on('openNetwork', () => late(600, { hr: signed(0x803b0001), errorRecord: errorRecord(0x803b0001) }));
  const client = new HnsClient(api, { callTimeoutMs: 100 });
  const before = counters();
  const t0 = performance.now();
  try {
    await client.modifyNetwork(NET, { ResourceType: 'Policy', RequestType: 'Add' } as never);
    assert.unreachable('should have timed out');
  } catch (err) {
    assert.instance(err, HnsTimeoutError);
    assert.match((err as Error).message, /HcnOpenNetwork did not answer within 100 ms/);
  }
  const waited = performance.now() - t0;
  assert.ok(waited >= 95 && waited < 450, `timed out after ${waited.toFixed(0)} ms, not after the 600 ms answer`);
  // The event loop was free meanwhile: a timer set now fires long before the late answer.
  const tick = performance.now();
  await sleep(10);
  assert.ok(performance.now() - tick < 200, 'the main thread is not blocked by the pending call');
  await sleep(700);
  assertBalanced(since(before), 'late failure'); // its error record was freed when it came
  assert.is(since(before).stringsAllocated, 1);
  await api.dispose();
});

test('a disposed adapter refuses calls, and one disposed mid-call still frees the late answer', async () => {
  const { fake, api } = await rig();
  fake.on('enumerateNetworks', () => late(150, { hr: 0, value: '["x"]' }));
  const before = counters();
  const pending = api.enumerateNetworks('{}');
  await api.dispose();
  assert.equal(await pending, { hr: 0, value: '["x"]' });
  assertBalanced(since(before), 'dispose');
  try {
    await api.openNetwork(ZERO_GUID);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.match((err as Error).message, /disposed/);
  }
});

test.run();
