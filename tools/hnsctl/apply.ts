// `hnsctl apply <file>`: create the HCN objects a JSON file describes (format in README.md).
// Idempotent: an object that already exists (same name; same ID for namespaces that have one) is
// left as it is, so the same file can be applied on every node start.
//
// Besides hnsctl's own format, the file may be what operators copy from a working node or from
// Microsoft's docs: one HCN network document, or an array of them, in the v2 shape
// (`Get-HnsNetwork | ConvertTo-Json -Depth 10` with hns.v2.psm1) or the v1 shape (hns.psm1:
// `Subnets: [{AddressPrefix, GatewayAddress}]`). What the service fills in (IDs, Version, State,
// Health, and the ProviderAddress / DrMacAddress policies of that other node) is left out.

import type { HnsClient } from '../../shared/hns/client';
import { SCHEMA_V2 } from '../../shared/hns/model/common';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';
import type { HostComputeNamespace } from '../../shared/hns/model/namespace';
import { type HostComputeNetwork, NETWORK_MODES } from '../../shared/hns/model/network';

export interface ApplyFile {
  networks?: HostComputeNetwork[];
  namespaces?: HostComputeNamespace[];
  endpoints?: EndpointEntry[];
  hostEndpoints?: EndpointEntry[];
}

/** An endpoint document plus where it goes (lower-case keys never clash with HCN's PascalCase ones). */
export type EndpointEntry = HostComputeEndpoint & { network: string; namespace?: string };

const SECTIONS = ['networks', 'namespaces', 'endpoints', 'hostEndpoints'] as const;
const GUID = /^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$/;

export class ApplyError extends Error {}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** ConvertTo-Json without -Depth writes nested objects as their type name or `@{...}`. */
function checkDepth(v: unknown, where: string): void {
  if (typeof v === 'string' && (/^@\{.*\}$/.test(v) || /^System\.(Collections|Object)/.test(v))) {
    throw new ApplyError(`${where} is "${v.slice(0, 40)}": the document was cut off by ConvertTo-Json's default depth; export it with ConvertTo-Json -Depth 10`);
  }
  if (Array.isArray(v)) v.forEach((x, i) => checkDepth(x, `${where}[${i}]`));
  else if (isObj(v)) for (const [k, x] of Object.entries(v)) checkDepth(x, `${where}.${k}`);
}

/** Filled by the service; an exported document carries the other node's. */
const SERVICE_KEYS = ['ID', 'Id', 'Version', 'State', 'Health', 'Resources'];
const SERVICE_POLICIES = new Set(['provideraddress', 'drmacaddress']);

function dropServicePolicies(policies: unknown): unknown[] | undefined {
  if (!Array.isArray(policies)) return undefined;
  return policies.filter((p) => !(isObj(p) && typeof p.Type === 'string' && SERVICE_POLICIES.has(p.Type.toLowerCase())));
}

/** A v2 network as exported: without what the service filled in. */
function fromV2(doc: Json): HostComputeNetwork {
  const out: Json = {};
  for (const [k, v] of Object.entries(doc)) if (!SERVICE_KEYS.includes(k)) out[k] = v;
  const policies = dropServicePolicies(doc.Policies);
  if (policies) out.Policies = policies;
  if (Array.isArray(doc.Ipams)) {
    out.Ipams = doc.Ipams.map((ipam) => (isObj(ipam) && Array.isArray(ipam.Subnets) ? { ...ipam, Subnets: ipam.Subnets.map((s) => (isObj(s) ? Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'ID')) : s)) } : ipam));
  }
  return out as HostComputeNetwork;
}

/**
 * A v1 network (hns.psm1 Get-HnsNetwork, docs samples) as the v2 document HcnCreateNetwork takes:
 * Subnets[{AddressPrefix, GatewayAddress, Policies}] become one static Ipam, NetworkAdapterName a
 * NetAdapterName policy, the DNS strings Dns, MacPools the MacPool, flat v1 policies {Type, ...}
 * Settings. Output-only v1 fields (ManagementIP, DrMacAddress, LayeredOn, counters) are dropped.
 */
function fromV1(doc: Json, where: string): HostComputeNetwork {
  const type = typeof doc.Type === 'string' ? NETWORK_MODES.find((t) => t.toLowerCase() === (doc.Type as string).toLowerCase()) : undefined;
  if (doc.Type !== undefined && !type) throw new ApplyError(`${where}: unknown network Type ${JSON.stringify(doc.Type)}`);
  const net: HostComputeNetwork = { SchemaVersion: { Major: 2, Minor: 0 }, Name: doc.Name as string };
  if (type) net.Type = type as HostComputeNetwork['Type'];
  const flat = (p: unknown) => {
    if (!isObj(p)) return p;
    const { Type, Settings, ...rest } = p;
    return { Type, Settings: isObj(Settings) ? Settings : rest };
  };
  const subnets = Array.isArray(doc.Subnets) ? doc.Subnets : [];
  if (subnets.length) {
    net.Ipams = [{
      Type: 'Static',
      Subnets: subnets.map((s, i) => {
        if (!isObj(s) || typeof s.AddressPrefix !== 'string') throw new ApplyError(`${where}.Subnets[${i}] needs an AddressPrefix`);
        const sub: Json = { IpAddressPrefix: s.AddressPrefix };
        if (typeof s.GatewayAddress === 'string' && s.GatewayAddress) sub.Routes = [{ NextHop: s.GatewayAddress, DestinationPrefix: s.AddressPrefix.includes(':') ? '::/0' : '0.0.0.0/0' }];
        // v1 subnet policies are flat: {"Type": "VSID", "VSID": 4096}.
        if (Array.isArray(s.Policies) && s.Policies.length) {
          sub.Policies = s.Policies.map((p) => (isObj(p) && typeof p.Type === 'string' && p.Type.toUpperCase() === 'VSID' ? { Type: 'VSID', Settings: { IsolationId: p.VSID ?? (isObj(p.Settings) ? p.Settings.IsolationId : undefined) } } : flat(p)));
        }
        return sub;
      }),
    }] as HostComputeNetwork['Ipams'];
  }
  const policies: unknown[] = [];
  if (typeof doc.NetworkAdapterName === 'string' && doc.NetworkAdapterName) policies.push({ Type: 'NetAdapterName', Settings: { NetworkAdapterName: doc.NetworkAdapterName } });
  for (const p of dropServicePolicies(doc.Policies) ?? []) policies.push(flat(p));
  if (policies.length) net.Policies = policies as HostComputeNetwork['Policies'];
  const servers = typeof doc.DNSServerList === 'string' ? doc.DNSServerList.split(',').map((x) => x.trim()).filter(Boolean) : [];
  if (servers.length || doc.DNSSuffix) net.Dns = { ...(servers.length ? { ServerList: servers } : {}), ...(typeof doc.DNSSuffix === 'string' && doc.DNSSuffix ? { Domain: doc.DNSSuffix } : {}) };
  if (Array.isArray(doc.MacPools) && doc.MacPools.length) net.MacPool = { Ranges: doc.MacPools as { StartMacAddress: string; EndMacAddress: string }[] };
  if (typeof doc.Flags === 'number' && doc.Flags) net.Flags = doc.Flags;
  return net;
}

/** v1: no SchemaVersion 2 and no Ipams, or the v1 keys. */
function isV1Network(doc: Json): boolean {
  const major = isObj(doc.SchemaVersion) ? doc.SchemaVersion.Major : undefined;
  if (typeof major === 'number' && major >= 2) return false;
  return 'Subnets' in doc || 'NetworkAdapterName' in doc || 'DNSServerList' in doc || 'MacPools' in doc || !('Ipams' in doc);
}

/** One network document (v1 or v2 shape) or an array of them, as hnsctl's own format. */
function bareNetworks(doc: unknown): ApplyFile {
  const list = Array.isArray(doc) ? doc : [doc];
  return {
    networks: list.map((n, i) => {
      const where = Array.isArray(doc) ? `network [${i}]` : 'the network';
      if (!isObj(n)) throw new ApplyError(`${where} is not a JSON object`);
      checkDepth(n, where);
      if (typeof n.Name !== 'string' || !n.Name) throw new ApplyError(`${where} needs a Name`);
      return isV1Network(n) ? fromV1(n, where) : fromV2(n);
    }),
  };
}

/** Checks the file's shape (the documents themselves are checked by the service). */
export function parseApplyFile(text: string): ApplyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ApplyError(`not valid JSON: ${(err as Error).message}`);
  }
  // Windows PowerShell's ConvertTo-Json -InputObject of an array: {"value": [...], "Count": n}.
  if (isObj(doc) && Array.isArray(doc.value) && typeof doc.Count === 'number' && Object.keys(doc).length === 2) doc = doc.value;
  if (Array.isArray(doc)) return bareNetworks(doc);
  if (!doc || typeof doc !== 'object') throw new ApplyError('the file must hold a JSON object (hnsctl\'s format, or an HCN network document) or an array of network documents');
  if (Object.keys(doc).length > 0 && !Object.keys(doc).some((k) => (SECTIONS as readonly string[]).includes(k))) return bareNetworks(doc);
  for (const [key, value] of Object.entries(doc)) {
    if (!(SECTIONS as readonly string[]).includes(key)) throw new ApplyError(`unknown key "${key}"; known: ${SECTIONS.join(', ')}`);
    if (!Array.isArray(value) || value.some((v) => !v || typeof v !== 'object' || Array.isArray(v))) throw new ApplyError(`"${key}" must be an array of objects`);
  }
  const file = doc as ApplyFile;
  file.networks?.forEach((n, i) => {
    if (!n.Name) throw new ApplyError(`networks[${i}] needs a Name`);
  });
  file.namespaces?.forEach((ns, i) => {
    if (!ns.ID && !ns.Name && ns.Type !== 'HostDefault' && ns.Type !== 1) throw new ApplyError(`namespaces[${i}] needs an ID, a Name or Type HostDefault, so that apply can tell whether it exists`);
  });
  for (const section of ['endpoints', 'hostEndpoints'] as const) {
    file[section]?.forEach((e, i) => {
      if (!e.Name) throw new ApplyError(`${section}[${i}] needs a Name`);
      if (typeof e.network !== 'string' || !e.network) throw new ApplyError(`${section}[${i}] needs "network" (the network's name)`);
    });
  }
  return file;
}

/** Runs `fn`; a failure names the object it was about. */
async function about<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new ApplyError(`${what}: ${(err as Error).message}`);
  }
}

async function applyNetwork(client: HnsClient, doc: HostComputeNetwork, say: (line: string) => void): Promise<void> {
  const [existing] = await about(`looking up network "${doc.Name}"`, () => client.listNetworks({ Name: doc.Name }));
  if (existing) return say(`unchanged network ${doc.Name} ${existing.ID}`);
  const net = await about(`creating network "${doc.Name}"`, () => client.createNetwork({ SchemaVersion: SCHEMA_V2, ...doc }));
  say(`created network ${net.Name} ${net.ID}`);
}

async function findNamespace(client: HnsClient, doc: HostComputeNamespace): Promise<HostComputeNamespace | undefined> {
  if (doc.ID) return (await client.listNamespaces({ ID: doc.ID }))[0];
  if (doc.Name) return (await client.listNamespaces({ Name: doc.Name }))[0];
  return (await client.listNamespaces({ IsDefault: true }))[0];
}

function namespaceLabel(doc: HostComputeNamespace): string {
  return doc.Name ?? doc.ID ?? 'HostDefault';
}

async function applyNamespace(client: HnsClient, doc: HostComputeNamespace, say: (line: string) => void): Promise<HostComputeNamespace> {
  const label = namespaceLabel(doc);
  const existing = await about(`looking up namespace ${label}`, () => findNamespace(client, doc));
  if (existing) {
    say(`unchanged namespace ${label} ${existing.ID}`);
    return existing;
  }
  const ns = await about(`creating namespace ${label}`, () => client.createNamespace({ SchemaVersion: SCHEMA_V2, ...doc }));
  say(`created namespace ${label} ${ns.ID}`);
  return ns;
}

/** A namespace named by ID (a GUID) or by Name. */
async function resolveNamespace(client: HnsClient, ref: string): Promise<HostComputeNamespace> {
  const found = await client.listNamespaces(GUID.test(ref) ? { ID: ref } : { Name: ref });
  if (!found[0]) throw new Error(`no namespace with ${GUID.test(ref) ? 'ID' : 'name'} ${ref}`);
  return found[0];
}

async function applyEndpoint(client: HnsClient, entry: EndpointEntry, namespace: () => Promise<HostComputeNamespace | undefined>, say: (line: string) => void): Promise<void> {
  const { network, namespace: _ns, ...doc } = entry;
  const what = `endpoint "${doc.Name}" on network "${network}"`;
  const net = await about(what, () => client.getNetworkByName(network));
  let [ep] = await about(what, () => client.listEndpoints({ Name: doc.Name, VirtualNetwork: net.ID }));
  if (ep) say(`unchanged endpoint ${doc.Name} ${ep.ID}`);
  else {
    ep = await about(`creating ${what}`, () => client.createEndpoint(net.ID!, { SchemaVersion: SCHEMA_V2, ...doc, HostComputeNetwork: net.ID }));
    say(`created endpoint ${doc.Name} ${ep.ID} ${ep.IpConfigurations?.map((c) => c.IpAddress).join(',') ?? ''}`.trimEnd());
  }
  const ns = await about(`finding the namespace of ${what}`, namespace);
  // An earlier run may have stopped between creating and attaching: attach what is still loose.
  if (ns && !ep.HostComputeNamespace) {
    await about(`adding ${what} to namespace ${ns.ID}`, () => client.addNamespaceEndpoint(ns.ID!, ep.ID!));
    say(`attached endpoint ${doc.Name} to namespace ${ns.ID}`);
  }
}

/** The HostDefault namespace, made once if the host has none. */
function hostDefault(client: HnsClient, say: (line: string) => void): () => Promise<HostComputeNamespace> {
  let ns: Promise<HostComputeNamespace> | undefined;
  return () => (ns ??= applyNamespace(client, { Type: 'HostDefault' }, say));
}

export async function apply(client: HnsClient, file: ApplyFile, say: (line: string) => void): Promise<void> {
  for (const n of file.networks ?? []) await applyNetwork(client, n, say);
  for (const ns of file.namespaces ?? []) await applyNamespace(client, ns, say);
  for (const e of file.endpoints ?? []) {
    const ref = e.namespace;
    await applyEndpoint(client, e, async () => (ref ? resolveNamespace(client, ref) : undefined), say);
  }
  const host = hostDefault(client, say);
  for (const e of file.hostEndpoints ?? []) await applyEndpoint(client, e, host, say);
}
