// The conformance harness (cni-spec.md §8): runs the cases against plugin executables the way a
// container runtime runs them, prints one line per case, a summary table per plugin, writes a JSON
// report under conformance/results/, and ends with `N passed, N failed`. Exit status 1 when a
// case failed, 2 for a command line it does not understand.
//
//   node conformance/run.mjs                                   the four plugins of this suite
//   node conformance/run.mjs --plugin ./my-plugin --conf my.conflist [options]
//
// See conformance/README.md for every option.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { selectCases, ALL_CASES } from './cases/index';
import type { CaseResult } from './lib/case';
import { BUILTIN_PROFILES, customProfile, FAKE_IPAM_BINARY, type PluginProfile, ROOT } from './lib/profile';
import { runPlugin, type PluginRun } from './lib/runner';
import { loadConfList } from './runtime/libcni';

interface Options {
  plugin?: string;
  conf?: string;
  type?: string;
  backend?: 'emulator' | 'none';
  network?: 'L2Bridge' | 'Overlay';
  ipv4Only: boolean;
  gateway4?: string;
  gateway6?: string;
  requiredKeys: string[];
  versions?: string[];
  env: Record<string, string>;
  only: string[];
  plugins: string[];
  jobs: number;
  keep: boolean;
  report?: string;
  list: boolean;
}

const USAGE = `usage: node conformance/run.mjs [--plugins a,b] [--only A,B03,...] [--jobs N] [--keep] [--report file]
       node conformance/run.mjs --plugin <executable> --conf <conflist|conf> [--type T] [--backend emulator|none]
            [--network L2Bridge|Overlay] [--ipv4-only] [--gateway4 IP] [--gateway6 IP] [--required-key K]...
            [--versions v1,v2] [--env K=V]... [--only ...] [--jobs N] [--keep] [--report file]
       node conformance/run.mjs --list`;

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = { ipv4Only: false, requiredKeys: [], env: {}, only: [], plugins: [], jobs: 2, keep: false, list: false };
  const value = (i: number, name: string) => {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--plugin': o.plugin = value(i++, a); break;
      case '--conf': o.conf = value(i++, a); break;
      case '--type': o.type = value(i++, a); break;
      case '--backend': {
        const v = value(i++, a);
        if (v !== 'emulator' && v !== 'none') throw new UsageError('--backend is emulator or none');
        o.backend = v;
        break;
      }
      case '--network': {
        const v = value(i++, a);
        if (v !== 'L2Bridge' && v !== 'Overlay') throw new UsageError('--network is L2Bridge or Overlay');
        o.network = v;
        break;
      }
      case '--ipv4-only': o.ipv4Only = true; break;
      case '--gateway4': o.gateway4 = value(i++, a); break;
      case '--gateway6': o.gateway6 = value(i++, a); break;
      case '--required-key': o.requiredKeys.push(value(i++, a)); break;
      case '--versions': o.versions = value(i++, a).split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--env': {
        const v = value(i++, a);
        const eq = v.indexOf('=');
        if (eq <= 0) throw new UsageError('--env takes KEY=VALUE');
        o.env[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case '--only': o.only.push(...value(i++, a).split(',')); break;
      case '--plugins': o.plugins.push(...value(i++, a).split(',').map((s) => s.trim()).filter(Boolean)); break;
      case '--jobs': {
        o.jobs = Number(value(i++, a));
        if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new UsageError('--jobs is a positive integer');
        break;
      }
      case '--keep': o.keep = true; break;
      case '--report': o.report = value(i++, a); break;
      case '--list': o.list = true; break;
      case '-h': case '--help': throw new UsageError('');
      default: throw new UsageError(`unknown option ${a}`);
    }
  }
  if (o.plugin && !o.conf) throw new UsageError('--plugin needs --conf (the conflist whose plugin object is tested)');
  if (o.conf && !o.plugin) throw new UsageError('--conf goes with --plugin');
  return o;
}

/**
 * Builds what the run needs (incremental: nothing is redone when up to date): the suite's Linux
 * executables for its own plugins, and the fake IPAM either way.
 */
function buildWhatIsNeeded(o: Options): void {
  const args = o.plugin ? ['build.mjs', '--target', 'linux-x64', '--only', 'fake-ipam'] : ['build.mjs', '--target', 'linux-x64', '--tools'];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (exit ${r.status})`);
}

/** A conf that already holds runtimeConfig tests something no runtime sends: the runtime writes it from the capabilities. */
function warnOnRuntimeConfig(file: string): void {
  const list = loadConfList(file);
  const given = list.plugins.filter((p) => Object.keys(p).some((k) => k.toLowerCase() === 'runtimeconfig'));
  if (given.length) {
    process.stderr.write(`conformance: warning: ${file} already holds "runtimeConfig": runtimes build it for each request from the declared "capabilities", but the harness sends the conf as given, so every case carries this one (cases that set their own replace it); remove it from the conf to test what runtimes send\n`);
  }
}

function profiles(o: Options): PluginProfile[] {
  if (o.plugin) {
    return [customProfile({
      binary: o.plugin, conf: o.conf!, type: o.type, backend: o.backend, network: o.network, ipv4Only: o.ipv4Only,
      gateway4: o.gateway4, gateway6: o.gateway6, requiredKeys: o.requiredKeys.length ? o.requiredKeys : undefined, versions: o.versions, env: o.env,
    })];
  }
  const names = o.plugins.length ? o.plugins : Object.keys(BUILTIN_PROFILES);
  return names.map((n) => {
    const p = BUILTIN_PROFILES[n];
    if (!p) throw new UsageError(`unknown plugin ${n}; the suite's are ${Object.keys(BUILTIN_PROFILES).join(', ')} (use --plugin for any other)`);
    if (!fs.existsSync(p.binary)) throw new Error(`${p.binary} does not exist: build it first (node build.mjs --target linux-x64 --tools)`);
    return p;
  });
}

function counts(results: CaseResult[]) {
  return {
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    notApplicable: results.filter((r) => r.status === 'n/a').length,
  };
}

function summary(runs: PluginRun[]): string {
  const rows = runs.map((r) => ({ name: r.profile.label, ...counts(r.results), seconds: r.seconds }));
  const w = Math.max(14, ...rows.map((r) => r.name.length));
  const lines = [`${'plugin'.padEnd(w)}  passed  failed  n/a  seconds`];
  for (const r of rows) lines.push(`${r.name.padEnd(w)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.notApplicable).padStart(3)}  ${r.seconds.toFixed(1).padStart(7)}`);
  return lines.join('\n');
}

function writeReport(runs: PluginRun[], started: Date, file: string | undefined, argv: string[]): string {
  const dir = path.join(ROOT, 'conformance', 'results');
  const target = file ? path.resolve(file) : path.join(dir, `report-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const doc = {
    started: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    command: ['node', 'conformance/run.mjs', ...argv].join(' '),
    spec: 'shared/reference/cni-spec.md §8 (cases A01-P04)',
    plugins: runs.map((r) => ({
      plugin: r.profile.label,
      type: r.profile.type,
      binary: r.profile.binary,
      backend: r.profile.backend,
      network: r.profile.network,
      ...counts(r.results),
      seconds: r.seconds,
      cases: r.results,
    })),
  };
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, JSON.stringify(doc, null, 2) + '\n');
  if (!file) fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(doc, null, 2) + '\n');
  return target;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let o: Options;
  let cases: ReturnType<typeof selectCases>;
  let targets: PluginProfile[];
  try {
    o = parseArgs(argv);
    if (o.list) {
      for (const c of ALL_CASES) process.stdout.write(`${c.id}  ${c.title}\n`);
      return 0;
    }
    try {
      cases = selectCases(o.only);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (o.conf) warnOnRuntimeConfig(o.conf);
    buildWhatIsNeeded(o);
    targets = profiles(o);
    for (const t of targets) {
      try {
        fs.accessSync(t.binary, fs.constants.X_OK);
      } catch {
        throw new Error(`${t.binary} is not executable (a build still under way?)`);
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `${err.message}\n` : ''}${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (!fs.existsSync(FAKE_IPAM_BINARY)) throw new Error(`${FAKE_IPAM_BINARY} does not exist: build the test tools first (node build.mjs --target linux-x64 --tools)`);
  const started = new Date();
  const runs: PluginRun[] = [];
  const print = (line: string) => process.stdout.write(`${line}\n`);
  for (const p of targets) {
    print(`\n=== ${p.label}: ${p.binary} (${cases.length} cases, backend ${p.backend}, ${p.network} network)`);
    runs.push(await runPlugin(p, cases, { jobs: o.jobs, caseTimeoutMs: 180_000, print, keep: o.keep }));
  }
  const report = writeReport(runs, started, o.report, argv);
  print('');
  print(summary(runs));
  const shown = path.relative(process.cwd(), report);
  print(`report: ${shown.startsWith('..') ? report : shown}; ${((Date.now() - started.getTime()) / 1000).toFixed(1)} s`);
  const total = runs.flatMap((r) => r.results);
  const c = counts(total);
  print(`${c.passed} passed, ${c.failed} failed`);
  return c.failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`conformance: ${(err as Error)?.stack ?? String(err)}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
});
