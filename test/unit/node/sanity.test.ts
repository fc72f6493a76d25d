// A peer's claims are installed only when sane for this node (shared/node/sanity.ts, issue 19):
// the node of the reproduction, pod subnet 10.244.1.0/24, IP 192.0.2.10 on 192.0.2.0/24,
// cluster CIDR 10.244.0.0/16, service CIDR 10.96.0.0/12, and every claim it found installed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredPolicies, desiredRoutes, type Peer } from '../../../shared/node/peers';
import { clip, type PeerRules } from '../../../shared/node/sanity';

const node: PeerRules = {
  clusterCIDRs: ['10.244.0.0/16'], serviceCIDRs: ['10.96.0.0/12'], clusterDNS: ['10.96.0.10'],
  ownPodCIDRs: ['10.244.1.0/24'], ownAddresses: ['192.0.2.10', '10.244.1.2'], onLink: ['192.0.2.10/24'],
};
const good: Peer = { name: 'good', nodeIPs: ['192.0.2.30'], podCIDRs: ['10.244.3.0/24'], vtepMac: '02:11:22:33:44:55' };

function routesFor(peer: Partial<Peer>, rules = node): { routes: string[]; problems: string[] } {
  const { routes, problems } = desiredRoutes([good, { ...good, name: 'bad', podCIDRs: ['10.244.9.0/24'], ...peer }], rules);
  return { routes: routes.map((r) => `${r.destinationPrefix} via ${r.nextHop} (${r.peer})`), problems: problems.map((p) => `${p.peer} [${p.rule}]: ${p.reason}`) };
}

test('a pod CIDR outside the cluster CIDR gets no route (service CIDR, DNS, node subnet, own IP, loopback, multicast, 128.0.0.0/1), and the good peer keeps its own', () => {
  for (const cidr of ['10.96.0.0/12', '10.96.0.10/32', '192.0.2.0/24', '192.0.2.10/32', '192.0.2.1/32', '127.0.0.0/8', '224.0.0.0/4', '128.0.0.0/1']) {
    const r = routesFor({ podCIDRs: [cidr] });
    assert.equal(r.routes, ['10.244.3.0/24 via 192.0.2.30 (good)'], cidr);
    assert.equal(r.problems.length, 1, cidr);
    assert.match(r.problems[0]!, new RegExp(`^bad \\[outside-cluster\\]: pod subnet ${cidr.replace(/[./]/g, '\\$&')} is not inside the cluster CIDR 10\\.244\\.0\\.0/16$`), cidr);
  }
});

test('without a cluster CIDR: the service CIDR, DNS, node subnet, own address, loopback, link-local, multicast and default are refused by name', () => {
  const open = { ...node, clusterCIDRs: [] };
  const cases: [string, RegExp][] = [
    ['10.96.0.0/12', /\[reserved\]: pod subnet 10\.96\.0\.0\/12 overlaps the service CIDR 10\.96\.0\.0\/12/],
    ['10.96.0.10/32', /overlaps the service CIDR/],
    ['192.0.2.0/24', /overlaps this node's subnet 192\.0\.2\.10\/24/],
    ['192.0.2.10/32', /overlaps this node's subnet/],
    ['127.0.0.0/8', /touches loopback addresses/],
    ['169.254.0.0/16', /touches link-local addresses/],
    ['224.0.0.0/4', /touches multicast addresses/],
    ['0.0.0.0/0', /is a default route/],
    ['10.0.0.0/8', /overlaps this node's own 10\.244\.1\.0\/24/],
  ];
  for (const [cidr, re] of cases) {
    const r = routesFor({ podCIDRs: [cidr] }, open);
    assert.equal(r.routes, ['10.244.3.0/24 via 192.0.2.30 (good)'], cidr);
    assert.match(r.problems.join('\n'), re, cidr);
  }
  assert.equal(routesFor({ podCIDRs: ['172.16.5.0/24'] }, open).routes.length, 2, 'an unremarkable prefix is accepted');
});

test('::/0 and any IPv6 pod CIDR on an IPv4-only node: refused, the node has no subnet of that family', () => {
  const r = routesFor({ podCIDRs: ['10.244.9.0/24', '::/0'], nodeIPs: ['192.0.2.31', 'fd00::31'] });
  assert.equal(r.routes, ['10.244.3.0/24 via 192.0.2.30 (good)', '10.244.9.0/24 via 192.0.2.31 (bad)']);
  assert.equal(r.problems, ['bad [family]: pod subnet ::/0 is IPv6, and this node has no IPv6 pod subnet']);
});

test('overlapping peers: a /25 inside another peer\'s /24, or a covering /23, gets neither installed and names both', () => {
  const half = routesFor({ podCIDRs: ['10.244.3.128/25'] });
  assert.equal(half.routes, []);
  assert.equal(half.problems, [
    'bad [overlap]: pod subnet 10.244.3.128/25 overlaps that of good: neither gets it until one of them changes',
    'good [overlap]: pod subnet 10.244.3.0/24 overlaps that of bad: neither gets it until one of them changes',
  ]);
  const cover = desiredRoutes([good, { ...good, name: 'four', podCIDRs: ['10.244.2.0/24'], nodeIPs: ['192.0.2.40'] }, { ...good, name: 'wide', podCIDRs: ['10.244.2.0/23'], nodeIPs: ['192.0.2.41'] }, { ...good, name: 'apart', podCIDRs: ['10.244.4.0/24'], nodeIPs: ['192.0.2.42'] }], node);
  assert.equal(cover.routes.map((r) => r.peer), ['apart']);
  assert.equal(cover.problems.map((p) => `${p.peer}: ${p.reason.replace(/: neither.*/, '')}`), [
    'four: pod subnet 10.244.2.0/24 overlaps that of wide',
    'good: pod subnet 10.244.3.0/24 overlaps that of wide',
    'wide: pod subnet 10.244.2.0/23 overlaps that of four, good',
  ]);
});

test('next hops: this node\'s IP, loopback, unspecified, broadcast, multicast, off-link, the subnet\'s own broadcast and the bridge endpoint are refused', () => {
  const cases: [string, RegExp][] = [
    ['192.0.2.10', /is this node's own address/],
    ['127.0.0.1', /is a loopback address/],
    ['0.0.0.0', /is a "this network" address/],
    ['255.255.255.255', /is the broadcast address/],
    ['224.0.0.5', /is a multicast address/],
    ['198.51.100.7', /is not on this node's subnet 192\.0\.2\.10\/24: a host-gw next hop must be on-link/],
    ['192.0.2.255', /is the network or broadcast address of this node's subnet/],
    ['10.244.1.2', /is this node's own address/],
  ];
  for (const [hop, re] of cases) {
    const r = routesFor({ nodeIPs: [hop] });
    assert.equal(r.routes, ['10.244.3.0/24 via 192.0.2.30 (good)'], hop);
    assert.match(r.problems.join('\n'), new RegExp(`^bad \\[next-hop\\]: next hop ${hop.replace(/\./g, '\\.')} ${re.source}`), hop);
  }
});

test('win-overlay: provider addresses and VTEP MACs that are not a peer\'s own are refused; a 250,000-character MAC is cut in the reason', () => {
  const rules: PeerRules = { ...node, ownAddresses: ['192.0.2.10'], ownMacs: ['00:15:5d:d0:00:01'] };
  delete rules.onLink;
  const policies = (peer: Partial<Peer>) => {
    const { policies, problems } = desiredPolicies([good, { ...good, name: 'bad', podCIDRs: ['10.244.9.0/24'], ...peer }], rules, 4096);
    return { peers: policies.map((p) => p.peer), problems: problems.map((p) => `${p.peer} [${p.rule}]: ${p.reason}`) };
  };
  const cases: [Partial<Peer>, string][] = [
    [{ nodeIPs: ['192.0.2.10'] }, 'bad [next-hop]: provider address 192.0.2.10 is this node\'s own address'],
    [{ nodeIPs: ['127.0.0.1'] }, 'bad [next-hop]: provider address 127.0.0.1 is a loopback address'],
    [{ vtepMac: 'ff:ff:ff:ff:ff:ff' }, 'bad [vtep-mac]: VTEP MAC ff:ff:ff:ff:ff:ff is the broadcast address'],
    [{ vtepMac: '00-00-00-00-00-00' }, 'bad [vtep-mac]: VTEP MAC 00:00:00:00:00:00 is all zeros'],
    [{ vtepMac: '01:00:5e:00:00:01' }, 'bad [vtep-mac]: VTEP MAC 01:00:5e:00:00:01 is a multicast address'],
    [{ vtepMac: '00-15-5D-D0-00-01' }, 'bad [vtep-mac]: VTEP MAC 00:15:5d:d0:00:01 is this node\'s own DR MAC'],
    [{ podCIDRs: ['10.96.0.0/12'] }, 'bad [outside-cluster]: pod subnet 10.96.0.0/12 is not inside the cluster CIDR 10.244.0.0/16'],
  ];
  for (const [peer, problem] of cases) assert.equal(policies(peer), { peers: ['good'], problems: [problem] }, problem);
  const huge = policies({ vtepMac: 'a'.repeat(250_000) });
  assert.equal(huge.peers, ['good']);
  assert.is(huge.problems[0], `bad [vtep-mac]: VTEP MAC "${'a'.repeat(48)}"... (250000 characters) is not a MAC`);
  assert.ok(huge.problems[0]!.length < 120);
});

test('duplicate names in one list: neither is used, both named once; clip keeps plain values plain', () => {
  const { routes, problems } = desiredRoutes([good, { ...good, nodeIPs: ['192.0.2.31'], podCIDRs: ['10.244.8.0/24'] }, { ...good, name: 'other', podCIDRs: ['10.244.4.0/24'] }], node);
  assert.equal(routes.map((r) => r.peer), ['other']);
  assert.equal(problems.map((p) => `${p.peer} [${p.rule}]`), ['good [duplicate-name]']);
  assert.is(clip('10.244.0.0/16'), '10.244.0.0/16');
  assert.is(clip('a b'), '"a b"');
  assert.is(clip(4096), '4096');
});

test.run();
