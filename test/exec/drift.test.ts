// Drift after an HNS restart or a reboot (issue 20): HNS is the truth. A per-pod record whose
// endpoint the service dropped is stale: STATUS reports the pod (51) and an ADD of the same pod
// goes on, reusing its address claim; ADD waits, bounded, for a network pods were on to return.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, DEBIAN_CNI_DIR, newNamespace, plugin, ROOT, runExe, runExeAsync, scratchNode, type ScratchNode } from '../helpers/node';

const IPAMS = {
  builtin: (node: ScratchNode) => ({ type: 'builtin', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') }),
  'host-local': (node: ScratchNode) => ({ type: 'host-local', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') }),
};
const NETWORK = path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json');

function applyNetwork(node: ScratchNode): void {
  const r = runExe(plugin('hnsctl'), node.env, '', ['apply', NETWORK]);
  assert.is(r.code, 0, r.stderr);
}

/** Debian's host-local speaks up to 1.0.0: STATUS (1.1.0) skips it, as libcni does. */
function call(node: ScratchNode, conf: string, command: string, netns = '') {
  const version = command === 'STATUS' ? '1.1.0' : '1.0.0';
  return runExe(plugin('win-l2bridge'), cniEnv(node, { command, netns, path: `${node.binDir}:${DEBIAN_CNI_DIR}` }), conf.replace('"1.1.0"', `"${version}"`));
}

for (const [ipamName, ipam] of Object.entries(IPAMS)) {
  test(`${ipamName}: after restart-hns STATUS names the pod that lost its endpoint, ADD of that pod succeeds again, STATUS is ready`, async () => {
    const node = scratchNode('cni-drift-');
    try {
      applyNetwork(node);
      const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'cbr0', type: 'win-l2bridge', ipam: ipam(node) });
      const netns = newNamespace(node);
      const first = call(node, conf, 'ADD', netns);
      assert.is(first.code, 0, first.stdout);
      assert.is(call(node, conf, 'STATUS').code, 0, 'ready before the restart');
      await emulatorAdmin(node.emulatorDir).restartHns();
      const status = call(node, conf, 'STATUS');
      assert.is(status.json?.code, 51, status.stdout);
      assert.match(status.json.msg, 'ctr-a1 (endpoint ctr-a1_cbr0');
      const again = call(node, conf, 'ADD', netns);
      assert.is(again.code, 0, again.stdout);
      if (ipamName === 'builtin') assert.equal(again.json.ips, first.json.ips, 'the claim is reused');
      assert.match(fs.readFileSync(node.logFile, 'utf8'), '"step":"stale-record"');
      assert.is(call(node, conf, 'STATUS').code, 0, 'ready once the pod is re-added');
      const second = call(node, conf, 'ADD', netns);
      assert.is(second.json?.code, 102, 'a second ADD of a live attachment still fails');
      assert.is(call(node, conf, 'DEL', netns).code, 0);
    } finally {
      node.cleanup();
    }
  });
}

test('reboot: STATUS names the lost pod; ADD waits for the network the agent re-creates, then succeeds in a new namespace', async () => {
  const node = scratchNode('cni-drift-');
  try {
    applyNetwork(node);
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'cbr0', type: 'win-l2bridge', ipam: IPAMS.builtin(node) });
    assert.is(call(node, conf, 'ADD', newNamespace(node)).code, 0);
    await emulatorAdmin(node.emulatorDir).reboot();
    const status = call(node, conf, 'STATUS');
    assert.is(status.json?.code, 51, status.stdout);
    assert.match(status.json.msg, 'ctr-a1');
    // The network goes too (a non-persistent one, as flannel's): the agent makes it again shortly.
    assert.is(runExe(plugin('hnsctl'), node.env, '', ['delete', 'network', 'cbr0']).code, 0);
    const netns = newNamespace(node);
    const pending = runExeAsync(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', netns, path: `${node.binDir}:${DEBIAN_CNI_DIR}` }), conf);
    await new Promise((r) => setTimeout(r, 800));
    applyNetwork(node);
    const r = await pending;
    assert.is(r.code, 0, r.stdout);
    const log = fs.readFileSync(node.logFile, 'utf8');
    assert.match(log, '"step":"wait-network"');
    assert.match(log, '"step":"network-back"');
    assert.is(call(node, conf, 'STATUS').code, 0);
  } finally {
    node.cleanup();
  }
});

test.run();
