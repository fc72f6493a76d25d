// Holding the pods' gateway in host-local's store: a reservation file created atomically (never
// empty), 0600 whatever the umask, and never replacing a file that is already there.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GATEWAY_OWNER, reserveInHostLocal } from '../../../shared/ipam/hostlocal';

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

test.run();
