// The process contract every plugin runs through: environment and stdin in, one result or one
// error object on stdout, exit status out (spec §1, reference skeleton order §1.5).
// Kept light: VERSION answers from here without loading the rest of the plugin.

import { CniError, ErrorCode, asCniError, toErrorObject } from './errors';
import { type CmdArgs, isVerb, readCmdArgs, type Verb } from './env';
import { type CniArgs, parseCniArgs } from './args';
import { checkNetworkName } from './names';
import {
  compareVersions, CURRENT_VERSION, type CniVersion, DEFAULT_CONFIG_VERSION, isSupportedVersion, parseVersion,
  SUPPORTED_VERSIONS, VERB_MIN_VERSION,
} from './versions';
import { readAllStdin, writeStderr, writeStdout } from './stdio';
import type { Result100 } from './result/v100';
import { Logger } from '../log/logger';
import { firstLineFields, hostVersions, type HostVersions } from '../hns/version-cache';
import { defaultLogFile } from '../sys/paths';
import path from 'node:path';
import { canonicalize, type ConfNote, describeNote } from '../schema/decode';
import type { roots } from '../schema/shapes.generated';

export type ConfSchemaId = keyof typeof roots;

export type PluginVerb = Exclude<Verb, 'VERSION'>;

/** Everything a handler gets about one invocation. */
export interface CniRequest {
  verb: PluginVerb;
  version: CniVersion;
  cmd: CmdArgs;
  cniArgs: CniArgs;
  /** The exact stdin bytes: delegated plugins get them unchanged. */
  stdin: Buffer;
  /** stdin parsed; `name` checked. The plugin validates the rest against its schema. */
  conf: Record<string, unknown> & { name: string };
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  log: Logger;
  /** Epoch ms by which the invocation answers, whatever it is waiting for (invocationDeadline). */
  deadline: number;
  /** The OS build and the HNS version cached for it (the first log line's); the context asks the service when the version is not known. */
  host?: HostVersions;
}

export interface PluginHandlers {
  add(req: CniRequest): Promise<Result100>;
  del(req: CniRequest): Promise<void>;
  check(req: CniRequest): Promise<void>;
  gc(req: CniRequest): Promise<void>;
  status(req: CniRequest): Promise<void>;
}

export interface PluginInfo {
  /** The executable's name, which is the conf's `type`. */
  name: string;
  productVersion: string;
  /** The `$id` of the plugin's conf schema: confs are decoded against it (shared/schema/decode.ts). */
  confSchema: ConfSchemaId;
  /** Loaded only for the verbs that need it, so VERSION stays fast. */
  load: () => Promise<PluginHandlers>;
}

export interface ProcessIo {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  readStdin: () => Buffer;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Tests: the invocation's budget instead of invocationBudgetMs(conf). */
  budgetMs?: number;
}

export const processIo = (): ProcessIo => ({
  env: process.env,
  platform: process.platform,
  readStdin: () => readAllStdin(),
  stdout: writeStdout,
  stderr: writeStderr,
});

export function aboutText(info: PluginInfo): string {
  return `CNI ${info.name} plugin ${info.productVersion}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`;
}

export function versionReply(): string {
  return JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: SUPPORTED_VERSIONS }) + '\n';
}

/** Runs one invocation and returns the exit status. Never throws. */
export async function runPlugin(info: PluginInfo, io: ProcessIo = processIo()): Promise<number> {
  const command = io.env.CNI_COMMAND ?? '';
  if (command === '') {
    // The reference prints its about text when called by hand with no command.
    io.stderr(aboutText(info));
    return 0;
  }
  if (command === 'VERSION') {
    // Answered before stdin is read: the caller may never close it.
    io.stdout(versionReply());
    return 0;
  }
  let version: CniVersion | undefined;
  let log: Logger | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // stdin is read first, so that every error object carries the request's cniVersion (the
    // spec's error object has it); its errors are still reported after the environment's, in
    // the reference order.
    const input = readInput(io);
    if (input.ok) version = errorVersion(input.doc);
    const cmd = readCmdArgs(io.env, io.platform);
    if (!input.ok) throw input.error;
    const { stdin, doc } = input;
    const { conf, notes } = await decodeConf(doc, info.confSchema);
    const budgetMs = io.budgetMs ?? invocationBudgetMs(conf);
    const deadline = Date.now() + budgetMs;
    const logFile = logFileOf(conf, io);
    const fallback = defaultLogFile(io.env, io.platform);
    // A conf's logFile gets no folders made outside the log folder (shared/log/logger.ts).
    log = new Logger(
      { file: logFile.file, platform: io.platform, fallback, logFolder: (io.platform === 'win32' ? path.win32 : path.posix).dirname(fallback) },
      { plugin: info.name, pid: process.pid, command, containerId: cmd.containerId || undefined, ifName: cmd.ifName || undefined, network: conf.name },
    );
    // After a Windows update, the first thing an operator needs is which build and which HNS.
    const host = hostVersions(io.env, io.platform);
    log.once(firstLineFields(host));
    if (logFile.ignored) log.event('log-file-ignored', { logFile: logFile.ignored, note: 'not an absolute path: it would land in the runtime\'s working directory' }, 'warning');
    reportConfNotes(notes, log, io);
    if (!isVerb(command) || command === 'VERSION') throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command}`, `CNI_COMMAND must be one of ADD, DEL, CHECK, GC, STATUS, VERSION`);
    version = negotiateVersion(command, conf.cniVersion);
    const handlers = await log.step('load-plugin', () => info.load());
    const req: CniRequest = { verb: command, version, cmd, cniArgs: parseCniArgs(cmd.args), stdin, conf, env: io.env, platform: io.platform, log, deadline, host };
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CniError(ErrorCode.TryAgainLater, `${info.name} ${command} did not finish within ${Math.round(budgetMs / 1000)} s`, 'the node is busy or something it waits for hangs (the HNS service, a lock, the IPAM plugin); the runtime retries')), budgetMs);
    });
    const output = await Promise.race([dispatch(handlers, req), overdue]);
    if (output !== undefined) io.stdout(output);
    log.finish('ok');
    return 0;
  } catch (err) {
    const cniErr = asCniError(err);
    io.stdout(JSON.stringify(toErrorObject(cniErr, version), null, 2) + '\n');
    const fields = { code: cniErr.code, error: cniErr.message, ...(cniErr.details ? { details: cniErr.details } : {}) };
    // An untyped error's stack is for us, in the log; stderr reaches the pod's events.
    const stack = !(err instanceof CniError) && err instanceof Error && err.stack ? { stack: err.stack } : {};
    if (log) log.finish('error', { ...fields, ...stack });
    else logEarlyFailure(info, io, command, { ...fields, ...stack });
    return 1;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Per-call HNS deadline (the conf's hnsTimeoutSeconds, default 30 s). */
const DEFAULT_HNS_TIMEOUT_S = 30;
/** What an invocation may take beyond one HNS call's deadline: its other calls, locks, the IPAM. */
const INVOCATION_MARGIN_MS = 30_000;

/**
 * The whole invocation's budget: the conf's HNS timeout plus a margin. Past it the runtime gets
 * "try again later" (11) and the process exits, whatever it was waiting for.
 */
export function invocationBudgetMs(conf: Record<string, unknown>): number {
  return (hnsTimeoutSecondsOf(conf) ?? DEFAULT_HNS_TIMEOUT_S) * 1000 + INVOCATION_MARGIN_MS;
}

/** The conf's hnsTimeoutSeconds if it is one the schema allows (0 < t <= 600), read before validation. */
export function hnsTimeoutSecondsOf(conf: Record<string, unknown>): number | undefined {
  const t = conf.hnsTimeoutSeconds;
  return typeof t === 'number' && t > 0 && t <= 600 ? t : undefined;
}

async function dispatch(h: PluginHandlers, req: CniRequest): Promise<string | undefined> {
  switch (req.verb) {
    case 'ADD': {
      const result = await h.add(req);
      const { fromInternal } = await import('./result/convert');
      return JSON.stringify(fromInternal(result, req.version), null, 2) + '\n';
    }
    case 'DEL':
      await h.del(req);
      return undefined;
    case 'CHECK':
      await h.check(req);
      return undefined;
    case 'GC':
      await h.gc(req);
      return undefined;
    case 'STATUS':
      await h.status(req);
      return undefined;
  }
}

/** stdin and its parse as a JSON object, or why it could not be read or parsed. */
type Input = { ok: true; stdin: Buffer; doc: Record<string, unknown> } | { ok: false; error: CniError };

/** Reads and parses stdin; never throws (the error is reported after the environment's). */
function readInput(io: ProcessIo): Input {
  let stdin: Buffer;
  try {
    stdin = io.readStdin();
  } catch (err) {
    return { ok: false, error: new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(err as Error).message}`) };
  }
  try {
    return { ok: true, stdin, doc: parseJson(stdin) };
  } catch (err) {
    return { ok: false, error: asCniError(err) };
  }
}

/** The parsed stdin in the schema's spelling (Go's case-insensitive decoding), with what to warn about. */
async function decodeConf(doc: Record<string, unknown>, schema: ConfSchemaId): Promise<{ conf: CniRequest['conf']; notes: ConfNote[] }> {
  if (depthOf(doc) > MAX_CONF_DEPTH) throw new CniError(ErrorCode.DecodingFailure, `error unmarshalling network config: nested more than ${MAX_CONF_DEPTH} levels deep`);
  const shapes = await import('../schema/shapes.generated');
  const { conf, notes } = canonicalize(doc, shapes.nodes, shapes.roots[schema]);
  checkNetworkName(conf.name);
  return { conf: conf as CniRequest['conf'], notes };
}

/**
 * The version an error object for this stdin is written in: the conf's cniVersion as the decoder
 * reads it (the exact spelling of the key first, else the first in any casing; absent, null or
 * empty: 0.1.0, as negotiateVersion), if it is one we speak. Read before anything else can fail.
 */
export function errorVersion(doc: Record<string, unknown>): CniVersion | undefined {
  const key = 'cniVersion' in doc ? 'cniVersion' : Object.keys(doc).find((k) => k.toLowerCase() === 'cniversion');
  const v = key === undefined ? undefined : doc[key];
  if (v === undefined || v === null || v === '') return DEFAULT_CONFIG_VERSION;
  return typeof v === 'string' && isSupportedVersion(v) ? v : undefined;
}

/** Keys nobody reads or that are ignored: a line each on stderr (the runtime logs it) and in the log. */
function reportConfNotes(notes: ConfNote[], log: Logger, io: ProcessIo): void {
  if (notes.length === 0) return;
  const lines = notes.map(describeNote);
  for (const l of lines) io.stderr(`warning: ${l}\n`);
  log.event('conf-keys', { warnings: lines }, 'warning');
}

/** Deeper documents are refused before anything walks them (no conf nests past a dozen levels). */
const MAX_CONF_DEPTH = 64;

/** The parser's complaint without the stdin text it quotes (a conf can carry secrets in args). */
function jsonErrorText(err: unknown): string {
  const m = /position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec((err as Error).message ?? '');
  if (!m) return 'invalid JSON';
  return m[2] ? `invalid JSON at line ${m[2]}, column ${m[3]}` : `invalid JSON at byte ${m[1]}`;
}

function depthOf(doc: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[doc, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > MAX_CONF_DEPTH) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
  }
  return max;
}

function parseJson(stdin: Buffer): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(stdin.toString('utf8'));
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshalling network config: ${jsonErrorText(err)}`, stdin.length === 0 ? 'stdin was empty' : undefined);
  }
  // `null` decodes to an empty config in the reference, which then lacks a name.
  if (doc === null) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CniError(ErrorCode.DecodingFailure, 'error unmarshalling network config: expected a JSON object', `got ${Array.isArray(doc) ? 'an array' : typeof doc}`);
  }
  return doc as Record<string, unknown>;
}

/** The request's version, checked against what the verb allows (spec §3.2, reference §1.5 step 6). */
export function negotiateVersion(verb: PluginVerb, raw: unknown): CniVersion {
  if (raw !== undefined && typeof raw !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, 'error decoding network config: "cniVersion" must be a string', `got ${JSON.stringify(raw)}`);
  }
  const requested = raw === undefined || raw === '' ? DEFAULT_CONFIG_VERSION : raw;
  if (verb === 'CHECK' || verb === 'GC' || verb === 'STATUS') {
    const parsed = parseVersion(requested);
    if (!parsed) throw new CniError(ErrorCode.DecodingFailure, `error decoding network config: "cniVersion" ${JSON.stringify(requested)} is not a version`);
    const min = VERB_MIN_VERSION[verb];
    if (compareVersions(parsed, parseVersion(min)!) < 0) {
      throw new CniError(ErrorCode.IncompatibleVersion, `config version does not allow ${verb}`, `config is "${requested}"; ${verb} needs ${min} or later`);
    }
  }
  if (!isSupportedVersion(requested)) {
    throw new CniError(ErrorCode.IncompatibleVersion, 'incompatible CNI versions', `config is "${requested}", plugin supports [${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(' ')}]`);
  }
  return requested;
}

/** The conf's logFile if it is an absolute path on this OS, else the default (a relative one would land in containerd's working directory, C:\Windows\System32). */
function logFileOf(conf: CniRequest['conf'], io: ProcessIo): { file: string; ignored?: string } {
  const wanted = conf.logFile;
  if (typeof wanted !== 'string' || wanted === '') return { file: defaultLogFile(io.env, io.platform) };
  const absolute = io.platform === 'win32' ? path.win32.isAbsolute(wanted) : path.posix.isAbsolute(wanted);
  return absolute ? { file: wanted } : { file: defaultLogFile(io.env, io.platform), ignored: wanted };
}

/** A request rejected before its conf was read still gets a log line, at the default path. */
function logEarlyFailure(info: PluginInfo, io: ProcessIo, command: string, fields: Record<string, unknown>): void {
  const log = new Logger({ file: defaultLogFile(io.env, io.platform), platform: io.platform }, { plugin: info.name, pid: process.pid, command });
  log.once(firstLineFields(hostVersions(io.env, io.platform)));
  log.finish('error', fields);
}

/** The entry point of an executable. */
export function main(info: PluginInfo): void {
  // Libraries must never write to stdout: it carries exactly one JSON document.
  const toStderr = (...a: unknown[]) => writeStderr(a.map(String).join(' ') + '\n');
  console.log = console.info = console.debug = console.warn = console.error = toStderr;
  runPlugin(info).then((code) => process.exit(code));
}
