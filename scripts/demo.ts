// The main job, end to end on the HNS emulator: for each plugin, the node agent (cni-agent
// --once, peers from a file) brings the node up before any pod: the HNS network, on L2Bridge the
// host endpoint at .2 with forwarding on, the routes or RemoteSubnetRoute policies to two peers,
// and the conflist. Then a pod namespace as containerd makes one, and ADD, CHECK, DEL and DEL
// again through the built executable, the way containerd calls it (conformance/runtime/libcni).
// Prints each step's result and what HNS holds after it.
//
//   npm run demo            (builds the Linux executables first)
//   npm run demo -- --ping  then two host-gateway nodes whose emulator realizes HNS as Linux
//                           networking (network namespaces, root): a pod on each, a real ping across
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

/** The node agent's view of each example node: its pod subnets (as the example's IPAM), and two peers. */
const NODE_IP = '192.168.10.21';
const POD_CIDRS: Record<string, string[]> = {
  'win-l2bridge': ['10.244.3.0/24', 'fd00:10:244:3::/64'],
  'win-overlay': ['10.244.3.0/24'],
  'host-gateway': ['10.244.3.0/24', 'fd00:10:244:3::/64'],
  'l3-upstream': ['10.244.3.0/24', 'fd00:10:244:3::/64'],
};
const PEERS = [
  { name: 'win-node-4', nodeIP: '192.168.10.22', podCIDR: '10.244.4.0/24', vtepMac: '00-15-5D-D0-00-04' },
  { name: 'linux-node-5', nodeIP: '192.168.10.23', podCIDR: '10.244.5.0/24', vtepMac: 'ae:4f:1c:22:01:9b' },
];

function agent(env: NodeJS.ProcessEnv, dir: string, plugin: string, network: string): string {
  fs.writeFileSync(path.join(dir, 'peers.json'), JSON.stringify(PEERS, null, 2));
  const config = {
    mode: plugin, network, node: 'win-node-3', podCIDR: POD_CIDRS[plugin], nodeIP: NODE_IP, netAdapter: 'Ethernet',
    clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', clusterDNS: '10.96.0.10',
    confDir: path.join(dir, 'conf'), peers: { source: 'file', file: 'peers.json' },
    stateDir: path.join(dir, 'agent-state'), logFile: path.join(dir, 'cni-agent.log'),
  };
  fs.writeFileSync(path.join(dir, 'agent.json'), JSON.stringify(config, null, 2));
  const r = spawnSync(path.join(DIST, 'cni-agent'), ['--config', path.join(dir, 'agent.json'), '--once'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cni-agent --once failed: ${r.stderr}${r.stdout}`);
  return r.stdout.trimEnd();
}

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
  const list = loadConfList(path.join(examples, example));
  say(`\n=== ${plugin} (plugins/${plugin}/examples/${example})`);
  fs.mkdirSync(dir, { recursive: true });
  hnsctl(env, 'emulator', 'set', 'managementIp', NODE_IP);
  say(`$ cni-agent --config agent.json --once   (mode ${plugin}, network ${list.name}, peers from peers.json: ${PEERS.map((p) => p.name).join(', ')})`);
  say(agent(env, dir, plugin, list.name));
  say('$ hnsctl list networks');
  say(hnsctl(env, 'list', 'networks'));
  if (plugin !== 'win-overlay') {
    say('$ hnsctl list endpoints   (the host\'s bridge endpoint at .2, in the host\'s compartment)');
    say(hnsctl(env, 'list', 'endpoints'));
    say('$ hnsctl list interfaces');
    say(hnsctl(env, 'list', 'interfaces'));
  }
  if (plugin === 'host-gateway') {
    say('$ hnsctl list routes   (a route to each peer\'s pod subnet via its node IP: netmgmt)');
    say(hnsctl(env, 'list', 'routes'));
  }
  if (plugin === 'win-overlay') {
    say('$ hnsctl list networks --json   (its RemoteSubnetRoute policies, one per peer)');
    const nets = JSON.parse(hnsctl(env, 'list', 'networks', '--json')) as { Policies?: { Type: string; Settings: unknown }[] }[];
    say(JSON.stringify(nets.flatMap((n) => n.Policies ?? []).filter((p) => p.Type === 'RemoteSubnetRoute'), null, 2));
  }
  say(`conflist written by the agent: ${path.join(dir, 'conf', `10-${list.name}.conflist`)}`);
  const netns = hnsctl(env, 'namespace', 'create');
  say(`$ hnsctl namespace create   (containerd makes one per pod)\n${netns}`);

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

/** Two emulated host-gateway nodes on one underlay, each brought up by its agent, peers of each other. */
const PING_NODES = [
  { name: 'win-node-1', nodeIP: '192.0.2.11', podCIDR: '10.244.1.0/24' },
  { name: 'win-node-2', nodeIP: '192.0.2.12', podCIDR: '10.244.2.0/24' },
];
const PING_UNDERLAY = 'cni-demo-underlay';

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout.trimEnd();
}

async function pingAcrossNodes(root: string): Promise<void> {
  say('\n=== two host-gateway nodes, HNS realized as Linux networking (hnsctl emulator set dataplane netns)');
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return say('not run: the Linux data plane needs root on Linux (network namespaces)');
  const nodes = PING_NODES.map((n, i) => {
    const dir = path.join(root, 'ping', n.name);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, CNI_HNS_BACKEND: 'emulator', CNI_HNS_EMULATOR_DIR: path.join(dir, 'hns'), CNI_STATE_DIR: path.join(dir, 'state'), CNI_LOG_FILE: path.join(dir, 'cni-plugins.log') };
    return { ...n, dir, env, netnsName: `cni-demo-node${i + 1}`, pod: undefined as undefined | { attachment: RuntimeAttachment; ip: string; netns: string } };
  });
  const rt = (n: (typeof nodes)[number]) => ({ binDirs: [DIST], env: n.env, cacheDir: path.join(n.dir, 'cache') });
  const conflist = (n: (typeof nodes)[number]) => loadConfList(path.join(n.dir, 'conf', '10-cbr0.conflist'));
  try {
    for (const n of nodes) {
      fs.mkdirSync(n.dir, { recursive: true });
      for (const [knob, value] of [['managementIp', n.nodeIP], ['dataplaneNode', n.netnsName], ['dataplaneUnderlay', PING_UNDERLAY], ['dataplane', 'netns']]) hnsctl(n.env, 'emulator', 'set', knob!, value!);
      const peers = nodes.filter((p) => p !== n).map(({ name, nodeIP, podCIDR }) => ({ name, nodeIP, podCIDR }));
      fs.writeFileSync(path.join(n.dir, 'peers.json'), JSON.stringify(peers));
      const config = {
        mode: 'host-gateway', network: 'cbr0', node: n.name, podCIDR: [n.podCIDR], nodeIP: n.nodeIP, netAdapter: 'Ethernet',
        clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', clusterDNS: '10.96.0.10',
        confDir: path.join(n.dir, 'conf'), peers: { source: 'file', file: 'peers.json' },
        stateDir: path.join(n.dir, 'agent-state'), logFile: path.join(n.dir, 'cni-agent.log'),
      };
      fs.writeFileSync(path.join(n.dir, 'agent.json'), JSON.stringify(config));
      run(path.join(DIST, 'cni-agent'), ['--config', path.join(n.dir, 'agent.json'), '--once'], n.env);
      const hnsNamespace = hnsctl(n.env, 'namespace', 'create');
      const attachment: RuntimeAttachment = { containerId: `demo-ping-${n.name}`, ifName: 'eth0', netns: hnsNamespace, args: [['K8S_POD_NAME', `web-${n.name}`]] };
      const result = (await addNetworkList(rt(n), conflist(n), attachment)) as { ips: { address: string }[] };
      n.pod = { attachment, ip: result.ips[0]!.address.split('/')[0]!, netns: hnsctl(n.env, 'emulator', 'dataplane', 'netns', hnsNamespace) };
      say(`${n.name} (${n.nodeIP}, namespace ${n.netnsName}): agent --once, then pod web-${n.name} ADDed: ${n.pod.ip} in namespace ${n.pod.netns}`);
    }
    const [a, b] = nodes as [(typeof nodes)[number], (typeof nodes)[number]];
    say(`$ ip netns exec ${a.pod!.netns} ping -c 2 ${b.pod!.ip}   (pod on ${a.name} -> pod on ${b.name}, via the host routes the agents made)`);
    say(run('ip', ['netns', 'exec', a.pod!.netns, 'ping', '-c', '2', '-W', '2', b.pod!.ip]));
  } finally {
    for (const n of nodes) {
      if (n.pod) await delNetworkList(rt(n), conflist(n), n.pod.attachment).catch((err: Error) => say(`DEL on ${n.name}: ${err.message}`));
      if (fs.existsSync(path.join(n.dir, 'hns'))) spawnSync(path.join(DIST, 'hnsctl'), ['emulator', 'dataplane', 'down'], { env: n.env });
    }
    spawnSync('ip', ['netns', 'delete', PING_UNDERLAY]);
  }
  say('DEL of both pods, then hnsctl emulator dataplane down on both nodes: their namespaces are gone');
}

async function main(): Promise<void> {
  const root = path.join(ROOT, '.demo');
  fs.rmSync(root, { recursive: true, force: true });
  for (const { plugin, example } of PODS) await demo(plugin, example, root);
  say('\nAll four plugins: node brought up by cni-agent, then ADD, CHECK, DEL, DEL again: ok');
  if (process.argv.includes('--ping')) await pingAcrossNodes(root);
  say(`Kept in ${root}: each plugin's emulator state (hns/), plugin state (state/), logs (cni-plugins.log, cni-agent.log), the agent's config and conflist.`);
}

main().catch((err) => {
  fs.writeSync(2, `demo failed: ${(err as Error).message}\n`);
  process.exit(1);
});
