// Three emulated Windows nodes in host-gateway mode, each with its own HNS emulator and its own
// agent (the built executable), and the stand-in API server they list and watch over HTTPS
// through @kubernetes/client-node. Every change must be on every node within 2 s. This server
// has no streaming list (a server without the WatchList feature) and serves pages of 2 Nodes, and
// the first continue token it is asked for has expired: the agents fall back to paged lists.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Cluster, HNSCTL, logLines, metricValue, nodeSpec, passAfterNow, peerProblemsSince, probe, routesOf, sampleLine, type TestNode, waitFor } from './cluster';
import { prepare, printTimings, record } from './prepare';

const CONVERGE_MS = 2_000;
const test = suite('agent: host-gateway, three nodes');
let c: Cluster;
let nodes: TestNode[];

/** The routes each node should hold: every other node's pod subnet via its IP. */
function expected(node: TestNode, peers: { podCIDR: string; ip: string; name: string }[]): string[] {
  return peers.filter((p) => p.name !== node.name).map((p) => `${p.podCIDR} via ${p.ip}`).sort();
}

async function allConverge(what: string, peers: { podCIDR: string; ip: string; name: string }[]): Promise<void> {
  const ms = await waitFor(what, async () => {
    for (const n of nodes) if (JSON.stringify(await routesOf(n)) !== JSON.stringify(expected(n, peers))) return false;
    return true;
  }, CONVERGE_MS);
  record(what, ms);
}

const base = () => nodes.map((n) => ({ name: n.name, podCIDR: n.podCIDR, ip: n.ip }));

test.before(async () => {
  prepare();
  c = await Cluster.create('cni-agent-hostgw-', { watchList: false, maxPageSize: 2 });
  for (const i of [1, 2, 3]) await c.addNode(i, 'host-gateway');
  nodes = c.nodes;
  c.api.expireContinue(1);
  for (const n of nodes) c.startAgent(n);
  for (const n of nodes) await n.agent!.address;
});

test.after(async () => {
  printTimings('host-gateway convergence');
  await c?.close();
});

test('three nodes converge: each routes the others\' pod subnets via their IPs, forwarding on, conflist written', async () => {
  await waitFor('first sync', async () => {
    for (const n of nodes) if ((await routesOf(n)).length !== 2) return false;
    return true;
  }, 10_000);
  for (const n of nodes) {
    assert.equal(await routesOf(n), expected(n, base()));
    // Routes go on the interface holding the node IP (flannel hostgw_windows.go: the ManagementIP's).
    const ifaces = await n.admin.hostInterfaces();
    const uplink = ifaces.find((i) => i.Addresses.some((a) => a.Address === n.ip))!;
    const bridge = ifaces.find((i) => i.Addresses.some((a) => a.Address === n.podCIDR.replace(/0\/24$/, '2')))!;
    assert.is(uplink.InterfaceAlias, 'vEthernet (Ethernet)');
    assert.is(bridge.InterfaceAlias, 'vEthernet (cbr0_ep)');
    assert.ok(uplink.Forwarding.IPv4 && bridge.Forwarding.IPv4, 'forwarding on both host vNICs');
    for (const r of (await n.admin.hostRoutes()).filter((x) => x.Protocol === 'NetMgmt')) assert.is(r.InterfaceIndex, uplink.InterfaceIndex);
    const net = n.admin.networkByName('cbr0')!;
    assert.is(net.Type, 'L2Bridge');
    assert.equal(net.Ipams![0]!.Subnets!.map((s) => s.IpAddressPrefix), [n.podCIDR]);
    const conf = JSON.parse(fs.readFileSync(path.join(n.confDir, '10-cbr0.conflist'), 'utf8'));
    assert.is(conf.name, 'cbr0');
    assert.is(conf.plugins[0].type, 'host-gateway');
    assert.is(conf.plugins[0].ipam.subnet, n.podCIDR);
    assert.is(conf.plugins[0].nodeIP, n.ip);
    assert.equal(conf.plugins[0].dns, { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] });
    const ready = await probe(n, '/readyz');
    assert.is(ready.status, 200, ready.body);
  }
  // Each agent asked for the streaming list once, was refused (422), and listed in pages: the
  // first at resourceVersion 0 (the watch cache), limit 500. The one continue token that expired
  // (410) restarted that list from its first page with resourceVersion "" (a consistent read).
  const reqs = c.api.requests.filter((r) => r.path === '/api/v1/nodes' && r.method === 'GET');
  assert.equal(reqs.filter((r) => r.sendInitialEvents).map((r) => r.status), [422, 422, 422]);
  const firstPages = reqs.filter((r) => !r.watch && !r.continue);
  assert.equal(firstPages.filter((r) => r.resourceVersion === '0').length, 3);
  assert.ok(firstPages.every((r) => r.limit === 500));
  const expired = reqs.findIndex((r) => r.continue && r.status === 410);
  assert.ok(expired >= 0, 'a continue token expired');
  assert.ok(reqs.slice(expired).some((r) => !r.watch && !r.continue && r.resourceVersion === undefined), 'and its list restarted, consistent');
  assert.ok(reqs.filter((r) => !r.watch && r.continue && r.status === 200).length >= 3, 'pages after the first');
});

test('kubelet heartbeats (status-only MODIFIED events) reach no pass and make no change', async () => {
  const events = async (n: TestNode) => (await metricValue(n, 'cni_agent_reconciles_total{kind="event",outcome="ok"}')) ?? 0;
  const before = await Promise.all(nodes.map(events));
  const unchanged = async (n: TestNode) => (await metricValue(n, 'cni_agent_watch_events_total{type="unchanged"}')) ?? 0;
  const seen = await Promise.all(nodes.map(unchanged));
  for (const n of nodes) n.admin.clearCalls();
  for (let k = 0; k < 20; k++) for (const n of nodes) c.api.heartbeat(n.name, new Date(Date.UTC(2024, 0, 1, 0, k)));
  await waitFor('every agent saw the 60 heartbeats', async () => (await Promise.all(nodes.map(unchanged))).every((v, i) => v >= seen[i]! + 60), CONVERGE_MS);
  assert.equal(await Promise.all(nodes.map(events)), before, 'no event pass');
  for (const n of nodes) assert.equal(n.admin.readCalls().filter((x) => /^(Create|Delete|Modify|SetIp)/.test(x.op)), [], `${n.name}: no change made`);
});

test('a Node added, changed and deleted is on every node within 2 s', async () => {
  const extra = { name: 'win-node-4', podCIDR: '10.244.4.0/24', ip: '192.168.10.14' };
  c.api.add({ name: extra.name, podCIDRs: [extra.podCIDR], internalIP: extra.ip });
  await allConverge('Node added', [...base(), extra]);
  c.api.update({ name: extra.name, podCIDRs: [extra.podCIDR], internalIP: '192.168.10.24' });
  await allConverge('Node IP changed', [...base(), { ...extra, ip: '192.168.10.24' }]);
  c.api.update({ name: extra.name, podCIDRs: ['10.244.40.0/24'], internalIP: '192.168.10.24' });
  await allConverge('Node pod subnet changed', [...base(), { ...extra, podCIDR: '10.244.40.0/24', ip: '192.168.10.24' }]);
  c.api.remove(extra.name);
  await allConverge('Node deleted', base());
  // A Node without a pod subnet yet gets no route (and no error): each agent has seen it (it
  // reports it as a peer that gets nothing) and has left the routes as they were.
  const marks = nodes.map((n) => logLines(n).length);
  c.api.add({ name: 'win-node-5', internalIP: '192.168.10.15' });
  await waitFor('every agent reports win-node-5 as a peer without a pod subnet', () => nodes.every((n, i) => !!peerProblemsSince(n, marks[i]!)?.some((p) => p.peer === 'win-node-5' && p.reason === 'no pod subnet yet')), CONVERGE_MS);
  await allConverge('Node without podCIDR ignored', base());
  c.api.update({ name: 'win-node-5', podCIDRs: ['10.244.5.0/24'], internalIP: '192.168.10.15' });
  await allConverge('podCIDR assigned later', [...base(), { name: 'win-node-5', podCIDR: '10.244.5.0/24', ip: '192.168.10.15' }]);
  c.api.remove('win-node-5');
  await allConverge('Node deleted again', base());
});

test('the HNS network deleted under the agent is back within 2 s, with its host endpoint, forwarding and routes', async () => {
  const n = nodes[0]!;
  const before = n.admin.networkByName('cbr0')!.ID;
  const r = spawnSync(HNSCTL, ['delete', 'network', 'cbr0'], { env: c.env(n), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const ms = await waitFor('network re-created', async () => {
    const net = n.admin.networkByName('cbr0');
    if (!net || net.ID === before) return false;
    const st = n.admin.readState();
    const ep = Object.values(st.endpoints).find((e) => e.Name === 'cbr0_ep' && e.HostComputeNetwork === net.ID && e.HostComputeNamespace);
    if (!ep) return false;
    const ifaces = await n.admin.hostInterfaces();
    if (!ifaces.every((i) => i.Forwarding.IPv4)) return false;
    return JSON.stringify(await routesOf(n)) === JSON.stringify(expected(n, base()));
  }, CONVERGE_MS);
  record('HNS network deleted -> back with routes', ms);
  // The vSwitch came back as a new interface: the old routes went with the old one, none duplicated.
  const netmgmt = (await n.admin.hostRoutes()).filter((x) => x.Protocol === 'NetMgmt');
  assert.is(netmgmt.length, 2);
});

test('an HNS restart drops every endpoint; the host endpoint is back within 2 s', async () => {
  const n = nodes[1]!;
  await n.admin.restartHns();
  const ms = await waitFor('host endpoint re-created', async () => {
    const st = n.admin.readState();
    return Object.values(st.endpoints).some((e) => e.Name === 'cbr0_ep' && e.HostComputeNamespace) && JSON.stringify(await routesOf(n)) === JSON.stringify(expected(n, base()));
  }, CONVERGE_MS);
  record('HNS restart -> host endpoint back', ms);
});

test('an API outage changes nothing; after it the agents catch up from the watch', async () => {
  const snapshot = await Promise.all(nodes.map((n) => routesOf(n)));
  await c.api.outage();
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(await Promise.all(nodes.map((n) => routesOf(n))), snapshot, 'routes unchanged during the outage');
  for (const n of nodes) assert.is((await probe(n, '/healthz')).status, 200, 'the loop keeps running');
  // Changes made while the agents could not see them arrive when the server is back.
  c.api.add({ name: 'win-node-6', podCIDRs: ['10.244.6.0/24'], internalIP: '192.168.10.16' });
  await c.api.restore();
  // The agents retry with a backoff (0.5 s doubling, with jitter) during the outage: the catch-up
  // can take one more retry interval than a change does.
  const t0 = performance.now();
  try {
    await waitFor('after an outage', async () => {
      for (const n of nodes) if (!(await routesOf(n)).includes('10.244.6.0/24 via 192.168.10.16')) return false;
      return true;
    }, 8_000);
  } catch (err) {
    for (const n of nodes) process.stderr.write(`${n.name}:\n${logLines(n).slice(-15).map((l) => JSON.stringify(l)).join('\n')}\n`);
    throw err;
  }
  record('catch-up after a 1.5 s outage (includes the retry backoff)', performance.now() - t0);
  c.api.remove('win-node-6');
  await allConverge('after an outage, removed', base());
});

test('410 Gone: the agents relist and keep going', async () => {
  const lists = () => c.api.requests.filter((r) => !r.watch && r.method === 'GET' && r.path === '/api/v1/nodes').length;
  const before = lists();
  c.api.expireWatches();
  c.api.add({ name: 'win-node-7', podCIDRs: ['10.244.7.0/24'], internalIP: '192.168.10.17' });
  await allConverge('after 410 Gone', [...base(), { name: 'win-node-7', podCIDR: '10.244.7.0/24', ip: '192.168.10.17' }]);
  assert.ok(lists() >= before + 3, `each agent listed again (${lists() - before} lists)`);
  // A watch resumed from a compacted resourceVersion is refused with an ERROR 410 event: relist again.
  c.api.compact();
  c.api.endWatches();
  c.api.remove('win-node-7');
  await allConverge('after a compacted history', base());
});

test('a restarted agent adopts what it made: nothing duplicated, and what is no longer wanted is removed', async () => {
  const n = nodes[2]!;
  c.api.add({ name: 'win-node-8', podCIDRs: ['10.244.8.0/24'], internalIP: '192.168.10.18' });
  await allConverge('before the restart', [...base(), { name: 'win-node-8', podCIDR: '10.244.8.0/24', ip: '192.168.10.18' }]);
  assert.is(await c.stopAgent(n), 0, 'SIGTERM: exit 0');
  assert.ok(logLines(n).some((l) => l.step === 'stopped'), 'logged its stop');
  assert.is((await routesOf(n)).length, 3, 'a stopped agent leaves its routes');
  c.api.remove('win-node-8');
  n.admin.clearCalls();
  c.startAgent(n);
  await waitFor('restarted agent converged', async () => JSON.stringify(await routesOf(n)) === JSON.stringify(expected(n, base())), 10_000);
  const calls = n.admin.readCalls();
  assert.is(calls.filter((x) => x.op === 'CreateIpForwardEntry2').length, 0, 'no route made again');
  assert.is(calls.filter((x) => x.op === 'DeleteIpForwardEntry2').length, 1, 'the route of the Node deleted meanwhile was removed');
  // The emulator logs HCN calls without the Hcn prefix (CreateNetwork, EnumerateNetworks).
  assert.ok(calls.some((x) => x.op === 'EnumerateNetworks'), `the restarted agent looked for its network (${[...new Set(calls.map((x) => x.op))].join(', ')})`);
  assert.is(calls.filter((x) => x.op === 'CreateNetwork').length, 0, 'the network was adopted');
});

test('routes the agent did not make are never touched, even one it would have made itself', async () => {
  const n = nodes[0]!;
  const uplink = (await n.admin.hostInterfaces()).find((i) => i.Addresses.some((a) => a.Address === n.ip))!;
  const foreign = [{ DestinationPrefix: '10.99.0.0/16', NextHop: '192.168.10.1' }, { DestinationPrefix: '10.244.9.0/24', NextHop: '192.168.10.19' }];
  for (const f of foreign) await n.admin.addHostRoute({ ...f, InterfaceIndex: uplink.InterfaceIndex });
  const added = logLines(n).length;
  c.api.add({ name: 'win-node-9', podCIDRs: ['10.244.9.0/24'], internalIP: '192.168.10.19' });
  await waitFor('peer routed on the other nodes', async () => (await routesOf(nodes[1]!)).includes('10.244.9.0/24 via 192.168.10.19'), CONVERGE_MS);
  // This node's own pass with the peer: its agent has it (3 peers), and a pass begun since has
  // ended. An event pass tries the route, finds it there and logs 'routes' with foreign 1; a full
  // pass finds it present and logs nothing. Either way it added and removed nothing.
  await waitFor(`${n.name} has win-node-9 as a peer`, async () => (await metricValue(n, 'cni_agent_peers')) === 3, CONVERGE_MS);
  await passAfterNow(n);
  const whileThere = logLines(n).slice(added).filter((l) => l.step === 'routes');
  assert.ok(whileThere.every((l) => l.added === 0 && l.removed === 0 && (l.foreign as number) >= 1), `the route equal to a desired one counted as foreign, nothing made or removed: ${JSON.stringify(whileThere)}`);
  const removed = logLines(n).length;
  c.api.remove('win-node-9');
  await waitFor('peer removed on the other nodes', async () => !(await routesOf(nodes[1]!)).includes('10.244.9.0/24 via 192.168.10.19'), CONVERGE_MS);
  await waitFor(`${n.name} has dropped win-node-9`, async () => (await metricValue(n, 'cni_agent_peers')) === 2, CONVERGE_MS);
  await passAfterNow(n);
  const afterGone = logLines(n).slice(removed).filter((l) => l.step === 'routes');
  assert.equal(afterGone.filter((l) => l.removed !== 0), [], 'nothing removed when the peer went');
  const left = await routesOf(n);
  assert.ok(left.includes('10.99.0.0/16 via 192.168.10.1'), 'an unrelated foreign route stays');
  assert.ok(left.includes('10.244.9.0/24 via 192.168.10.19'), 'a foreign route equal to a desired one was not claimed, so not removed');
  for (const f of foreign) await n.admin.deleteHostRoute({ ...f, InterfaceIndex: uplink.InterfaceIndex });
  assert.equal(await routesOf(n), expected(n, base()));
});

test('hostile or mistaken Nodes: the service CIDR, an IPv6 default, an off-link next hop and an overlap get no route, and are named', async () => {
  const n = nodes[0]!;
  const hostile = [
    { name: 'evil-svc', podCIDRs: ['10.96.0.0/12'], internalIP: '192.168.10.21' },
    { name: 'evil-v6', podCIDRs: ['10.244.22.0/24', '::/0'], internalIP: ['192.168.10.22', 'fd00::22'] },
    { name: 'evil-hop', podCIDRs: ['10.244.23.0/24'], internalIP: '198.51.100.7' },
    { name: 'evil-half', podCIDRs: ['10.244.2.128/25'], internalIP: '192.168.10.24' },
  ];
  const logged = logLines(n).length;
  for (const h of hostile) c.api.add(h);
  // On the other two nodes too: evil-v6's IPv4 subnet is sane, win-node-2's /24 and the /25 inside it are not.
  const sane = base().filter((p) => p.name !== 'win-node-2').concat([{ name: 'evil-v6', podCIDR: '10.244.22.0/24', ip: '192.168.10.22' }]);
  await waitFor(`${n.name} routes only the sane claims`, async () => JSON.stringify(await routesOf(n)) === JSON.stringify(expected(n, sane)), CONVERGE_MS);
  const ready = JSON.parse((await probe(n, '/readyz')).body) as { refused?: { peer: string; rule: string; reason: string }[] };
  const refused = (ready.refused ?? []).map((p) => `${p.peer} [${p.rule}]: ${p.reason}`).sort();
  assert.equal(refused, [
    'evil-half [overlap]: pod subnet 10.244.2.128/25 overlaps that of win-node-2: neither gets it until one of them changes',
    'evil-hop [next-hop]: next hop 198.51.100.7 is not on this node\'s subnet 192.168.10.11/24: a host-gw next hop must be on-link',
    'evil-svc [outside-cluster]: pod subnet 10.96.0.0/12 is not inside the cluster CIDR 10.244.0.0/16',
    'evil-v6 [family]: pod subnet ::/0 is IPv6, and this node has no IPv6 pod subnet',
    'win-node-2 [overlap]: pod subnet 10.244.2.0/24 overlaps that of evil-half: neither gets it until one of them changes',
  ]);
  const m = (await probe(n, '/metrics')).body;
  for (const [reason, count] of [['outside-cluster', 1], ['family', 1], ['next-hop', 1], ['overlap', 2], ['reserved', 0]] as const) assert.match(m, sampleLine(`cni_agent_peers_refused{reason="${reason}"}`, count));
  const warning = logLines(n).slice(logged).find((l) => l.step === 'peer-problems' && String(l.error ?? '').includes('evil-half'));
  assert.ok(warning, 'one warning line names the refused peers');
  for (const h of hostile) c.api.remove(h.name);
  await allConverge('the hostile Nodes gone, every route back', base());
});

test('metrics, health and readiness', async () => {
  const n = nodes[0]!;
  const m = await probe(n, '/metrics');
  assert.is(m.status, 200);
  // Whole lines: 'cni_agent_peers 2' must not pass for 'cni_agent_peers 20'.
  const lines: RegExp[] = [
    sampleLine('cni_agent_peers', 2),
    sampleLine('cni_agent_owned_routes', 2),
    sampleLine('cni_agent_ready', 1),
    /^cni_agent_reconcile_duration_seconds_bucket\{kind="full",le="[^"]+"\} \d+$/m,
    sampleLine('cni_agent_reconcile_duration_seconds_count{kind="event"}'),
    sampleLine('cni_agent_hns_calls_total{call="HcnEnumerateNetworks",outcome="ok"}'),
    sampleLine('cni_agent_route_calls_total{call="CreateIpForwardEntry2",outcome="ok"}'),
    sampleLine('cni_agent_kube_requests_total{verb="list",outcome="ok"}'),
    /^cni_agent_watch_events_total\{type="(added|modified|deleted)"\} \d+$/m,
  ];
  for (const re of lines) assert.match(m.body, re, `${re} in /metrics`);
  assert.is((await probe(n, '/healthz')).status, 200);
  const ready = JSON.parse((await probe(n, '/readyz')).body);
  assert.is(ready.status, 'ok');
  assert.is(ready.ownedRoutes, 2);
  assert.is((await probe(n, '/nothing')).status, 404);
});

test.run();
