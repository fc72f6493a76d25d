// The main job, end to end on the HNS emulator: for each plugin, the node's network is created
// with `hnsctl apply`, a pod namespace as containerd makes one, then ADD, CHECK, DEL and DEL
// again through the built executable, the way containerd calls it (conformance/runtime/libcni).
// Prints each step's result and what HNS holds after it.
//
//   npm run demo            (builds the Linux executables first)
//
// Everything the run made stays in .demo/ (emulator state, plugin state, the plugins' logs) until
// the next run; the last lines say where.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { addNetworkList, checkNetworkList, delNetworkList, loadConfList, type RuntimeAttachment } from '../conformance/runtime/libcni';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'linux-x64');
const PODS: { plugin: string; example: string }[] = [
  { plugin: 'win-l2bridge', example: 'full.conflist' },
  { plugin: 'win-overlay', example: 'full.conflist' },
  { plugin: 'host-gateway', example: 'from-win-bridge-v2.conflist' },
  { plugin: 'l3-upstream', example: 'full.conflist' },
];

function hnsctl(env: NodeJS.ProcessEnv, ...args: string[]): string {
  const r = spawnSync(path.join(DIST, 'hnsctl'), args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hnsctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trimEnd();
}

function say(line = ''): void {
  fs.writeSync(1, `${line}\n`);
}

async function demo(plugin: string, example: string, root: string): Promise<void> {
  const dir = path.join(root, plugin);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    CNI_HNS_BACKEND: 'emulator',
    CNI_HNS_EMULATOR_DIR: path.join(dir, 'hns'),
    CNI_STATE_DIR: path.join(dir, 'state'),
    CNI_LOG_FILE: path.join(dir, 'cni-plugins.log'),
  };
  const examples = path.join(ROOT, 'plugins', plugin, 'examples');
  say(`\n=== ${plugin} (plugins/${plugin}/examples/${example})`);
  say(`$ hnsctl apply plugins/${plugin}/examples/node-network.json`);
  say(hnsctl(env, 'apply', path.join(examples, 'node-network.json')));
  const netns = hnsctl(env, 'namespace', 'create');
  say(`$ hnsctl namespace create   (containerd makes one per pod)\n${netns}`);

  const list = loadConfList(path.join(examples, example));
  for (const p of list.plugins) {
    if (p.ipam) (p.ipam as Record<string, unknown>).dataDir = path.join(dir, 'ipam');
    // The examples name Windows paths; here the log goes to the demo's folder.
    if (p.logFile) p.logFile = env.CNI_LOG_FILE;
  }
  const rt = { binDirs: [DIST, '/usr/lib/cni'], env, cacheDir: path.join(dir, 'cache') };
  const pod: RuntimeAttachment = {
    containerId: 'd1e2a3d4b5e6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2',
    ifName: 'eth0',
    netns,
    args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', 'web-0']],
    capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'] } },
  };
  say(`\n-- ADD (cniVersion ${list.cniVersion})`);
  say(JSON.stringify(await addNetworkList(rt, list, pod), null, 2));
  say('$ hnsctl pods');
  say(hnsctl(env, 'pods'));
  say('$ hnsctl list endpoints --json   (the pod\'s endpoint as HNS holds it: addresses, routes, DNS, policies)');
  const endpoints = JSON.parse(hnsctl(env, 'list', 'endpoints', '--json')) as { Name?: string }[];
  say(JSON.stringify(endpoints.filter((e) => e.Name?.startsWith(pod.containerId)), null, 2));
  say('\n-- CHECK');
  await checkNetworkList(rt, list, pod);
  say('ok');
  say('\n-- DEL');
  await delNetworkList(rt, list, pod);
  say('ok');
  say('-- DEL again (the runtime may repeat it)');
  await delNetworkList(rt, list, pod);
  say('ok');
  say('$ hnsctl list endpoints   (only the node\'s own endpoints are left)');
  say(hnsctl(env, 'list', 'endpoints'));
  say(`log: ${env.CNI_LOG_FILE} (${fs.readFileSync(env.CNI_LOG_FILE!, 'utf8').trim().split('\n').length} lines, one JSON line per step)`);
}

async function main(): Promise<void> {
  const root = path.join(ROOT, '.demo');
  fs.rmSync(root, { recursive: true, force: true });
  for (const { plugin, example } of PODS) await demo(plugin, example, root);
  say('\nAll four plugins: ADD, CHECK, DEL, DEL again: ok');
  say(`Kept in ${root}: each plugin's emulator state (hns/), plugin state (state/) and log (cni-plugins.log).`);
}

main().catch((err) => {
  fs.writeSync(2, `demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
