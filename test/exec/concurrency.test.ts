// Many pods at once on one node, each an invocation of the built executable, as containerd
// starts them: no two pods share an address, every pod has exactly one endpoint in its own
// namespace, and after all DELs nothing is left: no endpoint, no allocation, no record, no lock.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, DEBIAN_CNI_DIR, plugin, ROOT, runExe, runExeAsync, scratchNode, type ScratchNode } from '../helpers/node';

async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

function setUp(): ScratchNode {
  const node = scratchNode('cni-many-');
  const apply = runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json')]);
  assert.is(apply.code, 0, apply.stderr);
  return node;
}

function namespaces(node: ScratchNode, n: number): string[] {
  return Array.from({ length: n }, () => runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim());
}

function podsLeft(node: ScratchNode) {
  const state = emulatorAdmin(node.emulatorDir).readState() as { endpoints: Record<string, { Name: string; HostComputeNamespace?: string; IpConfigurations?: { IpAddress: string }[] }> };
  return Object.values(state.endpoints).filter((e) => e.Name.startsWith('pod-'));
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

for (const ipamType of ['builtin', 'host-local'] as const) {
  test(`100 pods, 10 at a time (${ipamType}): unique addresses, one endpoint each; nothing left after DEL`, async () => {
    const node = setUp();
    try {
      const ipamDir = path.join(node.dir, 'ipam');
      const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam: { type: ipamType, subnet: '10.244.3.0/24', dataDir: ipamDir }, clusterCIDR: '10.244.0.0/16' });
      const pods = namespaces(node, 100).map((netns, i) => ({ id: `pod-${i}`, netns }));
      const results = new Map<string, string>();
      await inBatches(pods, 10, async (p) => {
        const r = await runExeAsync(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', containerId: p.id, netns: p.netns, path: `${node.binDir}:${DEBIAN_CNI_DIR}` }), conf);
        assert.is(r.code, 0, `${p.id}: ${r.stdout}${r.stderr}`);
        results.set(p.id, r.json.ips[0].address);
      });
      const addresses = [...results.values()];
      assert.is(new Set(addresses).size, 100, 'no two pods share an address');
      for (const a of addresses) assert.not.ok(['10.244.3.1/24', '10.244.3.2/24'].includes(a), `${a} is a gateway`);
      const endpoints = podsLeft(node);
      assert.is(endpoints.length, 100, 'one endpoint per pod');
      for (const p of pods) {
        const ep = endpoints.filter((e) => e.Name === `${p.id}_cbr0`);
        assert.is(ep.length, 1, p.id);
        assert.is(ep[0]!.HostComputeNamespace!.toLowerCase(), p.netns.toLowerCase());
        assert.is(`${ep[0]!.IpConfigurations![0]!.IpAddress}/24`, results.get(p.id));
      }
      await inBatches(pods, 10, async (p) => {
        const r = await runExeAsync(plugin('win-l2bridge'), cniEnv(node, { command: 'DEL', containerId: p.id, netns: p.netns, path: `${node.binDir}:${DEBIAN_CNI_DIR}` }), conf);
        assert.is(r.code, 0, `${p.id}: ${r.stdout}`);
      });
      assert.equal(podsLeft(node), [], 'no endpoint left');
      const held = filesUnder(path.join(ipamDir, 'cbr0')).filter((f) => /pod-/.test(fs.readFileSync(f, 'utf8')));
      assert.equal(held, [], 'no address held');
      assert.equal(filesUnder(path.join(node.stateDir, 'attachments')), [], 'no attachment record');
      assert.equal(filesUnder(path.join(node.stateDir, 'locks')), [], 'no lock file');
    } finally {
      node.cleanup();
    }
  });
}

test('50 concurrent processes adding and deleting pods leave consistent state', async () => {
  const node = setUp();
  try {
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam: { type: 'builtin', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') } });
    const nss = namespaces(node, 50);
    // 25 pods exist already; 50 processes at once: the other 25 are added while the first 25 are deleted.
    const first = nss.slice(0, 25).map((netns, i) => ({ id: `pod-old-${i}`, netns }));
    const second = nss.slice(25).map((netns, i) => ({ id: `pod-new-${i}`, netns }));
    await inBatches(first, 10, async (p) => {
      const r = await runExeAsync(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', containerId: p.id, netns: p.netns }), conf);
      assert.is(r.code, 0, r.stdout);
    });
    const jobs = [...first.map((p) => ({ ...p, verb: 'DEL' })), ...second.map((p) => ({ ...p, verb: 'ADD' }))];
    const outcomes = await Promise.all(jobs.map((j) => runExeAsync(plugin('win-l2bridge'), cniEnv(node, { command: j.verb, containerId: j.id, netns: j.netns }), conf)));
    outcomes.forEach((r, i) => assert.is(r.code, 0, `${jobs[i]!.verb} ${jobs[i]!.id}: ${r.stdout}`));
    const left = podsLeft(node);
    assert.equal(left.map((e) => e.Name).sort(), second.map((p) => `${p.id}_cbr0`).sort());
    const ips = left.map((e) => e.IpConfigurations![0]!.IpAddress);
    assert.is(new Set(ips).size, ips.length, 'no duplicate address');
    const records = filesUnder(path.join(node.stateDir, 'attachments', 'cbr0')).map((f) => path.basename(f, '.json')).sort();
    assert.equal(records, second.map((p) => p.id).sort(), 'records match the endpoints');
    const held = filesUnder(path.join(node.dir, 'ipam', 'cbr0')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(path.basename(f))).map((f) => path.basename(f)).sort();
    assert.equal(held, [...ips].sort(), 'allocations match the endpoints');
  } finally {
    node.cleanup();
  }
});

test.run();
