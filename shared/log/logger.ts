// One JSON line per step of an invocation, appended to a file operators can find. Logging must
// never fail or slow down a pod: every error here is swallowed, and nothing goes to stdout.
// What we log is chosen field by field; the stdin document is never logged (it can carry secrets
// in pod annotations and args).

import fs from 'node:fs';
import path from 'node:path';

export interface LogOptions {
  file: string;
  /** Rotate when the file grows past this size. */
  maxBytes?: number;
  /** Rotated files kept: <file>.1 ... <file>.<keep>. */
  keep?: number;
  platform?: NodeJS.Platform;
}

export type LogFields = Record<string, unknown>;

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_KEEP = 5;

export class Logger {
  private fd: number | undefined;
  /** Set when logging is off or the file could not be written: later lines are dropped. */
  private failed: boolean;
  private readonly started = performance.now();
  private readonly opts: Required<LogOptions>;

  /** `opts` null: a logger that drops everything (VERSION, unit tests). */
  constructor(opts: LogOptions | null, private readonly base: LogFields = {}) {
    this.failed = opts === null;
    this.opts = { file: '', maxBytes: DEFAULT_MAX_BYTES, keep: DEFAULT_KEEP, platform: process.platform, ...opts };
  }

  /** Adds fields to every later line (the network name once the conf is read, ...). */
  with(fields: LogFields): void {
    Object.assign(this.base, fields);
  }

  /** Runs one step and writes its line: duration, outcome, and the error if it threw. */
  async step<T>(step: string, fn: () => Promise<T> | T, fields?: LogFields | ((r: T) => LogFields)): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await fn();
      this.write({ step, ms: round(performance.now() - t0), outcome: 'ok', ...(typeof fields === 'function' ? fields(r) : fields) });
      return r;
    } catch (err) {
      this.write({ step, ms: round(performance.now() - t0), outcome: 'error', error: errorText(err), ...(typeof fields === 'function' ? {} : fields) });
      throw err;
    }
  }

  /** `step` for synchronous work. */
  stepSync<T>(step: string, fn: () => T, fields?: LogFields): T {
    const t0 = performance.now();
    try {
      const r = fn();
      this.write({ step, ms: round(performance.now() - t0), outcome: 'ok', ...fields });
      return r;
    } catch (err) {
      this.write({ step, ms: round(performance.now() - t0), outcome: 'error', error: errorText(err), ...fields });
      throw err;
    }
  }

  event(step: string, fields: LogFields = {}, outcome = 'ok'): void {
    this.write({ step, outcome, ...fields });
  }

  /** The last line of an invocation, with its total duration. */
  finish(outcome: 'ok' | 'error', fields: LogFields = {}): void {
    this.write({ step: 'done', ms: round(performance.now() - this.started), outcome, ...fields });
    this.close();
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
    if (this.failed) return;
    try {
      const line = JSON.stringify({ time: new Date().toISOString(), ...this.base, ...fields }) + '\n';
      if (this.fd === undefined) this.fd = this.open();
      fs.writeSync(this.fd, line);
    } catch {
      // An unwritable log must not break pods; stop trying for this invocation.
      this.failed = true;
    }
  }

  private open(): number {
    const file = this.opts.file;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
    this.rotateIfLarge(file);
    let created = false;
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      fd = fs.openSync(file, 'a', 0o600);
    }
    if (created) restrictToAdministrators(file, this.opts.platform);
    return fd;
  }

  private rotateIfLarge(file: string): void {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return;
    }
    if (size < this.opts.maxBytes) return;
    // Only the process whose rename succeeds rotates; the others see the file gone and move on.
    const claimed = `${file}.rotating.${process.pid}`;
    try {
      fs.renameSync(file, claimed);
    } catch {
      return;
    }
    for (let i = this.opts.keep - 1; i >= 1; i--) {
      try {
        fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
      } catch {
        /* not there yet */
      }
    }
    fs.renameSync(claimed, `${file}.1`);
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
