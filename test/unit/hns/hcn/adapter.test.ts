// The hcn adapter against the stand-in library: what the recording fake receives is what the
// adapter put in native memory (GUID struct bytes, UTF-16 strings, pointer-sized handles), and
// what the adapter returns is what came back through CoTaskMem strings and out-parameters.

import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ZERO_GUID } from '../../../../shared/hns/api';
import { createHcnApi, defaultLibraries } from '../../../../shared/hns/backends/hcn/index';
import { loadKoffi } from '../../../../shared/hns/backends/hcn/native';
import { HnsClient } from '../../../../shared/hns/client';
import { HnsConflictError, HnsError, HnsInvalidError, HnsNotFoundError } from '../../../../shared/hns/errors';
import { errorRecord, signed } from '../../../../shared/hns/hresult';
import { buildStandin, counters, LIBRARIES, rig, since } from './harness';

const NET = '11223344-5566-7788-99AA-BBCCDDEEFF00';
const EP = '2CA473CC-84A9-481F-A1F7-CA49865A01A5';
const NS = '7CB720C0-AC4C-4266-92E1-DC277B2A9B94';
const UNICODE = 'héllo→世界 🚀';
// Unpaired surrogates are legal in both a JS string and a PWSTR; they must survive as code units.
const LONE = 'a\uD800b\uDC00c';

test('GUIDs reach the DLL as the Windows struct: the server sees the exact text passed', async () => {
  const { fake, api } = await rig();
  await api.openNetwork(NET);
  await api.deleteEndpoint(EP);
  await api.openNamespace(NS);
  await api.deleteNetwork(ZERO_GUID);
  assert.equal(fake.calls.map((c) => [c.fn, c.args[0]]), [
    ['openNetwork', NET],
    ['deleteEndpoint', EP],
    ['openNamespace', NS],
    ['deleteNetwork', ZERO_GUID],
  ]);
  await api.dispose();
});

test('control: the same GUID sent as RFC-order bytes arrives as a different GUID', async () => {
  const { fake } = await rig();
  // What a naive hex decode of the text would put in memory; the stand-in reads it as a struct.
  const rfc = Buffer.from(NET.replace(/-/g, ''), 'hex');
  const lib = loadKoffi().load(buildStandin());
  const open = lib.func('HcnOpenNetwork', 'int32_t', ['const void *', 'void *', 'void *']);
  // Async: the server runs on this thread, so a synchronous call would wait for itself.
  const hr = await new Promise((resolve, reject) => open.async(rfc, null, null, (err: unknown, v: number) => (err ? reject(err) : resolve(v))));
  assert.is(hr, 0);
  assert.equal(fake.callsOf('openNetwork'), [['44332211-6655-8877-99AA-BBCCDDEEFF00']]);
});

test('lower-case and braced GUID texts arrive as the same GUID', async () => {
  const { fake, api } = await rig();
  await api.openEndpoint(EP.toLowerCase());
  await api.openEndpoint(`{${EP}}`);
  assert.equal(fake.callsOf('openEndpoint'), [[EP], [EP]]);
  await api.dispose();
});

test('creates pass the zero GUID; the endpoint create takes the network handle first', async () => {
  const { fake, api } = await rig();
  fake.on('openNetwork', () => ({ hr: 0, value: 41 }));
  fake.on('createEndpoint', () => ({ hr: 0, value: 42 }));
  fake.on('queryEndpointProperties', () => ({ hr: 0, value: JSON.stringify({ ID: EP, Name: 'c1_cbr0' }) }));
  const client = new HnsClient(api);
  const ep = await client.createEndpoint(NET, { Name: 'c1_cbr0', SchemaVersion: { Major: 2, Minor: 0 } });
  assert.is(ep.ID, EP);
  assert.equal(fake.calls.map((c) => c.fn), ['openNetwork', 'createEndpoint', 'queryEndpointProperties', 'closeEndpoint', 'closeNetwork']);
  const [network, id, settings] = fake.callsOf('createEndpoint')[0]!;
  assert.is(network, 41); // the fake's own handle, back through a 64-bit pointer
  assert.is(id, ZERO_GUID);
  assert.equal(JSON.parse(settings as string), { Name: 'c1_cbr0', SchemaVersion: { Major: 2, Minor: 0 } });
  assert.equal(fake.callsOf('queryEndpointProperties')[0]![0], 42);
  assert.equal(fake.callsOf('closeEndpoint'), [[42]]);
  assert.equal(fake.callsOf('closeNetwork'), [[41]]);
  await api.dispose();
});

test('handles are pointer-sized: a value above 2^53 comes back as a BigInt and goes out unchanged', async () => {
  const { fake, api } = await rig();
  const own = 2n ** 62n + 3n;
  fake.on('createNamespace', () => ({ hr: 0, value: own }));
  const created = await api.createNamespace(ZERO_GUID, '{}');
  assert.is(typeof created.value, 'bigint');
  assert.ok((created.value as bigint) > 2n ** 53n, `wire handle ${created.value}`);
  const mod = await api.modifyNamespace(created.value!, '{"x":1}');
  assert.is(mod.hr, 0);
  assert.equal(fake.callsOf('modifyNamespace'), [[own, '{"x":1}']]);
  // Squeezed through a JS number, the handle is no longer the one the service gave out.
  const squeezed = await api.closeNamespace(Number(created.value));
  assert.is(squeezed.hr, signed(0x80070006));
  assert.is((await api.closeNamespace(created.value!)).hr, 0);
  assert.equal(fake.callsOf('closeNamespace'), [[own]]);
  await api.dispose();
});

test('a malformed GUID fails as invalid without reaching the DLL', async () => {
  const { fake, api } = await rig();
  const before = counters();
  const out = await api.openNetwork('11223344-5566-7788-99AA-BBCCDDEEFF0');
  assert.is(out.hr, signed(0x803b0019));
  assert.is(JSON.parse(out.errorRecord!).ErrorCode, 0x803b0019);
  const client = new HnsClient(api);
  try {
    await client.deleteNetwork('not-a-guid');
    assert.unreachable('deleteNetwork should have failed');
  } catch (err) {
    assert.instance(err, HnsInvalidError);
    assert.match((err as Error).message, /0x803B0019/);
    assert.match((err as Error).message, /not-a-guid/);
  }
  assert.equal(fake.calls, []);
  assert.is(since(before).calls, 0);
  await api.dispose();
});

test('UTF-16 in: non-ASCII, astral and unpaired surrogates arrive intact', async () => {
  const { fake, api } = await rig();
  const settings = JSON.stringify({ Name: UNICODE, Lone: LONE });
  await api.createNetwork(ZERO_GUID, settings);
  await api.enumerateEndpoints(UNICODE);
  await api.hnsCall('GET', `/networks/${UNICODE}`, LONE);
  assert.is(fake.callsOf('createNetwork')[0]![1], settings);
  assert.equal(JSON.parse(fake.callsOf('createNetwork')[0]![1] as string).Lone, LONE);
  assert.equal(fake.callsOf('enumerateEndpoints'), [[UNICODE]]);
  assert.equal(fake.callsOf('hnsCall'), [['GET', `/networks/${UNICODE}`, LONE]]);
  await api.dispose();
});

test('UTF-16 out: properties, enumerations, HNSCall responses and error records come back intact', async () => {
  const { fake, api } = await rig();
  const props = JSON.stringify({ Name: UNICODE });
  const record = errorRecord(0x803b001e, UNICODE);
  fake.on('queryNetworkProperties', () => ({ hr: 0, value: props }));
  fake.on('enumerateNetworks', () => ({ hr: 0, value: LONE }));
  fake.on('hnsCall', () => ({ hr: 0, value: UNICODE }));
  fake.on('modifyEndpoint', () => ({ hr: signed(0x803b001e), errorRecord: record }));
  const h = (await api.openNetwork(NET)).value!;
  assert.is((await api.queryNetworkProperties(h, '{}')).value, props);
  assert.is((await api.enumerateNetworks('{}')).value, LONE);
  assert.is((await api.hnsCall('GET', '/', '')).value, UNICODE);
  const failedModify = await api.modifyEndpoint((await api.openEndpoint(EP)).value!, '{}');
  assert.is(failedModify.errorRecord, record);
  assert.ok(failedModify.errorRecord!.includes('🚀'));
  await api.dispose();
});

test('empty strings are strings: an empty result is "" and an empty argument arrives as ""', async () => {
  const { fake, api } = await rig();
  fake.on('enumerateNamespaces', () => ({ hr: 0, value: '' }));
  const out = await api.enumerateNamespaces('');
  assert.is(out.value, '');
  assert.equal(fake.callsOf('enumerateNamespaces'), [['']]);
  await api.dispose();
});

test('a 300 KB document crosses both ways (larger than koffi\'s 128 KiB async heap)', async () => {
  const { fake, api } = await rig();
  const big = JSON.stringify({ Name: `${'x'.repeat(300_000)}${UNICODE}` });
  fake.on('queryNetworkProperties', () => ({ hr: 0, value: big }));
  const h = (await api.createNetwork(ZERO_GUID, big)).value!;
  assert.ok(fake.callsOf('createNetwork')[0]![1] === big, 'settings intact');
  assert.ok((await api.queryNetworkProperties(h, '{}')).value === big, 'properties intact');
  await api.dispose();
});

test('a failing call returns the signed HRESULT and the record, byte for byte', async () => {
  const { fake, api } = await rig();
  const record = errorRecord(0x803b0010);
  fake.on('createNetwork', () => ({ hr: signed(0x803b0010), errorRecord: record }));
  const out = await api.createNetwork(ZERO_GUID, '{}');
  assert.is(out.hr, -2143617008);
  assert.is(out.hr >>> 0, 0x803b0010);
  assert.is(out.errorRecord, record);
  assert.is(out.value, undefined);
  await api.dispose();
});

test('HnsClient over the adapter raises the typed error with the hex code', async () => {
  const { fake, api } = await rig();
  fake.on('createNetwork', () => ({ hr: signed(0x803b0010), errorRecord: errorRecord(0x803b0010) }));
  fake.on('openEndpoint', () => ({ hr: signed(0x803b0002), errorRecord: errorRecord(0x803b0002) }));
  fake.on('createEndpoint', () => ({ hr: signed(0x803b001e), errorRecord: errorRecord(0x803b001e, '{{IPAddress,10.9.9.9}}') }));
  const client = new HnsClient(api);
  const cases: Array<[() => Promise<unknown>, Function, RegExp]> = [
    [() => client.createNetwork({ Name: 'cbr0' }), HnsConflictError, /HcnCreateNetwork failed: A network with this name already exists\. \(0x803B0010\)/],
    [() => client.modifyEndpoint(EP, { ResourceType: 'Policy', RequestType: 'Add' } as never), HnsNotFoundError, /HcnOpenEndpoint failed: The endpoint was not found\. \(0x803B0002\)/],
    [() => client.createEndpoint(NET, { Name: 'x' }), HnsInvalidError, /HcnCreateEndpoint failed: .*10\.9\.9\.9.* \(0x803B001E\)/],
  ];
  for (const [run, kind, message] of cases) {
    try {
      await run();
      assert.unreachable('should have failed');
    } catch (err) {
      assert.instance(err, kind);
      assert.match((err as Error).message, message);
    }
  }
  await api.dispose();
});

test('success with a non-empty error record is a failure (hcsshim rule), and the handle is still closed', async () => {
  const { fake, api } = await rig();
  fake.on('modifyNetwork', () => ({ hr: 0, errorRecord: JSON.stringify({ Success: false, Error: 'Ça a échoué quand même. ' }) }));
  const raw = await api.modifyNetwork((await api.openNetwork(NET)).value!, '{}');
  assert.is(raw.hr, 0);
  assert.ok(raw.errorRecord);
  const client = new HnsClient(api);
  try {
    await client.modifyNetwork(NET, { ResourceType: 'Policy', RequestType: 'Add' } as never);
    assert.unreachable('should have failed');
  } catch (err) {
    assert.instance(err, HnsError);
    assert.match((err as Error).message, /Ça a échoué quand même\. \(0x80004005\)/);
  }
  assert.is(fake.calls.at(-1)!.fn, 'closeNetwork');
  await api.dispose();
});

test('HNSCall: the client reads the service version; a failing call carries the envelope as its record', async () => {
  const { fake, api } = await rig();
  const client = new HnsClient(api);
  assert.equal(await client.serviceVersion(), { Major: 15, Minor: 1 });
  assert.equal(fake.callsOf('hnsCall'), [['GET', '/globals/version', '']]);
  const envelope = JSON.stringify({ Success: false, Error: 'Element not found. ', ErrorCode: 0x80070490 });
  fake.on('hnsCall', () => ({ hr: signed(0x80070490), value: envelope }));
  const out = await api.hnsCall('GET', '/networks/x', '');
  assert.equal(out, { hr: signed(0x80070490), value: envelope, errorRecord: envelope });
  await api.dispose();
});

test('a library that is not there fails the adapter with its path', async () => {
  const missing = '/nonexistent/computenetwork.so';
  try {
    await createHcnApi({ env: {}, libraries: { ...LIBRARIES(), computenetwork: missing } });
    assert.unreachable('should have failed');
  } catch (err) {
    assert.match((err as Error).message, /cannot load \/nonexistent\/computenetwork\.so/);
  }
});

test('a missing export fails only the call that needs it, with ERROR_PROC_NOT_FOUND', async () => {
  await rig();
  // libm has CoTaskMemFree no more than HNSCall; use the stand-in for ole32 and libm as vmcompute.
  const api = await createHcnApi({ env: {}, libraries: { ...LIBRARIES(), vmcompute: 'libm.so.6' } });
  const out = await api.hnsCall('GET', '/globals/version', '');
  assert.is(out.hr >>> 0, 0x8007007f);
  assert.match(out.errorRecord!, /HNSCall/);
  assert.is((await api.openNetwork(NET)).hr, 0); // computenetwork is still fine
  await api.dispose();
});

test('default library paths are full paths into System32 under SystemRoot', () => {
  assert.equal(defaultLibraries({ SystemRoot: 'D:\\Win' }), {
    computenetwork: 'D:\\Win\\System32\\computenetwork.dll',
    vmcompute: 'D:\\Win\\System32\\vmcompute.dll',
    ole32: 'D:\\Win\\System32\\ole32.dll',
  });
  const fallback = defaultLibraries({});
  assert.is(fallback.computenetwork, 'C:\\Windows\\System32\\computenetwork.dll');
  for (const p of Object.values(fallback)) assert.ok(path.win32.isAbsolute(p), p);
  // PATH and the working directory play no part.
  assert.equal(defaultLibraries({ PATH: 'C:\\evil', SystemRoot: 'C:\\Windows' }), fallback);
});

test.run();
