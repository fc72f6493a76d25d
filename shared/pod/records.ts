// One small record per attachment, written before anything is created and removed after it is
// all gone. HNS stays the source of truth for what exists; the record only says which
// CNI_IFNAME an endpoint belongs to (one endpoint name serves a container on a network, so DEL of
// eth1 must not take eth0's endpoint), and marks the endpoint as ours for GC.

import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeFileAtomic } from '../sys/atomic';

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
  return path.join(stateDir, 'attachments', network);
}

function fileOf(stateDir: string, network: string, containerId: string): string {
  return path.join(dirOf(stateDir, network), `${containerId}.json`);
}

export function readRecord(stateDir: string, network: string, containerId: string): AttachmentRecord | undefined {
  return readJsonFile<AttachmentRecord | undefined>(fileOf(stateDir, network, containerId), undefined);
}

export function writeRecord(stateDir: string, record: AttachmentRecord): void {
  const file = fileOf(stateDir, record.network, record.containerId);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify(record));
}

export function removeRecord(stateDir: string, network: string, containerId: string): void {
  fs.rmSync(fileOf(stateDir, network, containerId), { force: true });
  // A writer killed between creating its temporary file and renaming it (writeFileAtomic) leaves
  // `.<id>.json.<pid>.<random>.tmp` behind; the record's owner (under the pod lock) removes it too.
  const prefix = `.${containerId}.json.`;
  let names: string[] = [];
  try {
    names = fs.readdirSync(dirOf(stateDir, network));
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix) && n.endsWith('.tmp')) fs.rmSync(path.join(dirOf(stateDir, network), n), { force: true });
}

export function listRecords(stateDir: string, network: string): AttachmentRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(dirOf(stateDir, network));
  } catch {
    return [];
  }
  const out: AttachmentRecord[] = [];
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    const r = readRecord(stateDir, network, n.slice(0, -5));
    if (r) out.push(r);
  }
  return out;
}
