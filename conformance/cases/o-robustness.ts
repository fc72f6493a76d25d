// O. Concurrency and robustness (cni-spec.md §8.2 O01-O06; §2.7).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CaseDef } from '../lib/case';
import type { CaseContext } from '../lib/context';
import { describe, type Outcome } from '../lib/exec';
import { ensure, expectErr, expectOk0, expectRes, fail } from '../lib/expect';
import { HOST_LOCAL_BINARY } from '../lib/profile';
import { gcConf } from './util';

const PODS = 32;

/** C(1.0.0) with the real host-local (Debian's 1.1.x speaks up to 1.0.0). */
function hostLocalConf(ctx: CaseContext): Record<string, unknown> {
  return ctx.conf('1.0.0', {
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '10.244.3.0/24', rangeStart: '10.244.3.10', rangeEnd: '10.244.3.250', gateway: ctx.profile.gateway4 }]],
      dataDir: ctx.node.hostLocalDir,
    },
  });
}

/** An unwritable directory to run in: /proc for root (whom no mode stops), else a 0555 directory. */
function unwritableDir(ctx: CaseContext): string {
  if (process.getuid?.() === 0 && fs.existsSync('/proc/self')) return '/proc';
  const d = path.join(ctx.node.dir, 'readonly');
  fs.mkdirSync(d, { mode: 0o555 });
  return d;
}

function p99(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)]!;
}

export const cases: CaseDef[] = [
  {
    id: 'O01',
    title: '32 concurrent ADDs (distinct containers, real host-local) → all RES; no duplicate IPs; no endpoint name collisions',
    exclusive: true,
    run: async (ctx) => {
      ensure(fs.existsSync(HOST_LOCAL_BINARY), `host-local is not installed at ${HOST_LOCAL_BINARY} (Debian's containernetworking-plugins; the test setup installs it)`);
      const conf = hostLocalConf(ctx);
      const namespaces = await Promise.all(Array.from({ length: PODS }, (_, i) => ctx.node.ns(i)));
      const outs = await Promise.all(namespaces.map((netns, i) => ctx.exec(`ADD pod ${i}`, 'ADD', { conf, containerId: `ctr-o${i}`, netns })));
      const results = outs.map((o, i) => expectRes(`ADD pod ${i}`, o, '1.0.0'));
      const ips = results.flatMap((r) => ((r.ips ?? []) as { address: string }[]).map((x) => x.address.split('/')[0]!));
      const dup = ips.filter((ip, i) => ips.indexOf(ip) !== i);
      ensure(ips.length >= PODS && dup.length === 0, `${ips.length} addresses for ${PODS} pods, duplicates: ${[...new Set(dup)].join(', ') || 'none'}`);
      if (ctx.profile.backend === 'emulator') {
        const eps = ctx.node.podEndpoints();
        const names = eps.map((e) => e.Name);
        ensure(eps.length === PODS, `${eps.length} pod endpoints for ${PODS} pods`);
        ensure(new Set(names).size === names.length, `endpoint names collide: ${names.filter((n, i) => names.indexOf(n) !== i).join(', ')}`);
        for (const ns of namespaces) ensure(ctx.node.endpointsIn(ns).length === 1, `namespace ${ns} holds ${ctx.node.endpointsIn(ns).length} endpoints`);
      }
      const dels = await Promise.all(namespaces.map((netns, i) => ctx.exec(`DEL pod ${i}`, 'DEL', { conf: { ...conf, prevResult: results[i] }, containerId: `ctr-o${i}`, netns })));
      dels.forEach((o, i) => expectOk0(`DEL pod ${i}`, o));
      const left = fs.readdirSync(path.join(ctx.node.hostLocalDir, 'testnet')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f) && fs.readFileSync(path.join(ctx.node.hostLocalDir, 'testnet', f), 'utf8').startsWith('ctr-o'));
      ensure(left.length === 0, `host-local still holds ${left.length} pod address(es) after the DELs: ${left.slice(0, 5).join(', ')}`);
      if (ctx.profile.backend === 'emulator') ensure(ctx.node.podEndpoints().length === 0, `${ctx.node.podEndpoints().length} endpoints left after the DELs`);
    },
  },
  {
    id: 'O02',
    title: 'Concurrent ADD(ctr-x), DEL(ctr-y), CHECK(ctr-z) → each correct',
    run: async (ctx) => {
      const [nx, ny, nz] = [await ctx.node.ns(0), await ctx.node.ns(1), await ctx.node.ns(2)];
      const { result: y } = await ctx.add('ADD ctr-y', { containerId: 'ctr-y', netns: ny });
      const { result: z } = await ctx.add('ADD ctr-z', { containerId: 'ctr-z', netns: nz });
      const [add, del, check] = await Promise.all([
        ctx.exec('ADD ctr-x', 'ADD', { containerId: 'ctr-x', netns: nx }),
        ctx.exec('DEL ctr-y', 'DEL', { containerId: 'ctr-y', netns: ny, prevResult: y }),
        ctx.exec('CHECK ctr-z', 'CHECK', { containerId: 'ctr-z', netns: nz, prevResult: z }),
      ]);
      expectRes('ADD ctr-x', add, '1.1.0');
      expectOk0('DEL ctr-y', del);
      expectOk0('CHECK ctr-z', check);
      const held = ctx.node.ipamAllocations().map((a) => a.containerId).sort();
      ensure(JSON.stringify(held) === JSON.stringify(['ctr-x', 'ctr-z']), `FAKE-IPAM holds addresses for ${held.join(', ')}`);
      if (ctx.profile.backend === 'emulator') {
        ensure(ctx.node.endpointsIn(ny).length === 0, 'ctr-y\'s endpoint is still there');
        ensure(ctx.node.endpointsIn(nx).length === 1 && ctx.node.endpointsIn(nz).length === 1, 'ctr-x or ctr-z has no endpoint');
      }
    },
  },
  {
    id: 'O03',
    title: 'Two concurrent DELs of the same container → no crash; both exit 0 (or one ERR(11))',
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add();
      const outs = await Promise.all([0, 1].map((i) => ctx.exec(`DEL #${i + 1}`, 'DEL', { prevResult: result })));
      const failed = outs.filter((o) => o.code !== 0);
      ensure(failed.length <= 1, `both DELs failed: ${outs.map((o) => describe(o)).join(' | ')}`);
      for (const o of failed) expectErr('the DEL that lost', o, 11);
      for (const [i, o] of outs.entries()) if (o.code === 0) expectOk0(`DEL #${i + 1}`, o);
      if (failed.length) await ctx.del('DEL once more');
      ctx.same('after the two DELs', before, ['ipamCalls']);
    },
  },
  {
    id: 'O04',
    title: 'Run with an unwritable current directory and a minimal environment → still works',
    run: async (ctx) => {
      const cwd = unwritableDir(ctx);
      const before = ctx.snap();
      const { result } = await ctx.add('ADD in an unwritable directory without PATH', { cwd, minimalEnv: true });
      await ctx.check('CHECK', { cwd, minimalEnv: true, prevResult: result });
      await ctx.del('DEL', { cwd, minimalEnv: true, prevResult: result });
      ctx.same('after ADD and DEL', before, ['ipamCalls']);
      ctx.note(`cwd ${cwd}; environment: CNI_* and the backend's variables only`);
    },
  },
  {
    id: 'O05',
    title: 'ADD p99 < 30 s (here on the emulator); VERSION < 1 s',
    exclusive: true,
    run: async (ctx) => {
      const adds: Outcome[] = [];
      for (let i = 0; i < 20; i++) {
        const o = await ctx.exec(`ADD ${i}`, 'ADD', { containerId: `ctr-p${i}`, netns: await ctx.node.ns(i) });
        expectRes(`ADD ${i}`, o, '1.1.0');
        adds.push(o);
      }
      const versions: Outcome[] = [];
      for (let i = 0; i < 10; i++) versions.push(await ctx.exec(`VERSION ${i}`, 'VERSION', { stdin: '{"cniVersion":"1.1.0"}' }));
      const addP99 = p99(adds.map((o) => o.ms));
      const versionMax = Math.max(...versions.map((o) => o.ms));
      ensure(addP99 < 30_000, `ADD p99 ${addP99.toFixed(0)} ms`);
      ensure(versions.every((o) => o.code === 0) && versionMax < 1_000, `VERSION took up to ${versionMax.toFixed(0)} ms`);
      ctx.note(`ADD p99 ${addP99.toFixed(0)} ms (${os.cpus().length} CPUs, emulator), VERSION max ${versionMax.toFixed(0)} ms`);
    },
  },
  {
    id: 'O06',
    title: 'DEL/CHECK/GC/STATUS successes write nothing to stdout',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const runs: [string, Outcome][] = [
        ['CHECK', await ctx.exec('CHECK', 'CHECK', { prevResult: result })],
        ['STATUS', await ctx.exec('STATUS', 'STATUS', { conf: ctx.conf('1.1.0') })],
        ['GC', await ctx.exec('GC', 'GC', { conf: gcConf(ctx, [{ containerID: 'ctr-a1', ifname: 'eth0' }]) })],
        ['DEL', await ctx.exec('DEL', 'DEL', { prevResult: result })],
      ];
      for (const [verb, o] of runs) if (o.code !== 0 || o.stdout !== '') fail(`${verb}: expected exit 0 and no stdout at all, got ${describe(o)}`);
    },
  },
];
