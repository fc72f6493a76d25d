// C. VERSION (cni-spec.md §8.2 C01-C08; §2.4).

import type { CaseDef } from '../lib/case';
import type { CaseContext, CallOptions } from '../lib/context';
import { describe, type Outcome } from '../lib/exec';
import { ensure, fail } from '../lib/expect';
import { SEVEN_VERSIONS } from '../lib/profile';

interface VersionReply {
  cniVersion: string;
  supportedVersions: string[];
}

/** exit 0 and one JSON object with a non-empty cniVersion and a non-empty list of strings. */
function versionReply(label: string, o: Outcome): VersionReply {
  if (o.timedOut) fail(`${label}: the plugin did not finish (it waits for stdin?)`);
  ensure(o.code === 0, `${label}: expected exit 0, got ${describe(o)}`);
  let v: unknown;
  try {
    v = JSON.parse(o.stdout);
  } catch (e) {
    fail(`${label}: stdout is not one JSON document (${(e as Error).message}): ${JSON.stringify(o.stdout.slice(0, 300))}`);
  }
  const r = v as Partial<VersionReply> | null;
  ensure(!!r && typeof r === 'object' && !Array.isArray(r), `${label}: stdout is not a JSON object`);
  ensure(typeof r.cniVersion === 'string' && r.cniVersion !== '', `${label}: "cniVersion" is ${JSON.stringify(r.cniVersion)}, not a non-empty string`);
  ensure(Array.isArray(r.supportedVersions) && r.supportedVersions.length > 0 && r.supportedVersions.every((s) => typeof s === 'string'),
    `${label}: "supportedVersions" is ${JSON.stringify(r.supportedVersions)}, not a non-empty array of strings`);
  return r as VersionReply;
}

const STDIN = '{"cniVersion":"1.1.0"}';

function version(ctx: CaseContext, label: string, o: CallOptions = {}) {
  return ctx.exec(label, 'VERSION', { stdin: STDIN, timeoutMs: 10_000, ...o });
}

export const cases: CaseDef[] = [
  {
    id: 'C01',
    title: 'VERSION → exit 0; one JSON object, cniVersion a non-empty string, supportedVersions a non-empty array of strings',
    run: async (ctx) => {
      versionReply('VERSION', await version(ctx, 'VERSION'));
    },
  },
  {
    id: 'C02',
    title: 'supportedVersions equals the project\'s declared list; every entry one of the seven versions; no duplicates',
    run: async (ctx) => {
      const r = versionReply('VERSION', await version(ctx, 'VERSION'));
      const unknown = r.supportedVersions.filter((v) => !(SEVEN_VERSIONS as readonly string[]).includes(v));
      ensure(unknown.length === 0, `supportedVersions has ${unknown.map((u) => JSON.stringify(u)).join(', ')}, not spec versions`);
      ensure(new Set(r.supportedVersions).size === r.supportedVersions.length, `supportedVersions has duplicates: ${JSON.stringify(r.supportedVersions)}`);
      const declared = ctx.profile.declaredVersions;
      if (declared) {
        ensure(JSON.stringify([...r.supportedVersions].sort()) === JSON.stringify([...declared].sort()),
          `supportedVersions ${JSON.stringify(r.supportedVersions)} is not the declared list ${JSON.stringify(declared)}`);
      } else ctx.note('no declared list given (--versions): only the spec\'s rules checked');
    },
  },
  {
    id: 'C03',
    title: 'VERSION with stdin held open (never closed) → exits within 1 s',
    exclusive: true,
    run: async (ctx) => {
      const out = await version(ctx, 'VERSION with stdin open', { stdinMode: 'open', timeoutMs: 5_000 });
      if (out.timedOut) fail('VERSION with stdin open did not exit within 5 s: it waits for stdin to close');
      versionReply('VERSION with stdin open', out);
      ensure(out.ms < 1_000, `VERSION with stdin open took ${out.ms.toFixed(0)} ms (limit 1 s)`);
      ctx.note(`${out.ms.toFixed(0)} ms`);
    },
  },
  {
    id: 'C04',
    title: 'VERSION with stdin "garbage" → same output, exit 0',
    run: async (ctx) => {
      const a = await version(ctx, 'VERSION');
      const b = await version(ctx, 'VERSION with stdin garbage', { stdin: 'garbage' });
      versionReply('VERSION with stdin garbage', b);
      ensure(JSON.stringify(JSON.parse(a.stdout)) === JSON.stringify(JSON.parse(b.stdout)), `VERSION with stdin garbage answered ${b.stdout.trim()}, VERSION ${a.stdout.trim()}`);
    },
  },
  {
    id: 'C05',
    title: 'VERSION with the libcni probe environment (CNI_NETNS/IFNAME/PATH=dummy, CNI_CONTAINERID="") → exit 0',
    run: async (ctx) => {
      versionReply('VERSION as libcni probes', await version(ctx, 'VERSION as libcni probes', { netns: 'dummy', ifName: 'dummy', path: 'dummy', containerId: '', args: '' }));
    },
  },
  {
    id: 'C06',
    title: 'VERSION with invalid CNI_CONTAINERID / CNI_IFNAME → exit 0',
    run: async (ctx) => {
      versionReply('VERSION with CNI_CONTAINERID=%%', await version(ctx, 'VERSION with CNI_CONTAINERID=%%', { containerId: '%%' }));
      versionReply('VERSION with a 16-character CNI_IFNAME', await version(ctx, 'VERSION with CNI_IFNAME too long', { ifName: 'eth0123456789abcd/:' }));
    },
  },
  {
    id: 'C07',
    title: 'VERSION → NOSIDE, no IPAM exec',
    run: async (ctx) => {
      const before = ctx.snap();
      versionReply('VERSION', await version(ctx, 'VERSION'));
      versionReply('VERSION with a full conf on stdin', await version(ctx, 'VERSION with a conf', { conf: ctx.conf('1.1.0') }));
      ctx.same('VERSION changed something', before);
    },
  },
  {
    id: 'C08',
    title: 'VERSION cniVersion = the stdin\'s cniVersion or the plugin\'s highest supported version',
    run: async (ctx) => {
      const r = versionReply('VERSION', await version(ctx, 'VERSION with cniVersion 0.4.0', { stdin: '{"cniVersion":"0.4.0"}' }));
      const highest = [...r.supportedVersions].sort((a, b) => {
        const x = a.split('.').map(Number);
        const y = b.split('.').map(Number);
        for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
        return 0;
      }).at(-1);
      ensure(r.cniVersion === '0.4.0' || r.cniVersion === highest, `VERSION (stdin 0.4.0) answered cniVersion ${JSON.stringify(r.cniVersion)}: neither 0.4.0 nor the highest supported ${highest}`);
      ctx.note(r.cniVersion === '0.4.0' ? 'echoes stdin' : `answers its highest (${highest})`);
    },
  },
];
