// Three emulated Windows nodes in win-overlay mode, and Linux nodes running flannel's vxlan
// backend (Node objects annotated as flanneld annotates them): every Windows agent publishes its
// DR MAC in flannel's annotations and keeps one RemoteSubnetRoute per peer, within 2 s of a change.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { Cluster, HNSCTL, logLines, policiesOf, probe, type TestNode, waitFor } from './cluster';
import { prepare, printTimings, record } from './prepare';

const CONVERGE_MS = 2_000;
const VNI = 4096;
const test = suite('agent: win-overlay, three nodes and flannel Linux nodes');
let c: Cluster;
let nodes: TestNode[];

// flannel-io/flannel pkg/subnet/kube/annotations.go (names, prefix "flannel.alpha.coreos.com/") and
// pkg/backend/vxlan (backend-data {"VNI":..,"VtepMAC":".."}: the VtepMAC as net.HardwareAddr.String()).
const FLANNEL = 'flannel.alpha.coreos.com';

/** A Linux node as flanneld (vxlan backend, kube subnet manager) leaves it. */
function linuxNode(name: string, podCIDR: string, ip: string, vtepMac: string, opts: { vni?: number; publicIp?: string } = {}) {
  return {
    name,
    podCIDRs: [podCIDR],
    internalIP: ip,
    labels: { 'kubernetes.io/os': 'linux' },
    annotations: {
      [`${FLANNEL}/backend-data`]: JSON.stringify({ VNI: opts.vni ?? VNI, VtepMAC: vtepMac }),
      [`${FLANNEL}/backend-type`]: 'vxlan',
      [`${FLANNEL}/kube-subnet-manager`]: 'true',
      [`${FLANNEL}/public-ip`]: opts.publicIp ?? ip,
    },
  };
}

/** The RemoteSubnetRoute flannel (vxlan_network_windows.go) would send HNS for a peer. */
function route(podCIDR: string, ip: string, mac: string) {
  return { DestinationPrefix: podCIDR, IsolationId: VNI, ProviderAddress: ip, DistributedRouterMacAddress: mac };
}

const goMac = (hnsMac: string) => hnsMac.toLowerCase().replace(/-/g, ':');
const windowsPeers = () => nodes.map((n) => ({ name: n.name, route: route(n.podCIDR, n.ip, goMac(n.drMac)) }));

function expected(node: TestNode, peers: { name: string; route: ReturnType<typeof route> }[]) {
  return peers.filter((p) => p.name !== node.name).map((p) => p.route).sort((a, b) => (a.DestinationPrefix < b.DestinationPrefix ? -1 : 1));
}

async function allConverge(what: string, peers: { name: string; route: ReturnType<typeof route> }[]): Promise<void> {
  const ms = await waitFor(what, () => nodes.every((n) => JSON.stringify(policiesOf(n)) === JSON.stringify(expected(n, peers))), CONVERGE_MS);
  record(what, ms);
}

test.before(async () => {
  prepare();
  c = await Cluster.create('cni-agent-overlay-');
  for (const i of [1, 2, 3]) await c.addNode(i, 'win-overlay');
  nodes = c.nodes;
  // HNS fills in the provider address and DR MAC a moment after the network is created.
  nodes[0]!.admin.updateConfig({ providerAddressDelayMs: 600 });
  for (const n of nodes) c.startAgent(n);
  for (const n of nodes) await n.agent!.address;
});

test.after(async () => {
  printTimings('win-overlay convergence');
  await c?.close();
});

test('three nodes publish flannel leases and converge on one RemoteSubnetRoute per peer', async () => {
  await waitFor('first sync', () => nodes.every((n) => policiesOf(n).length === 2), 15_000);
  for (const n of nodes) {
    assert.equal(policiesOf(n), expected(n, windowsPeers()));
    const a = c.api.node(n.name)!.metadata.annotations!;
    assert.equal(JSON.parse(a[`${FLANNEL}/backend-data`]!), { VNI, VtepMAC: goMac(n.drMac) });
    assert.is(a[`${FLANNEL}/backend-type`], 'vxlan');
    assert.is(a[`${FLANNEL}/public-ip`], n.ip);
    assert.is(a[`${FLANNEL}/kube-subnet-manager`], 'true');
    const net = n.admin.networkByName('vxlan0')!;
    assert.is(net.Type, 'Overlay');
    assert.is(net.Flags, 8, 'EnableNonPersistent, as flannel makes it');
    assert.equal(net.Ipams![0]!.Subnets![0]!.Policies, [{ Type: 'VSID', Settings: { IsolationId: VNI } }]);
    assert.ok(net.Policies!.some((p) => p.Type === 'HostRoute'), 'HostRoute policy');
    assert.is((await probe(n, '/readyz')).status, 200);
  }
  assert.ok(logLines(nodes[0]!).some((l) => l.step === 'provider-address'), 'node 1 waited for the delayed provider address');
  // This server has the streaming list: one watch request each was the list and the watch.
  const reqs = c.api.requests.filter((r) => r.path === '/api/v1/nodes' && r.method === 'GET');
  assert.equal(reqs.filter((r) => r.sendInitialEvents).map((r) => r.status), [200, 200, 200]);
  assert.is(reqs.filter((r) => !r.watch).length, 0, 'no list');
  assert.is(c.api.openWatches, 3, 'one watch per agent');
});

test('hybrid: Linux flannel vxlan nodes get the RemoteSubnetRoute documents flannel would make', async () => {
  c.api.add(linuxNode('linux-1', '10.244.100.0/24', '192.168.10.100', 'ae:4f:1c:22:01:9b'));
  // flannel's public-ip wins over the InternalIP (it is what flannel encapsulates to; public-ip-overwrite sets it).
  c.api.add(linuxNode('linux-2', '10.244.101.0/24', '10.0.0.101', '5a:10:aa:bb:cc:02', { publicIp: '192.168.10.101' }));
  const linux = [
    { name: 'linux-1', route: route('10.244.100.0/24', '192.168.10.100', 'ae:4f:1c:22:01:9b') },
    { name: 'linux-2', route: route('10.244.101.0/24', '192.168.10.101', '5a:10:aa:bb:cc:02') },
  ];
  await allConverge('Linux flannel nodes added', [...windowsPeers(), ...linux]);
  // Peers that cannot be reached get nothing: another VNI, no lease yet (no annotations).
  c.api.add(linuxNode('linux-vni1', '10.244.102.0/24', '192.168.10.102', '5a:10:aa:bb:cc:03', { vni: 1 }));
  c.api.add({ name: 'linux-bare', podCIDRs: ['10.244.103.0/24'], internalIP: '192.168.10.103' });
  await new Promise((r) => setTimeout(r, 500));
  await allConverge('unreachable peers left out', [...windowsPeers(), ...linux]);
  assert.ok(logLines(nodes[1]!).some((l) => l.step === 'peer-problems' && JSON.stringify(l.problems).includes('announces VNI 1')), 'the VNI mismatch is reported');
  // flanneld publishes its lease later: the policy follows.
  c.api.update(linuxNode('linux-bare', '10.244.103.0/24', '192.168.10.103', '5a:10:aa:bb:cc:04'));
  const bare = { name: 'linux-bare', route: route('10.244.103.0/24', '192.168.10.103', '5a:10:aa:bb:cc:04') };
  await allConverge('lease published later', [...windowsPeers(), ...linux, bare]);
  // A new VTEP (flanneld restarted with a new flannel.4096 device): the old policy is replaced.
  c.api.update(linuxNode('linux-1', '10.244.100.0/24', '192.168.10.100', 'ae:4f:1c:22:01:aa'));
  linux[0] = { name: 'linux-1', route: route('10.244.100.0/24', '192.168.10.100', 'ae:4f:1c:22:01:aa') };
  await allConverge('VTEP MAC changed', [...windowsPeers(), ...linux, bare]);
  for (const n of ['linux-1', 'linux-2', 'linux-vni1', 'linux-bare']) c.api.remove(n);
  await allConverge('Linux nodes deleted', windowsPeers());
});

test('the overlay network deleted under the agent is back within 2 s with its policies and the same DR MAC published', async () => {
  const n = nodes[1]!;
  const before = n.admin.networkByName('vxlan0')!.ID;
  const r = spawnSync(HNSCTL, ['delete', 'network', 'vxlan0'], { env: c.env(n), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const ms = await waitFor('network re-created with its policies', () => {
    const net = n.admin.networkByName('vxlan0');
    return !!net && net.ID !== before && JSON.stringify(policiesOf(n)) === JSON.stringify(expected(n, windowsPeers()));
  }, CONVERGE_MS);
  record('overlay network deleted -> back with policies', ms);
});

test('an API outage changes nothing', async () => {
  const snapshot = nodes.map((n) => policiesOf(n));
  await c.api.outage();
  await new Promise((r) => setTimeout(r, 1_200));
  assert.equal(nodes.map((n) => policiesOf(n)), snapshot);
  await c.api.restore();
  c.api.add(linuxNode('linux-3', '10.244.110.0/24', '192.168.10.110', 'ae:4f:1c:22:03:01'));
  await waitFor('after the outage', () => nodes.every((n) => policiesOf(n).length === 3), 8_000);
  c.api.remove('linux-3');
  await allConverge('after the outage, removed', windowsPeers());
});

test('policies the agent did not make are left alone', async () => {
  const n = nodes[2]!;
  const net = n.admin.networkByName('vxlan0')!;
  const foreign = route('10.244.200.0/24', '192.168.10.200', '02:00:00:00:00:c8');
  await n.admin.writeState({ ...n.admin.readState(), networks: { ...n.admin.readState().networks, [net.ID!]: { ...net, Policies: [...net.Policies!, { Type: 'RemoteSubnetRoute', Settings: foreign }] } } });
  // A Node claiming that prefix gets no second policy: it is reported instead.
  c.api.add(linuxNode('linux-4', '10.244.200.0/24', '192.168.10.201', 'ae:4f:1c:22:04:01'));
  await waitFor('others route linux-4', () => policiesOf(nodes[0]!).length === 3, CONVERGE_MS);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(policiesOf(n).filter((p) => p.DestinationPrefix === '10.244.200.0/24'), [foreign]);
  c.api.remove('linux-4');
  await waitFor('others unroute linux-4', () => policiesOf(nodes[0]!).length === 2, CONVERGE_MS);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(policiesOf(n).filter((p) => p.DestinationPrefix === '10.244.200.0/24'), [foreign], 'still there');
});

test('metrics count the policies owned', async () => {
  const m = await probe(nodes[0]!, '/metrics');
  assert.ok(m.body.includes('cni_agent_owned_policies 2'), m.body.split('\n').filter((l) => l.includes('owned')).join('\n'));
  assert.ok(m.body.includes('cni_agent_hns_calls_total{call="HcnModifyNetwork",outcome="ok"}'));
  assert.ok(m.body.includes('cni_agent_kube_requests_total{verb="patch",outcome="ok"} 1'));
});

test.run();
