// Files that readers in other processes may open at any moment: written whole to a temporary file
// beside the target and renamed over it (or linked to a new name), so a reader sees the old
// content or the new, never half, and a name never appears on empty content.
//
// Modes are set explicitly, never left to the umask: files 0600, directories we create 0700. The
// mode given to open/mkdir is filtered by the umask, so files get an fchmod and new directories a
// chmod after creation. Windows ignores modes: there the state lives beside the binaries, in a
// folder only administrators write (shared/sys/paths.ts), and no ACL is changed on the hot path.

import fs from 'node:fs';
import { uniqueId } from './clock';
import path from 'node:path';
import { processGone, selfStart } from './process';

/** Codes Windows gives while another process has the file open or a delete is pending. */
const WINDOWS_TRANSIENT = new Set(['EPERM', 'EACCES', 'EBUSY']);
const WINDOWS_RETRY_MS = 1_000;

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function transientOnWindows(err: unknown): boolean {
  return process.platform === 'win32' && WINDOWS_TRANSIENT.has((err as NodeJS.ErrnoException).code ?? '');
}

/** Runs `fn`, retrying for up to a second while Windows reports a sharing conflict. */
export function retryOnWindows<T>(fn: () => T): T {
  const deadline = Date.now() + WINDOWS_RETRY_MS;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      return fn();
    } catch (err) {
      if (!transientOnWindows(err) || Date.now() >= deadline) throw err;
      sleepSync(wait);
    }
  }
}

const POSIX = process.platform !== 'win32';
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * `mkdir -p` whose new directories are 0700 whatever the umask. Directories that already exist
 * keep their mode: they may not be ours (a data directory shared with host-local).
 */
export function mkdirPrivate(dir: string): void {
  mkdirWithMode(dir, PRIVATE_DIR_MODE);
}

/** `mkdir -p` whose new directories get `mode` whatever the umask; existing ones keep theirs. */
export function mkdirWithMode(dir: string, mode: number): void {
  // Node's own recursive mkdir loops forever where the kernel answers ENOENT to a parent it just
  // reported as existing (paths under /proc): the folders are made here one at a time instead.
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = fs.statSync(d, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw err;
      continue;
    }
    if (POSIX) fs.chmodSync(d, mode);
  }
}

/** Opens `file` with O_CREAT|O_EXCL (plus `extraFlags`) as 0600 whatever the umask. */
export function createPrivate(file: string, extraFlags = 0): number {
  const c = fs.constants;
  const fd = fs.openSync(file, c.O_WRONLY | c.O_CREAT | c.O_EXCL | extraFlags, PRIVATE_FILE_MODE);
  if (POSIX) {
    try {
      fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }
  return fd;
}

function openExclusive(file: string): number {
  try {
    return createPrivate(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirPrivate(path.dirname(file));
    return createPrivate(file);
  }
}

/**
 * Who writes a temporary file, as part of its name: `<pid>`, and on Linux `-<start ticks>-<first 8
 * characters of the boot id>` (shared/sys/process.ts), so a sweeper can tell a dead writer's file
 * from one being written even when the pid has been reused. A file killed before it has content
 * says it in its name.
 */
function writerTag(): string {
  const start = selfStart();
  if (!start) return String(process.pid);
  const [boot, ticks] = start.split(':');
  return `${process.pid}-${ticks}-${boot!.slice(0, 8)}`;
}

/** The temporary file beside `file`: `.<name>.<writer>.<unique>.tmp` (writerTag). */
export function tempFileName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${writerTag()}.${uniqueId()}.tmp`);
}

export interface TempFile {
  /** The name the temporary file was made for. */
  target: string;
  pid: number;
  /** `<boot id prefix>:<start ticks>`, when the name carries it. */
  start?: string;
}

/** What a temporary file's name says (tempFileName), or undefined if `name` is not one. */
export function parseTempFileName(name: string): TempFile | undefined {
  // Names of earlier versions carry the pid alone.
  const m = /^\.(.+)\.(\d+)(?:-(\d+)-([0-9a-f]{8}))?\.[0-9a-z]+\.tmp$/.exec(name);
  if (!m) return undefined;
  return m[3] ? { target: m[1]!, pid: Number(m[2]), start: `${m[4]}:${m[3]}` } : { target: m[1]!, pid: Number(m[2]) };
}

/** The target name of a temporary file made by tempFileName, or undefined if `name` is not one. */
export function tempFileTarget(name: string): string | undefined {
  return parseTempFileName(name)?.target;
}

/**
 * Whether the process that made the temporary file `name` is certainly gone: no process has its
 * pid, or (Linux) the one that has it started at another time or in another boot.
 */
export function tempWriterGone(name: string, platform: NodeJS.Platform = process.platform): boolean {
  const t = parseTempFileName(name);
  return !!t && processGone(t.pid, t.start, platform);
}

/**
 * Removes those of the temporary files `names` in `dir` (tempFileName's: the caller picks which
 * names are its own) whose writer is provably gone, and with `olderThanMs` those last changed
 * longer ago than that, whoever wrote them. Returns the names removed.
 */
export function removeAbandonedTemps(dir: string, names: string[], opts: { olderThanMs?: number; platform?: NodeJS.Platform } = {}): string[] {
  const now = Date.now();
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const mtimeMs = opts.olderThanMs === undefined ? undefined : fs.lstatSync(file, { throwIfNoEntry: false })?.mtimeMs;
    const old = mtimeMs !== undefined && now - mtimeMs > opts.olderThanMs!;
    if (!old && !tempWriterGone(name, opts.platform)) continue;
    fs.rmSync(file, { force: true });
    removed.push(name);
  }
  return removed;
}

function writeAllSync(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

/**
 * Replaces `file` with `data`: temp file in the same directory (rename is only atomic within one
 * file system), written, flushed to disk (so a crash cannot leave the new name on empty content),
 * then renamed over the target. The directory is created if it is missing.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: { durable?: boolean; mode?: number } = {}): void {
  const tmp = tempFileName(file);
  const fd = openExclusive(tmp);
  try {
    try {
      // A file others read (a conflist) gets its mode before it has its name.
      if (opts.mode !== undefined && POSIX) fs.fchmodSync(fd, opts.mode);
      writeAllSync(fd, data);
      // durable: false for files whose loss in a power cut is harmless (hints read tolerantly):
      // the rename alone already makes a killed process leave the old content or the new.
      if (opts.durable !== false) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    retryOnWindows(() => fs.renameSync(tmp, file));
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Creates `file` with `data` if no file of that name exists, atomically and never empty: the data
 * goes to a temp file in the same directory (0600), is flushed to disk, and the temp file is then
 * hard-linked to `file`. link() fails with EEXIST when the name is taken, so of several processes
 * exactly one creates it (the same on NTFS). A process killed midway leaves at most its temp file,
 * never an empty `file`. Returns false if `file` already existed.
 *
 * `keepTempAs`: instead of removing the temp file, rename it to this name, so that name and `file`
 * stay two links of one file (same dev and ino): a proof, later, that `file` is the one made here.
 * The directory must exist.
 */
export function createFileAtomic(file: string, data: string | Uint8Array, opts: { keepTempAs?: string } = {}): boolean {
  const tmp = tempFileName(file);
  const fd = createPrivate(tmp);
  try {
    try {
      writeAllSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.linkSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  if (opts.keepTempAs) {
    try {
      fs.renameSync(tmp, opts.keepTempAs);
      return true;
    } catch {
      /* the name stays unproven; the file itself is made */
    }
  }
  fs.rmSync(tmp, { force: true });
  return true;
}

/** The parsed content of a JSON file, or `fallback` when it does not exist. Invalid JSON throws: it is never silently replaced. */
export function readJsonFile<T>(file: string, fallback: T): T {
  let text: string;
  try {
    text = retryOnWindows(() => fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}
