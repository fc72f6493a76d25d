// hnsctl sweep (issue 20): lists, and with --delete removes, the pod endpoints of ours whose pod
// is gone (namespace gone, or not in a valid-attachments list), through the plugin's own DEL when
// the network's conflist is given, so the address claim goes with the endpoint and the record.
// Endpoints it cannot prove are ours (no Owner mark), named as every Windows plugin names them,
// survive; so do live pods.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, DEBIAN_CNI_DIR, newNamespace, plugin, ROOT, runExe, scratchNode, type ScratchNode } from '../helpers/node';

const NETWORK = path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json');
const IPAMS = {
  builtin: (node: ScratchNode) => ({ type: 'builtin', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') }),
  'host-local': (node: ScratchNode) => ({ type: 'host-local', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') }),
};

interface Swept { containerId: string; why: string; deleted?: boolean; released?: boolean; error?: string }

/** Container IDs holding an address in the store (host-local's format, which the built-in IPAM shares). */
function claimants(dataDir: string): string[] {
  const dir = path.join(dataDir, 'cbr0');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).map((f) => fs.readFileSync(path.join(dir, f), 'utf8').split(/\r?\n/)[0]!).sort();
}

function endpointNames(node: ScratchNode): string[] {
  return Object.values(emulatorAdmin(node.emulatorDir).readState().endpoints as Record<string, { Name?: string }>).map((e) => e.Name!).sort();
}

function recordIds(node: ScratchNode): string[] {
  const dir = path.join(node.stateDir, 'attachments', 'cbr0');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort() : [];
}

/** Three pods (a1 and b2 to go, c3 to stay) and two foreign pod-named endpoints, one in a namespace that goes. */
function podsAndStrangers(node: ScratchNode, conf: string): { nsA: string } {
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['apply', NETWORK]).code, 0);
  const nsA = newNamespace(node);
  const cniPath = `${node.binDir}:${DEBIAN_CNI_DIR}`;
  for (const [id, ns] of [['ctr-a1', nsA], ['ctr-b2', newNamespace(node)], ['ctr-c3', newNamespace(node)]] as const) {
    const r = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', containerId: id, netns: ns, path: cniPath }), conf);
    assert.is(r.code, 0, r.stdout);
  }
  const nsF = newNamespace(node);
  const foreign = path.join(node.dir, 'foreign.json');
  fs.writeFileSync(foreign, JSON.stringify({ endpoints: [
    { network: 'cbr0', Name: 'ctr-f9_cbr0', namespace: nsF, IpConfigurations: [{ IpAddress: '10.244.3.90', PrefixLength: 24 }] },
    { network: 'cbr0', Name: 'ctr-f8_cbr0', IpConfigurations: [{ IpAddress: '10.244.3.91', PrefixLength: 24 }] },
  ] }));
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['apply', foreign]).code, 0);
  for (const ns of [nsA, nsF]) assert.is(runExe(plugin('hnsctl'), node.env, '', ['namespace', 'delete', ns]).code, 0);
  return { nsA };
}

for (const [ipamName, ipamOf] of Object.entries(IPAMS)) {
  test(`sweep (${ipamName}): lists what is gone, and with --delete and the conflist removes endpoint, record and address; foreign endpoints and live pods stay`, () => {
    const node = scratchNode('cni-sweep-');
    try {
      const ipam = ipamOf(node);
      const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam });
      podsAndStrangers(node, conf);
      assert.equal(claimants(ipam.dataDir).filter((id) => id.startsWith('ctr-')), ['ctr-a1', 'ctr-b2', 'ctr-c3']);
      const env = { ...node.env, CNI_PATH: `${node.binDir}:${DEBIAN_CNI_DIR}` };
      const sweep = (...args: string[]) => runExe(plugin('hnsctl'), env, '', ['sweep', '--json', ...args]);

      const listed = sweep();
      assert.is(listed.code, 0, listed.stderr);
      // Deleting a namespace detaches its endpoints, so the service reports them in none.
      assert.equal(listed.json.swept.map((p: Swept) => [p.containerId, p.why]), [['ctr-a1', 'no namespace']]);
      assert.is(listed.json.untouchedForeign, 2);
      assert.equal(endpointNames(node).length, 6, 'listing removes nothing');

      const valid = path.join(node.dir, 'valid.json');
      fs.writeFileSync(valid, JSON.stringify([{ containerID: 'ctr-c3', ifname: 'eth0' }, { containerID: 'ctr-f9', ifname: 'eth0' }]));
      const conflist = path.join(node.dir, '10-cbr0.conflist');
      fs.writeFileSync(conflist, JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', plugins: [{ type: 'win-l2bridge', ipam }, { type: 'portmap', capabilities: { portMappings: true } }] }));
      const swept = sweep('--delete', '--valid', valid, '--conf', conflist);
      assert.is(swept.code, 0, swept.stderr + swept.stdout);
      assert.equal(swept.json.swept.map((p: Swept) => [p.containerId, p.why, p.deleted, p.released]).sort(),
        [['ctr-a1', 'no namespace', true, true], ['ctr-b2', 'not in the valid list', true, true]]);

      assert.equal(endpointNames(node), ['cbr0_ep', 'ctr-c3_cbr0', 'ctr-f8_cbr0', 'ctr-f9_cbr0'], 'the live pod, the foreign endpoints and the host endpoint survive');
      assert.equal(recordIds(node), ['ctr-c3'], 'the swept pods\' records go with them');
      assert.equal(claimants(ipam.dataDir).filter((id) => id.startsWith('ctr-')), ['ctr-c3'], 'and their addresses');
      assert.is(sweep('--delete', '--valid', valid, '--conf', conflist).json.swept.length, 0, 'a second sweep finds nothing');
    } finally {
      node.cleanup();
    }
  });
}

test('sweep without the conflist removes endpoint and record, keeps the claim and says so; a DEL that fails is named and exits 1', () => {
  const node = scratchNode('cni-sweep-');
  try {
    const ipam = IPAMS['host-local'](node);
    podsAndStrangers(node, JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam }));
    const env = { ...node.env, CNI_PATH: `${node.binDir}:${DEBIAN_CNI_DIR}` };
    const plain = runExe(plugin('hnsctl'), env, '', ['sweep', '--delete']);
    assert.is(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /ctr-a1 .*address claim kept \(give --conf for network cbr0 to release it\)/);
    assert.ok(!endpointNames(node).includes('ctr-a1_cbr0'));
    assert.equal(recordIds(node), ['ctr-b2', 'ctr-c3']);
    assert.ok(claimants(ipam.dataDir).includes('ctr-a1'), 'the claim is left for the plugin\'s GC, as the output says');

    // A DEL that cannot reach its IPAM (host-local not on CNI_PATH) fails: the pod is named, the endpoint stays for the next sweep.
    const conflist = path.join(node.dir, 'cbr0.conf');
    fs.writeFileSync(conflist, JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam }));
    const valid = path.join(node.dir, 'valid.json');
    fs.writeFileSync(valid, JSON.stringify(['ctr-c3']));
    const failed = runExe(plugin('hnsctl'), { ...node.env, CNI_PATH: node.binDir }, '', ['sweep', '--delete', '--valid', valid, '--conf', conflist]);
    assert.is(failed.code, 1);
    assert.match(failed.stdout, /ctr-b2 .*FAILED: win-l2bridge DEL of ctr-b2 failed: code \d+: .*host-local/);
    assert.match(failed.stderr, /1 of 1 pod\(s\) could not be swept/);
  } finally {
    node.cleanup();
  }
});

test('sweep refuses a conf file that configures none of our plugins, and a valid list that is not one', () => {
  const node = scratchNode('cni-sweep-');
  try {
    const bad = path.join(node.dir, 'flannel.conflist');
    fs.writeFileSync(bad, JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', plugins: [{ type: 'flannel' }] }));
    const r = runExe(plugin('hnsctl'), node.env, '', ['sweep', '--conf', bad]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /configures none of this suite's plugins/);
    fs.writeFileSync(bad, '{"containerID": "x"}');
    const v = runExe(plugin('hnsctl'), node.env, '', ['sweep', '--valid', bad]);
    assert.is(v.code, 1);
    assert.match(v.stderr, /must be a JSON array of container IDs/);
  } finally {
    node.cleanup();
  }
});

test.run();
