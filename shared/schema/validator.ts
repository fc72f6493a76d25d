// The shape of the precompiled validators build.mjs generates, and the wording of their errors.

export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

export interface Validator {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

/** `/ipam/ranges/0/0/subnet` -> `ipam.ranges[0][0].subnet`. */
export function keyPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** The one key the error is about (the missing or unknown one where there is one). */
export function errorKey(e: SchemaError): string {
  if (e.keyword === 'required') return keyPath(e.instancePath, String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') return keyPath(e.instancePath, String(e.params.additionalProperty));
  return keyPath(e.instancePath);
}

/** The value an error's instancePath points at. */
export function valueAt(data: unknown, instancePath: string): unknown {
  let cur: unknown = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function short(v: unknown): string {
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return `${v} (a number beyond any double)`;
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A sentence naming the key, what is wrong with it and the value it had. */
export function describeSchemaError(e: SchemaError, data: unknown): string {
  const key = errorKey(e) || '(the document)';
  const value = valueAt(data, e.instancePath);
  if (typeof value === 'number' && !Number.isFinite(value)) return `key "${key}" is out of range: the number is ${value > 0 ? 'too large' : 'too small'} for a double (JSON.parse reads it as ${value})`;
  switch (e.keyword) {
    case 'required':
      return `key "${key}" is required`;
    case 'additionalProperties':
      return `key "${key}" is not allowed here`;
    case 'type':
      return `key "${key}" must be of type ${String(e.params.type)}, got ${short(value)}`;
    case 'enum':
      return `key "${key}" must be one of ${short(e.params.allowedValues)}, got ${short(value)}`;
    case 'const':
      return `key "${key}" must be ${short(e.params.allowedValue)}, got ${short(value)}`;
    case 'format':
      return `key "${key}" must be ${FORMAT_WORDS[String(e.params.format)] ?? `in format ${String(e.params.format)}`}, got ${short(value)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      // The validators are built without messages (build.mjs): the limit is in the params.
      return `key "${key}" must be ${String(e.params.comparison)} ${String(e.params.limit)}, got ${short(value)}`;
    case 'pattern':
      return `key "${key}" does not match ${String(e.params.pattern)}, got ${short(value)}`;
    default:
      return `key "${key}" ${e.message ?? 'is invalid'}${value === undefined ? '' : `, got ${short(value)}`}`;
  }
}

const FORMAT_WORDS: Record<string, string> = {
  ip: 'an IP address',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  cidr: 'an address with a prefix length (a.b.c.d/n)',
  prefix: 'a prefix in network form (a.b.c.0/n, host bits zero)',
  mac: 'a MAC address (xx-xx-xx-xx-xx-xx)',
  guid: 'a GUID (8-4-4-4-12 hex digits, no braces)',
};
