// The node's desired state as pure functions (shared/node): the network documents of each mode,
// what makes an existing network unusable, the host endpoint, the conflist, and the peers' routes
// and policies with the problems that keep a peer from getting one.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAgentConfig } from '../../../shared/config/agent';
import { featuresOf } from '../../../shared/hns/features';
import { renderConflist, writeConflist } from '../../../shared/node/conflist';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeStateError } from '../../../shared/node/errors';
import { desiredHostEndpoint, holdsHostAddresses } from '../../../shared/node/host-endpoint';
import { checkExistingNetwork, desiredNetwork, type NetworkSpec } from '../../../shared/node/network';
import { desiredPolicies, desiredRoutes, goMac, otherPeers, type Peer, PeerVerdicts, policyKey } from '../../../shared/node/peers';
import type { PeerRules } from '../../../shared/node/sanity';

const ws2022 = featuresOf({ Major: 13, Minor: 3 });
const ws2019rtm = featuresOf({ Major: 9, Minor: 1 });

test('L2Bridge: the node\'s pod subnet(s) with the platform gateway .1, and the adapter', () => {
  const spec: NetworkSpec = { mode: 'host-gateway', name: 'cbr0', podCIDRs: ['10.244.3.0/24', 'fd00:10:244:3::/64'], netAdapter: 'Ethernet', vni: 4096, vxlanPort: 4789 };
  assert.equal(desiredNetwork(spec, ws2022), {
    SchemaVersion: { Major: 2, Minor: 0 },
    Name: 'cbr0',
    Type: 'L2Bridge',
    Ipams: [{ Type: 'Static', Subnets: [
      { IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }] },
      { IpAddressPrefix: 'fd00:10:244:3::/64', Routes: [{ NextHop: 'fd00:10:244:3::1', DestinationPrefix: '::/0' }] },
    ] }],
    Policies: [{ Type: 'NetAdapterName', Settings: { NetworkAdapterName: 'Ethernet' } }],
  });
});

test('Overlay: VSID per subnet, non-persistent (flannel), HostRoute when HNS has it, VxlanPort only off 4789', () => {
  const spec: NetworkSpec = { mode: 'win-overlay', name: 'vxlan0', podCIDRs: ['10.244.3.0/24'], vni: 4097, vxlanPort: 4789 };
  const net = desiredNetwork(spec, ws2022);
  assert.is(net.Type, 'Overlay');
  assert.is(net.Flags, 8);
  assert.equal(net.Ipams![0]!.Subnets![0]!.Policies, [{ Type: 'VSID', Settings: { IsolationId: 4097 } }]);
  assert.equal(net.Policies, [{ Type: 'HostRoute', Settings: {} }]);
  assert.is(desiredNetwork(spec, ws2019rtm).Policies, undefined, 'no HostRoute before HNS 9.2');
  assert.equal(desiredNetwork({ ...spec, vxlanPort: 4790 }, ws2022).Policies!.at(-1), { Type: 'VxlanPort', Settings: { Port: 4790 } });
  assert.throws(() => desiredNetwork({ ...spec, vxlanPort: 4790 }, featuresOf({ Major: 9, Minor: 5 })), /needs HNS 10\.3/);
});

test('an existing network of our name is used only when of the same type, subnets and VNI', () => {
  const spec: NetworkSpec = { mode: 'win-overlay', name: 'vxlan0', podCIDRs: ['10.244.3.0/24'], vni: 4096, vxlanPort: 4789 };
  const net = { ...desiredNetwork(spec, ws2022), ID: 'N1' };
  checkExistingNetwork(net, spec);
  const conflict = (n: typeof net, s: NetworkSpec, re: RegExp) => {
    try {
      checkExistingNetwork(n, s);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, NodeStateError);
      assert.is((err as NodeStateError).kind, 'conflict');
      assert.match((err as Error).message, re);
      assert.match((err as Error).message, /delete it yourself once no pod uses it/);
    }
  };
  conflict(net, { ...spec, mode: 'host-gateway' }, /is of type Overlay, but mode host-gateway needs L2Bridge/);
  conflict(net, { ...spec, podCIDRs: ['10.244.4.0/24'] }, /has subnet\(s\) 10\.244\.3\.0\/24, but this node's pod subnet is 10\.244\.4\.0\/24/);
  conflict(net, { ...spec, vni: 5000 }, /has VNI 4096/);
});

test('the host endpoint holds .2 of each pod subnet', () => {
  const ep = desiredHostEndpoint('cbr0', 'N1', ['10.244.3.0/24', 'fd00:10:244:3::/64']);
  assert.equal(ep, { SchemaVersion: { Major: 2, Minor: 0 }, Name: 'cbr0_ep', HostComputeNetwork: 'N1', IpConfigurations: [{ IpAddress: '10.244.3.2', PrefixLength: 24 }, { IpAddress: 'fd00:10:244:3::2', PrefixLength: 64 }] });
  assert.ok(holdsHostAddresses(ep, ['10.244.3.0/24']));
  assert.not.ok(holdsHostAddresses({ IpConfigurations: [{ IpAddress: '10.244.3.7' }] }, ['10.244.3.0/24']));
});

test('the conflist: mode, IPAM, DNS, prefixes, node IP, exceptions; the same input gives the same bytes', () => {
  const cfg = parseAgentConfig(JSON.stringify({
    mode: 'win-overlay', network: 'vxlan0', node: 'n', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', clusterDNS: ['10.96.0.10'], clusterDomain: 'corp.local',
    noSnatCIDRs: ['10.10.0.0/16'], reservedIPs: ['10.244.3.3'], mtu: 1400, confDir: '/etc/cni/net.d', peers: { source: 'kubernetes' }, cniVersion: '1.1.0',
  }), '/etc/cni-agent.json', {}, 'linux');
  const text = renderConflist(cfg, { podCIDRs: ['10.244.3.0/24'], nodeIPs: ['192.168.10.13'] });
  assert.equal(JSON.parse(text), {
    cniVersion: '1.1.0',
    name: 'vxlan0',
    plugins: [{
      type: 'win-overlay',
      capabilities: { portMappings: true, dns: true },
      ipam: { type: 'builtin', subnet: '10.244.3.0/24', reserved: ['10.244.3.3'] },
      dns: { nameservers: ['10.96.0.10'], search: ['svc.corp.local'] },
      clusterCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      nodeIP: '192.168.10.13',
      noSnatCIDRs: ['10.10.0.0/16'],
      mtu: 1400,
    }],
  });
  assert.is(renderConflist(cfg, { podCIDRs: ['10.244.3.0/24'], nodeIPs: ['192.168.10.13'] }), text);
  const hl = renderConflist({ ...cfg, ipam: 'host-local' }, { podCIDRs: ['10.244.3.0/24', 'fd00::/64'], nodeIPs: [] });
  assert.equal(JSON.parse(hl).plugins[0].ipam, { type: 'host-local', ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00::/64' }]] });
});

const peers: Peer[] = [
  { name: 'b', nodeIPs: ['192.168.10.12'], podCIDRs: ['10.244.2.0/24'], vtepMac: '00-15-5D-D0-00-02' },
  { name: 'a', nodeIPs: ['192.168.10.11', 'fd00::11'], podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'], vtepMac: 'AE:4F:1C:22:01:9B', vni: 4096 },
  { name: 'me', nodeIPs: ['192.168.10.13'], podCIDRs: ['10.244.3.0/24'] },
  { name: 'nocidr', nodeIPs: ['192.168.10.14'], podCIDRs: [] },
  { name: 'overlap', nodeIPs: ['192.168.10.15'], podCIDRs: ['10.244.3.128/25'] },
  { name: 'twin', nodeIPs: ['192.168.10.16'], podCIDRs: ['10.244.2.0/24'], vtepMac: '02:00:00:00:00:16' },
  { name: 'vni1', nodeIPs: ['192.168.10.17'], podCIDRs: ['10.244.7.0/24'], vtepMac: '02:00:00:00:00:17', vni: 1 },
];

/** This node of the peers above: 10.244.3.0/24 and fd00:10:244:3::/64 on 192.168.10.13/24 and fd00::13/64. */
const hostGwRules: PeerRules = {
  clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/48'], serviceCIDRs: ['10.96.0.0/12'], clusterDNS: ['10.96.0.10'],
  ownPodCIDRs: ['10.244.3.0/24', 'fd00:10:244:3::/64'], ownAddresses: ['192.168.10.13', 'fd00::13', '10.244.3.2'],
  onLink: ['192.168.10.13/24', 'fd00::13/64'],
};
const overlayRules: PeerRules = { ...hostGwRules, ownPodCIDRs: ['10.244.3.0/24'], ownAddresses: ['192.168.10.13'], ownMacs: ['00:15:5d:d0:00:13'] };
delete overlayRules.onLink;

test('host-gateway routes: one per peer pod subnet via its node IP of the same family; problems instead of bad routes', () => {
  const { routes, problems } = desiredRoutes(otherPeers(peers, 'me'), hostGwRules);
  assert.equal(routes.map((r) => `${r.destinationPrefix} via ${r.nextHop} (${r.peer})`), [
    '10.244.1.0/24 via 192.168.10.11 (a)',
    'fd00:10:244:1::/64 via fd00::11 (a)',
    '10.244.7.0/24 via 192.168.10.17 (vni1)',
  ]);
  assert.equal(problems.map((p) => `${p.peer} [${p.rule}]: ${p.reason}`), [
    'nocidr [incomplete]: no pod subnet yet',
    'overlap [overlap]: pod subnet 10.244.3.128/25 overlaps this node\'s own 10.244.3.0/24',
    'b [overlap]: pod subnet 10.244.2.0/24 overlaps that of twin: neither gets it until one of them changes',
    'twin [overlap]: pod subnet 10.244.2.0/24 overlaps that of b: neither gets it until one of them changes',
  ]);
});

test('win-overlay policies: flannel\'s RemoteSubnetRoute per peer, MAC in Go\'s form; peers without MAC, on another VNI or overlapping get none', () => {
  const { policies, problems } = desiredPolicies(otherPeers(peers, 'me'), overlayRules, 4096);
  assert.equal(policies.map((p) => p.settings), [
    { DestinationPrefix: '10.244.1.0/24', IsolationId: 4096, ProviderAddress: '192.168.10.11', DistributedRouterMacAddress: 'ae:4f:1c:22:01:9b' },
  ]);
  assert.equal(problems.map((p) => `${p.peer} [${p.rule}]: ${p.reason}`), [
    'nocidr [incomplete]: no IPv4 pod subnet yet',
    'overlap [overlap]: pod subnet 10.244.3.128/25 overlaps this node\'s own 10.244.3.0/24',
    'vni1 [vni]: announces VNI 1, this node uses 4096',
    'b [overlap]: pod subnet 10.244.2.0/24 overlaps that of twin: neither gets it until one of them changes',
    'twin [overlap]: pod subnet 10.244.2.0/24 overlaps that of b: neither gets it until one of them changes',
  ]);
  assert.is(policyKey({ DestinationPrefix: '10.244.1.0/24', IsolationId: 4096, ProviderAddress: '192.168.10.11', DistributedRouterMacAddress: 'AE-4F-1C-22-01-9B' }), policyKey(policies[0]!.settings), 'keys ignore MAC spelling');
  assert.is(goMac('0E-2A-0A-F4-03-07'), '0e:2a:0a:f4:03:07');
  assert.is(goMac('0e2a.0af4.0307'), undefined);
});

test('the conflist is written readable by operators (0644) whatever the umask, and only when it changes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conflist-'));
  const old = process.umask(0o077);
  try {
    const file = path.join(dir, 'net.d', '10-cbr0.conflist');
    assert.ok(writeConflist(file, '{"name":"cbr0"}\n'));
    assert.is(fs.statSync(file).mode & 0o777, 0o644);
    assert.not.ok(writeConflist(file, '{"name":"cbr0"}\n'), 'same content: not written again');
    assert.ok(writeConflist(file, '{"name":"cbr1"}\n'));
    assert.is(fs.statSync(file).mode & 0o777, 0o644);
  } finally {
    process.umask(old);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('verdicts kept between passes: the same answer as a fresh check, a changed peer or rule checked afresh, overlaps decided over the whole list', () => {
  const cache = new PeerVerdicts();
  const list = otherPeers(peers, 'me');
  const fresh = (ps: Peer[], rules: PeerRules) => JSON.stringify(desiredRoutes(ps, rules));
  const kept = (ps: Peer[], rules: PeerRules) => JSON.stringify(desiredRoutes(ps, rules, cache));
  assert.is(kept(list, hostGwRules), fresh(list, hostGwRules));
  assert.is(kept(list, hostGwRules), fresh(list, hostGwRules), 'a second pass from the kept verdicts');
  // 'twin' moves away from b's subnet: a new object, so b's overlap goes although b's verdict is kept.
  const moved = list.map((p) => (p.name === 'twin' ? { ...p, podCIDRs: ['10.244.6.0/24'] } : p));
  assert.is(kept(moved, hostGwRules), fresh(moved, hostGwRules));
  assert.ok(desiredRoutes(moved, hostGwRules, cache).routes.some((r) => r.peer === 'b'), 'b gets its route once twin no longer overlaps');
  // A rule change (the service CIDR now covers 10.244.1.0/24) reaches the kept peers too.
  const narrower: PeerRules = { ...hostGwRules, serviceCIDRs: ['10.244.1.0/24'] };
  assert.is(kept(moved, narrower), fresh(moved, narrower));
  assert.not.ok(desiredRoutes(moved, narrower, cache).routes.some((r) => r.destinationPrefix === '10.244.1.0/24'));
  // Routes and policies from one cache never mix.
  assert.is(JSON.stringify(desiredPolicies(moved, overlayRules, 4096, cache)), JSON.stringify(desiredPolicies(moved, overlayRules, 4096)));
});

test.run();
