// Published Windows confs (test/corpus: each with its source repository, path and commit) through
// the built executables, as a runtime would call them, with only "type" changed to ours. Each
// conf runs ADD, CHECK (at 1.0.0), DEL and DEL again, and at its own version ADD, DEL, DEL; the
// endpoint HNS holds must carry every DNS server and search domain, every OutBoundNAT exception,
// every route policy, the ProviderAddress and every other policy the conf asks for
// (test/corpus/corpus.json "expect", written by hand from each conf), and nothing of the pod may
// be left afterwards.
//
// What the test itself changes, besides "type": a flannel conf's delegate is rendered as flannel's
// Windows meta-plugin renders it (windows-anchors.md §5.1: name, ipMasq, ipMasqNetwork =
// FLANNEL_NETWORK, cniVersion, ipam host-local with FLANNEL_SUBNET); host-local's dataDir (a
// Windows path, or the machine's default) points into the scratch node. The node's HNS network is
// made as the node setup would: the conf's name and subnet (the IPAM's, else 10.244.3.0/24), with
// the host's bridge endpoint at .2 on L2Bridge.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { addNetworkList, checkNetworkList, type ConfList, delNetworkList, type Runtime, type RuntimeAttachment } from '../../conformance/runtime/libcni';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { DEBIAN_CNI_DIR, newNamespace, plugin, ROOT, runExe, scratchNode, type ScratchNode } from '../helpers/node';
import { formatIp, networkAddress, nthAddress, parseCidr } from '../../shared/net/ip';

interface Expect {
  dnsServers: string[];
  dnsSearch: string[];
  outboundNatExceptions: string[];
  routes: { prefix: string; needEncap: boolean }[];
  /** The one ProviderAddress the endpoint carries; null: none (a bridged network). */
  providerAddress: string | null;
  /** Further policies: one of `type` whose Settings hold every key of `settings` with that value; `text` says it in words. */
  otherPolicies: OtherPolicy[];
}

/** In `settings`, "$podIPv4" stands for the pod's IPv4 address (what the endpoint holds). */
interface OtherPolicy {
  type: string;
  settings: Record<string, unknown>;
  text: string;
}

interface Entry {
  file: string;
  project: string;
  path: string;
  commit: string;
  upstreamType: string;
  plugin: 'win-l2bridge' | 'win-overlay' | 'host-gateway' | 'l3-upstream' | null;
  networkType: 'L2Bridge' | 'Overlay' | 'NAT';
  flannel: boolean;
  expect: Expect;
}

const CORPUS = path.join(ROOT, 'test', 'corpus');
const ENTRIES = JSON.parse(fs.readFileSync(path.join(CORPUS, 'corpus.json'), 'utf8')) as Entry[];
const CONTAINER = '7c2a9e0b4d1f4e3a8b6c5d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a';
const FLANNEL = { network: '10.244.0.0/16', subnet: '10.244.3.0/24', ipMasq: true };
const NODE_SUBNET = '10.244.3.0/24';

function keyOf(o: Record<string, unknown>, name: string): string | undefined {
  return Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
}

/** The conf object the runtime hands the plugin, and the list it belongs to (name, version). */
function published(e: Entry): { list: ConfList; conf: Record<string, unknown> } {
  const doc = JSON.parse(fs.readFileSync(path.join(CORPUS, e.file), 'utf8')) as Record<string, unknown>;
  const plugins = doc[keyOf(doc, 'plugins') ?? 'plugins'] as Record<string, unknown>[] | undefined;
  const conf = plugins ? plugins[0]! : doc;
  const name = String(doc[keyOf(doc, 'name')!]);
  const version = (doc[keyOf(doc, 'cniVersion') ?? 'cniVersion'] as string | undefined) ?? '';
  return { list: { name, cniVersion: version, plugins: [conf] }, conf };
}

/** flannel.exe's delegate: its keys, plus what the meta-plugin adds (windows-anchors.md §5.1). */
function renderFlannel(conf: Record<string, unknown>, list: ConfList): Record<string, unknown> {
  const delegate = structuredClone(conf[keyOf(conf, 'delegate')!] as Record<string, unknown>);
  return {
    ...delegate,
    name: list.name,
    ipMasq: FLANNEL.ipMasq,
    ipMasqNetwork: FLANNEL.network,
    ipam: { type: 'host-local', subnet: FLANNEL.subnet },
    cniVersion: list.cniVersion || '0.2.0',
  };
}

/** Only "type" changes (plus host-local's dataDir, which must be a folder of this test node). */
function asOurs(e: Entry, node: ScratchNode): ConfList {
  const { list, conf } = published(e);
  const rendered = e.flannel ? renderFlannel(conf, list) : structuredClone(conf);
  if (e.flannel) list.cniVersion = String(rendered.cniVersion);
  for (const k of Object.keys(rendered)) if (k.toLowerCase() === 'type') delete rendered[k];
  rendered.type = e.plugin ?? 'win-l2bridge';
  const ipamKey = keyOf(rendered, 'ipam');
  const ipam = ipamKey ? (rendered[ipamKey] as Record<string, unknown>) : undefined;
  const ipamType = ipam && keyOf(ipam, 'type') ? String(ipam[keyOf(ipam, 'type')!]) : undefined;
  if (ipam && ipamType === 'host-local') {
    for (const k of Object.keys(ipam)) if (k.toLowerCase() === 'datadir') delete ipam[k];
    ipam.dataDir = path.join(node.dir, 'host-local');
  }
  return { ...list, plugins: [rendered] };
}

/** The subnets the node's network has: the conf's IPAM's (first of each range set), else the node's pod subnet. */
function networkSubnets(list: ConfList): string[] {
  const conf = list.plugins[0]!;
  const ipam = keyOf(conf, 'ipam') ? (conf[keyOf(conf, 'ipam')!] as Record<string, unknown>) : {};
  const subnet = keyOf(ipam, 'subnet') ? String(ipam[keyOf(ipam, 'subnet')!]) : undefined;
  const ranges = keyOf(ipam, 'ranges') ? (ipam[keyOf(ipam, 'ranges')!] as { subnet: string }[][]) : [];
  const all = [...(subnet ? [subnet] : []), ...ranges.map((set) => set[0]!.subnet)];
  // In network form, as HNS takes a subnet (containerd's NAT script writes one with host bits).
  return (all.length ? all : [NODE_SUBNET]).map(network);
}

/** The n-th address of a prefix; `network` gives the prefix itself in network form. */
function nth(prefix: string, n: number): string {
  return formatIp(nthAddress(parseCidr(prefix)!, BigInt(n)));
}

function network(prefix: string): string {
  const c = parseCidr(prefix)!;
  return `${formatIp(networkAddress(c))}/${c.prefix}`;
}

function setUpNetwork(node: ScratchNode, e: Entry, list: ConfList): void {
  const subnets = networkSubnets(list);
  const bridged = e.networkType !== 'Overlay';
  const doc = {
    networks: [{
      Name: list.name,
      Type: e.networkType,
      Ipams: [{ Type: 'Static', Subnets: subnets.map((s) => ({ IpAddressPrefix: s, Routes: [{ NextHop: nth(s, 1), DestinationPrefix: s.includes(':') ? '::/0' : '0.0.0.0/0' }] })) }],
    }],
    hostEndpoints: bridged && e.networkType === 'L2Bridge'
      ? [{ network: list.name, Name: `${list.name}_ep`, IpConfigurations: subnets.map((s) => ({ IpAddress: nth(s, 2), PrefixLength: Number(s.split('/')[1]) })) }]
      : [],
  };
  const file = path.join(node.dir, 'node-network.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  const applied = runExe(plugin('hnsctl'), node.env, '', ['apply', file]);
  assert.is(applied.code, 0, applied.stderr);
}

function podEndpoint(node: ScratchNode, list: ConfList): any {
  const state = emulatorAdmin(node.emulatorDir).readState() as any;
  return Object.values(state.endpoints).find((ep: any) => ep.Name === `${CONTAINER}_${list.name}`);
}

function policiesOf(ep: any, type: string): any[] {
  return (ep.Policies ?? []).filter((p: any) => p.Type === type).map((p: any) => p.Settings ?? {});
}

/** A list HCN holds as a JSON array of strings (not one string, where `includes` would match a substring). */
function stringList(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  assert.ok(Array.isArray(v) && v.every((x) => typeof x === 'string'), `${what} is an array of strings (is ${JSON.stringify(v)})`);
  return v as string[];
}

/** `want` with "$podIPv4" replaced by the pod's IPv4 address. */
function withPodIp(want: unknown, podIpv4: string | undefined): unknown {
  if (want === '$podIPv4') {
    assert.ok(podIpv4, 'the endpoint has an IPv4 address');
    return podIpv4;
  }
  if (Array.isArray(want)) return want.map((x) => withPodIp(x, podIpv4));
  if (want && typeof want === 'object') return Object.fromEntries(Object.entries(want).map(([k, v]) => [k, withPodIp(v, podIpv4)]));
  return want;
}

/** Whether Settings hold every key of `want` with exactly its value. */
function holds(settings: Record<string, unknown>, want: Record<string, unknown>): boolean {
  return Object.entries(want).every(([k, v]) => k in settings && JSON.stringify(settings[k]) === JSON.stringify(v));
}

/** The endpoint HNS holds carries everything the conf asked for. */
function assertCarried(ep: any, want: Expect, label: string): void {
  assert.ok(ep, `${label}: the pod has an endpoint`);
  const servers = stringList(ep.Dns?.ServerList, `${label}: Dns.ServerList`);
  const search = stringList(ep.Dns?.Search, `${label}: Dns.Search`);
  for (const s of want.dnsServers) assert.ok(servers.includes(s), `${label}: DNS server ${s} on the endpoint (has ${JSON.stringify(ep.Dns)})`);
  for (const s of want.dnsSearch) assert.ok(search.includes(s), `${label}: DNS search ${s} on the endpoint (has ${JSON.stringify(ep.Dns)})`);
  const exceptions = policiesOf(ep, 'OutBoundNAT').flatMap((s) => (s.Exceptions === undefined ? [] : stringList(s.Exceptions, `${label}: OutBoundNAT Exceptions`)));
  for (const x of want.outboundNatExceptions) assert.ok(exceptions.includes(x), `${label}: OutBoundNAT exception ${x} (has ${JSON.stringify(exceptions)})`);
  const routes = policiesOf(ep, 'SDNRoute');
  for (const r of want.routes) {
    assert.ok(routes.some((s) => s.DestinationPrefix === r.prefix && (s.NeedEncap === true) === r.needEncap), `${label}: SDNRoute ${r.prefix} NeedEncap ${r.needEncap} (has ${JSON.stringify(routes)})`);
  }
  // Exactly the one PA asked for (not the network's ManagementIP besides a conf's own), none on a bridged network.
  const pas = policiesOf(ep, 'ProviderAddress').map((s) => s.ProviderAddress);
  assert.equal(pas, want.providerAddress ? [want.providerAddress] : [], `${label}: ProviderAddress ${want.providerAddress ?? 'none'} (has ${JSON.stringify(pas)})`);
  const podIpv4 = (ep.IpConfigurations ?? []).map((c: any) => c.IpAddress as string).find((a: string) => !a.includes(':'));
  for (const o of want.otherPolicies) {
    assert.ok(o.type && o.settings && typeof o.settings === 'object' && o.text, `${label}: corpus.json otherPolicies entry ${JSON.stringify(o)} has type, settings and text`);
    const settings = withPodIp(o.settings, podIpv4) as Record<string, unknown>;
    const have = policiesOf(ep, o.type);
    assert.ok(have.some((s) => holds(s, settings)), `${label}: ${o.type} with ${JSON.stringify(settings)} (${o.text}) (has ${JSON.stringify(have)})`);
  }
}

/** Nothing of the pod left: no endpoint, no record, no address held in host-local's store. */
function assertNothingLeft(node: ScratchNode, list: ConfList, label: string): void {
  assert.is(podEndpoint(node, list), undefined, `${label}: no pod endpoint left`);
  const records = path.join(node.stateDir, 'attachments', list.name);
  assert.equal(fs.existsSync(records) ? fs.readdirSync(records) : [], [], `${label}: no record left`);
  const store = path.join(node.dir, 'host-local', list.name);
  for (const f of fs.existsSync(store) ? fs.readdirSync(store) : []) {
    const file = path.join(store, f);
    if (fs.statSync(file).isFile()) assert.not.match(fs.readFileSync(file, 'utf8'), CONTAINER, `${label}: address ${f} still held`);
  }
}

async function lifecycle(rt: Runtime, node: ScratchNode, list: ConfList, e: Entry, check: boolean, label: string): Promise<void> {
  const a: RuntimeAttachment = {
    containerId: CONTAINER,
    ifName: 'eth0',
    netns: newNamespace(node),
    args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', 'web-0'], ['K8S_POD_INFRA_CONTAINER_ID', CONTAINER]],
    // Host ports where the conf declares them; no runtime DNS, so the conf's own DNS is what the pod must get.
    capabilityArgs: { portMappings: [{ hostPort: 30080, containerPort: 80, protocol: 'tcp' }] },
  };
  await addNetworkList(rt, list, a);
  assertCarried(podEndpoint(node, list), e.expect, label);
  if (check) await checkNetworkList(rt, list, a);
  await delNetworkList(rt, list, a);
  await delNetworkList(rt, list, a);
  assertNothingLeft(node, list, label);
}

for (const e of ENTRIES) {
  const name = path.basename(e.file, '.json');
  if (e.plugin === null) {
    test(`${name} (${e.project}, out of scope: ${e.networkType}): refused with code 101 naming the network type, nothing made`, async () => {
      const node = scratchNode('cni-corpus-');
      try {
        const list = asOurs(e, node);
        setUpNetwork(node, e, list);
        const rt: Runtime = { binDirs: [node.binDir, DEBIAN_CNI_DIR], env: node.env, cacheDir: path.join(node.dir, 'cache') };
        const a: RuntimeAttachment = { containerId: CONTAINER, ifName: 'eth0', netns: newNamespace(node) };
        try {
          await addNetworkList(rt, list, a);
          assert.unreachable('ADD on a NAT network succeeded');
        } catch (err) {
          const pe = err as { error?: { code: number; msg: string } };
          assert.is(pe.error?.code, 101, String(err));
          assert.match(pe.error!.msg, 'of type NAT');
        }
        assert.is(podEndpoint(node, list), undefined);
      } finally {
        node.cleanup();
      }
    });
    continue;
  }
  test(`${name} (${e.project} ${e.path}) as ${e.plugin}: ADD, CHECK at 1.0.0, DEL, DEL; and at its own version`, async () => {
    const node = scratchNode('cni-corpus-');
    try {
      emulatorAdmin(node.emulatorDir).setConfig({ managementIp: '192.168.10.21' });
      const list = asOurs(e, node);
      setUpNetwork(node, e, list);
      const rt: Runtime = { binDirs: [node.binDir, DEBIAN_CNI_DIR], env: node.env, cacheDir: path.join(node.dir, 'cache') };
      await lifecycle(rt, node, { ...list, cniVersion: '1.0.0' }, e, true, 'at 1.0.0');
      const own = list.cniVersion || '0.1.0';
      if (own !== '1.0.0') await lifecycle(rt, node, list, e, ['0.4.0', '1.1.0'].includes(own), `at ${own}`);
    } finally {
      node.cleanup();
    }
  });
}

test('the corpus holds at least 12 confs from at least 6 projects, each cited by repository, path and commit', () => {
  assert.ok(ENTRIES.length >= 12, `${ENTRIES.length} confs`);
  assert.ok(new Set(ENTRIES.map((e) => e.project)).size >= 6);
  for (const e of ENTRIES) assert.ok(e.project && e.path && e.commit && fs.existsSync(path.join(CORPUS, e.file)), e.file);
});

test.run();
