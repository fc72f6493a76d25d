// H. Capabilities / runtimeConfig (cni-spec.md §8.2 H01-H10; §5.4).

import { type CaseDef, needsEmulator } from '../lib/case';
import type { CaseContext } from '../lib/context';
import { ensure, expectErr, expectRes } from '../lib/expect';
import { buildRequest } from '../runtime/libcni';
import { ipamRan } from './util';

type Policy = { Type: string; Settings?: Record<string, any> };

const PROTOCOL_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

/** The request as libcni builds it: runtimeConfig from the declared capabilities. */
function request(ctx: CaseContext, caps: Record<string, boolean>, capabilityArgs: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const plugin = ctx.conf('1.1.0', { capabilities: caps, ...extra });
  return buildRequest({ name: 'testnet', cniVersion: '1.1.0', plugins: [plugin] }, plugin, { capabilityArgs });
}

function portPolicies(ctx: CaseContext, nsId = ctx.node.netns): Policy[] {
  return (ctx.node.endpointsIn(nsId)[0]?.Policies ?? []).filter((p) => p.Type === 'PortMapping') as Policy[];
}

function protocolOf(p: Policy): number {
  const v = p.Settings?.Protocol;
  return typeof v === 'number' ? v : PROTOCOL_NUMBERS[String(v).toLowerCase()] ?? Number(v);
}

/** One mapping: applied (a PortMapping policy for it) or refused with ERR(2)/(7) and nothing changed. */
async function mapping(ctx: CaseContext, i: number, m: Record<string, unknown>, refusedCodes: number[], mentions: string[]): Promise<'applied' | 'refused'> {
  const netns = await ctx.node.ns(i);
  const ctr = `ctr-h${i}`;
  const before = ctx.snap();
  const stdin = request(ctx, { portMappings: true }, { portMappings: [m] });
  const out = await ctx.exec(`ADD with port mapping ${JSON.stringify(m)}`, 'ADD', { stdin, containerId: ctr, netns });
  if (out.code !== 0) {
    expectErr(`ADD with port mapping ${JSON.stringify(m)}`, out, refusedCodes, { mentions });
    ctx.same(`the refused port mapping ${JSON.stringify(m)} changed something`, before);
    return 'refused';
  }
  expectRes(`ADD with port mapping ${JSON.stringify(m)}`, out, '1.1.0');
  const ps = portPolicies(ctx, netns);
  const want = PROTOCOL_NUMBERS[String(m.protocol).toLowerCase()];
  ensure(ps.some((p) => p.Settings?.ExternalPort === m.hostPort && p.Settings?.InternalPort === m.containerPort && protocolOf(p) === want && (m.hostIP === undefined || p.Settings?.VIP === m.hostIP)),
    `the endpoint has no PortMapping for ${JSON.stringify(m)}: ${JSON.stringify(ps)}`);
  return 'applied';
}

const DNS_CONF = { nameservers: ['10.0.0.10'], search: ['conf.example'] };

async function dnsCase(ctx: CaseContext, runtimeDns: Record<string, string[]> | undefined, want: { nameservers?: string[]; search?: string[]; options?: string[] }): Promise<void> {
  const stdin = request(ctx, { dns: true }, runtimeDns ? { dns: runtimeDns } : {}, { dns: DNS_CONF });
  const { result } = await ctx.add('ADD', { stdin });
  const dns = (result.dns ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(want)) ensure(JSON.stringify(dns[k]) === JSON.stringify(v), `result dns.${k} is ${JSON.stringify(dns[k])}, expected ${JSON.stringify(v)}`);
  if (ctx.profile.backend === 'emulator') {
    const ep = ctx.theEndpoint();
    const hns = (ep.Dns ?? {}) as Record<string, unknown>;
    const map = { nameservers: 'ServerList', search: 'Search', options: 'Options' } as const;
    for (const [k, v] of Object.entries(want)) {
      const key = map[k as keyof typeof map];
      const got = key === 'ServerList' && typeof hns[key] === 'string' ? String(hns[key]).split(',') : hns[key];
      ensure(JSON.stringify(got) === JSON.stringify(v), `endpoint Dns.${key} is ${JSON.stringify(hns[key])}, expected ${JSON.stringify(v)}`);
    }
  }
}

export const cases: CaseDef[] = [
  {
    id: 'H01',
    title: 'portMappings [{hostPort 8080, containerPort 80, tcp}] → a matching port-mapping policy on the endpoint',
    applies: needsEmulator,
    run: async (ctx) => {
      ensure(await mapping(ctx, 0, { hostPort: 8080, containerPort: 80, protocol: 'tcp' }, [], []) === 'applied', 'the tcp mapping was refused');
    },
  },
  {
    id: 'H02',
    title: 'Protocols udp, UDP, sctp → handled, or ERR(2) naming the protocol before any change',
    applies: needsEmulator,
    run: async (ctx) => {
      const outcome: string[] = [];
      for (const [i, protocol] of ['udp', 'UDP', 'sctp'].entries()) {
        outcome.push(`${protocol} ${await mapping(ctx, i, { hostPort: 8080 + i, containerPort: 80, protocol }, [2], [protocol])}`);
      }
      ctx.note(outcome.join(', '));
    },
  },
  {
    id: 'H03',
    title: 'Mapping with hostIP → bound to that IP, or ERR(2) if unsupported; NOSIDE on error',
    applies: needsEmulator,
    run: async (ctx) => {
      ctx.note(await mapping(ctx, 0, { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '192.0.2.10' }, [2], ['hostIP']));
    },
  },
  {
    id: 'H04',
    title: 'Invalid mapping (hostPort 70000, containerPort 0, protocol xyz) → ERR(7 or 2); NOSIDE',
    run: async (ctx) => {
      const bad = [
        { hostPort: 70000, containerPort: 80, protocol: 'tcp' },
        { hostPort: 8080, containerPort: 0, protocol: 'tcp' },
        { hostPort: 8080, containerPort: 80, protocol: 'xyz' },
      ];
      const before = ctx.snap();
      for (const m of bad) {
        await ctx.err(`ADD with port mapping ${JSON.stringify(m)}`, 'ADD', [7, 2], { stdin: request(ctx, { portMappings: true }, { portMappings: [m] }) });
      }
      ctx.same('the refused mappings changed something', before);
    },
  },
  {
    id: 'H05',
    title: 'runtimeConfig.dns {servers, searches, options} → endpoint DNS uses them; result dns shows nameservers/search/options',
    run: (ctx) => dnsCase(ctx, { servers: ['10.96.0.10'], searches: ['ns1.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
      { nameservers: ['10.96.0.10'], search: ['ns1.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] }),
  },
  {
    id: 'H06',
    title: 'No runtimeConfig.dns → the config dns is used',
    run: (ctx) => dnsCase(ctx, undefined, DNS_CONF),
  },
  {
    id: 'H07',
    title: 'runtimeConfig.dns with only searches → servers from the config, searches from the runtime',
    run: (ctx) => dnsCase(ctx, { searches: ['ns1.svc.cluster.local'] }, { nameservers: DNS_CONF.nameservers, search: ['ns1.svc.cluster.local'] }),
  },
  {
    id: 'H08',
    title: 'runtimeConfig data for a capability not declared in capabilities → no failure',
    run: async (ctx) => {
      await ctx.add('ADD with undeclared runtimeConfig', { conf: ctx.conf('1.1.0', { capabilities: {}, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], dns: { servers: ['10.96.0.10'] }, mac: 'c2:11:22:33:44:55' } }) });
    },
  },
  {
    id: 'H09',
    title: 'runtimeConfig.ips / ipRanges reach FAKE-IPAM unchanged (byte check)',
    run: async (ctx) => {
      const stdin = request(ctx, { ips: true, ipRanges: true }, { ips: ['10.244.3.50/24'], ipRanges: [[{ subnet: '10.244.3.0/24', rangeStart: '10.244.3.40', rangeEnd: '10.244.3.60' }]] });
      await ctx.add('ADD', { stdin });
      const [call] = ipamRan(ctx, 'ADD', 0, 'ADD');
      ensure(call!.stdin.base64 === Buffer.from(stdin).toString('base64'), 'FAKE-IPAM got other bytes than the plugin');
      ensure(stdin.includes('"ipRanges"') && stdin.includes('"ips"'), 'harness: the request lacks runtimeConfig.ips/ipRanges');
    },
  },
  {
    id: 'H10',
    title: 'io.kubernetes.cri.pod-annotations with 100 entries → no failure',
    run: async (ctx) => {
      const annotations = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`example.com/key-${i}`, `value ${i} ${'x'.repeat(i)}`]));
      await ctx.add('ADD', { stdin: request(ctx, { 'io.kubernetes.cri.pod-annotations': true }, { 'io.kubernetes.cri.pod-annotations': annotations }) });
    },
  },
];
