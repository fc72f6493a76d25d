// Cross-process locks on Linux and Windows. flock has no Windows twin in Node, so a lock is a file
// created with O_EXCL, which both kernels create atomically: whoever creates it holds the lock.
// Its content ({pid, token, created, and the holder's identity below}) lets waiters recognise a
// holder that died (crashed plugin, killed runtime) and lets the holder remove only its own file.
//
// Recognising a dead holder at once. A pid alone proves nothing: Windows reuses pids within
// seconds, so a lock naming a pid that now belongs to an unrelated live process would block every
// verb of that pod or network until staleMs. The holder is therefore tied to its process, cheaply
// (no child process, no FFI, nothing extra on the uncontended path beyond what is listed):
//   - Linux: the lock records `start`, the holder's boot id and process start time (field 22 of
//     /proc/<pid>/stat, in clock ticks since boot; both read once per process). A waiter reads
//     /proc/<pid>/stat of the recorded pid: gone, or started at another time (or boot), means
//     the pid was reused and the holder is dead (shared/sys/process.ts, which temporary files
//     use too).
//   - Windows: no cheap start time without a child process (wmic/PowerShell: hundreds of ms) or
//     loading the FFI (OpenProcess + GetProcessTimes through koffi). Instead the holder creates
//     the file with libuv's UV_FS_O_EXLOCK (share mode 0) and KEEPS IT OPEN until release: while
//     it lives nobody else can open (or delete) the file, so a waiter that can open and read it
//     has proof that the holder's handle is closed, which the kernel does when the process dies.
//     Such a lock records `handle: true`. (A sharing violation reads as EBUSY: "held".)
// A lock without either mark (an older version of the suite, or /proc unreadable) falls back to
// "pid alive" plus staleMs, as before.
//
// Breaking a stale lock is the delicate part: two waiters may both judge the same file stale, and
// the first to delete it lets a third process take the lock at once; the second must not then
// delete that fresh lock. So breaking happens under a second lock (`<file>.break`), and the
// breaker deletes the file only if it still has exactly the content judged stale (the random
// token makes a new holder's content differ). The one case left unguarded is a live holder that
// outlives staleMs: its lock is broken by design, so staleMs must exceed any legitimate hold.
//
// Lock files are 0600 and the directories made for them 0700, whatever the umask (Windows ignores
// modes: the state folder is beside the binaries, writable by administrators only). A directory
// (or anything else but a file) where the lock file should be holds no lock, since locks are
// files: it is removed, under the breaker lock, so that a damaged state folder cannot keep a pod
// undeletable. One that cannot be removed, a name too long for the file system, or any other
// failure to create the file is a CniError (code 5) naming the file, not a stack trace.

import { uniqueSuffix } from './clock';
import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../cni/errors';
import { createPrivate, mkdirPrivate, sleepSync } from './atomic';
import { processGone, selfStart } from './process';

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

const WINDOWS = process.platform === 'win32';
/** libuv's UV_FS_O_EXLOCK on Windows (uv/win.h): CreateFile with share mode 0. Node does not export it. */
const UV_FS_O_EXLOCK_WIN32 = 0x10000000;

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
  /** Linux: `<boot id>:<start time in ticks>` of the holder process. */
  start?: string;
  /** Windows: the holder keeps the file open without sharing until it releases it. */
  handle?: boolean;
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
  /** Something that is not a file (a directory) is where the lock file should be. */
  notFile?: boolean;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function lockError(file: string, err: unknown): CniError {
  const code = errCode(err);
  if (code === 'ENAMETOOLONG') {
    return new CniError(ErrorCode.IoFailure, `cannot create lock file ${file}: its name is too long for the file system (ENAMETOOLONG); the container ID or network name it is made from is too long`);
  }
  return new CniError(ErrorCode.IoFailure, `cannot create lock file ${file}: ${(err as Error).message}`);
}

function openExclusive(file: string, flags: number): number {
  try {
    return createPrivate(file, flags);
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
    mkdirPrivate(path.dirname(file));
    return createPrivate(file, flags);
  }
}

/**
 * Creates the file with `content` if it does not exist; undefined if someone else has it. With
 * `hold` on Windows the file is created unshared and its descriptor returned open (see the header).
 */
function tryCreate(file: string, content: string, hold: boolean): { fd?: number } | undefined {
  let fd: number;
  try {
    fd = openExclusive(file, hold && WINDOWS ? UV_FS_O_EXLOCK_WIN32 : 0);
  } catch (err) {
    const code = errCode(err);
    if (code === 'EEXIST') return undefined;
    // Windows answers EPERM while a deleted lock file is still open somewhere, EBUSY while an
    // unshared one is: still taken.
    if (WINDOWS && (code === 'EPERM' || code === 'EACCES' || code === 'EBUSY')) return undefined;
    throw lockError(file, err);
  }
  try {
    fs.writeSync(fd, content);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw lockError(file, err);
  }
  if (hold && WINDOWS) return { fd };
  fs.closeSync(fd);
  return {};
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.token === 'string' && typeof v.created === 'number') {
      if (v.start !== undefined && typeof v.start !== 'string') return undefined;
      return v as LockOwner;
    }
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
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return { raw: '', owner: undefined, mtimeMs: st.mtimeMs, notFile: true };
      const mtimeMs = st.mtimeMs;
      const raw = fs.readFileSync(fd, 'utf8');
      return { raw, owner: parseOwner(raw), mtimeMs };
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if (err instanceof CniError) throw err;
    const code = errCode(err);
    if (code === 'EISDIR') return { raw: '', owner: undefined, mtimeMs: 0, notFile: true };
    if (code === 'ENOENT' || code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') return undefined;
    throw new CniError(ErrorCode.IoFailure, `cannot read lock file ${file}: ${(err as Error).message}`);
  }
}

/**
 * Whether the holder named in a lock file that could be read is certainly dead (see the header).
 * Exported for the tests, which pass the platform whose rule they check.
 */
export function holderGone(owner: LockOwner, platform: NodeJS.Platform = process.platform): boolean {
  // Readable content of a lock created unshared: the holder's handle is closed.
  if (platform === 'win32' && owner.handle === true) return true;
  // Unknown start (unreadable /proc): "alive" stands; staleMs still applies.
  return processGone(owner.pid, owner.start, platform);
}

function isStale(seen: Seen, staleMs: number, now = Date.now()): boolean {
  if (!seen.owner) return now - seen.mtimeMs > INCOMPLETE_GRACE_MS;
  return holderGone(seen.owner) || now - seen.owner.created > staleMs;
}

function ownerContent(token: string): string {
  const owner: LockOwner = { pid: process.pid, token, created: Date.now() };
  if (WINDOWS) owner.handle = true;
  else {
    const start = selfStart();
    if (start) owner.start = start;
  }
  return JSON.stringify(owner);
}

/** The breaker's content: it is judged by age only, and never held open. */
function breakerContent(token: string): string {
  return JSON.stringify({ pid: process.pid, token, created: Date.now() } satisfies LockOwner);
}

function newToken(): string {
  return `${uniqueSuffix()}${Math.random().toString(36).slice(2, 10)}`;
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
  return underBreaker(file, () => {
    const again = look(file);
    if (again && !again.notFile && again.raw === seen.raw && isStale(again, staleMs)) fs.rmSync(file, { force: true });
  });
}

/**
 * Runs `clear` holding the lock's breaker file `<file>.break`, so that of several waiters only one
 * removes anything from the lock's place. Returns false (without running it) when another process
 * holds the breaker; a breaker left by a killed process is removed for the next try.
 */
function underBreaker(file: string, clear: () => void): boolean {
  const breaker = `${file}.break`;
  const content = breakerContent(newToken());
  if (!tryCreate(breaker, content, false)) {
    const other = look(breaker);
    if (other && Date.now() - other.mtimeMs > BREAKER_STALE_MS) unlinkIfContent(breaker, other.raw);
    return false;
  }
  try {
    clear();
  } finally {
    unlinkIfContent(breaker, content);
  }
  return true;
}

/**
 * Removes what is not a file (a directory) where the lock file `file` should be, under the same
 * breaker as breakStaleLock (so a lock file another waiter creates meanwhile is never removed).
 * Returns false when another process holds the breaker; throws a CniError naming the file if it
 * cannot be removed.
 */
function clearNonFile(file: string): boolean {
  return underBreaker(file, () => {
    try {
      const st = fs.lstatSync(file, { throwIfNoEntry: false });
      if (st && !st.isFile()) fs.rmSync(file, { recursive: true, force: true });
    } catch (err) {
      throw new CniError(ErrorCode.IoFailure, `lock file ${file} is not a regular file (a directory?) and cannot be removed: ${(err as Error).message}; remove it`);
    }
  });
}

/** Non-files cleared from one lock's place before it counts as something that keeps coming back. */
const MAX_CLEARS = 5;

class FileLock implements Lock {
  private released = false;
  constructor(readonly file: string, readonly token: string, private fd: number | undefined) {}

  /** Never throws: a lock file left behind is recognised as its holder's once the holder is gone. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      // Windows: close first (nobody, this process included, can open or delete the unshared file
      // meanwhile). A waiter may then break it before we remove it: harmless, we are done with it.
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      const seen = look(this.file);
      if (seen?.owner?.token === this.token) fs.rmSync(this.file, { force: true, maxRetries: 5, retryDelay: 20 });
    } catch {
      /* see above */
    }
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
  let clears = 0;
  for (;;) {
    const made = tryCreate(file, ownerContent(token), true);
    if (made) return new FileLock(file, token, made.fd);
    const seen = look(file);
    if (seen?.notFile) {
      if (clearNonFile(file)) {
        if (++clears > MAX_CLEARS) throw new CniError(ErrorCode.IoFailure, `lock file ${file} is not a regular file (a directory?) and keeps coming back: remove what makes it`);
        continue;
      }
    } else if (seen && isStale(seen, staleMs) && breakStaleLock(file, seen, staleMs)) continue;
    if (Date.now() >= deadline) throw new LockTimeoutError(file, timeoutMs, seen?.owner);
    // Jitter keeps waiters that started together from retrying in lockstep.
    await sleep(Math.min(wait * (0.5 + Math.random()), Math.max(1, deadline - Date.now())));
    wait = Math.min(wait * 1.5, MAX_POLL_MS);
  }
}

/**
 * One attempt without waiting, for callers that cannot await (a synchronous read of shared
 * state): the lock, or undefined while a live holder has it. A dead holder's lock, or a non-file
 * in its place, is cleared first, as acquireLock does.
 */
export function tryLockSync(file: string, opts: Pick<LockOptions, 'staleMs'> = {}): Lock | undefined {
  const staleMs = opts.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const token = newToken();
  for (let attempt = 0; attempt < 2; attempt++) {
    const made = tryCreate(file, ownerContent(token), true);
    if (made) return new FileLock(file, token, made.fd);
    const seen = look(file);
    const cleared = seen?.notFile ? clearNonFile(file) : !!seen && isStale(seen, staleMs) && breakStaleLock(file, seen, staleMs);
    if (!cleared && seen) return undefined;
  }
  return undefined;
}

/**
 * Runs `fn` holding the lock, for callers that cannot await: tryLockSync every `pollMs` (default
 * 5 ms, without backoff: such locks are held for milliseconds), blocking the thread meanwhile;
 * LockTimeoutError at the deadline, as acquireLock.
 */
export function withLockSync<T>(file: string, fn: () => T, opts: LockOptions = {}): T {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = tryLockSync(file, opts);
    if (lock) {
      try {
        return fn();
      } finally {
        lock.release();
      }
    }
    if (Date.now() > deadline) throw new LockTimeoutError(file, timeoutMs, look(file)?.owner);
    sleepSync(opts.pollMs ?? DEFAULT_POLL_MS);
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
