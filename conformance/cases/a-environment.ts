// A. Environment (cni-spec.md §8.2 A01-A27; §1.2-§1.5).

import type { CaseDef } from '../lib/case';
import { CTR } from '../lib/context';
import { ensure, expectOk0, notEnvError } from '../lib/expect';
import { aboutOrErr4, gcConf, ipamRan } from './util';

const ENV_NAMES = ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'] as const;

function missingOnAdd(id: string, variable: (typeof ENV_NAMES)[number]): CaseDef {
  return {
    id,
    title: `ADD without ${variable} → ERR(4) naming it; NOSIDE`,
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err(`ADD without ${variable}`, 'ADD', 4, { unset: [variable] }, { mentions: [variable], requestVersion: '1.1.0' });
      ctx.same(`ADD without ${variable} changed something`, before);
    },
  };
}

export const cases: CaseDef[] = [
  {
    id: 'A01',
    title: 'No CNI_* variables, empty stdin → about text (exit 0, empty stdout) or ERR(4) naming CNI_COMMAND; never hangs; NOSIDE',
    run: async (ctx) => {
      const before = ctx.snap();
      aboutOrErr4('no CNI_* variables', await ctx.exec('no CNI_* variables', '', { noCni: true, stdin: '', timeoutMs: 10_000 }));
      ctx.same('the run without variables changed something', before);
    },
  },
  {
    id: 'A02',
    title: 'CNI_COMMAND="" (present, empty) → same as A01',
    run: async (ctx) => {
      const before = ctx.snap();
      aboutOrErr4('CNI_COMMAND=""', await ctx.exec('CNI_COMMAND=""', '', { stdin: '', timeoutMs: 10_000 }));
      ctx.same('the run with an empty CNI_COMMAND changed something', before);
    },
  },
  {
    id: 'A03',
    title: 'CNI_COMMAND=FROB, stdin C() → ERR(4), msg contains FROB; NOSIDE',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('CNI_COMMAND=FROB', 'FROB', 4, {}, { mentions: ['FROB'] });
      ctx.same('CNI_COMMAND=FROB changed something', before);
    },
  },
  {
    id: 'A04',
    title: 'CNI_COMMAND=add (lower case) → ERR(4)',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('CNI_COMMAND=add', 'add', 4);
      ctx.same('CNI_COMMAND=add changed something', before);
    },
  },
  {
    id: 'A05',
    title: 'CNI_COMMAND=" ADD" (leading space) → ERR(4)',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('CNI_COMMAND=" ADD"', ' ADD', 4);
      ctx.same('CNI_COMMAND=" ADD" changed something', before);
    },
  },
  missingOnAdd('A06', 'CNI_CONTAINERID'),
  missingOnAdd('A07', 'CNI_NETNS'),
  missingOnAdd('A08', 'CNI_IFNAME'),
  missingOnAdd('A09', 'CNI_PATH'),
  {
    id: 'A10',
    title: 'ADD without CNI_NETNS, CNI_IFNAME, CNI_PATH → a single ERR(4) naming all three',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('ADD without CNI_NETNS, CNI_IFNAME, CNI_PATH', 'ADD', 4, { unset: ['CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'] }, { mentions: ['CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'] });
      ctx.same('the ADD changed something', before);
    },
  },
  {
    id: 'A11',
    title: 'ADD with CNI_CONTAINERID="" → ERR(4) (empty = missing)',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('ADD with CNI_CONTAINERID=""', 'ADD', 4, { containerId: '' }, { mentions: ['CNI_CONTAINERID'] });
      ctx.same('the ADD changed something', before);
    },
  },
  {
    id: 'A12',
    title: 'ADD without CNI_ARGS → RES(1.1.0)',
    run: async (ctx) => {
      await ctx.add('ADD without CNI_ARGS', { unset: ['CNI_ARGS'] });
    },
  },
  {
    id: 'A13',
    title: 'CHECK (after ADD) without CNI_NETNS → ERR(4)',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const before = ctx.snap();
      await ctx.err('CHECK without CNI_NETNS', 'CHECK', 4, { unset: ['CNI_NETNS'], prevResult: result }, { mentions: ['CNI_NETNS'] });
      ctx.same('the CHECK changed something', before);
    },
  },
  {
    id: 'A14',
    title: 'DEL (after ADD) without CNI_NETNS → OK0; the attachment\'s resources are gone; IPAM DEL logged',
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add();
      const calls = ctx.ipamCalls().length;
      await ctx.del('DEL without CNI_NETNS', { unset: ['CNI_NETNS'], prevResult: result });
      ipamRan(ctx, 'DEL without CNI_NETNS', calls, 'DEL');
      ctx.same('after ADD and DEL without CNI_NETNS, the node differs from before the ADD', before, ['ipamCalls']);
    },
  },
  {
    id: 'A15',
    title: 'DEL without CNI_CONTAINERID → ERR(4); NOSIDE',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const before = ctx.snap();
      await ctx.err('DEL without CNI_CONTAINERID', 'DEL', 4, { unset: ['CNI_CONTAINERID'], prevResult: result }, { mentions: ['CNI_CONTAINERID'] });
      ctx.same('the DEL changed something', before);
    },
  },
  {
    id: 'A16',
    title: 'DEL without CNI_IFNAME → ERR(4); NOSIDE',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const before = ctx.snap();
      await ctx.err('DEL without CNI_IFNAME', 'DEL', 4, { unset: ['CNI_IFNAME'], prevResult: result }, { mentions: ['CNI_IFNAME'] });
      ctx.same('the DEL changed something', before);
    },
  },
  {
    id: 'A17',
    title: 'GC with only CNI_COMMAND/CNI_PATH non-empty and a valid GC stdin → not an env error',
    run: async (ctx) => {
      notEnvError('GC', await ctx.exec('GC', 'GC', { conf: gcConf(ctx, []) }));
    },
  },
  {
    id: 'A18',
    title: 'GC without CNI_PATH → ERR(4)',
    run: async (ctx) => {
      await ctx.err('GC without CNI_PATH', 'GC', 4, { conf: gcConf(ctx, []), unset: ['CNI_PATH'] }, { mentions: ['CNI_PATH'] });
    },
  },
  {
    id: 'A19',
    title: 'STATUS with only CNI_COMMAND/CNI_PATH non-empty → not an env error',
    run: async (ctx) => {
      notEnvError('STATUS', await ctx.exec('STATUS', 'STATUS', { conf: ctx.conf('1.1.0') }));
    },
  },
  {
    id: 'A20',
    title: 'VERSION with only CNI_COMMAND → exit 0, version object',
    run: async (ctx) => {
      const out = await ctx.exec('VERSION with only CNI_COMMAND', 'VERSION', { unset: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'], stdin: '{"cniVersion":"1.1.0"}' });
      ensure(out.code === 0, `VERSION with only CNI_COMMAND: exit ${out.code}, stdout ${JSON.stringify(out.stdout.slice(0, 300))}`);
      const v = JSON.parse(out.stdout) as { cniVersion?: unknown; supportedVersions?: unknown };
      ensure(typeof v.cniVersion === 'string' && Array.isArray(v.supportedVersions), `VERSION: not a version object: ${out.stdout.trim()}`);
    },
  },
  {
    id: 'A21',
    title: 'ADD with CNI_CONTAINERID -abc, _abc, .abc, ab/c, ab c, ab%c, ab\\c → ERR(4) each; NOSIDE',
    run: async (ctx) => {
      const before = ctx.snap();
      for (const id of ['-abc', '_abc', '.abc', 'ab/c', 'ab c', 'ab%c', 'ab\\c']) {
        await ctx.err(`ADD with CNI_CONTAINERID=${JSON.stringify(id)}`, 'ADD', 4, { containerId: id });
      }
      ctx.same('the ADDs with invalid container IDs changed something', before);
    },
  },
  {
    id: 'A22',
    title: 'ADD with CNI_CONTAINERID a, Z9, a_b.c-d, a 64-hex id → accepted',
    run: async (ctx) => {
      const ids = ['a', 'Z9', 'a_b.c-d', '9f3c0a526f4e4d7b9a513c2e7d1b8a109f3c0a526f4e4d7b9a513c2e7d1b8a10'];
      for (const [i, id] of ids.entries()) {
        const netns = await ctx.node.ns(i);
        await ctx.add(`ADD with CNI_CONTAINERID=${id}`, { containerId: id, netns });
      }
    },
  },
  {
    id: 'A23',
    title: 'CNI_IFNAME of 16 characters → ERR(4); of 15 characters → not an env error',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('ADD with a 16-character CNI_IFNAME', 'ADD', 4, { ifName: 'eth0123456789abc' });
      ctx.same('the refused ADD changed something', before);
      notEnvError('ADD with a 15-character CNI_IFNAME', await ctx.exec('ADD with a 15-character CNI_IFNAME', 'ADD', { ifName: 'eth0123456789ab' }));
    },
  },
  {
    id: 'A24',
    title: 'CNI_IFNAME each of ., .., et/h0, eth:0, "eth 0", eth<TAB>0 → ERR(4)',
    run: async (ctx) => {
      const before = ctx.snap();
      for (const name of ['.', '..', 'et/h0', 'eth:0', 'eth 0', 'eth\t0']) await ctx.err(`ADD with CNI_IFNAME=${JSON.stringify(name)}`, 'ADD', 4, { ifName: name });
      ctx.same('the refused ADDs changed something', before);
    },
  },
  {
    id: 'A25',
    title: 'ADD with CNI_CONTAINERID=%% and stdin "garbage" → ERR(4) (environment checked before stdin)',
    run: async (ctx) => {
      await ctx.err('ADD with CNI_CONTAINERID=%% and stdin garbage', 'ADD', 4, { containerId: '%%', stdin: 'garbage' });
    },
  },
  {
    id: 'A26',
    title: 'Extra variables (CNI_FOO=1, TRACEPARENT, BAGGAGE) → ignored; RES',
    run: async (ctx) => {
      await ctx.add('ADD with extra variables', { env: { CNI_FOO: '1', TRACEPARENT: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', BAGGAGE: 'k=v' } });
    },
  },
  {
    id: 'A27',
    title: 'GC with CNI_CONTAINERID=%% → not validated; GC proceeds normally',
    run: async (ctx) => {
      await ctx.add();
      ensure(ctx.endpointsOf(ctx.node.netns).length > 0 || ctx.profile.backend !== 'emulator', 'ADD made no endpoint in the pod namespace');
      const out = await ctx.exec('GC with CNI_CONTAINERID=%% and an empty valid list', 'GC', { conf: gcConf(ctx, []), containerId: '%%' });
      expectOk0('GC with CNI_CONTAINERID=%%', out);
      if (ctx.profile.backend === 'emulator') ensure(ctx.node.podEndpoints().length === 0, `GC with CNI_CONTAINERID=%% and nothing valid left ${ctx.node.podEndpoints().length} pod endpoint(s)`);
      ensure(!ctx.node.ipamAllocations().some((a) => a.containerId === CTR), 'GC with CNI_CONTAINERID=%% did not reach FAKE-IPAM\'s allocation of the stale attachment');
    },
  },
];
