// One small record per attachment, written before anything is created and removed after it is
// all gone. HNS stays the source of truth for what exists; the record is a hint: it says which
// CNI_IFNAME an endpoint belongs to (one endpoint name serves a container on a network, so DEL of
// eth1 must not take eth0's endpoint), and marks the endpoint as ours for GC. A record that
// cannot be read (truncated, empty, garbage, a directory in its place) is reported and treated
// as absent, never fatal: DEL and GC then find the pod's endpoint by its name in HNS, and the
// next write replaces it.

import fs from 'node:fs';
import path from 'node:path';
import { mkdirPrivate, writeFileAtomic } from '../sys/atomic';
import type { Logger } from '../log/logger';
import { fileSafeId } from './identity';

export interface AttachmentRecord {
  containerId: string;
  ifName: string;
  netns: string;
  network: string;
  /** Set once the endpoint exists. */
  endpointId?: string;
  /** When ADD began (epoch ms). */
  created: number;
}

function dirOf(stateDir: string, network: string): string {
  return path.join(stateDir, 'attachments', fileSafeId(network));
}

function fileOf(stateDir: string, network: string, containerId: string): string {
  return path.join(dirOf(stateDir, network), `${fileSafeId(containerId)}.json`);
}

function isRecord(v: unknown): v is AttachmentRecord {
  const r = v as Partial<AttachmentRecord> | null;
  return !!r && typeof r === 'object' && typeof r.containerId === 'string' && typeof r.ifName === 'string' && typeof r.network === 'string'
    && typeof r.netns === 'string' && typeof r.created === 'number' && (r.endpointId === undefined || typeof r.endpointId === 'string');
}

/** The record at `file`, or undefined if there is none or it is damaged (then reported). */
function readAt(file: string, log?: Logger): AttachmentRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    log?.event('record-unreadable', { file, error: (err as Error).message, note: 'ignored; the pod is found by its endpoint name' }, 'warning');
    return undefined;
  }
  try {
    const r = JSON.parse(text) as unknown;
    if (isRecord(r)) return r;
  } catch {
    /* reported below */
  }
  log?.event('record-damaged', { file, bytes: text.length, note: 'ignored; the pod is found by its endpoint name, and the record is replaced' }, 'warning');
  return undefined;
}

export function readRecord(stateDir: string, network: string, containerId: string, log?: Logger): AttachmentRecord | undefined {
  const r = readAt(fileOf(stateDir, network, containerId), log);
  return r && r.containerId === containerId && r.network === network ? r : undefined;
}

export function writeRecord(stateDir: string, record: AttachmentRecord): void {
  const file = fileOf(stateDir, record.network, record.containerId);
  mkdirPrivate(path.dirname(file));
  // Something else where the record goes (a directory left by hand) would make every rename fail.
  if (fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() === false) fs.rmSync(file, { recursive: true, force: true });
  // Not flushed to disk: a record lost to a power cut is a hint lost (the node reboots without
  // its endpoints anyway, and GC clears what is left); an fsync would cost every pod start.
  writeFileAtomic(file, JSON.stringify(record), { durable: false });
}

export function removeRecord(stateDir: string, network: string, containerId: string): void {
  const file = fileOf(stateDir, network, containerId);
  fs.rmSync(file, { recursive: true, force: true });
  // A writer killed between creating its temporary file and renaming it (writeFileAtomic) leaves
  // `.<id>.json.<pid>.<random>.tmp` behind; the record's owner (under the pod lock) removes it too.
  const prefix = `.${path.basename(file)}.`;
  let names: string[] = [];
  try {
    names = fs.readdirSync(dirOf(stateDir, network));
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix) && n.endsWith('.tmp')) fs.rmSync(path.join(dirOf(stateDir, network), n), { force: true });
}

/** Every readable record of the network; damaged ones are reported and skipped. */
export function listRecords(stateDir: string, network: string, log?: Logger): AttachmentRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(dirOf(stateDir, network));
  } catch {
    return [];
  }
  const out: AttachmentRecord[] = [];
  for (const n of names) {
    if (!n.endsWith('.json') || n.startsWith('.')) continue;
    const r = readAt(path.join(dirOf(stateDir, network), n), log);
    if (r && r.network === network) out.push(r);
  }
  return out;
}

/** Record files of the network that do not hold a readable record, for GC to clear away. */
export function damagedRecords(stateDir: string, network: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dirOf(stateDir, network));
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => path.join(dirOf(stateDir, network), n)).filter((f) => !readAt(f));
}
