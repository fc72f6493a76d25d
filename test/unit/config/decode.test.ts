// Decoding confs as the Go plugins and runtimes do (shared/schema/decode.ts, driven by the
// schemas through scripts/shapes.mjs): what go-cni sends and what published confs spell.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalize, describeNote } from '../../../shared/schema/decode';
import { nodes, roots } from '../../../shared/schema/shapes.generated';
import { buildShapes } from '../../../scripts/shapes.mjs';

const decode = (conf: Record<string, unknown>, id: keyof typeof roots = 'conf-l2bridge') => canonicalize(conf, nodes, roots[id]);
const base = { cniVersion: '1.0.0', name: 'cbr0', type: 'win-l2bridge' };

test("go-cni's runtimeConfig (Go field names, null Options) reads as the lower-case one", () => {
  const { conf, notes } = decode({
    ...base,
    runtimeConfig: {
      portMappings: [{ HostPort: 30001, ContainerPort: 80, Protocol: 'TCP', HostIP: '' }],
      dns: { Servers: ['10.96.0.10'], Searches: ['svc.cluster.local'], Options: null },
    },
  });
  assert.equal(conf.runtimeConfig, {
    portMappings: [{ hostPort: 30001, containerPort: 80, protocol: 'TCP', hostIP: '' }],
    dns: { servers: ['10.96.0.10'], searches: ['svc.cluster.local'] },
  });
  assert.equal(notes, []);
});

test('published spellings: Policies/Name/Value, v1 keys, SDNROUTE, lower-case settings, dns Nameservers', () => {
  const { conf } = decode({
    ...base,
    Policies: [
      { Name: 'EndpointPolicy', Value: { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16'] } },
      { name: 'EndpointPolicy', value: { type: 'SDNROUTE', settings: { destinationPrefix: '10.96.0.0/12', needEncap: true } } },
      { Name: 'EndpointPolicy', Value: { Type: 'ROUTE', DestinationPrefix: '192.168.10.21/32', NeedEncap: true } },
      { name: 'EndpointPolicy', value: { type: 'outboundnat', settings: { exceptions: ['10.96.0.0/12'] } } },
    ],
    dns: { Nameservers: ['10.96.0.10'], Search: ['svc.cluster.local'] },
    ApiVersion: 2,
  });
  assert.equal(conf.policies, [
    { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16'] } },
    { name: 'EndpointPolicy', value: { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } },
    { name: 'EndpointPolicy', value: { Type: 'ROUTE', DestinationPrefix: '192.168.10.21/32', NeedEncap: true } },
    { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.96.0.0/12'] } } },
  ]);
  assert.equal(conf.dns, { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] });
  assert.is(conf.apiVersion, 2);
});

test('AdditionalArgs keep their own spelling (Name/Value); HcnPolicyArgs folds to hcnPolicyArgs', () => {
  const { conf } = decode({
    ...base,
    additionalArgs: [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['1.2.3.0/24'] } } }],
    HcnPolicyArgs: [{ type: 'sdnroute', settings: { DESTINATIONPREFIX: '10.96.0.0/12' } }],
  });
  assert.equal(conf.AdditionalArgs, [{ Name: 'EndpointPolicy', Value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['1.2.3.0/24'] } } }]);
  assert.equal(conf.hcnPolicyArgs, [{ Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12' } }]);
});

test('ipam: a delegated IPAM keeps its keys untouched and unreported; typeless and builtin ipam fold theirs', () => {
  const delegated = decode({ ...base, ipam: { type: 'host-local', Subnet: '10.244.3.0/24', dataDir: '/x' } });
  assert.equal(delegated.conf.ipam, { type: 'host-local', Subnet: '10.244.3.0/24', dataDir: '/x' });
  assert.equal(delegated.notes, []);
  const typeless = decode({ ...base, ipam: { Subnet: '10.244.3.0/24', Routes: [{ GW: '10.244.3.2' }], environment: 'azure' } });
  assert.equal(typeless.conf.ipam, { subnet: '10.244.3.0/24', routes: [{ gw: '10.244.3.2' }], environment: 'azure' });
  assert.equal(typeless.notes.map(describeNote), ['unknown key "ipam.environment" in the network configuration is ignored (check its spelling)']);
  const builtin = decode({ ...base, ipam: { Type: 'Builtin', Subnet: '10.244.3.0/24', Reserved: ['10.244.3.3'] } });
  assert.equal(builtin.conf.ipam, { type: 'builtin', subnet: '10.244.3.0/24', reserved: ['10.244.3.3'] });
});

test('an exact key wins over a folded one, and the duplicate is reported', () => {
  const { conf, notes } = decode({ ...base, Policies: [{ Type: 'ACL', Settings: { Action: 'Allow', Direction: 'In' } }], policies: [] });
  assert.equal(conf.policies, []);
  assert.equal(notes.map((n) => [n.kind, n.key]), [['duplicate', 'Policies']]);
});

test('null is absent, at every level (Go leaves the field unset)', () => {
  const { conf } = decode({ ...base, dns: null, ipMasq: null, runtimeConfig: { portMappings: null } });
  assert.equal(conf, { ...base, runtimeConfig: {} });
});

test('null stays where the schema gives it a meaning: GC\'s valid-attachments null is "keep nothing"', () => {
  const { conf } = decode({ ...base, 'cni.dev/valid-attachments': null, 'cni.dev/attachments': null });
  assert.equal(conf, { ...base, 'cni.dev/valid-attachments': null, 'cni.dev/attachments': null });
});

test('unknown keys are reported with their path; keys accepted and ignored say why', () => {
  const { notes } = decode({ ...base, master: 'Ethernet', capabilites: { dns: true }, optionalFlags: { localRoutedPortMapping: true, bogus: 1 } });
  assert.equal(notes.map((n) => [n.kind, n.key]), [['ignored', 'master'], ['unknown', 'capabilites'], ['unknown', 'optionalFlags.bogus']]);
  assert.match(describeNote(notes[0]!), 'adapter');
});

test('__proto__ and constructor are keys like any other: unknown, reported, never resolved through the prototype', () => {
  const conf = JSON.parse('{"cniVersion":"1.0.0","name":"cbr0","type":"win-l2bridge","__proto__":{"mtu":1},"constructor":1,"ipam":{"type":"builtin","subnet":"10.1.0.0/24","toString":2}}') as Record<string, unknown>;
  const { conf: out, notes } = decode(conf);
  assert.equal(notes.map(describeNote), [
    'unknown key "__proto__" in the network configuration is ignored (check its spelling)',
    'unknown key "constructor" in the network configuration is ignored (check its spelling)',
    'unknown key "ipam.toString" in the network configuration is ignored (check its spelling)',
  ]);
  assert.is(Object.getPrototypeOf(out), Object.prototype, 'the prototype of the decoded conf is untouched');
  assert.ok(Object.hasOwn(out, '__proto__'), '__proto__ stays an own key');
  assert.is((out as { mtu?: number }).mtu, undefined);
});

test('capabilities {portMappings, dns} as the docs write them: no warning', () => {
  assert.equal(decode({ ...base, capabilities: { portMappings: true, dns: true, bandwidth: true } }).notes, []);
});

test('mode keys fold in their own mode only', () => {
  assert.equal(decode({ ...base, EndpointMacPrefix: '0E-2A' }, 'conf-overlay').conf.endpointMacPrefix, '0E-2A');
  assert.equal(decode({ ...base, ClusterCIDR: '10.244.0.0/16' }, 'conf-host-gateway').conf.clusterCIDR, '10.244.0.0/16');
  assert.equal(decode({ ...base, EndpointMacPrefix: '0E-2A' }).notes.map((n) => n.kind), ['unknown']);
});

test('the shape builder refuses schemas a case-insensitive decoder could not read', () => {
  const schema = { $id: 'conf-x', type: 'object', properties: { mtu: { type: 'integer' }, MTU: { type: 'integer' } } };
  assert.throws(() => buildShapes([schema], ['conf-x']), /differ only in case/);
});

test.run();
