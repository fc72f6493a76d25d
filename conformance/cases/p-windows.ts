// P. Windows specifics (cni-spec.md §8.2 P01-P04; §1.2, §5.1, §7).

import fs from 'node:fs';
import path from 'node:path';
import { type CaseDef, needsEmulator, windowsOnly } from '../lib/case';
import { describe } from '../lib/exec';
import { ensure, expectErr, fail, resultProblems } from '../lib/expect';
import { addNetworkList, checkNetworkList, delNetworkList, loadConfList, type Runtime } from '../runtime/libcni';

export const cases: CaseDef[] = [
  {
    id: 'P01',
    title: 'CNI_NETNS GUID in upper or lower case → the same namespace found',
    applies: needsEmulator,
    run: async (ctx) => {
      const upper = ctx.node.netns.toUpperCase();
      const lower = ctx.node.netns.toLowerCase();
      const before = ctx.snap();
      const { result } = await ctx.add('ADD with the GUID in lower case', { netns: lower });
      ensure(ctx.node.endpointsIn(upper).length === 1, 'the endpoint is not in the namespace named in lower case');
      const iface = (result.interfaces as { sandbox?: string }[]).find((i) => i.sandbox);
      ensure(iface?.sandbox === lower, `the result's sandbox is ${JSON.stringify(iface?.sandbox)}, not CNI_NETNS as given (${lower})`);
      await ctx.check('CHECK with the GUID in lower case', { netns: lower, prevResult: result });
      await ctx.check('CHECK with the GUID in upper case', { netns: upper, prevResult: { ...result, interfaces: (result.interfaces as object[]).map((i) => ({ ...i, sandbox: upper })) } });
      await ctx.del('DEL with the GUID in upper case', { netns: upper, prevResult: result });
      ctx.same('after ADD (lower case) and DEL (upper case)', before, ['ipamCalls']);
    },
  },
  {
    id: 'P02',
    title: 'Legacy CNI_NETNS none / container:<id> → supported as dockershim did, or ERR(7) with a clear msg; never a crash',
    run: async (ctx) => {
      const seen: string[] = [];
      for (const netns of ['none', 'container:4f1c0e9a7b3d']) {
        const before = ctx.snap();
        const out = await ctx.exec(`ADD with CNI_NETNS=${netns}`, 'ADD', { netns });
        if (out.code === 0) {
          seen.push(`${netns}: supported`);
          ensure(resultProblems(JSON.parse(out.stdout), '1.1.0').length === 0, `ADD with CNI_NETNS=${netns}: not a valid result (${describe(out)})`);
          continue;
        }
        const e = expectErr(`ADD with CNI_NETNS=${netns}`, out, 7);
        ensure(/dockershim|CNI_NETNS|namespace/i.test(`${e.msg} ${e.details ?? ''}`), `ADD with CNI_NETNS=${netns}: the message does not say what is wrong with CNI_NETNS: ${JSON.stringify(e.msg)}`);
        ensure(!/\n\s+at /.test(out.stdout), 'a stack trace on stdout');
        ctx.same(`the refused ADD with CNI_NETNS=${netns}`, before);
        seen.push(`${netns}: ERR(7)`);
      }
      ctx.note(seen.join(', '));
    },
  },
  {
    id: 'P03',
    title: 'CNI_PATH=C:\\Program Files\\containerd\\cni\\bin;C:\\opt\\cni\\bin → delegate found',
    applies: windowsOnly('drive-letter paths, ";"-separated CNI_PATH'),
    run: async (ctx) => {
      await ctx.add('ADD', { path: 'C:\\Program Files\\containerd\\cni\\bin;C:\\opt\\cni\\bin' });
    },
  },
  {
    id: 'P04',
    title: 'A .conf single-plugin file with CRLF endings run through a libcni-compatible runner → RES',
    run: async (ctx) => {
      const file = path.join(ctx.node.dir, '10-testnet.conf');
      fs.writeFileSync(file, JSON.stringify(ctx.conf('0.4.0'), null, 2).replace(/\n/g, '\r\n') + '\r\n');
      const list = loadConfList(file);
      const rt: Runtime = { binDirs: [ctx.node.binDir], env: ctx.node.baseEnv(), cacheDir: path.join(ctx.node.dir, 'cache') };
      const a = { containerId: 'ctr-a1', ifName: 'eth0', netns: ctx.node.netns, args: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'p1']] as [string, string][] };
      const before = ctx.snap();
      const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
        try {
          return await fn();
        } catch (err) {
          return fail(`${what} through the runner: ${(err as Error).message}`);
        }
      };
      const result = await step('ADD', () => addNetworkList(rt, list, a));
      const problems = resultProblems(result, '0.4.0');
      ensure(problems.length === 0, `the result is not a valid 0.4.0 result: ${problems.join('; ')}`);
      await step('CHECK', () => checkNetworkList(rt, list, a));
      await step('DEL', () => delNetworkList(rt, list, a));
      ctx.same('after ADD and DEL through the runner', before, ['ipamCalls']);
    },
  },
];
