// J. DEL (cni-spec.md §8.2 J01-J13; §2.2, §6.2).

import fs from 'node:fs';
import path from 'node:path';
import { type CaseDef, needsEmulator } from '../lib/case';
import type { CaseContext } from '../lib/context';
import { describe } from '../lib/exec';
import { ensure, fail } from '../lib/expect';
import { diff, snapshot } from '../lib/snapshot';
import { ipamRan } from './util';

function noPodEndpoints(ctx: CaseContext, label: string): void {
  if (ctx.profile.backend !== 'emulator') return;
  const eps = ctx.node.podEndpoints();
  ensure(eps.length === 0, `${label}: ${eps.length} pod endpoint(s) remain: ${eps.map((e) => e.Name).join(', ')}`);
}

export const cases: CaseDef[] = [
  {
    id: 'J01',
    title: 'DEL after ADD, with prevResult = R → OK0; endpoint and policies gone; IPAM DEL logged once',
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add('ADD', { conf: ctx.conf('1.1.0', { capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }) });
      const from = ctx.ipamCalls().length;
      await ctx.del('DEL', { prevResult: result });
      const dels = ipamRan(ctx, 'DEL', from, 'DEL');
      ensure(dels.length === 1, `FAKE-IPAM DEL ran ${dels.length} times`);
      ctx.same('after ADD and DEL', before, ['ipamCalls']);
    },
  },
  {
    id: 'J02',
    title: 'DEL after ADD without prevResult → OK0; same cleanup',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.add();
      const from = ctx.ipamCalls().length;
      await ctx.del('DEL without prevResult');
      ipamRan(ctx, 'DEL without prevResult', from, 'DEL');
      ctx.same('after ADD and DEL without prevResult', before, ['ipamCalls']);
    },
  },
  {
    id: 'J03',
    title: 'DEL twice → both OK0',
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add();
      await ctx.del('first DEL', { prevResult: result });
      await ctx.del('second DEL', { prevResult: result });
      ctx.same('after ADD and two DELs', before, ['ipamCalls']);
    },
  },
  {
    id: 'J04',
    title: 'DEL for a never-added container → OK0; other attachments untouched',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const before = ctx.snap();
      await ctx.del('DEL of ctr-never', { containerId: 'ctr-never', netns: await ctx.node.ns(1) });
      ctx.same('DEL of a container never added', before, ['ipamCalls']);
      await ctx.check('CHECK of the other attachment', { prevResult: result });
    },
  },
  {
    id: 'J05',
    title: 'DEL with CNI_NETNS of an already deleted namespace → OK0; cleanup done',
    applies: needsEmulator,
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add();
      await ctx.node.client().deleteNamespace(ctx.node.netns);
      await ctx.del('DEL after the namespace was deleted', { prevResult: result });
      const left = diff(before, snapshot(ctx.node), ['ipamCalls']).filter((d) => !d.includes(ctx.node.netns));
      if (left.length) fail(`after DEL with a deleted namespace: ${left.join('; ')}`);
    },
  },
  {
    id: 'J06',
    title: 'DEL with a malformed prevResult ("ips":"x") → OK0 (clean up by identity) with a stderr warning',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.add();
      const out = await ctx.del('DEL with a malformed prevResult', { prevResult: { cniVersion: '1.1.0', ips: 'x' } });
      ensure(/prevResult/i.test(out.stderr), `no warning on stderr about the malformed prevResult (stderr ${JSON.stringify(out.stderr.slice(0, 200))})`);
      ctx.same('after DEL with a malformed prevResult', before, ['ipamCalls']);
    },
  },
  {
    id: 'J07',
    title: 'FAKE-IPAM DEL fails → own resources still removed; ERR(*); a later DEL with a healthy IPAM → OK0',
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add();
      ctx.node.editControl((c) => { c.answers = { DEL: { error: { code: 11, msg: 'fake-ipam: store busy' } } }; });
      await ctx.err('DEL with FAKE-IPAM DEL failing', 'DEL', '*', { prevResult: result });
      noPodEndpoints(ctx, 'DEL with FAKE-IPAM DEL failing');
      ctx.node.editControl((c) => { delete c.answers; });
      await ctx.del('DEL again', { prevResult: result });
      ctx.same('after the second DEL', before, ['ipamCalls']);
    },
  },
  {
    id: 'J08',
    title: 'FAKE-IPAM missing on DEL → own resources removed; ERR(*)',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const empty = path.join(ctx.node.dir, 'empty-bin');
      fs.mkdirSync(empty, { recursive: true });
      await ctx.err('DEL without FAKE-IPAM on CNI_PATH', 'DEL', '*', { prevResult: result, path: empty });
      noPodEndpoints(ctx, 'DEL without FAKE-IPAM');
    },
  },
  {
    id: 'J09',
    title: 'Endpoint deletion fails (fault) → IPAM DEL still executed; ERR(*); a later DEL → OK0',
    applies: needsEmulator,
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add();
      await ctx.node.admin().setFaults([{ op: 'DeleteEndpoint', hr: 0x80004005 }]);
      const from = ctx.ipamCalls().length;
      await ctx.err('DEL with DeleteEndpoint failing', 'DEL', '*', { prevResult: result });
      ipamRan(ctx, 'DEL with DeleteEndpoint failing', from, 'DEL');
      await ctx.node.admin().setFaults([]);
      await ctx.del('DEL again', { prevResult: result });
      ctx.same('after the second DEL', before, ['ipamCalls']);
    },
  },
  {
    id: 'J10',
    title: 'DEL at 0.3.1 (no prevResult by design) → OK0',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.add('ADD at 0.3.1', { version: '0.3.1' });
      await ctx.del('DEL at 0.3.1', { version: '0.3.1' });
      ctx.same('after ADD and DEL at 0.3.1', before, ['ipamCalls']);
    },
  },
  {
    id: 'J11',
    title: 'DEL of attachment A leaves attachment B of another container on the same network working (CHECK B → OK0)',
    run: async (ctx) => {
      const nsB = await ctx.node.ns(1);
      const { result: a } = await ctx.add('ADD A');
      const { result: b } = await ctx.add('ADD B', { containerId: 'ctr-b', netns: nsB });
      const bEndpoint = JSON.stringify(ctx.node.endpointsIn(nsB));
      await ctx.del('DEL A', { prevResult: a });
      await ctx.check('CHECK B', { containerId: 'ctr-b', netns: nsB, prevResult: b });
      ensure(JSON.stringify(ctx.node.endpointsIn(nsB)) === bEndpoint, 'B\'s endpoint changed when A was deleted');
      ensure(ctx.node.ipamAllocations().some((x) => x.containerId === 'ctr-b'), 'B\'s address was released when A was deleted');
    },
  },
  {
    id: 'J12',
    title: 'DEL success prints nothing on stdout',
    run: async (ctx) => {
      for (const [i, v] of ['0.2.0', '0.4.0', '1.1.0'].entries()) {
        const netns = await ctx.node.ns(i);
        const { result } = await ctx.add(`ADD at ${v}`, { version: v, containerId: `ctr-j${i}`, netns });
        const out = await ctx.exec(`DEL at ${v}`, 'DEL', { version: v, containerId: `ctr-j${i}`, netns, prevResult: v === '0.2.0' ? undefined : result });
        ensure(out.code === 0 && out.stdout === '', `DEL at ${v}: expected exit 0 and nothing on stdout, got ${describe(out)}`);
      }
    },
  },
  {
    id: 'J13',
    title: 'DEL with CNI_IFNAME=eth1 when only eth0 exists → OK0; eth0 untouched',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const before = ctx.snap();
      await ctx.del('DEL eth1', { ifName: 'eth1' });
      ctx.same('DEL eth1', before, ['ipamCalls']);
      await ctx.check('CHECK eth0', { prevResult: result });
    },
  },
];
