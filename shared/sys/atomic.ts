// Files that readers in other processes may open at any moment: written whole to a temporary file
// beside the target and renamed over it, so a reader sees the old content or the new, never half.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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
function retryOnWindows<T>(fn: () => T): T {
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

function openExclusive(file: string): number {
  try {
    return fs.openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, 'wx');
  }
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
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openExclusive(tmp);
  try {
    try {
      writeAllSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    retryOnWindows(() => fs.renameSync(tmp, file));
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
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
