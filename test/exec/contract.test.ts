// The CNI process contract on the built Linux executables: VERSION, and malformed requests get
// the right error object on stdout and a non-zero exit, without touching anything.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { cniEnv, plugin, PLUGINS, runExe, scratchNode } from '../helpers/node';

const node = scratchNode('cni-contract-');
const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.1.0', name: 'cbr0', type: 'x', ipam: { type: 'host-local', subnet: '10.244.3.0/24' }, clusterCIDR: '10.244.0.0/16', ...extra });

function expectError(r: ReturnType<typeof runExe>, code: number, needle: string) {
  assert.ok(r.code !== 0, `non-zero exit (stdout ${r.stdout})`);
  assert.ok(r.json, `stdout is one JSON object: ${JSON.stringify(r.stdout)}`);
  assert.is(r.json.code, code, r.stdout);
  assert.ok(`${r.json.msg} ${r.json.details ?? ''}`.includes(needle), `"${needle}" in ${r.stdout}`);
}

for (const p of PLUGINS) {
  test(`${p}: VERSION lists the seven versions, with stdin never closed`, () => {
    const r = runExe(plugin(p), { CNI_COMMAND: 'VERSION' });
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.json, { cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    assert.is(r.stderr, '', 'no warning on stderr (SEA warning disabled)');
  });

  test(`${p}: bad JSON is code 6`, () => {
    expectError(runExe(plugin(p), cniEnv(node, { command: 'ADD', netns: '7CB720C0-AC4C-4266-92E1-DC277B2A9B94' }), '{"name": "cbr0",'), 6, 'network config');
  });

  test(`${p}: an unknown command is code 4 naming it`, () => {
    expectError(runExe(plugin(p), cniEnv(node, { command: 'FROB' }), conf()), 4, 'FROB');
  });

  test(`${p}: a missing variable is code 4 naming it`, () => {
    expectError(runExe(plugin(p), cniEnv(node, { command: 'ADD', netns: '' }), conf()), 4, 'CNI_NETNS');
  });

  test(`${p}: an unsupported version is code 1 naming it`, () => {
    expectError(runExe(plugin(p), cniEnv(node, { command: 'ADD', netns: '7CB720C0-AC4C-4266-92E1-DC277B2A9B94' }), conf({ cniVersion: '0.5.0' })), 1, '0.5.0');
  });

  test(`${p}: about text without a command`, () => {
    const r = runExe(plugin(p), {});
    assert.is(r.code, 0);
    assert.is(r.stdout, '');
    assert.match(r.stderr, `CNI ${p} plugin`);
  });
}

test('malformed requests changed nothing: no emulator state, no plugin state', () => {
  assert.not.ok(fs.existsSync(node.stateDir), 'no state dir');
  const calls = `${node.emulatorDir}/calls.log`;
  assert.not.ok(fs.existsSync(calls) && fs.readFileSync(calls, 'utf8').trim(), 'no HNS call');
});

test('each invocation logged JSON lines, none on stdout', () => {
  const lines = fs.readFileSync(node.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= PLUGINS.length * 4);
  for (const l of lines) {
    assert.type(l.time, 'string');
    assert.type(l.plugin, 'string');
    assert.type(l.step, 'string');
    assert.ok(l.outcome === 'ok' || l.outcome === 'error' || l.outcome === 'warning');
  }
  assert.ok(lines.some((l) => l.command === 'FROB' && l.code === 4 && l.step === 'done'));
  assert.is((fs.statSync(node.logFile).mode & 0o777).toString(8), '600', 'log readable by its owner (root) only');
});

test.after(() => node.cleanup());
test.run();
