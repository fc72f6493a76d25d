// The emulator's file primitives, counted: every read, stat, directory listing and write the
// emulated service does goes through here, so a test can show that a call's work does not grow
// with the number of objects on the host (test/unit/hns/emulator/scale.test.ts). Counters are
// per process; nothing here is on a plugin's path on Windows.

import { retryOnWindows, writeFileAtomic } from '../../../sys/atomic';
import fs from 'node:fs';
import path from 'node:path';

export interface IoCounters {
  /** Files read (whole), and their bytes. */
  reads: number;
  bytesRead: number;
  /** Existence checks. */
  stats: number;
  /** Directory listings, and the names they returned. */
  listings: number;
  namesListed: number;
  /** Files written (atomically or not) or removed. */
  writes: number;
  bytesWritten: number;
  removes: number;
}

const zero = (): IoCounters => ({ reads: 0, bytesRead: 0, stats: 0, listings: 0, namesListed: 0, writes: 0, bytesWritten: 0, removes: 0 });

let counters = zero();

/** A copy of the counters since the last reset. */
export function ioCounters(): IoCounters {
  return { ...counters };
}

export function resetIoCounters(): void {
  counters = zero();
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** The file's text, or undefined when it does not exist. */
export function readText(file: string): string | undefined {
  let text: string;
  try {
    text = retryOnWindows(() => fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') {
      counters.reads++;
      return undefined;
    }
    throw err;
  }
  counters.reads++;
  counters.bytesRead += Buffer.byteLength(text);
  return text;
}

/**
 * A file that does not parse: being written right now by a call that holds the lock (files are
 * written in place; a reader may see a prefix, which is never valid JSON), or left so by a call
 * that died, whose journal the next call replays. Readers that meet one try again under the lock.
 */
export class TornRead extends Error {
  constructor(readonly file: string, cause: string) {
    super(`${file} is not valid JSON: ${cause}`);
    this.name = 'TornRead';
  }
}

/** The parsed JSON file, or undefined when it does not exist; text that does not parse is a TornRead. */
export function readJson<T>(file: string): T | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new TornRead(file, (err as Error).message);
  }
}

export function exists(file: string): boolean {
  counters.stats++;
  return fs.existsSync(file);
}

/** Identity of a file (inode, size, modification time), or undefined when it does not exist. */
export function statOf(file: string): { ino: number; size: number; mtimeMs: number } | undefined {
  counters.stats++;
  try {
    const st = fs.statSync(file);
    return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** The names in a directory (none if it does not exist). */
export function list(dir: string): string[] {
  counters.listings++;
  try {
    const names = fs.readdirSync(dir);
    counters.namesListed += names.length;
    return names;
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return [];
    throw err;
  }
}

function mkdirFor(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
}

/**
 * Replaces the file: a temporary file beside it, renamed over it, so a reader sees the old text or
 * the new. `durable` also flushes it to disk first (the journal: the one write a crash must not
 * lose); the other files can be rebuilt from the journal, so they skip the fsync.
 */
export function writeAtomic(file: string, data: string, durable = false): void {
  counters.writes++;
  counters.bytesWritten += Buffer.byteLength(data);
  writeFileAtomic(file, data, { durable });
}

/**
 * Writes the file in place (created if needed): no temporary file, no rename, no new inode for a
 * file that exists. Only for files a journal covers (store.ts): a reader that sees it half written
 * gets a TornRead and retries under the lock.
 */
export function writeInPlace(file: string, data: string): void {
  counters.writes++;
  counters.bytesWritten += Buffer.byteLength(data);
  try {
    retryOnWindows(() => fs.writeFileSync(file, data, { mode: 0o600 }));
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
    mkdirFor(file);
    fs.writeFileSync(file, data, { mode: 0o600 });
  }
}

/** An empty marker file, whose name is its content (no reader parses it, so no rename needed). */
export function touch(file: string): void {
  counters.writes++;
  try {
    fs.writeFileSync(file, '', { mode: 0o600 });
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
    mkdirFor(file);
    fs.writeFileSync(file, '', { mode: 0o600 });
  }
}

export function remove(file: string): void {
  counters.removes++;
  retryOnWindows(() => fs.rmSync(file, { force: true }));
}

export function removeTree(dir: string): void {
  counters.removes++;
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
}
