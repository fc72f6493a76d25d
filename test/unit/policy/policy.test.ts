// The policy rules, one by one: raw policies in every upstream shape, host-port mappings, and
// the endpoint plan's gates (HNS version, IPv6 on overlay, the gateway handed out by an IPAM).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rawEndpointPolicies } from '../../../shared/policy/raw';
import { canonicalize } from '../../../shared/schema/decode';
import { nodes, roots } from '../../../shared/schema/shapes.generated';
import { portMappingPolicies, protocolNumber } from '../../../shared/policy/port-mapping';
import { endpointPolicies, natExceptions, type PolicyInput } from '../../../shared/policy/derive';
import { planEndpoint } from '../../../shared/plugin/endpoint';
import { featuresOf } from '../../../shared/hns/features';
import { parseCidr } from '../../../shared/net/ip';
import { CniError } from '../../../shared/cni/errors';
import type { NetConf, OverlayConf } from '../../../shared/config/types';
import type { HostComputeNetwork } from '../../../shared/hns/model/network';
import { mode as l2bridge } from '../../../plugins/win-l2bridge/plugin';
import { mode as overlay, overlayMac } from '../../../plugins/win-overlay/plugin';

/** A conf as the plugins see it: decoded (keys folded as Go folds them) before anything reads it. */
const conf = (extra: Record<string, unknown> = {}): NetConf => canonicalize({ name: 'cbr0', type: 'win-l2bridge', ...extra }, nodes, roots['conf-l2bridge']).conf as unknown as NetConf;

function throwsCode(fn: () => unknown, code: number, needle: string) {
  try {
    fn();
    assert.unreachable('no error');
  } catch (err) {
    assert.instance(err, CniError, String(err));
    assert.is((err as CniError).code, code, (err as Error).message);
    assert.match((err as Error).message, needle);
  }
}

async function rejectsCode(p: Promise<unknown>, code: number, needle: string) {
  try {
    await p;
    assert.unreachable('no error');
  } catch (err) {
    assert.instance(err, CniError, String(err));
    assert.is((err as CniError).code, code, (err as Error).message);
    assert.match((err as Error).message, needle);
  }
}

test('raw policies: v1 flat shapes become HCN v2, in conf order', () => {
  const { policies } = rawEndpointPolicies(conf({
    policies: [
      { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['10.0.0.0/8'], VIP: '192.168.1.10' } },
      { name: 'EndpointPolicy', value: { Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
      { name: 'EndpointPolicy', value: { Type: 'PA', PA: '192.168.1.10' } },
      { name: 'EndpointPolicy', value: { Type: 'NAT', InternalPort: 80, ExternalPort: 8080, Protocol: 'TCP' } },
      { name: 'EndpointPolicy', value: { Type: 'ACL', Protocol: 6, Action: 'Allow', Direction: 'In', LocalPort: '80', Priority: 100 } },
    ],
  }));
  assert.equal(policies, [
    { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'], VirtualIP: '192.168.1.10' } },
    { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
    { Type: 'ProviderAddress', Settings: { ProviderAddress: '192.168.1.10' } },
    { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6 } },
    { Type: 'ACL', Settings: { Protocols: '6', Action: 'Allow', Direction: 'In', LocalPorts: '80', Priority: 100 } },
  ]);
});

test('raw policies: Name/Value casing, bare v2 policies, hcnPolicyArgs and AdditionalArgs; other names are skipped', () => {
  const r = rawEndpointPolicies(conf({
    policies: [{ Name: 'EndpointPolicy', Value: { Type: 'QOS', Settings: { MaximumOutgoingBandwidthInBytes: 1000 } } }, { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.1.0.0/16' } }, { name: 'NetworkPolicy', value: { Type: 'VSID' } }],
    hcnPolicyArgs: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.2.0.0/16'] } }],
    AdditionalArgs: [{ Name: 'EndpointPolicy', Value: { Type: 'ACL', Settings: { Action: 'Block', Direction: 'Out' } } }],
  }));
  assert.equal(r.policies.map((p) => p.Type), ['QOS', 'SDNRoute', 'OutBoundNAT', 'ACL']);
  assert.equal(r.skipped, ['policies[2] (NetworkPolicy)']);
});

test('raw policies: an unknown type is code 2 naming it; bad settings are code 7 naming the key', () => {
  throwsCode(() => rawEndpointPolicies(conf({ policies: [{ name: 'EndpointPolicy', value: { Type: 'Teleport', Settings: {} } }] })), 2, '"Teleport"');
  throwsCode(() => rawEndpointPolicies(conf({ policies: [{ name: 'EndpointPolicy', value: { Type: 'ELB', VIPs: [] } }] })), 2, 'ELB');
  throwsCode(() => rawEndpointPolicies(conf({ hcnPolicyArgs: [{ Type: 'PortMapping', Settings: { InternalPort: 70000 } }] })), 7, 'Settings.InternalPort');
  throwsCode(() => rawEndpointPolicies(conf({ policies: [{ Type: 'ACL', Settings: { Action: 'Allow' } }] })), 7, 'Direction');
});

test('port mappings: tcp/udp in any case or by number; others are code 2 naming the protocol', () => {
  assert.is(protocolNumber('tcp', 'x'), 6);
  assert.is(protocolNumber('UDP', 'x'), 17);
  assert.is(protocolNumber('17', 'x'), 17);
  for (const p of ['sctp', 'icmp', 'xyz']) throwsCode(() => protocolNumber(p, 'runtimeConfig.portMappings[0].protocol'), 2, p);
});

test('port mappings: LocalRoutedVip on L2Bridge, the IPv6 twin for dual-stack, hostIP as the VIP of its family', () => {
  const m = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 53, containerPort: 53, protocol: 'udp', hostIP: '192.168.10.21' }, { hostPort: 9090, containerPort: 90, hostIP: 'fd00::21' }];
  assert.equal(portMappingPolicies(m, { localRoutedVip: true, ipv6: true }), [
    { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '', Flags: 1 } },
    { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '', Flags: 3 } },
    { Type: 'PortMapping', Settings: { InternalPort: 53, ExternalPort: 53, Protocol: 17, VIP: '192.168.10.21', Flags: 1 } },
    { Type: 'PortMapping', Settings: { InternalPort: 90, ExternalPort: 9090, Protocol: 6, VIP: 'fd00::21', Flags: 3 } },
  ]);
  assert.equal(portMappingPolicies([m[0]!], { localRoutedVip: false, ipv6: false }), [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '', Flags: 0 } }]);
  throwsCode(() => portMappingPolicies([m[0]!, m[0]!], { localRoutedVip: true, ipv6: false }), 7, 'mapped twice');
  throwsCode(() => portMappingPolicies([{ hostPort: 1, containerPort: 1, hostIP: 'host.local' }], { localRoutedVip: true, ipv6: false }), 7, 'hostIP');
});

const input = (c: NetConf, addrs: string[], extra: Partial<PolicyInput> = {}): PolicyInput => ({
  conf: c, podAddresses: addrs.map((a) => parseCidr(a)!), modeExceptions: [], nodeIpRoute: true, localRoutedVip: true, loopbackDsr: false, raw: [], portMappings: c.runtimeConfig?.portMappings ?? [], ...extra,
});

test('NAT exceptions: per family, nodeSubnet over nodeIP/32, in a fixed order, without duplicates', () => {
  const c = conf({ clusterCIDR: ['10.244.0.0/16', 'fd00:10:244::/56'], serviceCIDR: '10.96.0.0/12', nodeIP: ['192.168.10.21', 'fd00::21'], ipMasqNetwork: '10.244.0.0/16', noSnatCIDRs: ['172.16.0.0/12'] });
  assert.equal(natExceptions(input(c, []), 4), ['10.244.0.0/16', '10.96.0.0/12', '192.168.10.21/32', '172.16.0.0/12']);
  assert.equal(natExceptions(input(c, []), 6), ['fd00:10:244::/56', 'fd00::21/128']);
  assert.equal(natExceptions(input({ ...c, nodeSubnet: '192.168.10.0/24' }, []), 4), ['10.244.0.0/16', '10.96.0.0/12', '192.168.10.0/24', '172.16.0.0/12']);
});

test('OutBoundNAT: none without keys, none with snat false, merged into the operator\'s', () => {
  assert.equal(endpointPolicies(input(conf(), ['10.244.3.5/24'])), []);
  assert.equal(endpointPolicies(input(conf({ clusterCIDR: '10.244.0.0/16', snat: false }), ['10.244.3.5/24'])), []);
  // ipMasq alone: the pod's own subnet is still in-cluster (exempt by default).
  assert.equal(endpointPolicies(input(conf({ ipMasq: true }), ['10.244.3.5/24'])), [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.3.0/24'] } }]);
  assert.equal(endpointPolicies(input(conf({ ipMasq: true, snatDefaultExceptions: false }), ['10.244.3.5/24'])), [{ Type: 'OutBoundNAT', Settings: { Exceptions: [] } }]);
  const merged = endpointPolicies(input(conf({ clusterCIDR: '10.244.0.0/16' }), ['10.244.3.5/24'], { raw: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } }] }));
  assert.equal(merged, [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '10.244.0.0/16'] } }]);
});

test('SDNRoute for services and (bridged modes) the node; a raw duplicate is not sent twice', () => {
  const c = conf({ serviceCIDR: '10.96.0.0/12', nodeIP: '192.168.10.21' });
  const raw = [{ Type: 'SDNRoute' as const, Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } }];
  // The operator's policies first, then the derived ones; the derived copy of the raw route is dropped.
  assert.equal(endpointPolicies(input(c, ['10.244.3.5/24'], { raw })), [
    { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
    { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12', '192.168.10.21/32', '10.244.3.0/24'] } },
    { Type: 'SDNRoute', Settings: { DestinationPrefix: '192.168.10.21/32', NeedEncap: true } },
  ]);
  assert.equal(endpointPolicies(input(c, ['10.244.3.5/24'], { nodeIpRoute: false })).filter((p) => p.Type === 'SDNRoute').length, 1);
});

test('SNAT port pool: typed VirtualIP and MaxPortPoolUsage per family; private DNS servers and the pod subnet exempt unless covered; public DNS stays SNATed', () => {
  const warnings: string[] = [];
  const c = conf({ clusterCIDR: ['10.200.0.0/16', 'fd00:10:200::/56'], snatVirtualIP: ['192.168.10.50', 'fd00::50'], snatMaxPortPoolUsage: 256 });
  const out = endpointPolicies(input(c, ['10.244.3.5/24', 'fd00:10:244:3::5/64'], { dnsServers: ['10.96.0.10', '8.8.8.8', 'fd00:10:96::a'], warnings }));
  assert.equal(out, [
    { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.200.0.0/16', '10.244.3.0/24', '10.96.0.10/32'], VirtualIP: '192.168.10.50', MaxPortPoolUsage: 256 } },
    { Type: 'OutBoundNAT', Settings: { Exceptions: ['fd00:10:200::/56', 'fd00:10:244:3::/64', 'fd00:10:96::a/128'], Flags: 2, VirtualIP: 'fd00::50', MaxPortPoolUsage: 256 } },
  ]);
  assert.ok(warnings.some((w) => w.includes('10.96.0.10/32 (the DNS server) is exempt from SNAT by default')), warnings.join('\n'));
  assert.ok(!warnings.some((w) => w.includes('8.8.8.8')), 'a public resolver is neither exempt nor mentioned');
  // Covered already (the service CIDR holds the DNS IP, the cluster CIDR the pod subnet): nothing added, nothing said.
  const quiet: string[] = [];
  const covered = endpointPolicies(input(conf({ clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12' }), ['10.244.3.5/24'], { dnsServers: ['10.96.0.10'], warnings: quiet, nodeIpRoute: false }));
  assert.equal(covered.find((p) => p.Type === 'OutBoundNAT')!.Settings, { Exceptions: ['10.244.0.0/16', '10.96.0.0/12'] });
  assert.equal(quiet, []);
  // The keys go onto the operator's own OutBoundNAT; a contradiction is refused (7) naming both.
  const raw = [{ Type: 'OutBoundNAT' as const, Settings: { Exceptions: ['10.0.0.0/8'], VirtualIP: '192.168.10.9' } }];
  throwsCode(() => endpointPolicies(input(conf({ snatVirtualIP: '192.168.10.50' }), ['10.244.3.5/24'], { raw })), 7, 'contradicts the OutBoundNAT policy\'s VirtualIP (192.168.10.9)');
  assert.equal(endpointPolicies(input(conf({ snatMaxPortPoolUsage: 64 }), ['10.244.3.5/24'], { raw })), [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'], VirtualIP: '192.168.10.9', MaxPortPoolUsage: 64 } }]);
  // Asked for with nothing to apply them to: said, not dropped in silence.
  const unused: string[] = [];
  endpointPolicies(input(conf({ snatMaxPortPoolUsage: 64 }), ['10.244.3.5/24'], { warnings: unused }));
  endpointPolicies(input(conf({ snat: false, snatVirtualIP: '192.168.10.50' }), ['10.244.3.5/24'], { warnings: unused }));
  assert.equal(unused.length, 2);
  assert.match(unused[0]!, 'snatMaxPortPoolUsage not applied: nothing asks for SNAT');
  assert.match(unused[1]!, 'snatVirtualIP ignored: "snat" is false');
});

const L2NET: HostComputeNetwork = { Name: 'cbr0', Type: 'L2Bridge', Ipams: [{ Subnets: [{ IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }] }, { IpAddressPrefix: 'fd00:10:244:3::/64' }] }] };
const OVNET: HostComputeNetwork = { Name: 'vxlan0', Type: 'Overlay', Ipams: [{ Subnets: [{ IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }] }] }], Policies: [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.0.2.10' } }] };
const features = (major: number, minor: number) => async () => featuresOf({ Major: major, Minor: minor });

test('dual-stack needs HNS 11.10: refused with code 107 naming the version', async () => {
  const plan = (v: [number, number]) => planEndpoint({ mode: l2bridge, conf: conf(), net: L2NET, addresses: ['10.244.3.5/24', 'fd00:10:244:3::5/64'], features: features(...v) });
  await rejectsCode(plan([11, 0]), 107, 'HNS 11.10');
  const ok = await plan([11, 10]);
  assert.equal(ok.addresses.map((a) => a.gateway), ['10.244.3.2', 'fd00:10:244:3::2']);
});

test('loopbackDSR needs DSR support (9.3-9.x or 10.2+): refused with code 107 otherwise', async () => {
  const plan = (v: [number, number]) => planEndpoint({ mode: l2bridge, conf: conf({ loopbackDSR: true }), net: L2NET, addresses: ['10.244.3.5/24'], features: features(...v) });
  await rejectsCode(plan([10, 1]), 107, 'loopbackDSR');
  for (const v of [[9, 3], [10, 2], [15, 4]] as [number, number][]) {
    const p = await plan(v);
    assert.ok(p.policies.some((x) => x.Type === 'OutBoundNAT' && x.Settings?.Destinations?.[0] === '10.244.3.5'), String(v));
  }
});

test('the HNS version is asked only when a gate matters', async () => {
  let asked = 0;
  await planEndpoint({ mode: l2bridge, conf: conf(), net: L2NET, addresses: ['10.244.3.5/24'], features: async () => { asked++; return featuresOf({ Major: 15, Minor: 4 }); } });
  assert.is(asked, 0);
});

test('overlay: IPv6 from the IPAM is code 2; gateway, MAC and provider address come from the network', async () => {
  const c: OverlayConf = { name: 'vxlan0', type: 'win-overlay' };
  await rejectsCode(planEndpoint({ mode: overlay, conf: c, net: OVNET, addresses: ['10.244.3.5/24', 'fd00::5/64'], features: features(15, 4) }), 2, 'does not support IPv6');
  const p = await planEndpoint({ mode: overlay, conf: c, net: OVNET, addresses: ['10.244.3.7/24'], features: features(15, 4) });
  assert.is(p.addresses[0]!.gateway, '10.244.3.1');
  assert.is(p.request.MacAddress, '0E-2A-0A-F4-03-07');
  assert.equal(p.policies, [{ Type: 'ProviderAddress', Settings: { ProviderAddress: '192.0.2.10' } }]);
  assert.is(p.mtu, 1450);
  assert.is(overlayMac('aa-bb', parseCidr('192.168.1.255/24')!), 'AA-BB-C0-A8-01-FF');
  // No ProviderAddress on the network (not up yet) and none in the conf: the network is not usable (101), not a conf error.
  await rejectsCode(planEndpoint({ mode: overlay, conf: c, net: { ...OVNET, Policies: [] }, addresses: ['10.244.3.7/24'], features: features(15, 4) }), 101, 'provider address');
});

test('an IPAM that hands out the pods\' gateway, or an address outside the network, is refused before anything is made', async () => {
  await rejectsCode(planEndpoint({ mode: l2bridge, conf: conf(), net: L2NET, addresses: ['10.244.3.2/24'], features: features(15, 4) }), 105, '10.244.3.2');
  await rejectsCode(planEndpoint({ mode: l2bridge, conf: conf(), net: L2NET, addresses: ['10.9.0.5/24'], features: features(15, 4) }), 7, 'outside HNS network');
  await rejectsCode(planEndpoint({ mode: l2bridge, conf: conf(), net: L2NET, addresses: ['10.244.3.5/24', '10.244.3.6/24'], features: features(15, 4) }), 103, 'more than one IPv4');
});

test('DNS: each runtime list replaces the conf\'s; the rest of the conf stays', async () => {
  const c = conf({ dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'], domain: 'cluster.local', options: ['ndots:3'] }, runtimeConfig: { dns: { searches: ['ns1.svc.cluster.local'] } } });
  const p = await planEndpoint({ mode: l2bridge, conf: c, net: L2NET, addresses: ['10.244.3.5/24'], features: features(15, 4) });
  assert.equal(p.dns, { nameservers: ['10.96.0.10'], search: ['ns1.svc.cluster.local'], domain: 'cluster.local', options: ['ndots:3'] });
  assert.equal(p.request.Dns, { ServerList: ['10.96.0.10'], Search: ['ns1.svc.cluster.local'], Domain: 'cluster.local', Options: ['ndots:3'] });
});

test.run();
