// The invocation log: one JSON line per step, rotated by size, created readable by its owner
// only, and never a reason for a pod to fail.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Logger } from '../../../shared/log/logger';

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'log-test-'));
}

test('one JSON line per step with duration and outcome; the error text on failures', async () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'logs', 'cni.log');
    const log = new Logger({ file }, { plugin: 'p', command: 'ADD', containerId: 'c1' });
    await log.step('find-network', async () => 1, { networkId: 'N' });
    await log.step('create-endpoint', async () => { throw new Error('boom'); }).catch(() => undefined);
    log.finish('error', { code: 100 });
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.map((l) => [l.step, l.outcome]), [['find-network', 'ok'], ['create-endpoint', 'error'], ['done', 'error']]);
    assert.is(lines[0].networkId, 'N');
    assert.is(lines[1].error, 'boom');
    for (const l of lines) {
      assert.is(l.plugin, 'p');
      assert.is(l.containerId, 'c1');
      assert.type(l.ms, 'number');
    }
    assert.is(fs.statSync(file).mode & 0o777, 0o600);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('rotation by size: the full file becomes .1, older ones shift, at most `keep` are kept', () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'cni.log');
    for (let i = 0; i < 6; i++) {
      const log = new Logger({ file, maxBytes: 200, keep: 3 }, { run: i, pad: 'x'.repeat(150) });
      log.event('a');
      log.event('b');
      log.close();
    }
    const names = fs.readdirSync(dir).sort();
    assert.equal(names, ['cni.log', 'cni.log.1', 'cni.log.2', 'cni.log.3']);
    const runOf = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8').split('\n')[0]!).run;
    assert.equal(names.map(runOf), [5, 4, 3, 2]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable log never throws: the invocation goes on', async () => {
  const dir = scratch();
  try {
    fs.writeFileSync(path.join(dir, 'not-a-dir'), '');
    const log = new Logger({ file: path.join(dir, 'not-a-dir', 'cni.log') }, {});
    assert.is(await log.step('x', async () => 42), 42);
    log.finish('ok');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
