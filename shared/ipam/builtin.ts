// The built-in allocator (`"ipam": {"type": "builtin", ...}`): host-local's configuration keys
// and on-disk format (one file per address holding `<containerID>\r\n<ifname>`, and
// `last_reserved_ip.<set>`), so it can share a data directory with host-local (kube-proxy's
// source VIP is reserved that way on Windows nodes) and a conf converts by changing ipam.type.
// Unlike host-local it knows the mode's reserved addresses: it never hands out the network
// address, the broadcast address, .1, .2, the gateway or the conf's `reserved` list. It runs in
// the plugin's process, saving the IPAM process start on every pod.
//
// Claims. An address is claimed by writing the owner to a temp file in the data directory
// (0600, flushed), then hard-linking it to the address's name: link() fails with EEXIST if the
// name is taken (by us or host-local, whose O_EXCL create is just as atomic), so the claim is
// atomic and a claim file is never born empty. The temp file is then renamed to the address's
// marker `.<address>.builtin.<owner key>`: marker and address file are two links of ONE file, and
// the marker's name says whose claim it is, so finding a pod's addresses reads a directory
// listing, never every claim (an ADD costs the same with 110 pods on the node as with one).
//
// Ownership, for GC. The store may be host-local's (kube-proxy's source VIP is reserved there by
// hand with a made-up container ID), so an attachment-shaped owner proves nothing. GC removes an
// address only if (a) its name is an IP address inside this conf's ranges, (b) it is marked ours:
// the marker exists and is the same file (same dev and inode) as the address file, and (c) its
// owner is not in the valid list. The marker keeps its inode alive, so if host-local releases the
// address (its DEL removes files by owner) and hands it out again, the new file has another inode:
// not ours, and the orphaned marker is removed instead. host-local reads our address files as
// taken and releases them by owner as its own; it ignores the markers (not IP names; if it
// removes them as holding the owner too, the address is just no longer provably ours).
// An address file that is still empty (a host-local claim killed between create and write) is
// reclaimed by GC, and by ADD when the range is full, once older than CLAIM_GRACE_MS, never
// sooner (a claim may be in progress). A temp file of ours (`.<address>.<writer>.<unique>.tmp`,
// its writer named in it: shared/sys/atomic.ts tempFileName) is removed by GC and by every ADD
// as soon as its writer is provably dead (a claim killed half-way), else once older than
// CLAIM_GRACE_MS. Nothing whose name is not an IP address (or one of our markers or temp files
// for one) is ever deleted.
//
// Modes: directories made 0700, files 0600, whatever the umask (Windows ignores modes; the state
// folder is beside the binaries, writable by administrators only).

import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../cni/errors';
import type { IpConfig100, Result100, Route100 } from '../cni/result/v100';
import { type Cidr, formatIp, type Ip, lastAddress, networkAddress, parseCidr, parseIp, contains } from '../net/ip';
import { createFileAtomic, createPrivate, mkdirPrivate, removeAbandonedTemps, tempFileTarget } from '../sys/atomic';
import { withLock } from '../sys/lock';
import type { Ipam, ValidAttachment } from './types';

export interface RangeConf {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface BuiltinIpamConf {
  type: 'builtin';
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  ranges?: RangeConf[][];
  routes?: Route100[];
  reserved?: string[];
  dataDir?: string;
}

export interface BuiltinContext {
  network: string;
  containerId: string;
  ifName: string;
  /** Where state goes when the conf names no dataDir. */
  defaultDataDir: string;
  platform: NodeJS.Platform;
  /** Addresses the mode reserves beyond .1/.2 (its gateways). */
  modeReserved: string[];
  /** Specific addresses asked for (CNI_ARGS IP=, runtimeConfig.ips), one per family at most. */
  requested: string[];
}

interface Range {
  subnet: Cidr;
  start: bigint;
  end: bigint;
  gateway?: string;
}

const LOCK_TIMEOUT_MS = 30_000;
/** Ownerless claims and our temp files younger than this may be a claim in progress. */
export const CLAIM_GRACE_MS = 60_000;
const MARKER = '.builtin.';

/** What the data directory's listing says, by address file name (no claim is read). */
interface Store {
  /** Regular files whose name is an address: taken. */
  taken: Set<string>;
  /** Address-named entries that are not regular files: they block their address. */
  notFiles: Set<string>;
  /** Our markers by address: the marker's name and the owner key it carries. */
  markers: Map<string, { name: string; key: string }>;
  /** Our temp files for an address (a claim in progress, or one killed half-way). */
  temps: string[];
}

/**
 * `<containerID>+<ifname>` as a file-name part: container IDs are [A-Za-z0-9_.-] (CNI), so `+`
 * separates; other bytes of the interface name are `%XX`; a long one becomes a hash.
 */
export function ownerKey(containerId: string, ifName: string): string {
  const key = `${containerId}+${Array.from(Buffer.from(ifName, 'utf8'), (b) => (/[A-Za-z0-9_.-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('')}`;
  if (key.length <= 150) return key;
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return `h-${createHash('sha256').update(`${containerId}\r\n${ifName}`).digest('hex')}`;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isNoFree(err: unknown): boolean {
  return err instanceof CniError && err.code === ErrorCode.IpamFailure;
}
/** Candidates tried in one allocation: bounds the work on huge IPv6 ranges. */
const MAX_PROBES = 1 << 20;

export function parseRangeSets(conf: BuiltinIpamConf): Range[][] {
  const sets: RangeConf[][] = [];
  if (conf.subnet) sets.push([{ subnet: conf.subnet, rangeStart: conf.rangeStart, rangeEnd: conf.rangeEnd, gateway: conf.gateway } as RangeConf]);
  sets.push(...(conf.ranges ?? []));
  if (sets.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid network configuration: ipam needs "subnet" or "ranges"');
  return sets.map((set, i) => set.map((r, j) => parseRange(r, `ipam.ranges[${i}][${j}]`)));
}

function parseRange(r: RangeConf, where: string): Range {
  const subnet = parseCidr(r.subnet)!;
  const hostBits = (subnet.ip.family === 4 ? 32 : 128) - subnet.prefix;
  if (hostBits < 2) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network configuration: ${where}.subnet ${r.subnet} is too small to allocate from`);
  const first = networkAddress(subnet).value + 1n;
  const last = lastAddress(subnet).value - (subnet.ip.family === 4 ? 1n : 0n);
  const bound = (text: string | undefined, key: string, fallback: bigint) => {
    if (text === undefined) return fallback;
    const ip = parseIp(text);
    if (!ip || !contains(subnet, ip)) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network configuration: ${where}.${key} ${text} is not inside ${r.subnet}`);
    return ip.value;
  };
  const start = bound(r.rangeStart, 'rangeStart', first);
  const end = bound(r.rangeEnd, 'rangeEnd', last);
  if (start > end) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network configuration: ${where}.rangeStart is after rangeEnd`);
  return { subnet, start, end, gateway: r.gateway };
}

/**
 * A relative dataDir would land in the runtime's working directory (C:\Windows\System32 under
 * containerd): refused.
 */
function checkDataDir(conf: Pick<BuiltinIpamConf, 'dataDir'>, platform: NodeJS.Platform): void {
  if (typeof conf.dataDir !== 'string') return;
  const absolute = platform === 'win32' ? path.win32.isAbsolute(conf.dataDir) : path.posix.isAbsolute(conf.dataDir);
  if (!absolute) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network configuration: ipam.dataDir ${JSON.stringify(conf.dataDir)} must be an absolute path (a relative one would land in the runtime's working directory, C:\\Windows\\System32 under containerd)`);
  }
}

/**
 * What the schema cannot say about a built-in IPAM section that matches it: its data directory is
 * absolute, and its ranges can be allocated from. Part of checking the conf, before anything changes.
 */
export function checkBuiltinConf(conf: BuiltinIpamConf, platform: NodeJS.Platform): void {
  checkDataDir(conf, platform);
  parseRangeSets(conf);
}

export class BuiltinIpam implements Ipam {
  readonly kind = 'builtin';
  private parsedSets: Range[][] | undefined;
  private readonly dir: string;

  /**
   * The ranges are read when first needed: a DEL, which finds the attachment's addresses by their
   * markers, works from the data directory alone (a conf that no longer validates: verbs.ts).
   */
  constructor(private readonly conf: BuiltinIpamConf, private readonly ctx: BuiltinContext) {
    checkDataDir(conf, ctx.platform);
    this.dir = path.join(conf.dataDir ?? ctx.defaultDataDir, ctx.network);
  }

  private get sets(): Range[][] {
    this.parsedSets ??= parseRangeSets(this.conf);
    return this.parsedSets;
  }

  private owner(): string {
    return `${this.ctx.containerId}\r\n${this.ctx.ifName}`;
  }

  private fileName(ip: Ip): string {
    const text = formatIp(ip);
    return this.ctx.platform === 'win32' ? text.replace(/:/g, '_') : text;
  }

  private locked<T>(fn: () => T): Promise<T> {
    try {
      mkdirPrivate(this.dir);
    } catch (err) {
      throw new CniError(ErrorCode.IoFailure, `built-in IPAM: cannot create the data directory ${this.dir}: ${errText(err)}`);
    }
    return withLock(path.join(this.dir, 'builtin.lock'), async () => fn(), { timeoutMs: LOCK_TIMEOUT_MS });
  }

  /** The address a file name stands for (host-local's names: the address, `:` as `_` on Windows). */
  private addressOf(name: string): Ip | undefined {
    return parseIp(this.ctx.platform === 'win32' ? name.replace(/_/g, ':') : name);
  }

  /** Whether `ip` lies in one of the conf's ranges (start to end). */
  private inRanges(ip: Ip): boolean {
    return this.sets.some((set) => set.some((r) => r.subnet.ip.family === ip.family && ip.value >= r.start && ip.value <= r.end));
  }

  private key(): string {
    return ownerKey(this.ctx.containerId, this.ctx.ifName);
  }

  private markerName(name: string, key = this.key()): string {
    return `.${name}${MARKER}${key}`;
  }

  /** The address and owner key of a marker's name, or undefined if it is not one. */
  private parseMarker(entry: string): { addr: string; key: string } | undefined {
    if (!entry.startsWith('.')) return undefined;
    const at = entry.indexOf(MARKER);
    if (at < 0) return undefined;
    const addr = entry.slice(1, at);
    const key = entry.slice(at + MARKER.length);
    return key && this.addressOf(addr) ? { addr, key } : undefined;
  }

  /** A temp file of ours for an address file (see the header). */
  private isOurTemp(name: string): boolean {
    const target = tempFileTarget(name);
    return target !== undefined && !!this.addressOf(target);
  }

  /** Addresses the mode reserves in the set's subnets: never handed out. */
  private reservedIn(range: Range): Set<bigint> {
    const net = networkAddress(range.subnet).value;
    const out = new Set<bigint>([net, net + 1n, net + 2n]);
    if (range.subnet.ip.family === 4) out.add(lastAddress(range.subnet).value);
    for (const text of [range.gateway, ...this.ctx.modeReserved, ...(this.conf.reserved ?? [])]) {
      const ip = text ? parseIp(text) : undefined;
      if (ip && contains(range.subnet, ip)) out.add(ip.value);
    }
    return out;
  }

  /** The data directory's listing: address files, entries in their way, our markers. */
  private scan(): Store {
    const store: Store = { taken: new Set(), notFiles: new Set(), markers: new Map(), temps: [] };
    for (const e of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (this.addressOf(e.name)) {
        if (e.isFile()) store.taken.add(e.name);
        else store.notFiles.add(e.name);
        continue;
      }
      if (!e.isFile()) continue;
      const m = this.parseMarker(e.name);
      if (m) store.markers.set(m.addr, { name: e.name, key: m.key });
      else if (this.isOurTemp(e.name)) store.temps.push(e.name);
    }
    return store;
  }

  /** Addresses whose claim is provably this attachment's: marked with its key, one file with its marker. */
  private mine(store: Store): string[] {
    const key = this.key();
    return [...store.markers].filter(([addr, m]) => m.key === key && store.taken.has(addr) && this.markedOurs(addr, m.name)).map(([addr]) => addr);
  }

  /** Address files nobody marked (host-local's) that name this attachment as owner: read one by one. */
  private foreignMine(store: Store): string[] {
    return [...store.taken].filter((addr) => !store.markers.has(addr) && this.ownedByUs(readOwner(path.join(this.dir, addr)) ?? ''));
  }

  private notAFile(name: string): CniError {
    return new CniError(ErrorCode.IoFailure, `built-in IPAM: ${path.join(this.dir, name)} is not a regular file (a directory?) and blocks that address; remove it`);
  }

  add(opts: { reuse?: boolean } = {}): Promise<Result100> {
    return this.locked(() => {
      const store = this.scan();
      // A claim killed half-way left its temp file: the next claim clears it.
      removeAbandonedTemps(this.dir, store.temps, { platform: this.ctx.platform });
      const held = this.mine(store);
      if (opts.reuse && held.length > 0) return this.resultOf(held);
      if (held.length > 0) {
        throw new CniError(ErrorCode.AttachmentExists, `${this.ctx.containerId}/${this.ctx.ifName} already has an address on network ${this.ctx.network}`, 'duplicate allocation is not allowed');
      }
      try {
        return this.allocate(store);
      } catch (err) {
        // A full range: claims left ownerless by a killed process are reclaimed, then one more try.
        if (!isNoFree(err) || this.sweep(undefined) === 0) throw err;
        return this.allocate(this.scan());
      }
    });
  }

  /** The result for addresses already claimed: each set's address with its range's prefix and gateway. */
  private resultOf(held: string[]): Result100 {
    const ips = held.map((n) => this.addressOf(n)).filter((ip): ip is Ip => !!ip);
    const out: IpConfig100[] = [];
    for (const set of this.sets) {
      const ip = ips.find((a) => set.some((r) => contains(r.subnet, a)));
      const range = ip && set.find((r) => contains(r.subnet, ip));
      if (!ip || !range) {
        // Not one address per family (a conf that gained a range): start the claim over.
        for (const n of held) this.release(n);
        return this.allocate(this.scan());
      }
      out.push(range.gateway ? { address: `${formatIp(ip)}/${range.subnet.prefix}`, gateway: range.gateway } : { address: `${formatIp(ip)}/${range.subnet.prefix}` });
    }
    const result: Result100 = { cniVersion: '1.1.0', ips: out };
    if (this.conf.routes?.length) result.routes = this.conf.routes.map((r) => ({ ...r }));
    return result;
  }

  private allocate(store: Store): Result100 {
    const made: string[] = [];
    try {
      const ips: IpConfig100[] = this.sets.map((set, i) => {
        const { ip, range } = this.allocateIn(set, i, store, made);
        return range.gateway ? { address: `${formatIp(ip)}/${range.subnet.prefix}`, gateway: range.gateway } : { address: `${formatIp(ip)}/${range.subnet.prefix}` };
      });
      const result: Result100 = { cniVersion: '1.1.0', ips };
      if (this.conf.routes?.length) result.routes = this.conf.routes.map((r) => ({ ...r }));
      return result;
    } catch (err) {
      // All sets or none: an address per family, or nothing held.
      for (const name of made) this.release(name);
      throw err;
    }
  }

  private allocateIn(set: Range[], index: number, store: Store, made: string[]): { ip: Ip; range: Range } {
    const family = set[0]!.subnet.ip.family;
    const requested = this.ctx.requested.map(parseIp).find((ip) => ip && set.some((r) => contains(r.subnet, ip)));
    if (requested) return this.claimRequested(set, requested, store, made);
    const lastFile = path.join(this.dir, `last_reserved_ip.${index}`);
    const last = parseIp(readLast(lastFile));
    const startAt = last && set.some((r) => contains(r.subnet, last)) ? last.value + 1n : set[0]!.start;
    let probes = 0;
    for (const { range, value } of candidates(set, startAt)) {
      if (++probes > MAX_PROBES) break;
      if (this.reservedIn(range).has(value)) continue;
      const ip: Ip = { family, value };
      const name = this.fileName(ip);
      if (store.notFiles.has(name)) throw this.notAFile(name);
      if (store.taken.has(name)) continue;
      if (!this.claim(name)) continue; // taken meanwhile (host-local does not take our lock)
      made.push(name);
      writeLast(lastFile, formatIp(ip));
      return { ip, range };
    }
    const bounds = set.map((r) => `${formatIp({ family, value: r.start })}-${formatIp({ family, value: r.end })}`).join(', ');
    throw new CniError(ErrorCode.IpamFailure, `no IP addresses available in range set ${bounds} of network ${this.ctx.network}`);
  }

  private claimRequested(set: Range[], ip: Ip, store: Store, made: string[]): { ip: Ip; range: Range } {
    const range = set.find((r) => contains(r.subnet, ip) && ip.value >= r.start && ip.value <= r.end);
    const text = formatIp(ip);
    if (!range || this.reservedIn(range).has(ip.value)) throw new CniError(ErrorCode.AddressConflict, `requested IP address ${text} is reserved or outside the allocation range`);
    const name = this.fileName(ip);
    if (store.notFiles.has(name)) throw this.notAFile(name);
    if (store.taken.has(name) || !this.claim(name)) {
      const holder = readOwner(path.join(this.dir, name));
      throw new CniError(ErrorCode.AddressConflict, `requested IP address ${text} is not available: it is held by ${(holder || 'another allocator').split(/\r?\n/)[0]}`);
    }
    made.push(name);
    return { ip, range };
  }

  /** Claims the address file `name` (see the header); false if it is taken. */
  private claim(name: string): boolean {
    const file = path.join(this.dir, name);
    try {
      return createFileAtomic(file, this.owner(), { keepTempAs: path.join(this.dir, this.markerName(name)) });
    } catch (err) {
      throw new CniError(ErrorCode.IoFailure, `built-in IPAM: cannot claim ${file}: ${errText(err)}`);
    }
  }

  /** Removes an address file and its marker, if any (address first: a marker alone proves nothing). */
  private release(name: string, marker?: string): void {
    fs.rmSync(path.join(this.dir, name), { force: true });
    if (marker) fs.rmSync(path.join(this.dir, marker), { force: true });
  }

  /** This attachment's addresses: ours (by marker), and any host-local made for it (the same store). */
  async del(): Promise<void> {
    // No store, nothing held: and a DEL makes none.
    if (!fs.existsSync(this.dir)) return;
    return this.locked(() => {
      const store = this.scan();
      for (const addr of this.mine(store)) this.release(addr, store.markers.get(addr)!.name);
      for (const addr of this.foreignMine(store)) this.release(addr);
    });
  }

  async check(): Promise<void> {
    const store = fs.existsSync(this.dir) ? this.scan() : undefined;
    if (!store || (this.mine(store).length === 0 && this.foreignMine(store).length === 0)) {
      const damaged = store ? this.damagedClaims(store) : [];
      throw new CniError(ErrorCode.CheckFailed, `built-in IPAM: no address is held by ${this.ctx.containerId}/${this.ctx.ifName} on network ${this.ctx.network}`,
        damaged.length ? `address files that are not readable claims (damaged; GC clears those provably ours): ${damaged.map((n) => path.join(this.dir, n)).join(', ')}` : undefined);
    }
  }

  /**
   * Address files in this conf's ranges that hold no readable claim: not a regular file, empty, or
   * marked ours (same file as the marker) without the `<containerID>\r\n<ifname>` we always write.
   */
  private damagedClaims(store: Store): string[] {
    const inRanges = (name: string) => {
      const ip = this.addressOf(name);
      return !!ip && this.inRanges(ip);
    };
    const out = [...store.notFiles].filter(inRanges);
    for (const name of store.taken) {
      if (!inRanges(name)) continue;
      const owner = readOwner(path.join(this.dir, name)) ?? '';
      const marker = store.markers.get(name);
      if (owner === '' || (!/^[^\r\n]+\r?\n[^\r\n]+$/.test(owner) && marker && this.markedOurs(name, marker.name))) out.push(name);
    }
    return out.sort();
  }

  /** Whether the address file `name` and the marker `marker` are one file (see the header). */
  private markedOurs(name: string, marker: string): boolean {
    try {
      const a = fs.lstatSync(path.join(this.dir, name), { bigint: true });
      const m = fs.lstatSync(path.join(this.dir, marker), { bigint: true });
      return a.isFile() && m.isFile() && a.ino === m.ino && a.dev === m.dev;
    } catch {
      return false;
    }
  }

  gc(valid: ValidAttachment[]): Promise<void> {
    const keep = new Set(valid.map((v) => ownerKey(v.containerId, v.ifName)));
    return this.locked(() => {
      this.sweep(keep);
    });
  }

  /**
   * Removes what is provably ours and unused (see the header): with `keep` (owner keys), our
   * addresses whose marker's key is not in it, and markers whose address is gone or not theirs;
   * always, ownerless address files older than CLAIM_GRACE_MS, and our temp files whose writer
   * is dead or that are older than that. Returns how many addresses were freed.
   */
  private sweep(keep: Set<string> | undefined): number {
    const now = Date.now();
    let freed = 0;
    const store = this.scan();
    const at = (name: string) => path.join(this.dir, name);
    const stat = (name: string) => {
      try {
        return fs.lstatSync(at(name), { bigint: true });
      } catch {
        return undefined;
      }
    };
    for (const addr of store.taken) {
      const ip = this.addressOf(addr);
      if (!ip || !this.inRanges(ip)) continue;
      const st = stat(addr);
      if (!st?.isFile()) continue;
      const marker = store.markers.get(addr);
      const ours = !!marker && this.markedOurs(addr, marker.name);
      if (ours && keep && st.size > 0n && !keep.has(marker!.key)) {
        this.release(addr, marker!.name);
        freed++;
        continue;
      }
      if (st.size === 0n && now - Number(st.mtimeMs) > CLAIM_GRACE_MS) {
        this.release(addr, ours ? marker!.name : undefined);
        freed++;
      }
    }
    if (keep) {
      // Markers left without their address (or over another allocator's file): nothing of ours there.
      for (const [addr, m] of store.markers) if (!store.taken.has(addr) || !this.markedOurs(addr, m.name)) fs.rmSync(at(m.name), { force: true });
    }
    removeAbandonedTemps(this.dir, store.temps, { olderThanMs: CLAIM_GRACE_MS, platform: this.ctx.platform });
    return freed;
  }

  async status(): Promise<void> {
    if (!fs.existsSync(this.dir)) return;
    const store = this.scan();
    const names = [...store.taken, ...store.notFiles];
    for (const [i, set] of this.sets.entries()) {
      const family = set[0]!.subnet.ip.family;
      const free = set.some((r) => {
        const reserved = [...this.reservedIn(r)].filter((v) => v >= r.start && v <= r.end).length;
        const used = names.filter((k) => {
          const ip = this.addressOf(k);
          return ip && ip.family === family && ip.value >= r.start && ip.value <= r.end;
        }).length;
        return r.end - r.start + 1n > BigInt(reserved + used);
      });
      if (!free) throw new CniError(ErrorCode.PluginNotAvailable, `built-in IPAM: range set ${i} of network ${this.ctx.network} has no free address`);
    }
  }

  private ownedByUs(owner: string): boolean {
    return owner.replace(/\r?\n/, '\r\n') === this.owner() || owner === this.ctx.containerId;
  }
}

/** Addresses of a range set from `startAt` on, wrapping once around all its ranges (round-robin, as host-local). */
function* candidates(set: Range[], startAt: bigint): Generator<{ range: Range; value: bigint }> {
  let i0 = set.findIndex((r) => startAt >= r.start && startAt <= r.end);
  let from = startAt;
  if (i0 < 0) {
    i0 = 0;
    from = set[0]!.start;
  }
  const first = set[i0]!;
  for (let v = from; v <= first.end; v++) yield { range: first, value: v };
  for (let k = 1; k < set.length; k++) {
    const r = set[(i0 + k) % set.length]!;
    for (let v = r.start; v <= r.end; v++) yield { range: r, value: v };
  }
  for (let v = first.start; v < from; v++) yield { range: first, value: v };
}

/** The owner text of an address file, or undefined if it cannot be read. */
function readOwner(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The last address handed out from a range set ('' if none); a non-file there is a typed error. */
function readLast(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new CniError(ErrorCode.IoFailure, `built-in IPAM: cannot read ${file}: ${errText(err)}`);
  }
}

/** Records the last address handed out (host-local's format); a file we create is 0600. */
function writeLast(file: string, text: string): void {
  try {
    let fd: number;
    try {
      fd = createPrivate(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Possibly host-local's: rewritten in place, its mode left as it is.
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    }
    try {
      fs.writeSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `built-in IPAM: cannot write ${file}: ${errText(err)}`);
  }
}
