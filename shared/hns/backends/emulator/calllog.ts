// calls.log: one JSON line per call, so tests and benchmarks can assert exactly what the plugins
// sent and how long the emulated service took. Appends of one short line are not interleaved
// between processes (O_APPEND), so no lock is needed.

import fs from 'node:fs';
import path from 'node:path';
import { fileIn } from './store';

export interface CallRecord {
  /** ISO time the call ended. */
  time: string;
  pid: number;
  /** The HCN function without `Hcn` (`CreateEndpoint`), or `HNSCall`. */
  op: string;
  /** The object the call concerned (for Create: the ID it got). */
  id?: string;
  /** The Name of the document, when it has one. */
  name?: string;
  /** The document sent (parsed when it is JSON); for HNSCall `{method, path, request}`. */
  doc?: unknown;
  ms: number;
  /** `0x803B0010`; `0x00000000` for success. */
  hr: string;
}

export function appendCall(dir: string, rec: CallRecord): void {
  const file = fileIn(dir, 'calls');
  const line = `${JSON.stringify(rec)}\n`;
  try {
    fs.appendFileSync(file, line);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return; // the call happened; a lost log line must not undo it
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, line);
  }
}

export function readCalls(dir: string): CallRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(fileIn(dir, 'calls'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as CallRecord);
}
