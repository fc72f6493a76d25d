// The built-in allocator: never the network address, broadcast, .1, .2, the gateway or a
// reserved address; host-local's on-disk format; release on DEL and GC; STATUS when full.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BuiltinIpam, type BuiltinIpamConf } from '../../../shared/ipam/builtin';
import { tempFileName } from '../../../shared/sys/atomic';
import { CniError } from '../../../shared/cni/errors';
import { cniError } from '../../helpers/cni-error';

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

const ipFiles = (dir: string) => fs.readdirSync(path.join(dir, 'cbr0')).filter((f) => /^[\d.]+$/.test(f)).sort();

test('GC removes only what the built-in allocator marked as its own in a store shared with host-local', async () => {
  const dir = scratch();
  try {
    const conf = { subnet: '10.1.2.0/24' };
    await ipam(dir, conf, 'ctr-a').add(); // .3, ours, not valid: released
    await ipam(dir, conf, 'ctr-b').add(); // .4, ours, valid: kept
    const d = path.join(dir, 'cbr0');
    // host-local run by hand for kube-proxy's source VIP: an attachment-shaped owner with a made-up ID.
    fs.writeFileSync(path.join(d, '10.1.2.200'), 'source-vip-made-up-id\r\neth0');
    // Another host-local allocation (a pod of a conf that delegates to host-local).
    fs.writeFileSync(path.join(d, '10.1.2.201'), 'ctr-hl\r\neth0');
    fs.writeFileSync(path.join(d, 'notes.txt'), 'kube-proxy\r\nsource vip\r\n');
    fs.writeFileSync(path.join(d, '10.9.9.9'), 'outside\r\neth0'); // an address outside the conf's ranges
    await ipam(dir, conf).gc([{ containerId: 'ctr-b', ifName: 'eth0' }]);
    assert.equal(ipFiles(dir), ['10.1.2.200', '10.1.2.201', '10.1.2.4', '10.9.9.9']);
    assert.ok(fs.existsSync(path.join(d, 'notes.txt')));
    assert.is(fs.readFileSync(path.join(d, '10.1.2.200'), 'utf8'), 'source-vip-made-up-id\r\neth0');
    // host-local compatibility: our files read as taken and DEL by owner works (also for host-local's DEL).
    assert.is(fs.readFileSync(path.join(d, '10.1.2.4'), 'utf8'), 'ctr-b\r\neth0');
    await ipam(dir, conf, 'ctr-b').del();
    await ipam(dir, conf).gc([]);
    assert.equal(ipFiles(dir), ['10.1.2.200', '10.1.2.201', '10.9.9.9']);
    assert.equal(fs.readdirSync(d).filter((f) => f.startsWith('.')), [], 'no marker or temp file left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an address host-local released and handed out again is not ours any more: GC keeps it', async () => {
  const dir = scratch();
  try {
    const conf = { subnet: '10.1.2.0/24' };
    await ipam(dir, conf, 'ctr-a').add();
    const file = path.join(dir, 'cbr0', '10.1.2.3');
    // host-local's DEL by owner removes the address file (say a marker of ours stays behind), then host-local's ADD takes it again.
    fs.rmSync(file);
    fs.writeFileSync(file, 'ctr-hl\r\neth0', { flag: 'wx' });
    await ipam(dir, conf).gc([]);
    assert.is(fs.readFileSync(file, 'utf8'), 'ctr-hl\r\neth0');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a claim is never born ownerless: a process killed while writing its owner leaves no address file', async () => {
  const dir = scratch();
  const realWrite = fs.writeSync;
  try {
    const conf = { subnet: '10.1.2.0/24' };
    await ipam(dir, conf, 'ctr-0').add(); // the directory and lock exist: the next write is the owner's
    let armed = true;
    (fs as { writeSync: unknown }).writeSync = (...args: unknown[]) => {
      const text = typeof args[1] === 'string' ? args[1] : Buffer.isBuffer(args[1]) ? args[1].toString() : '';
      if (armed && text.includes('ctr-a')) {
        armed = false;
        throw new Error('killed');
      }
      return (realWrite as (...a: unknown[]) => number)(...args);
    };
    await ipam(dir, conf, 'ctr-a').add().catch(() => undefined);
    (fs as { writeSync: unknown }).writeSync = realWrite;
    assert.not.ok(armed, 'the owner write was interrupted');
    for (const f of ipFiles(dir)) assert.is.not(fs.readFileSync(path.join(dir, 'cbr0', f), 'utf8'), '', `${f} is ownerless`);
    assert.equal(ipFiles(dir), ['10.1.2.3']);
  } finally {
    (fs as { writeSync: unknown }).writeSync = realWrite;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ownerless claims and our temp files are reclaimed after the grace period only (GC, and ADD on a full range)', async () => {
  const dir = scratch();
  try {
    const conf = { subnet: '10.1.2.0/29' }; // .3 .4 .5 .6 usable
    for (let i = 0; i < 3; i++) await ipam(dir, conf, `ctr-${i}`).add(); // .3 .4 .5
    const d = path.join(dir, 'cbr0');
    const old = new Date(Date.now() - 120_000);
    fs.writeFileSync(path.join(d, '10.1.2.6'), ''); // born ownerless, long ago
    fs.utimesSync(path.join(d, '10.1.2.6'), old, old);
    const oldTmp = path.join(d, '.10.1.2.6.4242.0badc0de.tmp');
    fs.writeFileSync(oldTmp, 'ctr-x\r\neth0');
    fs.utimesSync(oldTmp, old, old);
    // Written by a live process (this one): a claim that may be in progress.
    const youngTmp = tempFileName(path.join(d, '10.1.2.5'));
    fs.writeFileSync(youngTmp, 'ctr-y\r\neth0');
    const foreignOld = path.join(d, '.keep-me.tmp');
    fs.writeFileSync(foreignOld, '');
    fs.utimesSync(foreignOld, old, old);
    // The range is full but for the ownerless claim: ADD reclaims it.
    assert.is((await ipam(dir, conf, 'ctr-3').add()).ips![0]!.address, '10.1.2.6/29');
    assert.is(fs.readFileSync(path.join(d, '10.1.2.6'), 'utf8'), 'ctr-3\r\neth0');
    assert.not.ok(fs.existsSync(oldTmp));
    assert.ok(fs.existsSync(youngTmp), 'a young temp file may be a claim in progress');
    assert.ok(fs.existsSync(foreignOld), 'not one of ours');
    // A young ownerless file is left to its writer; an old one goes at GC.
    await ipam(dir, conf, 'ctr-3').del();
    fs.writeFileSync(path.join(d, '10.1.2.6'), '');
    await ipam(dir, conf).gc([0, 1, 2].map((i) => ({ containerId: `ctr-${i}`, ifName: 'eth0' })));
    assert.ok(fs.existsSync(path.join(d, '10.1.2.6')));
    fs.utimesSync(path.join(d, '10.1.2.6'), old, old);
    await ipam(dir, conf).gc([0, 1, 2].map((i) => ({ containerId: `ctr-${i}`, ifName: 'eth0' })));
    assert.not.ok(fs.existsSync(path.join(d, '10.1.2.6')));
    assert.equal(ipFiles(dir), ['10.1.2.3', '10.1.2.4', '10.1.2.5']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A pid that certainly belongs to no process any more. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

test('a claim\'s temp file whose writer is dead goes at once, at the next claim and at GC; a live writer\'s stays; a reused pid is told apart', async () => {
  const dir = scratch();
  try {
    const conf = { subnet: '10.1.2.0/24' };
    await ipam(dir, conf, 'ctr-0').add();
    const d = path.join(dir, 'cbr0');
    const live = tempFileName(path.join(d, '10.1.2.9'));
    fs.writeFileSync(live, 'ctr-live\r\neth0');
    // Killed before it wrote anything, and killed after: empty and full.
    const dead = path.join(d, `.10.1.2.8.${deadPid()}.k1ll3d.tmp`);
    fs.writeFileSync(dead, '');
    // Our parent is alive, but it did not start at tick 1 of a boot whose id begins with deadbeef.
    const reused = path.join(d, `.10.1.2.7.${process.ppid}-1-deadbeef.r3us3d.tmp`);
    fs.writeFileSync(reused, 'ctr-r\r\neth0');
    const foreign = path.join(d, `.not-an-address.${deadPid()}.abc.tmp`);
    fs.writeFileSync(foreign, '');
    await ipam(dir, conf, 'ctr-1').add();
    assert.not.ok(fs.existsSync(dead), 'a dead writer\'s temp file is cleared by the next claim');
    assert.not.ok(fs.existsSync(reused), 'a pid reused since the temp file was written does not keep it');
    assert.ok(fs.existsSync(live), 'a live writer\'s temp file stays');
    assert.ok(fs.existsSync(foreign), 'a name that is not a temp file of ours for an address is never touched');
    fs.writeFileSync(dead, 'ctr-x\r\neth0');
    await ipam(dir, conf).gc([{ containerId: 'ctr-0', ifName: 'eth0' }, { containerId: 'ctr-1', ifName: 'eth0' }]);
    assert.not.ok(fs.existsSync(dead), 'GC clears a dead writer\'s temp file at once');
    assert.ok(fs.existsSync(live));
    assert.equal(ipFiles(dir), ['10.1.2.3', '10.1.2.4']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('DEL finds the attachment\'s claims by their markers alone: no ranges needed, and no store made where there is none', async () => {
  const dir = scratch();
  try {
    await ipam(dir, { subnet: '10.1.2.0/24' }, 'ctr-a').add();
    // The conf as a DEL of a conf that no longer validates keeps it: the data directory only.
    await new BuiltinIpam({ type: 'builtin', dataDir: dir }, { network: 'cbr0', containerId: 'ctr-a', ifName: 'eth0', defaultDataDir: dir, platform: 'linux', modeReserved: [], requested: [] }).del();
    assert.equal(ipFiles(dir), []);
    const none = path.join(dir, 'elsewhere');
    await new BuiltinIpam({ type: 'builtin', dataDir: none }, { network: 'cbr0', containerId: 'ctr-a', ifName: 'eth0', defaultDataDir: dir, platform: 'linux', modeReserved: [], requested: [] }).del();
    assert.not.ok(fs.existsSync(none), 'a DEL makes no store');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory where an address file should be is a typed CNI error naming it; DEL and GC go on', async () => {
  const dir = scratch();
  try {
    const conf = { subnet: '10.1.2.0/24' };
    fs.mkdirSync(path.join(dir, 'cbr0', '10.1.2.3'), { recursive: true });
    const err = await cniError(ipam(dir, conf).add());
    assert.is(err.code, 5);
    assert.match(err.message, path.join(dir, 'cbr0', '10.1.2.3'));
    const req = await cniError(ipam(dir, conf, 'ctr-b', { requested: ['10.1.2.3'] }).add());
    assert.ok(req.code === 5 || req.code === 105, String(req.code));
    assert.match(req.message, '10.1.2.3');
    await ipam(dir, conf).del();
    await ipam(dir, conf).gc([]);
    assert.ok(fs.statSync(path.join(dir, 'cbr0', '10.1.2.3')).isDirectory(), 'not ours to remove');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory where last_reserved_ip is kept is a typed CNI error naming it, and no address is held', async () => {
  const dir = scratch();
  try {
    const last = path.join(dir, 'cbr0', 'last_reserved_ip.0');
    fs.mkdirSync(last, { recursive: true });
    const err = await cniError(ipam(dir, { subnet: '10.1.2.0/24' }).add());
    assert.is(err.code, 5);
    assert.match(err.message, last);
    assert.equal(ipFiles(dir), []);
    assert.equal(fs.readdirSync(path.join(dir, 'cbr0')).filter((f) => f.startsWith('.')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a relative ipam.dataDir is refused (7): it would land in the runtime\'s working directory', async () => {
  const err = await cniError((async () => ipam('relative/store', { subnet: '10.1.2.0/24' }))());
  assert.is(err.code, 7);
  assert.match(err.message, 'ipam.dataDir');
  const win = await cniError((async () => ipam('state\\ipam', { subnet: '10.1.2.0/24' }, 'ctr-a', { platform: 'win32' }))());
  assert.is(win.code, 7);
  ipam('C:\\k\\state', { subnet: '10.1.2.0/24' }, 'ctr-a', { platform: 'win32' }); // absolute on Windows: accepted
});

test('modes do not depend on the umask: data directory 0700, address and last_reserved_ip files 0600', async () => {
  const dir = scratch();
  const old = process.umask(0);
  try {
    await ipam(path.join(dir, 'new'), { subnet: '10.1.2.0/24' }).add();
    const d = path.join(dir, 'new', 'cbr0');
    assert.is(fs.statSync(path.join(dir, 'new')).mode & 0o777, 0o700);
    assert.is(fs.statSync(d).mode & 0o777, 0o700);
    for (const f of fs.readdirSync(d)) assert.is(fs.statSync(path.join(d, f)).mode & 0o777, 0o600, f);
  } finally {
    process.umask(old);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
