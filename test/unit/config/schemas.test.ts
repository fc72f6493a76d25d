import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConf } from '../../../shared/config/load';
import { rawEndpointPolicies } from '../../../shared/policy/raw';
import { canonicalize } from '../../../shared/schema/decode';
import { nodes, roots } from '../../../shared/schema/shapes.generated';
import { CniError } from '../../../shared/cni/errors';
import { validate as l2bridge } from '../../../shared/config/l2bridge.validator';
import { validate as hostGateway } from '../../../shared/config/host-gateway.validator';
import { validate as l3Upstream } from '../../../shared/config/l3-upstream.validator';
import { validate as overlay } from '../../../shared/config/overlay.validator';
import type { Validator } from '../../../shared/schema/validator';

const base = { cniVersion: '1.1.0', name: 'cbr0', type: 'win-l2bridge', ipam: { type: 'host-local', subnet: '10.244.3.0/24' } };
const withCluster = { ...base, clusterCIDR: '10.244.0.0/16' };

const SCHEMA_OF = new Map<Validator, keyof typeof roots>([[l2bridge, 'conf-l2bridge'], [hostGateway, 'conf-host-gateway'], [l3Upstream, 'conf-l3-upstream'], [overlay, 'conf-overlay']]);

/** The conf as the plugin sees it: decoded as Go decodes it (shared/schema/decode.ts), then checked. */
function decoded(validate: Validator, conf: Record<string, unknown>): Record<string, unknown> {
  return canonicalize(conf, nodes, roots[SCHEMA_OF.get(validate)!]).conf;
}

function accepts(validate: Validator, conf: Record<string, unknown>) {
  const c = decoded(validate, conf);
  assert.ok(validate(c), JSON.stringify(validate.errors));
}

function rejects(validate: Validator, conf: Record<string, unknown>, code: number, ...needles: string[]) {
  try {
    checkConf(decoded(validate, conf), validate, 'win-l2bridge');
    assert.unreachable(`accepted ${JSON.stringify(conf)}`);
  } catch (err) {
    assert.instance(err, CniError);
    const e = err as CniError;
    assert.is(e.code, code, `${e.message} (${e.details})`);
    for (const n of needles) assert.ok(`${e.message} ${e.details ?? ''}`.includes(n), `"${n}" in "${e.message}"`);
  }
}

test('a minimal conf passes every mode, with or without the cluster prefix', () => {
  for (const v of [l2bridge, overlay, hostGateway, l3Upstream]) {
    accepts(v, base);
    accepts(v, withCluster);
  }
});

test('unknown keys are allowed (runtimes and other plugins add their own), and reported', () => {
  const conf = { ...base, foo: { x: 1 }, args: { cni: { labels: [] } }, runtimeConfig: { bandwidth: {} } };
  accepts(l2bridge, conf);
  assert.equal(canonicalize(conf, nodes, roots['conf-l2bridge']).notes.map((n) => n.key), ['foo', 'runtimeConfig.bandwidth']);
});

test('wrong JSON types are code 7 naming the key and the value', () => {
  rejects(l2bridge, { ...base, mtu: 'big' }, 7, 'mtu', '"big"');
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify would show as null.
  rejects(l2bridge, JSON.parse(`{"cniVersion":"1.0.0","name":"cbr0","type":"win-l2bridge","mtu":1e400}`) as Record<string, unknown>, 7, 'key "mtu" is out of range: the number is too large');
  rejects(l2bridge, { ...base, loopbackDSR: 'yes' }, 7, 'loopbackDSR');
  rejects(l2bridge, { ...base, dns: { nameservers: '10.96.0.10' } }, 7, 'dns.nameservers');
});

test('bad addresses and prefixes are code 7 saying what form is expected', () => {
  rejects(l2bridge, { ...base, clusterCIDR: '10.244.0.0/33' }, 7, 'clusterCIDR');
  rejects(l2bridge, { ...base, serviceCIDR: '10.96.0.1/12' }, 7, 'serviceCIDR');
  rejects(l2bridge, { ...base, nodeIP: '192.168.1.300' }, 7, 'nodeIP');
  rejects(l2bridge, { ...base, ipMasqNetwork: '10.0.0.010/8' }, 7, 'ipMasqNetwork', 'host bits zero');
  rejects(l2bridge, { ...base, dns: { nameservers: ['dns.example'] } }, 7, 'dns.nameservers[0]', 'an IP address');
  rejects(overlay, { ...base, gateway: 'fd00::1' }, 7, 'gateway', 'IPv4');
});

test('out-of-range numbers are code 7', () => {
  rejects(l2bridge, { ...base, mtu: 100 }, 7, 'mtu');
  rejects(l2bridge, { ...base, runtimeConfig: { portMappings: [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' }] } }, 7, 'runtimeConfig.portMappings[0].hostPort');
  rejects(l2bridge, { ...base, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 0 }] } }, 7, 'containerPort');
});

test('an unknown policy Type is code 2 naming the key and the value (the conf, then its policies, as the plugin reads them)', () => {
  rejects(l2bridge, { ...base, policies: [{ name: 'EndpointPolicy', value: { Type: 'Frobnicate', Settings: {} } }] }, 2, 'policies[0].value.Type', 'Frobnicate');
  try {
    rawEndpointPolicies(checkConf(decoded(l2bridge, { ...base, hcnPolicyArgs: [{ Type: 'Frobnicate', Settings: {} }] }), l2bridge, 'win-l2bridge'));
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, CniError);
    assert.is((err as CniError).code, 2);
    assert.match((err as CniError).message, 'hcnPolicyArgs[0]');
    assert.match((err as CniError).message, 'Frobnicate');
  }
});

test('IPv6 keys on overlay are code 2: the mode does not support them', () => {
  rejects(overlay, { ...base, gateway6: 'fd00::2' }, 2, 'gateway6', 'win-l2bridge');
});

test('ipam.type must be a plain plugin name: no path separators, no ..', () => {
  for (const type of ['..\\x', '../x', 'a/b', 'a\\b', '', '.hidden']) rejects(l2bridge, { ...base, ipam: { type } }, 7, 'ipam.type');
});

test('the built-in allocator needs a subnet or ranges, in network form', () => {
  rejects(l2bridge, { ...base, ipam: { type: 'builtin' } }, 7, 'ipam');
  rejects(l2bridge, { ...base, ipam: { type: 'builtin', subnet: '10.244.3.5/24' } }, 7, 'ipam.subnet');
  accepts(l2bridge, { ...base, ipam: { type: 'builtin', subnet: '10.244.3.0/24', reserved: ['10.244.3.3'] } });
  accepts(l2bridge, { ...base, ipam: { type: 'builtin', ranges: [[{ subnet: '10.244.3.0/24' }], [{ subnet: 'fd00:10:244:3::/64' }]] } });
});

test('upstream policies in both shapes are accepted, Name/Value in any case', () => {
  const policies = [
    { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } } },
    { Name: 'EndpointPolicy', Value: { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16'] } },
    { Type: 'SDNRoute', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
  ];
  accepts(l2bridge, { ...base, policies });
  rejects(l2bridge, { ...base, policies: [{ name: 'EndpointPolicy' }] }, 7, 'policies[0]');
});

test('the missing name and type are code 7', () => {
  const { name: _n, ...noName } = base;
  rejects(l2bridge, noName, 7, 'name');
  const { type: _t, ...noType } = base;
  rejects(l2bridge, noType, 7, 'type');
});

test.run();
