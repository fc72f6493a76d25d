// Many plugin processes on one emulator at once, as containerd starts many pods at once.

import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostComputeEndpoint } from '../../../../shared/hns/model/endpoint';
import { bundledWorker } from '../../../helpers/bundle';
import { l2bridge, mkNetwork, newEmulator } from '../../../helpers/emulator';

const PROCESSES = 50;

interface WorkerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runWorker(script: string, args: string[]): Promise<WorkerResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test(`${PROCESSES} processes creating, attaching and deleting endpoints at once leave a consistent state`, async () => {
  const emu = newEmulator();
  try {
    const net = await mkNetwork(emu.api, l2bridge('cbr0', '10.244.0', { Ipams: [{ Subnets: [{ IpAddressPrefix: '10.244.0.0/16', Routes: [{ NextHop: '10.244.0.1', DestinationPrefix: '0.0.0.0/0' }] }] }] }));
    emu.admin.clearCalls();
    const script = bundledWorker('emulator-worker.ts');
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => runWorker(script, [emu.dir, net.ID!, String(i)])));
    for (const r of results) assert.is(r.code, 0, r.stderr);
    const made = results.map((r) => JSON.parse(r.stdout) as { namespace: string; endpoint: string; ip: string; handles: number });
    for (const m of made) assert.is(m.handles, 0, 'every worker closed its handles');

    // No lost update: exactly what every worker kept, nothing it deleted.
    const s = emu.admin.readState();
    assert.equal(Object.keys(s.endpoints).sort(), made.map((m) => m.endpoint).sort());
    const podNamespaces = Object.values(s.namespaces).filter((n) => n.Type !== 'HostDefault');
    assert.equal(podNamespaces.map((n) => n.ID).sort(), made.map((m) => m.namespace).sort());
    const eps = Object.values(s.endpoints) as HostComputeEndpoint[];
    assert.ok(eps.every((e) => e.Name!.startsWith('keep')));
    // Unique addresses and MACs even though every process allocated at once; the lowest free
    // ones, so no allocation hint was lost either.
    const unique = (xs: unknown[]) => new Set(xs).size === xs.length;
    const ips = eps.map((e) => e.IpConfigurations![0]!.IpAddress!);
    assert.ok(unique(ips), 'unique IPs');
    assert.ok(unique(eps.map((e) => e.MacAddress)), 'unique MACs');
    assert.ok(ips.every((ip) => Number(ip.split('.')[3]) <= 2 * PROCESSES + 1 && ip.startsWith('10.244.0.')), `low addresses: ${ips.join(' ')}`);
    assert.ok(podNamespaces.every((n) => n.NamespaceId === 0), 'no compartment before a container joins');
    // Both sides of every attachment agree.
    for (const m of made) {
      assert.is(s.endpoints[m.endpoint]!.HostComputeNamespace, m.namespace);
      assert.equal(s.namespaces[m.namespace]!.Resources, [{ Type: 'Endpoint', Data: { Id: m.endpoint } }]);
    }
    // Whole lines only in the shared call log: 5 state changes per worker among its calls.
    const calls = emu.admin.readCalls();
    const changes = calls.filter((c) => /^(Create|Delete|Modify)/.test(c.op));
    assert.is(changes.length, PROCESSES * 5);
    assert.ok(calls.every((c) => c.hr === '0x00000000'), 'every call succeeded');
    assert.is(new Set(calls.map((c) => c.pid)).size, PROCESSES);
  } finally {
    emu.cleanup();
  }
});

test.run();
