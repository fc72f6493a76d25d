// What the agent made, kept in a file so that a restarted agent adopts it instead of making it
// again, and so that it removes only its own: a route or policy that is on the node but not in
// this record belongs to someone else (flanneld, an operator, another agent) and is never touched.
//
// Additions are recorded before they are made (state "adding") and confirmed after; a record that
// says "adding" for something that is not on the node was never made, and is dropped. A crash
// between a removal and the record's update leaves an entry for something gone, dropped the same
// way. So the record never claims what someone else made, whatever moment the agent dies at.

import { readJsonFile, writeFileAtomic } from '../sys/atomic';
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

  /**
   * The record, or an empty one when there is none or it cannot be read as one (`damaged` says
   * why): the agent must start whatever the file holds. Without a record, what it made before
   * counts as someone else's and is left alone, never removed by mistake.
   */
  load(network: string, mode: string): { record: OwnershipRecord; damaged?: string } {
    let r: OwnershipRecord | undefined;
    try {
      r = readJsonFile<OwnershipRecord | undefined>(this.file, undefined);
    } catch (err) {
      return { record: emptyRecord(network, mode), damaged: (err as Error).message };
    }
    if (r === undefined) return { record: emptyRecord(network, mode) };
    if (!r || r.version !== 1 || !Array.isArray(r.routes) || !Array.isArray(r.policies)) return { record: emptyRecord(network, mode), damaged: `${this.file} is not an ownership record of version 1` };
    return { record: r };
  }

  /**
   * Replaced whole (temp file, then rename: a reader sees the old record or the new), without an
   * fsync: a process that dies loses nothing (the page cache outlives it), and a power loss is a
   * reboot, after which Windows has dropped the routes made at run time and the non-persistent
   * overlay network with its policies, so a record a few writes old claims only things that are
   * gone, and the next full pass drops them. An fsync would cost a watch event milliseconds.
   */
  save(r: OwnershipRecord): void {
    writeFileAtomic(this.file, `${JSON.stringify(r)}\n`, { durable: false });
  }
}
