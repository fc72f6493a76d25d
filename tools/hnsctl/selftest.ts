// `hnsctl selftest`: is this node's HNS still doing what the plugins need (pain point 21: a
// Windows cumulative update broke container networking, and nothing could tell)? On each network
// of ours it does what a pod ADD and DEL do, with a throw-away namespace and endpoint, and checks
// each step against what HNS answers: a pass/fail line per step, exit 0 only if all pass.
//
// Networks of ours: every L2Bridge and Overlay network on the host, the HNS types the suite's four
// modes run on (win-l2bridge, host-gateway, l3-upstream: L2Bridge; win-overlay: Overlay); names
// given on the command line narrow it. Other types (NAT, Transparent, ...) are not tested.
//
// What it makes is marked: `Owner` "cni-suite-selftest" and the name (of the throw-away
// namespace and the endpoint on the i-th network) `cni-selftest.<run>.n<i>`, where <run> is the
// process (`<pid>`, on Linux `<pid>-<start ticks>-<boot id prefix>`, as shared/sys/process.ts
// names a writer) and its start time. Such a name is never `<containerID>_<network>`, so plugin GC
// and `hnsctl pods` never take it for a pod. Nothing is left behind: a failing step and SIGINT,
// SIGTERM, SIGHUP (Windows: also SIGBREAK) undo what was made, in reverse; SIGKILL cannot be
// caught, so every run first removes the leftovers of earlier runs whose process is gone (found by
// the marker in HNS and in the IPAM store), and `hnsctl selftest --clean` does only that.
//
// The address. A pod gets its address from its IPAM, which knows nothing of HNS: an endpoint of
// ours on an address some pod is then given makes that pod's ADD fail (the address is taken,
// ERROR_OBJECT_ALREADY_EXISTS), so letting HNS assign one (lowest free: the next pod's) is wrong.
// The test endpoint takes the highest address of the network's IPv4 subnet that no HNS endpoint
// holds and that is not reserved (network, .1, .2, broadcast, route next hops), claimed for the
// test's length in the built-in IPAM's store for the network (`<state folder>/ipam/<network>`, or
// `--ipam-dir=<dir>`: host-local's dataDir on nodes delegating to it; the format is the same), then
// released. A pod on the built-in IPAM can never be given it; host-local, which allocates upward
// from its last reservation, reaches the top of the range last, and honours the claim if pointed
// at its dataDir.

import fs from 'node:fs';
import path from 'node:path';
import type { HnsClient } from '../../shared/hns/client';
import { isNotFound } from '../../shared/hns/errors';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';
import type { HostComputeNetwork } from '../../shared/hns/model/network';
import type { EndpointPolicy } from '../../shared/hns/model/policy';
import { overlayServiceFields } from '../../shared/hns/overlay';
import { hostVersions, rememberHnsVersion, versionText } from '../../shared/hns/version-cache';
import { BuiltinIpam, ownerKey } from '../../shared/ipam/builtin';
import { type Cidr, contains, formatIp, lastAddress, networkAddress, parseCidr, parseIp } from '../../shared/net/ip';
import { bridgeGateway } from '../../shared/plugin/bridged';
import type { NetConf } from '../../shared/config/types';
import { endpointPolicies } from '../../shared/policy/derive';
import { policyMatches } from '../../shared/policy/meaning';
import { parseTempFileName, removeAbandonedTemps } from '../../shared/sys/atomic';
import { stateDir } from '../../shared/sys/paths';
import { processGone, selfStart } from '../../shared/sys/process';
import { cell, table } from './table';

export const SELFTEST_OWNER = 'cni-suite-selftest';
const PREFIX = 'cni-selftest.';
const IF_NAME = 'eth0';
/** A run older than this is gone whatever its pid says (Windows reuses pids); a run takes seconds. */
const STALE_AFTER_MS = 2 * 60 * 60 * 1000;
/** Candidates tried from the top of the subnet before giving up. */
const MAX_ADDRESS_TRIES = 64;
const OUR_TYPES = new Set(['L2Bridge', 'Overlay']);

export class SelftestUsageError extends Error {}

export interface SelftestOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Tests: signals are not installed (the in-process runner has its own). */
  noSignals?: boolean;
}

export interface StepResult {
  step: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export interface NetworkReport {
  network: string;
  type: string;
  ok: boolean;
  steps: StepResult[];
}

export interface SelftestReport {
  ok: boolean;
  osBuild: string;
  hnsVersion?: string;
  cleaned: string[];
  networks: NetworkReport[];
  interrupted?: string;
  error?: string;
}

interface Args {
  clean: boolean;
  ipamDir?: string;
  networks: string[];
}

function parse(words: string[], platform: NodeJS.Platform): Args {
  const args: Args = { clean: false, networks: [] };
  for (const w of words) {
    if (w === '--clean') args.clean = true;
    else if (w.startsWith('--ipam-dir=')) {
      const dir = w.slice('--ipam-dir='.length);
      if (!(platform === 'win32' ? path.win32 : path.posix).isAbsolute(dir)) throw new SelftestUsageError(`--ipam-dir must be an absolute path (got ${JSON.stringify(dir)})`);
      args.ipamDir = dir;
    } else if (w.startsWith('-')) throw new SelftestUsageError(`unknown option ${w} (selftest [<network>...] [--clean] [--ipam-dir=<dir>] [--json])`);
    else args.networks.push(w);
  }
  if (args.clean && args.networks.length) throw new SelftestUsageError('selftest --clean takes no network names: it removes every dead run\'s leftovers');
  return args;
}

// --- who made it -------------------------------------------------------------------------

interface Run {
  pid: number;
  start?: string;
  created: number;
}

const RUN_ID = /^cni-selftest\.(\d+)(?:-(\d+)-([0-9a-f]{8}))?\.([0-9a-z]+)(?:\.n\d+)?$/;

/** This process's run ID (see the header). */
function runId(): string {
  const start = selfStart();
  const who = start ? `${process.pid}-${start.split(':')[1]}-${start.split(':')[0]!.slice(0, 8)}` : String(process.pid);
  return `${PREFIX}${who}.${Date.now().toString(36)}`;
}

/** The run a marked name belongs to, or undefined if the name is not one of ours. */
export function runOf(name: string | undefined): Run | undefined {
  const m = name ? RUN_ID.exec(name) : null;
  if (!m) return undefined;
  const run: Run = { pid: Number(m[1]), created: parseInt(m[4]!, 36) };
  if (m[2]) run.start = `${m[3]}:${m[2]}`;
  return run;
}

function runGone(run: Run, platform: NodeJS.Platform): boolean {
  return processGone(run.pid, run.start, platform) || Date.now() - run.created > STALE_AFTER_MS;
}

// --- leftovers ---------------------------------------------------------------------------

interface Context {
  client: HnsClient;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  ipamRoot: string;
}

function ipamFor(ctx: Context, network: string, containerId: string, requested: string[] = [], subnet?: string, reserved: string[] = []): BuiltinIpam {
  return new BuiltinIpam(
    { type: 'builtin', ...(subnet ? { subnet } : { subnet: '0.0.0.0/0' }), reserved, dataDir: ctx.ipamRoot },
    { network, containerId, ifName: IF_NAME, defaultDataDir: ctx.ipamRoot, platform: ctx.platform, modeReserved: [], requested },
  );
}

/** Claims of dead runs in one network's store: by marker name, and (a claim killed before its marker) by an address file's owner. */
function deadClaims(ctx: Context, network: string): string[] {
  const dir = path.join(ctx.ipamRoot, network);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const owners = new Set<string>();
  const keyPrefix = `.builtin.${PREFIX}`;
  for (const n of names) {
    const at = n.indexOf(keyPrefix);
    if (n.startsWith('.') && at > 0) owners.add(n.slice(at + '.builtin.'.length).split('+')[0]!);
    else if (parseIp(ctx.platform === 'win32' ? n.replace(/_/g, ':') : n)) {
      try {
        const owner = fs.readFileSync(path.join(dir, n), 'utf8').split(/\r?\n/)[0]!;
        if (owner.startsWith(PREFIX)) owners.add(owner);
      } catch {
        /* released meanwhile */
      }
    }
  }
  // A claim killed half-way leaves its temp file (named by its writer): removed once that writer is gone.
  const temps = names.filter((n) => {
    const t = parseTempFileName(n);
    return t !== undefined && parseIp(ctx.platform === 'win32' ? t.target.replace(/_/g, ':') : t.target) !== undefined;
  });
  if (temps.length) removeAbandonedTemps(dir, temps, { platform: ctx.platform });
  return [...owners].filter((o) => {
    const run = runOf(o);
    return run !== undefined && runGone(run, ctx.platform);
  });
}

/** Removes what dead runs left: endpoints, namespaces (by marker), claims. Returns what it removed. */
export async function cleanLeftovers(ctx: Context): Promise<string[]> {
  const removed: string[] = [];
  const ours = (o: { Owner?: string; Name?: string }) => o.Owner === SELFTEST_OWNER && runOf(o.Name) !== undefined && runGone(runOf(o.Name)!, ctx.platform);
  const endpoints = (await ctx.client.listEndpoints()).filter(ours);
  for (const ep of endpoints) {
    await ctx.client.deleteEndpoint(ep.ID!).catch((err) => { if (!isNotFound(err)) throw err; });
    removed.push(`endpoint ${ep.Name} ${ep.ID}`);
  }
  for (const ns of (await ctx.client.listNamespaces()).filter(ours)) {
    await ctx.client.deleteNamespace(ns.ID!).catch((err) => { if (!isNotFound(err)) throw err; });
    removed.push(`namespace ${ns.Name} ${ns.ID}`);
  }
  let stores: string[] = [];
  try {
    stores = fs.readdirSync(ctx.ipamRoot);
  } catch {
    /* no store yet */
  }
  for (const network of stores) {
    const dead = deadClaims(ctx, network);
    for (const owner of dead) {
      await ipamFor(ctx, network, owner).del();
      // A release killed between its two removals leaves the marker alone (del() keys on the
      // address file): the marker's name says whose it is, and only it goes.
      const dir = path.join(ctx.ipamRoot, network);
      const key = `.builtin.${ownerKey(owner, IF_NAME)}`;
      for (const n of fs.readdirSync(dir)) if (n.startsWith('.') && n.endsWith(key)) fs.rmSync(path.join(dir, n), { force: true });
      removed.push(`address claim of ${owner} on ${network}`);
    }
    // A store folder a killed run made for its claim alone (a node whose pods use host-local).
    if (dead.length) dropIfEmpty(path.join(ctx.ipamRoot, network));
  }
  // The version cache's temp file, if a run was killed writing it.
  const state = stateDir(ctx.env, ctx.platform);
  try {
    const temps = fs.readdirSync(state).filter((n) => parseTempFileName(n)?.target === 'hns-version.json');
    if (temps.length) removeAbandonedTemps(state, temps, { platform: ctx.platform });
  } catch {
    /* no state folder */
  }
  return removed;
}

// --- one network -------------------------------------------------------------------------

class StepFailed extends Error {}
class Interrupted extends Error {}

interface Made {
  claim?: BuiltinIpam;
  /** The claim made the network's store folder: it goes again when empty. */
  madeStore?: string;
  madeRoot?: string;
  address?: string;
  namespace?: string;
  endpoint?: string;
  attached?: boolean;
}

function subnetsOf(net: HostComputeNetwork) {
  return (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []);
}

/** The subnet the test endpoint goes in: the first IPv4 one (the suite's overlay is IPv4 only), else the first. */
function testSubnet(net: HostComputeNetwork): { prefix: Cidr; gateway?: string; hops: string[] } | undefined {
  const all = subnetsOf(net).map((s) => ({ s, prefix: s.IpAddressPrefix ? parseCidr(s.IpAddressPrefix) : undefined })).filter((x) => x.prefix);
  const pick = all.find((x) => x.prefix!.ip.family === 4) ?? all[0];
  if (!pick) return undefined;
  const routes = pick.s.Routes ?? [];
  const gateway = routes.find((r) => (r.DestinationPrefix === '0.0.0.0/0' || r.DestinationPrefix === '::/0') && r.NextHop)?.NextHop;
  return { prefix: pick.prefix!, gateway, hops: routes.map((r) => r.NextHop).filter((h): h is string => !!h) };
}

/** The node's address as HNS knows it: the network's ProviderAddress, else the v1 view's ManagementIP. */
async function managementIp(client: HnsClient, net: HostComputeNetwork): Promise<string | undefined> {
  const pa = overlayServiceFields(net).providerAddress;
  if (pa) return pa;
  try {
    const out = await client.api.hnsCall('GET', `/networks/${net.ID}`, '');
    const env = JSON.parse(out.value ?? '{}') as { Success?: boolean; Output?: { ManagementIP?: string } };
    return env.Success ? env.Output?.ManagementIP || undefined : undefined;
  } catch {
    return undefined;
  }
}

export class NetworkTest {
  readonly steps: StepResult[] = [];
  private readonly made: Made = {};
  private failed = false;

  constructor(private readonly ctx: Context, private readonly net: HostComputeNetwork, private readonly run: string, private readonly index: number, private readonly interrupted: () => string | undefined) {}

  private get name(): string {
    return this.net.Name ?? this.net.ID!;
  }

  /** One step: its line, pass or fail; a failure stops the forward steps (StepFailed). */
  private async step<T>(step: string, fn: () => Promise<T>, detail: (r: T) => string): Promise<T> {
    const signal = this.interrupted();
    if (signal) throw new Interrupted(signal);
    const t0 = Date.now();
    try {
      const r = await fn();
      this.steps.push({ step, ok: true, detail: detail(r), ms: Date.now() - t0 });
      return r;
    } catch (err) {
      this.failed = true;
      this.steps.push({ step, ok: false, detail: (err as Error).message, ms: Date.now() - t0 });
      throw new StepFailed(step);
    }
  }

  /** An undo step (after a failure or a signal): runs whatever happened, recorded as `undo <step>`. */
  private async undo(step: string, fn: () => Promise<void>): Promise<void> {
    const t0 = Date.now();
    try {
      await fn();
      this.steps.push({ step: `undo ${step}`, ok: true, detail: 'undone', ms: Date.now() - t0 });
    } catch (err) {
      this.failed = true;
      this.steps.push({ step: `undo ${step}`, ok: false, detail: (err as Error).message, ms: Date.now() - t0 });
    }
  }

  async run_(): Promise<NetworkReport> {
    let interrupted: string | undefined;
    try {
      await this.forward();
    } catch (err) {
      if (err instanceof Interrupted) {
        interrupted = err.message;
        this.failed = true;
        this.steps.push({ step: 'interrupted', ok: false, detail: `${err.message}: undoing what was made`, ms: 0 });
      } else if (!(err instanceof StepFailed)) throw err;
    }
    await this.rollback();
    await this.verifyGone();
    return { network: this.name, type: String(this.net.Type ?? 'NAT'), ok: !this.failed && !interrupted, steps: this.steps };
  }

  private async forward(): Promise<void> {
    const { client } = this.ctx;
    const net = this.net;
    const overlay = net.Type === 'Overlay';
    const subnet = await this.step('network', async () => {
      const s = testSubnet(net);
      if (!s) throw new Error(`network ${this.name} has no static subnet (Ipams[].Subnets[].IpAddressPrefix): pods cannot get addresses on it`);
      if (!s.gateway) throw new Error(`subnet ${formatCidr(s.prefix)} of ${this.name} has no default route (0.0.0.0/0 with a NextHop): pods would have no gateway`);
      if (overlay) {
        const f = overlayServiceFields(net);
        const vsid = subnetsOf(net).some((x) => (x.Policies ?? []).some((p) => p.Type === 'VSID'));
        const missing = [f.providerAddress ? '' : 'ProviderAddress', f.drMac ? '' : 'DrMacAddress', vsid ? '' : 'a VSID subnet policy'].filter(Boolean);
        if (missing.length) throw new Error(`Overlay network ${this.name} lacks ${missing.join(', ')} (HNS adds the first two when the network is up; the VNI is the subnet's VSID): pods cannot reach other nodes`);
      }
      return s;
    }, (s) => `${net.Type} ${formatCidr(s.prefix)} via ${s.gateway}${overlay ? `, PA ${overlayServiceFields(net).providerAddress}, DR ${overlayServiceFields(net).drMac}` : ''}`);

    const address = await this.step('claim-address', () => this.claimAddress(subnet), (a) => `${a} in ${path.join(this.ctx.ipamRoot, this.name)}`);

    const nsName = `${this.run}.n${this.index}`;
    const ns = await this.step('create-namespace', async () => {
      const created = await client.createNamespace({ SchemaVersion: { Major: 2, Minor: 0 }, Owner: SELFTEST_OWNER, Name: nsName });
      this.made.namespace = created.ID;
      return created;
    }, (n) => `${nsName} ${n.ID}`);

    const node = await managementIp(client, net);
    const plan = this.plan(subnet, address, node);
    const epName = `${this.run}.n${this.index}`;
    const ep = await this.step('create-endpoint', async () => {
      const created = await client.createEndpoint(net.ID!, plan.doc);
      this.made.endpoint = created.ID;
      return created;
    }, (e) => `${epName} ${e.ID} ${address}/${subnet.prefix.prefix} via ${plan.gateway}, policies ${plan.policies.map((p) => p.Type).join(', ') || 'none'}`);

    await this.step('attach', async () => {
      await client.addNamespaceEndpoint(ns.ID!, ep.ID!);
      this.made.attached = true;
    }, () => `endpoint ${ep.ID} added to namespace ${ns.ID}`);

    const back = await this.step('read-back', async () => {
      const e = await client.getEndpointById(ep.ID!);
      const problems: string[] = [];
      if (!sameId(e.HostComputeNamespace, ns.ID)) problems.push(`endpoint's HostComputeNamespace is ${e.HostComputeNamespace ?? 'absent'}, not ${ns.ID}`);
      if (!sameId(e.HostComputeNetwork, net.ID)) problems.push(`endpoint's HostComputeNetwork is ${e.HostComputeNetwork ?? 'absent'}, not ${net.ID}`);
      if (!(e.IpConfigurations ?? []).some((c) => c.IpAddress === address)) problems.push(`endpoint holds ${(e.IpConfigurations ?? []).map((c) => c.IpAddress).join(',') || 'no address'}, not ${address}`);
      if (!(e.Routes ?? []).some((r) => r.NextHop === plan.gateway)) problems.push(`endpoint has no route via ${plan.gateway}`);
      const n = await client.getNamespaceById(ns.ID!);
      const listed = (n.Resources ?? []).some((r) => r.Type === 'Endpoint' && sameId((r.Data as { Id?: string } | undefined)?.Id, ep.ID));
      if (!listed) problems.push(`namespace ${ns.ID} does not list the endpoint in its Resources`);
      if (problems.length) throw new Error(problems.join('; '));
      return e;
    }, (e) => `endpoint in namespace, ${e.IpConfigurations?.map((c) => `${c.IpAddress}/${c.PrefixLength ?? '?'}`).join(',')}, MAC ${e.MacAddress ?? '-'}`);

    await this.step('policies', async () => {
      const have = back.Policies ?? [];
      const missing = plan.policies.filter((want) => !have.some((h) => policyMatches(want, h)));
      if (missing.length) throw new Error(`HNS does not hold ${missing.map((p) => `${p.Type} ${JSON.stringify(p.Settings ?? {})}`).join('; ')} (it holds ${have.map((p) => p.Type).join(', ') || 'none'})`);
      return have;
    }, (have) => `${plan.policies.length} of ${plan.policies.length} as sent (${have.length} held)`);

    await this.step('detach', async () => {
      await client.removeNamespaceEndpoint(ns.ID!, ep.ID!);
      this.made.attached = false;
    }, () => `endpoint removed from namespace`);

    await this.step('delete-endpoint', async () => {
      await client.deleteEndpoint(ep.ID!);
      this.made.endpoint = undefined;
    }, () => `deleted ${ep.ID}`);

    await this.step('delete-namespace', async () => {
      await client.deleteNamespace(ns.ID!);
      this.made.namespace = undefined;
    }, () => `deleted ${ns.ID}`);

    await this.step('release-address', async () => {
      await this.made.claim!.del();
      this.made.claim = undefined;
      dropIfEmpty(this.made.madeStore);
      dropIfEmpty(this.made.madeRoot);
    }, () => `released ${address}`);
  }

  /** The highest free, unreserved address of the subnet, claimed in the built-in IPAM's store (see the header). */
  private async claimAddress(subnet: { prefix: Cidr; gateway?: string; hops: string[] }): Promise<string> {
    const store = path.join(this.ctx.ipamRoot, this.name);
    if (!fs.existsSync(store)) this.made.madeStore = store;
    if (!fs.existsSync(this.ctx.ipamRoot)) this.made.madeRoot = this.ctx.ipamRoot;
    const held = new Set<string>();
    for (const e of await this.ctx.client.listEndpointsOfNetwork(this.net.ID!)) for (const c of e.IpConfigurations ?? []) if (c.IpAddress) held.add(c.IpAddress);
    const reserved = [...subnet.hops];
    const base = networkAddress(subnet.prefix).value;
    let value = lastAddress(subnet.prefix).value - (subnet.prefix.ip.family === 4 ? 1n : 0n);
    const floor = base + 3n;
    let last: Error | undefined;
    for (let tries = 0; value >= floor && tries < MAX_ADDRESS_TRIES; value--) {
      const text = formatIp({ family: subnet.prefix.ip.family, value });
      if (held.has(text) || reserved.includes(text)) continue;
      tries++;
      const claim = ipamFor(this.ctx, this.name, this.run, [text], formatCidr(subnet.prefix), reserved);
      try {
        await claim.add();
        this.made.claim = claim;
        this.made.address = text;
        return text;
      } catch (err) {
        last = err as Error;
      }
    }
    throw new Error(`no free address to claim at the top of ${formatCidr(subnet.prefix)}${last ? ` (last: ${last.message})` : ''}`);
  }

  /** What the mode's plugin would send for a pod at `address` (shared/policy/derive.ts), with what the node tells. */
  private plan(subnet: { prefix: Cidr; gateway?: string }, address: string, node: string | undefined) {
    const overlay = this.net.Type === 'Overlay';
    const pod: Cidr = { ip: parseIp(address)!, prefix: subnet.prefix.prefix };
    // L2Bridge pods use the host's bridge endpoint (.2); Overlay pods the distributed router (the subnet's gateway).
    const gateway = overlay ? subnet.gateway! : bridgeGateway(subnet.prefix);
    const conf = { name: this.name, type: overlay ? 'win-overlay' : 'win-l2bridge', clusterCIDR: formatCidr(subnet.prefix), ...(node ? { nodeIP: node } : {}) } as NetConf;
    const policies = endpointPolicies({
      conf, podAddresses: [pod], modeExceptions: [], nodeIpRoute: !overlay && node !== undefined, localRoutedVip: !overlay,
      providerAddress: overlay ? overlayServiceFields(this.net).providerAddress : undefined, loopbackDsr: false, portMappings: [], raw: [],
    });
    const doc: HostComputeEndpoint = {
      SchemaVersion: { Major: 2, Minor: 0 },
      Name: `${this.run}.n${this.index}`,
      Owner: SELFTEST_OWNER,
      HostComputeNetwork: this.net.ID,
      IpConfigurations: [{ IpAddress: address, PrefixLength: subnet.prefix.prefix }],
      Routes: [{ NextHop: gateway, DestinationPrefix: pod.ip.family === 4 ? '0.0.0.0/0' : '::/0' }],
      Policies: policies,
    };
    return { doc, gateway, policies: policies as EndpointPolicy[] };
  }

  /** Undoes, in reverse, what the forward steps left (a failure or a signal stopped them). */
  private async rollback(): Promise<void> {
    const { client } = this.ctx;
    const m = this.made;
    if (m.attached && m.namespace && m.endpoint) {
      const [ns, ep] = [m.namespace, m.endpoint];
      await this.undo('attach', () => client.removeNamespaceEndpoint(ns, ep).catch((err) => { if (!isNotFound(err)) throw err; }));
    }
    if (m.endpoint) {
      const ep = m.endpoint;
      await this.undo('create-endpoint', () => client.deleteEndpoint(ep).catch((err) => { if (!isNotFound(err)) throw err; }));
    }
    if (m.namespace) {
      const ns = m.namespace;
      await this.undo('create-namespace', () => client.deleteNamespace(ns).catch((err) => { if (!isNotFound(err)) throw err; }));
    }
    if (m.claim) {
      const claim = m.claim;
      await this.undo('claim-address', async () => {
        await claim.del();
        dropIfEmpty(m.madeStore);
        dropIfEmpty(m.madeRoot);
      });
    }
  }

  /** Nothing of this run is left on the network: no endpoint or namespace by its names, no claim in the store. */
  private async verifyGone(): Promise<void> {
    const t0 = Date.now();
    try {
      const { client } = this.ctx;
      const left: string[] = [];
      const eps = await client.listEndpoints({ Name: `${this.run}.n${this.index}` });
      left.push(...eps.map((e) => `endpoint ${e.ID}`));
      const nss = (await client.listNamespaces({ Name: `${this.run}.n${this.index}` })).filter((n) => n.Owner === SELFTEST_OWNER);
      left.push(...nss.map((n) => `namespace ${n.ID}`));
      const dir = path.join(this.ctx.ipamRoot, this.name);
      const key = `.builtin.${ownerKey(this.run, IF_NAME)}`;
      if (fs.existsSync(dir) && fs.readdirSync(dir).some((n) => n.endsWith(key))) left.push(`address claim in ${dir}`);
      if (left.length) throw new Error(`left behind: ${left.join(', ')}`);
      this.steps.push({ step: 'verify-gone', ok: true, detail: 'nothing of the test is left', ms: Date.now() - t0 });
    } catch (err) {
      this.failed = true;
      this.steps.push({ step: 'verify-gone', ok: false, detail: (err as Error).message, ms: Date.now() - t0 });
    }
  }
}

/** Removes a folder if it is empty (a store folder the selftest made); anything in it keeps it. */
function dropIfEmpty(dir: string | undefined): void {
  if (!dir) return;
  try {
    fs.rmdirSync(dir);
  } catch {
    /* not empty, or gone */
  }
}

function formatCidr(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

function sameId(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

// --- the command -------------------------------------------------------------------------

/** Runs the selftest (or only the clean-up); returns the report. Throws SelftestUsageError on a bad command line. */
export async function selftest(client: HnsClient, words: string[], opts: SelftestOptions = {}): Promise<SelftestReport> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const args = parse(words, platform);
  const ctx: Context = { client, env, platform, ipamRoot: args.ipamDir ?? path.join(stateDir(env, platform), 'ipam') };
  const host = hostVersions(env, platform);
  const report: SelftestReport = { ok: false, osBuild: host.osBuild, cleaned: [], networks: [] };
  let signal: string | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    signal ??= s;
  };
  // Ctrl+C, a stop, a closed terminal; on Windows also Ctrl+Break and a closed console window (SIGHUP).
  const signals: NodeJS.Signals[] = opts.noSignals ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP', ...(platform === 'win32' ? ['SIGBREAK' as const] : [])];
  for (const s of signals) process.on(s, onSignal);
  try {
    const v = await client.serviceVersion();
    report.hnsVersion = versionText(v);
    rememberHnsVersion(host, v);
    report.cleaned = await cleanLeftovers(ctx);
    if (args.clean) {
      report.ok = true;
      return report;
    }
    const all = await client.listNetworks();
    const chosen = args.networks.length ? args.networks.map((n) => all.find((x) => x.Name === n || sameId(x.ID, n)) ?? n) : all.filter((n) => OUR_TYPES.has(String(n.Type)));
    if (chosen.length === 0) {
      report.error = 'no L2Bridge or Overlay network on this host: nothing of ours to test';
      return report;
    }
    const run = runId();
    for (const [i, net] of chosen.entries()) {
      if (typeof net === 'string') {
        report.networks.push({ network: net, type: '-', ok: false, steps: [{ step: 'network', ok: false, detail: `no network named ${net}`, ms: 0 }] });
        continue;
      }
      if (!OUR_TYPES.has(String(net.Type))) {
        report.networks.push({ network: net.Name ?? net.ID!, type: String(net.Type ?? 'NAT'), ok: false, steps: [{ step: 'network', ok: false, detail: `a ${String(net.Type ?? 'NAT')} network is none of ours (the suite's modes run on L2Bridge and Overlay)`, ms: 0 }] });
        continue;
      }
      if (signal) break;
      report.networks.push(await new NetworkTest(ctx, net, run, i, () => signal).run_());
    }
    if (signal) report.interrupted = signal;
    report.ok = !signal && report.networks.length === chosen.length && report.networks.every((n) => n.ok);
    return report;
  } catch (err) {
    report.error = (err as Error).message;
    return report;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

export function reportText(r: SelftestReport): string {
  const rows: string[][] = [];
  for (const n of r.networks) for (const s of n.steps) rows.push([n.network, cell(n.type), s.step, s.ok ? 'pass' : 'FAIL', `${s.ms}`, cell(s.detail)]);
  let out = `OS build ${r.osBuild}, HNS ${r.hnsVersion ?? 'unknown'}\n`;
  if (r.cleaned.length) out += `removed leftovers of earlier selftests: ${r.cleaned.join('; ')}\n`;
  if (rows.length) out += table(['NETWORK', 'TYPE', 'STEP', 'RESULT', 'MS', 'DETAIL'], rows);
  if (r.error) out += `FAIL: ${r.error}\n`;
  if (r.interrupted) out += `FAIL: interrupted by ${r.interrupted}; what was made is undone\n`;
  const failed = r.networks.filter((n) => !n.ok).map((n) => n.network);
  if (r.networks.length) out += r.ok ? `selftest passed on ${r.networks.map((n) => n.network).join(', ')}\n` : `selftest FAILED${failed.length ? ` on ${failed.join(', ')}` : ''}\n`;
  else if (!r.error) out += r.ok ? `clean: ${r.cleaned.length} leftover(s) removed\n` : '';
  return out;
}

/** `hnsctl selftest`: prints the table (or the report as JSON); fails (exit 1) unless every step passed. */
export async function selftestCommand(client: HnsClient, words: string[], asJson: boolean, out: (t: string) => void): Promise<void> {
  const r = await selftest(client, words);
  out(asJson ? `${JSON.stringify(r, null, 2)}\n` : reportText(r));
  if (!r.ok) throw new SelftestFailed(r.error ?? (r.interrupted ? `interrupted by ${r.interrupted}` : `failed on ${r.networks.filter((n) => !n.ok).map((n) => n.network).join(', ')}`));
}

export class SelftestFailed extends Error {
  constructor(message: string) {
    super(`selftest: ${message}`);
    this.name = 'SelftestFailed';
  }
}
