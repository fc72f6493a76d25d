// Isolation modes (issue 20, pain point 22): ADD is the same for process-isolated and Hyper-V
// isolated pods (the runtime attaches the namespace), so what an operator needs is to see whether
// the pod's namespace has a container: `hnsctl pods` counts them and CHECK logs them, warning
// (without failing: a runtime may CHECK before containers start) when there is none; CHECK of a
// pod whose namespace is gone fails (code 104) naming it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { cniEnv, newNamespace, plugin, ROOT, runExe, scratchNode } from '../helpers/node';

const NETWORK = path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json');

test('hnsctl pods and CHECK show whether the pod namespace has a container attached', () => {
  const node = scratchNode('cni-iso-');
  try {
    assert.is(runExe(plugin('hnsctl'), node.env, '', ['apply', NETWORK]).code, 0);
    const conf = { cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam: { type: 'builtin', subnet: '10.244.3.0/24', dataDir: path.join(node.dir, 'ipam') } };
    const ns = newNamespace(node);
    const env = (command: string) => cniEnv(node, { command, containerId: 'ctr-a1', netns: ns });
    const added = runExe(plugin('win-l2bridge'), env('ADD'), JSON.stringify(conf));
    assert.is(added.code, 0, added.stdout);
    const check = () => runExe(plugin('win-l2bridge'), env('CHECK'), JSON.stringify({ ...conf, prevResult: added.json }));
    const pods = () => runExe(plugin('hnsctl'), node.env, '', ['pods', '--json']).json as { containerId: string; containers: string[] }[];
    const lastMembers = () => fs.readFileSync(node.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.step === 'namespace-members').pop();

    // The sandbox has not started: shown, and CHECK passes with a warning.
    assert.equal(pods().map((p) => [p.containerId, p.containers]), [['ctr-a1', []]]);
    assert.match(runExe(plugin('hnsctl'), node.env, '', ['pods']).stdout, /ctr-a1 .* 0 .*no container attached/);
    let c = check();
    assert.is(c.code, 0, c.stdout);
    assert.match(c.stderr, /no container is attached to the pod's namespace: .*Hyper-V isolated/);
    assert.is(lastMembers().containers, 0);

    // HCS starts the pause container in the namespace (emulated): listed, and CHECK is quiet.
    assert.is(runExe(plugin('hnsctl'), node.env, '', ['emulator', 'container', 'add', ns, 'ctr-a1']).code, 0);
    assert.equal(pods()[0]!.containers, ['ctr-a1']);
    c = check();
    assert.is(c.code, 0, c.stdout);
    assert.not.match(c.stderr, /no container/);
    assert.is(lastMembers().containers, 1);

    // The namespace goes (the containers first: HNS refuses to delete one that has them).
    assert.is(runExe(plugin('hnsctl'), node.env, '', ['namespace', 'delete', ns]).code, 1, 'a namespace with containers is not deleted');
    assert.is(runExe(plugin('hnsctl'), node.env, '', ['emulator', 'container', 'remove', ns, 'ctr-a1']).code, 0);
    assert.is(runExe(plugin('hnsctl'), node.env, '', ['namespace', 'delete', ns]).code, 0);
    c = check();
    assert.is(c.json.code, 104, c.stdout);
    assert.match(c.json.msg, `is not in namespace ${ns}`);
  } finally {
    node.cleanup();
  }
});

test.run();
