// Holding the pods' gateway in host-local's store: a reservation file created atomically (never
// empty), 0600 whatever the umask, and never replacing a file that is already there.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { GATEWAY_OWNER, removeAbandonedHolds, reserveInHostLocal } from '../../../shared/ipam/hostlocal';
import { tempFileName } from '../../../shared/sys/atomic';

test('the gateway is reserved in host-local\'s store: full content, 0600, directories 0700, no temp file left', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostlocal-test-'));
  const old = process.umask(0);
  try {
    const made = reserveInHostLocal({ type: 'host-local', dataDir: path.join(dir, 'networks') }, 'cbr0', ['10.1.2.2'], 'linux');
    assert.equal(made, ['10.1.2.2']);
    const file = path.join(dir, 'networks', 'cbr0', '10.1.2.2');
    assert.is(fs.readFileSync(file, 'utf8'), GATEWAY_OWNER);
    assert.is(fs.statSync(file).mode & 0o777, 0o600);
    assert.is(fs.statSync(path.join(dir, 'networks')).mode & 0o777, 0o700);
    assert.equal(fs.readdirSync(path.join(dir, 'networks', 'cbr0')), ['10.1.2.2']);
    // Taken already (by host-local or an earlier ADD): left as it is.
    fs.writeFileSync(file, 'ctr-x\r\neth0');
    assert.equal(reserveInHostLocal({ type: 'host-local', dataDir: path.join(dir, 'networks') }, 'cbr0', ['10.1.2.2'], 'linux'), []);
    assert.is(fs.readFileSync(file, 'utf8'), 'ctr-x\r\neth0');
  } finally {
    process.umask(old);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a gateway hold killed half-way leaves our temp file: the next hold made there and GC remove it once its writer is dead, and nothing of host-local\'s', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostlocal-test-'));
  try {
    const ipam = { type: 'host-local', dataDir: dir };
    const net = path.join(dir, 'cbr0');
    fs.mkdirSync(net);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const killed = `.10.1.2.2.${dead}.k1ll3d.tmp`;
    const live = path.basename(tempFileName(path.join(net, '10.1.2.2')));
    // host-local's own files, and a dot-file that is not a temp file of ours for an address.
    const hostLocal = ['10.1.2.7', 'last_reserved_ip.0', 'lock', `.notes.${dead}.x.tmp`];
    for (const n of [killed, live, ...hostLocal]) fs.writeFileSync(path.join(net, n), 'x');
    assert.equal(reserveInHostLocal(ipam, 'cbr0', ['10.1.2.2'], 'linux'), ['10.1.2.2']);
    assert.not.ok(fs.existsSync(path.join(net, killed)), 'the next hold clears it');
    assert.ok(fs.existsSync(path.join(net, live)), 'a live writer\'s stays');
    // Killed after the link: the hold is there, the temp file too; the next ADD makes no hold, GC clears it.
    fs.writeFileSync(path.join(net, killed), GATEWAY_OWNER);
    assert.equal(reserveInHostLocal(ipam, 'cbr0', ['10.1.2.2'], 'linux'), []);
    assert.ok(fs.existsSync(path.join(net, killed)));
    assert.equal(removeAbandonedHolds(ipam, 'cbr0', 'linux'), [killed]);
    assert.equal(fs.readdirSync(net).sort(), [live, ...hostLocal, '10.1.2.2'].sort());
    assert.equal(removeAbandonedHolds(ipam, 'no-such-network', 'linux'), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
