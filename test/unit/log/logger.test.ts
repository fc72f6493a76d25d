// The invocation log: one JSON line per step, rotated by size, created readable by its owner
// only, and never a reason for a pod to fail.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Logger } from '../../../shared/log/logger';
import { tempFileName } from '../../../shared/sys/atomic';

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

test('a long-lived logger (the node agent) rotates as it writes, without being reopened', () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'agent.log');
    const log = new Logger({ file, maxBytes: 1000, keep: 2 }, { pad: 'x'.repeat(150) });
    for (let i = 0; i < 20; i++) log.event('pass', { i });
    log.close();
    const names = fs.readdirSync(dir).sort();
    assert.equal(names, ['agent.log', 'agent.log.1', 'agent.log.2']);
    for (const n of names) assert.ok(fs.statSync(path.join(dir, n)).size < 1000 + 250, `${n} stayed near maxBytes`);
    const last = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).i);
    assert.is(last.at(-1), 19, 'the newest line is in the live file');
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

/** A logger whose warnings are collected, with a fallback file in `dir`. */
function logger(file: string, dir: string, base: Record<string, unknown> = { plugin: 'p', command: 'ADD' }, extra: { maxBytes?: number; keep?: number } = {}) {
  const warnings: string[] = [];
  const log = new Logger({ file, fallback: path.join(dir, 'default', 'cni.log'), warn: (m: string) => warnings.push(m), ...extra }, base);
  return { log, warnings, fallback: path.join(dir, 'default', 'cni.log') };
}

test('a symlink as logFile is refused: its target is untouched, the line goes to the default file, stderr is told', async () => {
  const dir = scratch();
  try {
    const target = path.join(dir, 'precious');
    fs.writeFileSync(target, 'precious data\n');
    const link = path.join(dir, 'cni.log');
    fs.symlinkSync(target, link);
    const { log, warnings, fallback } = logger(link, dir);
    assert.is(await log.step('x', async () => 42), 42);
    log.finish('ok');
    assert.is(fs.readFileSync(target, 'utf8'), 'precious data\n');
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.equal(fs.readFileSync(fallback, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step), ['x', 'done']);
    assert.is(warnings.length, 1);
    assert.match(warnings[0]!, link);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an existing file that is not one of our logs is never appended to or rotated', async () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'app.conf');
    const text = 'important: yes\n'.repeat(100);
    fs.writeFileSync(file, text);
    const { log, warnings, fallback } = logger(file, dir, { plugin: 'p' }, { maxBytes: 100 });
    log.event('a');
    log.close();
    assert.is(fs.readFileSync(file, 'utf8'), text);
    assert.not.ok(fs.existsSync(`${file}.1`), 'not rotated');
    assert.is(JSON.parse(fs.readFileSync(fallback, 'utf8')).step, 'a');
    assert.is(warnings.length, 1);
    // An empty file is not recognisably ours either.
    const empty = path.join(dir, 'empty.log');
    fs.writeFileSync(empty, '');
    const second = logger(empty, dir);
    second.log.event('b');
    second.log.close();
    assert.is(fs.readFileSync(empty, 'utf8'), '');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('our own log file is appended to; when even the default file is refused, the invocation goes on', async () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'cni.log');
    for (const run of [1, 2]) {
      const { log, warnings } = logger(file, dir, { plugin: 'p', run });
      log.event('a');
      log.close();
      assert.equal(warnings, []);
    }
    assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).run), [1, 2]);
    const foreign = path.join(dir, 'foreign');
    fs.writeFileSync(foreign, 'x\n');
    const log = new Logger({ file: foreign, fallback: foreign, warn: () => undefined }, { plugin: 'p' });
    assert.is(await log.step('x', async () => 7), 7);
    log.finish('ok');
    assert.is(fs.readFileSync(foreign, 'utf8'), 'x\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('rotation never renames over a file that is not one of our rotated logs', () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'cni.log');
    fs.writeFileSync(`${file}.2`, 'someone else\n');
    fs.symlinkSync(path.join(dir, 'elsewhere'), `${file}.3`);
    for (let i = 0; i < 5; i++) {
      const { log } = logger(file, dir, { plugin: 'p', run: i, pad: 'x'.repeat(150) }, { maxBytes: 200, keep: 3 });
      log.event('a');
      log.event('b');
      log.close();
    }
    assert.is(fs.readFileSync(`${file}.2`, 'utf8'), 'someone else\n');
    assert.ok(fs.lstatSync(`${file}.3`).isSymbolicLink());
    assert.is(JSON.parse(fs.readFileSync(file, 'utf8').split('\n')[0]!).run, 4);
    assert.is(JSON.parse(fs.readFileSync(`${file}.1`, 'utf8').split('\n')[0]!).run, 3);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('modes do not depend on the umask: the log file 0600, directories made for it 0700', () => {
  const dir = scratch();
  const old = process.umask(0);
  try {
    const file = path.join(dir, 'a', 'b', 'cni.log');
    const { log } = logger(file, dir);
    log.event('a');
    log.close();
    assert.is(fs.statSync(file).mode & 0o777, 0o600);
    assert.is(fs.statSync(path.join(dir, 'a', 'b')).mode & 0o777, 0o700);
    assert.is(fs.statSync(path.join(dir, 'a')).mode & 0o777, 0o700);
  } finally {
    process.umask(old);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a logFile in a folder that does not exist is refused (the folder is never made) unless it is under the log folder', async () => {
  const dir = scratch();
  try {
    const logFolder = path.join(dir, 'logs');
    const fallback = path.join(logFolder, 'cni.log');
    const warnings: string[] = [];
    const named = path.join(dir, 'victims', 'made', 'by', 'plugin', 'x.log');
    const log = new Logger({ file: named, fallback, logFolder, warn: (m) => warnings.push(m) }, { plugin: 'p' });
    log.event('a');
    log.close();
    assert.not.ok(fs.existsSync(path.join(dir, 'victims')), 'no folder made for the conf\'s logFile');
    assert.is(JSON.parse(fs.readFileSync(fallback, 'utf8')).step, 'a', 'the line went to the default log (whose folder is made)');
    assert.is(warnings.length, 1);
    assert.match(warnings[0]!, 'does not exist');
    // In a folder that exists: the file is made. Under the log folder: its folders are made too.
    for (const file of [path.join(dir, 'here.log'), path.join(logFolder, 'deeper', 'still', 'y.log')]) {
      const ok = new Logger({ file, fallback, logFolder, warn: (m) => warnings.push(m) }, { plugin: 'p' });
      ok.event('b');
      ok.close();
      assert.is(JSON.parse(fs.readFileSync(file, 'utf8')).step, 'b', file);
    }
    assert.is(warnings.length, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a writer killed while making the log file leaves its temp file: the next file made there and clearAbandonedTemps remove it once the writer is dead', () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'cni.log');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const killed = path.join(dir, `.cni.log.${dead}.k1ll3d.tmp`);
    const live = tempFileName(file);
    const other = path.join(dir, `.other.log.${dead}.k1ll3d.tmp`);
    for (const f of [killed, live, other]) fs.writeFileSync(f, '');
    const log = new Logger({ file, fallback: file }, { plugin: 'p' });
    log.event('a');
    log.close();
    assert.not.ok(fs.existsSync(killed), 'making the file cleared it');
    assert.ok(fs.existsSync(live) && fs.existsSync(other), 'a live writer\'s, and another file\'s, stay');
    // Killed after the link: the file exists, so nothing is made; GC clears it.
    fs.writeFileSync(killed, '');
    log.event('b');
    log.close();
    assert.ok(fs.existsSync(killed));
    log.clearAbandonedTemps();
    assert.not.ok(fs.existsSync(killed));
    assert.equal(fs.readdirSync(dir).sort(), [path.basename(other), path.basename(live), 'cni.log'].sort());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
