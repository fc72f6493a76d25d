// The agent's log: JSON lines like the plugins' (shared/log/logger.ts: same file rules, same
// rotation at 10 MiB with 5 kept), to its own file, optionally mirrored to stderr for a
// DaemonSet's `kubectl logs`. The plugins' Logger checks a file's size when it opens it; a process
// that runs for months reopens it every so many lines, so the rotation happens all the same.
// Warnings and errors also go to stderr as one readable line.

import fs from 'node:fs';
import { Logger, type LogFields } from '../../shared/log/logger';

const REOPEN_EVERY = 2_000;

export class AgentLog {
  private logger: Logger;
  private lines = 0;

  constructor(private readonly file: string | null, private readonly base: LogFields, private readonly mirror: boolean) {
    this.logger = this.open();
  }

  private open(): Logger {
    return new Logger(this.file === null ? null : { file: this.file, warn: (m) => this.stderr(`log: ${m}`) }, { ...this.base });
  }

  with(fields: LogFields): void {
    Object.assign(this.base, fields);
    this.logger.with(fields);
  }

  event(step: string, fields: LogFields = {}, outcome = 'ok'): void {
    if (++this.lines % REOPEN_EVERY === 0) {
      this.logger.close();
      this.logger = this.open();
    }
    this.logger.event(step, fields, outcome);
    if (this.mirror) this.stderr(JSON.stringify({ time: new Date().toISOString(), ...this.base, step, outcome, ...fields }), true);
    else if (outcome !== 'ok') this.stderr(`${step}: ${outcome}${fields.error ? `: ${String(fields.error)}` : ''}`);
  }

  warn(step: string, message: string, fields: LogFields = {}): void {
    this.event(step, { ...fields, error: message }, 'warning');
  }

  error(step: string, err: unknown, fields: LogFields = {}): void {
    this.event(step, { ...fields, error: err instanceof Error ? err.message : String(err) }, 'error');
  }

  /** A line for humans on stderr (not the JSON log). */
  stderr(text: string, raw = false): void {
    try {
      fs.writeSync(2, raw ? `${text}\n` : `cni-agent: ${text}\n`);
    } catch {
      /* nowhere to say it */
    }
  }

  close(): void {
    this.logger.close();
  }
}
