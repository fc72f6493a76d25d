// SNAT port pools (issue 20, pain point 14) through the built plugin on the emulator: the typed
// keys reach the endpoint's OutBoundNAT as HNS holds it, the cluster DNS and the pod subnet are
// exempt by default, and a node whose SNAT pool is exhausted gets a named, retryable error (11),
// a log line, and nothing left behind; once a pod goes, the next ADD succeeds.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, newNamespace, plugin, ROOT, runExe, scratchNode, type ScratchNode } from '../helpers/node';

const NETWORK = path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json');

function confOf(node: ScratchNode, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', clusterCIDR: '10.200.0.0/16', nodeIP: '192.0.2.10',
    dns: { nameservers: ['10.96.0.10', '1.1.1.1'] }, ipam: { type: 'builtin', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') }, ...extra,
  });
}

function add(node: ScratchNode, id: string, conf: string) {
  return runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', containerId: id, netns: newNamespace(node) }), conf);
}

function endpoints(node: ScratchNode) {
  return Object.values(emulatorAdmin(node.emulatorDir).readState().endpoints as Record<string, { Name?: string; Policies?: { Type: string; Settings?: Record<string, unknown> }[] }>);
}

function ready(prefix: string): ScratchNode {
  const node = scratchNode(prefix);
  assert.is(runExe(plugin('hnsctl'), node.env, '', ['apply', NETWORK]).code, 0);
  return node;
}

test('the typed keys reach the OutBoundNAT HNS holds; the cluster DNS and the pod subnet are exempt, the public resolver is not', () => {
  const node = ready('cni-snat-');
  try {
    const r = add(node, 'ctr-a1', confOf(node, { snatVirtualIP: '192.0.2.10', snatMaxPortPoolUsage: 512 }));
    assert.is(r.code, 0, r.stdout);
    const ep = endpoints(node).find((e) => e.Name === 'ctr-a1_cbr0')!;
    const nat = ep.Policies!.filter((p) => p.Type === 'OutBoundNAT');
    assert.equal(nat, [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.200.0.0/16', '192.0.2.10/32', '10.244.3.0/24', '10.96.0.10/32'], VirtualIP: '192.0.2.10', MaxPortPoolUsage: 512 } }]);
    const log = fs.readFileSync(node.logFile, 'utf8');
    assert.match(log, /10\.96\.0\.10\/32 \(the DNS server\) is exempt from SNAT by default/);
    // CHECK derives the same policies, so it agrees with what ADD made.
    const check = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'CHECK', containerId: 'ctr-a1', netns: JSON.parse(fs.readFileSync(path.join(node.stateDir, 'attachments', 'cbr0', 'ctr-a1.json'), 'utf8')).netns }),
      JSON.stringify({ ...JSON.parse(confOf(node, { snatVirtualIP: '192.0.2.10', snatMaxPortPoolUsage: 512 })), prevResult: r.json }));
    assert.is(check.code, 0, check.stdout);
  } finally {
    node.cleanup();
  }
});

test('an exhausted SNAT port pool: code 11 naming the pool, a log line, nothing left behind; a freed chunk lets the next pod in', () => {
  const node = ready('cni-snat-');
  try {
    assert.is(runExe(plugin('hnsctl'), node.env, '', ['emulator', 'set', 'snatPortPool', '200']).code, 0);
    const conf = confOf(node);
    for (const id of ['ctr-a1', 'ctr-b2']) assert.is(add(node, id, conf).code, 0, id);
    const before = endpoints(node).length;
    const full = add(node, 'ctr-c3', conf);
    assert.is(full.code, 1);
    assert.is(full.json.code, 11, full.stdout);
    assert.match(full.json.msg, "the node's SNAT port pool is exhausted");
    assert.match(full.json.details, /snatMaxPortPoolUsage/);
    assert.match(fs.readFileSync(node.logFile, 'utf8'), /"step":"snat-port-pool-exhausted"[^\n]*"endpoint":"ctr-c3_cbr0"/);
    assert.is(endpoints(node).length, before, 'no endpoint left');
    assert.not.ok(fs.existsSync(path.join(node.stateDir, 'attachments', 'cbr0', 'ctr-c3.json')), 'no record left');
    const claims = fs.readdirSync(path.join(node.dir, 'ipam', 'cbr0')).filter((f) => /^\d/.test(f)).map((f) => fs.readFileSync(path.join(node.dir, 'ipam', 'cbr0', f), 'utf8'));
    assert.not.ok(claims.some((c) => c.startsWith('ctr-c3')), 'no address claim left');

    assert.is(runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'DEL', containerId: 'ctr-a1' }), conf).code, 0);
    assert.is(add(node, 'ctr-c3', conf).code, 0, 'the chunk ctr-a1 held is free again');
    // A cap on each pod's share fits more pods in the same pool: 5 x 40 ports where 2 x 100 fitted.
    for (const id of ['ctr-b2', 'ctr-c3']) assert.is(runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'DEL', containerId: id }), conf).code, 0);
    const capped = confOf(node, { snatMaxPortPoolUsage: 40 });
    for (const id of ['ctr-d4', 'ctr-e5', 'ctr-f6', 'ctr-g7', 'ctr-h8']) assert.is(add(node, id, capped).code, 0, id);
    assert.is(add(node, 'ctr-i9', capped).json.code, 11, 'the sixth does not fit');
  } finally {
    node.cleanup();
  }
});

test.run();
