#!/usr/bin/env node
// Writes the key tables of each plugin's README from the JSON Schemas (their descriptions and
// defaults), so the documentation of every key cannot drift from what the plugin accepts.
//
//   node scripts/docs.mjs           rewrite the tables between <!-- keys:start --> and <!-- keys:end -->
//   node scripts/docs.mjs --check   exit 1 if a README is out of date (the unit tests run this)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (p) => JSON.parse(fs.readFileSync(path.join(ROOT, p), 'utf8'));

const NETCONF = read('shared/config/netconf.schema.json');
const BUILTIN = read('shared/config/builtin-ipam.schema.json');
const BRIDGED_DEFAULTS = { gateway: '.2 of the pod\'s subnet (the host\'s bridge endpoint)', gateway6: '::2 of the pod\'s prefix' };

export const PLUGIN_DOCS = {
  'win-l2bridge': { schema: 'shared/config/l2bridge.schema.json', defaults: BRIDGED_DEFAULTS },
  'host-gateway': { schema: 'shared/config/host-gateway.schema.json', defaults: BRIDGED_DEFAULTS },
  'l3-upstream': { schema: 'shared/config/l3-upstream.schema.json', defaults: BRIDGED_DEFAULTS },
  'win-overlay': {
    schema: 'shared/config/overlay.schema.json',
    defaults: { gateway: 'the default route\'s next hop of the network subnet holding the pod (.1)', mtu: '1450 (1500 minus the 50-byte VXLAN header; no policy sent)', providerAddress: 'the network\'s ProviderAddress policy, else the IPv4 nodeIP' },
  },
};

function refName(ref) {
  return ref.split('/').pop();
}

/** A short type text: `string (prefix)`, `string or array of strings (ip)`, `object`, ... */
function typeText(s, defs = NETCONF.$defs) {
  if (s === true || s === undefined) return 'any';
  if (s.$ref) {
    const name = refName(s.$ref);
    if (name === 'prefixOrList') return 'string or array of 1-2 strings (prefix)';
    if (name === 'ipOrList') return 'string or array of 1-2 strings (IP)';
    if (name === 'endpointPolicy') return 'array item: HCN policy {Type, Settings}';
    if (defs[name]) return typeText(defs[name], defs);
    return 'object';
  }
  if (s.anyOf) return s.anyOf.map((x) => typeText(x, defs)).join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const fmt = s.format ? ` (${s.format === 'ip' ? 'IP' : s.format})` : '';
  const type = Array.isArray(s.type) ? s.type.join(' or ') : s.type;
  if (type === 'array') {
    const item = s.items?.$ref ? (refName(s.items.$ref) === 'rawPolicy' ? 'policies' : refName(s.items.$ref) === 'endpointPolicy' ? 'HCN v2 policies' : 'objects') : `${s.items?.type ?? 'item'}s${s.items?.format ? ` (${s.items.format === 'ip' ? 'IP' : s.items.format})` : ''}`;
    return `array of ${item}`;
  }
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.minimum !== undefined && s.maximum !== undefined) return `${type} ${s.minimum}-${s.maximum}`;
  return `${type ?? 'any'}${fmt}`;
}

function cell(text) {
  return String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function row(key, s, defaults, required) {
  if (s === false) return `| \`${key}\` | - | - | Not supported by this plugin: refused with code 2. |`;
  const dflt = defaults[key] ?? (s.default !== undefined ? JSON.stringify(s.default) : '-');
  return `| \`${key}\` | ${cell(typeText(s))} | ${cell(dflt)} | ${required ? '**Required.** ' : ''}${cell(s.description ?? '')} |`;
}

export function keyTables(plugin) {
  const doc = PLUGIN_DOCS[plugin];
  const own = read(doc.schema);
  const props = { ...NETCONF.properties, ...(own.properties ?? {}) };
  delete props.type;
  const required = new Set([...(NETCONF.required ?? []), ...(own.required ?? [])]);
  const lines = [
    '| key | type | default | effect |',
    '|---|---|---|---|',
    `| \`type\` | string | - | ${cell(`\`${plugin}\``)} |`,
  ];
  for (const [k, s] of Object.entries(props)) lines.push(row(k, s, doc.defaults, required.has(k)));
  lines.push('', 'Keys of `"ipam": {"type": "builtin", ...}`, the built-in allocator (host-local\'s keys and on-disk format; it never hands out the network address, the broadcast address, `.1`, `.2`, the gateway or `reserved`):', '', '| key | type | default | effect |', '|---|---|---|---|');
  const builtinDefaults = { subnet: '- (this or ranges)', ranges: '- (this or subnet)', rangeStart: 'network + 1', rangeEnd: 'last address (IPv4: minus the broadcast)', gateway: '- (the mode\'s)', dataDir: '<bin>\\..\\state\\ipam (CNI_STATE_DIR\\ipam)' };
  const builtinEffects = {
    type: '`"builtin"`',
    subnet: 'The pod subnet (network form) of a single range.',
    rangeStart: 'First address handed out.',
    rangeEnd: 'Last address handed out.',
    gateway: 'Gateway reported with the address; never handed out.',
    ranges: 'Range sets, as host-local: one address per set (one IPv4 set and one IPv6 set make a dual-stack pod).',
    routes: 'Routes added to the pod (beside its default route).',
    dataDir: 'Where allocations are kept: <dataDir>/<name>/, one file per address. Point it at host-local\'s dataDir to share reservations made with host-local (kube-proxy\'s source VIP).',
  };
  for (const [k, s] of Object.entries(BUILTIN.properties)) {
    lines.push(`| \`${k}\` | ${cell(typeText(s, {}))} | ${cell(builtinDefaults[k] ?? '-')} | ${cell(s.description ?? builtinEffects[k] ?? '')} |`);
  }
  return lines.join('\n');
}

const START = '<!-- keys:start (generated by scripts/docs.mjs from the schemas; do not edit) -->';
const END = '<!-- keys:end -->';

export function renderReadme(plugin, text) {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`plugins/${plugin}/README.md has no key table markers`);
  return `${text.slice(0, a + START.length)}\n${keyTables(plugin)}\n${text.slice(b)}`;
}

function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const plugin of Object.keys(PLUGIN_DOCS)) {
    const file = path.join(ROOT, 'plugins', plugin, 'README.md');
    const text = fs.readFileSync(file, 'utf8');
    const next = renderReadme(plugin, text);
    if (next === text) continue;
    if (check) {
      process.stderr.write(`plugins/${plugin}/README.md is out of date: run node scripts/docs.mjs\n`);
      stale++;
    } else {
      fs.writeFileSync(file, next);
      process.stderr.write(`updated plugins/${plugin}/README.md\n`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
