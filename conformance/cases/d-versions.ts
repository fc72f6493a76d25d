// D. Version negotiation (cni-spec.md §8.2 D01-D12; §3.1, §3.2).

import type { CaseDef } from '../lib/case';
import type { CaseContext } from '../lib/context';
import { ensure, expectErr, expectRes, versionFamily } from '../lib/expect';
import { SEVEN_VERSIONS } from '../lib/profile';
import { gcConf, ipamRan } from './util';

/** The versions the plugin says it supports (its VERSION reply). */
async function supported(ctx: CaseContext): Promise<string[]> {
  const out = await ctx.exec('VERSION', 'VERSION', { stdin: '{"cniVersion":"1.1.0"}' });
  ensure(out.code === 0, `VERSION failed: exit ${out.code}`);
  const v = JSON.parse(out.stdout) as { supportedVersions: string[] };
  return v.supportedVersions.filter((x) => (SEVEN_VERSIONS as readonly string[]).includes(x));
}

/** D02-D10's invocations, for D11 too. */
interface Probe {
  label: string;
  command: string;
  conf: (ctx: CaseContext, prev: unknown) => Record<string, unknown>;
  requestVersion: string;
  code: number | number[];
}

const withVersion = (ctx: CaseContext, v: unknown, extra: Record<string, unknown> = {}) => ctx.conf(null, { ...(v === undefined ? {} : { cniVersion: v }), ...extra });

const PROBES: Record<string, Probe[]> = {
  D02: [{ label: 'ADD with cniVersion 0.5.0', command: 'ADD', conf: (c) => withVersion(c, '0.5.0'), requestVersion: '0.5.0', code: 1 }],
  D03: [{ label: 'ADD with cniVersion "1.0"', command: 'ADD', conf: (c) => withVersion(c, '1.0'), requestVersion: '1.0', code: 1 }],
  D04: [{ label: 'ADD with cniVersion "garbage"', command: 'ADD', conf: (c) => withVersion(c, 'garbage'), requestVersion: 'garbage', code: [1, 6] }],
  D06: [{ label: 'DEL with cniVersion 0.5.0', command: 'DEL', conf: (c, prev) => withVersion(c, '0.5.0', { prevResult: prev }), requestVersion: '0.5.0', code: 1 }],
  D07: [
    { label: 'CHECK with cniVersion 0.3.1', command: 'CHECK', conf: (c, prev) => withVersion(c, '0.3.1', { prevResult: { ...(prev as object), cniVersion: '0.3.1' } }), requestVersion: '0.3.1', code: 1 },
    { label: 'CHECK without cniVersion', command: 'CHECK', conf: (c, prev) => withVersion(c, undefined, { prevResult: prev }), requestVersion: '0.1.0', code: 1 },
  ],
  D08: [{ label: 'CHECK with cniVersion "x.y"', command: 'CHECK', conf: (c, prev) => withVersion(c, 'x.y', { prevResult: prev }), requestVersion: 'x.y', code: 6 }],
  D09: [{ label: 'GC with cniVersion 1.0.0', command: 'GC', conf: (c) => ({ ...gcConf(c, []), cniVersion: '1.0.0' }), requestVersion: '1.0.0', code: 1 }],
  D10: [{ label: 'STATUS with cniVersion 0.4.0', command: 'STATUS', conf: (c) => withVersion(c, '0.4.0'), requestVersion: '0.4.0', code: 1 }],
};

/** Runs a probe after an ADD (so DEL/CHECK/GC have something they could wrongly touch): ERR(code), NOSIDE. */
function refused(id: keyof typeof PROBES, title: string, mentions: string[] = []): CaseDef {
  return {
    id,
    title,
    run: async (ctx) => {
      const needsAdd = PROBES[id]!.some((p) => p.command !== 'ADD');
      const prev = needsAdd ? (await ctx.add()).result : undefined;
      const before = ctx.snap();
      for (const p of PROBES[id]!) await ctx.err(p.label, p.command, p.code, { conf: p.conf(ctx, prev) }, { mentions });
      ctx.same('the refused request changed something', before);
    },
  };
}

export const cases: CaseDef[] = [
  {
    id: 'D01',
    title: 'For each supported v: ADD with C(v) → RES(v) in v\'s family; then DEL → OK0',
    run: async (ctx) => {
      const versions = await supported(ctx);
      ensure(versions.length > 0, 'the plugin supports none of the seven versions');
      for (const [i, v] of versions.entries()) {
        const netns = await ctx.node.ns(i);
        const before = ctx.snap();
        const ctr = `ctr-v${v.replace(/\./g, '')}`;
        const { result } = await ctx.add(`ADD at ${v}`, { version: v, containerId: ctr, netns });
        // libcni gives DEL the cached result from 0.4.0 on.
        const prev = versionFamily(v) === '020' || v === '0.3.0' || v === '0.3.1' ? undefined : result;
        await ctx.del(`DEL at ${v}`, { version: v, containerId: ctr, netns, prevResult: prev });
        ctx.same(`after ADD and DEL at ${v} the node differs from before`, before, ['ipamCalls']);
      }
      ctx.note(`versions ${versions.join(', ')}`);
    },
  },
  refused('D02', 'ADD with cniVersion 0.5.0 → ERR(1); msg/details mention 0.5.0; NOSIDE', ['0.5.0']),
  refused('D03', 'ADD with cniVersion "1.0" → ERR(1)'),
  refused('D04', 'ADD with cniVersion "garbage" → ERR(1) (reference) or ERR(6)'),
  {
    id: 'D05',
    title: 'ADD without cniVersion → RES(0.1.0) (ip4/ip6 shape) if 0.1.0 is supported, else ERR(1)',
    run: async (ctx) => {
      const versions = await supported(ctx);
      const out = await ctx.exec('ADD without cniVersion', 'ADD', { conf: ctx.conf(null) });
      if (versions.includes('0.1.0')) {
        const r = expectRes('ADD without cniVersion', out, '0.1.0');
        ensure(r.ip4 !== undefined || r.ip6 !== undefined, 'the 0.1.0 result has neither ip4 nor ip6');
      } else expectErr('ADD without cniVersion (0.1.0 not supported)', out, 1);
    },
  },
  refused('D06', 'DEL with an unsupported cniVersion → ERR(1); NOSIDE'),
  refused('D07', 'CHECK with cniVersion 0.3.1, and CHECK without cniVersion → ERR(1)'),
  refused('D08', 'CHECK with cniVersion "x.y" → ERR(6)'),
  refused('D09', 'GC with cniVersion 1.0.0 → ERR(1); nothing removed'),
  refused('D10', 'STATUS with cniVersion 0.4.0 → ERR(1)'),
  {
    id: 'D11',
    title: 'Error objects of D02-D10, if they carry cniVersion, carry the request\'s value',
    run: async (ctx) => {
      const { result } = await ctx.add();
      let carried = 0;
      for (const probes of Object.values(PROBES)) {
        for (const p of probes) {
          const out = await ctx.exec(p.label, p.command, { conf: p.conf(ctx, result) });
          const e = expectErr(p.label, out, p.code);
          if (e.cniVersion === undefined) continue;
          carried++;
          // Without cniVersion the request's version is 0.1.0 (an empty string is the same request).
          const ok = e.cniVersion === p.requestVersion || (p.requestVersion === '0.1.0' && e.cniVersion === '');
          ensure(ok, `${p.label}: the error carries cniVersion ${JSON.stringify(e.cniVersion)}, the request's is ${JSON.stringify(p.requestVersion)}`);
        }
      }
      ctx.note(`${carried} of ${Object.values(PROBES).flat().length} errors carry cniVersion`);
    },
  },
  {
    id: 'D12',
    title: 'ADD at 0.2.0 in a mode that yields no IP → ERR(1 or 100+) with a clear msg; everything rolled back',
    run: async (ctx) => {
      // No mode of this suite yields no IP; an IPAM that hands out none is the way to one.
      ctx.node.editControl((c) => { c.answers = { ADD: { noIps: true } }; });
      const before = ctx.snap();
      const calls = ctx.ipamCalls().length;
      const out = await ctx.exec('ADD at 0.2.0 with no IP', 'ADD', { version: '0.2.0' });
      const e = expectErr('ADD at 0.2.0 with no IP', out, '*');
      ensure(e.code === 1 || e.code >= 100, `ADD at 0.2.0 with no IP: code ${e.code}, expected 1 or 100+`);
      ensure(/\bip\b|address/i.test(`${e.msg} ${e.details ?? ''}`), `ADD at 0.2.0 with no IP: the message does not say that no IP address was given: ${JSON.stringify(e.msg)}`);
      ipamRan(ctx, 'ADD at 0.2.0 with no IP', calls, 'DEL');
      ctx.same('after the failed ADD', before, ['ipamCalls']);
      ctx.note('premise made with a FAKE-IPAM answer without IPs');
    },
  },
];
