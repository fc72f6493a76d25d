// Build step: the "shape" of each conf schema, for decoding confs the way Go decodes them.
//
// Go's encoding/json matches object keys case-insensitively (an exact match preferred), treats
// null as absent, and the upstream Windows plugins hand policy documents to HNS, which matches
// policy type names case-insensitively. Published confs rely on all of it ("Policies",
// "ExceptionList", "SDNROUTE", runtimeConfig with Go field names). shared/schema/decode.ts
// rewrites a conf into the one spelling the schemas use before it is validated; what it needs to
// know of the schemas is computed here, once, at build time:
//
//   node.p   property names by lower-case name: [canonical name, child node]
//   node.x   what other keys are: undefined = unknown (warned), -2 = someone else's
//            (additionalProperties: true, e.g. a delegated IPAM's keys), -1 = refused by the
//            schema (additionalProperties: false), n = a child node (a map's values)
//   node.i   the node of array items
//   node.e   string enum/const values by lower-case value: canonical value
//   node.s   [[key, {value: node}, node-when-absent?], ...]: discriminated unions (if/then on a
//            const); the first whose key is given (or that has an absent case) picks the variant
//   node.w   keys accepted and ignored ("deprecated": true), with the schema's description
//   node.a   keys that are another spelling of a key ("aliasOf": a v1 name inside a v2 policy)
//   node.n   keys whose null means something ("type" lists "null": GC's valid-attachments), kept
//
// Nodes are deduplicated (the HCN policy definitions are shared by every mode).

/**
 * Builds the node table for the schemas named by `rootIds`: a schema's `$id`, or a reference into
 * one (`hcn-policy#/$defs/endpointPolicy`), each a key of `roots`.
 */
export function buildShapes(schemas, rootIds) {
  const byId = new Map(schemas.map((s) => [s.$id, s]));
  const nodes = [];
  const memo = new Map();
  const objIds = new Map();
  const idOf = (o) => {
    if (!objIds.has(o)) objIds.set(o, objIds.size + 1);
    return objIds.get(o);
  };

  function resolve(ref, base) {
    const [id, pointer = ''] = ref.split('#');
    const rootId = id === '' ? base : id;
    const root = byId.get(rootId);
    if (!root) throw new Error(`shapes: unknown schema ${rootId} in $ref ${ref}`);
    let cur = root;
    for (const part of pointer.split('/').filter(Boolean)) {
      cur = cur?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      if (cur === undefined) throw new Error(`shapes: $ref ${ref} points nowhere`);
    }
    return { schema: cur, base: rootId };
  }

  function emptyAcc() {
    return { props: new Map(), items: [], additional: [], open: false, closed: false, enums: new Set(), switches: new Map(), deprecated: new Map(), aliases: new Map(), nullable: new Set() };
  }

  /** Adds what one schema says about the value to `acc`. */
  function collect(schema, base, acc, seen = new Set()) {
    if (schema === true || schema === false || schema === undefined || schema === null) return;
    if (seen.has(schema)) return;
    seen.add(schema);
    // "shapeOf": the keys of another schema, for decoding only (the value is validated elsewhere).
    for (const ref of [schema.$ref, schema.shapeOf]) {
      if (!ref) continue;
      const r = resolve(ref, base);
      collect(r.schema, r.base, acc, seen);
    }
    for (const k of ['allOf', 'anyOf', 'oneOf']) for (const s of schema[k] ?? []) collect(s, base, acc, seen);
    for (const [k, s] of Object.entries(schema.properties ?? {})) {
      if (!acc.props.has(k)) acc.props.set(k, []);
      acc.props.get(k).push({ schema: s, base });
      if (s && s.deprecated) acc.deprecated.set(k, s.description ?? 'accepted and ignored');
      if (s && typeof s.aliasOf === 'string') acc.aliases.set(k, s.aliasOf);
      if (s && (s.type === 'null' || (Array.isArray(s.type) && s.type.includes('null')))) acc.nullable.add(k);
    }
    if (schema.additionalProperties === true || schema.patternProperties) acc.open = true;
    else if (schema.additionalProperties === false) acc.closed = true;
    else if (schema.additionalProperties) acc.additional.push({ schema: schema.additionalProperties, base });
    if (schema.items && !Array.isArray(schema.items)) acc.items.push({ schema: schema.items, base });
    for (const v of schema.enum ?? []) if (typeof v === 'string') acc.enums.add(v);
    if (typeof schema.const === 'string') acc.enums.add(schema.const);
    if (schema.if && schema.then) {
      const d = discriminator(schema.if);
      if (!d) collect(schema.then, base, acc, seen);
      else {
        if (!acc.switches.has(d.key)) acc.switches.set(d.key, { cases: new Map(), absent: [] });
        const sw = acc.switches.get(d.key);
        const list = d.absent ? sw.absent : (sw.cases.get(d.value) ?? sw.cases.set(d.value, []).get(d.value));
        list.push({ schema: schema.then, base });
      }
    }
  }

  /** `{properties: {K: {const: V}}}` (optionally with required [K]), or `{not: {required: [K]}}`. */
  function discriminator(cond) {
    const req = cond.not?.required;
    if (Array.isArray(req) && req.length === 1 && Object.keys(cond).length === 1) return { key: req[0], absent: true };
    const entries = Object.entries(cond.properties ?? {});
    if (entries.length === 1 && typeof entries[0][1]?.const === 'string') return { key: entries[0][0], value: entries[0][1].const };
    return undefined;
  }

  function mergedAcc(list) {
    const acc = emptyAcc();
    for (const { schema, base } of list) collect(schema, base, acc);
    return acc;
  }

  /** The node index for the merge of these schemas. */
  function nodeFor(list, extra = [], isCase = false) {
    const all = [...list, ...extra];
    if (all.every(({ schema }) => schema === true || schema === false)) return -1;
    const key = `${isCase ? 'case:' : ''}${all.map(({ schema }) => idOf(schema)).join(',')}`;
    if (memo.has(key)) return memo.get(key);
    const index = nodes.length;
    nodes.push(null);
    memo.set(key, index);
    nodes[index] = materialize(mergedAcc(all), all, isCase ? mergedAcc(extra) : undefined);
    return index;
  }

  function lowerMap(names, what) {
    const out = {};
    for (const n of names) {
      const l = n.toLowerCase();
      if (out[l] !== undefined && out[l] !== n) throw new Error(`shapes: ${what} "${out[l]}" and "${n}" differ only in case; a case-insensitive decoder cannot tell them apart`);
      out[l] = n;
    }
    return out;
  }

  /** A case node is already the chosen variant: its switch is not materialized again. */
  function materialize(acc, list, caseAcc) {
    const isCase = caseAcc !== undefined;
    const node = {};
    if (acc.props.size) {
      lowerMap([...acc.props.keys()], 'keys');
      node.p = {};
      for (const [k, schemas] of acc.props) node.p[k.toLowerCase()] = [k, nodeFor(schemas)];
    }
    // A variant's own schemas say what its other keys are (a builtin ipam's are warned about,
    // though any other ipam's belong to the IPAM plugin).
    const extra = caseAcc ?? acc;
    if (extra.closed) node.x = -1;
    else if (extra.open) node.x = -2;
    else if (extra.additional.length) node.x = nodeFor(extra.additional);
    if (acc.items.length) node.i = nodeFor(acc.items);
    if (acc.enums.size) node.e = lowerMap([...acc.enums], 'values');
    if (acc.deprecated.size) node.w = Object.fromEntries(acc.deprecated);
    if (acc.aliases.size) node.a = Object.fromEntries(acc.aliases);
    if (acc.nullable.size) node.n = [...acc.nullable];
    // A case is the whole object when the discriminator has that value: everything the object's
    // schemas say, plus the case's own schemas. Several discriminators are tried in order.
    for (const [key, sw] of isCase ? [] : acc.switches) {
      const cases = {};
      for (const [value, thens] of sw.cases) cases[value] = nodeFor(list, thens, true);
      const entry = [key, cases];
      if (sw.absent.length) entry.push(nodeFor(list, sw.absent, true));
      (node.s ??= []).push(entry);
    }
    return node;
  }

  const roots = {};
  for (const id of rootIds) {
    const [schemaId] = id.split('#');
    if (!byId.has(schemaId)) throw new Error(`shapes: no schema ${schemaId}`);
    roots[id] = nodeFor([resolve(id, schemaId)]);
  }
  return compact(nodes, roots);
}

/**
 * Drops nodes that say nothing (a plain string or number: -1 does as well) and merges identical
 * ones, repeatedly, since merging children can make parents identical.
 */
function compact(nodes, roots) {
  for (;;) {
    // Old index -> the surviving old index it stands for (or -1).
    const alias = new Map();
    const byText = new Map();
    nodes.forEach((n, i) => {
      if (Object.keys(n).length === 0) alias.set(i, -1);
      else {
        const text = JSON.stringify(n);
        if (byText.has(text)) alias.set(i, byText.get(text));
        else byText.set(text, i);
      }
    });
    if (alias.size === 0) return { nodes, roots };
    const survivors = nodes.map((_, i) => i).filter((i) => !alias.has(i));
    const dense = new Map(survivors.map((old, k) => [old, k]));
    const to = (i) => {
      if (i === undefined || i < 0) return i;
      const a = alias.has(i) ? alias.get(i) : i;
      return a < 0 ? a : dense.get(a);
    };
    nodes = survivors.map((i) => remapNode(nodes[i], to));
    roots = Object.fromEntries(Object.entries(roots).map(([id, i]) => [id, to(i)]));
  }
}

function remapNode(n, to) {
  const o = {};
  if (n.p) o.p = Object.fromEntries(Object.entries(n.p).map(([k, [name, c]]) => [k, [name, to(c)]]));
  // A map whose values say nothing more (additionalProperties: {type: "boolean"}, as capabilities):
  // its keys are allowed, not unknown, so it is open (-2), never closed (-1, which means refused).
  if (n.x !== undefined) o.x = n.x >= 0 && to(n.x) === -1 ? -2 : to(n.x);
  if (n.i !== undefined) o.i = to(n.i);
  if (n.e) o.e = n.e;
  if (n.w) o.w = n.w;
  if (n.a) o.a = n.a;
  if (n.n) o.n = n.n;
  if (n.s) o.s = n.s.map(([k, cases, absent]) => {
    const e = [k, Object.fromEntries(Object.entries(cases).map(([v, c]) => [v, to(c)]))];
    if (absent !== undefined) e.push(to(absent));
    return e;
  });
  return o;
}
