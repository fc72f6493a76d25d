// Whether the process that left a file behind is gone: a pid alone proves nothing (Windows reuses
// pids within seconds, Linux after a wrap), so on Linux a writer is also named by its start
// identity, `<boot id>:<start time in clock ticks>` (field 22 of /proc/<pid>/stat): the pid gone,
// or alive but started at another time or in another boot, means the writer is dead. Locks record
// it in their content (shared/sys/lock.ts); temporary files, which may be killed before they have
// content, carry it in their name (shared/sys/atomic.ts tempFileName). A process reads its own
// identity once (the first temp file or lock it makes: one small /proc read); another's only when
// a file of it is judged, never on the uncontended path.

import fs from 'node:fs';

/** EPERM means the process exists but belongs to someone else; only ESRCH proves it is gone. */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

let bootId: string | undefined;

/** `<boot id>:<start time in clock ticks>` of a Linux process, or undefined if unknown. */
export function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    bootId ??= fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so count after the last ')'.
  const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return ticks && /^\d+$/.test(ticks) ? `${bootId}:${ticks}` : undefined;
}

let ownStart: string | null | undefined;

/** This process's start identity (Linux; undefined elsewhere or when /proc cannot be read). */
export function selfStart(): string | undefined {
  if (ownStart === undefined) ownStart = (process.platform === 'linux' ? processStart(process.pid) : undefined) ?? null;
  return ownStart ?? undefined;
}

/**
 * Whether two start identities name the same process start. A recorded boot id may be shortened
 * to its first 8 or more characters (file names carry it so); the start ticks must be equal.
 */
export function sameStart(recorded: string, now: string): boolean {
  const [rb, rt] = recorded.split(':');
  const [nb, nt] = now.split(':');
  return rt === nt && !!rb && rb.length >= 8 && !!nb && nb.startsWith(rb);
}

/**
 * Whether the process `pid`, recorded with start identity `start`, is certainly gone. Without a
 * start identity, or where the current one cannot be read, only a pid no process has proves it.
 */
export function processGone(pid: number, start: string | undefined, platform: NodeJS.Platform = process.platform): boolean {
  if (!pidAlive(pid)) return true;
  if (platform === 'linux' && start !== undefined) {
    const now = processStart(pid);
    // Unknown (unreadable /proc): "alive" stands.
    if (now !== undefined && !sameStart(start, now)) return true;
  }
  return false;
}
