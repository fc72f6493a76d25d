import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acquireLock, breakStaleLock, holderGone, LockTimeoutError, withLock } from '../../../shared/sys/lock';
import { bundledWorker } from '../../helpers/bundle';
import { cniError } from '../../helpers/cni-error';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-test-'));
let n = 0;
const lockFile = () => path.join(scratch, `t${n++}`, 'sub', 'x.lock');

/** A pid that certainly belongs to no process any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

function writeLock(file: string, owner: { pid: number; token: string; created: number; start?: string; handle?: boolean }): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const raw = JSON.stringify(owner);
  fs.writeFileSync(file, raw);
  return raw;
}

function runWorker(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundledWorker('lock-worker.ts'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function timesOut(pending: Promise<unknown>): Promise<void> {
  try {
    await pending;
  } catch (err) {
    assert.instance(err, LockTimeoutError);
    return;
  }
  assert.unreachable('expected LockTimeoutError');
}

test.after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('mutual exclusion across processes: 6 processes x 25 increments lose none and never overlap', async () => {
  const file = lockFile();
  const counter = path.join(scratch, 'counter');
  fs.writeFileSync(counter, '0');
  const results = await Promise.all(Array.from({ length: 6 }, () => runWorker(['count', file, counter, '25'])));
  for (const r of results) assert.is(r.code, 0, r.stderr);
  assert.is(fs.readFileSync(counter, 'utf8'), '150');
  assert.not.ok(fs.existsSync(file), 'the last holder removed the lock');
});

test('the lock file holds pid, token and creation time; release removes it; parent directories are made', async () => {
  const file = lockFile();
  const lock = await acquireLock(file);
  const owner = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.is(owner.pid, process.pid);
  assert.is(owner.token, lock.token);
  assert.ok(Math.abs(owner.created - Date.now()) < 5_000);
  lock.release();
  assert.not.ok(fs.existsSync(file));
  lock.release(); // a second release is harmless
});

test('a waiter times out with LockTimeoutError (CNI code 11) while the lock is held', async () => {
  const file = lockFile();
  const held = await acquireLock(file);
  const t0 = Date.now();
  try {
    await acquireLock(file, { timeoutMs: 150 });
    assert.unreachable('the lock is held');
  } catch (err) {
    assert.instance(err, LockTimeoutError);
    assert.is((err as LockTimeoutError).cniCode, 11);
    assert.match((err as Error).message, String(process.pid));
    assert.ok(Date.now() - t0 >= 140, 'waited for the timeout');
  } finally {
    held.release();
  }
});

test('withLock runs one function at a time and releases when it throws', async () => {
  const file = lockFile();
  const order: string[] = [];
  const job = (name: string) => withLock(file, async () => {
    order.push(`${name}+`);
    await new Promise((r) => setTimeout(r, 20));
    order.push(`${name}-`);
  });
  await Promise.all([job('a'), job('b'), job('c')]);
  for (let i = 0; i < order.length; i += 2) assert.is(order[i]!.slice(0, -1), order[i + 1]!.slice(0, -1), order.join(' '));
  try {
    await withLock(file, () => {
      throw new Error('boom');
    });
  } catch (err) {
    assert.is((err as Error).message, 'boom');
  }
  assert.not.ok(fs.existsSync(file), 'released after the throw');
});

test('a lock whose holder pid is dead is broken at once', async () => {
  const file = lockFile();
  writeLock(file, { pid: deadPid(), token: 'dead', created: Date.now() });
  // The lock is fresh and staleMs far beyond the wait: getting it at all means it was broken for its dead holder.
  const lock = await acquireLock(file, { timeoutMs: 2_000, staleMs: 60_000 });
  assert.is(JSON.parse(fs.readFileSync(file, 'utf8')).token, lock.token);
  lock.release();
});

test('a lock held by a killed process is recovered', async () => {
  const file = lockFile();
  const child = spawn(process.execPath, [bundledWorker('lock-worker.ts'), 'hold', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()));
    assert.is(JSON.parse(fs.readFileSync(file, 'utf8')).pid, child.pid);
    await timesOut(acquireLock(file, { timeoutMs: 100 }));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const lock = await acquireLock(file, { timeoutMs: 2_000 });
  lock.release();
});

test('a fresh lock of a live process is never broken, even by an impatient waiter', async () => {
  const file = lockFile();
  const raw = writeLock(file, { pid: process.ppid, token: 'alive', created: Date.now() });
  await timesOut(acquireLock(file, { timeoutMs: 200, staleMs: 60_000 }));
  assert.is(fs.readFileSync(file, 'utf8'), raw);
});

test('a lock file still being written (no content yet) is left alone', async () => {
  const file = lockFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
  await timesOut(acquireLock(file, { timeoutMs: 150 }));
  assert.ok(fs.existsSync(file));
  // ...unless it stays empty long after its creation: its writer died.
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(file, old, old);
  (await acquireLock(file, { timeoutMs: 1_000 })).release();
});

test('a lock older than staleMs is broken even if its pid is alive', async () => {
  const file = lockFile();
  writeLock(file, { pid: process.ppid, token: 'old', created: Date.now() - 10_000 });
  const lock = await acquireLock(file, { timeoutMs: 1_000, staleMs: 5_000 });
  assert.is(JSON.parse(fs.readFileSync(file, 'utf8')).token, lock.token);
  lock.release();
});

test('breaking never deletes a fresh lock that replaced the stale one after the waiter looked', () => {
  const file = lockFile();
  const staleRaw = writeLock(file, { pid: deadPid(), token: 'stale', created: Date.now() });
  // Another waiter broke the stale lock and a third process took the lock in between.
  const freshRaw = writeLock(file, { pid: process.pid, token: 'fresh', created: Date.now() });
  assert.ok(breakStaleLock(file, { raw: staleRaw }));
  assert.is(fs.readFileSync(file, 'utf8'), freshRaw);
  assert.not.ok(fs.existsSync(`${file}.break`), 'the breaker lock is released');
});

test('while another process holds the breaker, a waiter does not break; a breaker left by a dead process expires', async () => {
  const file = lockFile();
  const staleRaw = writeLock(file, { pid: deadPid(), token: 'stale', created: Date.now() });
  writeLock(`${file}.break`, { pid: process.pid, token: 'breaking', created: Date.now() });
  assert.not.ok(breakStaleLock(file, { raw: staleRaw }));
  assert.is(fs.readFileSync(file, 'utf8'), staleRaw);
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(`${file}.break`, old, old);
  const lock = await acquireLock(file, { timeoutMs: 2_000 });
  lock.release();
});

test('release leaves a lock file that is no longer ours', async () => {
  const file = lockFile();
  const lock = await acquireLock(file);
  const other = writeLock(file, { pid: process.pid, token: 'someone-else', created: Date.now() });
  lock.release();
  assert.is(fs.readFileSync(file, 'utf8'), other);
});

test('the holder records its process start time (Linux: boot id and /proc/<pid>/stat field 22)', async () => {
  const file = lockFile();
  const lock = await acquireLock(file);
  const owner = JSON.parse(fs.readFileSync(file, 'utf8'));
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  assert.is(owner.start, `${fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}:${ticks}`);
  lock.release();
});

test('a lock naming a live pid that is not its holder (another start time: the pid was reused) is broken at once', async () => {
  const file = lockFile();
  writeLock(file, { pid: process.ppid, token: 'reused', created: Date.now(), start: 'another-boot:12345' });
  // Not after staleMs: that is far beyond the wait, so getting the lock at all means the start time broke it.
  const lock = await acquireLock(file, { timeoutMs: 2_000, staleMs: 60_000 });
  assert.is(JSON.parse(fs.readFileSync(file, 'utf8')).token, lock.token);
  lock.release();
});

test('a lock of a live holder with its own start time is not broken; a killed holder with a start time is recovered at once', async () => {
  const file = lockFile();
  const child = spawn(process.execPath, [bundledWorker('lock-worker.ts'), 'hold', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()));
    const owner = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.is(owner.pid, child.pid);
    assert.type(owner.start, 'string');
    await timesOut(acquireLock(file, { timeoutMs: 150 }));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  // The killed holder's lock is seconds old and staleMs far beyond the wait: getting it at all means it was broken at once.
  (await acquireLock(file, { timeoutMs: 2_000, staleMs: 60_000 })).release();
});

test('holderGone: the decision per platform', () => {
  const mine = { pid: process.pid, token: 't', created: Date.now() };
  // Windows: the holder keeps its lock file open without sharing; content that could be read proves its handle is closed.
  assert.ok(holderGone({ ...mine, handle: true }, 'win32'));
  // A lock of an older version (no handle mark) falls back to the pid.
  assert.not.ok(holderGone({ ...mine }, 'win32'));
  assert.ok(holderGone({ ...mine, pid: deadPid() }, 'win32'));
  // Linux: the pid's start time must match.
  assert.ok(holderGone({ ...mine, pid: process.ppid, start: 'x:1' }, 'linux'));
  assert.ok(holderGone({ ...mine, pid: deadPid(), start: 'x:1' }, 'linux'));
  assert.not.ok(holderGone({ ...mine, pid: process.ppid }, 'linux'));
});

// Found by test/faults/damaged.test.ts: a directory at a pod's lock made every DEL of the pod fail.
test('a directory where the lock file should be holds no lock: it is removed and the lock taken', async () => {
  const file = lockFile();
  fs.mkdirSync(path.join(file, 'inside'), { recursive: true });
  const lock = await acquireLock(file, { timeoutMs: 500 });
  assert.ok(fs.statSync(file).isFile(), 'the lock is a file again');
  lock.release();
  assert.not.ok(fs.existsSync(file));
  assert.not.ok(fs.existsSync(`${file}.break`), 'the breaker is gone');
});

test('a lock file name too long for the file system is a typed CNI error naming the problem', async () => {
  const file = path.join(scratch, `pod-${'c'.repeat(300)}.lock`);
  const err = await cniError(acquireLock(file, { timeoutMs: 500 }));
  assert.is(err.code, 5);
  assert.match(err.message, 'too long');
});

test('modes do not depend on the umask: lock files 0600, directories made for them 0700', async () => {
  const old = process.umask(0);
  try {
    const file = lockFile();
    const lock = await acquireLock(file);
    assert.is(fs.statSync(file).mode & 0o777, 0o600);
    assert.is(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.is(fs.statSync(path.dirname(path.dirname(file))).mode & 0o777, 0o700);
    lock.release();
  } finally {
    process.umask(old);
  }
});

test.run();
