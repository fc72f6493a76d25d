// hnsctl's commands. Each works through HnsClient on whatever HcnApi it is given (the real
// service on Windows, the emulator elsewhere, an injected one in tests) and writes through the
// given sinks, so the whole tool runs in-process under test.

import type { HcnApi } from '../../shared/hns/api';
import type { HostRoutes } from '../../shared/host/routes';
import { HnsClient } from '../../shared/hns/client';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';
import type { HostComputeNamespace } from '../../shared/hns/model/namespace';
import type { HostComputeNetwork } from '../../shared/hns/model/network';
import { containerIdOf } from '../../shared/pod/identity';
import { containersOf } from '../../shared/pod/check';
import { apply, ApplyError, parseApplyFile } from './apply';
import { cell, table } from './table';
import { type NetworkConf, parseConfFile, parseValidList, type RunDel, sweepCommand } from './sweep';
import { validateCommand, ValidateUsageError } from './validate';

export interface CliIo {
  /** Opened only by commands that talk to HNS (not by `help`). */
  openApi(): Promise<HcnApi>;
  /** The host's IP stack (routes, interfaces): iphlpapi on Windows, the emulator's host elsewhere. */
  openHost?(): Promise<HostRoutes>;
  out(text: string): void;
  err(text: string): void;
  readFile(file: string): string;
  /** Where the plugins keep per-pod records (CNI_STATE_DIR or the default): sweep removes them. */
  stateDir?: string;
  /** Runs one of the suite's plugins for a DEL (sweep --conf), and the plugin types it knows. */
  runDel?: RunDel;
  pluginTypes?: ReadonlySet<string>;
}

export const USAGE = `usage: hnsctl <command>

  list networks|endpoints|namespaces [--json]   the HNS objects on this host
  list routes|interfaces [--json]               the host's route table (DestinationPrefix, NextHop) and interfaces
  pods [--json]                                 pod endpoints (<containerID>_<network>) and whether they are orphaned
  sweep [--delete] [--valid <file>] [--conf <conflist>]... [--json]
                                                pod endpoints of ours (Owner cni-suite) whose pod is gone (namespace
                                                gone, or not in the valid list); --delete removes them, by the
                                                plugin's DEL (address released) for a network --conf names
  apply <file>                                  create the networks, namespaces and endpoints a JSON file describes
  namespace create                              create a namespace (as containerd does per pod); prints its ID
  namespace delete <id>                         delete a namespace
  delete network|endpoint <id-or-name>          delete a network (and its endpoints) or an endpoint
  version [--json]                              the HNS version and the features it implies
  validate <conflist> [--json] [--cluster-cidr <p>]... [--service-cidr <p>]...
                                                check a conflist or conf against this node: network, gateway, HNS features, SNAT
  selftest [<network>...] [--clean] [--json]    a throw-away pod on each L2Bridge/Overlay network, step by step (selftest.ts)
  help                                          this text

The HNS emulator only (CNI_HNS_EMULATOR_DIR):
  emulator profile [<name>]                     the Windows build emulated, or emulate another (config.json)
  emulator profiles                             the builds the emulator knows, with their HNS and schema versions
  emulator show                                 the emulator's configuration in force (JSON)
  emulator set <knob> <value>                   change one knob of config.json (emulator show lists them)
  emulator restart-hns                          Restart-Service hns: every endpoint is gone, networks stay
  emulator reboot                               Restart-Computer: endpoints, namespaces, NAT and non-persistent networks go
  emulator service stop|start                   stop the service (every call fails with RPC_S_SERVER_UNAVAILABLE), start it
  emulator dataplane sync|down                  Linux data plane (emulator set dataplane netns, root): converge every namespace now, or remove them
  emulator dataplane netns [<namespace id>]     the network namespace that is this host, or that stands for an HNS namespace
  emulator container add|remove <ns> <id>       what HCS does when a container starts or stops in a pod's namespace

Backend: the HCN service on Windows, the emulator elsewhere; CNI_HNS_BACKEND=hcn|emulator overrides,
CNI_HNS_EMULATOR_DIR points at the emulator's state, CNI_HNS_EMULATOR_PROFILE picks its Windows build.
`;

class UsageError extends Error {}

const GUID = /^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$/;

interface Args {
  words: string[];
  json: boolean;
  delete: boolean;
  valid?: string;
  confs: string[];
}

function parseArgs(argv: string[]): Args {
  // validate reads its own options (validate.ts).
  if (argv[0] === 'validate') return { words: [...argv], json: false, delete: false, confs: [] };
  const args: Args = { words: [], json: false, delete: false, confs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--delete') args.delete = true;
    else if (a === '--valid') {
      if (argv[i + 1] === undefined) throw new UsageError('--valid needs a file');
      args.valid = argv[++i];
    }
    else if (a === '--conf') {
      if (argv[i + 1] === undefined) throw new UsageError('--conf needs a file');
      args.confs.push(argv[++i]!);
    }
    else if (a === '-h' || a === '--help') args.words.unshift('help');
    else if (args.words[0] === 'selftest' && a.startsWith('--')) args.words.push(a); // its own options (selftest.ts)
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else args.words.push(a);
  }
  return args;
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/** Fails with a message naming what was being done. */
async function doing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

// --- list ------------------------------------------------------------------------------------

function subnetsText(net: HostComputeNetwork): string {
  return (net.Ipams ?? []).flatMap((i) => i.Subnets ?? []).map((s) => s.IpAddressPrefix).filter(Boolean).join(',');
}

function ipsOf(ep: HostComputeEndpoint): string {
  return (ep.IpConfigurations ?? []).map((c) => c.IpAddress).filter(Boolean).join(',');
}

function networkNames(nets: HostComputeNetwork[]): Map<string, string> {
  return new Map(nets.map((n) => [n.ID!.toUpperCase(), n.Name ?? '']));
}

export async function listCommand(client: HnsClient, kind: string, asJson: boolean, out: (t: string) => void): Promise<void> {
  if (kind === 'networks') {
    const nets = await doing('listing networks', () => client.listNetworks());
    if (asJson) return out(json(nets));
    return out(table(['ID', 'NAME', 'TYPE', 'SUBNETS', 'FLAGS'], nets.map((n) => [n.ID!, cell(n.Name), cell((n.Type as string) ?? 'NAT'), cell(subnetsText(n)), cell(n.Flags)])));
  }
  if (kind === 'endpoints') {
    const eps = await doing('listing endpoints', () => client.listEndpoints());
    if (asJson) return out(json(eps));
    const names = networkNames(await doing('listing networks', () => client.listNetworks()));
    const rows = eps.map((e) => [e.ID!, cell(e.Name), cell(names.get(e.HostComputeNetwork?.toUpperCase() ?? '')), cell(ipsOf(e)), cell(e.MacAddress), cell(e.HostComputeNamespace), (e.Flags ?? 0) & 1 ? 'remote' : 'local']);
    return out(table(['ID', 'NAME', 'NETWORK', 'IP', 'MAC', 'NAMESPACE', 'KIND'], rows));
  }
  if (kind === 'namespaces') {
    const all = await doing('listing namespaces', () => client.listNamespaces());
    if (asJson) return out(json(all));
    const count = (ns: HostComputeNamespace, type: string) => String((ns.Resources ?? []).filter((r) => r.Type === type).length);
    return out(table(['ID', 'TYPE', 'COMPARTMENT', 'ENDPOINTS', 'CONTAINERS'], all.map((ns) => [ns.ID!, cell((ns.Type as string) ?? 'Host'), cell(ns.NamespaceId), count(ns, 'Endpoint'), count(ns, 'Container')])));
  }
  throw new UsageError(`list what? networks, endpoints, namespaces, routes or interfaces (got ${kind ?? 'nothing'})`);
}

// --- the host's routes and interfaces --------------------------------------------------------

/** `list routes` / `list interfaces`: the IP stack beside HNS (the node agent's host-gw routes live there). */
export async function hostListCommand(host: HostRoutes, kind: 'routes' | 'interfaces', asJson: boolean, out: (t: string) => void): Promise<void> {
  // The interfaces only name the routes' interfaces: a stack that cannot list them (Wine's
  // GetIpInterfaceTable is a stub) still shows its routes.
  const ifaces = kind === 'interfaces' ? await doing('listing interfaces', () => host.listInterfaces()) : await host.listInterfaces().catch(() => []);
  if (kind === 'interfaces') {
    if (asJson) return out(json(ifaces.map((i) => ({ InterfaceIndex: i.index, InterfaceLuid: i.luid, InterfaceAlias: i.alias, Addresses: i.addresses.map((a) => `${a.address}/${a.prefixLength}`), Forwarding: { IPv4: i.forwarding.ipv4, IPv6: i.forwarding.ipv6 } }))));
    const fwd = (i: (typeof ifaces)[number]) => [i.forwarding.ipv4 ? 'IPv4' : '', i.forwarding.ipv6 ? 'IPv6' : ''].filter(Boolean).join(',') || '-';
    return out(table(['INDEX', 'ALIAS', 'ADDRESSES', 'FORWARDING'], ifaces.map((i) => [String(i.index), cell(i.alias), cell(i.addresses.map((a) => `${a.address}/${a.prefixLength}`).join(',')), fwd(i)])));
  }
  const routes = await doing('listing routes', () => host.listRoutes());
  const alias = new Map(ifaces.map((i) => [i.index, i.alias]));
  if (asJson) {
    return out(json(routes.map((r) => ({ DestinationPrefix: r.destinationPrefix, NextHop: r.nextHop, InterfaceIndex: r.interfaceIndex, InterfaceAlias: alias.get(r.interfaceIndex) ?? '', Metric: r.metric, Protocol: r.protocol }))));
  }
  out(table(['DESTINATION', 'NEXTHOP', 'IFINDEX', 'INTERFACE', 'METRIC', 'PROTOCOL'], routes.map((r) => [r.destinationPrefix, r.nextHop, String(r.interfaceIndex), cell(alias.get(r.interfaceIndex)), String(r.metric), r.protocol])));
}

// --- pods ------------------------------------------------------------------------------------

export interface PodEndpoint {
  containerId: string;
  network: string;
  endpointId: string;
  endpointName: string;
  ips: string[];
  namespace?: string;
  /** The containers HCS lists in the pod's namespace (none: not started, or a Hyper-V pod's UVM not listed). */
  containers: string[];
  orphaned: boolean;
  /** Why it is orphaned. */
  reason?: 'no namespace' | 'namespace gone';
}

/** Endpoints named `<containerID>_<network name>`, as the plugins name a pod's endpoint. */
export async function listPods(client: HnsClient): Promise<PodEndpoint[]> {
  const [nets, eps, namespaces] = await doing('listing HNS objects', () => Promise.all([client.listNetworks(), client.listEndpoints(), client.listNamespaces()]));
  const names = networkNames(nets);
  const live = new Map(namespaces.map((ns) => [ns.ID!.toUpperCase(), ns]));
  const pods: PodEndpoint[] = [];
  for (const ep of eps) {
    const network = names.get(ep.HostComputeNetwork?.toUpperCase() ?? '');
    const containerId = network === undefined ? undefined : containerIdOf(ep.Name, network);
    if (!containerId || network === undefined) continue;
    const ns = ep.HostComputeNamespace;
    const reason = !ns ? 'no namespace' : live.has(ns.toUpperCase()) ? undefined : 'namespace gone';
    const containers = containersOf(ns ? live.get(ns.toUpperCase())?.Resources : undefined);
    const pod: PodEndpoint = { containerId, network, endpointId: ep.ID!, endpointName: ep.Name!, ips: (ep.IpConfigurations ?? []).map((c) => c.IpAddress ?? '').filter(Boolean), containers, orphaned: reason !== undefined };
    if (ns) pod.namespace = ns;
    if (reason) pod.reason = reason;
    pods.push(pod);
  }
  return pods;
}

export async function podsCommand(client: HnsClient, asJson: boolean, out: (t: string) => void): Promise<void> {
  const pods = await listPods(client);
  if (asJson) return out(json(pods));
  const rows = pods.map((p) => [p.containerId, p.network, cell(p.ips.join(',')), cell(p.namespace), String(p.containers.length), p.endpointId, p.orphaned ? `orphaned (${p.reason})` : p.containers.length ? 'ok' : 'no container attached']);
  out(table(['CONTAINER', 'NETWORK', 'IP', 'NAMESPACE', 'ATTACHED', 'ENDPOINT', 'STATE'], rows));
}

// --- changes ---------------------------------------------------------------------------------

export async function applyCommand(client: HnsClient, file: string, text: string, out: (t: string) => void): Promise<void> {
  try {
    await apply(client, parseApplyFile(text), (line) => out(`${line}\n`));
  } catch (err) {
    if (err instanceof ApplyError) throw new Error(`apply ${file}: ${err.message}`);
    throw err;
  }
}

export async function namespaceCommand(client: HnsClient, words: string[], out: (t: string) => void): Promise<void> {
  const [verb, id] = words;
  if (verb === 'create' && words.length === 1) {
    const ns = await doing('creating a namespace', () => client.createNamespace());
    return out(`${ns.ID}\n`);
  }
  if (verb === 'delete' && id && words.length === 2) {
    await doing(`deleting namespace ${id}`, () => client.deleteNamespace(id));
    return out(`deleted namespace ${id}\n`);
  }
  throw new UsageError('namespace create | namespace delete <id>');
}

/** The one object an ID or a name stands for; a name shared by several is refused. */
async function resolve<T extends { ID?: string }>(kind: string, ref: string, list: (filter: Record<string, unknown>) => Promise<T[]>): Promise<T> {
  const found = await doing(`looking up ${kind} ${ref}`, () => list(GUID.test(ref) ? { ID: ref } : { Name: ref }));
  if (found.length === 0) throw new Error(`no ${kind} with ${GUID.test(ref) ? 'ID' : 'name'} ${ref}`);
  if (found.length > 1) throw new Error(`${found.length} ${kind}s are named ${ref} (${found.map((f) => f.ID).join(', ')}); delete one by ID`);
  return found[0]!;
}

export async function deleteCommand(client: HnsClient, words: string[], out: (t: string) => void): Promise<void> {
  const [kind, ref] = words;
  if (words.length !== 2 || !ref || (kind !== 'network' && kind !== 'endpoint')) throw new UsageError('delete network|endpoint <id-or-name>');
  if (kind === 'network') {
    const net = await resolve('network', ref, (f) => client.listNetworks(f));
    await doing(`deleting network ${net.Name ?? ''} ${net.ID}`, () => client.deleteNetwork(net.ID!));
    return out(`deleted network ${cell(net.Name)} ${net.ID}\n`);
  }
  const ep = await resolve('endpoint', ref, (f) => client.listEndpoints(f));
  await doing(`deleting endpoint ${ep.Name ?? ''} ${ep.ID}`, () => client.deleteEndpoint(ep.ID!));
  out(`deleted endpoint ${cell(ep.Name)} ${ep.ID}\n`);
}

/** The emulator's state directory when the API is the emulator. */
function emulatorDirOf(api: HcnApi): string | undefined {
  const dir = (api as { dir?: unknown }).dir;
  return api.backend === 'emulator' && typeof dir === 'string' ? dir : undefined;
}

export async function versionCommand(client: HnsClient, asJson: boolean, out: (t: string) => void): Promise<void> {
  const f = await doing('asking the HNS version', () => client.features());
  const on = Object.entries(f).filter(([k, v]) => k !== 'version' && v === true).map(([k]) => k);
  // The JSON is what the service says, the same on both backends (the Windows suite compares them).
  if (asJson) return out(json({ backend: client.api.backend, version: f.version, features: on }));
  const dir = emulatorDirOf(client.api);
  let profile = '-';
  let schema = '-';
  if (dir) {
    const { emulatorAdmin } = await import('../../shared/hns/backends/emulator/admin');
    const admin = emulatorAdmin(dir);
    const choice = admin.profile();
    const cfg = admin.config();
    profile = `${choice.profile.name} (${choice.source})`;
    schema = `${cfg.schemaVersion.Major}.${cfg.schemaVersion.Minor}`;
  }
  out(table(['BACKEND', 'PROFILE', 'HNS', 'SCHEMA', 'FEATURES'], [[client.api.backend, profile, `${f.version.Major}.${f.version.Minor}`, schema, on.join(',') || '-']]));
}

// --- emulator --------------------------------------------------------------------------------

export async function emulatorCommand(openApi: () => Promise<HcnApi>, words: string[], asJson: boolean, out: (t: string) => void): Promise<void> {
  const [verb, ...args] = words;
  const known = ['profile', 'profiles', 'show', 'set', 'restart-hns', 'reboot', 'service', 'dataplane', 'container'];
  if (!verb || !known.includes(verb)) throw new UsageError(`emulator ${known.join('|')}`);
  const { PROFILES } = await import('../../shared/hns/backends/emulator/profiles');
  if (verb === 'profiles') {
    if (asJson) return out(json(PROFILES));
    return out(table(['PROFILE', 'HNS', 'SCHEMA', 'WINDOWS', 'BUILD'], PROFILES.map((p) => [p.name, `${p.hnsVersion.Major}.${p.hnsVersion.Minor}`, `${p.schemaVersion.Major}.${p.schemaVersion.Minor}`, p.title, p.build])));
  }
  if (verb === 'set' && args.length !== 2) throw new UsageError('emulator set <knob> <value>');
  if (verb === 'service' && (args.length !== 1 || (args[0] !== 'stop' && args[0] !== 'start'))) throw new UsageError('emulator service stop|start');
  if (verb === 'container' && (args.length !== 3 || (args[0] !== 'add' && args[0] !== 'remove'))) throw new UsageError('emulator container add|remove <namespace id> <container id>');
  if (verb === 'dataplane') {
    const ok = args[0] === 'sync' || args[0] === 'down' ? args.length === 1 : args[0] === 'netns' && args.length <= 2;
    if (!ok) throw new UsageError('emulator dataplane sync|down|netns [<namespace id>]');
  }
  const api = await openApi();
  const dir = emulatorDirOf(api);
  if (!dir) throw new Error(`emulator ${verb}: this host talks to the real HNS service (backend ${api.backend}); emulator commands change only the HNS emulator (CNI_HNS_BACKEND=emulator)`);
  const { emulatorAdmin } = await import('../../shared/hns/backends/emulator/admin');
  const { parseKnob, KNOBS } = await import('../../shared/hns/backends/emulator/config');
  const admin = emulatorAdmin(dir);
  switch (verb) {
    case 'profile': {
      if (args.length > 1) throw new UsageError('emulator profile [<name>]');
      if (args[0]) {
        admin.setProfile(args[0]);
        const now = admin.profile();
        if (now.source === 'environment') out(`note: CNI_HNS_EMULATOR_PROFILE=${now.profile.name} overrides config.json in this environment\n`);
      }
      const { profile, source } = admin.profile();
      if (asJson) return out(json({ ...profile, source }));
      return out(`${profile.name}: ${profile.title}, HNS ${profile.hnsVersion.Major}.${profile.hnsVersion.Minor}, schema ${profile.schemaVersion.Major}.${profile.schemaVersion.Minor} (from ${source})\n`);
    }
    case 'show':
      if (args.length) throw new UsageError('emulator show');
      return out(json(admin.config()));
    case 'set': {
      if (args.length !== 2) throw new UsageError(`emulator set <knob> <value>; knobs: ${Object.keys(KNOBS).join(', ')}`);
      const [knob, text] = args as [string, string];
      let value: unknown;
      try {
        value = parseKnob(knob, text);
      } catch (err) {
        throw new UsageError(`emulator set: ${(err as Error).message}`);
      }
      if (knob === 'profile') admin.setProfile(value as string);
      else admin.updateConfig({ [knob]: value });
      return out(`${knob} = ${JSON.stringify(value)}\n`);
    }
    case 'restart-hns': {
      const dropped = await admin.restartHns();
      return out(`restarted the HNS service: ${dropped} endpoint(s) dropped\n`);
    }
    case 'reboot':
      await admin.reboot();
      return out('rebooted\n');
    case 'service': {
      if (args.length !== 1 || (args[0] !== 'stop' && args[0] !== 'start')) throw new UsageError('emulator service stop|start');
      if (args[0] === 'stop') admin.stopService();
      else admin.startService();
      return out(`service ${args[0] === 'stop' ? 'stopped: every call fails with RPC_S_SERVER_UNAVAILABLE (0x800706BA)' : 'started'}\n`);
    }
    case 'dataplane':
      return dataplaneCommand(admin, args, asJson, out);
    case 'container': {
      // What HCS does on a real host when it starts (or stops) a container in the pod's namespace.
      const [op, ns, id] = args as ['add' | 'remove', string, string];
      await new HnsClient(api).modifyNamespace(ns, { ResourceType: 'Container', RequestType: op === 'add' ? 'Add' : 'Remove', Settings: { ContainerId: id } });
      return out(`container ${id} ${op === 'add' ? 'added to' : 'removed from'} namespace ${ns}\n`);
    }
  }
}

/** The emulator's Linux data plane (config `dataplane: netns`): converge now, take it down, or name a namespace. */
async function dataplaneCommand(admin: import('../../shared/hns/backends/emulator/admin').EmulatorAdmin, args: string[], asJson: boolean, out: (t: string) => void): Promise<void> {
  if (args[0] === 'netns') return out(`${admin.dataplaneNetns(args[1])}\n`);
  if (args[0] === 'down') {
    const errors = await admin.dataplaneDown();
    if (errors.length) throw new Error(`emulator dataplane down: ${errors.join('; ')}`);
    return out(`the data plane of ${admin.dataplaneNetns()} is down\n`);
  }
  const report = await admin.dataplaneSync();
  if (asJson) out(json(report));
  else out(`converged: ${report.converged.join(', ') || 'nothing'}\n`);
  if (!report.ok) throw new Error(`emulator dataplane sync: ${report.errors.join('; ')}`);
}

// --- entry -----------------------------------------------------------------------------------

async function dispatch(args: Args, io: CliIo, client: () => Promise<HnsClient>): Promise<void> {
  const [cmd, ...rest] = args.words;
  switch (cmd) {
    case 'list':
      if (rest.length !== 1) throw new UsageError('list networks|endpoints|namespaces|routes|interfaces [--json]');
      if (rest[0] === 'routes' || rest[0] === 'interfaces') {
        if (!io.openHost) throw new Error('this hnsctl cannot reach the host\'s IP stack');
        const host = await io.openHost();
        try {
          return await hostListCommand(host, rest[0], args.json, io.out);
        } finally {
          await host.dispose().catch(() => undefined);
        }
      }
      return listCommand(await client(), rest[0]!, args.json, io.out);
    case 'pods':
      return podsCommand(await client(), args.json, io.out);
    case 'sweep': {
      if (rest.length) throw new UsageError('sweep [--delete] [--valid <file>] [--conf <conflist>]... [--json]');
      const valid = args.valid === undefined ? undefined : parseValidList(readOrFail(io, args.valid, 'sweep'), args.valid);
      const confs = new Map<string, NetworkConf>();
      for (const f of args.confs) for (const [name, c] of parseConfFile(readOrFail(io, f, 'sweep'), f, io.pluginTypes ?? new Set())) confs.set(name, c);
      return sweepCommand(await client(), { delete: args.delete, valid, stateDir: io.stateDir, confs, runDel: io.runDel }, args.json, io.out);
    }
    case 'apply': {
      if (rest.length !== 1) throw new UsageError('apply <file>');
      return applyCommand(await client(), rest[0]!, readOrFail(io, rest[0]!, 'apply'), io.out);
    }
    case 'namespace':
      return namespaceCommand(await client(), rest, io.out);
    case 'delete':
      return deleteCommand(await client(), rest, io.out);
    case 'version':
      return versionCommand(await client(), args.json, io.out);
    case 'selftest': {
      const { selftestCommand, SelftestUsageError } = await import('./selftest');
      return selftestCommand(await client(), rest, args.json, io.out).catch((err: unknown) => {
        throw err instanceof SelftestUsageError ? new UsageError(err.message) : err;
      });
    }
    case 'emulator':
      return emulatorCommand(async () => (await client()).api, rest, args.json, io.out);
    case 'validate':
      return validateCommand(rest, { out: io.out, readFile: io.readFile, client, openHost: io.openHost, platform: process.platform }).catch((err: unknown) => {
        throw err instanceof ValidateUsageError ? new UsageError(err.message) : err;
      });
    case 'help':
      return io.out(USAGE);
    default:
      throw new UsageError(cmd ? `unknown command ${cmd}` : 'no command given');
  }
}

function readOrFail(io: CliIo, file: string, cmd: string): string {
  try {
    return io.readFile(file);
  } catch (err) {
    throw new Error(`${cmd}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Runs one hnsctl command line; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let api: HcnApi | undefined;
  const client = async () => new HnsClient((api ??= await io.openApi()));
  try {
    await dispatch(parseArgs(argv), io, client);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`hnsctl: ${err.message}\n${USAGE}`);
      return 2;
    }
    io.err(`hnsctl: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  } finally {
    await api?.dispose().catch(() => undefined);
  }
}
