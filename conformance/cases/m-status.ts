// M. STATUS (cni-spec.md §8.2 M01-M07; §2.6).

import fs from 'node:fs';
import path from 'node:path';
import { type CaseDef, needsEmulator } from '../lib/case';
import type { CaseContext } from '../lib/context';
import type { CaseNode } from '../lib/node';
import { ensure, expectErr, expectOk0 } from '../lib/expect';
import { ipamSaw } from './util';

/** RPC_S_SERVER_UNAVAILABLE: the service does not answer. */
const SERVICE_DOWN = 0x800706ba;

function status(ctx: CaseContext, label: string, o: Parameters<CaseContext['exec']>[2] = {}) {
  return ctx.exec(label, 'STATUS', { conf: ctx.conf('1.1.0'), ...o });
}

async function serviceDown(node: CaseNode): Promise<void> {
  await node.admin().setFaults(['EnumerateNetworks', 'OpenNetwork', 'QueryNetworkProperties', 'EnumerateEndpoints', 'HNSCall'].map((op) => ({ op, hr: SERVICE_DOWN })));
}

export const cases: CaseDef[] = [
  {
    id: 'M01',
    title: 'Healthy backend and FAKE-IPAM STATUS OK → OK0',
    run: async (ctx) => {
      const from = ctx.ipamCalls().length;
      expectOk0('STATUS', await status(ctx, 'STATUS'));
      ipamSaw(ctx, 'STATUS', from, ['STATUS']);
    },
  },
  {
    id: 'M02',
    title: 'Backend unavailable (network missing; service failing by fault injection) → ERR(50)',
    applies: needsEmulator,
    run: async (ctx) => {
      await ctx.node.client().deleteNetwork(ctx.node.networks.testnet!);
      expectErr('STATUS with the network missing', await status(ctx, 'STATUS with the network missing'), 50);
      const other = ctx.newNode();
      await serviceDown(other);
      expectErr('STATUS with the service failing', await status(ctx, 'STATUS with the service failing', { node: other }), 50);
    },
  },
  {
    id: 'M03',
    title: 'FAKE-IPAM STATUS returns code 50 → ERR(50)',
    run: async (ctx) => {
      ctx.node.editControl((c) => { c.answers = { STATUS: { error: { code: 50, msg: 'fake-ipam: pool exhausted' } } }; });
      expectErr('STATUS with FAKE-IPAM not ready', await status(ctx, 'STATUS'), 50);
    },
  },
  {
    id: 'M04',
    title: 'FAKE-IPAM missing → ERR(50) preferred (ERR(*) acceptable)',
    run: async (ctx) => {
      const empty = path.join(ctx.node.dir, 'empty-bin');
      fs.mkdirSync(empty, { recursive: true });
      const e = expectErr('STATUS without FAKE-IPAM on CNI_PATH', await status(ctx, 'STATUS without FAKE-IPAM', { path: empty }), '*');
      ctx.note(e.code === 50 ? 'ERR(50)' : `ERR(${e.code}) (50 preferred)`);
    },
  },
  {
    id: 'M05',
    title: 'Existing endpoints known broken → ERR(51)',
    applies: needsEmulator,
    run: async (ctx) => {
      await ctx.add();
      // The network goes away under the pod: the pod's endpoint goes with it.
      await ctx.node.client().deleteNetwork(ctx.node.networks.testnet!);
      expectErr('STATUS with the pod\'s network gone', await status(ctx, 'STATUS'), 51);
    },
  },
  {
    id: 'M06',
    title: 'STATUS → NOSIDE; FAKE-IPAM sees only STATUS',
    run: async (ctx) => {
      await ctx.add();
      const before = ctx.snap();
      const from = ctx.ipamCalls().length;
      expectOk0('STATUS', await status(ctx, 'STATUS'));
      ipamSaw(ctx, 'STATUS', from, ['STATUS']);
      const call = ctx.ipamCallsSince(from)[0]!;
      ensure(call.env.CNI_COMMAND === 'STATUS', `FAKE-IPAM ran with CNI_COMMAND=${call.env.CNI_COMMAND}`);
      ctx.same('STATUS changed something', before, ['ipamCalls']);
    },
  },
  {
    id: 'M07',
    title: 'After a failing STATUS, ADD still performs a normal attempt (no latched state)',
    run: async (ctx) => {
      if (ctx.profile.backend === 'emulator') await serviceDown(ctx.node);
      else ctx.node.editControl((c) => { c.answers = { STATUS: { error: { code: 50, msg: 'fake-ipam: not ready' } } }; });
      expectErr('STATUS while broken', await status(ctx, 'STATUS while broken'), [50, 51]);
      if (ctx.profile.backend === 'emulator') await ctx.node.admin().setFaults([]);
      ctx.node.editControl((c) => { delete c.answers; });
      await ctx.add('ADD after the failing STATUS');
    },
  },
];
