// Runs a plugin the way a runtime does: no arguments, the CNI_* environment of §8.1 E(cmd), the
// request on stdin (or a stdin that stays open, or arrives a byte at a time), stdout and stderr
// captured, a deadline.

import { spawn } from 'node:child_process';

export type StdinMode = 'close' | 'open' | 'chunked';

export interface ExecRequest {
  binary: string;
  /** Plugins take none (§8.1); a wrapper (strace) around one does. */
  args?: string[];
  env: Record<string, string>;
  stdin: Buffer;
  stdinMode?: StdinMode;
  timeoutMs?: number;
  cwd?: string;
  /** Kill the process (SIGKILL) this many ms after it started. */
  killAfterMs?: number;
}

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
  killed: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export function execute(r: ExecRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(r.binary, r.args ?? [], { env: r.env, cwd: r.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let killed = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, r.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const killer = r.killAfterMs !== undefined ? setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, r.killAfterMs) : undefined;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      if (chunkTimer) clearTimeout(chunkTimer);
      resolve({
        code, signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        timedOut, killed,
      });
    });
    child.stdin.on('error', () => undefined);
    let chunkTimer: NodeJS.Timeout | undefined;
    const mode = r.stdinMode ?? 'close';
    if (mode === 'close') child.stdin.end(r.stdin);
    else if (mode === 'open') child.stdin.write(r.stdin);
    else {
      // One byte per write, with a pause every 16 bytes: the plugin must read until EOF.
      let i = 0;
      const step = () => {
        if (child.stdin.destroyed) return;
        const end = Math.min(i + 16, r.stdin.length);
        for (; i < end; i++) child.stdin.write(r.stdin.subarray(i, i + 1));
        if (i >= r.stdin.length) child.stdin.end();
        else chunkTimer = setTimeout(step, 3);
      };
      step();
    }
  });
}

/** `exit 1, stdout {...}, stderr ...` for failure messages, shortened. */
export function describe(o: Outcome, max = 400): string {
  const clip = (s: string) => {
    const t = s.trim().replace(/\s+/g, ' ');
    return t.length > max ? `${t.slice(0, max)}…` : t;
  };
  const status = o.timedOut ? 'timed out (killed)' : o.signal ? `killed by ${o.signal}` : `exit ${o.code}`;
  const parts = [status, `stdout ${o.stdout.trim() ? JSON.stringify(clip(o.stdout)) : '(empty)'}`];
  if (o.stderr.trim()) parts.push(`stderr ${JSON.stringify(clip(o.stderr))}`);
  return parts.join(', ');
}
