// The emulated service's files. Many plugin processes use one emulator directory at once (as
// containerd starts many pods at once), and a big node holds thousands of objects (kube-proxy
// makes a remote endpoint per pod of the cluster), so the state is one small file per object
// plus small indexes, and a call reads and writes only the few files it concerns:
//
//   config.json        optional knobs (config.ts); faults.json fault injection (faults.ts);
//   calls.log          one JSON line per call (calllog.ts); service.json "service down" (admin.ts)
//   state.lock         held by every call that changes something (and while faults are consumed)
//   store/meta.json    {format, seq, nextCompartmentId, nextMacPool}
//   store/obj/<kind>/<ID>.json        {seq, doc, ix, fill?}: the object as the service outputs it,
//                                     its creation number, the index entries it owns
//   store/ix/order/<kind>/<seq>.<ID>  creation order (empty marker files; the name is the data)
//   store/ix/name/<kind>/<sha>.json   [[seq, ID], ...] objects with that Name
//   store/ix/net/<NET>/<seq>.<ID>     the endpoints of a network
//   store/ix/ip/<NET>/<ip>.json       [[seq, ID, remote], ...] endpoints of a network holding an IP
//   store/ix/mac/<NET>/<mac>.json     [[seq, ID], ...] endpoints of a network holding a MAC
//   store/ix/port/<key>.json          [[seq, ID], ...] endpoints holding a host port mapping
//   store/ix/default/<ID>             HostDefault namespaces (the IsDefault filter)
//   store/ix/alloc/<NET>.json         allocation hints: the lowest possibly free IP per subnet and
//                                     MAC per pool range, so allocation never scans what is taken
//   store/journal.json                the file changes of the call being committed
//
// Crash safety: a call's changes are collected, written to journal.json, then applied (files
// written in place, created or removed), then the journal is emptied. A process that dies in
// between leaves the journal, and the next call replays it before anything else (every change is
// idempotent), so the files never stay half-changed; a journal that was itself cut off is
// dropped (nothing of it was applied yet). Nothing is fsync'd: a process may die at any point,
// but the page cache survives it; a power loss is a reboot, after which a real host has lost its
// endpoints too.
//
// Readers (Enumerate, Open, Query) take no lock; writers take state.lock (shared/sys/lock.ts).
// Changes are applied in an order (index removals, object writes, index writes, object removals)
// in which an index never names an object that does not exist yet; a reader that catches a file
// while it is being rewritten cannot parse it (a prefix of JSON is never JSON) and reads again
// under the lock (TornRead).
//
// A state.json (the emulator's previous whole-state format, or a copy of one) found in a
// directory without a store yet is imported at the next call and removed.

import path from 'node:path';
import type { ObjectKind } from '../../api';
import type { HostComputeEndpoint } from '../../model/endpoint';
import type { HostComputeNamespace } from '../../model/namespace';
import type { HostComputeNetwork } from '../../model/network';
import { NatFlags, type NetworkPolicy, Protocol } from '../../model/policy';
import { formatIp, type Ip, parseIp } from '../../../net/ip';
import { type LockOptions, withLock, withLockSync } from '../../../sys/lock';
import { type EmulatorConfig, readConfig } from './config';
import { exists, list, readJson, readText, remove, removeTree, statOf, TornRead, touch, writeInPlace } from './fsio';
import { HcnFailure } from './failure';
import { newGuid } from './guid';
import { isRemote, serviceStamp } from './objects';
import { isDirty, markDirty, realizeIfDirty } from './plane';

export { readConfig } from './config';

const FILES = {
  state: 'state.json',
  lock: 'state.lock',
  config: 'config.json',
  faults: 'faults.json',
  calls: 'calls.log',
  service: 'service.json',
  store: 'store',
} as const;

export function fileIn(dir: string, name: keyof typeof FILES): string {
  return path.join(dir, FILES[name]);
}

/** The whole state, as tests, benchmarks and hnsctl read it (EmulatorAdmin.readState). */
export interface EmulatorState {
  /** Keyed by the upper-case ID, in creation order. */
  networks: Record<string, HostComputeNetwork>;
  endpoints: Record<string, HostComputeEndpoint>;
  namespaces: Record<string, HostComputeNamespace>;
  /** Compartment ID for the next namespace; 1 is the host's default compartment. */
  nextCompartmentId: number;
  /** Each network without a MacPool gets the next default pool. */
  nextMacPool: number;
}

/** A fresh host's counters: compartment 1 is the host's default, so namespaces get 2 on; the first default MAC pool. */
export const FRESH_COUNTERS = { nextCompartmentId: 2, nextMacPool: 0 } as const;

function emptyState(): EmulatorState {
  return { networks: {}, endpoints: {}, namespaces: {}, ...FRESH_COUNTERS };
}

export type ObjectOf<K extends ObjectKind> = K extends 'Network' ? HostComputeNetwork : K extends 'Endpoint' ? HostComputeEndpoint : HostComputeNamespace;
type AnyDoc = HostComputeNetwork | HostComputeEndpoint | HostComputeNamespace;

/** Service-filled network policies that appear some time after create (config providerAddressDelayMs). */
export interface Fill {
  /** Epoch ms from which they are there. */
  at: number;
  policies: NetworkPolicy[];
}

export interface Rec<T = AnyDoc> {
  seq: number;
  doc: T;
  /** The index files (relative to store/) this object has an entry in. */
  ix: string[];
  fill?: Fill;
}

interface Meta {
  format: 2;
  seq: number;
  nextCompartmentId: number;
  nextMacPool: number;
}

/** An index entry: [creation number, ID, kind-specific flag]. */
type Entry = [number, string, number?];

export interface AllocHints {
  /** Per subnet prefix: the offset below which every usable address is taken. */
  ip: Record<string, string>;
  /** Per MacPool range (index): the offset below which every MAC is taken. */
  mac: Record<string, number>;
}

const KIND_DIR: Record<ObjectKind, string> = { Network: 'network', Endpoint: 'endpoint', Namespace: 'namespace' };
const META = 'meta.json';
export const JOURNAL = 'journal.json';

const pad = (seq: number) => String(seq).padStart(12, '0');
/**
 * A name as an index file name: itself where it is plain (lower-case letters, digits, `.`, `_`,
 * `-`), every other byte as `%XX` (upper-case letters too: Windows file names ignore case), and a
 * hash of the whole past 120 characters. Exact, so an index lookup needs no second check.
 */
function nameKey(name: string): string {
  const plain = Array.from(Buffer.from(name, 'utf8'), (b) => (/[a-z0-9._-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  if (plain.length <= 120) return `n-${plain}`;
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return `h-${createHash('sha256').update(name).digest('hex')}`;
}

/** `4-0a0a0a07`: the address as a file name (IPv6 colons are not file-name safe on Windows). */
export function addressKey(ip: Ip): string {
  return `${ip.family}-${ip.value.toString(16)}`;
}

/** addressKey of an address given as text; undefined if it is none. */
export function ipKey(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? addressKey(ip) : undefined;
}

export function macHex(mac: string): string | undefined {
  const hex = mac.replace(/[-:]/g, '').toLowerCase();
  return /^[0-9a-f]{12}$/.test(hex) ? hex : undefined;
}

interface PortMappingLike {
  Protocol?: number | string;
  ExternalPort?: number;
  VIP?: string;
  Flags?: number;
}

/**
 * (Protocol, ExternalPort, VIP, address family): what two mappings on one host may not share.
 * The IPv6 twin of a mapping (NatFlags.IPv6) is a separate mapping on the same port, as dual-stack
 * plugins (Azure CNI, sdnbridge) send it. A mapping without VIP uses the network's management IP
 * (microsoft/windows-container-networking#104), so with emptyVipIsManagementIp it is keyed by
 * that IP (INFERRED). Undefined without an external port: such a mapping never conflicts.
 */
export function portKey(s: PortMappingLike, cfg: EmulatorConfig): string | undefined {
  if (!s.ExternalPort) return undefined;
  const proto = typeof s.Protocol === 'string' ? (Protocol as Record<string, number>)[s.Protocol] : s.Protocol;
  const v6 = ((s.Flags ?? 0) & NatFlags.IPv6) !== 0 ? 'v6' : 'v4';
  const vipText = s.VIP || (cfg.emptyVipIsManagementIp ? cfg.managementIp : '');
  const vip = vipText ? (parseIp(vipText) ? formatIp(parseIp(vipText)!) : vipText) : 'any';
  return `${proto ?? 0}-${s.ExternalPort}-${vip.replace(/:/g, '_')}-${v6}`;
}

export function portMappingsOf(policies: readonly { Type: string; Settings?: unknown }[] | undefined): PortMappingLike[] {
  return (policies ?? []).filter((p) => p.Type === 'PortMapping').map((p) => (p.Settings ?? {}) as PortMappingLike);
}

interface IndexSpec {
  path: string;
  /** A list file (JSON of entries); otherwise a marker file. */
  list: boolean;
  flag?: number;
}

/** The index entries an object has (relative paths under store/). */
function indexSpecs(kind: ObjectKind, doc: AnyDoc, seq: number, cfg: EmulatorConfig): IndexSpec[] {
  const id = doc.ID!;
  const out: IndexSpec[] = [{ path: `ix/order/${KIND_DIR[kind]}/${pad(seq)}.${id}`, list: false }];
  if (typeof doc.Name === 'string') out.push({ path: `ix/name/${KIND_DIR[kind]}/${nameKey(doc.Name)}.json`, list: true });
  if (kind === 'Endpoint') {
    const ep = doc as HostComputeEndpoint;
    const net = ep.HostComputeNetwork!.toUpperCase();
    const remote = isRemote(ep) ? 1 : 0;
    out.push({ path: `ix/net/${net}/${pad(seq)}.${id}`, list: false });
    for (const c of ep.IpConfigurations ?? []) {
      const k = c.IpAddress ? ipKey(c.IpAddress) : undefined;
      if (k) out.push({ path: `ix/ip/${net}/${k}.json`, list: true, flag: remote });
    }
    const mac = ep.MacAddress ? macHex(ep.MacAddress) : undefined;
    if (mac) out.push({ path: `ix/mac/${net}/${mac}.json`, list: true });
    for (const m of portMappingsOf(ep.Policies as { Type: string; Settings?: unknown }[] | undefined)) {
      const k = portKey(m, cfg);
      if (k) out.push({ path: `ix/port/${k}.json`, list: true });
    }
  }
  if (kind === 'Namespace' && (doc as HostComputeNamespace).Type === 'HostDefault') out.push({ path: `ix/default/${id}`, list: false });
  // One entry per file: an endpoint with the same IP twice is listed once.
  return out.filter((s, i) => out.findIndex((t) => t.path === s.path) === i);
}

/** Buffered changes to the files of store/, read through (a change is seen by later reads of the same call). */
class FileTx {
  protected readonly pending = new Map<string, string | null>();
  constructor(readonly root: string) {}

  protected abs(rel: string): string {
    return path.join(this.root, rel);
  }

  read(rel: string): string | undefined {
    if (this.pending.has(rel)) return this.pending.get(rel) ?? undefined;
    return readText(this.abs(rel));
  }

  readJson<T>(rel: string): T | undefined {
    if (this.pending.has(rel)) {
      const v = this.pending.get(rel);
      return v === null || v === undefined ? undefined : (JSON.parse(v) as T);
    }
    return readJson<T>(this.abs(rel));
  }

  exists(rel: string): boolean {
    if (this.pending.has(rel)) return this.pending.get(rel) !== null;
    return exists(this.abs(rel));
  }

  /** Names in a directory, with this call's own creations and removals. */
  list(relDir: string): string[] {
    const names = new Set(list(this.abs(relDir)).filter((n) => !n.startsWith('.')));
    const prefix = `${relDir}/`;
    for (const [rel, content] of this.pending) {
      if (!rel.startsWith(prefix) || rel.indexOf('/', prefix.length) >= 0) continue;
      const name = rel.slice(prefix.length);
      if (content === null) names.delete(name);
      else names.add(name);
    }
    return [...names];
  }

  write(rel: string, text: string): void {
    this.pending.set(rel, text);
  }

  writeJson(rel: string, v: unknown): void {
    this.pending.set(rel, JSON.stringify(v));
  }

  mark(rel: string): void {
    this.pending.set(rel, '');
  }

  remove(rel: string): void {
    this.pending.set(rel, null);
  }

  get changed(): boolean {
    return this.pending.size > 0;
  }

  /** The file changes this call would commit, in the order they are applied. */
  ops(): Op[] {
    return orderOps([...this.pending]);
  }

  /** Journal, apply, empty the journal (see the header). */
  commit(): void {
    if (this.pending.size === 0) return;
    const ops = orderOps([...this.pending]);
    writeInPlace(this.abs(JOURNAL), JSON.stringify(ops));
    applyOps(this.root, ops);
    writeInPlace(this.abs(JOURNAL), '');
    this.pending.clear();
  }
}

/** A file change: [path under store/, content ('' a marker file) or null (remove)]. */
export type Op = [string, string | null];

/** Index removals, object writes, index writes, object removals, the rest: see the header. */
function orderOps(ops: Op[]): Op[] {
  const rank = ([rel, content]: Op) => {
    const isObj = rel.startsWith('obj/');
    const isIx = rel.startsWith('ix/') && !rel.startsWith('ix/alloc/');
    if (isIx && content === null) return 0;
    if (isObj && content !== null) return 1;
    if (isIx) return 2;
    if (isObj) return 3;
    return 4;
  };
  return ops.map((op, i) => [op, rank(op), i] as const).sort((a, b) => a[1] - b[1] || a[2] - b[2]).map(([op]) => op);
}

/** Applies file changes (exported for the crash tests, which stop half-way). */
export function applyOps(root: string, ops: Op[]): void {
  for (const [rel, content] of ops) {
    const file = path.join(root, rel);
    if (content === null) remove(file);
    else if (content === '') touch(file);
    else writeInPlace(file, content);
  }
}

/** One call's view of the objects (and, under the lock, its changes to them). */
export class StoreTx extends FileTx {
  private metaCache?: Meta;
  private readonly recs = new Map<string, Rec | undefined>();

  constructor(root: string, readonly cfg: EmulatorConfig, readonly now = Date.now()) {
    super(root);
  }

  // --- meta ----------------------------------------------------------------------------------

  meta(): Meta {
    this.metaCache ??= this.readJson<Meta>(META) ?? { format: 2, seq: 0, ...FRESH_COUNTERS };
    return this.metaCache;
  }

  private saveMeta(): void {
    this.writeJson(META, this.meta());
  }

  nextCompartmentId(): number {
    const id = this.meta().nextCompartmentId++;
    this.saveMeta();
    return id;
  }

  setNextCompartmentId(n: number): void {
    this.meta().nextCompartmentId = n;
    this.saveMeta();
  }

  nextMacPool(): number {
    const n = this.meta().nextMacPool++;
    this.saveMeta();
    return n;
  }

  // --- objects -------------------------------------------------------------------------------

  private objPath(kind: ObjectKind, id: string): string {
    return `obj/${KIND_DIR[kind]}/${id.toUpperCase()}.json`;
  }

  rec<K extends ObjectKind>(kind: K, id: string): Rec<ObjectOf<K>> | undefined {
    const key = this.objPath(kind, id);
    if (!this.recs.has(key)) this.recs.set(key, this.readJson<Rec>(key));
    return this.recs.get(key) as Rec<ObjectOf<K>> | undefined;
  }

  /** The object as the service holds it now (service-filled policies that are due included). */
  get<K extends ObjectKind>(kind: K, id: string): ObjectOf<K> | undefined {
    const rec = this.rec(kind, id);
    if (!rec) return undefined;
    if (rec.fill && this.now >= rec.fill.at) return withFill(rec.doc as HostComputeNetwork, rec.fill) as ObjectOf<K>;
    return rec.doc;
  }

  /** The object, or the kind's not-found HRESULT. */
  must<K extends ObjectKind>(kind: K, id: string): ObjectOf<K> {
    const doc = this.get(kind, id);
    if (!doc) throw new HcnFailure(this.cfg.notFoundHr[kind]);
    return doc;
  }

  /** The object as a query answers it (output-only knobs applied). */
  present<K extends ObjectKind>(kind: K, id: string): ObjectOf<K> | undefined {
    const doc = this.get(kind, id);
    if (doc && kind === 'Endpoint' && this.cfg.unattachedNamespace === 'zero' && !(doc as HostComputeEndpoint).HostComputeNamespace) {
      return { ...doc, HostComputeNamespace: '00000000-0000-0000-0000-000000000000' } as ObjectOf<K>;
    }
    return doc;
  }

  /** Stores a new object (its ID set) and its index entries; returns it. */
  create<K extends ObjectKind>(kind: K, doc: ObjectOf<K>, fill?: Fill): ObjectOf<K> {
    const seq = ++this.meta().seq;
    this.saveMeta();
    const specs = indexSpecs(kind, doc, seq, this.cfg);
    for (const s of specs) this.addEntry(s, seq, doc.ID!);
    const rec: Rec = { seq, doc, ix: specs.map((s) => s.path) };
    if (fill) rec.fill = fill;
    this.putRec(kind, doc.ID!, rec);
    return doc;
  }

  /** Replaces an existing object's document, moving its index entries as needed. */
  save<K extends ObjectKind>(kind: K, doc: ObjectOf<K>): void {
    const rec = this.rec(kind, doc.ID!);
    if (!rec) throw new HcnFailure(this.cfg.notFoundHr[kind]);
    const specs = indexSpecs(kind, doc, rec.seq, this.cfg);
    const now = new Set(specs.map((s) => s.path));
    for (const p of rec.ix) if (!now.has(p)) this.removeEntry(p, doc.ID!);
    for (const s of specs) if (!rec.ix.includes(s.path)) this.addEntry(s, rec.seq, doc.ID!);
    // Service-filled policies that are due become part of the document for good.
    const next: Rec = { seq: rec.seq, doc, ix: specs.map((s) => s.path) };
    if (rec.fill && this.now < rec.fill.at) next.fill = rec.fill;
    this.putRec(kind, doc.ID!, next);
  }

  /** Removes the object and its index entries (no rules: see the kinds' modules). */
  drop(kind: ObjectKind, id: string): void {
    const rec = this.rec(kind, id);
    if (!rec) return;
    for (const p of rec.ix) this.removeEntry(p, rec.doc.ID!);
    const key = this.objPath(kind, id);
    this.remove(key);
    this.recs.set(key, undefined);
  }

  private putRec(kind: ObjectKind, id: string, rec: Rec): void {
    const key = this.objPath(kind, id);
    this.writeJson(key, rec);
    this.recs.set(key, rec);
  }

  private addEntry(s: IndexSpec, seq: number, id: string): void {
    if (!s.list) return this.mark(s.path);
    const entries = (this.readJson<Entry[]>(s.path) ?? []).filter((e) => e[1] !== id);
    entries.push(s.flag === undefined ? [seq, id] : [seq, id, s.flag]);
    entries.sort((a, b) => a[0] - b[0]);
    this.writeJson(s.path, entries);
  }

  private removeEntry(rel: string, id: string): void {
    if (!rel.endsWith('.json')) return this.remove(rel);
    const entries = (this.readJson<Entry[]>(rel) ?? []).filter((e) => e[1] !== id);
    if (entries.length) this.writeJson(rel, entries);
    else this.remove(rel);
  }

  // --- lookups -------------------------------------------------------------------------------

  private markerIds(relDir: string): string[] {
    return this.list(relDir).sort().map((n) => n.slice(n.indexOf('.') + 1));
  }

  /** Every object of a kind, in creation order: O(objects of the kind), names only. */
  ids(kind: ObjectKind): string[] {
    return this.markerIds(`ix/order/${KIND_DIR[kind]}`);
  }

  byName(kind: ObjectKind, name: string): string[] {
    return (this.readJson<Entry[]>(`ix/name/${KIND_DIR[kind]}/${nameKey(name)}.json`) ?? []).map((e) => e[1]);
  }

  endpointsOf(networkId: string): string[] {
    return this.markerIds(`ix/net/${networkId.toUpperCase()}`);
  }

  /** [ID, remote] of the endpoints of the network holding the address. */
  ipHolders(networkId: string, key: string): { id: string; remote: boolean }[] {
    return (this.readJson<Entry[]>(`ix/ip/${networkId.toUpperCase()}/${key}.json`) ?? []).map((e) => ({ id: e[1], remote: e[2] === 1 }));
  }

  macHolders(networkId: string, hex: string): string[] {
    return (this.readJson<Entry[]>(`ix/mac/${networkId.toUpperCase()}/${hex}.json`) ?? []).map((e) => e[1]);
  }

  portHolders(key: string): string[] {
    return (this.readJson<Entry[]>(`ix/port/${key}.json`) ?? []).map((e) => e[1]);
  }

  defaultNamespaces(): string[] {
    const ids = this.list('ix/default');
    return ids.map((id) => ({ id, seq: this.rec('Namespace', id)?.seq ?? 0 })).sort((a, b) => a.seq - b.seq).map((x) => x.id);
  }

  allocHints(networkId: string): AllocHints {
    return this.readJson<AllocHints>(`ix/alloc/${networkId.toUpperCase()}.json`) ?? { ip: {}, mac: {} };
  }

  saveAllocHints(networkId: string, hints: AllocHints): void {
    this.writeJson(`ix/alloc/${networkId.toUpperCase()}.json`, hints);
  }

  dropAllocHints(networkId: string): void {
    this.remove(`ix/alloc/${networkId.toUpperCase()}.json`);
  }
}

function withFill(net: HostComputeNetwork, fill: Fill): HostComputeNetwork {
  const have = new Set((net.Policies ?? []).map((p) => p.Type));
  const add = fill.policies.filter((p) => !have.has(p.Type));
  return add.length ? { ...net, Policies: [...(net.Policies ?? []), ...add] } : net;
}

// --- the directory ---------------------------------------------------------------------------

export function storeRoot(dir: string): string {
  return fileIn(dir, 'store');
}

/** A lock that a live emulator call holds for milliseconds; one held this long lost its process. */
const STATE_LOCK_STALE_MS = 30_000;

function stateLockOptions(cfg: EmulatorConfig): LockOptions {
  return { timeoutMs: cfg.lockTimeoutMs, staleMs: STATE_LOCK_STALE_MS, pollMs: 2 };
}

/** Runs `fn` under the state lock (fn may also touch other emulator files). */
export function withStateLock<T>(dir: string, cfg: EmulatorConfig, fn: () => T): Promise<T> {
  return withLock(fileIn(dir, 'lock'), fn, stateLockOptions(cfg));
}

/** Two existence checks: is there a crashed call's journal, or no store yet? */
function needsRepair(dir: string): boolean {
  const root = storeRoot(dir);
  return (statOf(path.join(root, JOURNAL))?.size ?? 0) > 0 || !exists(path.join(root, META));
}

/**
 * Under the lock: finish a crashed call; then, if there is no store yet, import a state.json (the
 * emulator's earlier whole-state format, or a state exported from another directory by
 * EmulatorAdmin.exportState: the conformance harness copies one into each case's fresh directory;
 * the store never writes one itself), or else make a fresh host.
 */
function repair(dir: string, cfg: EmulatorConfig): void {
  const root = storeRoot(dir);
  const text = readText(path.join(root, JOURNAL));
  if (text) {
    // A journal that does not parse was being written when its call died: nothing of it was
    // applied yet, so it is dropped. A whole one is applied again (every op is idempotent).
    let ops: Op[] | undefined;
    try {
      ops = JSON.parse(text) as Op[];
    } catch {
      ops = undefined;
    }
    if (ops) applyOps(root, ops);
    writeInPlace(path.join(root, JOURNAL), '');
  }
  if (exists(path.join(root, META))) return;
  const legacy = readText(fileIn(dir, 'state'));
  if (legacy === undefined) return freshHost(dir, cfg);
  importState(dir, cfg, parseLegacy(legacy, fileIn(dir, 'state')));
  remove(fileIn(dir, 'state'));
}

function parseLegacy(text: string, file: string): Partial<EmulatorState> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Partial<EmulatorState>;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  throw new Error(`${file} must hold a JSON object`);
}

/** The HostDefault namespace every host has from the start: the default compartment, 1. */
export function hostDefaultNamespace(cfg: EmulatorConfig): HostComputeNamespace {
  return {
    ID: newGuid(),
    Type: 'HostDefault',
    NamespaceId: 1,
    NamespaceGuid: newGuid(),
    SchemaVersion: { Major: 2, Minor: 0 },
    ...serviceStamp(cfg),
  };
}

/** Wipes the store and starts a fresh host (the HostDefault namespace only). Call under the lock. */
export function freshHost(dir: string, cfg: EmulatorConfig): void {
  removeTree(storeRoot(dir));
  const tx = new StoreTx(storeRoot(dir), cfg);
  tx.meta();
  tx.create('Namespace', hostDefaultNamespace(cfg));
  tx.commit();
}

/** Replaces the store with `s` (an old state.json, or a test's edited readState()). */
export function importState(dir: string, cfg: EmulatorConfig, s: Partial<EmulatorState>): void {
  removeTree(storeRoot(dir));
  remove(fileIn(dir, 'state'));
  const tx = new StoreTx(storeRoot(dir), cfg);
  const meta = tx.meta();
  meta.nextCompartmentId = s.nextCompartmentId ?? FRESH_COUNTERS.nextCompartmentId;
  meta.nextMacPool = s.nextMacPool ?? FRESH_COUNTERS.nextMacPool;
  for (const n of Object.values(s.networks ?? {})) tx.create('Network', n);
  const namespaces = Object.values(s.namespaces ?? {});
  if (!namespaces.some((n) => n.Type === 'HostDefault')) tx.create('Namespace', hostDefaultNamespace(cfg));
  for (const n of namespaces) tx.create('Namespace', n);
  for (const e of Object.values(s.endpoints ?? {})) tx.create('Endpoint', e);
  tx.commit();
}

/**
 * Runs a read-only look at the objects; no lock unless the store needs repairing first, or the
 * look met a file a writer is rewriting right now (TornRead): then it looks again under the lock.
 */
export async function readStore<T>(dir: string, cfg: EmulatorConfig, look: (tx: StoreTx) => T): Promise<T> {
  if (needsRepair(dir)) await withStateLock(dir, cfg, () => (needsRepair(dir) ? repair(dir, cfg) : undefined));
  // A change whose realization was cut short (its process died) is finished by whoever comes next.
  if (isDirty(dir, cfg)) await withStateLock(dir, cfg, () => realizeIfDirty(dir, cfg));
  try {
    return look(new StoreTx(storeRoot(dir), cfg));
  } catch (err) {
    if (!(err instanceof TornRead)) throw err;
    return withStateLock(dir, cfg, () => {
      if (needsRepair(dir)) repair(dir, cfg);
      return look(new StoreTx(storeRoot(dir), cfg));
    });
  }
}

/**
 * A change under the lock, committed whole; if `change` throws, nothing is written. With the Linux
 * data plane on (plane.ts), the committed state is realized before the lock is let go; `hostChanged`
 * says that `change` changed the host's routes or forwarding flags (host.ts), which the store does not see.
 */
export function updateStore<T>(dir: string, cfg: EmulatorConfig, change: (tx: StoreTx) => T, opts: { hostChanged?: boolean } = {}): Promise<T> {
  return withStateLock(dir, cfg, () => {
    if (needsRepair(dir)) repair(dir, cfg);
    const tx = new StoreTx(storeRoot(dir), cfg);
    const result = change(tx);
    if (tx.changed || opts.hostChanged) markDirty(dir, cfg);
    tx.commit();
    realizeIfDirty(dir, cfg);
    return result;
  });
}

/** The whole state (every object file read: O(objects)). */
function stateOf(tx: StoreTx): EmulatorState {
  const s = emptyState();
  const meta = tx.meta();
  s.nextCompartmentId = meta.nextCompartmentId;
  s.nextMacPool = meta.nextMacPool;
  for (const id of tx.ids('Network')) { const d = tx.present('Network', id); if (d) s.networks[id] = d; }
  for (const id of tx.ids('Endpoint')) { const d = tx.present('Endpoint', id); if (d) s.endpoints[id] = d; }
  for (const id of tx.ids('Namespace')) { const d = tx.present('Namespace', id); if (d) s.namespaces[id] = d; }
  return s;
}

/** The whole state, synchronously (tests and tools read it between calls): O(objects); reads only. */
export function readState(dir: string, cfg: EmulatorConfig = readConfig(dir)): EmulatorState {
  // Under the lock: a consistent whole (and a crashed call finished, or a state.json imported, first).
  return withLockSync(fileIn(dir, 'lock'), () => {
    if (needsRepair(dir)) repair(dir, cfg);
    return stateOf(new StoreTx(storeRoot(dir), cfg));
  }, stateLockOptions(cfg));
}

/**
 * Read-modify-write of the whole state under the lock, for tests and tools that edit objects
 * behind the service's back (O(objects)). Objects `change` removed are dropped, changed ones are
 * rewritten and re-indexed, new ones are created. If `change` throws, nothing is written.
 */
export function updateState<T>(dir: string, cfg: EmulatorConfig, change: (s: EmulatorState) => T): Promise<T> {
  return updateStore(dir, cfg, (tx) => {
    const s = stateOf(tx);
    const before = new Map<string, string>();
    for (const [kind, table] of tables(s)) for (const [id, o] of Object.entries(table)) before.set(`${kind}:${id}`, JSON.stringify(o));
    const result = change(s);
    const meta = tx.meta();
    meta.nextCompartmentId = s.nextCompartmentId;
    meta.nextMacPool = s.nextMacPool;
    tx.writeJson(META, meta);
    const after = new Set<string>();
    for (const [kind, table] of tables(s)) {
      for (const [id, o] of Object.entries(table)) {
        const key = `${kind}:${id}`;
        after.add(key);
        const was = before.get(key);
        if (was === undefined) tx.create(kind, { ...o, ID: id } as never);
        else if (was !== JSON.stringify(o)) tx.save(kind, { ...o, ID: id } as never);
      }
    }
    for (const key of before.keys()) {
      if (after.has(key)) continue;
      const [kind, id] = key.split(':') as [ObjectKind, string];
      tx.drop(kind, id);
    }
    return result;
  });
}

function tables(s: EmulatorState): [ObjectKind, Record<string, AnyDoc>][] {
  return [['Network', s.networks], ['Endpoint', s.endpoints], ['Namespace', s.namespaces]];
}
