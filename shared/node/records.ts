// What the agent made, kept in a file so that a restarted agent adopts it instead of making it
// again, and so that it removes only its own: a route or policy that is on the node but not in
// this record belongs to someone else (flanneld, an operator, another agent) and is never touched.
//
// Additions are recorded before they are made (state "adding") and confirmed after; a record that
// says "adding" for something that is not on the node was never made, and is dropped. A crash
// between a removal and the record's update leaves an entry for something gone, dropped the same
// way. So the record never claims what someone else made, whatever moment the agent dies at.

import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile, tempFileName } from '../sys/atomic';
import type { RemoteSubnetRouteSettings } from '../hns/model/policy';

export interface OwnedRoute {
  destinationPrefix: string;
  nextHop: string;
  interfaceIndex: number;
  interfaceLuid: string;
  state: 'adding' | 'added';
}

export interface OwnedPolicy {
  /** The network the policy was added to (a re-created network has none of them). */
  networkId: string;
  settings: RemoteSubnetRouteSettings;
  state: 'adding' | 'added';
}

export interface OwnershipRecord {
  version: 1;
  network: string;
  mode: string;
  routes: OwnedRoute[];
  policies: OwnedPolicy[];
}

export function emptyRecord(network: string, mode: string): OwnershipRecord {
  return { version: 1, network, mode, routes: [], policies: [] };
}

/** The record file's reader and writer; the content is only ever replaced whole (temp file + rename). */
export class RecordStore {
  constructor(readonly file: string) {}

  load(network: string, mode: string): OwnershipRecord {
    const r = readJsonFile<OwnershipRecord | undefined>(this.file, undefined);
    if (!r || r.version !== 1 || !Array.isArray(r.routes) || !Array.isArray(r.policies)) return emptyRecord(network, mode);
    return r;
  }

  /**
   * Replaced whole (temp file, then rename: a reader sees the old record or the new), without an
   * fsync: a process that dies loses nothing (the page cache outlives it), and a power loss is a
   * reboot, after which Windows has dropped the routes made at run time and the non-persistent
   * overlay network with its policies, so a record a few writes old claims only things that are
   * gone, and the next full pass drops them. An fsync would cost a watch event milliseconds.
   */
  save(r: OwnershipRecord): void {
    const tmp = tempFileName(this.file);
    try {
      fs.writeFileSync(tmp, `${JSON.stringify(r)}\n`, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(tmp, `${JSON.stringify(r)}\n`, { mode: 0o600 });
    }
    try {
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }
}
