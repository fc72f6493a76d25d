// `hnsctl apply <file>`: create the HCN objects a JSON file describes (format in README.md).
// Idempotent: an object that already exists (same name; same ID for namespaces that have one) is
// left as it is, so the same file can be applied on every node start.

import type { HnsClient } from '../../shared/hns/client';
import { SCHEMA_V2 } from '../../shared/hns/model/common';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';
import type { HostComputeNamespace } from '../../shared/hns/model/namespace';
import type { HostComputeNetwork } from '../../shared/hns/model/network';

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

/** Checks the file's shape (the documents themselves are checked by the service). */
export function parseApplyFile(text: string): ApplyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ApplyError(`not valid JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ApplyError('the file must hold a JSON object');
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
