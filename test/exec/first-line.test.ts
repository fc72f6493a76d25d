// The first log line of every plugin invocation names the OS build and the HNS version (issue 20,
// pain point 21: after a Windows update nothing said which build or HNS a node ran). The version
// is cached per OS build: the first run after a change says "not yet known" and learns it in step
// hns-version; the runs after carry it without asking the service again.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, exampleNode, newNamespace, plugin, runExe, type ScratchNode } from '../helpers/node';

const CONF = JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam: { type: 'builtin', subnet: '10.244.3.0/24' } });

/** The log lines of each invocation (by pid), in order. */
function invocations(node: ScratchNode): any[][] {
  const byPid = new Map<number, any[]>();
  for (const line of fs.readFileSync(node.logFile, 'utf8').trim().split('\n')) {
    const l = JSON.parse(line);
    if (!byPid.has(l.pid)) byPid.set(l.pid, []);
    byPid.get(l.pid)!.push(l);
  }
  return [...byPid.values()];
}

function hnsVersionAsks(node: ScratchNode): number {
  return fs.readFileSync(`${node.emulatorDir}/calls.log`, 'utf8').split('\n').filter((l) => l.includes('/globals/version')).length;
}

function add(node: ScratchNode, id: string) {
  const r = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', containerId: id, netns: newNamespace(node) }), CONF);
  assert.is(r.code, 0, r.stdout);
}

test('first line: OS build and "not yet known", learned in step hns-version; the next invocation\'s first line carries it, with no extra HNS call', async () => {
  const node = exampleNode('win-l2bridge', 'cni-firstline-');
  try {
    add(node, 'pod-a');
    const asked = hnsVersionAsks(node);
    assert.ok(asked >= 1, 'the first ADD asked the service (calls.log names the call)');
    add(node, 'pod-b');
    const [first, second] = invocations(node);
    assert.ok(first && second, 'two invocations logged');
    assert.match(first[0].osBuild, `${os.type()} ${os.release()}; HNS emulator ws2022`);
    assert.match(first[0].hnsVersion, 'not yet known');
    const learned = first.find((l) => l.step === 'hns-version');
    assert.is(learned?.hnsVersion, '13.3');
    assert.is(second[0].osBuild, first[0].osBuild);
    assert.is(second[0].hnsVersion, '13.3');
    assert.not.ok(second.some((l) => l.step === 'hns-version'), 'the cached version is used');
    assert.is(hnsVersionAsks(node), asked, 'the second ADD did not ask the service for its version');
    assert.is(second.slice(1).filter((l) => 'osBuild' in l).length, 0, 'only the first line carries them');
  } finally {
    node.cleanup();
  }
});

test('a different build (here: the emulator now stands for Server 2019) makes the cached version stale: asked again, 9.5', async () => {
  const node = exampleNode('win-l2bridge', 'cni-firstline-');
  try {
    add(node, 'pod-a');
    emulatorAdmin(node.emulatorDir).setProfile('ws2019');
    add(node, 'pod-b');
    const second = invocations(node)[1]!;
    assert.match(second[0].osBuild, 'HNS emulator ws2019');
    assert.match(second[0].hnsVersion, 'not yet known');
    assert.is(second.find((l) => l.step === 'hns-version')?.hnsVersion, '9.5');
  } finally {
    node.cleanup();
  }
});

test('an invocation refused before its conf is read still logs both', async () => {
  const node = exampleNode('win-l2bridge', 'cni-firstline-');
  try {
    const r = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', containerId: 'x', netns: 'none' }), '{not json');
    assert.is(r.code, 1);
    const [only] = invocations(node);
    assert.match(only![0].osBuild, os.release());
    assert.match(only![0].hnsVersion, 'not yet known');
  } finally {
    node.cleanup();
  }
});

test.run();
