import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readJsonFile, writeFileAtomic } from '../../../shared/sys/atomic';

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

test.run();
