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

const ROUTE_STATES = new Set(['adding', 'added']);

/** Why an entry of the record's `routes` is not an OwnedRoute, if it is not. */
function badRoute(r: unknown): string | undefined {
  const o = r as Partial<OwnedRoute> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return 'is not an object';
  if (typeof o.destinationPrefix !== 'string' || typeof o.nextHop !== 'string') return 'has no destinationPrefix and nextHop';
  if (typeof o.interfaceIndex !== 'number' || typeof o.interfaceLuid !== 'string') return 'has no interfaceIndex and interfaceLuid';
  return ROUTE_STATES.has(o.state as string) ? undefined : 'has no state "adding" or "added"';
}

function badPolicy(p: unknown): string | undefined {
  const o = p as Partial<OwnedPolicy> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return 'is not an object';
  if (typeof o.networkId !== 'string') return 'has no networkId';
  const st = o.settings as Partial<RemoteSubnetRouteSettings> | undefined;
  if (!st || typeof st !== 'object' || typeof st.DestinationPrefix !== 'string' || typeof st.ProviderAddress !== 'string' || typeof st.DistributedRouterMacAddress !== 'string' || typeof st.IsolationId !== 'number') return 'has no RemoteSubnetRoute settings';
  return ROUTE_STATES.has(o.state as string) ? undefined : 'has no state "adding" or "added"';
}

/** Why a parsed file is not a record of version 1, naming the first bad entry, if it is not. */
function damageOf(r: OwnershipRecord | null): string | undefined {
  if (!r || typeof r !== 'object' || r.version !== 1 || !Array.isArray(r.routes) || !Array.isArray(r.policies)) return 'is not an ownership record of version 1';
  for (const [i, e] of r.routes.entries()) {
    const why = badRoute(e);
    if (why) return `routes[${i}] ${why}`;
  }
  for (const [i, e] of r.policies.entries()) {
    const why = badPolicy(e);
    if (why) return `policies[${i}] ${why}`;
  }
  return undefined;
}

/** Set-aside copies of damaged records kept beside the record (the newest), for the operator to look at. */
const DAMAGED_KEPT = 3;

/** The record file's reader and writer; the content is only ever replaced whole (temp file + rename, fsync), the generation before kept as `<file>.prev`. */
export class RecordStore {
  constructor(readonly file: string) {}

  /**
   * The record, or an empty one when there is none or it cannot be read as one (`damaged` says
   * why, naming the first bad entry): the agent must start whatever the file holds.
   */
  load(network: string, mode: string): { record: OwnershipRecord; damaged?: string; from?: string } {
    const main = this.read(this.file, network, mode);
    if (!main.damaged) return main;
    // The generation before (save keeps it): what the agent owned one write ago, its own proof.
    const prev = fs.existsSync(this.previous) ? this.read(this.previous, network, mode) : undefined;
    if (prev && !prev.damaged) return { record: prev.record, damaged: main.damaged, from: this.previous };
    return main;
  }

  private get previous(): string {
    return `${this.file}.prev`;
  }

  private read(file: string, network: string, mode: string): { record: OwnershipRecord; damaged?: string } {
    let r: OwnershipRecord | undefined;
    try {
      r = readJsonFile<OwnershipRecord | undefined>(file, undefined);
    } catch (err) {
      return { record: emptyRecord(network, mode), damaged: (err as Error).message };
    }
    if (r === undefined) return { record: emptyRecord(network, mode) };
    const damage = damageOf(r);
    if (damage) return { record: emptyRecord(network, mode), damaged: `${file}: ${damage}` };
    return { record: r };
  }

  /**
   * Moves a damaged record out of the way (`<file>.damaged-<time>`, whatever it is: a file, a
   * directory), so the next save can be made and the operator can still see what it held; keeps
   * the newest few. Returns the name it now has, or undefined when there was nothing to move.
   */
  setAside(): string | undefined {
    if (!fs.existsSync(this.file)) return undefined;
    const aside = `${this.file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(this.file, aside);
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.damaged-`;
    const old = fs.readdirSync(dir).filter((f) => f.startsWith(prefix)).sort().slice(0, -DAMAGED_KEPT);
    for (const f of old) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    return aside;
  }

  /**
   * Replaced whole (temp file, flushed, then renamed: a reader sees the old record or the new,
   * and a power cut cannot leave the new name on empty content).
   */
  save(r: OwnershipRecord): void {
    this.keepPrevious();
    writeFileAtomic(this.file, `${JSON.stringify(r)}\n`);
  }

  /** The record as it is becomes `<file>.prev` (a second link, then a rename: O(1) whatever its size), so one damaged file never loses what the agent owns. */
  private keepPrevious(): void {
    const tmp = `${this.previous}.tmp`;
    try {
      fs.rmSync(tmp, { force: true });
      fs.linkSync(this.file, tmp);
      fs.renameSync(tmp, this.previous);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fs.rmSync(tmp, { force: true });
    }
  }
}
