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

import { canonicalize, type CanonicalOptions } from '../../../schema/decode';
import { nodes, roots, type ShapeNode } from '../../../schema/shapes.generated';
import { extraSettingsKeys } from './settings';

type Json = Record<string, unknown>;
export type PolicyFamily = 'endpoint' | 'network' | 'subnet';

/** The policy definitions' shapes (build.mjs writes them from model/policy.schema.json). */
const ROOT: Record<PolicyFamily, number> = {
  endpoint: roots['hcn-policy#/$defs/endpointPolicy'],
  network: roots['hcn-policy#/$defs/networkPolicy'],
  subnet: roots['hcn-policy#/$defs/subnetPolicy'],
};

/**
 * Keys fold (an exact key wins; a key also given exactly stays as sent, so the schema refuses
 * it), and so does the Type name; enum values inside Settings do not. Unknown keys stay for the
 * schema to refuse.
 */
const HNS: CanonicalOptions = { foldOnly: true, enumValues: 'top', duplicates: 'keep' };

/** Whether the schema gives Settings a shape for this type (else settings.ts may know its keys). */
function schemaShapesSettings(family: PolicyFamily, type: string): boolean {
  const root = nodes[ROOT[family]]!;
  const variant = root.s?.find(([key]) => key === 'Type')?.[1][type];
  const settings = (variant === undefined ? root : nodes[variant]!).p?.settings;
  return settings !== undefined && settings[1] >= 0;
}

/** Shapes of the Settings of types the schema lets through with any object (settings.ts). */
const extraShapes = new Map<string, ShapeNode[] | undefined>();

function extraShape(type: string): ShapeNode[] | undefined {
  if (!extraShapes.has(type)) {
    const keys = extraSettingsKeys(type);
    extraShapes.set(type, keys && [{ p: Object.fromEntries(keys.map((k): [string, [string, number]] => [k.toLowerCase(), [k, -1]])) }]);
  }
  return extraShapes.get(type);
}

/** One policy with its keys, type name and Settings keys in the schema's spelling. */
function canonicalPolicy(family: PolicyFamily, policy: unknown): unknown {
  if (!policy || typeof policy !== 'object' || Array.isArray(policy)) return policy;
  const out = canonicalize(policy as Json, nodes, ROOT[family], HNS).conf;
  if (typeof out.Type !== 'string' || out.Settings === undefined || schemaShapesSettings(family, out.Type)) return out;
  const extra = extraShape(out.Type);
  if (extra) out.Settings = canonicalize(out.Settings as Json, extra, 0, HNS).conf;
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
