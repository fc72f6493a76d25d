// G. Delegation mechanics (cni-spec.md §8.2 G01-G08; §6).

import fs from 'node:fs';
import path from 'node:path';
import { type CaseDef, windowsOnly } from '../lib/case';
import { CTR } from '../lib/context';
import { ensure, expectErr } from '../lib/expect';
import { writeFakeIpam } from '../lib/node';
import { gcConf, ipamRan } from './util';

const VARS = ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;

export const cases: CaseDef[] = [
  {
    id: 'G01',
    title: 'IPAM ADD stdin is byte-identical to the plugin\'s stdin',
    run: async (ctx) => {
      // Not libcni's layout: spaces and an unsorted key order a re-serialising plugin would change.
      const stdin = `{ "type": ${JSON.stringify(ctx.profile.type)},  "name": "testnet", "cniVersion": "1.1.0",\n  "ipam": {"type": "fake-ipam", "zeta": 1, "alpha": [1, 2.50, "é"]},\n  "x-unknown": {"b": 1, "a": 2}${Object.entries(ctx.profile.baseConf).map(([k, v]) => `, ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join('')} }\n`;
      await ctx.add('ADD', { stdin });
      const [call] = ipamRan(ctx, 'ADD', 0, 'ADD');
      const sent = Buffer.from(stdin, 'utf8');
      ensure(call!.stdin.length === sent.length && call!.stdin.base64 === sent.toString('base64'),
        `FAKE-IPAM got ${call!.stdin.length} bytes ${JSON.stringify(Buffer.from(call!.stdin.base64 ?? '', 'base64').toString('utf8').slice(0, 200))}, the plugin ${sent.length} bytes`);
    },
  },
  {
    id: 'G02',
    title: 'IPAM env: CNI_COMMAND=ADD; CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH identical; an unrelated variable (X_TEST=1) inherited',
    run: async (ctx) => {
      const env = ctx.env('ADD', { env: { X_TEST: '1' } });
      await ctx.add('ADD', { env: { X_TEST: '1' } });
      const [call] = ipamRan(ctx, 'ADD', 0, 'ADD');
      ensure(call!.env.CNI_COMMAND === 'ADD', `FAKE-IPAM ran with CNI_COMMAND=${call!.env.CNI_COMMAND}`);
      for (const v of VARS) ensure(call!.env[v] === env[v], `FAKE-IPAM got ${v}=${JSON.stringify(call!.env[v])}, the plugin ${JSON.stringify(env[v])}`);
      ensure(call!.env.X_TEST === '1', `FAKE-IPAM did not inherit X_TEST=1 (got ${JSON.stringify(call!.env.X_TEST)})`);
      ensure(call!.args.length === 0, `FAKE-IPAM got arguments ${JSON.stringify(call!.args)}`);
    },
  },
  {
    id: 'G03',
    title: 'fake-ipam present in two CNI_PATH dirs → the first dir\'s copy runs',
    run: async (ctx) => {
      const a = path.join(ctx.node.dir, 'bin-a');
      const b = path.join(ctx.node.dir, 'bin-b');
      writeFakeIpam(a, ctx.node.ipamDir, 'dir-a');
      writeFakeIpam(b, ctx.node.ipamDir, 'dir-b');
      for (const [i, [first, second, want]] of ([[a, b, 'dir-a'], [b, a, 'dir-b']] as const).entries()) {
        const from = ctx.ipamCalls().length;
        const netns = await ctx.node.ns(i);
        const ctr = `ctr-g${i}`;
        const p = `${first}:${second}`;
        const { result } = await ctx.add(`ADD with CNI_PATH=${path.basename(first)}:${path.basename(second)}`, { path: p, containerId: ctr, netns });
        await ctx.del('DEL', { path: p, containerId: ctr, netns, prevResult: result });
        const copies = ctx.ipamCallsSince(from).map((c) => c.copy);
        ensure(copies.length >= 2 && copies.every((c) => c === want), `with ${path.basename(first)} first, the copies that ran: ${copies.join(', ')}`);
      }
    },
  },
  {
    id: 'G04',
    title: 'CNI_PATH with a dir containing spaces (and, on Windows, a quoted segment) → delegate found',
    run: async (ctx) => {
      const spaced = path.join(ctx.node.dir, 'Program Files', 'cni bin');
      writeFakeIpam(spaced, ctx.node.ipamDir, 'spaced');
      const p = process.platform === 'win32' ? `"${spaced}";C:\\opt\\cni\\bin` : `${spaced}:${path.join(ctx.node.dir, 'nonexistent')}`;
      await ctx.add('ADD with a CNI_PATH dir containing spaces', { path: p });
      const copies = ctx.ipamCalls().map((c) => c.copy);
      ensure(copies.includes('spaced'), `the delegate in "${spaced}" did not run (ran: ${copies.join(', ') || 'nothing'})`);
      if (process.platform !== 'win32') ctx.note('Linux: spaces only (quoted CNI_PATH segments are Windows syntax)');
    },
  },
  {
    id: 'G05',
    title: 'Windows: dir holding fake-ipam.exe and fake-ipam → .exe runs; only the extension-less file → it runs',
    applies: windowsOnly('.exe lookup'),
    run: async (ctx) => {
      const dir = path.join(ctx.node.dir, 'bin-exe');
      writeFakeIpam(dir, ctx.node.ipamDir, 'exe', 'fake-ipam.exe');
      writeFakeIpam(dir, ctx.node.ipamDir, 'plain', 'fake-ipam');
      await ctx.add('ADD', { path: dir });
      ensure(ctx.ipamCalls().every((c) => c.copy === 'exe'), 'the extension-less copy ran');
    },
  },
  {
    id: 'G06',
    title: 'FAKE-IPAM stderr text appears in the plugin\'s stderr on success too',
    run: async (ctx) => {
      ctx.node.editControl((c) => { c.answers = { ADD: { stderr: 'fake-ipam: note 31337 for the log\n' } }; });
      const { out } = await ctx.add();
      ensure(out.stderr.includes('fake-ipam: note 31337 for the log'), `the plugin's stderr lacks FAKE-IPAM's text: ${JSON.stringify(out.stderr.slice(0, 300))}`);
    },
  },
  {
    id: 'G07',
    title: 'IPAM DEL during DEL receives the DEL stdin bytes unchanged (including prevResult)',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const from = ctx.ipamCalls().length;
      const stdin = ctx.stdinOf({ prevResult: result });
      await ctx.del('DEL', { stdin });
      const [call] = ipamRan(ctx, 'DEL', from, 'DEL');
      ensure(call!.stdin.base64 === stdin.toString('base64'), `FAKE-IPAM DEL got ${call!.stdin.length} bytes, the plugin ${stdin.length}`);
      ensure(stdin.toString().includes('"prevResult"'), 'harness: the DEL stdin has no prevResult');
    },
  },
  {
    id: 'G08',
    title: 'Config without ipam (if the plugin allows it) → no delegate executed for any verb',
    run: async (ctx) => {
      const conf = ctx.conf('1.1.0');
      delete conf.ipam;
      const out = await ctx.exec('ADD without ipam', 'ADD', { conf });
      let prev: unknown;
      if (out.code === 0) {
        prev = JSON.parse(out.stdout);
        ctx.note('ADD without ipam accepted');
      } else {
        expectErr('ADD without ipam', out, 7, { mentions: ['ipam'] });
        ctx.note('ADD without ipam refused with ERR(7) naming ipam');
      }
      if (prev !== undefined) await ctx.exec('CHECK without ipam', 'CHECK', { conf, prevResult: prev });
      await ctx.exec('DEL without ipam', 'DEL', { conf });
      const gc = gcConf(ctx, [{ containerID: CTR, ifname: 'eth0' }]);
      delete gc.ipam;
      await ctx.exec('GC without ipam', 'GC', { conf: gc });
      await ctx.exec('STATUS without ipam', 'STATUS', { conf });
      const calls = ctx.ipamCalls();
      ensure(calls.length === 0, `FAKE-IPAM ran ${calls.length} time(s) (${calls.map((c) => c.command).join(', ')}) for a conf without ipam`);
      ensure(!fs.existsSync(path.join(ctx.node.ipamDir, 'allocations.json')), 'FAKE-IPAM allocated something');
    },
  },
];
