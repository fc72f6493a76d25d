// The Linux side of the traffic tests: every network namespace of a run starts with RUN (so
// parallel runs on one machine never meet, and cleanup finds them all, also after a failure),
// hosts plugged into an emulated underlay (the "outside" host, the top-of-rack router, a Linux
// flannel node), the probe (probe.mjs) started inside a namespace, ping, and counts of what a
// namespace holds (for the leftover checks).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** Every namespace this run makes starts with it (pid-unique: other runs on the machine use other prefixes). */
export const RUN = `cdp${process.pid}`;

const PROBE = path.join(__dirname, 'probe.mjs');

export function sh(cmd: string, args: string[], input = ''): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** Runs commands with `ip -n <ns> -batch`; throws naming the first that failed. */
export function ipBatch(netns: string, lines: string[]): void {
  const r = sh('ip', ['-n', netns, '-batch', '-'], `${lines.join('\n')}\n`);
  if (!r.ok) throw new Error(`ip -n ${netns}: ${r.err.trim()}`);
}

export function nsExec(netns: string, args: string[], input = ''): { ok: boolean; out: string; err: string } {
  return sh('ip', ['netns', 'exec', netns, ...args], input);
}

/** Fails loudly when this machine cannot make network namespaces (the suite needs root and iproute2; CI runs as root). */
export function requireNetns(): void {
  const probe = `${RUN}-check`;
  const add = sh('ip', ['netns', 'add', probe]);
  if (!add.ok) throw new Error(`the dataplane suite needs to make network namespaces (root, iproute2): ip netns add failed: ${add.err.trim()}`);
  const vx = sh('ip', ['-n', probe, 'link', 'add', 'name', 'vx0', 'type', 'vxlan', 'id', '4096', 'dstport', '4789', 'nolearning']);
  sh('ip', ['netns', 'delete', probe]);
  if (!vx.ok) throw new Error(`the kernel cannot make VXLAN devices in a namespace: ${vx.err.trim()}`);
  for (const tool of ['ping', 'iptables-restore', 'nsenter', 'sysctl', 'bridge']) {
    if (!sh('sh', ['-c', `command -v ${tool}`]).ok) throw new Error(`${tool} is missing (scripts/setup-deps.sh installs it)`);
  }
}

export function runNamespaces(): string[] {
  try {
    return fs.readdirSync('/run/netns').filter((n) => n.startsWith(`${RUN}-`));
  } catch {
    return [];
  }
}

/** Deletes the namespaces of this run (starting with `prefix`), their probes first: a process in a namespace keeps it alive after its name goes. */
export function removeRunNamespaces(prefix = `${RUN}-`): void {
  for (const p of [...probes]) if (p.netns.startsWith(prefix)) p.stop();
  for (const n of runNamespaces()) if (n.startsWith(prefix)) sh('ip', ['netns', 'delete', n]);
}

process.on('exit', () => removeRunNamespaces());

/**
 * A host on the underlay (the L2 segment of namespace `underlay`): its own namespace with an
 * `eth0` plugged into the underlay's bridge, at `cidr`, with forwarding when it routes.
 */
export function addUnderlayHost(underlay: string, name: string, cidr: string, opts: { forwarding?: boolean; routes?: string[] } = {}): string {
  const netns = `${RUN}-${name}`;
  const port = `h${name.replace(/[^a-z0-9]/gi, '').slice(-10)}`;
  if (!sh('ip', ['netns', 'add', netns]).ok) throw new Error(`ip netns add ${netns} failed`);
  ipBatch(netns, [`link add name eth0 type veth peer name ${port} netns ${underlay}`, 'link set dev lo up', 'link set dev eth0 up', `address add ${cidr} dev eth0`, ...(opts.routes ?? []).map((r) => `route add ${r}`)]);
  ipBatch(underlay, [`link set dev ${port} master underlay up`]);
  const sysctls = ['net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0', ...(opts.forwarding ? ['net.ipv4.ip_forward=1'] : [])];
  const r = nsExec(netns, ['sysctl', '-q', '-w', ...sysctls]);
  if (!r.ok) throw new Error(`sysctl in ${netns}: ${r.err}`);
  return netns;
}

// --- probes ------------------------------------------------------------------------------------

export interface ProbeAnswer {
  ok: boolean;
  saw?: string;
  error?: string;
}

const probes = new Set<Probe>();

/** probe.mjs running inside a namespace: echo servers on its ports, and a client the test drives. */
export class Probe {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (a: ProbeAnswer) => void>();
  readonly ready: Promise<void>;

  constructor(readonly netns: string, ports: number[] = [5000]) {
    this.child = spawn('ip', ['netns', 'exec', netns, process.execPath, PROBE, ...ports.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
    probes.add(this);
    let err = '';
    this.child.stderr!.on('data', (d) => (err += d));
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`probe in ${netns} exited (${code}): ${err}`)));
      readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
        const msg = JSON.parse(line) as ProbeAnswer & { id?: number; ready?: boolean };
        if (msg.ready) return resolve();
        const done = this.waiting.get(msg.id!);
        this.waiting.delete(msg.id!);
        done?.(msg);
      });
    });
    this.ready.catch(() => undefined);
  }

  private ask(op: 'tcp' | 'udp', host: string, port: number, timeoutMs: number): Promise<ProbeAnswer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, op, host, port, timeoutMs })}\n`);
    });
  }

  tcp(host: string, port = 5000, timeoutMs = 1500): Promise<ProbeAnswer> {
    return this.ask('tcp', host, port, timeoutMs);
  }

  udp(host: string, port = 5000, timeoutMs = 1500): Promise<ProbeAnswer> {
    return this.ask('udp', host, port, timeoutMs);
  }

  stop(): void {
    probes.delete(this);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** One echo request; true when answered. */
export function ping(netns: string, ip: string, waitS = 1): boolean {
  return nsExec(netns, ['ping', '-n', '-q', '-c', '1', '-W', String(waitS), ip]).ok;
}

/**
 * Whether `ip` answers from `netns` within a few tries: the first packets of a path wait for its
 * neighbour entries (one resolution per routed hop), so a positive check is given three tries.
 */
export function pingable(netns: string, ip: string): boolean {
  for (let i = 0; i < 3; i++) if (ping(netns, ip)) return true;
  return false;
}

// --- what a namespace holds ----------------------------------------------------------------------

export interface Holdings {
  links: string[];
  addresses: string[];
  routes: string[];
  neighbours: string[];
  fdb: string[];
  nat: string[];
}

/** What a namespace holds, as text lines, for leftover checks (`needle` filters every list). */
export function holdings(netns: string): Holdings {
  const links = JSON.parse(sh('ip', ['-n', netns, '-j', 'addr', 'show']).out || '[]') as { ifname: string; ifalias?: string; addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
  const routes = [...sh('ip', ['-n', netns, 'route', 'show', 'table', 'all']).out.split('\n'), ...sh('ip', ['-n', netns, '-6', 'route', 'show', 'table', 'all']).out.split('\n')].filter(Boolean);
  const neigh = sh('ip', ['-n', netns, 'neigh', 'show', 'nud', 'permanent']).out.split('\n').filter(Boolean);
  const fdb = sh('bridge', ['-n', netns, 'fdb', 'show']).out.split('\n').filter((l) => l.includes(' dst '));
  const nat = nsExec(netns, ['iptables-save', '-t', 'nat']).out.split('\n').filter((l) => l.startsWith('-A'));
  return {
    links: links.map((l) => `${l.ifname}${l.ifalias ? ` ${l.ifalias}` : ''}`),
    addresses: links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen} ${l.ifname}`)),
    routes,
    neighbours: neigh,
    fdb,
    nat,
  };
}

/** The lines of every list that mention any of `needles` (an endpoint ID, a pod IP, a peer's pod subnet or MAC). */
export function mentioning(h: Holdings, needles: string[]): string[] {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const res = needles.map((n) => new RegExp(`(^|[^0-9A-Za-z.])${esc(n)}($|[^0-9A-Za-z])`, 'i'));
  return Object.entries(h).flatMap(([kind, lines]) => (lines as string[]).filter((l) => res.some((re) => re.test(l))).map((l) => `${kind}: ${l}`));
}
