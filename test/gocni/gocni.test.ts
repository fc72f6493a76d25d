// The built executables driven the way containerd's CRI drives them on a Windows node: through
// containerd's own go-cni and libcni (Debian's golang-github-containerd-go-cni-dev 1.1.7 and
// golang-github-appc-cni-dev 1.1.2), by a small Go program (driver/main.go) built here offline.
// For each plugin, on a fresh scratch node with the HNS emulator: 20 pod sandboxes, 5 at once,
// each through namespace create, Setup (ADD), Check, Remove (DEL), Remove again, namespace delete,
// with the CRI's labels, a host port per pod and the cluster DNS. Asserted: no step fails, no IP
// is handed out twice, each endpoint carried its port mapping and the runtime's DNS, and nothing
// is left in HNS, the IPAM store, the plugins' records or libcni's cache.
// The executables are built first (incrementally); GOCNI_SKIP_BUILD=1 uses dist/linux-x64 as is.
//
// go-cni marshals the CRI's capability arguments from Go structs with no JSON tags, so
// runtimeConfig arrives with Go field names (HostPort, Servers, ...). The last suites pin that
// request and check the plugins treat those keys as Go's decoder does (case-insensitively).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sortedJson } from '../../conformance/runtime/libcni';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { cniEnv, DEBIAN_CNI_DIR, DIST, exampleNode, newNamespace, plugin, PLUGINS, ROOT, runExe, type PluginName, type ScratchNode } from '../helpers/node';

const TMP = path.join(ROOT, 'test', '.tmp', 'gocni');
const DRIVER = path.join(TMP, 'gocni-driver');
const GOCODE = '/usr/share/gocode';
const PODS = 20;
const IN_FLIGHT = 5;
const HOST_PORT_BASE = 30000;
/** What the driver passes to go-cni's WithCapabilityDNS. */
const RUNTIME_DNS = { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] };
/** The plugins' own file in host-local's store holding the bridge endpoint's address. */
const GATEWAY_RESERVATION = 'reserved: pod gateway (bridge endpoint)';
const PROTOCOL_TCP = 6;

/** Two plugins use the built-in IPAM, two delegate to Debian's host-local. */
const IPAM_OF: Record<PluginName, 'builtin' | 'host-local'> = {
  'win-l2bridge': 'builtin',
  'win-overlay': 'host-local',
  'host-gateway': 'host-local',
  'l3-upstream': 'builtin',
};
/** Keys a plugin requires beyond the IPAM. */
/** Keys each plugin's conf carries here: on Overlay, host ports are applied only when asked for ("hostPorts"). */
const REQUIRED: Record<PluginName, Record<string, unknown>> = {
  'win-l2bridge': {},
  'win-overlay': { hostPorts: true },
  'host-gateway': { clusterCIDR: '10.244.0.0/16' },
  'l3-upstream': { clusterCIDR: '10.244.0.0/16' },
};

// --- preparation: the executables and the driver, once ------------------------------------------

let prepared: Promise<void> | undefined;

function sh(cmd: string, args: string[], what: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stdout}${r.stderr}`);
}

function prepare(): Promise<void> {
  prepared ??= (async () => {
    for (const [file, pkg] of [
      [`${GOCODE}/src/github.com/containerd/go-cni/cni.go`, 'golang-github-containerd-go-cni-dev'],
      [`${GOCODE}/src/github.com/containernetworking/cni/libcni/api.go`, 'golang-github-appc-cni-dev'],
      [path.join(DEBIAN_CNI_DIR, 'host-local'), 'containernetworking-plugins'],
    ] as const) {
      if (!fs.existsSync(file)) throw new Error(`${file} is missing: install ${pkg} (bash scripts/setup-deps.sh)`);
    }
    // Incremental: only what changed is rebuilt (a no-op when the build suite just ran).
    // GOCNI_SKIP_BUILD=1 takes dist/linux-x64 as it is.
    if (process.env.GOCNI_SKIP_BUILD !== '1') sh(process.execPath, ['build.mjs', '--target', 'linux-x64'], 'node build.mjs --target linux-x64');
    for (const p of [...PLUGINS, 'hnsctl']) if (!fs.existsSync(path.join(DIST, p))) throw new Error(`missing ${path.join(DIST, p)} after the build`);
    // GOPATH mode against Debian's Go sources: no module proxy, no network. CGO off: the driver
    // needs no C toolchain.
    fs.mkdirSync(path.join(TMP, 'gopath'), { recursive: true });
    const goEnv = {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${path.join(TMP, 'gopath')}:${GOCODE}`,
      GOCACHE: path.join(TMP, 'go-build'),
      GOFLAGS: '',
      GOPROXY: 'off',
      CGO_ENABLED: '0',
    };
    sh('go', ['build', '-o', DRIVER, './test/gocni/driver'], 'go build ./test/gocni/driver (golang-go)', goEnv);
  })();
  return prepared;
}

// --- the driver's report ----------------------------------------------------------------------

interface Step {
  name: string;
  outcome: 'ok' | 'failed' | 'skipped';
  error?: string;
  ms: number;
}

interface HnsEndpoint {
  ID?: string;
  Name?: string;
  HostComputeNamespace?: string;
  IpConfigurations?: { IpAddress: string; PrefixLength?: number }[];
  Dns?: { ServerList?: string[]; Search?: string[]; Domain?: string; Options?: string[] };
  Policies?: { Type: string; Settings?: Record<string, unknown> }[];
  [key: string]: unknown;
}

interface PodReport {
  index: number;
  sandboxId: string;
  name: string;
  namespace: string;
  podUid: string;
  hostPort: number;
  ip: string;
  ips: string[];
  interfaces?: Record<string, { mac: string; sandbox: string; ips: string[] }>;
  endpoint?: HnsEndpoint;
  steps: Step[];
  failed: boolean;
}

interface Report {
  network: string;
  cniVersion: string;
  ifName: string;
  cacheDir: string;
  totalMs: number;
  failures: number;
  error?: string;
  cacheLeft: string[];
  pods: PodReport[];
}

interface DriverRun {
  code: number | null;
  stderr: string;
  report: Report;
}

function runDriver(args: string[], env: NodeJS.ProcessEnv, out: string): Promise<DriverRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(DRIVER, [...args, '-out', out], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!fs.existsSync(out)) return reject(new Error(`the driver wrote no report (exit ${code}): ${stderr}`));
      resolve({ code, stderr, report: JSON.parse(fs.readFileSync(out, 'utf8')) as Report });
    });
  });
}

// --- a scratch node for one plugin --------------------------------------------------------------

interface NodeNetwork {
  name: string;
  /** The node's IPv4 pod subnet (the HNS network's). */
  subnet: string;
}

function nodeNetwork(p: PluginName): NodeNetwork {
  const doc = JSON.parse(fs.readFileSync(path.join(ROOT, 'plugins', p, 'examples', 'node-network.json'), 'utf8')) as { networks: { Name: string; Ipams: { Subnets: { IpAddressPrefix: string }[] }[] }[] };
  const net = doc.networks[0]!;
  const subnet = net.Ipams.flatMap((i) => i.Subnets).map((s) => s.IpAddressPrefix).find((s) => !s.includes(':'));
  assert.ok(subnet, `an IPv4 subnet in ${p}'s node-network.json`);
  return { name: net.Name, subnet };
}

function hostLocalDir(node: ScratchNode): string {
  return path.join(node.dir, 'host-local');
}

/** What an operator would put in containerd's conf_dir for this plugin (libcni 1.1.2 stops at 1.0.0). */
function conflist(p: PluginName, node: ScratchNode, net: NodeNetwork): object {
  const ipam = IPAM_OF[p] === 'builtin' ? { type: 'builtin', subnet: net.subnet } : { type: 'host-local', subnet: net.subnet, dataDir: hostLocalDir(node) };
  return {
    cniVersion: '1.0.0',
    name: net.name,
    plugins: [{ type: p, capabilities: { portMappings: true, dns: true }, ipam, ...REQUIRED[p] }],
  };
}

function ipv4InSubnet(ip: string, subnet: string): boolean {
  const toInt = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const [base, bits] = subnet.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

/** "step: error" lines, one per distinct failure, with how many pods had it. */
function summarize(lines: string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].map(([l, n]) => (n > 1 ? `${n}x ${l}` : l));
}

// --- 20 pods through go-cni, per plugin ---------------------------------------------------------

interface PluginRun {
  node: ScratchNode;
  net: NodeNetwork;
  run: DriverRun;
  /** HNS endpoints and namespaces right after `hnsctl apply`. */
  baseline: { endpoints: string[]; namespaces: string[] };
}

for (const p of PLUGINS) {
  const s = suite(`${p} via go-cni (${IPAM_OF[p]} IPAM)`);
  let pending: Promise<PluginRun> | undefined;
  let node: ScratchNode | undefined;

  const result = (): Promise<PluginRun> => {
    pending ??= (async () => {
      await prepare();
      node = exampleNode(p, 'cni-gocni-');
      const net = nodeNetwork(p);
      const state = emulatorAdmin(node.emulatorDir).readState();
      const baseline = { endpoints: Object.keys(state.endpoints).sort(), namespaces: Object.keys(state.namespaces).sort() };
      if (IPAM_OF[p] === 'host-local') fs.symlinkSync(path.join(DEBIAN_CNI_DIR, 'host-local'), path.join(node.binDir, 'host-local'));
      const confDir = path.join(node.dir, 'conf');
      fs.mkdirSync(confDir);
      fs.writeFileSync(path.join(confDir, `10-${net.name}.conflist`), JSON.stringify(conflist(p, node, net), null, 2));
      const run = await runDriver(
        ['-conf-dir', confDir, '-bin-dir', node.binDir, '-hnsctl', plugin('hnsctl'), '-pods', String(PODS), '-inflight', String(IN_FLIGHT), '-host-port-base', String(HOST_PORT_BASE), '-cache-dir', path.join(node.dir, 'libcni-cache')],
        node.env,
        path.join(node.dir, 'report.json'),
      );
      return { node, net, run, baseline };
    })();
    return pending;
  };

  s.after(() => node?.cleanup());

  s(`${PODS} pods, ${IN_FLIGHT} in flight: namespace, Setup, Check, Remove, Remove again, namespace delete all succeed`, async () => {
    const { run, net } = await result();
    const r = run.report;
    assert.is(r.error, undefined, `the driver failed before any pod: ${r.error}`);
    assert.is(r.network, net.name);
    assert.is(r.cniVersion, '1.0.0');
    assert.is(r.ifName, 'eth0');
    assert.is(r.pods.length, PODS);
    const failed = r.pods.flatMap((pod) => pod.steps.filter((st) => st.outcome !== 'ok').map((st) => `${st.name} ${st.outcome}: ${st.error ?? ''}`));
    assert.equal(summarize(failed), [], `failed steps (of ${PODS} pods):\n${summarize(failed).join('\n')}`);
    for (const pod of r.pods) assert.equal(pod.steps.map((st) => st.name), ['namespace-create', 'setup', 'capture-endpoint', 'check', 'remove', 'remove-again', 'namespace-delete']);
    assert.is(run.code, 0, run.stderr);
  });

  s('go-cni reports one distinct pod IP per pod, on eth0, in the pod subnet, with the pod namespace as sandbox', async () => {
    const { run, net } = await result();
    const up = run.report.pods.filter((pod) => pod.steps.find((st) => st.name === 'setup')?.outcome === 'ok');
    assert.is(up.length, PODS, `${up.length} of ${PODS} pods came up`);
    const problems: string[] = [];
    const owners = new Map<string, string[]>();
    for (const pod of up) {
      if (!ipv4InSubnet(pod.ip, net.subnet)) problems.push(`${pod.name}: IP ${JSON.stringify(pod.ip)} is not in ${net.subnet}`);
      owners.set(pod.ip, [...(owners.get(pod.ip) ?? []), pod.name]);
      const eth0 = pod.interfaces?.eth0;
      if (!eth0) problems.push(`${pod.name}: no eth0 in go-cni's result`);
      else if (eth0.sandbox.toLowerCase() !== pod.namespace.toLowerCase()) problems.push(`${pod.name}: eth0 sandbox ${eth0.sandbox}, namespace ${pod.namespace}`);
    }
    for (const [ip, names] of owners) if (names.length > 1) problems.push(`${ip} given to ${names.join(', ')}`);
    assert.equal(problems, []);
  });

  s("each pod's HNS endpoint (while up) carried its host port mapping and the runtime's DNS", async () => {
    const { run } = await result();
    const up = run.report.pods.filter((pod) => pod.steps.find((st) => st.name === 'capture-endpoint')?.outcome === 'ok');
    assert.is(up.length, PODS, `the endpoint of ${up.length} of ${PODS} pods was captured`);
    const problems: string[] = [];
    for (const pod of up) {
      const ep = pod.endpoint!;
      const maps = (ep.Policies ?? []).filter((pol) => pol.Type === 'PortMapping').map((pol) => pol.Settings ?? {});
      if (!maps.some((m) => m.ExternalPort === pod.hostPort && m.InternalPort === 80 && m.Protocol === PROTOCOL_TCP)) {
        problems.push(`${pod.name}: no PortMapping ${pod.hostPort}->80/TCP among ${JSON.stringify(maps)}`);
      }
      const dns = ep.Dns ?? {};
      if (JSON.stringify(dns.ServerList) !== JSON.stringify(RUNTIME_DNS.servers)) problems.push(`${pod.name}: Dns.ServerList ${JSON.stringify(dns.ServerList)}, runtime sent ${JSON.stringify(RUNTIME_DNS.servers)}`);
      if (JSON.stringify(dns.Search) !== JSON.stringify(RUNTIME_DNS.searches)) problems.push(`${pod.name}: Dns.Search ${JSON.stringify(dns.Search)}, runtime sent ${JSON.stringify(RUNTIME_DNS.searches)}`);
      if (JSON.stringify(dns.Options) !== JSON.stringify(RUNTIME_DNS.options)) problems.push(`${pod.name}: Dns.Options ${JSON.stringify(dns.Options)}, runtime sent ${JSON.stringify(RUNTIME_DNS.options)}`);
      if (!(ep.IpConfigurations ?? []).some((c) => c.IpAddress === pod.ip)) problems.push(`${pod.name}: the endpoint's IPs ${JSON.stringify(ep.IpConfigurations)} lack go-cni's ${pod.ip}`);
    }
    assert.equal(summarize(problems.map((l) => l.replace(/^gocni-pod-\d+: /, ''))), [], problems.slice(0, 8).join('\n'));
  });

  s('nothing left: no pod endpoint or namespace in HNS, no address held, no attachment record, no libcni cache entry', async () => {
    const { run, node: n, net, baseline } = await result();
    const pods = runExe(plugin('hnsctl'), n.env, '', ['pods', '--json']);
    assert.is(pods.code, 0, pods.stderr);
    assert.equal(pods.json, [], 'hnsctl pods --json');
    const state = emulatorAdmin(n.emulatorDir).readState();
    assert.equal(Object.keys(state.endpoints).sort(), baseline.endpoints, 'HNS endpoints: only the node setup\'s');
    assert.equal(Object.keys(state.namespaces).sort(), baseline.namespaces, 'HNS namespaces: only the node setup\'s');

    const storeDir = IPAM_OF[p] === 'builtin' ? path.join(n.stateDir, 'ipam', net.name) : path.join(hostLocalDir(n), net.name);
    const held = (fs.existsSync(storeDir) ? fs.readdirSync(storeDir) : []).filter((f) => {
      if (f === 'lock' || f.startsWith('last_reserved_ip.')) return false;
      if (IPAM_OF[p] === 'host-local' && fs.readFileSync(path.join(storeDir, f), 'utf8') === GATEWAY_RESERVATION) return false;
      return true;
    });
    assert.equal(held.map((f) => `${f}: ${fs.readFileSync(path.join(storeDir, f), 'utf8').replace(/\r?\n/g, ' ')}`), [], `addresses still held in ${storeDir}`);

    const records = path.join(n.stateDir, 'attachments', net.name);
    assert.equal(fs.existsSync(records) ? fs.readdirSync(records) : [], [], 'attachment records');
    assert.equal(run.report.cacheLeft, [], "libcni's result cache");
  });

  s.run();
}

// --- what go-cni sends a plugin ------------------------------------------------------------------

{
  const s = suite('the request go-cni 1.1.7 / libcni 1.1.2 sends');
  let node: ScratchNode | undefined;
  s.after(() => node?.cleanup());

  s('runtimeConfig with Go field names, the CRI labels in CNI_ARGS, the namespace GUID as CNI_NETNS', async () => {
    await prepare();
    node = exampleNode('win-l2bridge', 'cni-gocni-');
    const net = nodeNetwork('win-l2bridge');
    // A recording stand-in named like the plugin: keeps each call's CNI_* and stdin, then runs the real executable.
    const spyBin = path.join(node.dir, 'spy-bin');
    const calls = path.join(node.dir, 'calls');
    fs.mkdirSync(spyBin);
    fs.mkdirSync(calls);
    const script = `#!/bin/sh\nf="${calls}/$(date +%s%N)-$CNI_COMMAND-$$"\nenv | grep '^CNI_' > "$f.env"\ncat > "$f.stdin"\nexec "${plugin('win-l2bridge')}" < "$f.stdin"\n`;
    fs.writeFileSync(path.join(spyBin, 'win-l2bridge'), script, { mode: 0o755 });
    const confDir = path.join(node.dir, 'conf');
    fs.mkdirSync(confDir);
    fs.writeFileSync(path.join(confDir, '10-net.conflist'), JSON.stringify(conflist('win-l2bridge', node, net)));
    const run = await runDriver(['-conf-dir', confDir, '-bin-dir', spyBin, '-hnsctl', plugin('hnsctl'), '-pods', '1', '-inflight', '1', '-host-port-base', '30000', '-cache-dir', path.join(node.dir, 'cache')], node.env, path.join(node.dir, 'report.json'));
    assert.is(run.report.error, undefined, run.report.error);
    const pod = run.report.pods[0]!;
    const recorded = fs.readdirSync(calls).filter((f) => f.endsWith('.stdin')).sort().map((f) => {
      const base = f.slice(0, -'.stdin'.length);
      const env = Object.fromEntries(fs.readFileSync(path.join(calls, `${base}.env`), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      return { env, conf: JSON.parse(fs.readFileSync(path.join(calls, f), 'utf8')) as Record<string, unknown> };
    });
    const setup = pod.steps.find((st) => st.name === 'setup');
    assert.is(setup?.outcome, 'ok', `the pod's Setup (ADD) succeeded: ${JSON.stringify(setup)}`);
    assert.equal(recorded.map((c) => c.env.CNI_COMMAND), ['ADD', 'CHECK', 'DEL', 'DEL']);

    const runtimeConfig = {
      portMappings: [{ HostPort: 30000, ContainerPort: 80, Protocol: 'TCP', HostIP: '' }],
      dns: { Servers: RUNTIME_DNS.servers, Searches: RUNTIME_DNS.searches, Options: RUNTIME_DNS.options },
    };
    for (const c of recorded) {
      const what = `${c.env.CNI_COMMAND} request`;
      assert.is(c.conf.cniVersion, '1.0.0', what);
      assert.is(c.conf.name, net.name, what);
      assert.is(c.conf.type, 'win-l2bridge', what);
      // Only the capabilities the plugin declared: the pod annotations the CRI also offers are filtered out.
      assert.equal(c.conf.runtimeConfig, runtimeConfig, what);
      assert.is(c.env.CNI_CONTAINERID, pod.sandboxId, what);
      assert.is(c.env.CNI_NETNS, pod.namespace, what);
      assert.is(c.env.CNI_IFNAME, 'eth0', what);
      assert.is(c.env.CNI_PATH, spyBin, what);
      const args = Object.fromEntries((c.env.CNI_ARGS ?? '').split(';').map((kv) => kv.split('=') as [string, string]));
      assert.equal(args, { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod.name, K8S_POD_INFRA_CONTAINER_ID: pod.sandboxId, K8S_POD_UID: pod.podUid }, `${what}: CNI_ARGS ${c.env.CNI_ARGS}`);
    }
    // libcni sends the cached ADD result as prevResult to CHECK and the first DEL; the second DEL
    // comes after the cache entry was removed, so it has none.
    const dels = recorded.filter((c) => c.env.CNI_COMMAND === 'DEL');
    assert.is(dels[1]!.conf.prevResult, undefined, 'the second DEL has no prevResult');
    assert.is((dels[0]!.conf.prevResult as { cniVersion?: string } | undefined)?.cniVersion, '1.0.0', 'the first DEL carries the ADD result');
    assert.ok(recorded[1]!.conf.prevResult, 'CHECK carries the ADD result');
  });

  s.run();
}

// --- runtimeConfig keys: Go field names are the same request -----------------------------------

for (const p of PLUGINS) {
  const s = suite(`${p}: runtimeConfig as go-cni spells it`);
  let node: ScratchNode | undefined;
  s.after(() => node?.cleanup());

  s('Go field names (and "Options": null) make the same HNS endpoint as lower-case keys', async () => {
    await prepare();
    node = exampleNode(p, 'cni-gocni-');
    const n = node;
    const net = nodeNetwork(p);
    const base = { cniVersion: '1.0.0', name: net.name, type: p, capabilities: { portMappings: true, dns: true }, ipam: { type: 'builtin', subnet: net.subnet }, ...REQUIRED[p] };
    const variants: [string, object][] = [
      // the reference: lower-case keys, no null anywhere
      ['lower-case keys', { portMappings: [{ hostPort: 30001, containerPort: 80, protocol: 'TCP', hostIP: '' }], dns: { servers: ['10.96.0.10'], searches: ['svc.cluster.local'] } }],
      // exactly what go-cni sends for a pod with a host port and DNS without options
      ['Go field names, as go-cni sends', { portMappings: [{ HostPort: 30001, ContainerPort: 80, Protocol: 'TCP', HostIP: '' }], dns: { Servers: ['10.96.0.10'], Searches: ['svc.cluster.local'], Options: null } }],
      // the same request lower-cased: a null list is an absent one to Go's decoder
      ['lower-case keys with "options": null', { portMappings: [{ hostPort: 30001, containerPort: 80, protocol: 'TCP', hostIP: '' }], dns: { servers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: null } }],
    ];
    const endpoints: (HnsEndpoint | undefined)[] = [];
    const problems: string[] = [];
    variants.forEach(([label, runtimeConfig], i) => {
      const netns = newNamespace(n);
      const stdin = JSON.stringify({ ...base, runtimeConfig });
      const call = { containerId: `ctr-case-${i}`, netns };
      const add = runExe(plugin(p), cniEnv(n, { command: 'ADD', ...call }), stdin);
      const ep = Object.values(emulatorAdmin(n.emulatorDir).readState().endpoints).find((e) => e.HostComputeNamespace?.toUpperCase() === netns.toUpperCase()) as HnsEndpoint | undefined;
      endpoints.push(add.code === 0 ? ep : undefined);
      if (add.code !== 0) problems.push(`${label}: ADD exited ${add.code}: ${add.json?.msg ?? add.stdout}`);
      runExe(plugin(p), cniEnv(n, { command: 'DEL', ...call }), stdin);
      runExe(plugin('hnsctl'), n.env, '', ['namespace', 'delete', netns]);
    });
    const [reference] = endpoints;
    assert.ok(reference, `the lower-case request works: ${problems.join('; ')}`);
    assert.ok(reference.Policies?.some((pol) => pol.Type === 'PortMapping' && pol.Settings?.ExternalPort === 30001), `the lower-case request maps port 30001: ${JSON.stringify(reference.Policies)}`);
    assert.equal(reference.Dns, { ServerList: ['10.96.0.10'], Search: ['svc.cluster.local'] }, 'the lower-case request sets the runtime DNS');
    const comparable = (ep: HnsEndpoint) => {
      const { ID, Name, MacAddress, IpConfigurations, HostComputeNamespace, ...rest } = ep;
      return rest;
    };
    endpoints.forEach((ep, i) => {
      if (i === 0 || !ep) return;
      const a = sortedJson(comparable(ep));
      const b = sortedJson(comparable(reference));
      if (a !== b) problems.push(`${variants[i]![0]}: endpoint ${a}\n  differs from the lower-case request's ${b}`);
    });
    assert.equal(problems, []);
  });

  s.run();
}
