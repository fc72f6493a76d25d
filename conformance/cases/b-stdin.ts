// B. Stdin and configuration (cni-spec.md §8.2 B01-B25; §1.4, §1.5, §5).

import type { CaseDef } from '../lib/case';
import type { CaseContext } from '../lib/context';
import { describe } from '../lib/exec';
import { ensure, expectErr, expectRes, fail } from '../lib/expect';
import { sortedJson } from '../runtime/libcni';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';

/** An endpoint without the fields that differ between two nodes made from the same template. */
function shape(ep: HostComputeEndpoint | undefined): string {
  if (!ep) return 'none';
  const { ID: _id, ...rest } = ep;
  return JSON.stringify(rest);
}

/** ADD with `extra` keys gives the same result and endpoint as a plain ADD on an identical node. */
async function sameAsPlain(ctx: CaseContext, label: string, extra: Record<string, unknown>): Promise<void> {
  const { result } = await ctx.add(label, { conf: ctx.conf('1.1.0', extra) });
  const plainNode = ctx.newNode();
  const { result: plain } = await ctx.add('plain ADD on a second node', { node: plainNode });
  ensure(JSON.stringify(result) === JSON.stringify(plain), `${label}: the result differs from a plain ADD's: ${JSON.stringify(result)} vs ${JSON.stringify(plain)}`);
  if (ctx.profile.backend === 'emulator') {
    const a = shape(ctx.node.endpointsIn(ctx.node.netns)[0]);
    const b = shape(plainNode.endpointsIn(plainNode.netns)[0]);
    ensure(a === b, `${label}: the endpoint differs from a plain ADD's: ${a} vs ${b}`);
  }
}

function badStdin(id: string, title: string, stdin: string, code: number | number[]): CaseDef {
  return {
    id,
    title,
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err(`ADD with stdin ${JSON.stringify(stdin.length > 40 ? `${stdin.slice(0, 40)}…` : stdin)}`, 'ADD', code, { stdin });
      ctx.same('the refused ADD changed something', before);
    },
  };
}

const valid = (ctx: CaseContext) => sortedJson(ctx.conf('1.1.0'));

export const cases: CaseDef[] = [
  badStdin('B01', 'ADD, empty stdin → ERR(6); NOSIDE', '', 6),
  badStdin('B02', 'ADD, stdin "hello" → ERR(6)', 'hello', 6),
  badStdin('B03', 'ADD, stdin [] → ERR(6)', '[]', 6),
  badStdin('B04', 'ADD, stdin null → ERR(7) (reference) or ERR(6)', 'null', [7, 6]),
  {
    id: 'B05',
    title: 'ADD, truncated JSON → ERR(6)',
    run: async (ctx) => {
      const before = ctx.snap();
      const text = valid(ctx);
      await ctx.err('ADD with truncated JSON', 'ADD', 6, { stdin: text.slice(0, Math.floor(text.length / 2)) });
      ctx.same('the refused ADD changed something', before);
    },
  },
  {
    id: 'B06',
    title: 'ADD, two concatenated JSON objects → ERR(6)',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('ADD with two JSON objects', 'ADD', 6, { stdin: valid(ctx) + valid(ctx) });
      ctx.same('the refused ADD changed something', before);
    },
  },
  {
    id: 'B07',
    title: 'ADD, valid JSON preceded by a UTF-8 BOM → ERR(6) or RES; never a crash',
    run: async (ctx) => {
      const before = ctx.snap();
      const out = await ctx.exec('ADD with a BOM', 'ADD', { stdin: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid(ctx))]) });
      if (out.code === 0) {
        expectRes('ADD with a BOM', out, '1.1.0');
        ctx.note('accepted (RES)');
      } else {
        expectErr('ADD with a BOM', out, 6);
        ctx.same('the refused ADD changed something', before);
        ctx.note('refused (ERR(6))');
      }
    },
  },
  badStdin('B08', 'ADD, no name → ERR(7)', '{"cniVersion":"1.1.0","type":"x","ipam":{"type":"fake-ipam"}}', 7),
  badStdin('B09', 'ADD, name "" → ERR(7)', '{"cniVersion":"1.1.0","name":"","type":"x","ipam":{"type":"fake-ipam"}}', 7),
  {
    id: 'B10',
    title: 'ADD, name each of "my net", net/1, _net, -net, ne:t → ERR(7), msg or details show the name',
    run: async (ctx) => {
      const before = ctx.snap();
      for (const name of ['my net', 'net/1', '_net', '-net', 'ne:t']) {
        await ctx.err(`ADD with name ${JSON.stringify(name)}`, 'ADD', 7, { conf: ctx.conf('1.1.0', { name }) }, { mentions: [name] });
      }
      ctx.same('the refused ADDs changed something', before);
    },
  },
  badStdin('B11', 'ADD, name 42 → ERR(6)', '{"cniVersion":"1.1.0","name":42,"type":"x","ipam":{"type":"fake-ipam"}}', 6),
  {
    id: 'B12',
    title: 'ADD, cniVersion 1 (a number) → ERR(6)',
    run: async (ctx) => {
      const before = ctx.snap();
      await ctx.err('ADD with "cniVersion": 1', 'ADD', 6, { conf: ctx.conf('1.1.0', { cniVersion: 1 }) });
      ctx.same('the refused ADD changed something', before);
    },
  },
  {
    id: 'B13',
    title: 'ADD, valid JSON with CRLF line breaks and leading/trailing whitespace → RES',
    run: async (ctx) => {
      const stdin = `\r\n  ${JSON.stringify(ctx.conf('1.1.0'), null, 2).replace(/\n/g, '\r\n')}  \r\n\t`;
      await ctx.add('ADD with CRLF and whitespace', { stdin });
    },
  },
  {
    id: 'B14',
    title: 'ADD, extra unknown top-level keys ("foo": {...}, "cni.dev/x": 1) → RES, behaviour unchanged',
    run: (ctx) => sameAsPlain(ctx, 'ADD with unknown keys', { foo: { bar: [1, 2, { baz: null }] }, 'cni.dev/x': 1 }),
  },
  {
    id: 'B15',
    title: 'ADD, capabilities object present → RES',
    run: async (ctx) => {
      await ctx.add('ADD with capabilities', { conf: ctx.conf('1.1.0', { capabilities: { portMappings: true, dns: true, bandwidth: true } }) });
    },
  },
  {
    id: 'B16',
    title: 'ADD, args = {"cni":{"labels":[...]},"org.example":{"a":1}} → RES',
    run: async (ctx) => {
      await ctx.add('ADD with args', { conf: ctx.conf('1.1.0', { args: { cni: { labels: [{ key: 'app', value: 'x' }] }, 'org.example': { a: 1 } } }) });
    },
  },
  {
    id: 'B17',
    title: 'ADD, runtimeConfig with only keys the plugin does not use (bandwidth, pod annotations) → RES, unaffected',
    run: (ctx) => sameAsPlain(ctx, 'ADD with unused runtimeConfig keys', {
      runtimeConfig: {
        bandwidth: { ingressRate: 1000000, ingressBurst: 4294967295, egressRate: 1000000, egressBurst: 4294967295 },
        'io.kubernetes.cri.pod-annotations': { 'example.com/a': 'b' },
      },
    }),
  },
  {
    id: 'B18',
    title: 'ADD, a plugin-required key missing → ERR(7), msg names the key; NOSIDE',
    applies: (p) => p.requiredKeys.length > 0 || 'the plugin requires no key beyond name and type (without "ipam", HNS assigns the address)',
    run: async (ctx) => {
      const before = ctx.snap();
      for (const key of ctx.profile.requiredKeys) {
        const conf = ctx.conf('1.1.0');
        delete conf[key];
        await ctx.err(`ADD without "${key}"`, 'ADD', 7, { conf }, { mentions: [key] });
      }
      ctx.same('the refused ADDs changed something', before);
      ctx.note(`keys: ${ctx.profile.requiredKeys.join(', ')}`);
    },
  },
  {
    id: 'B19',
    title: 'ADD, plugin key with the wrong JSON type (e.g. "mtu":"big") → ERR(7) (6 acceptable), key named; NOSIDE',
    run: async (ctx) => {
      const { key, value } = ctx.profile.wrongType;
      const before = ctx.snap();
      await ctx.err(`ADD with ${JSON.stringify({ [key]: value })}`, 'ADD', [7, 6], { conf: ctx.conf('1.1.0', { [key]: value }) }, { mentions: [key] });
      ctx.same('the refused ADD changed something', before);
    },
  },
  {
    id: 'B20',
    title: 'ADD, recognised key with an unsupported value (unknown policy Type) → ERR(2), msg has key and value; NOSIDE',
    run: async (ctx) => {
      const { key, value, mentions } = ctx.profile.unsupported;
      const before = ctx.snap();
      await ctx.err(`ADD with ${key} ${JSON.stringify(value)}`, 'ADD', 2, { conf: ctx.conf('1.1.0', { [key]: value }) }, { mentions });
      ctx.same('the refused ADD changed something', before);
    },
  },
  {
    id: 'B21',
    title: 'ADD, ipam.type containing \\, / or ..\\x → ERR(*); nothing executed (FAKE-IPAM log empty)',
    run: async (ctx) => {
      const before = ctx.snap();
      for (const type of ['../bin/fake-ipam', 'sub\\fake-ipam', '..\\x']) {
        await ctx.err(`ADD with ipam.type ${JSON.stringify(type)}`, 'ADD', '*', { conf: ctx.conf('1.1.0', { ipam: { type } }) });
      }
      ctx.same('the refused ADDs changed something', before);
    },
  },
  {
    id: 'B22',
    title: 'ADD, 16 MiB stdin (valid JSON, huge ignored string) → < 10 s with RES or ERR(5/7); no partial state on error',
    exclusive: true,
    run: async (ctx) => {
      const before = ctx.snap();
      const stdin = sortedJson(ctx.conf('1.1.0', { padding: 'x'.repeat(16 * 1024 * 1024) }));
      const out = await ctx.exec('ADD with 16 MiB of stdin', 'ADD', { stdin, timeoutMs: 30_000 });
      ensure(out.ms < 10_000, `ADD with 16 MiB of stdin took ${(out.ms / 1000).toFixed(1)} s (limit 10 s)`);
      if (out.code === 0) {
        expectRes('ADD with 16 MiB of stdin', out, '1.1.0');
        ctx.note(`RES in ${(out.ms / 1000).toFixed(2)} s`);
      } else {
        expectErr('ADD with 16 MiB of stdin', out, [5, 7]);
        ctx.same('the refused ADD left state behind', before, ['ipamCalls']);
        ctx.note(`ERR in ${(out.ms / 1000).toFixed(2)} s`);
      }
    },
  },
  {
    id: 'B23',
    title: 'ADD, 100 000-deep nested arrays in an ignored key → ERR(6) or RES; no stack-overflow crash',
    exclusive: true,
    run: async (ctx) => {
      const before = ctx.snap();
      const base = sortedJson(ctx.conf('1.1.0'));
      const stdin = `${base.slice(0, -1)},"zz-deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const out = await ctx.exec('ADD with 100 000 nested arrays', 'ADD', { stdin, timeoutMs: 30_000 });
      if (/Maximum call stack|stack overflow/i.test(out.stdout + out.stderr)) fail(`ADD with 100 000 nested arrays: a stack overflow (${describe(out)})`);
      if (out.code === 0) {
        expectRes('ADD with 100 000 nested arrays', out, '1.1.0');
        ctx.note('accepted (RES)');
      } else {
        expectErr('ADD with 100 000 nested arrays', out, 6);
        ctx.same('the refused ADD left state behind', before, ['ipamCalls']);
        ctx.note('refused (ERR(6))');
      }
    },
  },
  {
    id: 'B24',
    title: 'ADD, stdin delivered in 1-byte chunks with pauses → RES',
    run: async (ctx) => {
      await ctx.add('ADD with stdin a byte at a time', { stdinMode: 'chunked' });
    },
  },
  {
    id: 'B25',
    title: 'ADD, duplicate key ("name" twice) → the last value wins',
    run: async (ctx) => {
      const base = sortedJson(ctx.conf('1.1.0'));
      const stdin = `{"name":"no-such-network",${base.slice(1)}`;
      ensure(stdin.indexOf('"name":"no-such-network"') < stdin.indexOf('"name":"testnet"'), 'harness: the first name must come first');
      await ctx.add('ADD with "name" twice', { stdin });
      if (ctx.profile.backend === 'emulator') {
        const ep = ctx.theEndpoint();
        ensure(ep.HostComputeNetwork?.toUpperCase() === ctx.node.networks.testnet!.toUpperCase(), `the endpoint is on network ${ep.HostComputeNetwork}, not on testnet (the last "name")`);
      }
      const calls = ctx.ipamCalls().filter((c) => c.command === 'ADD');
      ensure(calls.length === 1, `FAKE-IPAM ADD ran ${calls.length} times`);
    },
  },
];
