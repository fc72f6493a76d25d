// The Linux side: network namespaces (files under /run/netns), and what is in one, read and
// changed with iproute2 (`ip -n <ns> -batch -`, `bridge -n <ns> -batch -`) and, for sysctls and
// iptables, one `nsenter --net` shell per namespace. Every call is synchronous: the data plane
// runs under the emulator's state lock, between the commit of a call and its return.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const NETNS_DIR = '/run/netns';
/** Where Debian keeps iproute2, iptables and nsenter, whatever PATH the calling plugin was given. */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const TIMEOUT_MS = 20_000;

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], input = ''): CommandResult {
  const env = { PATH: `${process.env.PATH ? `${process.env.PATH}:` : ''}${SYSTEM_PATH}`, LC_ALL: 'C' };
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', env, timeout: TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return { ok: false, stdout: '', stderr: `${cmd}: ${r.error.message}` };
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function netnsExists(name: string): boolean {
  return fs.existsSync(`${NETNS_DIR}/${name}`);
}

export function listNetns(): string[] {
  try {
    return fs.readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** `ip netns add`; one made meanwhile by another node's pass (the underlay) is fine. */
export function addNetns(name: string): string | undefined {
  if (netnsExists(name)) return undefined;
  const r = run('ip', ['netns', 'add', name]);
  if (r.ok || /File exists/.test(r.stderr)) return undefined;
  return `ip netns add ${name}: ${r.stderr.trim()}`;
}

export function deleteNetns(name: string): string | undefined {
  if (!netnsExists(name)) return undefined;
  const r = run('ip', ['netns', 'delete', name]);
  return r.ok || !netnsExists(name) ? undefined : `ip netns delete ${name}: ${r.stderr.trim()}`;
}

/** Runs iproute2 commands (one per line) in a namespace, going on past a failing one; the failures, with their line. */
export function batch(tool: 'ip' | 'bridge', netns: string, lines: string[]): string[] {
  if (!lines.length) return [];
  const r = run(tool, ['-n', netns, '-force', '-batch', '-'], `${lines.join('\n')}\n`);
  if (r.ok) return [];
  const errors: string[] = [];
  let said: string[] = [];
  let failures = 0;
  for (const text of r.stderr.trim().split('\n')) {
    const m = /^Command failed -:(\d+)/.exec(text);
    if (!m) {
      said.push(text.trim());
      continue;
    }
    failures++;
    const line = lines[Number(m[1]) - 1] ?? '';
    const why = said.join(' ') || 'failed';
    said = [];
    // A veth end deleted meanwhile with its pair (its owner's pass ran first) is gone, as asked.
    if (/^link delete /.test(line) && /Cannot find device/.test(why)) continue;
    errors.push(`${tool} -n ${netns}: ${line}: ${why}`);
  }
  return failures ? errors : [`${tool} -n ${netns} -batch: ${r.stderr.trim() || 'failed'}`];
}

/** sysctls then iptables-restore inside the namespace (one process). */
export function configure(netns: string, sysctls: [string, string][], iptables: string): string[] {
  const sets = sysctls.map(([k, v]) => `${k}=${v}`);
  const script = [sets.length ? `sysctl -q -e -w ${sets.map(shellQuote).join(' ')} >/dev/null` : ':', iptables ? 'iptables-restore -w 5' : ':'].join(' && ');
  const r = run('nsenter', [`--net=${NETNS_DIR}/${netns}`, 'sh', '-c', script], iptables);
  return r.ok ? [] : [`configure ${netns}: ${r.stderr.trim() || 'failed'}`];
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// --- reading a namespace ---------------------------------------------------------------------

export interface ActualLink {
  name: string;
  alias?: string;
  kind?: string;
  mac: string;
  mtu: number;
  up: boolean;
  master?: string;
  vxlan?: { id: number; port: number; local?: string; dev?: string };
  addresses: string[];
}

export interface ActualRoute {
  table: string;
  dst: string;
  via?: string;
  dev: string;
  onlink: boolean;
  src?: string;
  metric: number;
}

export interface ActualNetns {
  links: ActualLink[];
  /** Routes of the data plane's protocol only. */
  routes: ActualRoute[];
  /** Rules of the data plane's protocol only. */
  rules: { priority: number; iif: string; table: string }[];
  /** Permanent neighbour entries. */
  neighbours: { dev: string; ip: string; mac: string }[];
  /** FDB entries with a remote destination (VXLAN). */
  fdb: { dev: string; mac: string; dst: string }[];
}

interface IpLink {
  ifname: string;
  ifalias?: string;
  address?: string;
  mtu: number;
  flags?: string[];
  master?: string;
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; local?: string } };
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  table?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
}

function jsonLines(text: string): unknown[][] {
  return text.split('\n').filter((l) => l.trim().startsWith('[')).map((l) => JSON.parse(l) as unknown[]);
}

function routeOf(r: IpRoute, family: 4 | 6): ActualRoute {
  const dst = r.dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`;
  const out: ActualRoute = { table: r.table ?? 'main', dst, dev: r.dev, onlink: (r.flags ?? []).includes('onlink'), metric: r.metric ?? 0 };
  if (r.gateway) out.via = r.gateway;
  if (r.prefsrc) out.src = r.prefsrc;
  return out;
}

/** Everything the data plane compares in one namespace: one `ip -batch` (and one `bridge` when it has VXLAN devices). */
export function readNetns(netns: string, proto: number): ActualNetns | string {
  const lines = ['addr show', `route show table all proto ${proto} root 0.0.0.0/0`, `route show table all proto ${proto} root ::/0`, 'rule show', 'neigh show nud permanent'];
  const r = run('ip', ['-n', netns, '-j', '-d', '-batch', '-'], `${lines.join('\n')}\n`);
  if (!r.ok) return `reading ${netns}: ${r.stderr.trim()}`;
  let parts: unknown[][];
  try {
    parts = jsonLines(r.stdout);
  } catch (err) {
    return `reading ${netns}: ${(err as Error).message}`;
  }
  if (parts.length !== lines.length) return `reading ${netns}: ${parts.length} answers to ${lines.length} questions`;
  const [links, r4, r6, rules, neigh] = parts as [IpLink[], IpRoute[], IpRoute[], { priority: number; iif?: string; table: string; protocol?: string }[], { dst: string; dev: string; lladdr?: string }[]];
  const out: ActualNetns = {
    links: links.map((l) => {
      const a: ActualLink = {
        name: l.ifname,
        mac: l.address ?? '',
        mtu: l.mtu,
        up: (l.flags ?? []).includes('UP'),
        addresses: (l.addr_info ?? []).filter((x) => x.scope !== 'link' && x.scope !== 'host').map((x) => `${x.local}/${x.prefixlen}`),
      };
      if (l.ifalias) a.alias = l.ifalias;
      if (l.linkinfo?.info_kind) a.kind = l.linkinfo.info_kind;
      if (l.master) a.master = l.master;
      if (a.kind === 'vxlan') {
        const d = l.linkinfo!.info_data ?? {};
        a.vxlan = { id: d.id ?? 0, port: d.port ?? 0, ...(d.local ? { local: d.local } : {}), ...(l.link ? { dev: l.link } : {}) };
      }
      return a;
    }),
    routes: [...r4.map((x) => routeOf(x, 4)), ...r6.map((x) => routeOf(x, 6))],
    rules: rules.filter((x) => x.protocol === String(proto) && x.iif).map((x) => ({ priority: x.priority, iif: x.iif!, table: x.table })),
    neighbours: neigh.filter((n) => n.lladdr).map((n) => ({ dev: n.dev, ip: n.dst, mac: n.lladdr! })),
    fdb: [],
  };
  if (out.links.some((l) => l.kind === 'vxlan')) {
    const f = run('bridge', ['-n', netns, '-j', 'fdb', 'show']);
    if (!f.ok) return `reading the FDB of ${netns}: ${f.stderr.trim()}`;
    const entries = (JSON.parse(f.stdout || '[]') as { mac: string; ifname?: string; dst?: string }[]);
    out.fdb = entries.filter((e) => e.dst && e.ifname).map((e) => ({ dev: e.ifname!, mac: e.mac, dst: e.dst! }));
  }
  return out;
}
