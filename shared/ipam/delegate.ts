// Delegation to an IPAM plugin on CNI_PATH (spec §6): the whole stdin, byte for byte, the same
// environment with only CNI_COMMAND changed, the delegate's stderr passed through to ours, and
// its error code kept.

import fs from 'node:fs';
import path from 'node:path';
import { CniError, ErrorCode } from '../cni/errors';
import { parseResult } from '../cni/result/convert';
import type { Result100 } from '../cni/result/v100';
import type { CniRequest } from '../cni/skel';
import { writeStderr } from '../cni/stdio';
import type { Ipam } from './types';
import { waitBudget } from '../sys/deadline';

/** The delegate's own deadline; below the runtime's, so the error is ours and says what hung. */
const DELEGATE_TIMEOUT_MS = 60_000;

/** `<dir>\<type>.exe` then `<dir>\<type>` on Windows, `<dir>/<type>` elsewhere, first directory first. */
export function findPlugin(type: string, dirs: string[], platform: NodeJS.Platform): string {
  if (!type || type.includes('/') || type.includes('\\') || type === '.' || type === '..') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid IPAM plugin name ${JSON.stringify(type)}`);
  }
  if (dirs.length === 0) throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_PATH is empty: no paths to find the IPAM plugin in');
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  for (const dir of dirs) {
    const names = platform === 'win32' ? [`${type}.exe`, type] : [type];
    for (const n of names) {
      const file = join(dir, n);
      if (isExecutableFile(file, platform)) return file;
    }
  }
  throw new CniError(ErrorCode.IpamFailure, `failed to find IPAM plugin "${type}" in path [${dirs.join(' ')}]`, 'install it in one of the CNI_PATH directories, or fix ipam.type');
}

function isExecutableFile(file: string, platform: NodeJS.Platform): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    if (platform !== 'win32') fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The runtime's environment with only CNI_COMMAND changed, less NODE_OPTIONS: our executables
 * ignore it (build.mjs), and a Node-based IPAM plugin must not run a preload the runtime's
 * environment happens to carry either.
 */
export function delegateEnv(env: NodeJS.ProcessEnv, verb: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, CNI_COMMAND: verb };
  for (const k of Object.keys(out)) if (k.toUpperCase() === 'NODE_OPTIONS') delete out[k];
  return out;
}

function execPlugin(file: string, verb: string, req: CniRequest): Promise<Exec> {
  return new Promise((resolve, reject) => {
    // Loaded here: child_process (with net, dgram and streams) is a cost only delegation pays.
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const child = spawn(file, [], { env: delegateEnv(req.env, verb), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const limitMs = waitBudget(req, DELEGATE_TIMEOUT_MS);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CniError(ErrorCode.TryAgainLater, `IPAM plugin ${path.basename(file)} (${verb}) did not finish within ${Math.round(limitMs / 1000)} s`));
    }, limitMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err.push(d);
      writeStderr(d.toString('utf8'));
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CniError(ErrorCode.IpamFailure, `running IPAM plugin ${file} failed: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // A delegate that exits without reading stdin closes the pipe under us; its exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(req.stdin);
  });
}

/**
 * The delegate's failure as our error, keeping its CNI code (win-bridge loses it to 999). A
 * delegate's own 999 (untyped: host-local answers every error of its skeleton and allocator so,
 * e.g. a CNI_ARGS it cannot parse or a requested IP it cannot give) becomes 103, the code of an
 * IPAM plugin that failed without a code of its own.
 */
function delegateFailure(type: string, verb: string, r: Exec): CniError {
  const text = r.stdout.trim();
  if (text) {
    try {
      const e = JSON.parse(text) as { code?: unknown; msg?: unknown; details?: unknown };
      if (typeof e.code === 'number' && e.code > 0) {
        return new CniError(e.code === ErrorCode.Internal ? ErrorCode.IpamFailure : e.code, `IPAM plugin ${type} failed (${verb}): ${String(e.msg ?? '')}`, typeof e.details === 'string' ? e.details : undefined);
      }
    } catch {
      /* not an error object; fall through to the raw text */
    }
    return new CniError(ErrorCode.IpamFailure, `IPAM plugin ${type} failed (${verb}), exit ${r.code}: ${text.slice(0, 500)}`);
  }
  return new CniError(ErrorCode.IpamFailure, `IPAM plugin ${type} failed (${verb}), exit ${r.code}: ${r.stderr.trim().slice(0, 500) || 'no error message'}`);
}

export class DelegatedIpam implements Ipam {
  constructor(readonly kind: string, private readonly req: CniRequest) {}

  private async run(verb: string): Promise<string> {
    const file = findPlugin(this.kind, this.req.cmd.path, this.req.platform);
    const r = await execPlugin(file, verb, this.req);
    if (r.code !== 0) throw delegateFailure(this.kind, verb, r);
    return r.stdout;
  }

  async add(opts: { reuse?: boolean } = {}): Promise<Result100> {
    // A delegate refuses a second ADD for a claim it holds (host-local: "duplicate allocation"),
    // so a claim left by an attachment HNS dropped is released first; the address may change.
    if (opts.reuse) await this.run('DEL');
    const out = await this.run('ADD');
    try {
      return this.parseAdd(out);
    } catch (err) {
      // The delegate succeeded, so it may hold addresses we cannot use: release them before
      // reporting (spec §6.2: IPAM DEL after a failure that follows a successful IPAM ADD).
      await this.run('DEL').catch((e) => writeStderr(`warning: releasing the unusable IPAM answer failed: ${(e as Error).message}\n`));
      throw err;
    }
  }

  private parseAdd(out: string): Result100 {
    let doc: unknown;
    try {
      doc = JSON.parse(out);
    } catch {
      throw new CniError(ErrorCode.DecodingFailure, `IPAM plugin ${this.kind} printed something that is not JSON`, out.slice(0, 500));
    }
    const result = parseResult(doc, { requestVersion: this.req.version, sameFamily: false, what: `the result of IPAM plugin ${this.kind}` });
    if (!result.ips || result.ips.length === 0) throw new CniError(ErrorCode.IpamFailure, `IPAM plugin ${this.kind} returned no IP addresses`);
    return result;
  }

  async del(): Promise<void> {
    await this.run('DEL');
  }

  async check(): Promise<void> {
    await this.run('CHECK');
  }

  /**
   * GC and STATUS exist since 1.1.0; a delegate that does not speak the request's version is
   * skipped, as libcni skips such plugins in a list (cni-spec.md §7.6, §7.7). It is asked only
   * once it has refused: a refusal with code 1 (incompatible version) says so itself; any other
   * refusal is checked against its VERSION answer, because old delegates refuse the verbs they do
   * not know with other codes (Debian's host-local 1.1.1, which stops at 1.0.0, answers GC with
   * code 3 "missing containerID" as libcni calls it, or 4 "unknown CNI_COMMAND").
   */
  private async runUnlessTooOld(verb: string): Promise<void> {
    try {
      await this.run(verb);
    } catch (err) {
      if (!(err instanceof CniError)) throw err;
      if (err.code !== ErrorCode.IncompatibleVersion && (await this.speaksRequestVersion())) throw err;
      this.req.log.event(`ipam-${verb.toLowerCase()}-skipped`, { ipam: this.kind, note: `the IPAM plugin does not speak CNI ${this.req.version}, which ${verb} needs: ${err.message}` });
    }
  }

  /** Whether the delegate lists the request's version; an answer that is no version list counts as yes (its error stands). */
  private async speaksRequestVersion(): Promise<boolean> {
    try {
      const r = await execPlugin(findPlugin(this.kind, this.req.cmd.path, this.req.platform), 'VERSION', this.req);
      const versions = (JSON.parse(r.stdout) as { supportedVersions?: unknown }).supportedVersions;
      return !Array.isArray(versions) || versions.includes(this.req.version);
    } catch {
      return true;
    }
  }

  async gc(): Promise<void> {
    await this.runUnlessTooOld('GC');
  }

  async status(): Promise<void> {
    try {
      await this.runUnlessTooOld('STATUS');
    } catch (err) {
      // A STATUS that cannot run the delegate at all still means ADD cannot be served.
      const keep: number[] = [ErrorCode.PluginNotAvailable, ErrorCode.PluginNotAvailableLimitedConnectivity, ErrorCode.TryAgainLater];
      if (err instanceof CniError && keep.includes(err.code)) throw err;
      throw new CniError(ErrorCode.PluginNotAvailable, (err as Error).message);
    }
  }
}
