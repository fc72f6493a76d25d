// What the runtime's environment must not be able to do to a plugin (issue 11): run code inside
// it through NODE_OPTIONS (ours, or the IPAM plugin's), hang it forever through a path, or make
// it print a stack trace instead of a typed CNI error.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { cniEnv, plugin, ROOT, runExe, scratchNode } from '../helpers/node';

const CONF = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge', ipam: { type: 'builtin', subnet: '10.244.3.0/24' }, ...extra });

test('NODE_OPTIONS in the runtime\'s environment runs nothing inside the plugin, nor inside its IPAM plugin', () => {
  const node = scratchNode('cni-hard-');
  try {
    const marker = path.join(node.dir, 'preloaded');
    const preload = path.join(node.dir, 'preload.js');
    fs.writeFileSync(preload, `require('fs').writeFileSync(${JSON.stringify(marker)}, String(process.pid));\n`);
    // An IPAM plugin that records the environment it was given, then fails (nothing to allocate).
    const seen = path.join(node.dir, 'ipam-env.json');
    const spy = path.join(node.binDir, 'env-spy');
    fs.writeFileSync(spy, `#!/bin/sh\nenv > ${seen}\necho '{"cniVersion":"1.0.0","code":11,"msg":"spy"}'\nexit 1\n`, { mode: 0o755 });
    const env = { ...cniEnv(node, { command: 'ADD', netns: runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim() }), NODE_OPTIONS: `--require ${preload}` };
    runExe(plugin('hnsctl'), { ...node.env }, '', ['apply', path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json')]);
    const r = runExe(plugin('win-l2bridge'), env, CONF({ ipam: { type: 'env-spy' } }));
    assert.is(r.code, 1, r.stdout);
    assert.not.ok(fs.existsSync(marker), 'the preload ran inside the plugin');
    assert.ok(fs.existsSync(seen), 'the IPAM plugin ran');
    assert.not.match(fs.readFileSync(seen, 'utf8'), 'NODE_OPTIONS', 'the IPAM plugin inherited NODE_OPTIONS');
  } finally {
    node.cleanup();
  }
});

test('a state folder under /proc (where Node\'s own recursive mkdir spins forever) is a typed error at once', () => {
  const node = scratchNode('cni-hard-');
  try {
    runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json')]);
    const netns = runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim();
    const r = runExe(plugin('win-l2bridge'), { ...cniEnv(node, { command: 'ADD', netns }), CNI_STATE_DIR: '/proc/self/cni-state/x' }, CONF());
    assert.is(r.code, 1, `exit ${r.code}: ${r.stdout}`);
    assert.ok(r.json && typeof r.json.code === 'number' && r.json.code !== 999, r.stdout);
    assert.not.match(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    node.cleanup();
  }
});

test('an unknown CNI_HNS_BACKEND is code 4 naming it, and a container ID of 250 characters works', () => {
  const node = scratchNode('cni-hard-');
  try {
    runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json')]);
    const netns = runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim();
    const bad = runExe(plugin('win-l2bridge'), { ...cniEnv(node, { command: 'ADD', netns }), CNI_HNS_BACKEND: 'hyperv' }, CONF());
    assert.is(bad.json?.code, 4, bad.stdout);
    assert.match(bad.json.msg, 'CNI_HNS_BACKEND=hyperv');
    const id = `a${'b'.repeat(249)}`;
    const add = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', netns, containerId: id }), CONF());
    assert.is(add.code, 0, add.stdout);
    const del = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'DEL', netns, containerId: id }), CONF());
    assert.is(del.code, 0, del.stdout);
  } finally {
    node.cleanup();
  }
});

test('the HNS service down (RPC server unavailable) is "try again later" (11), not a failure', () => {
  const node = scratchNode('cni-hard-');
  try {
    runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json')]);
    const netns = runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim();
    const stop = runExe(plugin('hnsctl'), node.env, '', ['emulator', 'service', 'stop']);
    assert.is(stop.code, 0, stop.stderr);
    const r = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', netns }), CONF());
    assert.is(r.json?.code, 11, r.stdout);
    assert.match(r.json.msg, 'RPC server is unavailable');
  } finally {
    node.cleanup();
  }
});

test('the bridged plugins take an L2Tunnel network as upstream win-bridge does', () => {
  const node = scratchNode('cni-hard-');
  try {
    const file = path.join(node.dir, 'tunnel.json');
    const doc = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', 'win-l2bridge', 'examples', 'node-network.json'), 'utf8'));
    doc.networks[0].Type = 'L2Tunnel';
    fs.writeFileSync(file, JSON.stringify(doc));
    const applied = runExe(plugin('hnsctl'), node.env, '', ['apply', file]);
    assert.is(applied.code, 0, applied.stderr);
    const netns = runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim();
    const add = runExe(plugin('win-l2bridge'), cniEnv(node, { command: 'ADD', netns }), CONF());
    assert.is(add.code, 0, add.stdout);
    assert.is(add.json.ips[0].gateway, '10.244.3.2');
    const overlay = runExe(plugin('win-overlay'), cniEnv(node, { command: 'ADD', netns, containerId: 'ctr-b' }), CONF({ type: 'win-overlay' }));
    assert.is(overlay.json?.code, 101, overlay.stdout);
    assert.match(overlay.json.msg, 'L2Tunnel');
  } finally {
    node.cleanup();
  }
});

test.run();
