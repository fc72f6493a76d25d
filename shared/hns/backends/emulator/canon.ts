// Policy spellings as the service takes them: a policy's `Type`/`Settings` keys, its type name,
// and the keys inside `Settings` are matched without regard to case, and stored (so answered) in
// the schema's spelling.
//
// Evidence: Calico passes its configured type verbatim and its installer writes "SDNROUTE" for
// containerd nodes (calico windows_policy.go convertToHcnEndpointPolicy, Build-CNIConfigSubstitutions;
// rke2 templates); the first wcn sdnbridge test sent "SdnRoute" and matched the returned types with
// strings.ToUpper (wcn 7af761b); published confs send lower-case keys that Go decodes
// case-insensitively (research fidelity.md §13.1). Storing and answering the canonical spelling
// is INFERRED (the wcn test suggests the returned Type differed in case from what it sent).
//
// Everything else in a document keeps the exact, case-sensitive matching of the schemas.

import policySchema from '../../model/policy.schema.json';
import commonSchema from '../../model/common.schema.json';
import { extraSettingsKeys } from './settings';

type Json = Record<string, unknown>;
export type PolicyFamily = 'endpoint' | 'network' | 'subnet';

interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  allOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  enum?: unknown[];
  if?: { properties?: { Type?: { const?: string } } };
  then?: { properties?: { Settings?: SchemaNode } };
}

const SCHEMAS: Record<string, { $defs?: Record<string, SchemaNode> }> = {
  'hcn-policy': policySchema as never,
  'hcn-common': commonSchema as never,
};

interface Resolved {
  node: SchemaNode;
  base: string;
}

function resolve(node: SchemaNode, base: string): Resolved {
  let cur: Resolved = { node, base };
  for (let hops = 0; cur.node.$ref && hops < 16; hops++) {
    const [file, pointer = ''] = cur.node.$ref.split('#');
    const root = file ? file : cur.base;
    const name = pointer.replace(/^\/\$defs\//, '');
    const next = SCHEMAS[root]?.$defs?.[name];
    if (!next) break;
    cur = { node: next, base: root };
  }
  return cur;
}

/** Every schema that applies to a value at this node (through $ref, allOf, anyOf, oneOf). */
function branches(node: SchemaNode, base: string, out: Resolved[] = []): Resolved[] {
  const r = resolve(node, base);
  out.push(r);
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) for (const s of r.node[k] ?? []) branches(s, r.base, out);
  return out;
}

function lowerKeyMap(props: Map<string, Resolved>): Map<string, string> {
  const m = new Map<string, string>();
  for (const k of props.keys()) m.set(k.toLowerCase(), k);
  return m;
}

/** Renames an object's keys to the schema's spelling, recursively; an exact key always wins. */
function canonicalKeys(value: unknown, node: SchemaNode, base: string): unknown {
  if (Array.isArray(value)) {
    const items = branches(node, base).map((b) => b.node.items && { node: b.node.items, base: b.base }).find(Boolean);
    return items ? value.map((v) => canonicalKeys(v, items.node, items.base)) : value;
  }
  if (!value || typeof value !== 'object') return value;
  const props = new Map<string, Resolved>();
  for (const b of branches(node, base)) for (const [k, s] of Object.entries(b.node.properties ?? {})) if (!props.has(k)) props.set(k, { node: s, base: b.base });
  if (props.size === 0) return value;
  const lower = lowerKeyMap(props);
  const out: Json = {};
  const given = value as Json;
  for (const [k, v] of Object.entries(given)) {
    const exact = props.has(k);
    const canonical = exact ? k : lower.get(k.toLowerCase());
    const key = canonical && (exact || !(canonical in given)) ? canonical : k;
    const child = props.get(key);
    out[key] = child ? canonicalKeys(v, child.node, child.base) : v;
  }
  return out;
}

interface FamilyInfo {
  /** Type names by lower-case name. */
  types: Map<string, string>;
  /** The Settings schema of a type, when the schema models it. */
  settings: Map<string, Resolved>;
}

let families: Record<PolicyFamily, FamilyInfo> | undefined;

function familyInfo(defName: string, typeDef: string): FamilyInfo {
  const defs = SCHEMAS['hcn-policy']!.$defs!;
  const types = new Map<string, string>();
  for (const t of (defs[typeDef]?.enum ?? []) as string[]) types.set(t.toLowerCase(), t);
  const settings = new Map<string, Resolved>();
  const def = defs[defName]!;
  for (const clause of def.allOf ?? []) {
    const type = clause.if?.properties?.Type?.const;
    const s = clause.then?.properties?.Settings;
    if (type && s) settings.set(type, { node: s, base: 'hcn-policy' });
  }
  // Subnet policies have one Settings shape for every type.
  const fixed = def.properties?.Settings;
  if (fixed?.$ref) for (const t of types.values()) if (!settings.has(t)) settings.set(t, { node: fixed, base: 'hcn-policy' });
  return { types, settings };
}

function info(family: PolicyFamily): FamilyInfo {
  families ??= {
    endpoint: familyInfo('endpointPolicy', 'endpointPolicyType'),
    network: familyInfo('networkPolicy', 'networkPolicyType'),
    subnet: familyInfo('subnetPolicy', 'subnetPolicyType'),
  };
  return families[family];
}

/** The type's canonical name, if the schema knows it in any case. */
export function canonicalPolicyType(family: PolicyFamily, name: string): string | undefined {
  return info(family).types.get(name.toLowerCase());
}

/** One policy with its keys, type name and Settings keys in the schema's spelling. */
export function canonicalPolicy(family: PolicyFamily, policy: unknown): unknown {
  if (!policy || typeof policy !== 'object' || Array.isArray(policy)) return policy;
  const given = policy as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(given)) {
    const lower = k.toLowerCase();
    const canonical = lower === 'type' ? 'Type' : lower === 'settings' ? 'Settings' : k;
    out[canonical !== k && canonical in given ? k : canonical] = v;
  }
  if (typeof out.Type !== 'string') return out;
  out.Type = canonicalPolicyType(family, out.Type) ?? out.Type;
  if (out.Settings === undefined) return out;
  const settings = info(family).settings.get(out.Type as string);
  if (settings) out.Settings = canonicalKeys(out.Settings, settings.node, settings.base);
  else {
    const keys = extraSettingsKeys(out.Type as string);
    if (keys) out.Settings = canonicalKeys(out.Settings, { properties: Object.fromEntries(keys.map((k) => [k, {}])) }, 'hcn-policy');
  }
  return out;
}

/** Where a document of this kind carries policies, and of which family. */
export function policyLists(kind: string, doc: Json): { owner: Json; key: string; family: PolicyFamily }[] {
  const out: { owner: Json; key: string; family: PolicyFamily }[] = [];
  const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
  if (kind === 'network') {
    out.push({ owner: doc, key: 'Policies', family: 'network' });
    for (const ipam of Array.isArray(doc.Ipams) ? doc.Ipams : []) {
      if (!isObj(ipam)) continue;
      for (const subnet of Array.isArray(ipam.Subnets) ? ipam.Subnets : []) if (isObj(subnet)) out.push({ owner: subnet, key: 'Policies', family: 'subnet' });
    }
  } else if (kind === 'endpoint') {
    out.push({ owner: doc, key: 'Policies', family: 'endpoint' });
  } else if ((kind === 'modify-endpoint' || kind === 'modify-network') && isObj(doc.Settings)) {
    const rt = doc.ResourceType;
    const policy = kind === 'modify-endpoint' ? rt === 'Policy' || rt === 1 : rt === 'Policy' || rt === 2;
    if (policy) out.push({ owner: doc.Settings, key: 'Policies', family: kind === 'modify-endpoint' ? 'endpoint' : 'network' });
  }
  return out.filter((p) => Array.isArray(p.owner[p.key]));
}

/** Rewrites every policy of the document in place (the document was just parsed, it is ours). */
export function canonicalizePolicies(kind: string, doc: Json): void {
  for (const { owner, key, family } of policyLists(kind, doc)) owner[key] = (owner[key] as unknown[]).map((p) => canonicalPolicy(family, p));
}
