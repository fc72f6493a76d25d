// What the agent made, kept in a file so that a restarted agent adopts it instead of making it
// again, and so that it removes only its own: a route or policy that is on the node but not in
// this record belongs to someone else (flanneld, an operator, another agent) and is never touched.
//
// Additions are recorded before they are made (state "adding") and confirmed after; a record that
// says "adding" for something that is not on the node was never made, and is dropped. A crash
// between a removal and the record's update leaves an entry for something gone, dropped the same
// way. So the record never claims what someone else made, whatever moment the agent dies at.
//
// A watch event changes one or two entries of a record of thousands: rewriting the whole file
// (twice, flushed) was most of what such an event cost at 5,000 Nodes. So a change is appended to
// a journal beside the record (`<file>.journal`, one JSON line per change, flushed when the record
// must not lose it) and the record is rewritten whole only now and then (or on a full pass). Each
// whole record carries a generation; a journal line counts only for the generation it names, so
// a crash between a rewrite and the journal's removal never replays old lines over the new record.

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
  /** Counts whole writes: the journal lines of this generation apply to it (absent: 0). */
  generation?: number;
  network: string;
  mode: string;
  routes: OwnedRoute[];
  policies: OwnedPolicy[];
}

/** One journal line: entries put (added, or their state changed) or dropped, by identity. */
export interface RecordChange {
  put?: { routes?: OwnedRoute[]; policies?: OwnedPolicy[] };
  drop?: { routes?: OwnedRoute[]; policies?: OwnedPolicy[] };
}

interface JournalLine extends RecordChange {
  g: number;
}

/** The journal is folded into a whole record once it holds this many entries. */
const COMPACT_AFTER = 1024;

/** An entry's identity in the record: the fields that make it the same route or policy (as written by the agent, one spelling). */
const routeKey = (r: OwnedRoute) => `${r.destinationPrefix}|${r.nextHop}|${r.interfaceIndex}`;
const policyKey = (p: OwnedPolicy) => `${p.networkId.toUpperCase()}|${p.settings.DestinationPrefix}|${p.settings.IsolationId}|${p.settings.ProviderAddress}|${p.settings.DistributedRouterMacAddress}`;

function applyList<T>(list: T[], key: (x: T) => string, put: T[] | undefined, drop: T[] | undefined): T[] {
  if (!put?.length && !drop?.length) return list;
  const byKey = new Map(list.map((x) => [key(x), x]));
  for (const x of drop ?? []) byKey.delete(key(x));
  for (const x of put ?? []) byKey.set(key(x), x);
  return [...byKey.values()];
}

/** The record with one journal line applied. */
function applyChange(r: OwnershipRecord, c: RecordChange): OwnershipRecord {
  return { ...r, routes: applyList(r.routes, routeKey, c.put?.routes, c.drop?.routes), policies: applyList(r.policies, policyKey, c.put?.policies, c.drop?.policies) };
}

function changeSize(c: RecordChange): number {
  return (c.put?.routes?.length ?? 0) + (c.put?.policies?.length ?? 0) + (c.drop?.routes?.length ?? 0) + (c.drop?.policies?.length ?? 0);
}

/** Why a journal line is not one, if it is not. */
function badLine(l: JournalLine | null): string | undefined {
  if (!l || typeof l !== 'object' || typeof l.g !== 'number') return 'is not a journal line';
  for (const part of [l.put, l.drop]) {
    if (part === undefined) continue;
    if (!part || typeof part !== 'object') return 'has a put or drop that is not an object';
    for (const e of part.routes ?? []) {
      const why = badRoute(e);
      if (why) return `has a route that ${why}`;
    }
    for (const e of part.policies ?? []) {
      const why = badPolicy(e);
      if (why) return `has a policy that ${why}`;
    }
  }
  return undefined;
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
  if (r.generation !== undefined && (typeof r.generation !== 'number' || !Number.isInteger(r.generation) || r.generation < 0)) return 'has a generation that is not a whole number';
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

/** The record file's reader and writer: the file is only ever replaced whole (temp file + rename, fsync), the generation before kept as `<file>.prev`; changes between are appended to `<file>.journal`. */
export class RecordStore {
  /** Entries in the journal since the last whole write. */
  private journaled = 0;

  constructor(readonly file: string) {}

  get journalFile(): string {
    return `${this.file}.journal`;
  }

  /**
   * The record, or an empty one when there is none or it cannot be read as one (`damaged` says
   * why, naming the first bad entry): the agent must start whatever the file holds.
   */
  load(network: string, mode: string): { record: OwnershipRecord; damaged?: string; from?: string } {
    const main = this.read(this.file, network, mode);
    if (!main.damaged) {
      const g = main.record.generation ?? 0;
      const r = this.replay(main.record, [[this.journalFile, (lg) => lg === g]]);
      this.journaled = r.entries;
      return r.damaged ? { record: r.record, damaged: r.damaged, from: `${this.file} and the ${r.lines} journal line(s) before the bad one` } : { record: r.record };
    }
    // The generation before (save keeps it, with its journal): what the agent owned one write
    // ago, its own proof; then the changes journaled since the damaged one was written.
    const prev = fs.existsSync(this.previous) ? this.read(this.previous, network, mode) : undefined;
    const base = prev && !prev.damaged ? prev.record : emptyRecord(network, mode);
    const g = base.generation ?? 0;
    // The journal beside the damaged record holds its changes (of a later generation than the one
    // before) or, after a crash mid-rewrite, those of the one before itself: both apply.
    const r = this.replay(base, [[this.previousJournal, (lg) => lg === g], [this.journalFile, (lg) => lg >= g]]);
    const from = [prev && !prev.damaged ? this.previous : 'an empty record', r.lines ? `${r.lines} journal line(s)` : ''].filter(Boolean).join(' and ');
    return { record: r.record, damaged: main.damaged, from };
  }

  private get previous(): string {
    return `${this.file}.prev`;
  }

  private get previousJournal(): string {
    return `${this.previous}.journal`;
  }

  /**
   * The record with journal lines applied, from each file those of the generations that apply. A last
   * line may be torn (the agent died writing it: the change it announced was never made, since
   * the agent goes on only once the line is written); a bad line before the last is damage, and
   * what came before it is kept.
   */
  private replay(base: OwnershipRecord, sources: [file: string, applies: (generation: number) => boolean][]): { record: OwnershipRecord; entries: number; lines: number; damaged?: string } {
    let record = base;
    let entries = 0;
    let applied = 0;
    for (const [file, applies] of sources) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        return { record, entries, lines: applied, damaged: `${file}: ${(err as Error).message}` };
      }
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const [i, raw] of lines.entries()) {
        let line: JournalLine | null = null;
        let why: string | undefined;
        try {
          line = JSON.parse(raw) as JournalLine;
          why = badLine(line);
        } catch {
          why = 'is not JSON';
        }
        const torn = i === lines.length - 1 && !text.endsWith('\n');
        if (why && torn) break;
        if (why) return { record, entries, lines: applied, damaged: `${file}: line ${i + 1} ${why}` };
        if (!applies(line!.g)) continue;
        record = applyChange(record, line!);
        entries += changeSize(line!);
        applied++;
      }
    }
    return { record, entries, lines: applied };
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
   * Records a change: appended to the journal (flushed to disk when `durable`: what the agent is
   * about to make, or an entry it no longer owns), or, once the journal is long, the whole record
   * written. `r` is the record with the change already applied in memory.
   */
  change(r: OwnershipRecord, c: RecordChange, durable: boolean): void {
    const n = changeSize(c);
    if (n === 0) return;
    if (this.journaled + n > COMPACT_AFTER || !fs.existsSync(this.file)) {
      this.save(r);
      return;
    }
    const line: JournalLine = { g: r.generation ?? 0, ...c };
    const fd = fs.openSync(this.journalFile, 'a', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(line)}\n`);
      if (durable) fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.journaled += n;
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
    // Its journal goes with it: its lines belong to the record set aside.
    if (fs.existsSync(this.journalFile)) fs.renameSync(this.journalFile, `${aside}.journal`);
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.damaged-`;
    const old = fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && !f.endsWith('.journal')).sort().slice(0, -DAMAGED_KEPT);
    for (const f of old) for (const name of [f, `${f}.journal`]) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    return aside;
  }

  /**
   * Replaced whole (temp file, flushed, then renamed: a reader sees the old record or the new,
   * and a power cut cannot leave the new name on empty content).
   */
  save(r: OwnershipRecord): void {
    // The record as it is becomes `<file>.prev` and its journal `<file>.prev.journal`, so one
    // damaged file never loses what the agent owns. The old record is linked aside first (a second
    // name: O(1) whatever its size), the new one written, then the names moved: a crash at any
    // point leaves the new record or the old one with its journal.
    const tmp = `${this.previous}.tmp`;
    let linked = false;
    try {
      fs.rmSync(tmp, { force: true });
      fs.linkSync(this.file, tmp);
      linked = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') fs.rmSync(tmp, { force: true });
    }
    // A new generation: the journal's lines, of the one before, no longer apply to it.
    r.generation = (r.generation ?? 0) + 1;
    writeFileAtomic(this.file, `${JSON.stringify(r)}\n`);
    if (linked) {
      fs.renameSync(tmp, this.previous);
      if (fs.existsSync(this.journalFile)) fs.renameSync(this.journalFile, this.previousJournal);
      else fs.rmSync(this.previousJournal, { force: true });
    } else {
      // No record before (the first, or one set aside as damaged): the generation before is this
      // one, a copy (not a second link: damage written into the file in place must not reach it).
      writeFileAtomic(this.previous, `${JSON.stringify(r)}\n`);
      fs.rmSync(this.previousJournal, { force: true });
    }
    fs.rmSync(this.journalFile, { force: true });
    this.journaled = 0;
  }
}
