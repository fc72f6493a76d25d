// npm run test:windows: the shipped win-x64 executables under Wine, through the hcn backend
// (koffi, GUID structs, UTF-16, CoTaskMemFree) against the stand-in computenetwork.dll, which
// hands every call to the HNS emulator of a scratch node (test/windows/rig.ts draws the path).
//
// For each plugin: VERSION, the malformed requests of test/exec/contract.test.ts, the node network
// made by hnsctl.exe apply (the same calls and state as the TypeScript hnsctl on the emulator),
// and the minimal and full example conflists through a pod's lifecycle: hnsctl.exe namespace
// create, ADD, CHECK, DEL, DEL, CHECK after DEL, namespace delete, with the result, the HCN
// documents and "nothing left" asserted as test/exec/examples.test.ts does. After every run that
// called HCN, the stand-in's unload report must show each string freed and each handle closed.
// Then hnsctl.exe's own commands, and probes with plain node.exe + koffi that show the checks can
// fail: a leaky caller and a double free are caught, and RFC byte order names another GUID.
//
// Prints one line per test and `N passed, N failed` last (scripts/test.mjs reads it); exits 1
// on any failure. Run with: node --import tsx test/windows/suite.ts (test/windows/run.sh).

import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { buildRequest, cniEnvironment, type ConfList, listVersion, loadConfList, type Runtime, type RuntimeAttachment } from '../../conformance/runtime/libcni';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import type { CallRecord } from '../../shared/hns/backends/emulator/calllog';
import { createEmulatorApi } from '../../shared/hns/backends/emulator/index';
import { guidToBytes } from '../../shared/hns/backends/hcn/guid';
import { run as hnsctlCli } from '../../tools/hnsctl/cli';
import { EXPECTATIONS, type ExampleExpectation } from '../exec/expectations';
import { assertEndpointDocuments, assertResult } from '../helpers/attachment-asserts';
import { assertBalanced, assertThroughServer, BIN_WIN, median, prepare, ROOT, startWine, stopWine, TMP, WineNode, type WineRun, winPath } from './rig';

const PLUGINS = ['win-l2bridge', 'win-overlay', 'host-gateway', 'l3-upstream'] as const;
type Plugin = (typeof PLUGINS)[number];
const EXAMPLES = ['minimal', 'full'];
const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const CONTAINER = '4f1c2e9a0b7d4c3e8f6a5b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e';
const GUID_TEXT = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
/** The emulator's node config, as test/exec sets it (the Overlay provider address comes from it). */
const NODE_CONFIG = { managementIp: '192.168.10.21' };

// ---------------------------------------------------------------------------------------------
// A small runner: sequential tests, one line each, the summary last

const totals = { passed: 0, failed: 0 };
/** Indexes (in the win-l2bridge node's report list) of the probes' deliberate leak and double free. */
const deliberateLeaks = new Set<number>();
/** VERSION run times (warm wineserver); bench/run.mjs measures cold and warm start-up properly. */
const startup: number[] = [];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function test(name: string, fn: () => Promise<void> | void): Promise<boolean> {
  const t0 = Date.now();
  try {
    await fn();
    totals.passed++;
    say(`  ✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (err) {
    totals.failed++;
    const e = err as Error & { operator?: string; expects?: unknown; actual?: unknown };
    const detail = e.operator ? `\n      expected ${JSON.stringify(e.expects)}\n      actual   ${JSON.stringify(e.actual)}` : '';
    say(`  ✘ ${name}\n      ${String(e.message).split('\n').join('\n      ')}${detail}`);
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function runInfo(r: WineRun): string {
  return `exit ${r.code}; stdout ${JSON.stringify(r.stdout.slice(0, 600))}; stderr ${JSON.stringify(r.stderr.slice(0, 600))}`;
}

function assertOk(r: WineRun, what: string): void {
  assert.is(r.code, 0, `${what}: ${runInfo(r)}`);
}

function expectError(r: WineRun, code: number, needle: string): void {
  assert.ok(r.code !== 0, `non-zero exit (${runInfo(r)})`);
  assert.ok(r.json, `stdout is one JSON object: ${runInfo(r)}`);
  assert.is(r.json.code, code, r.stdout);
  assert.ok(`${r.json.msg} ${r.json.details ?? ''}`.includes(needle), `"${needle}" in ${r.stdout}`);
}

/** `check` fails, with a message matching `why` (uvu's assert.throws passes its own assertion errors through). */
function assertFails(check: () => void, why: RegExp): void {
  let message: string | undefined;
  try {
    check();
  } catch (err) {
    message = (err as Error).message;
  }
  assert.ok(message !== undefined, `the check passed; it should have failed with ${why}`);
  assert.match(message!, why);
}

/** GUIDs replaced by G1, G2, ... in order of first appearance: two hosts' runs compared. */
function normalizeGuids(text: string): string {
  const seen = new Map<string, string>();
  return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, (g) => {
    const k = g.toUpperCase();
    if (!seen.has(k)) seen.set(k, `G${seen.size + 1}`);
    return seen.get(k)!;
  });
}

function callsShape(calls: CallRecord[]): string {
  return normalizeGuids(JSON.stringify(calls.map((c) => ({ op: c.op, id: c.id, name: c.name, doc: c.doc, hr: c.hr }))));
}

interface Captured {
  code: number;
  out: string;
  err: string;
}

/** The TypeScript hnsctl in this process, straight on an emulator directory (what the Linux hnsctl does). */
async function linuxHnsctl(emulatorDir: string, argv: string[]): Promise<Captured> {
  const api = createEmulatorApi({ dir: emulatorDir });
  const c: Captured = { code: -1, out: '', err: '' };
  c.code = await hnsctlCli(argv, { openApi: async () => api, out: (t) => (c.out += t), err: (t) => (c.err += t), readFile: (f) => fs.readFileSync(f, 'utf8') });
  await api.dispose();
  return c;
}

/**
 * The HCN documents of the ADD, as test/exec/examples.test.ts checks them, and the GUIDs: the
 * stand-in prints each REFGUID from the struct's fields (Data1-3 read little-endian), so the IDs
 * the emulator logged are what the product put in memory. Sent in RFC byte order, the namespace
 * would arrive as another GUID than CNI_NETNS, and the endpoint's ID in HcnCreateEndpoint would
 * differ from the same ID written as text into the ModifyNamespace document.
 */
function assertDocuments(calls: CallRecord[], list: ConfList, want: ExampleExpectation, netns: string): void {
  const { create, attach } = assertEndpointDocuments(calls, `${CONTAINER}_${list.name}`, want, netns);
  assert.is(attach.id, netns.toUpperCase(), 'GUID byte order: the namespace the service was asked to change (HcnOpenNamespace REFGUID) is CNI_NETNS');
  assert.is((attach.doc as any).Settings.EndpointId, create.id, 'GUID byte order: the endpoint ID as a struct (HcnCreateEndpoint) and as text agree');
  const opens = calls.filter((c) => c.op === 'OpenNamespace');
  assert.ok(opens.length > 0 && opens.every((c) => c.id === netns.toUpperCase() && c.hr === '0x00000000'), `every HcnOpenNamespace named CNI_NETNS and found it: ${JSON.stringify(opens.map((c) => [c.id, c.hr]))}`);
}

/** As test/exec/examples.test.ts: no pod endpoint, no attachment record, no address held by the pod. */
function assertNothingLeft(node: WineNode, list: ConfList, ipamRoot: string): void {
  const state = node.admin.readState();
  const pods = Object.values(state.endpoints).filter((e) => e.Name?.startsWith(CONTAINER));
  assert.equal(pods, [], 'no pod endpoint left');
  const records = path.join(node.stateDir, 'attachments', list.name);
  assert.equal(fs.existsSync(records) ? fs.readdirSync(records) : [], [], 'no attachment record left');
  const ipamDir = path.join(ipamRoot, list.name);
  assert.ok(fs.existsSync(ipamDir), `the built-in IPAM kept its state where the conf said (${ipamDir})`);
  const held = fs.readdirSync(ipamDir).filter((f) => /^[0-9a-f._]+$/i.test(f) && /\d/.test(f) && !f.startsWith('last_reserved_ip'));
  for (const f of held) assert.not.match(fs.readFileSync(path.join(ipamDir, f), 'utf8'), CONTAINER, `address ${f} still held by the pod`);
}

// ---------------------------------------------------------------------------------------------
// Per plugin

async function contract(node: WineNode, p: Plugin): Promise<void> {
  const netns = '7CB720C0-AC4C-4266-92E1-DC277B2A9B94';
  const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.1.0', name: 'cbr0', type: p, ipam: { type: 'builtin', subnet: '10.244.3.0/24' }, ...extra });
  const cni = (command: string, extra: NodeJS.ProcessEnv = {}) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'ctr-a1',
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1',
    CNI_PATH: BIN_WIN,
    ...extra,
  });

  await test(`${p}.exe: VERSION lists the seven versions`, async () => {
    const r = await node.exe(p, { env: { CNI_COMMAND: 'VERSION' } });
    startup.push(r.ms);
    assertOk(r, 'VERSION');
    assert.equal(r.json, { cniVersion: '1.1.0', supportedVersions: VERSIONS });
    assert.is(r.stderr, '', 'nothing on stderr');
  });
  await test(`${p}.exe: bad JSON is code 6`, async () => {
    expectError(await node.exe(p, { env: cni('ADD'), stdin: '{"name": "cbr0",' }), 6, 'network config');
  });
  await test(`${p}.exe: an unknown command is code 4 naming it`, async () => {
    expectError(await node.exe(p, { env: cni('FROB'), stdin: conf() }), 4, 'FROB');
  });
  await test(`${p}.exe: a missing variable is code 4 naming it`, async () => {
    expectError(await node.exe(p, { env: cni('ADD', { CNI_NETNS: '' }), stdin: conf() }), 4, 'CNI_NETNS');
  });
  await test(`${p}.exe: an unsupported version is code 1 naming it`, async () => {
    expectError(await node.exe(p, { env: cni('ADD'), stdin: conf({ cniVersion: '0.5.0' }) }), 1, '0.5.0');
  });
  await test(`${p}.exe: the malformed requests made no HCN call and no state, and logged to CNI_LOG_FILE`, () => {
    assert.equal(node.admin.readCalls(), [], 'no HCN call');
    assert.equal(node.readReports(), [], 'no stand-in was called');
    assert.not.ok(fs.existsSync(node.stateDir), 'no state dir');
    const lines = fs.readFileSync(node.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.command === 'FROB' && l.code === 4 && l.step === 'done'), 'the FROB request was logged');
  });
}

async function nodeNetwork(node: WineNode, p: Plugin): Promise<boolean> {
  return test(`hnsctl.exe apply ${p}/examples/node-network.json: the same HCN calls and state as the Linux hnsctl on the emulator`, async () => {
    const file = path.join(ROOT, 'plugins', p, 'examples', 'node-network.json');
    const r = await node.exe('hnsctl', { args: ['apply', winPath(file)] });
    assertOk(r, 'apply');
    assertBalanced(r, 'hnsctl.exe apply');
    assertThroughServer(node, r, 'hnsctl.exe apply');
    assert.ok(r.calls.some((c) => c.op === 'CreateNetwork' && c.hr === '0x00000000'), 'a network was created');

    const refDir = path.join(node.dir, 'hns-linux');
    const ref = emulatorAdmin(refDir);
    await ref.reset();
    ref.setConfig(NODE_CONFIG);
    const linux = await linuxHnsctl(refDir, ['apply', file]);
    assert.is(linux.code, 0, linux.err);
    assert.is(normalizeGuids(r.stdout), normalizeGuids(linux.out), 'the same report');
    assert.is(callsShape(r.calls), callsShape(ref.readCalls()), 'the same HCN calls with the same documents');
    assert.is(normalizeGuids(JSON.stringify(node.admin.readState())), normalizeGuids(JSON.stringify(ref.readState())), 'the same emulator state');
  });
}

async function lifecycle(node: WineNode, p: Plugin, example: string): Promise<void> {
  await test(`${p}/${example}: hnsctl.exe namespace create, ADD, CHECK, DEL, DEL, CHECK after DEL, namespace delete`, async () => {
    const want = EXPECTATIONS[`${p}/${example}`];
    assert.ok(want, `expectations for ${p}/${example}`);
    const list = loadConfList(path.join(ROOT, 'plugins', p, 'examples', `${example}.conflist`));
    const conf = list.plugins[0]!;
    const ipamRoot = path.join(node.dir, `ipam-${example}`);
    (conf.ipam as Record<string, unknown>).dataDir = winPath(ipamRoot);
    if (conf.logFile) conf.logFile = winPath(node.logFile);
    const v = listVersion(list);
    assert.ok(!['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v), 'the examples support CHECK');

    const created = await node.exe('hnsctl', { args: ['namespace', 'create'] });
    assertOk(created, 'namespace create');
    assertBalanced(created, 'namespace create');
    const netns = created.stdout.trim();
    assert.match(netns, GUID_TEXT);
    assert.ok(node.admin.readState().namespaces[netns], 'the namespace exists in the emulator under the ID printed');

    const a: RuntimeAttachment = {
      containerId: CONTAINER,
      ifName: 'eth0',
      netns,
      args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', 'ns1'], ['K8S_POD_NAME', 'web-0'], ['K8S_POD_INFRA_CONTAINER_ID', CONTAINER]],
      capabilityArgs: want!.capabilityArgs,
    };
    const rt: Runtime = { binDirs: [BIN_WIN], env: {}, cacheDir: '', platform: 'win32' };
    const cni = (verb: string, prevResult?: unknown) => node.exe(p, { env: cniEnvironment(rt, verb, a), stdin: buildRequest(list, conf, { prevResult, capabilityArgs: a.capabilityArgs }) });

    const add = await cni('ADD');
    let deleted = false;
    try {
      assertOk(add, 'ADD');
      assertResult(add.json, v, want!, netns);
      assertDocuments(add.calls, list, want!, netns);
      assertBalanced(add, 'ADD');
      assertThroughServer(node, add, 'ADD');

      const pods = await node.exe('hnsctl', { args: ['pods', '--json'] });
      assertOk(pods, 'pods');
      assertBalanced(pods, 'hnsctl.exe pods');
      const pod = (pods.json as any[]).find((x) => x.containerId === CONTAINER);
      assert.ok(pod, `hnsctl.exe pods lists the pod: ${pods.stdout}`);
      assert.equal([pod.network, pod.namespace, pod.orphaned, pod.ips], [list.name, netns, false, want!.addresses.map((x) => x.split('/')[0])]);

      const check = await cni('CHECK', add.json);
      assertOk(check, 'CHECK');
      assert.is(check.stdout, '', 'CHECK prints nothing');
      assertBalanced(check, 'CHECK');

      const del = await cni('DEL', add.json);
      deleted = true;
      assertOk(del, 'DEL');
      assertBalanced(del, 'DEL');
      assert.ok(del.calls.some((c) => c.op === 'DeleteEndpoint' && c.hr === '0x00000000'), 'the endpoint was deleted');
    } finally {
      // A failed check must not leave the pod to the next example, whose ADD would find it attached.
      if (!deleted) await cni('DEL', add.json);
    }
    const again = await cni('DEL', add.json);
    assertOk(again, 'DEL again');
    assertBalanced(again, 'DEL again');
    assertNothingLeft(node, list, ipamRoot);

    const late = await cni('CHECK', add.json);
    assert.ok(late.code !== 0, `CHECK after DEL fails: ${runInfo(late)}`);
    assert.is(late.json?.code, 104, late.stdout);
    assertBalanced(late, 'CHECK after DEL');

    const gone = await node.exe('hnsctl', { args: ['namespace', 'delete', netns] });
    assertOk(gone, 'namespace delete');
    assertBalanced(gone, 'namespace delete');
    assert.not.ok(node.admin.readState().namespaces[netns], 'the namespace is gone');
  });
}

async function teardown(node: WineNode): Promise<void> {
  await test(`hnsctl.exe delete network: nothing left on the node`, async () => {
    for (const id of Object.keys(node.admin.readState().networks)) {
      const r = await node.exe('hnsctl', { args: ['delete', 'network', id] });
      assertOk(r, `delete network ${id}`);
      assertBalanced(r, 'hnsctl.exe delete network');
    }
    const s = node.admin.readState();
    assert.equal(Object.keys(s.networks), [], 'no network');
    assert.equal(Object.keys(s.endpoints), [], 'no endpoint');
    for (const ns of Object.values(s.namespaces)) assert.equal(ns.Resources ?? [], [], `namespace ${ns.ID} holds nothing`);
  });
}

// ---------------------------------------------------------------------------------------------
// hnsctl.exe on its own, and the probes

async function hnsctlCommands(node: WineNode): Promise<void> {
  await test('hnsctl.exe: help, and usage errors name the problem (exit 2)', async () => {
    const help = await node.exe('hnsctl', { args: ['help'] });
    assertOk(help, 'help');
    assert.ok(help.stdout.startsWith('usage: hnsctl <command>'), help.stdout);
    const unknown = await node.exe('hnsctl', { args: ['frob'] });
    assert.is(unknown.code, 2, runInfo(unknown));
    assert.ok(unknown.stderr.includes('unknown command frob'), unknown.stderr);
    const option = await node.exe('hnsctl', { args: ['list', '--bogus'] });
    assert.is(option.code, 2, runInfo(option));
    assert.ok(option.stderr.includes('unknown option --bogus'), option.stderr);
    const missing = path.join(TMP, 'no-such-file.json');
    const apply = await node.exe('hnsctl', { args: ['apply', winPath(missing)] });
    assert.is(apply.code, 1, runInfo(apply));
    assert.ok(apply.stderr.includes('cannot read'), apply.stderr);
    for (const r of [help, unknown, option, apply]) assert.equal(r.calls, [], 'no HCN call');
  });

  await test('hnsctl.exe version --json: HNSCall through vmcompute.dll, the same answer as the Linux hnsctl', async () => {
    const r = await node.exe('hnsctl', { args: ['version', '--json'] });
    assertOk(r, 'version');
    assert.ok(r.calls.some((c) => c.op === 'HNSCall'), 'HNSCall reached the emulator');
    assertBalanced(r, 'hnsctl.exe version');
    assert.ok(r.reports.some((x) => x.module.toLowerCase().endsWith('/vmcompute.dll')), 'vmcompute.dll (the stand-in) reported');
    const linux = await linuxHnsctl(node.emulatorDir, ['version', '--json']);
    assert.is(linux.code, 0, linux.err);
    assert.equal(r.json, { ...JSON.parse(linux.out), backend: 'hcn' }, 'the .exe chose the hcn backend by itself and agrees on version and features');
  });

  await test('hnsctl.exe list networks|endpoints|namespaces --json: the same objects as the Linux hnsctl', async () => {
    for (const kind of ['networks', 'endpoints', 'namespaces']) {
      const r = await node.exe('hnsctl', { args: ['list', kind, '--json'] });
      assertOk(r, `list ${kind}`);
      assertBalanced(r, `hnsctl.exe list ${kind}`);
      const linux = await linuxHnsctl(node.emulatorDir, ['list', kind, '--json']);
      assert.is(linux.code, 0, linux.err);
      assert.equal(r.json, JSON.parse(linux.out), kind);
      assert.ok((r.json as unknown[]).length > 0, `some ${kind}`);
    }
  });

  await test('hnsctl.exe apply: non-ASCII names cross UTF-16 both ways intact (é, →, 世界, 😀 as a surrogate pair)', async () => {
    const name = 'wine-é→世界😀';
    const file = path.join(node.dir, 'unicode.json');
    const netdoc = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json'), 'utf8')).networks[0];
    fs.writeFileSync(file, JSON.stringify({ networks: [{ ...netdoc, Name: name, Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.250.0.0/24', Routes: [{ NextHop: '10.250.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }] }));
    const r = await node.exe('hnsctl', { args: ['apply', winPath(file)] });
    assertOk(r, 'apply');
    assertBalanced(r, 'hnsctl.exe apply');
    const created = Object.values(node.admin.readState().networks).find((n) => n.Name === name);
    assert.ok(created, `the emulator got the name intact: ${JSON.stringify(Object.values(node.admin.readState().networks).map((n) => n.Name))}`);
    const listed = await node.exe('hnsctl', { args: ['list', 'networks', '--json'] });
    assertOk(listed, 'list');
    assert.ok((listed.json as any[]).some((n) => n.Name === name && n.ID === created!.ID), 'and read it back intact');
    const del = await node.exe('hnsctl', { args: ['delete', 'network', created!.ID!] });
    assertOk(del, 'delete');
    assertBalanced(del, 'hnsctl.exe delete network');
    assert.not.ok(node.admin.readState().networks[created!.ID!], 'deleted');
  });
}

async function probes(node: WineNode): Promise<void> {
  const netId = Object.keys(node.admin.readState().networks)[0]!;

  await test('probe (node.exe + koffi): a caller that frees and closes everything passes the accounting', async () => {
    const r = await node.probe(['balanced', netId]);
    assertOk(r, 'probe');
    assert.equal([r.json.enumerateHr, r.json.openHr, r.json.closeHr], [0, 0, 0], r.stdout);
    assert.ok(r.json.networks.includes(netId), r.stdout);
    assertBalanced(r, 'balanced probe');
    const c = r.reports[0]!.counters;
    assert.equal([c.stringsAllocated, c.stringsFreed, c.handlesOpened, c.handlesClosed], [1, 1, 1, 1], 'the probe\'s one string and one handle were counted');
  });

  await test('probe: a string never freed and a handle never closed fail the accounting the .exe runs pass', async () => {
    const r = await node.probe(['leak', netId]);
    r.reports.forEach((_, i) => deliberateLeaks.add(r.firstReport + i));
    assertOk(r, 'probe');
    assert.equal([r.json.enumerateHr, r.json.openHr], [0, 0], r.stdout);
    const c = r.reports[0]?.counters;
    assert.ok(c, 'a report');
    assert.equal([c!.stringsAllocated, c!.stringsFreed, c!.handlesOpened, c!.handlesClosed], [1, 0, 1, 0], 'the leak is counted');
    assertFails(() => assertBalanced(r, 'leaky probe'), /every returned string freed/);
    c!.stringsFreed = 1; // with the string accounted for, the open handle alone still fails it
    assertFails(() => assertBalanced(r, 'leaky probe'), /every handle closed/);
  });

  await test('probe: a string freed twice fails the accounting', async () => {
    const r = await node.probe(['double-free']);
    r.reports.forEach((_, i) => deliberateLeaks.add(r.firstReport + i));
    assertOk(r, 'probe');
    const c = r.reports[0]?.counters;
    assert.ok(c, 'a report');
    assert.equal([c!.stringsAllocated, c!.stringsFreed, c!.badFrees], [1, 1, 1], 'the second free is counted as bad');
    assertFails(() => assertBalanced(r, 'double free'), /no double or foreign free/);
  });

  await test('probe: GUID structs in Windows byte order name the namespace; RFC byte order names another GUID', async () => {
    const made = await node.exe('hnsctl', { args: ['namespace', 'create'] });
    assertOk(made, 'namespace create');
    const ns = made.stdout.trim();
    const windows = guidToBytes(ns)!; // the product's encoder
    const rfc = Buffer.from(ns.replace(/-/g, ''), 'hex'); // the text's hex in order
    assert.not.equal(windows.toString('hex'), rfc.toString('hex'), 'the two orders differ for this GUID');
    const swapped = `${[...rfc.subarray(0, 4)].reverse().map((b) => b.toString(16).padStart(2, '0')).join('')}-${[...rfc.subarray(4, 6)].reverse().map((b) => b.toString(16).padStart(2, '0')).join('')}-${[...rfc.subarray(6, 8)].reverse().map((b) => b.toString(16).padStart(2, '0')).join('')}-${ns.slice(19)}`.toUpperCase();

    const right = await node.probe(['open-namespace', windows.toString('hex')]);
    assertOk(right, 'probe');
    assert.is(right.json.hr, 0, right.stdout);
    assert.equal(right.calls.filter((c) => c.op === 'OpenNamespace').map((c) => c.id), [ns], 'Windows order: the service was asked for CNI_NETNS');
    assertBalanced(right, 'probe open-namespace');

    const wrong = await node.probe(['open-namespace', rfc.toString('hex')]);
    assertOk(wrong, 'probe');
    assert.ok(wrong.json.hr < 0, `RFC order: not found (${wrong.stdout})`);
    assert.equal(wrong.calls.filter((c) => c.op === 'OpenNamespace').map((c) => c.id), [swapped], 'RFC order: the service was asked for a different GUID');
    assert.not.equal(swapped, ns);
    assertBalanced(wrong, 'probe open-namespace (RFC order)');

    const gone = await node.exe('hnsctl', { args: ['namespace', 'delete', ns] });
    assertOk(gone, 'namespace delete');
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = Date.now();
  say('Windows executables under Wine, against the stand-in computenetwork.dll');
  const ready = await test('setup: win-x64 executables, stand-in DLL (mingw), Wine prefix (Windows 10), wineserver', () => {
    prepare((l) => say(`    ${l}`));
    startWine();
  });
  if (ready) {
    try {
      for (const p of PLUGINS) {
        say(`${p}`);
        const node = await WineNode.start(p, NODE_CONFIG);
        deliberateLeaks.clear();
        try {
          await contract(node, p);
          await nodeNetwork(node, p);
          // Whatever apply's own checks said, the pods need only the network to exist.
          if (Object.keys(node.admin.readState().networks).length > 0) {
            for (const ex of EXAMPLES) await lifecycle(node, p, ex);
            if (p === 'win-l2bridge') {
              say('hnsctl.exe and probes');
              await hnsctlCommands(node);
              await probes(node);
            }
            await teardown(node);
          }
          await test(`${p}: every stand-in report of the node was balanced (the leaky probe's aside)`, () => {
            const reports = node.readReports().filter((_, i) => !deliberateLeaks.has(i));
            assert.ok(reports.length > 0, 'the stand-in reported');
            const leaky = reports.filter((r) => r.counters.badFrees !== 0 || r.counters.stringsFreed !== r.counters.stringsAllocated || r.counters.handlesClosed !== r.counters.handlesOpened);
            assert.equal(leaky, [], 'no report of the node shows a leak');
          });
        } finally {
          await node.stop();
        }
      }
    } finally {
      stopWine();
    }
  }
  if (startup.length) say(`VERSION under Wine with a warm wineserver: median ${median(startup).toFixed(0)} ms (n=${startup.length}; cold and warm start-up: npm run bench)`);
  say(`suite took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  say(`${totals.passed} passed, ${totals.failed} failed`);
  process.exitCode = totals.failed ? 1 : 0;
}

main().catch((err) => {
  say(`the suite crashed: ${(err as Error).stack ?? err}`);
  stopWine();
  say(`${totals.passed} passed, ${totals.failed + 1} failed`);
  process.exitCode = 1;
});
