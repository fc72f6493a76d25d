// Decodes a conf the way the Go plugins and runtimes do, before the schema sees it: keys match
// case-insensitively (an exact match wins), null means absent, and enum values (policy type
// names) match case-insensitively as HNS matches them. The result uses the schemas' one
// spelling, so everything after this reads `conf.policies`, never `conf.Policies`.
//
// What to fold is not written here: build.mjs derives it from the schemas (scripts/shapes.mjs).
// Besides the rewritten conf, this reports what a reader of the logs must see: keys nobody reads
// (a misspelling, or a key of another plugin), keys accepted and ignored, and keys given twice.

import type { ShapeNode } from './shapes.generated';

export interface ConfNote {
  /** `policies[0].value.ExceptionList` (the spelling the conf used). */
  key: string;
  /**
   * unknown: nobody reads it (kept where others may: the conf's top level);
   * dropped: an unknown key where the document goes to HNS as it is (policy Settings);
   * ignored: accepted, and of no effect; duplicate: given twice; alias: read as another key.
   */
  kind: 'unknown' | 'dropped' | 'ignored' | 'duplicate' | 'alias';
  detail?: string;
}

export interface Canonical {
  conf: Record<string, unknown>;
  notes: ConfNote[];
}

/** node.x: the schema allows no other keys. */
const CLOSED = -1;

function joinKey(path: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

/** `table[key]` when the table has it as its own key: `__proto__` or `constructor` in a conf never resolve through Object.prototype. */
function own<T>(table: Record<string, T> | undefined, key: string): T | undefined {
  return table && Object.hasOwn(table, key) ? table[key] : undefined;
}

/** `out[key] = v`, also for `__proto__` (an assignment would set the object's prototype instead). */
function put(out: Record<string, unknown>, key: string, v: unknown): void {
  Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface CanonicalOptions {
  /**
   * Only fold spellings: keep unknown keys and nulls, note nothing. For documents read from the
   * service, which may carry fields newer than our schemas (shown by hnsctl, never dropped).
   */
  foldOnly?: boolean;
  /**
   * Which enum values fold: all (the default), or only those of the top object's own keys (a
   * policy's Type name: the HNS emulator matches the values inside its Settings exactly).
   */
  enumValues?: 'all' | 'top';
  /**
   * A key given in more than one spelling. 'note' (the default): the exact spelling wins, else the
   * first, and the other is dropped with a note. 'keep' (the HNS emulator): the exact spelling wins
   * and another spelling beside it stays as it is, unfolded, for the schema to refuse; of inexact
   * spellings alone the last wins (the variant of a union is picked the same way).
   */
  duplicates?: 'note' | 'keep';
}

class Canonicalizer {
  readonly notes: ConfNote[] = [];
  constructor(private readonly nodes: readonly ShapeNode[], private readonly opts: CanonicalOptions = {}) {}

  /** `depth`: 0 for the value canonicalize() is given, 1 for its keys' values, ... */
  value(v: unknown, index: number, path: string, depth = 0): unknown {
    const node = index >= 0 ? this.nodes[index] : undefined;
    if (!node) return v;
    if (typeof v === 'string' && node.e) return this.opts.enumValues === 'top' && depth !== 1 ? v : (own(node.e, v.toLowerCase()) ?? v);
    if (Array.isArray(v)) return node.i === undefined ? v : v.map((item, i) => this.value(item, node.i!, `${path}[${i}]`, depth + 1));
    if (isObject(v) && (node.p || node.x !== undefined || node.s)) return this.object(v, this.variant(v, node), path, depth);
    return v;
  }

  /** The node of the variant a discriminated union picks (discriminators read case-insensitively). */
  private variant(obj: Record<string, unknown>, node: ShapeNode): ShapeNode {
    for (const [key, cases, absent] of node.s ?? []) {
      const lower = key.toLowerCase();
      const spelled = ([k]: [string, unknown]) => k.toLowerCase() === lower;
      const given = Object.hasOwn(obj, key) ? obj[key] : (this.opts.duplicates === 'keep' ? Object.entries(obj).findLast(spelled) : Object.entries(obj).find(spelled))?.[1];
      if (given === undefined || given === null) {
        if (absent !== undefined) return this.nodes[absent]!;
        continue;
      }
      if (typeof given !== 'string') continue;
      const hit = Object.keys(cases).find((c) => c.toLowerCase() === given.toLowerCase());
      if (hit !== undefined) return this.nodes[cases[hit]!]!;
    }
    return node;
  }

  private object(obj: Record<string, unknown>, node: ShapeNode, path: string, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const from = new Map<string, string>();
    const keep = this.opts.duplicates === 'keep';
    for (const [key, v] of Object.entries(obj)) {
      const hit = own(node.p, key.toLowerCase());
      if (keep && hit && key !== hit[0] && Object.hasOwn(obj, hit[0])) {
        put(out, key, v);
        continue;
      }
      // Go: null leaves the field as if absent; unless the schema gives null a meaning of its own.
      if (v === null && !this.opts.foldOnly && !(hit && node.n?.includes(hit[0]))) continue;
      if (this.opts.foldOnly && !hit) {
        put(out, key, v);
        continue;
      }
      const alias = hit ? own(node.a, hit[0]) : undefined;
      const name = alias ?? (hit ? hit[0] : key);
      const child = hit ? hit[1] : node.x !== undefined && node.x >= 0 ? node.x : -1;
      if (!hit && node.x === undefined) this.notes.push({ key: joinKey(path, key), kind: 'unknown' });
      if (!hit && node.x === CLOSED) {
        // A document HNS takes as it is (a policy's Settings) must not carry what HNS may refuse.
        this.notes.push({ key: joinKey(path, key), kind: 'dropped' });
        continue;
      }
      if (hit && own(node.w, name) !== undefined) this.notes.push({ key: joinKey(path, key), kind: 'ignored', detail: own(node.w, name)! });
      if (alias) {
        this.notes.push({ key: joinKey(path, key), kind: 'alias', detail: alias });
        if (Array.isArray(out[alias]) && Array.isArray(v)) {
          out[alias] = [...new Set([...(out[alias] as unknown[]), ...v])];
          continue;
        }
      }
      const earlier = from.get(name);
      if (earlier !== undefined) {
        // Go lets the later key win; an exact spelling winning is easier to reason about, and
        // either way the conf says two things, which is worth a warning.
        const keepNew = key === name || keep;
        this.notes.push({ key: joinKey(path, keepNew ? earlier : key), kind: 'duplicate', detail: `the same key as "${keepNew ? key : earlier}"; that one is used` });
        if (!keepNew) continue;
      }
      from.set(name, key);
      put(out, name, this.value(v, child, joinKey(path, name), depth + 1));
    }
    return out;
  }
}

/** The conf in the schemas' spelling, and what the caller should warn about. */
export function canonicalize(conf: Record<string, unknown>, nodes: readonly ShapeNode[], root: number, opts?: CanonicalOptions): Canonical {
  const c = new Canonicalizer(nodes, opts);
  const out = c.value(conf, root, '') as Record<string, unknown>;
  return { conf: out, notes: c.notes };
}

/** One line per note, for stderr and the log. */
export function describeNote(n: ConfNote): string {
  switch (n.kind) {
    case 'unknown':
      return `unknown key "${n.key}" in the network configuration is ignored (check its spelling)`;
    case 'dropped':
      return `unknown key "${n.key}" is not a setting of this policy type and is left out of what is sent to HNS`;
    case 'alias':
      return `key "${n.key}" is read as "${n.detail}" (its HNS v1 name)`;
    case 'ignored':
      return `key "${n.key}" is accepted and ignored: ${n.detail}`;
    case 'duplicate':
      return `key "${n.key}" is ${n.detail}`;
  }
}
