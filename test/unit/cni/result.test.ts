import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { convertResult, fromInternal, parseResult } from '../../../shared/cni/result/convert';
import type { Result100 } from '../../../shared/cni/result/v100';
import { CniError } from '../../../shared/cni/errors';
import { SUPPORTED_VERSIONS } from '../../../shared/cni/versions';

const netns = '9F3C0A52-6F4E-4D7B-9A51-3C2E7D1B8A10';

/** A dual-stack 1.1.0 result carrying every 1.1.0-only field. */
const full: Result100 = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: '00:15:5d:0a:0b:0c', mtu: 1450, sandbox: netns, socketPath: '/x', pciID: '0000:01:00.0' }],
  ips: [
    { interface: 0, address: '10.244.3.17/24', gateway: '10.244.3.2' },
    { interface: 0, address: 'fd00:10:244:3::11/64', gateway: 'fd00:10:244:3::2' },
    { interface: 0, address: '10.244.3.18/24' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.244.3.2', priority: 10 },
    { dst: '::/0', gw: 'fd00:10:244:3::2' },
  ],
  dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'], options: ['ndots:5'], domain: 'cluster.local' },
};

test('1.1.0 -> 1.0.0 keeps everything but the version', () => {
  const r = convertResult(full, '1.0.0') as Result100;
  assert.equal(r.cniVersion, '1.0.0');
  assert.equal(r.interfaces, full.interfaces);
  assert.equal(r.ips, full.ips);
  assert.equal(r.routes, full.routes);
  assert.equal(r.dns, full.dns);
});

for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
  test(`1.1.0 -> ${v}: ips gain version, interfaces lose the 1.1.0 fields, routes keep dst/gw`, () => {
    const r = convertResult(full, v) as any;
    assert.equal(r.cniVersion, v);
    assert.equal(r.interfaces, [{ name: 'eth0', mac: '00:15:5d:0a:0b:0c', sandbox: netns }]);
    assert.equal(r.ips, [
      { version: '4', address: '10.244.3.17/24', gateway: '10.244.3.2', interface: 0 },
      { version: '6', address: 'fd00:10:244:3::11/64', gateway: 'fd00:10:244:3::2', interface: 0 },
      { version: '4', address: '10.244.3.18/24', interface: 0 },
    ]);
    assert.equal(r.routes, [{ dst: '0.0.0.0/0', gw: '10.244.3.2' }, { dst: '::/0', gw: 'fd00:10:244:3::2' }]);
    assert.equal(r.dns, full.dns);
  });
}

for (const v of ['0.1.0', '0.2.0']) {
  test(`1.1.0 -> ${v}: first address per family, routes nested by family, interfaces dropped`, () => {
    const r = convertResult(full, v) as any;
    assert.equal(r, {
      cniVersion: v,
      ip4: { ip: '10.244.3.17/24', gateway: '10.244.3.2', routes: [{ dst: '0.0.0.0/0', gw: '10.244.3.2' }] },
      ip6: { ip: 'fd00:10:244:3::11/64', gateway: 'fd00:10:244:3::2', routes: [{ dst: '::/0', gw: 'fd00:10:244:3::2' }] },
      dns: full.dns,
    });
  });
}

test('an IPv4-mapped IPv6 address counts as version 4 (reference rule)', () => {
  const r = convertResult({ cniVersion: '1.0.0', ips: [{ address: '::ffff:10.1.2.3/120' }] }, '0.4.0') as any;
  assert.is(r.ips[0].version, '4');
});

test('0.2.0 -> 0.4.0 -> 1.1.0 is lossless and leaves no interface indexes', () => {
  const old = { cniVersion: '0.2.0', ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] }, ip6: { ip: 'fd00::5/64' }, dns: { nameservers: ['1.1.1.1'] } };
  const r040 = convertResult(old as any, '0.4.0') as any;
  assert.equal(r040, { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/16', gateway: '10.1.0.1' }, { version: '6', address: 'fd00::5/64' }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['1.1.1.1'] } });
  const r110 = convertResult(r040, '1.1.0') as any;
  assert.equal(r110, { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }, { address: 'fd00::5/64' }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['1.1.1.1'] } });
  assert.equal(convertResult(r110, '0.2.0'), { ...old, cniVersion: '0.2.0' });
});

test('0.1.0 <-> 0.2.0 and 0.3.0 <-> 0.3.1 <-> 0.4.0 change only the version', () => {
  const a = { cniVersion: '0.1.0', ip4: { ip: '10.0.0.2/24' }, dns: {} };
  assert.equal(convertResult(a as any, '0.2.0'), { ...a, cniVersion: '0.2.0' });
  const b = { cniVersion: '0.3.0', interfaces: [{ name: 'eth0' }], ips: [{ version: '4', address: '10.0.0.2/24', interface: 0 }], dns: {} };
  assert.equal(convertResult(b as any, '0.3.1'), { ...b, cniVersion: '0.3.1' });
  assert.equal(convertResult(b as any, '0.4.0'), { ...b, cniVersion: '0.4.0' });
});

test('interface index 0 is emitted, not dropped as falsy', () => {
  for (const v of ['0.3.1', '1.0.0']) {
    const text = JSON.stringify(fromInternal({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.2/24', interface: 0 }] }, v as any));
    assert.ok(text.includes('"interface":0'), `${v}: ${text}`);
  }
});

test('1.x results omit an empty dns; 0.x results carry dns {} as the reference does', () => {
  const r: Result100 = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], dns: {} };
  assert.not.ok('dns' in (fromInternal(r, '1.1.0') as object));
  assert.equal((fromInternal(r, '0.4.0') as any).dns, {});
  assert.equal((fromInternal(r, '0.2.0') as any).dns, {});
});

test('a result without IP addresses cannot be written as 0.1.0/0.2.0: code 1', () => {
  for (const v of ['0.1.0', '0.2.0']) {
    try {
      fromInternal({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }] }, v as any);
      assert.unreachable('should have thrown');
    } catch (err) {
      assert.instance(err, CniError);
      assert.is((err as CniError).code, 1);
      assert.match((err as CniError).message, 'cannot convert: no valid IP addresses');
    }
  }
});

test('routes of a family with no address are dropped going down to 0.2.0', () => {
  const r = fromInternal({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }], routes: [{ dst: '::/0', gw: 'fd00::1' }, { dst: '10.9.0.0/16' }] }, '0.2.0') as any;
  assert.equal(r.ip4.routes, [{ dst: '10.9.0.0/16' }]);
  assert.is(r.ip6, undefined);
});

test('unknown versions on either side: "no converter" with code 1', () => {
  for (const [from, to] of [['0.5.0', '1.0.0'], ['1.0.0', '2.0.0']]) {
    try {
      convertResult({ cniVersion: from, ips: [{ address: '10.0.0.2/24' }] } as any, to!);
      assert.unreachable();
    } catch (err) {
      assert.is((err as CniError).code, 1);
      assert.match((err as CniError).message, 'no converter for CNI result version');
    }
  }
});

test('an empty target version means 0.1.0', () => {
  assert.is((convertResult(full, '') as any).cniVersion, '0.1.0');
});

test('every supported version converts to every other and back to an equal 1.x model', () => {
  const base: Result100 = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }], dns: { nameservers: ['10.0.0.10'] } };
  for (const a of SUPPORTED_VERSIONS) {
    for (const b of SUPPORTED_VERSIONS) {
      const there = convertResult(convertResult(base, a), b);
      assert.is(there.cniVersion, b);
      const back = convertResult(there, '1.1.0') as Result100;
      assert.equal(back.ips, base.ips, `${a} -> ${b}`);
      assert.equal(back.routes, base.routes, `${a} -> ${b}`);
      assert.equal(back.dns, base.dns, `${a} -> ${b}`);
    }
  }
});

test('parseResult: prevResult must be of the request family (Go plugins reject a 0.4.0 prevResult in a 1.1.0 request)', () => {
  try {
    parseResult({ cniVersion: '0.4.0', ips: [] }, { requestVersion: '1.1.0', sameFamily: true, what: 'prevResult' });
    assert.unreachable();
  } catch (err) {
    assert.is((err as CniError).code, 6);
    assert.match((err as CniError).message, 'result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"');
  }
  const ok = parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] }, { requestVersion: '1.1.0', sameFamily: true, what: 'prevResult' });
  assert.equal(ok.ips, [{ address: '10.0.0.2/24' }]);
});

test('parseResult: no cniVersion means the request version; a delegate result of another family is converted', () => {
  const r = parseResult({ ips: [{ address: '10.0.0.2/24' }] }, { requestVersion: '1.1.0', sameFamily: true, what: 'IPAM result' });
  assert.is(r.cniVersion, '1.1.0');
  const old = parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24', gateway: '10.0.0.1' } }, { requestVersion: '1.1.0', sameFamily: false, what: 'IPAM result' });
  assert.equal(old.ips, [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }]);
});

test('parseResult: malformed documents are decoding errors (code 6) that name the key', () => {
  const cases: [unknown, string][] = [
    [{ cniVersion: '1.0.0', ips: 'x' }, 'ips'],
    [{ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2' }] }, 'ips[0].address'],
    [{ cniVersion: '0.4.0', ips: [{ version: '5', address: '10.0.0.2/24' }] }, 'ips[0].version'],
    [{ cniVersion: '9.9.9' }, 'unsupported CNI result version'],
    ['text', 'not a JSON object'],
  ];
  for (const [doc, needle] of cases) {
    try {
      parseResult(doc, { requestVersion: '1.0.0', sameFamily: false, what: 'prevResult' });
      assert.unreachable(JSON.stringify(doc));
    } catch (err) {
      assert.is((err as CniError).code, 6, JSON.stringify(doc));
      assert.match((err as CniError).message, needle);
    }
  }
});

test.run();
