// win-overlay and the ProviderAddress HNS fills in a moment after an Overlay network is created
// (flannel polls for it: 500 ms steps, up to 5 s). A pod started in that window waits for it,
// bounded; with no provider address at all it fails before the IPAM allocates anything.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, newNamespace, plugin, ROOT, runExe, scratchNode, type ScratchNode } from '../helpers/node';

const CONF = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'vxlan0', type: 'win-overlay', ipam: { type: 'builtin', subnet: '10.244.3.0/24' }, ...extra });

function nodeWithDelay(delayMs: number): ScratchNode {
  const node = scratchNode('cni-pa-');
  emulatorAdmin(node.emulatorDir).setConfig({ managementIp: '192.168.10.21', providerAddressDelayMs: delayMs });
  const r = runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', 'win-overlay', 'examples', 'node-network.json')]);
  assert.is(r.code, 0, r.stderr);
  return node;
}

/** The plugin's log lines of one step. */
function logSteps(node: ScratchNode, step: string): Record<string, unknown>[] {
  const text = fs.existsSync(node.logFile) ? fs.readFileSync(node.logFile, 'utf8') : '';
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.step === step);
}

function add(node: ScratchNode, conf: string) {
  const netns = newNamespace(node);
  return runExe(plugin('win-overlay'), cniEnv(node, { command: 'ADD', netns }), conf);
}

test('an ADD right after the network is created waits for its ProviderAddress and uses it', () => {
  const node = nodeWithDelay(1_500);
  try {
    const r = add(node, CONF());
    assert.is(r.code, 0, r.stdout);
    // It waited: the network had no ProviderAddress when the plugin first read it, and the wait ended with one.
    const waits = logSteps(node, 'provider-address-wait');
    assert.is(waits.length, 1, `one provider-address-wait in the log: ${JSON.stringify(waits)}`);
    assert.is(waits[0]!.found, '192.168.10.21', JSON.stringify(waits[0]));
    assert.is(typeof waits[0]!.waitedMs, 'number');
    assert.ok((waits[0]!.waitedMs as number) > 0, `it waited (${JSON.stringify(waits[0])})`);
    const ep = Object.values(emulatorAdmin(node.emulatorDir).readState().endpoints).find((e: any) => e.Name === 'ctr-a1_vxlan0') as any;
    assert.equal(ep.Policies.filter((p: any) => p.Type === 'ProviderAddress'), [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.10.21' } }]);
  } finally {
    node.cleanup();
  }
});

test('no ProviderAddress within the wait and none in the conf: code 101 naming it, no address taken', () => {
  const node = nodeWithDelay(60_000);
  try {
    const r = add(node, CONF());
    assert.is(r.code, 1);
    assert.is(r.json.code, 101, r.stdout);
    assert.match(r.json.msg, 'ProviderAddress');
    const ipamDir = path.join(node.stateDir, 'ipam', 'vxlan0');
    const held = fs.existsSync(ipamDir) ? fs.readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    assert.equal(held, [], 'no address held');
  } finally {
    node.cleanup();
  }
});

test('with "providerAddress" in the conf nothing waits for the service', () => {
  const node = nodeWithDelay(60_000);
  try {
    const r = add(node, CONF({ providerAddress: '192.168.10.21' }));
    assert.is(r.code, 0, r.stdout);
    assert.not.match(fs.readFileSync(node.logFile, 'utf8'), 'provider-address-wait', 'no wait logged');
  } finally {
    node.cleanup();
  }
});

test.run();
