// The agent's log: JSON lines like the plugins' (shared/log/logger.ts: same file rules, same
// rotation at 10 MiB with 5 kept, done as the file grows), to its own file, optionally mirrored to
// stderr for a DaemonSet's `kubectl logs`. Warnings and errors also go to stderr as one readable line.

import { writeStderr } from '../../shared/cni/stdio';
import { errorText, Logger, type LogFields } from '../../shared/log/logger';

export class AgentLog {
  private readonly logger: Logger;

  constructor(file: string, private readonly base: LogFields, private readonly mirror: boolean) {
    this.logger = new Logger({ file, warn: (m) => this.stderr(`log: ${m}`) }, { ...base });
  }

  event(step: string, fields: LogFields = {}, outcome = 'ok'): void {
    this.logger.event(step, fields, outcome);
    if (this.mirror) this.stderr(JSON.stringify({ time: new Date().toISOString(), ...this.base, step, outcome, ...fields }), true);
    else if (outcome !== 'ok') this.stderr(`${step}: ${outcome}${fields.error ? `: ${String(fields.error)}` : ''}`);
  }

  warn(step: string, message: string, fields: LogFields = {}): void {
    this.event(step, { ...fields, error: message }, 'warning');
  }

  error(step: string, err: unknown, fields: LogFields = {}): void {
    this.event(step, { ...fields, error: errorText(err) }, 'error');
  }

  /** A line for humans on stderr (not the JSON log). */
  stderr(text: string, raw = false): void {
    writeStderr(raw ? `${text}\n` : `cni-agent: ${text}\n`);
  }

  close(): void {
    this.logger.close();
  }
}
