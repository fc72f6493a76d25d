// What an ADD of an example conflist must have produced, checked the same way on the Linux
// executables (test/exec) and on the .exe files under Wine (test/windows): the result in the
// request's format, and the HCN documents the emulator received.

import * as assert from 'uvu/assert';
import type { CallRecord } from '../../shared/hns/backends/emulator/calllog';
import type { ExampleExpectation } from '../exec/expectations';

function family(v: string): '020' | '040' | '100' {
  return v.startsWith('0.1') || v.startsWith('0.2') ? '020' : v.startsWith('1.') ? '100' : '040';
}

const defaultRoute = (g: string) => (g.includes(':') ? '::/0' : '0.0.0.0/0');

export function assertResult(r: any, v: string, want: ExampleExpectation, netns: string): void {
  assert.ok(r, 'ADD printed a result');
  assert.is(r.cniVersion, v);
  const f = family(v);
  if (f === '020') {
    assert.equal(Object.keys(r).sort(), ['cniVersion', 'dns', ...(want.addresses.some((a) => a.includes(':')) ? ['ip4', 'ip6'] : ['ip4'])].sort());
    assert.is(r.ip4.ip, want.addresses[0]);
    assert.is(r.ip4.gateway, want.gateways[0]);
    assert.equal(r.ip4.routes[0], { dst: '0.0.0.0/0', gw: want.gateways[0] });
    if (want.addresses[1]) assert.is(r.ip6.ip, want.addresses[1]);
    return;
  }
  assert.is(r.interfaces.length, 1);
  assert.is(r.interfaces[0].name, 'eth0');
  assert.is(r.interfaces[0].sandbox, netns);
  assert.match(r.interfaces[0].mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  if (want.mac) assert.is(r.interfaces[0].mac, want.mac.toLowerCase().replace(/-/g, ':'));
  if (v === '1.1.0' && want.mtu) assert.is(r.interfaces[0].mtu, want.mtu);
  else assert.not.ok('mtu' in r.interfaces[0], 'mtu only in 1.1.0 results');
  assert.equal(r.ips.map((i: any) => i.address), want.addresses);
  assert.equal(r.ips.map((i: any) => i.gateway), want.gateways);
  for (const ip of r.ips) {
    assert.is(ip.interface, 0);
    if (f === '040') assert.is(ip.version, ip.address.includes(':') ? '6' : '4');
    else assert.not.ok('version' in ip);
  }
  assert.equal(r.routes.slice(0, want.gateways.length), want.gateways.map((g) => ({ dst: defaultRoute(g), gw: g })));
}

/** The endpoint created for `endpointName` and the namespace Add request; returns both calls. */
export function assertEndpointDocuments(calls: CallRecord[], endpointName: string, want: ExampleExpectation, netns: string): { create: CallRecord; attach: CallRecord } {
  const create = calls.find((c) => c.op === 'CreateEndpoint' && c.hr === '0x00000000');
  assert.ok(create, 'an endpoint was created');
  const doc = create!.doc as any;
  assert.is(doc.Name, endpointName);
  assert.equal(doc.SchemaVersion, { Major: 2, Minor: 0 });
  assert.equal(doc.IpConfigurations, want.addresses.map((a) => ({ IpAddress: a.split('/')[0], PrefixLength: Number(a.split('/')[1]) })));
  assert.equal(doc.Routes.slice(0, want.gateways.length), want.gateways.map((g) => ({ DestinationPrefix: defaultRoute(g), NextHop: g })));
  assert.equal(doc.Policies ?? [], want.policies);
  assert.equal(doc.Dns, want.dns);
  assert.is(doc.MacAddress, want.mac);
  const attach = calls.find((c) => c.op === 'ModifyNamespace');
  assert.ok(attach, 'the endpoint was added to the namespace');
  assert.is(attach!.id?.toLowerCase(), netns.toLowerCase(), 'the namespace the service was asked to change is CNI_NETNS');
  assert.equal(attach!.doc, { ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: create!.id } });
  return { create: create!, attach: attach! };
}
