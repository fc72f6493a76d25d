// The built-in allocator: never the network address, broadcast, .1, .2, the gateway or a
// reserved address; host-local's on-disk format; release on DEL and GC; STATUS when full.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuiltinIpam, type BuiltinIpamConf } from '../../../shared/ipam/builtin';
import { CniError } from '../../../shared/cni/errors';

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ipam-test-'));
}

function ipam(dir: string, conf: Partial<BuiltinIpamConf>, containerId = 'ctr-a', extra: { modeReserved?: string[]; requested?: string[]; platform?: NodeJS.Platform } = {}) {
  return new BuiltinIpam({ type: 'builtin', dataDir: dir, ...conf } as BuiltinIpamConf, {
    network: 'cbr0', containerId, ifName: 'eth0', defaultDataDir: dir, platform: extra.platform ?? 'linux', modeReserved: extra.modeReserved ?? [], requested: extra.requested ?? [],
  });
}

async function code(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CniError);
    return (err as CniError).code;
  }
  return 0;
}

test('a /28 hands out exactly its usable addresses: not .0, .1, .2, the gateway, reserved, or the broadcast', async () => {
  const dir = scratch();
  try {
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      const a = ipam(dir, { subnet: '10.1.2.0/28', reserved: ['10.1.2.7'] }, `ctr-${i}`, { modeReserved: ['10.1.2.9'] });
      try {
        got.push((await a.add()).ips![0]!.address);
      } catch (err) {
        assert.is((err as CniError).code, 103);
        assert.match((err as Error).message, 'no IP addresses available');
        break;
      }
    }
    assert.equal(got, ['3', '4', '5', '6', '8', '10', '11', '12', '13', '14'].map((h) => `10.1.2.${h}/28`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('host-local\'s format: one file per address holding <id>\\r\\n<ifname>, and last_reserved_ip', async () => {
  const dir = scratch();
  try {
    await ipam(dir, { subnet: '10.1.2.0/24' }).add();
    assert.is(fs.readFileSync(path.join(dir, 'cbr0', '10.1.2.3'), 'utf8'), 'ctr-a\r\neth0');
    assert.is(fs.readFileSync(path.join(dir, 'cbr0', 'last_reserved_ip.0'), 'utf8'), '10.1.2.3');
    // A reservation made by hand with host-local (kube-proxy's source VIP) is respected and kept by GC.
    fs.writeFileSync(path.join(dir, 'cbr0', '10.1.2.4'), 'source-vip');
    assert.is((await ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-b').add()).ips![0]!.address, '10.1.2.5/24');
    await ipam(dir, { subnet: '10.1.2.0/24' }).gc([]);
    assert.ok(fs.existsSync(path.join(dir, 'cbr0', '10.1.2.4')));
    assert.not.ok(fs.existsSync(path.join(dir, 'cbr0', '10.1.2.3')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('dual stack: one address per range set; on Windows IPv6 file names use _ for :', async () => {
  const dir = scratch();
  try {
    const r = await ipam(dir, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00:1:2::/64', rangeStart: 'fd00:1:2::10' }]] }, 'ctr-a', { platform: 'win32' }).add();
    assert.equal(r.ips!.map((i) => i.address), ['10.1.2.3/24', 'fd00:1:2::10/64']);
    assert.ok(fs.existsSync(path.join(dir, 'cbr0', 'fd00_1_2__10')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('all sets or none: a set that cannot allocate releases what the others took', async () => {
  const dir = scratch();
  try {
    const conf = { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.9.9.0/30' }]] };
    assert.is(await code(ipam(dir, conf).add()), 103); // a /30 has .1 and .2 only: nothing to give
    assert.equal(fs.readdirSync(path.join(dir, 'cbr0')).filter((f) => /^\d/.test(f)), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a requested address (CNI_ARGS IP=) is given if free, refused if taken or reserved', async () => {
  const dir = scratch();
  try {
    assert.is((await ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-a', { requested: ['10.1.2.50'] }).add()).ips![0]!.address, '10.1.2.50/24');
    assert.is(await code(ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-b', { requested: ['10.1.2.50'] }).add()), 105);
    assert.is(await code(ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-c', { requested: ['10.1.2.2'] }).add()), 105);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a second allocation for the same container and interface is refused (102)', async () => {
  const dir = scratch();
  try {
    await ipam(dir, { subnet: '10.1.2.0/24' }).add();
    assert.is(await code(ipam(dir, { subnet: '10.1.2.0/24' }).add()), 102);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('DEL releases only its own address; CHECK finds it, then not', async () => {
  const dir = scratch();
  try {
    const a = ipam(dir, { subnet: '10.1.2.0/24' });
    await a.add();
    await ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-b').add();
    await a.check();
    await a.del();
    assert.is(await code(a.check()), 104);
    await ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-b').check();
    await a.del();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('GC keeps the valid attachments and releases the rest (interface names matter)', async () => {
  const dir = scratch();
  try {
    for (const id of ['ctr-a', 'ctr-b', 'ctr-c']) await ipam(dir, { subnet: '10.1.2.0/24' }, id).add();
    await ipam(dir, { subnet: '10.1.2.0/24' }).gc([{ containerId: 'ctr-a', ifName: 'eth0' }, { containerId: 'ctr-b', ifName: 'eth1' }]);
    const owners = fs.readdirSync(path.join(dir, 'cbr0')).filter((f) => /^\d/.test(f)).map((f) => fs.readFileSync(path.join(dir, 'cbr0', f), 'utf8'));
    assert.equal(owners, ['ctr-a\r\neth0']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('STATUS: ready while an address is free, 50 when the range is full', async () => {
  const dir = scratch();
  try {
    const conf = { subnet: '10.1.2.0/29' }; // .3 .4 .5 .6 usable
    await ipam(dir, conf).status();
    for (let i = 0; i < 4; i++) await ipam(dir, conf, `ctr-${i}`).add();
    assert.is(await code(ipam(dir, conf).status()), 50);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('round-robin: a released address is not handed out again at once', async () => {
  const dir = scratch();
  try {
    const a = ipam(dir, { subnet: '10.1.2.0/24' });
    assert.is((await a.add()).ips![0]!.address, '10.1.2.3/24');
    await a.del();
    assert.is((await ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-b').add()).ips![0]!.address, '10.1.2.4/24');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
