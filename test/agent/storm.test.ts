// A relist storm: an API server restart ends every agent's watch with 410 Gone at once. Forty
// agents' Node watchers (the agent's own NodeWatcher and client, in this process) on the stand-in
// API server with 300 Nodes: their relists must be spread (a random wait of up to ~1 ms per Node
// known), not all at the same instant, and each agent keeps one watch. The times are taken where
// each agent sends its relist (the server sees them later, one TLS handshake after another, since
// all forty share this process).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flannelKeys } from '../../shared/kube/annotations';
import { kubeNodeClient } from '../../shared/kube/client';
import { NodeWatcher } from '../../shared/kube/watch';
import { waitFor } from '../helpers/wait';
import { makeCerts, StandInApiServer } from './apiserver';

const test = suite('agent: a relist storm is spread');
const AGENTS = 40;
const NODES = 300;
let dir: string;
let api: StandInApiServer;
const watchers: NodeWatcher[] = [];
/** When each agent asked for a streaming list. */
const asked: number[] = [];

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-agent-storm-'));
  api = new StandInApiServer({ certs: makeCerts(path.join(dir, 'pki')) });
  await api.start();
  for (let i = 0; i < NODES; i++) api.add({ name: `n${i}`, podCIDRs: [`10.${i >> 8}.${i & 255}.0/24`], internalIP: `172.16.${i >> 8}.${i & 255}` });
  const kubeconfig = api.kubeconfig(path.join(dir, 'kubeconfig'));
  for (let i = 0; i < AGENTS; i++) {
    const client = kubeNodeClient({ kubeconfig }, {});
    const timed: typeof client = { ...client, watch: (o, onEvent, onDone) => (o.sendInitialEvents && asked.push(performance.now()), client.watch(o, onEvent, onDone)) };
    const w = new NodeWatcher(timed, {}, { resyncMs: 3_600_000, keys: flannelKeys() });
    watchers.push(w);
    w.start();
  }
});

test.after(async () => {
  await Promise.all(watchers.map((w) => w.stop()));
  await api?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('after every watch ends with 410 at once, the relists are spread over ~1 ms per Node', async () => {
  await waitFor('every agent synced', () => watchers.every((w) => w.synced && w.nodes.size === NODES) && api.openWatches === AGENTS, 15_000);
  const from = asked.length;
  const t0 = performance.now();
  api.expireWatches();
  await waitFor('every agent relisted', () => asked.length === from + AGENTS && api.openWatches === AGENTS && watchers.every((w) => w.synced), 10_000);
  const at = asked.slice(from).map((t) => t - t0).sort((a, b) => a - b);
  const span = at[at.length - 1]! - at[0]!;
  const busiest = Math.max(...at.map((t) => at.filter((u) => u >= t && u < t + 30).length));
  // Uniform over [0, 300 ms): the chance that 40 draws span less than 150 ms is below 1e-10.
  assert.ok(span >= 150, `relists spread over ${span.toFixed(0)} ms (${at.map((t) => t.toFixed(0)).join(' ')})`);
  assert.ok(busiest <= AGENTS / 2, `at most half of them in any 30 ms (${busiest})`);
  assert.is(api.openWatches, AGENTS, 'one watch per agent');
  assert.ok(watchers.every((w) => w.nodes.size === NODES), 'every cache whole again');
});

test.run();
