// `hnsctl validate <conflist>`: judges a conflist (or a single .conf) against this node before a
// pod ever meets it (windows-anchors.md §7 #15). Each entry of ours goes through the plugin's own
// decoding and checks first (shared/schema/decode.ts, the mode's schema, the IPAM and policy
// checks of shared/plugin/verbs.ts), so a conf the plugin would refuse is reported with the
// plugin's own message; then it is held against the live node (validate-live.ts): the HNS
// network, the pods' gateway, the HNS features the conf needs, the node's addresses and the SNAT
// exceptions. Entries of other plugins (portmap, flannel, ...) are noted, not judged.

import { CniError } from '../../shared/cni/errors';
import { checkNetworkName } from '../../shared/cni/names';
import { negotiateVersion, type PluginInfo } from '../../shared/cni/skel';
import { checkConf } from '../../shared/config/load';
import type { NetConf } from '../../shared/config/types';
import type { HnsClient } from '../../shared/hns/client';
import type { HostRoutes } from '../../shared/host/routes';
import { checkIpamConf } from '../../shared/ipam/index';
import { parseCidr } from '../../shared/net/ip';
import type { Mode } from '../../shared/plugin/mode';
import { portMappingPolicies } from '../../shared/policy/port-mapping';
import { rawEndpointPolicies } from '../../shared/policy/raw';
import { canonicalize, type ConfNote, describeNote } from '../../shared/schema/decode';
import { errorKey } from '../../shared/schema/validator';
import { cell, table } from './table';
import { checkLive, type LiveContext } from './validate-live';

export type Severity = 'error' | 'warning' | 'ok' | 'info';

export interface Finding {
  severity: Severity;
  /** The conf key the finding is about, as a path in the file (`plugins[0].ipam.subnet`); empty: the whole file. */
  key: string;
  /** The plugin entry's type, when the finding is about one. */
  plugin?: string;
  message: string;
}

export interface ValidateIo {
  out(text: string): void;
  readFile(file: string): string;
  client(): Promise<HnsClient>;
  openHost?(): Promise<HostRoutes>;
  platform: NodeJS.Platform;
}

/** A command line validate does not understand (exit 2). */
export class ValidateUsageError extends Error {}

export interface ValidateOptions {
  file: string;
  json: boolean;
  /** The cluster's pod and service prefixes as the operator states them; else the conf's own keys. */
  clusterCIDRs: string[];
  serviceCIDRs: string[];
}

export function parseValidateArgs(argv: string[]): ValidateOptions {
  const opts: ValidateOptions = { file: '', json: false, clusterCIDRs: [], serviceCIDRs: [] };
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      opts.json = true;
      continue;
    }
    const m = /^--(cluster-cidr|service-cidr)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === '') throw new ValidateUsageError(`--${m[1]} needs a prefix (10.244.0.0/16; comma-separated or repeated for several)`);
      const list = m[1] === 'cluster-cidr' ? opts.clusterCIDRs : opts.serviceCIDRs;
      for (const p of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        if (!parseCidr(p)) throw new ValidateUsageError(`--${m[1]} ${JSON.stringify(p)} is not a prefix (a.b.c.0/n)`);
        list.push(p);
      }
      continue;
    }
    if (a.startsWith('-')) throw new ValidateUsageError(`validate: unknown option ${a}`);
    files.push(a);
  }
  if (files.length !== 1) throw new ValidateUsageError(`validate takes one file, the conflist or conf to check (got ${files.length})`);
  opts.file = files[0]!;
  return opts;
}

// --- the file --------------------------------------------------------------------------------

interface ModeModule {
  mode: Mode<NetConf>;
}

/** The suite's plugins, loaded only when a conf names one. */
const PLUGINS: Record<string, () => Promise<[{ info: PluginInfo }, ModeModule]>> = {
  'win-l2bridge': () => Promise.all([import('../../plugins/win-l2bridge/main'), import('../../plugins/win-l2bridge/plugin') as Promise<ModeModule>]),
  'win-overlay': () => Promise.all([import('../../plugins/win-overlay/main'), import('../../plugins/win-overlay/plugin') as unknown as Promise<ModeModule>]),
  'host-gateway': () => Promise.all([import('../../plugins/host-gateway/main'), import('../../plugins/host-gateway/plugin') as unknown as Promise<ModeModule>]),
  'l3-upstream': () => Promise.all([import('../../plugins/l3-upstream/main'), import('../../plugins/l3-upstream/plugin') as unknown as Promise<ModeModule>]),
};

/** libcni's newest version: of a conflist's cniVersions, the highest it knows is picked. */
const LIBCNI_MAX = [1, 1, 0];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A list-level key as Go's decoder finds it: the exact spelling, else any casing. */
function field(doc: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(doc, key)) return doc[key];
  const lower = key.toLowerCase();
  const hit = Object.keys(doc).find((k) => k.toLowerCase() === lower);
  return hit === undefined ? undefined : doc[hit];
}

function versionParts(v: string): number[] {
  return v.split('.').map((n) => Number(n));
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** The cniVersion the runtime sends every plugin of the list (libcni: the highest of cniVersions it knows, else cniVersion). */
function listVersion(doc: Record<string, unknown>): unknown {
  const version = field(doc, 'cniVersion');
  const versions = field(doc, 'cniVersions');
  if (!Array.isArray(versions) || versions.length === 0) return version;
  const known = [...versions, ...(typeof version === 'string' ? [version] : [])].filter((v): v is string => typeof v === 'string' && /^\d+\.\d+\.\d+$/.test(v) && compare(versionParts(v), LIBCNI_MAX) <= 0);
  return known.sort((a, b) => compare(versionParts(a), versionParts(b))).at(-1) ?? version;
}

export interface Entry {
  /** `plugins[0].` in a conflist, empty for a single conf. */
  prefix: string;
  conflist: boolean;
  type: string;
  /** What the runtime hands the plugin on stdin: the entry with the list's name and version. */
  request: Record<string, unknown>;
}

class Report {
  readonly findings: Finding[] = [];
  add(severity: Severity, key: string, message: string, plugin?: string): void {
    this.findings.push(plugin ? { severity, key, plugin, message } : { severity, key, message });
  }
  count(severity: Severity): number {
    return this.findings.filter((f) => f.severity === severity).length;
  }
}

/** The conf's key as a path in the file: the list's own keys stay at the top of a conflist. */
export function keyOf(entry: Pick<Entry, 'prefix' | 'conflist'>, key: string): string {
  if (entry.conflist && /^(name|cniVersions?)$/.test(key)) return key;
  if (key === '') return entry.prefix.replace(/\.$/, '');
  return `${entry.prefix}${key}`;
}

/** The entries of a conflist or of a single conf, or why the file is neither. */
function entriesOf(doc: unknown, report: Report): Entry[] {
  if (!isObject(doc)) {
    report.add('error', '', 'the file is not a JSON object: a conflist is {"cniVersion", "name", "plugins": [...]}, a conf {"cniVersion", "name", "type", ...}');
    return [];
  }
  const plugins = field(doc, 'plugins');
  if (plugins === undefined) {
    // A single .conf: libcni wraps it into a one-plugin list and sends it as it is.
    return [{ prefix: '', conflist: false, type: typeof field(doc, 'type') === 'string' ? (field(doc, 'type') as string) : '', request: doc }];
  }
  if (!Array.isArray(plugins) || plugins.length === 0) {
    report.add('error', 'plugins', 'a conflist needs a non-empty "plugins" array: containerd loads no network from it');
    return [];
  }
  const name = field(doc, 'name');
  const version = listVersion(doc);
  const out: Entry[] = [];
  plugins.forEach((p, i) => {
    const prefix = `plugins[${i}].`;
    if (!isObject(p)) {
      report.add('error', `plugins[${i}]`, 'a plugin entry must be an object with a "type"');
      return;
    }
    const type = field(p, 'type');
    const request: Record<string, unknown> = { ...p, name, ...(version === undefined ? {} : { cniVersion: version }) };
    out.push({ prefix, conflist: true, type: typeof type === 'string' ? type : '', request });
  });
  return out;
}

// --- what the plugin itself would say --------------------------------------------------------

/** The key a plugin's error message names (`ipam.ranges[0][0].subnet`, `policies[1]`), if it names one. */
function keyInMessage(message: string, roots: RegExp, fallback: string): string {
  return roots.exec(message)?.[0] ?? fallback;
}

function describe(err: unknown): string {
  if (err instanceof CniError) return err.details ? `${err.message} (${err.details})` : err.message;
  return (err as Error)?.message ?? String(err);
}

/** Decoder notes: what the plugin warns about on stderr when it reads the conf. */
function noteSeverity(n: ConfNote): Severity {
  return n.kind === 'alias' || n.kind === 'ignored' ? 'info' : 'warning';
}

export interface Judged {
  conf: NetConf;
  mode: Mode<NetConf>;
}

/**
 * The conf as the plugin reads it on ADD, or undefined when the plugin would refuse it (the
 * refusal is reported with the plugin's own words).
 */
async function judgeAsPlugin(entry: Entry, report: Report, platform: NodeJS.Platform): Promise<Judged | undefined> {
  const [{ info }, { mode }] = await PLUGINS[entry.type]!();
  const plugin = entry.type;
  const add = (severity: Severity, key: string, message: string) => report.add(severity, keyOf(entry, key), message, plugin);
  const shapes = await import('../../shared/schema/shapes.generated');
  const { conf: decoded, notes } = canonicalize(entry.request, shapes.nodes, shapes.roots[info.confSchema]);
  for (const n of notes) add(noteSeverity(n), n.key, describeNote(n));
  try {
    checkNetworkName(decoded.name);
  } catch (err) {
    add('error', 'name', `${plugin} refuses the conf: ${describe(err)}`);
    return undefined;
  }
  try {
    negotiateVersion('ADD', decoded.cniVersion);
  } catch (err) {
    add('error', 'cniVersion', `${plugin} refuses the conf: ${describe(err)}`);
    return undefined;
  }
  let conf: NetConf;
  try {
    conf = checkConf<NetConf>(decoded, mode.validate, plugin);
  } catch (err) {
    const e = mode.validate.errors?.[0];
    add('error', e ? errorKey(e) : '', `${plugin} refuses the conf: ${describe(err)}`);
    return undefined;
  }
  const steps: [string, RegExp, () => void][] = [
    ['ipam', /ipam(\.\w+|\[\d+\])*/, () => checkIpamConf(conf, platform)],
    ['policies', /(policies|hcnPolicyArgs|AdditionalArgs)\[\d+\]/, () => {
      for (const s of rawEndpointPolicies(conf).skipped) {
        add('warning', s.replace(/ \(.*\)$/, ''), `${s}: not applied to pod endpoints: a network policy belongs to the network, which the node setup creates`);
      }
    }],
    ['runtimeConfig.portMappings', /runtimeConfig\.portMappings\[\d+\](\.\w+)?/, () => void portMappingPolicies(conf.runtimeConfig?.portMappings, { localRoutedVip: mode.bridged, ipv6: mode.ipv6 })],
  ];
  let refused = false;
  for (const [fallback, roots, step] of steps) {
    try {
      step();
    } catch (err) {
      add('error', keyInMessage(describe(err), roots, fallback), `${plugin} refuses the conf: ${describe(err)}`);
      refused = true;
    }
  }
  if (refused) return undefined;
  add('ok', '', `${plugin} accepts the conf: schema, IPAM section, policies`);
  checkCapabilities(conf, mode, add);
  return { conf, mode };
}

/**
 * What the runtime passes for the declared capabilities, and what the plugin does with it: our
 * plugins take portMappings (hostPort) and dns; the built-in IPAM takes ips; a delegated IPAM
 * plugin gets the whole conf, runtimeConfig included, and takes what it knows (host-local: ips,
 * ipRanges).
 */
function checkCapabilities(conf: NetConf, mode: Mode<NetConf>, add: (s: Severity, key: string, message: string) => void): void {
  const caps = conf.capabilities ?? {};
  const applies = mode.appliesPortMappings(conf);
  if (caps.portMappings && !applies) {
    add('warning', 'capabilities.portMappings', `${mode.plugin} does not apply host ports unless "hostPorts" is true: the runtime's mappings are dropped (a warning per pod); set "hostPorts": true, or remove the capability`);
  } else if (!caps.portMappings && applies) {
    add('warning', 'capabilities.portMappings', 'not declared: the runtime sends no port mappings, so a pod\'s hostPort is silently not mapped; add "portMappings": true');
  } else if (caps.portMappings) {
    add('ok', 'capabilities.portMappings', `declared, and ${mode.plugin} maps host ports${mode.bridged ? ' (PortMapping with LocalRoutedVip)' : ''}`);
  }
  if (!caps.dns) add('warning', 'capabilities.dns', 'not declared: the runtime does not pass the pod\'s DNS settings (dnsPolicy, dnsConfig), so pods get only the conf\'s "dns"; add "dns": true');
  else add('ok', 'capabilities.dns', 'declared: the pod\'s DNS servers, searches and options replace the conf\'s lists');
  const ipam = conf.ipam?.type;
  for (const [cap, on] of Object.entries(caps)) {
    if (!on || cap === 'portMappings' || cap === 'dns') continue;
    if (ipam !== undefined && ipam !== 'builtin') add('info', `capabilities.${cap}`, `not used by ${mode.plugin}; runtimeConfig.${cap} reaches the IPAM plugin ${ipam} with the conf, which takes it if it knows it`);
    else if (cap === 'ips' && ipam === 'builtin') add('ok', `capabilities.${cap}`, 'declared: the built-in IPAM gives the pod the address the runtime asks for');
    else add('warning', `capabilities.${cap}`, `${mode.plugin} ignores runtimeConfig.${cap}: the capability does nothing; remove it`);
  }
  if (conf.runtimeConfig !== undefined) {
    add('warning', 'runtimeConfig', 'set in the file: the runtime writes runtimeConfig itself from the declared capabilities and replaces this one whenever it has capability data; remove it');
  }
}

/** Where the parser stopped, without the text it quotes. */
function jsonErrorText(err: unknown): string {
  const m = /position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec((err as Error).message ?? '');
  if (!m) return 'the file is not valid JSON';
  return m[2] ? `invalid JSON at line ${m[2]}, column ${m[3]}` : `invalid JSON at character ${m[1]}`;
}

// --- the command -----------------------------------------------------------------------------

export interface ValidateResult {
  file: string;
  errors: number;
  warnings: number;
  findings: Finding[];
}

/** Judges the file; never throws for what the file or the node says (those are findings). */
export async function validateFile(opts: ValidateOptions, text: string, io: ValidateIo): Promise<ValidateResult> {
  const report = new Report();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    report.add('error', '', `not JSON: ${jsonErrorText(err)}`);
  }
  const entries = doc === undefined ? [] : entriesOf(doc, report);
  let live: LiveContext | undefined;
  try {
    for (const entry of entries) {
      if (!PLUGINS[entry.type]) {
        report.add('info', keyOf(entry, 'type'), `${entry.type ? `"${entry.type}"` : 'an entry without a type'} is not a plugin of this suite: not judged`, entry.type || undefined);
        continue;
      }
      const judged = await judgeAsPlugin(entry, report, io.platform);
      if (!judged) continue;
      live ??= { io, opts, features: undefined, host: undefined };
      const add = (severity: Severity, key: string, message: string) => report.add(severity, keyOf(entry, key), message, entry.type);
      try {
        await checkLive(live, entry, judged, add);
      } catch (err) {
        // A service that stops answering half-way: what was found so far is still reported.
        add('error', '', `checking against the node failed: ${describe(err)}`);
      }
    }
  } finally {
    await live?.host?.dispose().catch(() => undefined);
  }
  if (entries.length > 0 && !entries.some((e) => PLUGINS[e.type])) {
    report.add('warning', '', `no entry is a plugin of this suite (${Object.keys(PLUGINS).join(', ')}): nothing was checked against the node`);
  }
  return { file: opts.file, errors: report.count('error'), warnings: report.count('warning'), findings: report.findings };
}

export function formatResult(r: ValidateResult): string {
  const rows = r.findings.map((f) => [f.severity, cell(f.key), f.message]);
  const summary = `${r.file}: ${r.errors} error(s), ${r.warnings} warning(s)\n`;
  return `${table(['SEVERITY', 'KEY', 'FINDING'], rows)}${summary}`;
}

/** `hnsctl validate`: prints the findings; fails (exit 1) when any is an error. */
export async function validateCommand(argv: string[], io: ValidateIo): Promise<void> {
  const opts = parseValidateArgs(argv);
  let text: string;
  try {
    text = io.readFile(opts.file);
  } catch (err) {
    throw new Error(`validate: cannot read ${opts.file}: ${(err as Error).message}`);
  }
  const result = await validateFile(opts, text, io);
  io.out(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result));
  if (result.errors > 0) throw new Error(`validate ${opts.file}: ${result.errors} error(s): pods on this node would fail or misbehave with this conf`);
}
