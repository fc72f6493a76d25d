import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { parseTempFileName, readJsonFile, removeAbandonedTemps, tempFileName, tempWriterGone, writeFileAtomic } from '../../../shared/sys/atomic';
import { processStart } from '../../../shared/sys/process';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-test-'));
test.after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('writeFileAtomic creates missing directories, replaces content whole, and leaves no temporary file', () => {
  const file = path.join(scratch, 'a', 'b', 'state.json');
  writeFileAtomic(file, JSON.stringify({ v: 1 }));
  writeFileAtomic(file, Buffer.from(JSON.stringify({ v: 2, pad: 'x'.repeat(100_000) })));
  assert.is(readJsonFile<{ v: number }>(file, { v: 0 }).v, 2);
  assert.equal(fs.readdirSync(path.dirname(file)), ['state.json']);
});

test('a reader never sees a torn file while another writer replaces it', () => {
  const file = path.join(scratch, 'torn.json');
  const big = (n: number) => JSON.stringify({ n, pad: String(n).repeat(50_000) });
  writeFileAtomic(file, big(0));
  const fd = fs.openSync(file, 'r'); // a reader that opened the old file keeps reading the old file
  for (let i = 1; i <= 20; i++) {
    writeFileAtomic(file, big(i));
    assert.is(readJsonFile<{ n: number }>(file, { n: -1 }).n, i);
  }
  assert.is(JSON.parse(fs.readFileSync(fd, 'utf8')).n, 0);
  fs.closeSync(fd);
});

test('readJsonFile: the fallback for a missing file, an error naming the file for invalid JSON', () => {
  assert.equal(readJsonFile(path.join(scratch, 'none.json'), []), []);
  const bad = path.join(scratch, 'bad.json');
  fs.writeFileSync(bad, '{"half":');
  assert.throws(() => readJsonFile(bad, {}), (err: Error) => err.message.startsWith(`${bad} is not valid JSON`));
});

test('modes do not depend on the umask: the file is 0600 (its temp file too), directories made for it 0700', () => {
  const old = process.umask(0);
  try {
    const file = path.join(scratch, 'm', 'n', 'state.json');
    writeFileAtomic(file, '{}');
    assert.is(fs.statSync(file).mode & 0o777, 0o600);
    assert.is(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.is(fs.statSync(path.join(scratch, 'm')).mode & 0o777, 0o700);
  } finally {
    process.umask(old);
  }
});

test('a temp file names its writer: pid and (Linux) start ticks and boot id; a dead or reused writer is told apart from a live one', () => {
  const name = path.basename(tempFileName(path.join(scratch, '10.1.2.3')));
  const t = parseTempFileName(name)!;
  assert.is(t.target, '10.1.2.3');
  assert.is(t.pid, process.pid);
  const [boot, ticks] = processStart(process.pid)!.split(':');
  assert.is(t.start, `${boot!.slice(0, 8)}:${ticks}`);
  assert.not.ok(tempWriterGone(name), 'this process is alive');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  assert.ok(tempWriterGone(`.10.1.2.3.${dead}.abc.tmp`), 'no process has the pid (a name of an earlier version, pid alone)');
  assert.ok(tempWriterGone(`.10.1.2.3.${process.pid}-${Number(ticks) + 1}-${boot!.slice(0, 8)}.abc.tmp`), 'the pid started at another time');
  assert.ok(tempWriterGone(`.10.1.2.3.${process.pid}-${ticks}-00000000.abc.tmp`), 'the pid is of another boot');
  assert.not.ok(tempWriterGone(`.10.1.2.3.${process.pid}.abc.tmp`), 'a live pid without a start identity is not proof');
  assert.is(parseTempFileName('10.1.2.3'), undefined);
  assert.is(parseTempFileName('.10.1.2.3.builtin.ctr+eth0'), undefined);
});

test('removeAbandonedTemps removes only the given temp files whose writer is gone (or that are older than asked)', () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'abandoned-'));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const mine = path.basename(tempFileName(path.join(dir, 'x')));
  const theirs = `.x.${dead}.abc.tmp`;
  const old = `.y.${process.pid}.def.tmp`;
  for (const n of [mine, theirs, old]) fs.writeFileSync(path.join(dir, n), '');
  const then = new Date(Date.now() - 120_000);
  fs.utimesSync(path.join(dir, old), then, then);
  assert.equal(removeAbandonedTemps(dir, [mine, theirs, old]), [theirs]);
  assert.equal(removeAbandonedTemps(dir, [mine, old], { olderThanMs: 60_000 }), [old]);
  assert.equal(fs.readdirSync(dir), [mine]);
});

test.run();
