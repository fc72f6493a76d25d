// Every document the emulator is sent is parsed and checked against the HCN schemas
// (shared/hns/model), and a refusal is reported the way Windows reports it (hcn-api.md §4.1):
//   unknown field            HCN_E_INVALID_JSON, record detail {{Field,UnknownField}}
//   unknown policy Type      HCN_E_INVALID_POLICY_TYPE
//   bad policy Settings      HCN_E_INVALID_POLICY
//   a non-GUID for a GUID    HCN_E_GUID_CONVERSION_FAILURE
//   anything else            HCN_E_INVALID_JSON
// In this order: parse; v1 shape; policy spellings made canonical (canon.ts); what this build's
// version does not know (gates.ts, config unknownFields); the schema; the Settings the schema
// does not model (settings.ts).
// Validators load on first use: a plugin run needs two or three of the seven.

import type { SchemaError, Validator } from '../../../schema/validator';
import { describeSchemaError, errorKey } from '../../../schema/validator';
import { fail } from './failure';
import { canonicalizePolicies, policyLists } from './canon';
import { checkVersionGates, type HostVersions } from './gates';
import { checkExtraSettings } from './settings';

export type DocumentKind = 'network' | 'endpoint' | 'namespace' | 'query' | 'modify-network' | 'modify-endpoint' | 'modify-namespace';

const LOADERS: Record<DocumentKind, () => Promise<{ validate: Validator }>> = {
  network: () => import('../../model/network.validator'),
  endpoint: () => import('../../model/endpoint.validator'),
  namespace: () => import('../../model/namespace.validator'),
  query: () => import('../../model/query.validator'),
  'modify-network': () => import('../../model/modify-network.validator'),
  'modify-endpoint': () => import('../../model/modify-endpoint.validator'),
  'modify-namespace': () => import('../../model/modify-namespace.validator'),
};

const loaded = new Map<DocumentKind, Validator>();

async function validatorOf(kind: DocumentKind): Promise<Validator> {
  let v = loaded.get(kind);
  if (!v) {
    v = (await LOADERS[kind]()).validate;
    loaded.set(kind, v);
  }
  return v;
}

/** The JSON text as an object, or HCN_E_INVALID_JSON. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    fail('HCN_E_INVALID_JSON', `{{${(err as Error).message}}}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) fail('HCN_E_INVALID_JSON', '{{the document is not a JSON object}}');
  return doc as Record<string, unknown>;
}

/** The first key anywhere in the document that this build does not know (config `unknownFields`). */
function findField(v: unknown, names: ReadonlySet<string>): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  for (const [k, child] of Object.entries(v)) {
    if (!Array.isArray(v) && names.has(k)) return k;
    const deeper = findField(child, names);
    if (deeper) return deeper;
  }
  return undefined;
}

const POLICY_TYPE = /\/Policies\/\d+\/Type$/;
const POLICY_SETTINGS = /^(.*\/Policies\/\d+)\/Settings(\/|$)/;
const POLICY_ITEM = /\/Policies\/\d+$/;
const IP_ADDRESS = /\/IpConfigurations\/\d+\/IpAddress$/;

/** The value at a JSON pointer (ajv's instancePath). */
function valueAt(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const part of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

/** Throws the HRESULT Windows gives for the schema error `e`. */
function refuse(kind: DocumentKind, e: SchemaError, doc: unknown): never {
  const path = e.instancePath;
  const key = errorKey(e);
  const field = key.split(/[.[]/).pop() || key;
  const policyItem = POLICY_SETTINGS.exec(path)?.[1];
  if (policyItem !== undefined) {
    // The schema's per-Type `if` clauses hold vacuously for a policy without Type, so such a
    // policy fails on its Settings first; it is the Type that is missing.
    if (typeof (valueAt(doc, policyItem) as { Type?: unknown } | undefined)?.Type !== 'string') fail('HCN_E_INVALID_POLICY_TYPE', '{{Type,missing}}');
    const reason = e.keyword === 'additionalProperties' ? 'UnknownField' : describeSchemaError(e, doc);
    fail('HCN_E_INVALID_POLICY', `{{${field},${reason}}}`);
  }
  if (POLICY_TYPE.test(path) || (POLICY_ITEM.test(path) && e.keyword === 'required' && e.params.missingProperty === 'Type')) {
    fail('HCN_E_INVALID_POLICY_TYPE', `{{Type,${describeSchemaError(e, doc)}}}`);
  }
  if (e.keyword === 'additionalProperties') fail('HCN_E_INVALID_JSON', `{{${String(e.params.additionalProperty)},UnknownField}}`);
  if (e.keyword === 'format' && e.params.format === 'guid') fail('HCN_E_GUID_CONVERSION_FAILURE', `{{${field},${describeSchemaError(e, doc)}}}`);
  if (kind === 'network' && path === '/Type') fail('HCN_E_INVALID_NETWORK_TYPE', `{{Type,${describeSchemaError(e, doc)}}}`);
  if (IP_ADDRESS.test(path)) fail('HCN_E_INVALID_IP', `{{IpAddress,${describeSchemaError(e, doc)}}}`);
  fail('HCN_E_INVALID_JSON', `{{${field || '(document)'},${describeSchemaError(e, doc)}}}`);
}

/** Networks and endpoints without SchemaVersion, or with Major below 2, are v1 documents. */
function isV1(doc: Record<string, unknown>): boolean {
  const v = doc.SchemaVersion as { Major?: unknown } | undefined;
  if (v === undefined) return true;
  return typeof v === 'object' && v !== null && typeof v.Major === 'number' && v.Major < 2;
}

/** What the host knows: its versions, and field names refused on top of them (config `unknownFields`). */
export interface DocumentHost extends HostVersions {
  unknownFields: readonly string[];
}

/**
 * Parses and validates `text` as a document of `kind` for this host (omitted: no version gates,
 * for queries). Returns the document with its policies in the canonical spelling.
 */
export async function checkDocument<T>(kind: DocumentKind, text: string, host?: DocumentHost): Promise<T> {
  const doc = parseJsonObject(text);
  if ((kind === 'network' || kind === 'endpoint') && isV1(doc)) {
    fail('E_NOTIMPL', `{{SchemaVersion,this is a v1 (schema 1.x) ${kind} document; the emulator models schema 2.x documents only}}`);
  }
  canonicalizePolicies(kind, doc);
  if (host?.unknownFields.length) {
    const field = findField(doc, new Set(host.unknownFields));
    if (field) fail('HCN_E_INVALID_JSON', `{{${field},UnknownField}}`);
  }
  if (host) checkVersionGates(kind, doc, host);
  const validate = await validatorOf(kind);
  if (!validate(doc)) refuse(kind, validate.errors?.[0] ?? { instancePath: '', schemaPath: '', keyword: 'invalid', params: {} }, doc);
  for (const { owner, key } of policyLists(kind, doc)) for (const p of owner[key] as { Type: string; Settings?: unknown }[]) checkExtraSettings(p.Type, p.Settings);
  return doc as T;
}
