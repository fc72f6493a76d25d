// One JSON line per step of an invocation, appended to a file operators can find. Logging must
// never fail or slow down a pod: every error here is swallowed, and nothing goes to stdout.
// What we log is chosen field by field; the stdin document is never logged (it can carry secrets
// in pod annotations and args).
//
// Only a log file the plugin owns is written. The conf's logFile can name any absolute path, so:
//   - a new file is created whole: its first line goes to a temp file (0600) that is then linked
//     to the name (EEXIST: someone else created it first), so our log files are never empty;
//   - an existing file is appended to only if it is recognisably ours: a regular file (never a
//     symlink: O_NOFOLLOW on POSIX, lstat first on Windows, which has no O_NOFOLLOW), owned by
//     our user (POSIX), whose first line is one of our JSON lines ({"time":"<ISO>",...,"step":..});
//   - a folder is made for it only inside the documented log folder (LogOptions.logFolder: the
//     default log file's); elsewhere the file is created only in a folder that already exists,
//     so a conf cannot make a tree of folders anywhere;
//   - anything else is refused with a warning on stderr, and lines go to the default log file
//     (same rules; if that is refused too, nothing is logged). A refusal never fails the verb.
// A writer killed while creating a file leaves its temp file: making a new file, and GC
// (clearAbandonedTemps), remove those whose writer is gone.
// Rotation renames only files that are ours, and never renames over (or moves) a rotated slot
// `<file>.<n>` holding something that is not one of our logs.
// Directories made for the log are 0700 and the file 0600 whatever the umask. Windows ignores
// modes; a new file's ACL is set to Administrators and SYSTEM (once per file, at creation).

import fs from 'node:fs';
import { monotonicMs } from '../sys/clock';
import path from 'node:path';
import { createPrivate, mkdirPrivate, removeAbandonedTemps, tempFileName, tempFileTarget } from '../sys/atomic';
import { defaultLogFile } from '../sys/paths';

export interface LogOptions {
  file: string;
  /** Rotate when the file grows past this size. */
  maxBytes?: number;
  /** Rotated files kept: <file>.1 ... <file>.<keep>. */
  keep?: number;
  platform?: NodeJS.Platform;
  /** Where lines go when `file` is refused; default: the default log file (shared/sys/paths.ts). */
  fallback?: string;
  /** Told why a file is refused; default: stderr. */
  warn?: (message: string) => void;
  /**
   * The documented log folder: folders are made for a log file only inside it, and a file
   * elsewhere goes only in a folder that exists (else it is refused). Undefined: folders are made
   * wherever the file is (a path from the operator's own configuration, not a conf's).
   */
  logFolder?: string;
}

export type LogFields = Record<string, unknown>;

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_KEEP = 5;
const RETRY_AFTER_FAILURE_MS = 30_000;
/** How much of an existing file is read to recognise it as ours. */
const HEAD_BYTES = 4096;
const OUR_LINE_START = /^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",/;
const POSIX = process.platform !== 'win32';
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/** Why a file was not used; anything else thrown is an I/O failure. */
class Refused extends Error {}

type Kind = 'absent' | 'ours' | 'foreign';

export class Logger {
  private fd: number | undefined;
  /** The open file's size as far as this process knows: past maxBytes it is reopened, so rotated. */
  private size = 0;
  /** Logging is off (no file). */
  private readonly off: boolean;
  /** A write failed: lines are dropped until then (epoch ms), then the file is opened again. */
  private failedUntil = 0;
  private readonly started = monotonicMs();
  private first: LogFields | undefined;
  private readonly opts: Required<Omit<LogOptions, 'fallback' | 'logFolder'>> & Pick<LogOptions, 'fallback' | 'logFolder'>;

  /** `opts` null: a logger that drops everything (VERSION, unit tests). */
  constructor(opts: LogOptions | null, private readonly base: LogFields = {}) {
    this.off = opts === null;
    this.opts = { file: '', maxBytes: DEFAULT_MAX_BYTES, keep: DEFAULT_KEEP, platform: process.platform, warn: warnOnStderr, ...opts };
  }

  /** Fields for the next line only: the invocation's first line carries the host's OS build and HNS version. */
  once(fields: LogFields): void {
    this.first = { ...this.first, ...fields };
  }

  /** Adds fields to every later line (the network name once the conf is read, ...). */
  with(fields: LogFields): void {
    Object.assign(this.base, fields);
  }

  /** Runs one step and writes its line: duration, outcome, and the error if it threw. */
  async step<T>(step: string, fn: () => Promise<T> | T, fields?: LogFields | ((r: T) => LogFields)): Promise<T> {
    const t0 = monotonicMs();
    try {
      const r = await fn();
      this.write({ step, ms: round(monotonicMs() - t0), outcome: 'ok', ...(typeof fields === 'function' ? fields(r) : fields) });
      return r;
    } catch (err) {
      this.write({ step, ms: round(monotonicMs() - t0), outcome: 'error', error: errorText(err), ...(typeof fields === 'function' ? {} : fields) });
      throw err;
    }
  }

  /** `step` for synchronous work. */
  stepSync<T>(step: string, fn: () => T, fields?: LogFields): T {
    const t0 = monotonicMs();
    try {
      const r = fn();
      this.write({ step, ms: round(monotonicMs() - t0), outcome: 'ok', ...fields });
      return r;
    } catch (err) {
      this.write({ step, ms: round(monotonicMs() - t0), outcome: 'error', error: errorText(err), ...fields });
      throw err;
    }
  }

  event(step: string, fields: LogFields = {}, outcome = 'ok'): void {
    this.write({ step, outcome, ...fields });
  }

  /** The last line of an invocation, with its total duration. */
  finish(outcome: 'ok' | 'error', fields: LogFields = {}): void {
    this.write({ step: 'done', ms: round(monotonicMs() - this.started), outcome, ...fields });
    this.close();
  }

  /**
   * Removes what a writer killed while creating the log file left beside it: its temporary file
   * (createWith), `.<log name>.<writer>.<unique>.tmp`, once that writer is gone. Nothing else. GC
   * calls it; making a new log file does it too.
   */
  clearAbandonedTemps(): void {
    if (this.off) return;
    for (const file of new Set([this.opts.file, this.opts.fallback ?? defaultLogFile(process.env, this.opts.platform)])) clearCreationTemps(file, this.opts.platform);
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
  }

  private write(fields: LogFields): void {
    if (this.off || Date.now() < this.failedUntil) return;
    try {
      const line = JSON.stringify({ time: new Date().toISOString(), ...this.base, ...fields, ...this.first }) + '\n';
      this.first = undefined;
      if (this.fd === undefined) {
        const opened = this.open(line);
        this.fd = opened.fd;
        this.size = opened.size;
        if (opened.wrote) return;
      }
      this.size += fs.writeSync(this.fd, line);
      // A long-lived writer (the node agent) rotates as it goes: the next line reopens the file.
      if (this.size >= this.opts.maxBytes) this.close();
    } catch {
      // An unwritable log must not break pods: a plugin stops trying for its invocation, a
      // long-lived writer tries again a while later.
      this.close();
      this.failedUntil = Date.now() + RETRY_AFTER_FAILURE_MS;
    }
  }

  /** The configured file if it is ours (or new), else the default one; `wrote`: `line` is in it. */
  private open(line: string): { fd: number; wrote: boolean; size: number } {
    const file = this.opts.file;
    try {
      return this.openOwned(file, line);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      const fallback = this.opts.fallback ?? defaultLogFile(process.env, this.opts.platform);
      const same = path.resolve(fallback) === path.resolve(file);
      this.opts.warn(`not writing the log to ${file}: ${err.message}; ${same ? 'logging is off for this invocation' : `writing to ${fallback} instead`}`);
      if (same) throw err;
      try {
        return this.openOwned(fallback, line);
      } catch (again) {
        if (again instanceof Refused) this.opts.warn(`not writing the log to ${fallback} either: ${again.message}`);
        throw again;
      }
    }
  }

  /** Makes `file`'s folder where it may (LogOptions.logFolder); Refused where it is missing and may not be made. */
  private folderFor(file: string): void {
    const dir = path.dirname(file);
    const folder = this.opts.logFolder;
    if (folder === undefined || within(folder, dir, this.opts.platform)) {
      mkdirPrivate(dir);
      return;
    }
    const st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st) throw new Refused(`its folder ${dir} does not exist, and folders are made only under the log folder ${folder}`);
    if (!st.isDirectory()) throw new Refused(`${dir} is not a folder`);
  }

  private openOwned(file: string, line: string): { fd: number; wrote: boolean; size: number } {
    this.folderFor(file);
    // A few rounds: another process may create, rotate or remove the file between two steps.
    let rotated = false;
    for (let round = 0; round < 4; round++) {
      const existing = openIfOurs(file, this.base);
      if (existing === undefined) {
        const fd = createWith(file, line);
        if (fd === undefined) continue; // created by another process meanwhile
        restrictToAdministrators(file, this.opts.platform);
        clearCreationTemps(file, this.opts.platform);
        return { fd, wrote: true, size: Buffer.byteLength(line) };
      }
      if (existing.size < this.opts.maxBytes || rotated) return { fd: existing.fd, wrote: false, size: existing.size };
      fs.closeSync(existing.fd);
      this.rotate(file);
      rotated = true;
    }
    throw new Error(`${file} keeps changing`);
  }

  /**
   * `file` (ours, full) becomes `<file>.1`, older ones shift, at most `keep` are kept. Only the
   * process whose rename of `file` succeeds rotates; the others see it gone and move on.
   */
  private rotate(file: string): void {
    const kind = (n: number) => classify(`${file}.${n}`, this.base);
    if (kind(1) === 'foreign') {
      this.opts.warn(`not rotating ${file}: ${file}.1 is not one of our logs`);
      return;
    }
    const claimed = tempFileName(`${file}.rotating`);
    try {
      fs.renameSync(file, claimed);
    } catch {
      return;
    }
    for (let i = this.opts.keep - 1; i >= 1; i--) {
      // Never move a slot that is not ours, nor rename over one.
      if (kind(i) !== 'ours' || kind(i + 1) === 'foreign') continue;
      try {
        fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
      } catch {
        /* moved meanwhile */
      }
    }
    try {
      if (kind(1) === 'foreign') throw new Error('taken');
      fs.renameSync(claimed, `${file}.1`);
    } catch {
      // Put it back if nobody made a new file meanwhile; else it stays, ours, under its temp name.
      try {
        fs.linkSync(claimed, file);
        fs.rmSync(claimed, { force: true });
      } catch {
        /* left as is */
      }
    }
  }
}

function warnOnStderr(message: string): void {
  try {
    fs.writeSync(2, `cni-plugins: ${message}\n`);
  } catch {
    /* nowhere to say it */
  }
}

/**
 * Opens `file` for appending if it is one of our logs: its descriptor and size. Undefined if it
 * does not exist; Refused if it is not ours.
 */
function openIfOurs(file: string, base: LogFields): { fd: number; size: number } | undefined {
  if (!POSIX) {
    // No O_NOFOLLOW on Windows: refuse links (and junctions) before opening.
    try {
      if (!fs.lstatSync(file).isFile()) throw new Refused('it is not a regular file (a link or a directory)');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new Refused('it is a symbolic link');
    if (code === 'EISDIR') throw new Refused('it is a directory');
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    const why = notOurs(fd, st, base);
    if (why) throw new Refused(why);
    return { fd, size: st.size };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Why the open file is not one of our logs, or undefined if it is. */
function notOurs(fd: number, st: fs.Stats, base: LogFields): string | undefined {
  if (!st.isFile()) return 'it is not a regular file';
  if (POSIX && typeof process.geteuid === 'function' && st.uid !== process.geteuid()) return `it belongs to user ${st.uid}`;
  const buf = Buffer.alloc(HEAD_BYTES);
  const head = buf.toString('utf8', 0, fs.readSync(fd, buf, 0, HEAD_BYTES, 0));
  if (!OUR_LINE_START.test(head)) return 'it is not one of our logs (its first line is not ours)';
  const nl = head.indexOf('\n');
  if (nl < 0) return undefined; // a first line longer than we read: its start is ours
  try {
    const first = JSON.parse(head.slice(0, nl)) as Record<string, unknown>;
    if (typeof first.step !== 'string') return 'it is not one of our logs (its first line is not ours)';
    if (typeof base.plugin === 'string' && typeof first.plugin !== 'string') return 'it is not one of our logs (no plugin field)';
  } catch {
    return 'it is not one of our logs (its first line is not ours)';
  }
  return undefined;
}

/** What is at a rotated slot: nothing, one of our logs, or anything else. */
function classify(file: string, base: LogFields): Kind {
  try {
    const opened = openIfOurs(file, base);
    if (!opened) return 'absent';
    fs.closeSync(opened.fd);
    return 'ours';
  } catch {
    return 'foreign';
  }
}

/**
 * Creates `file` holding `line`, never empty: written to a temp file (0600) linked to the name.
 * Its descriptor (open for appending), or undefined if someone else created the file first.
 */
function createWith(file: string, line: string): number | undefined {
  const tmp = tempFileName(file);
  const fd = createPrivate(tmp, fs.constants.O_APPEND | O_NOFOLLOW);
  try {
    fs.writeSync(fd, line);
    fs.linkSync(tmp, file);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  fs.rmSync(tmp, { force: true });
  return fd;
}

/** Whether `dir` is `folder` or inside it (Windows: case-insensitively). */
function within(folder: string, dir: string, platform: NodeJS.Platform): boolean {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const norm = (x: string) => (platform === 'win32' ? p.resolve(x).toLowerCase() : p.resolve(x));
  const rel = p.relative(norm(folder), norm(dir));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${p.sep}`) && !p.isAbsolute(rel));
}

/** clearAbandonedTemps for one log file; never fails. */
function clearCreationTemps(file: string, platform: NodeJS.Platform): void {
  const dir = path.dirname(file);
  const name = path.basename(file);
  try {
    const ours = fs.readdirSync(dir).filter((n) => tempFileTarget(n) === name);
    if (ours.length) removeAbandonedTemps(dir, ours, { platform });
  } catch {
    /* nothing to clear, or nothing we may clear */
  }
}

/**
 * Log files are created readable by administrators only. POSIX: mode 0600 at creation.
 * Windows ignores the mode, so the new file's inherited ACL is replaced once, at creation,
 * with full control for Administrators and SYSTEM only.
 */
function restrictToAdministrators(file: string, platform: NodeJS.Platform): void {
  if (platform !== 'win32') return;
  const system = process.env.SystemRoot || 'C:\\Windows';
  // Loaded here, not at the top: only Windows pays for child_process, and only when a log file is created.
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  spawnSync(path.win32.join(system, 'System32', 'icacls.exe'), [file, '/inheritance:r', '/grant:r', '*S-1-5-32-544:F', '*S-1-5-18:F'], { stdio: 'ignore', windowsHide: true, timeout: 5000 });
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
