// K. CHECK (cni-spec.md §8.2 K01-K11; §2.3).

import { type CaseDef, needsEmulator } from '../lib/case';
import type { CaseContext } from '../lib/context';
import { ensure } from '../lib/expect';
import { readConfig, updateState } from '../../shared/hns/backends/emulator/store';
import { buildRequest } from '../runtime/libcni';
import { ipamRan } from './util';

type Result = Record<string, any>;

const clone = <T>(v: T): T => structuredClone(v);

/** The stdin of a CHECK (or ADD) with port mappings, as libcni builds it. */
function withPorts(ctx: CaseContext, prevResult?: unknown): string {
  const plugin = ctx.conf('1.1.0', { capabilities: { portMappings: true } });
  return buildRequest({ name: 'testnet', cniVersion: '1.1.0', plugins: [plugin] }, plugin, { capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }, prevResult });
}

export const cases: CaseDef[] = [
  {
    id: 'K01',
    title: 'CHECK right after ADD with prevResult = R (version ≥ 0.4.0) → OK0',
    run: async (ctx) => {
      const { result } = await ctx.add();
      await ctx.check('CHECK', { prevResult: result });
    },
  },
  {
    id: 'K02',
    title: 'CHECK without prevResult → ERR(7)',
    run: async (ctx) => {
      await ctx.add();
      await ctx.err('CHECK without prevResult', 'CHECK', 7);
    },
  },
  {
    id: 'K03',
    title: 'Endpoint deleted out of band, then CHECK → ERR(*)',
    applies: needsEmulator,
    run: async (ctx) => {
      const { result } = await ctx.add();
      await ctx.node.client().deleteEndpoint(ctx.theEndpoint().ID!);
      await ctx.err('CHECK after the endpoint was deleted', 'CHECK', '*', { prevResult: result });
    },
  },
  {
    id: 'K04',
    title: 'prevResult lists an extra IP the plugin never assigned to its interface → ERR(*)',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const prev = clone(result);
      (prev.ips as Result[]).push({ address: '10.244.3.99/24', gateway: ctx.profile.gateway4, interface: (prev.ips as Result[])[0]!.interface ?? 0 });
      await ctx.err('CHECK with an extra IP in prevResult', 'CHECK', '*', { prevResult: prev });
    },
  },
  {
    id: 'K05',
    title: 'prevResult sandbox interface name ≠ CNI_IFNAME, or sandbox ≠ CNI_NETNS → ERR(*)',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const renamed = clone(result);
      for (const i of renamed.interfaces as Result[]) if (i.name === 'eth0') i.name = 'eth9';
      await ctx.err('CHECK with the interface renamed in prevResult', 'CHECK', '*', { prevResult: renamed });
      const moved = clone(result);
      const other = await ctx.node.ns(1);
      for (const i of moved.interfaces as Result[]) if (i.sandbox) i.sandbox = other;
      await ctx.err('CHECK with another sandbox in prevResult', 'CHECK', '*', { prevResult: moved });
    },
  },
  {
    id: 'K06',
    title: 'prevResult with extra routes / host interfaces added by a later chained plugin → OK0',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const prev = clone(result);
      (prev.interfaces as Result[]).push({ name: 'veth-host0', mac: '02:00:00:00:00:01' });
      prev.routes = [...((prev.routes as Result[]) ?? []), { dst: '192.168.100.0/24', gw: ctx.profile.gateway4 }];
      await ctx.check('CHECK with a chained plugin\'s additions', { prevResult: prev });
    },
  },
  {
    id: 'K07',
    title: 'CHECK runs IPAM CHECK with the same stdin; FAKE-IPAM CHECK failing → ERR(*)',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const from = ctx.ipamCalls().length;
      const stdin = ctx.stdinOf({ prevResult: result });
      await ctx.check('CHECK', { stdin });
      const [call] = ipamRan(ctx, 'CHECK', from, 'CHECK');
      ensure(call!.stdin.base64 === stdin.toString('base64'), 'FAKE-IPAM CHECK got other stdin bytes than the plugin');
      ensure(call!.env.CNI_COMMAND === 'CHECK', `FAKE-IPAM ran with CNI_COMMAND=${call!.env.CNI_COMMAND}`);
      ctx.node.editControl((c) => { c.answers = { CHECK: { error: { code: 110, msg: 'fake-ipam: address lost' } } }; });
      await ctx.err('CHECK with FAKE-IPAM CHECK failing', 'CHECK', '*', { stdin });
    },
  },
  {
    id: 'K08',
    title: 'CHECK (passing or failing) → NOSIDE apart from the FAKE-IPAM log',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const before = ctx.snap();
      await ctx.check('CHECK', { prevResult: result });
      const prev = clone(result);
      (prev.ips as Result[]).push({ address: '10.244.3.99/24', interface: 0 });
      await ctx.err('failing CHECK', 'CHECK', '*', { prevResult: prev });
      await ctx.err('CHECK without prevResult', 'CHECK', '*');
      ctx.same('CHECK changed something', before, ['ipamCalls']);
    },
  },
  {
    id: 'K09',
    title: 'CHECK after DEL → ERR(*); nothing recreated',
    run: async (ctx) => {
      const before = ctx.snap();
      const { result } = await ctx.add();
      await ctx.del('DEL', { prevResult: result });
      await ctx.err('CHECK after DEL', 'CHECK', '*', { prevResult: result });
      ctx.same('CHECK after DEL recreated something', before, ['ipamCalls']);
    },
  },
  {
    id: 'K10',
    title: 'CHECK under 0.4.0 with a 0.4.0-format prevResult → OK0',
    run: async (ctx) => {
      const { result } = await ctx.add('ADD at 0.4.0', { version: '0.4.0' });
      ensure(result.cniVersion === '0.4.0' && (result.ips as Result[]).every((i) => i.version), 'the 0.4.0 result is not in 0.4.0 format');
      await ctx.check('CHECK at 0.4.0', { version: '0.4.0', prevResult: result });
    },
  },
  {
    id: 'K11',
    title: 'Port-mapping policy from ADD removed out of band → ERR(*)',
    applies: needsEmulator,
    run: async (ctx) => {
      const { result } = await ctx.add('ADD with a port mapping', { stdin: withPorts(ctx) });
      await ctx.check('CHECK before the policy is removed', { stdin: withPorts(ctx, result) });
      const id = ctx.theEndpoint().ID!;
      const dir = ctx.node.emulatorDir;
      const removed = await updateState(dir, readConfig(dir), (s) => {
        const ep = s.endpoints[id]!;
        const n = ep.Policies?.length ?? 0;
        ep.Policies = (ep.Policies ?? []).filter((p) => p.Type !== 'PortMapping');
        return n - ep.Policies.length;
      });
      ensure(removed > 0, 'the endpoint had no PortMapping policy to remove');
      await ctx.err('CHECK after the port mapping was removed', 'CHECK', '*', { stdin: withPorts(ctx, result) });
    },
  },
];
