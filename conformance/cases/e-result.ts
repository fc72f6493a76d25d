// E. ADD result content (cni-spec.md §8.2 E01-E16; §3.3).

import { type CaseDef, needsIpv6 } from '../lib/case';
import { type CaseContext, CTR } from '../lib/context';
import { cidrFamily, ensure, expectErr, isCidr, isIp, versionFamily } from '../lib/expect';
import type { FakePool } from '../fake-ipam/protocol';

type Result = Record<string, any>;

/** A dual-stack FAKE-IPAM when the plugin takes IPv6. */
function dual(ctx: CaseContext, on = ctx.profile.ipv6): void {
  ctx.node.editControl((c) => { c.dualStack = on; });
}

/** ADD at each version, each in a namespace of its own; returns the results by version. */
async function addAt(ctx: CaseContext, versions: string[], extra: Record<string, unknown> = {}): Promise<Record<string, Result>> {
  const out: Record<string, Result> = {};
  for (const [i, v] of versions.entries()) {
    const netns = await ctx.node.ns(i);
    out[v] = (await ctx.add(`ADD at ${v}`, { conf: ctx.conf(v, extra), containerId: `ctr-e${i}`, netns })).result;
  }
  return out;
}

/** ips of any family of result, as {address, gateway}. */
function addressesOf(r: Result): { address: string; gateway?: string }[] {
  if (versionFamily(r.cniVersion) === '020') return ['ip4', 'ip6'].filter((k) => r[k]).map((k) => ({ address: r[k].ip, gateway: r[k].gateway }));
  return (r.ips ?? []).map((i: Result) => ({ address: i.address, gateway: i.gateway }));
}

/** The host part of `address/prefix` is not all zeros (the address keeps its host bits). */
function keepsHostBits(cidr: string): boolean {
  const [ip = '', p = ''] = cidr.split('/');
  const prefix = Number(p);
  if (cidrFamily(cidr) === 4) {
    if (prefix >= 31) return true;
    const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    return n % 2 ** (32 - prefix) !== 0;
  }
  if (prefix >= 127) return true;
  const full = ip.includes('::') ? (() => {
    const [h = '', t = ''] = ip.split('::');
    const hs = h ? h.split(':') : [];
    const ts = t ? t.split(':') : [];
    return [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
  })() : ip.split(':');
  const v = full.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
  return v % (1n << BigInt(128 - prefix)) !== 0n;
}

const ALL = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

export const cases: CaseDef[] = [
  {
    id: 'E01',
    title: 'ADD C(1.1.0) → RES(1.1.0); exactly one interface has name = CNI_IFNAME and sandbox = CNI_NETNS',
    run: async (ctx) => {
      const { result } = await ctx.add();
      const mine = (result.interfaces as Result[] | undefined ?? []).filter((i) => i.name === 'eth0' && i.sandbox === ctx.node.netns);
      ensure(mine.length === 1, `${mine.length} interfaces named eth0 in sandbox ${ctx.node.netns}: ${JSON.stringify(result.interfaces)}`);
    },
  },
  {
    id: 'E02',
    title: 'Every ips[].interface is an integer index of the sandbox interface; index 0 literally emitted',
    run: async (ctx) => {
      dual(ctx);
      const { result, out } = await ctx.add();
      const ifaces = result.interfaces as Result[];
      const ips = result.ips as Result[];
      ensure(ips.length > 0, 'the result has no ips');
      for (const [n, ip] of ips.entries()) {
        if (ip.interface === undefined) continue;
        ensure(Number.isInteger(ip.interface) && ip.interface >= 0 && ip.interface < ifaces.length, `ips[${n}].interface ${JSON.stringify(ip.interface)} is not an index into ${ifaces.length} interfaces`);
        const i = ifaces[ip.interface]!;
        ensure(i.name === 'eth0' && i.sandbox === ctx.node.netns, `ips[${n}] points at interface ${JSON.stringify(i)}, not the sandbox interface eth0`);
      }
      const idx0 = ifaces.findIndex((i) => i.name === 'eth0' && i.sandbox === ctx.node.netns);
      if (idx0 === 0) {
        ensure(ips.every((ip) => 'interface' in ip), `the sandbox interface is index 0 but some ips carry no "interface" (0 dropped as falsy?): ${out.stdout.trim()}`);
        ensure(/"interface"\s*:\s*0\b/.test(out.stdout), 'stdout never writes "interface": 0');
      }
    },
  },
  {
    id: 'E03',
    title: 'No "version" in ips at 1.0.0/1.1.0; present and matching the family at 0.3.0/0.3.1/0.4.0',
    run: async (ctx) => {
      dual(ctx);
      const results = await addAt(ctx, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
      for (const [v, r] of Object.entries(results)) {
        for (const [n, ip] of (r.ips as Result[]).entries()) {
          if (versionFamily(v) === '100') ensure(!('version' in ip), `${v}: ips[${n}] has "version"`);
          else ensure(ip.version === String(cidrFamily(ip.address)), `${v}: ips[${n}].version is ${JSON.stringify(ip.version)} for ${ip.address}`);
        }
      }
    },
  },
  {
    id: 'E04',
    title: 'At 0.3.x/0.4.0 interface entries contain only name/mac/sandbox',
    run: async (ctx) => {
      // An MTU in the conf tempts a plugin to write the 1.1.0-only `mtu`.
      const results = await addAt(ctx, ['0.3.0', '0.3.1', '0.4.0'], { mtu: 1400 });
      for (const [v, r] of Object.entries(results)) {
        for (const [n, i] of (r.interfaces as Result[] ?? []).entries()) {
          const extra = Object.keys(i).filter((k) => !['name', 'mac', 'sandbox'].includes(k));
          ensure(extra.length === 0, `${v}: interfaces[${n}] has ${extra.join(', ')}`);
        }
      }
    },
  },
  {
    id: 'E05',
    title: 'At 0.1.0/0.2.0 top-level keys ⊆ {cniVersion, ip4, ip6, dns}; ip4.ip IPv4 CIDR; ip6.ip IPv6 CIDR; routes nested by family',
    run: async (ctx) => {
      dual(ctx);
      const results = await addAt(ctx, ['0.1.0', '0.2.0'], { dns: { nameservers: ['10.96.0.10'] } });
      for (const [v, r] of Object.entries(results)) {
        const extra = Object.keys(r).filter((k) => !['cniVersion', 'ip4', 'ip6', 'dns'].includes(k));
        ensure(extra.length === 0, `${v}: top-level keys ${extra.join(', ')}`);
        ensure(r.ip4 && isCidr(r.ip4.ip, 4), `${v}: ip4.ip is ${JSON.stringify(r.ip4?.ip)}`);
        if (ctx.profile.ipv6) ensure(r.ip6 && isCidr(r.ip6.ip, 6), `${v}: ip6.ip is ${JSON.stringify(r.ip6?.ip)} (FAKE-IPAM gave an IPv6 address)`);
        for (const [key, f] of [['ip4', 4], ['ip6', 6]] as const) {
          for (const route of (r[key]?.routes ?? []) as Result[]) ensure(isCidr(route.dst, f), `${v}: ${key}.routes has ${JSON.stringify(route)}`);
        }
      }
    },
  },
  {
    id: 'E06',
    title: 'All addresses valid CIDRs keeping host bits; gateways valid IPs; route dst valid CIDRs',
    run: async (ctx) => {
      dual(ctx);
      const results = await addAt(ctx, ['0.2.0', '0.4.0', '1.1.0']);
      for (const [v, r] of Object.entries(results)) {
        for (const a of addressesOf(r)) {
          ensure(isCidr(a.address), `${v}: address ${JSON.stringify(a.address)} is not a CIDR`);
          ensure(keepsHostBits(a.address), `${v}: address ${a.address} lost its host bits`);
          if (a.gateway !== undefined) ensure(isIp(a.gateway, cidrFamily(a.address) as 4 | 6), `${v}: gateway ${JSON.stringify(a.gateway)} is not an address of the family of ${a.address}`);
        }
        const routes = versionFamily(v) === '020' ? [...(r.ip4?.routes ?? []), ...(r.ip6?.routes ?? [])] : (r.routes ?? []);
        for (const route of routes as Result[]) ensure(isCidr(route.dst) && (route.gw === undefined || isIp(route.gw)), `${v}: route ${JSON.stringify(route)}`);
      }
    },
  },
  {
    id: 'E07',
    title: 'FAKE-IPAM dual stack → both families present (ips, or ip4 + ip6)',
    applies: needsIpv6,
    run: async (ctx) => {
      dual(ctx);
      const results = await addAt(ctx, ['0.2.0', '0.4.0', '1.1.0']);
      for (const [v, r] of Object.entries(results)) {
        const fams = new Set(addressesOf(r).map((a) => cidrFamily(a.address)));
        ensure(fams.has(4) && fams.has(6), `${v}: the result has IPv${[...fams].join(' and IPv')} only`);
      }
    },
  },
  {
    id: 'E08',
    title: 'dns absent, or an object with only nameservers/domain/search/options of the right types',
    run: async (ctx) => {
      const dns = { nameservers: ['10.96.0.10'], domain: 'cluster.local', search: ['ns1.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] };
      const results = await addAt(ctx, ['0.2.0', '0.4.0', '1.1.0'], { dns });
      for (const [v, r] of Object.entries(results)) {
        if (r.dns === undefined) continue;
        const bad = Object.entries(r.dns as Result).filter(([k, val]) => k === 'domain' ? typeof val !== 'string' : !['nameservers', 'search', 'options'].includes(k) || !Array.isArray(val) || val.some((x) => typeof x !== 'string'));
        ensure(bad.length === 0, `${v}: dns has ${bad.map(([k, val]) => `${k}=${JSON.stringify(val)}`).join(', ')}`);
      }
    },
  },
  {
    id: 'E09',
    title: 'The entire stdout parses with a strict JSON parser (no log lines mixed in)',
    run: async (ctx) => {
      for (const [i, v] of ['0.2.0', '0.4.0', '1.1.0'].entries()) {
        const out = await ctx.exec(`ADD at ${v}`, 'ADD', { version: v, containerId: `ctr-e${i}`, netns: await ctx.node.ns(i) });
        ensure(out.code === 0, `ADD at ${v}: exit ${out.code}`);
        try {
          JSON.parse(out.stdout);
        } catch (e) {
          ensure(false, `ADD at ${v}: stdout is not one JSON document (${(e as Error).message}): ${JSON.stringify(out.stdout.slice(0, 300))}`);
        }
      }
    },
  },
  {
    id: 'E10',
    title: 'mac, if present, is six hex octets (lower case, ":"-separated)',
    run: async (ctx) => {
      const results = await addAt(ctx, ['0.4.0', '1.1.0']);
      for (const [v, r] of Object.entries(results)) {
        for (const i of (r.interfaces as Result[] ?? [])) if (i.mac !== undefined) ensure(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(i.mac), `${v}: interface ${i.name} has mac ${JSON.stringify(i.mac)}`);
      }
    },
  },
  {
    id: 'E11',
    title: 'mtu, if present (1.1.0 only), is a positive integer',
    run: async (ctx) => {
      const results = await addAt(ctx, ['1.1.0'], { mtu: 1400 });
      let seen = 0;
      for (const i of (results['1.1.0']!.interfaces as Result[] ?? [])) {
        if (i.mtu === undefined) continue;
        seen++;
        ensure(Number.isInteger(i.mtu) && i.mtu > 0, `interface ${i.name} has mtu ${JSON.stringify(i.mtu)}`);
      }
      ctx.note(seen ? `mtu on ${seen} interface(s)` : 'no mtu written');
    },
  },
  {
    id: 'E12',
    title: 'Addresses and gateways equal what FAKE-IPAM returned',
    run: async (ctx) => {
      dual(ctx);
      const { result } = await ctx.add();
      const alloc = ctx.node.ipamAllocations().find((a) => a.containerId === CTR);
      ensure(alloc, 'FAKE-IPAM holds no allocation for the container');
      const pool = ctx.node.control().pools!.testnet as FakePool;
      const want = alloc.addresses.map((a) => ({ address: a, gateway: (cidrFamily(a) === 4 ? pool.v4 : pool.v6)?.gateway }));
      const got = addressesOf(result);
      const key = (x: { address: string; gateway?: string }) => `${x.address} via ${x.gateway ?? 'none'}`;
      ensure(JSON.stringify(got.map(key).sort()) === JSON.stringify(want.map(key).sort()), `the result has ${got.map(key).join(', ')}; FAKE-IPAM returned ${want.map(key).join(', ')}`);
    },
  },
  {
    id: 'E13',
    title: 'FAKE-IPAM result without cniVersion → accepted as the request version; RES',
    run: async (ctx) => {
      ctx.node.editControl((c) => { c.answers = { ADD: { noVersion: true } }; });
      await addAt(ctx, ['0.2.0', '0.4.0', '1.1.0']);
    },
  },
  {
    id: 'E14',
    title: 'No two interfaces share a name',
    run: async (ctx) => {
      dual(ctx);
      const results = await addAt(ctx, ['0.4.0', '1.0.0', '1.1.0']);
      for (const [v, r] of Object.entries(results)) {
        const names = (r.interfaces as Result[] ?? []).map((i) => i.name);
        ensure(new Set(names).size === names.length, `${v}: interface names ${JSON.stringify(names)}`);
      }
    },
  },
  {
    id: 'E15',
    title: 'Second ADD of the same (CNI_CONTAINERID, CNI_IFNAME) without DEL → ERR(*); the first attachment intact; nothing new left behind',
    run: async (ctx) => {
      const { result } = await ctx.add('first ADD');
      const before = ctx.snap();
      await ctx.err('second ADD', 'ADD', '*');
      ctx.same('the second ADD', before, ['ipamCalls']);
      await ctx.check('CHECK of the first attachment', { prevResult: result });
    },
  },
  {
    id: 'E16',
    title: 'ADD of the same container with CNI_IFNAME=eth1 → RES for an independent attachment or ERR(*) stating single-interface support; eth0 unaffected',
    run: async (ctx) => {
      const { result } = await ctx.add('ADD eth0');
      const eth0 = ctx.profile.backend === 'emulator' ? JSON.stringify(ctx.theEndpoint()) : '';
      const before = ctx.snap();
      const out = await ctx.exec('ADD eth1', 'ADD', { ifName: 'eth1' });
      if (out.code === 0) {
        ctx.note('eth1 added as its own attachment');
        await ctx.check('CHECK eth1', { ifName: 'eth1', prevResult: JSON.parse(out.stdout) });
      } else {
        const e = expectErr('ADD eth1', out, '*');
        ensure(/eth0|single|one (endpoint|interface|attachment)|already/i.test(`${e.msg} ${e.details ?? ''}`), `ADD eth1 failed without saying the container already has its one attachment: ${JSON.stringify(e)}`);
        ctx.same('the refused ADD eth1', before, ['ipamCalls']);
        ctx.note('refused: one attachment per container');
      }
      if (ctx.profile.backend === 'emulator') {
        const now = ctx.node.endpoints().find((e) => e.ID === JSON.parse(eth0).ID);
        ensure(JSON.stringify(now) === eth0, `the eth0 endpoint changed: ${JSON.stringify(now)}`);
      }
      await ctx.check('CHECK eth0', { prevResult: result });
    },
  },
];
