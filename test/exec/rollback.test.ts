// A failed ADD leaves nothing behind, with a real IPAM: the address the IPAM gave is released
// when the endpoint cannot be created, and when the endpoint cannot be attached (the endpoint
// is deleted too). Both with Debian's host-local (delegated) and with the built-in allocator.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, DEBIAN_CNI_DIR, plugin, ROOT, runExe, scratchNode, type ScratchNode } from '../helpers/node';

const IPAMS = {
  'host-local': (node: ScratchNode) => ({ type: 'host-local', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') }),
  builtin: (node: ScratchNode) => ({ type: 'builtin', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') }),
};

function setUp(): { node: ScratchNode; netns: string } {
  const node = scratchNode('cni-rollback-');
  const apply = runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json')]);
  assert.is(apply.code, 0, apply.stderr);
  const netns = runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim();
  return { node, netns };
}

/** Addresses the IPAM holds for pods (not host-local's gateway reservation or bookkeeping). */
function heldAddresses(node: ScratchNode): string[] {
  const dir = path.join(node.dir, 'ipam', 'cbr0');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f) && fs.readFileSync(path.join(dir, f), 'utf8').includes('ctr-a1'));
}

function podEndpoints(node: ScratchNode): string[] {
  return Object.values(emulatorAdmin(node.emulatorDir).readState().endpoints as Record<string, { Name?: string }>).map((e) => e.Name!).filter((n) => n.startsWith('ctr-a1'));
}

for (const [ipamName, ipam] of Object.entries(IPAMS)) {
  for (const [what, fault, code] of [
    ['endpoint creation fails', { op: 'CreateEndpoint', hr: 0x803b000c }, 100],
    ['attaching to the namespace fails', { op: 'ModifyNamespace', hr: 0x80004005 }, 100],
    ['the namespace does not exist', undefined, 3],
  ] as const) {
    test(`${ipamName}: IPAM succeeds, then ${what}: no endpoint, no address held; DEL afterwards succeeds`, async () => {
      const { node, netns } = setUp();
      try {
        if (fault) await emulatorAdmin(node.emulatorDir).setFaults([{ ...fault, count: 1 }]);
        const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam: ipam(node) });
        const env = cniEnv(node, { command: 'ADD', netns: fault ? netns : '11111111-2222-3333-4444-555555555555', path: `${node.binDir}:${DEBIAN_CNI_DIR}` });
        const r = runExe(plugin('win-l2bridge'), env, conf);
        assert.is(r.code, 1, r.stdout);
        assert.is(r.json.code, code, r.stdout);
        assert.equal(podEndpoints(node), [], 'no endpoint left');
        assert.equal(heldAddresses(node), [], 'no address held');
        const log = fs.readFileSync(node.logFile, 'utf8');
        assert.match(log, '"step":"ipam-add","ms"', 'the IPAM allocated first');
        assert.match(log, '"step":"rollback-ipam-del"', 'and was told to release');
        const del = runExe(plugin('win-l2bridge'), { ...env, CNI_COMMAND: 'DEL' }, conf);
        assert.is(del.code, 0, del.stdout);
        // The same pod can be added again once the fault is gone.
        const again = runExe(plugin('win-l2bridge'), { ...env, CNI_NETNS: netns }, conf);
        assert.is(again.code, 0, again.stdout);
        assert.is(podEndpoints(node).length, 1);
      } finally {
        node.cleanup();
      }
    });
  }
}

test.run();
