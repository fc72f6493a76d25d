// Cross-process locks on Linux and Windows. flock has no Windows twin in Node, so a lock is a file
// created with O_EXCL ('wx'), which both kernels create atomically: whoever creates it holds the
// lock. Its content ({pid, token, created}) lets waiters recognise a holder that died (crashed
// plugin, killed runtime) and lets the holder remove only its own file.
//
// Breaking a stale lock is the delicate part: two waiters may both judge the same file stale, and
// the first to delete it lets a third process take the lock at once; the second must not then
// delete that fresh lock. So breaking happens under a second lock (`<file>.break`), and the
// breaker deletes the file only if it still has exactly the content judged stale (the random
// token makes a new holder's content differ). The one case left unguarded is a live holder that
// outlives staleMs: its lock is broken by design, so staleMs must exceed any legitimate hold.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
/** Past this age a lock is broken even if its holder's pid is alive (the pid may have been reused). */
export const DEFAULT_LOCK_STALE_MS = 10 * 60_000;
const DEFAULT_POLL_MS = 5;
const MAX_POLL_MS = 50;
/** The breaker is held for a few synchronous calls; one this old lost its process. */
const BREAKER_STALE_MS = 5_000;
/** A lock file without readable content this long after creation lost its writer mid-way. */
const INCOMPLETE_GRACE_MS = 2_000;

/** CNI "try again later": a lock still held at the deadline is a busy node, not a failure. */
const CNI_TRY_AGAIN_LATER = 11;

export interface LockOptions {
  /** How long to wait for the lock (default 30 s). */
  timeoutMs?: number;
  /** Age after which a lock held by a live pid is broken anyway (default 10 min). */
  staleMs?: number;
  /** First wait between attempts; it grows (with jitter) to 50 ms. */
  pollMs?: number;
}

export interface LockOwner {
  pid: number;
  token: string;
  /** Epoch ms. */
  created: number;
}

export interface Lock {
  readonly file: string;
  readonly token: string;
  /** Removes the lock file if it is still ours; a second call does nothing. */
  release(): void;
}

export class LockTimeoutError extends Error {
  readonly cniCode = CNI_TRY_AGAIN_LATER;
  constructor(readonly file: string, readonly timeoutMs: number, readonly holder: LockOwner | undefined) {
    super(`lock ${file} is still held${holder ? ` by pid ${holder.pid}` : ''} after ${timeoutMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

/** What a waiter saw in the lock file: the raw text (compared when breaking) and its parse. */
interface Seen {
  raw: string;
  owner: LockOwner | undefined;
  mtimeMs: number;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function openExclusive(file: string): number {
  try {
    return fs.openSync(file, 'wx');
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, 'wx');
  }
}

/** Creates the file with `content` if it does not exist; false if someone else has it. */
function tryCreate(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openExclusive(file);
  } catch (err) {
    const code = errCode(err);
    // Windows answers EPERM while a deleted lock file is still open somewhere: still taken.
    if (code === 'EEXIST' || code === 'EPERM' || code === 'EACCES') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return true;
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.token === 'string' && typeof v.created === 'number') return v as LockOwner;
  } catch {
    /* being written, or garbage */
  }
  return undefined;
}

/** The lock file's state, or undefined if it is gone (or cannot be read right now). */
function look(file: string): Seen | undefined {
  try {
    // One descriptor for both, so the time and the text belong to the same file.
    const fd = fs.openSync(file, 'r');
    try {
      const mtimeMs = fs.fstatSync(fd).mtimeMs;
      const raw = fs.readFileSync(fd, 'utf8');
      return { raw, owner: parseOwner(raw), mtimeMs };
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') return undefined;
    throw err;
  }
}

/** EPERM means the process exists but belongs to someone else; only ESRCH proves it is gone. */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) !== 'ESRCH';
  }
}

function isStale(seen: Seen, staleMs: number, now = Date.now()): boolean {
  if (!seen.owner) return now - seen.mtimeMs > INCOMPLETE_GRACE_MS;
  return !pidAlive(seen.owner.pid) || now - seen.owner.created > staleMs;
}

function ownerContent(token: string): string {
  return JSON.stringify({ pid: process.pid, token, created: Date.now() } satisfies LockOwner);
}

function newToken(): string {
  return randomBytes(16).toString('hex');
}

function unlinkIfContent(file: string, raw: string): void {
  const now = look(file);
  if (now && now.raw === raw) fs.rmSync(file, { force: true });
}

/**
 * Deletes the lock file if it still holds exactly `seen` and that is still stale. Returns false
 * when another process is breaking it at the same time (the caller just tries again).
 * Exported for the tests, which replace the file between the look and the break.
 */
export function breakStaleLock(file: string, seen: { raw: string }, staleMs = DEFAULT_LOCK_STALE_MS): boolean {
  const breaker = `${file}.break`;
  const content = ownerContent(newToken());
  if (!tryCreate(breaker, content)) {
    const other = look(breaker);
    if (other && Date.now() - other.mtimeMs > BREAKER_STALE_MS) unlinkIfContent(breaker, other.raw);
    return false;
  }
  try {
    const again = look(file);
    if (again && again.raw === seen.raw && isStale(again, staleMs)) fs.rmSync(file, { force: true });
  } finally {
    unlinkIfContent(breaker, content);
  }
  return true;
}

class FileLock implements Lock {
  private released = false;
  constructor(readonly file: string, readonly token: string) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    const seen = look(this.file);
    if (seen?.owner?.token === this.token) fs.rmSync(this.file, { force: true, maxRetries: 5, retryDelay: 20 });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for the lock file `file` (its directory is created if needed). */
export async function acquireLock(file: string, opts: LockOptions = {}): Promise<Lock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = opts.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const deadline = Date.now() + timeoutMs;
  const token = newToken();
  let wait = opts.pollMs ?? DEFAULT_POLL_MS;
  for (;;) {
    if (tryCreate(file, ownerContent(token))) return new FileLock(file, token);
    const seen = look(file);
    if (seen && isStale(seen, staleMs) && breakStaleLock(file, seen, staleMs)) continue;
    if (Date.now() >= deadline) throw new LockTimeoutError(file, timeoutMs, seen?.owner);
    // Jitter keeps waiters that started together from retrying in lockstep.
    await sleep(Math.min(wait * (0.5 + Math.random()), Math.max(1, deadline - Date.now())));
    wait = Math.min(wait * 1.5, MAX_POLL_MS);
  }
}

/** Runs `fn` holding the lock, and releases it however `fn` ends. */
export async function withLock<T>(file: string, fn: () => Promise<T> | T, opts?: LockOptions): Promise<T> {
  const lock = await acquireLock(file, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
