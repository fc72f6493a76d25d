// The built-in allocator (`"ipam": {"type": "builtin", ...}`): host-local's configuration keys
// and on-disk format (one file per address holding `<containerID>\r\n<ifname>`, and
// `last_reserved_ip.<set>`), so it can share a data directory with host-local (kube-proxy's
// source VIP is reserved that way on Windows nodes) and a conf converts by changing ipam.type.
// Unlike host-local it knows the mode's reserved addresses: it never hands out the network
// address, the broadcast address, .1, .2, the gateway or the conf's `reserved` list. It runs in
// the plugin's process, saving the IPAM process start on every pod.

import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../cni/errors';
import type { IpConfig100, Result100, Route100 } from '../cni/result/v100';
import { type Cidr, formatIp, type Ip, lastAddress, networkAddress, parseCidr, parseIp, contains } from '../net/ip';
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

export class BuiltinIpam implements Ipam {
  readonly kind = 'builtin';
  private readonly sets: Range[][];
  private readonly dir: string;

  constructor(private readonly conf: BuiltinIpamConf, private readonly ctx: BuiltinContext) {
    this.sets = parseRangeSets(conf);
    this.dir = path.join(conf.dataDir ?? ctx.defaultDataDir, ctx.network);
  }

  private owner(): string {
    return `${this.ctx.containerId}\r\n${this.ctx.ifName}`;
  }

  private fileName(ip: Ip): string {
    const text = formatIp(ip);
    return this.ctx.platform === 'win32' ? text.replace(/:/g, '_') : text;
  }

  private locked<T>(fn: () => T): Promise<T> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    return withLock(path.join(this.dir, 'builtin.lock'), async () => fn(), { timeoutMs: LOCK_TIMEOUT_MS });
  }

  /** Addresses in the set's subnets that are never handed out. */
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

  /** Owners by address text, read from the data directory. */
  private allocations(): Map<string, string> {
    const out = new Map<string, string>();
    for (const f of fs.readdirSync(this.dir)) {
      if (f === 'lock' || f === 'builtin.lock' || f.startsWith('last_reserved_ip') || f.startsWith('.') || f.includes('.lock')) continue;
      try {
        out.set(f, fs.readFileSync(path.join(this.dir, f), 'utf8').trim());
      } catch {
        /* removed meanwhile */
      }
    }
    return out;
  }

  add(): Promise<Result100> {
    return this.locked(() => {
      const taken = this.allocations();
      if ([...taken.values()].includes(this.owner())) {
        throw new CniError(ErrorCode.AttachmentExists, `${this.ctx.containerId}/${this.ctx.ifName} already has an address on network ${this.ctx.network}`, 'duplicate allocation is not allowed');
      }
      const made: string[] = [];
      try {
        const ips: IpConfig100[] = this.sets.map((set, i) => {
          const { ip, range } = this.allocateIn(set, i, taken);
          made.push(this.fileName(ip));
          return range.gateway ? { address: `${formatIp(ip)}/${range.subnet.prefix}`, gateway: range.gateway } : { address: `${formatIp(ip)}/${range.subnet.prefix}` };
        });
        const result: Result100 = { cniVersion: '1.1.0', ips };
        if (this.conf.routes?.length) result.routes = this.conf.routes.map((r) => ({ ...r }));
        return result;
      } catch (err) {
        // All sets or none: an address per family, or nothing held.
        for (const f of made) fs.rmSync(path.join(this.dir, f), { force: true });
        throw err;
      }
    });
  }

  private allocateIn(set: Range[], index: number, taken: Map<string, string>): { ip: Ip; range: Range } {
    const family = set[0]!.subnet.ip.family;
    const requested = this.ctx.requested.map(parseIp).find((ip) => ip && set.some((r) => contains(r.subnet, ip)));
    if (requested) return this.claimRequested(set, requested, taken);
    const lastFile = path.join(this.dir, `last_reserved_ip.${index}`);
    const last = parseIp(readText(lastFile));
    const startAt = last && set.some((r) => contains(r.subnet, last)) ? last.value + 1n : set[0]!.start;
    let probes = 0;
    for (const { range, value } of candidates(set, startAt)) {
      if (++probes > MAX_PROBES) break;
      if (this.reservedIn(range).has(value)) continue;
      const ip: Ip = { family, value };
      const name = this.fileName(ip);
      if (taken.has(name)) continue;
      this.claim(name);
      fs.writeFileSync(lastFile, formatIp(ip));
      return { ip, range };
    }
    const bounds = set.map((r) => `${formatIp({ family, value: r.start })}-${formatIp({ family, value: r.end })}`).join(', ');
    throw new CniError(ErrorCode.IpamFailure, `no IP addresses available in range set ${bounds} of network ${this.ctx.network}`);
  }

  private claimRequested(set: Range[], ip: Ip, taken: Map<string, string>): { ip: Ip; range: Range } {
    const range = set.find((r) => contains(r.subnet, ip) && ip.value >= r.start && ip.value <= r.end);
    const text = formatIp(ip);
    if (!range || this.reservedIn(range).has(ip.value)) throw new CniError(ErrorCode.AddressConflict, `requested IP address ${text} is reserved or outside the allocation range`);
    const name = this.fileName(ip);
    if (taken.has(name)) throw new CniError(ErrorCode.AddressConflict, `requested IP address ${text} is not available: it is held by ${taken.get(name)!.split(/\r?\n/)[0]}`);
    this.claim(name);
    return { ip, range };
  }

  private claim(name: string): void {
    fs.writeFileSync(path.join(this.dir, name), this.owner(), { flag: 'wx', mode: 0o600 });
  }

  del(): Promise<void> {
    return this.locked(() => {
      for (const [file, owner] of this.allocations()) if (this.ownedByUs(owner)) fs.rmSync(path.join(this.dir, file), { force: true });
    });
  }

  async check(): Promise<void> {
    if (!fs.existsSync(this.dir) || ![...this.allocations().values()].some((o) => this.ownedByUs(o))) {
      throw new CniError(ErrorCode.CheckFailed, `built-in IPAM: no address is held by ${this.ctx.containerId}/${this.ctx.ifName} on network ${this.ctx.network}`);
    }
  }

  gc(valid: ValidAttachment[]): Promise<void> {
    const keep = new Set(valid.map((v) => `${v.containerId}\r\n${v.ifName}`));
    const keepIds = new Set(valid.map((v) => v.containerId));
    return this.locked(() => {
      for (const [file, owner] of this.allocations()) {
        // host-local's oldest format holds only the container ID.
        const live = owner.includes('\n') ? keep.has(owner.replace(/\r?\n/, '\r\n')) : keepIds.has(owner);
        if (!live && !this.isForeignReservation(owner)) fs.rmSync(path.join(this.dir, file), { force: true });
      }
    });
  }

  /**
   * Reservations made by hand with host-local for kube-proxy's source VIP hold an ID that is not a
   * container's; GC only owns what looks like an attachment (`<id>\r\n<ifname>`).
   */
  private isForeignReservation(owner: string): boolean {
    return !owner.includes('\n');
  }

  async status(): Promise<void> {
    if (!fs.existsSync(this.dir)) return;
    const taken = this.allocations();
    for (const [i, set] of this.sets.entries()) {
      const family = set[0]!.subnet.ip.family;
      const free = set.some((r) => {
        const reserved = [...this.reservedIn(r)].filter((v) => v >= r.start && v <= r.end).length;
        const used = [...taken.keys()].filter((k) => {
          const ip = parseIp(this.ctx.platform === 'win32' ? k.replace(/_/g, ':') : k);
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

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
