// Real packets between pods of emulated Windows nodes, one suite per mode: three nodes brought up
// by their cni-agent, two pods per node through the built plugin, then ping and the probe's TCP and
// UDP echo (which answers with the source address it saw) inside the namespaces the HNS emulator's
// data plane made (windows-anchors.md §8 has the wire of every mode):
//   pod -> pod on the same node and across nodes, both ways, keeping the pod's IP (the cluster CIDR
//   is an OutBoundNAT exception); pod -> its node's IP; node -> its pod; pod -> a host outside every
//   exception, SNATed to the node IP; a hostPort answered from another node on the node's IP, and
//   no more after DEL; then every pod deleted and a peer removed leave nothing of them anywhere,
//   and the next ADD works.

import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Mode } from '../agent/cluster';
import { setUpOnce } from '../helpers/setup';
import { waitFor } from '../helpers/wait';
import { addUnderlayHost, holdings, mentioning, nsExec, ping, pingable, Probe, removeRunNamespaces, requireNetns, RUN, runNamespaces } from './fabric';
import { CONTAINER_PORT, type PlaneCluster as PC, PlaneCluster, type PlaneNode, type Pod, POD_PORT } from './cluster';

const OUTSIDE = '192.168.10.200';
const ROUTER = '192.168.10.1';
const HOST_PORT = 8080;

export interface World {
  pc: PC;
  /** Per node, its pods (two until the teardown test). */
  pods: Pod[][];
  outside: Probe;
}

/** More tests of a mode, run after the traffic tests and before the teardown test, on the same nodes. */
export type ExtraTests = (test: Test, world: () => World) => void;

const TAGS: Record<Mode, string> = { 'win-l2bridge': 'l2', 'host-gateway': 'hg', 'l3-upstream': 'l3', 'win-overlay': 'ov' };

/** Asserts a TCP and a UDP echo from `from` to `to`'s IP arrive with source `source` (the pod's own IP unless SNATed). */
export async function echoes(from: Probe, toIp: string, source: string, what: string): Promise<void> {
  for (const op of ['tcp', 'udp'] as const) {
    const a = await from[op](toIp, POD_PORT);
    assert.ok(a.ok, `${what}: ${op.toUpperCase()} echo to ${toIp}:${POD_PORT} got no answer (${a.error})`);
    assert.is(a.saw, source, `${what}: the ${op.toUpperCase()} echo at ${toIp} saw source ${a.saw}, not ${source}`);
  }
}

export function reach(from: { netns: string; ip: string; name: string }, to: { ip: string; name: string }, what: string): void {
  assert.ok(pingable(from.netns, to.ip), `${what}: ${from.name} (${from.ip}) cannot ping ${to.name} (${to.ip})`);
}

export function trafficSuite(mode: Mode, extra?: ExtraTests): void {
  const tag = TAGS[mode];
  const test = suite(`dataplane: ${mode}, three nodes, real traffic`);
  let t0 = 0;
  let w: World;
  // Kept from the moment it exists: a set-up that fails half-way still has its agents and namespaces taken down.
  let cluster: PlaneCluster | undefined;
  const overlay = mode === 'win-overlay';
  const bridged = !overlay;

  setUpOnce(test, async () => {
    t0 = Date.now();
    requireNetns();
    const pc = await PlaneCluster.create(mode, tag);
    cluster = pc;
    // A host on the underlay outside every OutBoundNAT exception (not a node, not the cluster).
    const outsideNs = addUnderlayHost(pc.underlay, `${tag}-out`, `${OUTSIDE}/24`);
    const outside = new Probe(outsideNs, [POD_PORT]);
    if (mode === 'l3-upstream') {
      // The top-of-rack router, configured by the operator with one route per node pod subnet (windows-anchors.md §8.4).
      addUnderlayHost(pc.underlay, `${tag}-tor`, `${ROUTER}/24`, { forwarding: true, routes: pc.nodes.map((n) => `${n.podCIDR} via ${n.ip}`) });
    }
    await pc.startAgents();
    for (const n of pc.nodes) {
      const index = await pc.uplinkIndex(n);
      // l3-upstream: the node's default route points at the router. win-l2bridge: "whatever routes
      // the node has": here an operator's static route to each peer's pod subnet.
      if (mode === 'l3-upstream') await n.admin.addHostRoute({ DestinationPrefix: '0.0.0.0/0', NextHop: ROUTER, InterfaceIndex: index });
      if (mode === 'win-l2bridge') for (const p of pc.nodes) if (p !== n) await n.admin.addHostRoute({ DestinationPrefix: p.podCIDR, NextHop: p.ip, InterfaceIndex: index });
    }
    const pods: Pod[][] = [];
    for (const n of pc.nodes) {
      const a = await pc.addPod(n, `${n.name}-a`, n === pc.nodes[0] && bridged ? [{ hostPort: HOST_PORT, containerPort: CONTAINER_PORT, protocol: 'tcp' }] : []);
      const b = await pc.addPod(n, `${n.name}-b`);
      pods.push([a, b]);
    }
    await outside.ready;
    w = { pc, pods, outside };
  });

  test.after(async () => {
    const pc = cluster;
    try {
      const errors = pc ? await pc.down() : [];
      if (errors.length) throw new Error(errors.join('; '));
    } finally {
      await pc?.close();
      removeRunNamespaces(`${RUN}-${tag}-`);
      const left = runNamespaces().filter((n) => n.startsWith(`${RUN}-${tag}-`)).length;
      process.stdout.write(`\n  ${mode}: ${((Date.now() - t0) / 1000).toFixed(1)} s; after teardown ${left} of its namespaces left (nodes, pods, underlay, outside${mode === 'l3-upstream' ? ', router' : ''}${overlay ? ', Linux node' : ''}), so none of their links, routes or rules\n`);
    }
  });

  test('pods reach each other on one node and across nodes, both ways, with their own IPs as source', async () => {
    const [[n1a, n1b], [n2a, n2b], [n3a, n3b]] = w.pods as [[Pod, Pod], [Pod, Pod], [Pod, Pod]];
    const pairs: [Pod, Pod, string][] = [
      [n1a, n1b, 'same node'], [n1b, n1a, 'same node, back'],
      [n1a, n2a, 'node 1 -> node 2'], [n2a, n1a, 'node 2 -> node 1'],
      [n2b, n3a, 'node 2 -> node 3'], [n3b, n1b, 'node 3 -> node 1'],
    ];
    for (const [from, to, what] of pairs) {
      reach(from, to, what);
      await echoes(from.probe, to.ip, from.ip, `${what} (${from.name} -> ${to.name})`);
    }
  });

  test('a pod reaches its node\'s IP, and the node reaches its pods', () => {
    for (const [a, b] of w.pods as [Pod, Pod][]) {
      assert.ok(pingable(a.netns, a.node.ip), `${a.name} cannot ping its node's IP ${a.node.ip}`);
      assert.ok(pingable(a.node.netns, b.ip), `${b.node.name} cannot ping its pod ${b.name} (${b.ip})`);
    }
  });

  test('traffic to a host outside every OutBoundNAT exception arrives SNATed to the node IP', async () => {
    for (const [a] of w.pods as [Pod, Pod][]) {
      const answer = await a.probe.tcp(OUTSIDE, POD_PORT);
      assert.ok(answer.ok, `${a.name} -> outside ${OUTSIDE}: no answer (${answer.error})`);
      assert.is(answer.saw, a.node.ip, `${a.name} -> outside: the outside host saw ${answer.saw}, not the node IP ${a.node.ip} (OutBoundNAT)`);
    }
  });

  if (bridged) {
    test('a hostPort answers from another node on the node IP and port, and no more after DEL', async () => {
      const [n1, n2] = w.pc.nodes as [PlaneNode, PlaneNode];
      const client = await w.pc.nodeProbe(n2);
      const before = await client.tcp(n1.ip, HOST_PORT);
      assert.ok(before.ok, `${n2.name} -> ${n1.ip}:${HOST_PORT}: no answer (${before.error})`);
      assert.is(before.saw, n2.ip, 'the pod sees the client node as source (the mapping only DNATs)');
      const pod = w.pods[0]![0]!;
      await w.pc.removePod(pod);
      const after = await client.tcp(n1.ip, HOST_PORT, 1000);
      assert.not.ok(after.ok, `${n1.ip}:${HOST_PORT} still answers after the pod's DEL`);
      w.pods[0]![0] = await w.pc.addPod(n1, `${n1.name}-a2`);
    });
  } else {
    test('overlay: what Windows does not carry either: no host port, no host -> remote pod, no IPv6', async () => {
      const [n1, n2] = w.pc.nodes as [PlaneNode, PlaneNode];
      const client = await w.pc.nodeProbe(n2);
      // win-overlay sends no PortMapping unless hostPorts is set (upstream win-overlay never does; HNS on Overlay is unproven).
      const hp = await client.tcp(n1.ip, HOST_PORT, 800);
      assert.not.ok(hp.ok, 'no host port on the overlay');
      // Host -> remote pod: the RemoteSubnetRoutes apply to the network's endpoints, not to the host (windows-anchors.md §8.3: not supported by flannel on Windows).
      const remote = w.pods[1]![0]!;
      assert.not.ok(ping(n1.netns, remote.ip), `the host of ${n1.name} reached a pod on ${n2.name}`);
      // IPv6: Overlay networks are IPv4 only (§8.3), so the pod has no IPv6 address to send from.
      const v6 = nsExec(w.pods[0]![0]!.netns, ['ip', '-6', 'addr', 'show', 'scope', 'global']).out.trim();
      assert.is(v6, '', 'an overlay pod has no global IPv6 address');
    });
  }

  extra?.(test, () => w);

  test('every pod deleted and a peer removed leave nothing of them in any namespace; the next ADD works', async () => {
    const { pc } = w;
    const [n1, n2, n3] = pc.nodes as [PlaneNode, PlaneNode, PlaneNode];
    const gone = w.pods.flat();
    for (const p of gone) await pc.removePod(p);
    // The peer leaves the cluster: its Node is deleted; node 3's own agent stops.
    await pc.killAgent(n3);
    pc.api.remove(n3.name);
    if (mode === 'win-l2bridge') for (const n of [n1, n2]) await n.admin.deleteHostRoute({ DestinationPrefix: n3.podCIDR, NextHop: n3.ip, InterfaceIndex: await pc.uplinkIndex(n) });
    const peerNeedles = mode === 'l3-upstream' ? [] : [n3.podCIDR, n3.drMac.toLowerCase().replace(/-/g, ':')];
    const needles = [...gone.flatMap((p) => [p.ip, p.endpointId, p.endpointId.slice(0, 8)]), ...peerNeedles];
    let left: string[] = [];
    await waitFor('nothing of the pods and the peer left on nodes 1 and 2', () => {
      left = [n1, n2].flatMap((n) => mentioning(holdings(n.netns), needles).map((l) => `${n.name}: ${l}`));
      return left.length === 0;
    }, 5_000).catch(() => undefined);
    const podNs = runNamespaces().filter((ns) => gone.some((p) => p.netns === ns));
    const counts = { namespaces: podNs.length, lines: left.length };
    process.stdout.write(`\n  ${mode}: after DEL of ${gone.length} pods and removal of ${n3.name}: ${counts.namespaces} pod namespaces, ${counts.lines} links/addresses/routes/neighbours/FDB/NAT rules of them left\n`);
    assert.equal(left, [], 'nothing of the deleted pods or the removed peer is left');
    assert.equal(podNs, [], 'no pod namespace is left');
    // The next ADD works, and carries traffic.
    const a = await pc.addPod(n1, 'again-1');
    const b = await pc.addPod(n2, 'again-2');
    reach(a, b, 'after teardown');
    await echoes(a.probe, b.ip, a.ip, 'after teardown');
    w.pods = [[a], [b]];
  });

  test.run();
}
