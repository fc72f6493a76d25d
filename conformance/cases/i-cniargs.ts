// I. CNI_ARGS (cni-spec.md §8.2 I01-I08; §5.5).

import type { CaseDef } from '../lib/case';
import { CTR, type CaseContext, type CallOptions } from '../lib/context';
import { ensure } from '../lib/expect';
import { ipamRan } from './util';

const PAIRS = ['IgnoreUnknown=1', 'K8S_POD_NAMESPACE=ns1', 'K8S_POD_NAME=p1', `K8S_POD_INFRA_CONTAINER_ID=${CTR}`, 'K8S_POD_UID=u1'];

/** The result and the pod's endpoint (without its ID) of an ADD on a fresh node. */
async function outcomeOn(ctx: CaseContext, label: string, o: CallOptions): Promise<string> {
  const node = ctx.newNode();
  const { result } = await ctx.add(label, { node, ...o });
  const ep = ctx.profile.backend === 'emulator' ? node.endpointsIn(node.netns).map(({ ID: _id, ...rest }) => rest) : [];
  return JSON.stringify({ result, ep });
}

/** ADD with CNI_ARGS `args` gives RES, and FAKE-IPAM got CNI_ARGS unchanged. */
function tolerated(id: string, title: string, variants: string[]): CaseDef {
  return {
    id,
    title,
    run: async (ctx) => {
      for (const [i, args] of variants.entries()) {
        const from = ctx.ipamCalls().length;
        const netns = await ctx.node.ns(i);
        const ctr = `ctr-i${i}`;
        await ctx.add(`ADD with CNI_ARGS=${JSON.stringify(args)}`, { args: args.replaceAll(CTR, ctr), containerId: ctr, netns });
        const [call] = ipamRan(ctx, `ADD with CNI_ARGS=${JSON.stringify(args)}`, from, 'ADD');
        ensure(call!.env.CNI_ARGS === args.replaceAll(CTR, ctr), `FAKE-IPAM got CNI_ARGS=${JSON.stringify(call!.env.CNI_ARGS)}`);
      }
    },
  };
}

export const cases: CaseDef[] = [
  {
    id: 'I01',
    title: 'containerd-style args in 5 different key orders → identical behaviour and result',
    run: async (ctx) => {
      const orders = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 4, 0, 3, 2], [3, 2, 1, 4, 0]];
      const seen = new Set<string>();
      for (const o of orders) seen.add(await outcomeOn(ctx, `ADD with CNI_ARGS order ${o.join('')}`, { args: o.map((i) => PAIRS[i]).join(';') }));
      ensure(seen.size === 1, `the ${orders.length} orders gave ${seen.size} different outcomes: ${[...seen].map((s) => s.slice(0, 300)).join(' | ')}`);
    },
  },
  tolerated('I02', 'Unknown extra keys with IgnoreUnknown=1 → no failure', [`${PAIRS.join(';')};FOO=bar;X_TEST_KEY=1`]),
  tolerated('I03', 'Unknown keys without IgnoreUnknown → no failure (project policy)', [`${PAIRS.slice(1).join(';')};FOO=bar`]),
  tolerated('I04', 'IgnoreUnknown as true, True, 1 → all treated as true', ['true', 'True', '1'].map((v) => `IgnoreUnknown=${v};K8S_POD_NAME=p1;FOO=bar`)),
  tolerated('I05', 'Trailing ";" / empty segment → tolerated (project policy)', [`${PAIRS.join(';')};`, `IgnoreUnknown=1;;K8S_POD_NAME=p1`]),
  {
    id: 'I06',
    title: 'K8S_POD_NAME=a=b → value a=b (project policy): accepted, passed on unchanged',
    run: async (ctx) => {
      const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=a=b;K8S_POD_INFRA_CONTAINER_ID=${CTR}`;
      await ctx.add('ADD with K8S_POD_NAME=a=b', { args });
      const [call] = ipamRan(ctx, 'ADD', 0, 'ADD');
      ensure(call!.env.CNI_ARGS === args, `FAKE-IPAM got CNI_ARGS=${JSON.stringify(call!.env.CNI_ARGS)}`);
      ctx.note('the parsed pod name is not visible from outside; checked: accepted and passed on unchanged');
    },
  },
  {
    id: 'I07',
    title: 'CNI_ARGS="" → same as absent',
    run: async (ctx) => {
      const empty = await outcomeOn(ctx, 'ADD with CNI_ARGS=""', { args: '' });
      const absent = await outcomeOn(ctx, 'ADD without CNI_ARGS', { unset: ['CNI_ARGS'] });
      ensure(empty === absent, `CNI_ARGS="" gave ${empty.slice(0, 300)}; without CNI_ARGS ${absent.slice(0, 300)}`);
    },
  },
  {
    id: 'I08',
    title: 'IP=10.244.3.50 → reaches FAKE-IPAM unchanged in its environment; the result uses FAKE-IPAM\'s answer',
    run: async (ctx) => {
      const args = `${PAIRS.join(';')};IP=10.244.3.50`;
      const { result } = await ctx.add('ADD with IP=10.244.3.50', { args });
      const [call] = ipamRan(ctx, 'ADD', 0, 'ADD');
      ensure(call!.env.CNI_ARGS === args, `FAKE-IPAM got CNI_ARGS=${JSON.stringify(call!.env.CNI_ARGS)}`);
      const alloc = ctx.node.ipamAllocations().find((a) => a.containerId === CTR);
      const got = ((result.ips ?? []) as { address: string }[]).map((i) => i.address);
      ensure(alloc && JSON.stringify(got) === JSON.stringify(alloc.addresses), `the result has ${got.join(', ')}; FAKE-IPAM answered ${alloc?.addresses.join(', ')}`);
    },
  },
];
