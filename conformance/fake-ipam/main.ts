// fake-ipam: a CNI IPAM plugin for the conformance harness. Every invocation is appended to a log
// (argv, the environment, the exact stdin bytes) before anything else, then answered from the
// control file: by default like a small host-local (one address per family from a pool, in the
// request's version; DEL/CHECK/GC by (network, container, interface)); or with a scripted answer
// (an error, raw stdout, stderr text, an exit status) per verb.
//
// Its directory comes from FAKE_IPAM_DIR, which the harness's wrapper script sets. Test tool:
// node built-ins only, nothing of the product.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  ALL_VERSIONS, FAKE_IPAM_FILES, type FakeAnswer, type FakeIpamAllocation, type FakeIpamCall, type FakeIpamControl, type FakePool,
  type FakePoolFamily,
} from './protocol';

const DIR = process.env.FAKE_IPAM_DIR ?? '';
const MAX_LOGGED_STDIN = 1 << 20;

function out(text: string): void {
  writeAll(1, text);
}

function err(text: string): void {
  try {
    writeAll(2, text);
  } catch {
    /* stderr closed */
  }
}

function writeAll(fd: number, text: string): void {
  const data = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw e;
    }
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(1 << 16);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleep(1);
        continue;
      }
      if (code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

function file(name: keyof typeof FAKE_IPAM_FILES): string {
  return path.join(DIR, FAKE_IPAM_FILES[name]);
}

function readJson<T>(f: string, fallback: T): T {
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

function fail(code: number, msg: string, details?: string, exit = 1): never {
  out(JSON.stringify(details ? { code, msg, details } : { code, msg }) + '\n');
  process.exit(exit);
}

// --- the allocation table, under a lock file (O_EXCL) -------------------------------------

function withAllocations<T>(fn: (all: FakeIpamAllocation[]) => T): T {
  const lock = file('lock');
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A holder killed mid-way leaves the file: break it after a while.
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 5_000) fs.rmSync(lock, { force: true });
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) fail(11, 'fake-ipam: allocation table is locked');
      sleep(2);
    }
  }
  try {
    const all = readJson<FakeIpamAllocation[]>(file('allocations'), []);
    const before = JSON.stringify(all);
    const result = fn(all);
    if (JSON.stringify(all) !== before) {
      const tmp = `${file('allocations')}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(all, null, 1));
      fs.renameSync(tmp, file('allocations'));
    }
    return result;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

// --- addresses ----------------------------------------------------------------------------

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToV4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function v6ToBig(ip: string): bigint {
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function bigToV6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt((7 - i) * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function nthHost(fam: FakePoolFamily, n: number): string {
  const [base = '', prefix = ''] = fam.subnet.split('/');
  return base.includes(':') ? `${bigToV6(v6ToBig(base) + BigInt(n))}/${prefix}` : `${intToV4(v4ToInt(base) + n)}/${prefix}`;
}

const DEFAULT_POOL: FakePool = {
  v4: { subnet: '10.244.3.0/24', gateway: '10.244.3.1', first: 17 },
  v6: { subnet: 'fd00:10:244:3::/64', gateway: 'fd00:10:244:3::1', first: 17 },
};

function poolFor(control: FakeIpamControl, network: string): FakePool {
  return control.pools?.[network] ?? control.pools?.['*'] ?? DEFAULT_POOL;
}

function allocate(fam: FakePoolFamily, used: Set<string>): string {
  for (let n = fam.first; n < fam.first + 4096; n++) {
    const a = nthHost(fam, n);
    if (!used.has(a)) return a;
  }
  fail(999, `fake-ipam: no free address in ${fam.subnet}`);
}

// --- result formats -----------------------------------------------------------------------

type Ip = { address: string; gateway?: string };

function family(version: string): '020' | '040' | '100' {
  if (version === '0.1.0' || version === '0.2.0') return '020';
  if (version === '0.3.0' || version === '0.3.1' || version === '0.4.0') return '040';
  return '100';
}

function formatResult(version: string, ips: Ip[], pool: FakePool, noVersion: boolean): Record<string, unknown> {
  const isV6 = (a: string) => a.includes(':');
  const res: Record<string, unknown> = {};
  if (!noVersion) res.cniVersion = version;
  const routes = pool.routes ?? [];
  if (family(version) === '020') {
    for (const [key, v6] of [['ip4', false], ['ip6', true]] as const) {
      const ip = ips.find((i) => isV6(i.address) === v6);
      if (!ip) continue;
      const entry: Record<string, unknown> = { ip: ip.address };
      if (ip.gateway) entry.gateway = ip.gateway;
      const r = routes.filter((x) => isV6(x.dst) === v6);
      if (r.length) entry.routes = r;
      res[key] = entry;
    }
    res.dns = pool.dns ?? {};
    return res;
  }
  res.ips = ips.map((i) => {
    const e: Record<string, unknown> = family(version) === '040' ? { version: isV6(i.address) ? '6' : '4', address: i.address } : { address: i.address };
    if (i.gateway) e.gateway = i.gateway;
    return e;
  });
  if (routes.length) res.routes = routes;
  if (family(version) === '040') res.dns = pool.dns ?? {};
  else if (pool.dns) res.dns = pool.dns;
  return res;
}

// --- main ---------------------------------------------------------------------------------

function main(): void {
  const command = process.env.CNI_COMMAND ?? '';
  if (!DIR) fail(4, 'fake-ipam: FAKE_IPAM_DIR is not set', 'run it through the wrapper the conformance harness writes');
  fs.mkdirSync(DIR, { recursive: true });
  const stdin = command === 'VERSION' ? Buffer.alloc(0) : readStdin();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAKE_IPAM_') && v !== undefined) env[k] = v;
  const call: FakeIpamCall = {
    time: new Date().toISOString(),
    pid: process.pid,
    ppid: process.ppid,
    command,
    args: process.argv.slice(2),
    env,
    copy: process.env.FAKE_IPAM_COPY ?? '',
    stdin: { length: stdin.length, sha256: createHash('sha256').update(stdin).digest('hex'), ...(stdin.length <= MAX_LOGGED_STDIN ? { base64: stdin.toString('base64') } : {}) },
  };
  fs.appendFileSync(file('log'), JSON.stringify(call) + '\n');

  const control = readJson<FakeIpamControl>(file('control'), {});
  const answer: FakeAnswer = control.answers?.[command as keyof NonNullable<FakeIpamControl['answers']>] ?? {};
  if (answer.delayMs) sleep(answer.delayMs);
  if (answer.stderr) err(answer.stderr);
  if (answer.error) fail(answer.error.code, answer.error.msg, answer.error.details, answer.exit ?? 1);

  if (command === 'VERSION') {
    if (answer.stdout !== undefined) return finish(answer);
    out(JSON.stringify({ cniVersion: '1.1.0', supportedVersions: control.supportedVersions ?? ALL_VERSIONS }) + '\n');
    return;
  }

  let conf: Record<string, unknown>;
  try {
    conf = JSON.parse(stdin.toString('utf8')) as Record<string, unknown>;
    if (!conf || typeof conf !== 'object' || Array.isArray(conf)) throw new Error('not an object');
  } catch (e) {
    fail(6, `fake-ipam: stdin is not a JSON object: ${(e as Error).message}`);
  }
  const network = typeof conf.name === 'string' ? conf.name : '';
  const version = typeof conf.cniVersion === 'string' && conf.cniVersion ? conf.cniVersion : '0.1.0';
  const containerId = process.env.CNI_CONTAINERID ?? '';
  const ifName = process.env.CNI_IFNAME ?? '';
  const mine = (a: FakeIpamAllocation) => a.network === network && a.containerId === containerId && a.ifName === ifName;

  switch (command) {
    case 'ADD': {
      const pool = poolFor(control, network);
      const ips = withAllocations((all) => {
        if (all.some(mine)) fail(999, `fake-ipam: ${containerId}/${ifName} already has an address on ${network}`, 'duplicate allocation is not allowed');
        let got: Ip[];
        if (answer.noIps) got = [];
        else if (answer.addresses) got = answer.addresses.map((a) => ({ ...a }));
        else {
          const used = new Set(all.filter((a) => a.network === network).flatMap((a) => a.addresses));
          got = [];
          if (pool.v4) got.push({ address: allocate(pool.v4, used), ...(pool.v4.gateway ? { gateway: pool.v4.gateway } : {}) });
          if (control.dualStack && pool.v6) got.push({ address: allocate(pool.v6, used), ...(pool.v6.gateway ? { gateway: pool.v6.gateway } : {}) });
        }
        // Whatever it prints, an ADD that exits 0 holds its addresses until a DEL or GC.
        if ((answer.exit ?? 0) === 0) all.push({ network, containerId, ifName, addresses: got.map((g) => g.address) });
        return got;
      });
      if (answer.stdout !== undefined) return finish(answer);
      out(JSON.stringify(formatResult(version, ips, pool, answer.noVersion === true)) + '\n');
      return finish(answer, true);
    }
    case 'DEL':
      withAllocations((all) => {
        for (let i = all.length - 1; i >= 0; i--) if (mine(all[i]!)) all.splice(i, 1);
      });
      return finish(answer);
    case 'CHECK': {
      const held = withAllocations((all) => all.some(mine));
      if (answer.stdout === undefined && !held) fail(110, `fake-ipam: no address is held by ${containerId}/${ifName} on ${network}`);
      return finish(answer);
    }
    case 'GC': {
      const key = 'cni.dev/valid-attachments' in conf ? 'cni.dev/valid-attachments' : 'cni.dev/attachments' in conf ? 'cni.dev/attachments' : undefined;
      if (key) {
        const list = conf[key] === null ? [] : conf[key];
        if (!Array.isArray(list)) fail(7, `fake-ipam: "${key}" must be a list`);
        const keep = new Set((list as { containerID?: unknown; ifname?: unknown }[]).map((v) => `${String(v?.containerID)}\u0000${String(v?.ifname)}`));
        withAllocations((all) => {
          for (let i = all.length - 1; i >= 0; i--) {
            const a = all[i]!;
            if (a.network === network && !keep.has(`${a.containerId}\u0000${a.ifName}`)) all.splice(i, 1);
          }
        });
      }
      return finish(answer);
    }
    case 'STATUS':
      return finish(answer);
    default:
      fail(4, `fake-ipam: unknown CNI_COMMAND: ${command}`);
  }
}

function finish(answer: FakeAnswer, printed = false): void {
  if (!printed && answer.stdout !== undefined) out(answer.stdout);
  process.exit(answer.exit ?? 0);
}

main();
