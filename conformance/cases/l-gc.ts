// L. GC (cni-spec.md §8.2 L01-L11; §2.5). Setup: ctr-a/eth0 and ctr-b/eth0 on testnet, ctr-c/eth0
// on othernet, each in a pod namespace of its own.

import { type CaseDef, needsEmulator } from '../lib/case';
import type { CaseContext } from '../lib/context';
import { ensure, expectErr, expectOk0 } from '../lib/expect';
import { OTHER_NETWORK } from '../lib/node';
import { type Attachment, gcConf, ipamRan } from './util';

interface Pod {
  id: string;
  network: string;
  netns: string;
}

async function setup(ctx: CaseContext): Promise<Record<'a' | 'b' | 'c', Pod>> {
  const pods = {
    a: { id: 'ctr-a', network: 'testnet', netns: await ctx.node.ns(0) },
    b: { id: 'ctr-b', network: 'testnet', netns: await ctx.node.ns(1) },
    c: { id: 'ctr-c', network: OTHER_NETWORK, netns: await ctx.node.ns(2) },
  };
  for (const p of Object.values(pods)) await ctx.add(`ADD ${p.id} on ${p.network}`, { containerId: p.id, netns: p.netns, conf: ctx.conf('1.1.0', { name: p.network }) });
  return pods;
}

/** Whether anything of the pod is left: its endpoint, its address, files of the plugin naming it. */
function traces(ctx: CaseContext, p: Pod): string[] {
  const out: string[] = [];
  if (ctx.profile.backend === 'emulator' && ctx.node.endpointsIn(p.netns).length) out.push('endpoint');
  if (ctx.node.ipamAllocations().some((a) => a.containerId === p.id && a.network === p.network)) out.push('FAKE-IPAM address');
  const s = ctx.snap().state;
  const files = Object.keys(s).filter((f) => f.includes(p.id) || s[f]!.includes(`"${p.id}"`));
  if (files.length) out.push(`plugin files ${files.join(', ')}`);
  return out;
}

function expectGone(ctx: CaseContext, label: string, p: Pod): void {
  const t = traces(ctx, p);
  ensure(t.length === 0, `${label}: ${p.id} should be gone, its ${t.join(', ')} remain`);
}

function expectKept(ctx: CaseContext, label: string, p: Pod, before: ReturnType<CaseContext['snap']>): void {
  const ep = ctx.profile.backend === 'emulator' ? ctx.node.endpointsIn(p.netns) : [];
  if (ctx.profile.backend === 'emulator') ensure(ep.length === 1, `${label}: ${p.id}'s endpoint is gone`);
  ensure(ctx.node.ipamAllocations().some((a) => a.containerId === p.id && a.network === p.network), `${label}: ${p.id}'s FAKE-IPAM address was released`);
  const now = ctx.snap();
  for (const [k, v] of Object.entries(before.hns)) if (v.includes(p.netns) || k.includes(p.id)) ensure(now.hns[k] === v, `${label}: ${k} (of ${p.id}) changed`);
  for (const [k, v] of Object.entries(before.state)) if (k.includes(p.id)) ensure(now.state[k] === v, `${label}: plugin file ${k} (of ${p.id}) changed`);
}

const att = (p: Pod, ifname = 'eth0'): Attachment => ({ containerID: p.id, ifname });

/** GC testnet with `valid`; then which of a, b, c must be gone. */
function gcCase(id: string, title: string, valid: (pods: Record<'a' | 'b' | 'c', Pod>) => Attachment[] | null, gone: ('a' | 'b')[], confOf?: (ctx: CaseContext, v: Attachment[] | null) => Record<string, unknown>): CaseDef {
  return {
    id,
    title,
    run: async (ctx) => {
      const pods = await setup(ctx);
      const before = ctx.snap();
      const v = valid(pods);
      const out = await ctx.exec(`GC with ${JSON.stringify(v)}`, 'GC', { conf: confOf ? confOf(ctx, v) : gcConf(ctx, v) });
      expectOk0(`GC with ${JSON.stringify(v)}`, out);
      for (const k of ['a', 'b'] as const) {
        if (gone.includes(k)) expectGone(ctx, 'after GC', pods[k]);
        else expectKept(ctx, 'after GC', pods[k], before);
      }
      expectKept(ctx, 'after GC (othernet)', pods.c, before);
    },
  };
}

export const cases: CaseDef[] = [
  {
    id: 'L01',
    title: 'GC testnet with valid-attachments [ctr-a/eth0, ctr-b/eth0] → OK0; nothing removed',
    run: async (ctx) => {
      const pods = await setup(ctx);
      const before = ctx.snap();
      expectOk0('GC', await ctx.exec('GC', 'GC', { conf: gcConf(ctx, [att(pods.a), att(pods.b)]) }));
      ctx.same('GC with everything valid', before, ['ipamCalls']);
    },
  },
  gcCase('L02', 'GC testnet with [ctr-a/eth0] → OK0; ctr-b removed (its IPAM state too); ctr-a and ctr-c intact', (p) => [att(p.a)], ['b']),
  gcCase('L03', 'GC with [] → all testnet resources removed; othernet intact', () => [], ['a', 'b']),
  gcCase('L04', 'GC with null → same as L03', () => null, ['a', 'b']),
  gcCase('L05', 'GC with only the old key cni.dev/attachments → honoured', (p) => [att(p.a)], ['b'], (ctx, v) => {
    const c = gcConf(ctx, undefined);
    c['cni.dev/attachments'] = v;
    return c;
  }),
  {
    id: 'L06',
    title: 'GC without either key → OK0, nothing removed, a warning on stderr',
    run: async (ctx) => {
      await setup(ctx);
      const before = ctx.snap();
      const out = await ctx.exec('GC without a list', 'GC', { conf: gcConf(ctx, undefined) });
      expectOk0('GC without a list', out);
      ensure(/attachments/i.test(out.stderr), `GC without a list: no warning on stderr about the missing cni.dev/valid-attachments (stderr ${JSON.stringify(out.stderr.slice(0, 200))})`);
      ctx.same('GC without a list', before, ['ipamCalls']);
    },
  },
  gcCase('L07', 'GC with [ctr-a/eth1] does not protect ctr-a/eth0', (p) => [att(p.a, 'eth1')], ['a', 'b']),
  {
    id: 'L08',
    title: 'GC forwards GC to FAKE-IPAM with identical stdin and CNI_COMMAND=GC',
    run: async (ctx) => {
      const pods = await setup(ctx);
      const from = ctx.ipamCalls().length;
      const stdin = ctx.stdinOf({ conf: gcConf(ctx, [att(pods.a)]) });
      const out = await ctx.exec('GC', 'GC', { stdin });
      expectOk0('GC', out);
      const [call] = ipamRan(ctx, 'GC', from, 'GC');
      ensure(call!.env.CNI_COMMAND === 'GC', `FAKE-IPAM ran with CNI_COMMAND=${call!.env.CNI_COMMAND}`);
      ensure(call!.stdin.base64 === stdin.toString('base64'), 'FAKE-IPAM GC got other stdin bytes than the plugin');
    },
  },
  {
    id: 'L09',
    title: 'Removal of one stale resource fails (fault) → the other stale resources still removed; ERR(*) mentions the failure',
    applies: needsEmulator,
    run: async (ctx) => {
      const pods = await setup(ctx);
      const bEndpoint = ctx.node.endpointsIn(pods.b.netns)[0]!.ID!;
      await ctx.node.admin().setFaults([{ op: 'DeleteEndpoint', hr: 0x80004005, match: bEndpoint }]);
      const before = ctx.snap();
      const out = await ctx.exec('GC with ctr-b\'s endpoint undeletable', 'GC', { conf: gcConf(ctx, []) });
      const e = expectErr('GC with ctr-b\'s endpoint undeletable', out, '*');
      ensure(new RegExp(`${bEndpoint}|ctr-b|delet`, 'i').test(`${e.msg} ${e.details ?? ''}`), `the error does not mention the failed removal: ${JSON.stringify(e)}`);
      expectGone(ctx, 'GC with one failure', pods.a);
      expectKept(ctx, 'GC with one failure (othernet)', pods.c, before);
    },
  },
  {
    id: 'L10',
    title: 'GC entry missing ifname, or with a non-string containerID → ERR(7); nothing removed',
    run: async (ctx) => {
      await setup(ctx);
      const before = ctx.snap();
      for (const [label, list] of [['an entry without ifname', [{ containerID: 'ctr-a' }]], ['an entry with containerID 42', [{ containerID: 42, ifname: 'eth0' }]]] as const) {
        const conf = gcConf(ctx, []);
        conf['cni.dev/valid-attachments'] = list;
        conf['cni.dev/attachments'] = list;
        await ctx.err(`GC with ${label}`, 'GC', 7, { conf });
      }
      ctx.same('the refused GCs changed something', before, ['ipamCalls']);
    },
  },
  gcCase('L11', 'GC with capabilities and no runtimeConfig in stdin → works', (p) => [att(p.a)], ['b'], (ctx, v) => gcConf(ctx, v, { capabilities: { portMappings: true, dns: true } })),
];
