// The requests the fuzz suite sends (fuzz.test.ts), as fast-check arbitraries. A request names
// the node's namespaces symbolically (live i, upper/lower/braced, or made up), so one generated
// request means the same on any scratch node.

import fc from 'fast-check';
import type { PluginName } from '../helpers/node';
import { NETWORKS, SUBNET } from './lib';

export const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
export const STANDING_POD = 'fuzz-standing-0123456789abcdef0123456789abcdef';

export type NetnsRef = { live: number; form: 'upper' | 'lower' | 'braced' } | { text: string };
export type IpamChoice = 'builtin' | 'builtin-ranges' | 'host-local' | 'none' | 'garbage';

export interface FuzzRequest {
  plugin: PluginName;
  command: string;
  containerId: string | undefined;
  netns: NetnsRef | undefined;
  ifName: string | undefined;
  args: string | undefined;
  /** 'good': our plugins and Debian's; or a literal CNI_PATH. */
  cniPath: 'good' | { text: string };
  /** Variables of the node's environment set otherwise (the HNS backend, the emulator's folder). */
  nodeEnv?: Record<string, string>;
  /** The conf as a value (stdin is its JSON), or raw stdin text. */
  stdin: { conf: Record<string, unknown>; ipam: IpamChoice } | { raw: string };
}

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const idChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-');
const unicode = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
const garbageText = fc.oneof(fc.string({ maxLength: 30 }), unicode, fc.constantFrom('', ' ', '\u0000', '../..', 'C:\\Windows', '%s%n', 'é→世界😀', '\r\n'));
/** Any JSON value, small. */
const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

const containerId = fc.oneof(
  { weight: 4, arbitrary: hex(64) },
  { weight: 3, arbitrary: fc.constantFrom(STANDING_POD, 'fuzz-a', 'fuzz-b') },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...'abcdef0123456789'), fc.string({ unit: idChars, minLength: 200, maxLength: 254 })).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.constant('a'.repeat(255)) },
  { weight: 1, arbitrary: fc.constant('b'.repeat(256)) },
  { weight: 1, arbitrary: garbageText },
  { weight: 1, arbitrary: fc.constantFrom('-leading-dash', '.dot', 'a/b', 'a b', 'a\\b', 'ünïcödé', 'x'.repeat(4096)) },
);

const netns: fc.Arbitrary<NetnsRef> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ live: fc.integer({ min: 0, max: 2 }), form: fc.constantFrom('upper' as const, 'lower' as const, 'braced' as const) }) },
  { weight: 1, arbitrary: fc.uuid().map((text) => ({ text: text.toUpperCase() })) },
  { weight: 2, arbitrary: fc.oneof(garbageText, fc.constantFrom('none', 'container:abc', 'host', '/var/run/netns/x', '00000000-0000-0000-0000-000000000000', '{12345678-1234-1234-1234-1234567890ab', '12345678-1234-1234-1234-1234567890abc', 'G2345678-1234-1234-1234-1234567890ab', '12345678123412341234123456789012')).map((text) => ({ text })) },
);

const ifName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('eth0') },
  { weight: 2, arbitrary: fc.constantFrom('eth1', 'x'.repeat(15), 'x'.repeat(16), 'é'.repeat(8), 'é'.repeat(7), '.', '..', 'a/b', 'a:b', 'a b', '') },
  { weight: 1, arbitrary: garbageText },
);

const cniArgs = fc.oneof(
  { weight: 5, arbitrary: fc.constant('IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=u1') },
  { weight: 2, arbitrary: fc.constantFrom('', 'IgnoreUnknown=1;IP=10.244.3.77', 'IP=10.244.3.78', 'IgnoreUnknown=true;IP=garbage', 'IP=10.244.3.1', 'IP=fd00::1', 'A=B', 'a=b=c;;', ';;;', '=', 'IgnoreUnknown=1;K8S_POD_NAME=' + 'n'.repeat(3000)) },
  { weight: 1, arbitrary: garbageText },
);

const command = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS') },
  { weight: 2, arbitrary: fc.constant('VERSION') },
  { weight: 2, arbitrary: fc.constantFrom('add', 'Del', 'ADD ', ' DEL', 'UPDATE', 'RESTART', '', 'ADD\u0000') },
  { weight: 1, arbitrary: garbageText },
);

const cniVersion = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...VERSIONS) },
  { weight: 2, arbitrary: fc.constantFrom('', '1.2.0', '2.0.0', '0.0.1', '1.0', 'v1.0.0', '1.0.0-rc1', '01.0.0', ' 1.0.0') },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant(true), fc.constant([]), fc.constant({})) },
);

// --- policies: every shape the confs take, and wrong ones ------------------------------------

const HCN_TYPES = ['OutBoundNAT', 'SDNRoute', 'PortMapping', 'ACL', 'QOS', 'L4Proxy', 'L4WFPPROXY', 'ProviderAddress', 'NetworkACL', 'Encryption', 'VLAN', 'InterfaceParameters', 'Iov', 'TierAcl', 'Firewall', 'InterfaceConstraint', 'SetPolicy'];
const V1_TYPES = ['ROUTE', 'PA', 'NAT', 'ACL', 'QOS', 'VLAN', 'OutBoundNAT', 'ELB', 'LoadBalancer'];
const cidr = fc.constantFrom('10.96.0.0/12', '10.244.0.0/16', '192.168.0.0/16', 'fd00::/8', '0.0.0.0/0', '10.0.0.1/33', 'garbage', '');
const ip = fc.constantFrom('10.244.3.1', '10.244.3.2', '192.168.10.21', 'fd00::1', '999.1.1.1', '', 'x');

function recase(s: string): fc.Arbitrary<string> {
  return fc.constantFrom(s, s.toLowerCase(), s.toUpperCase(), s[0]!.toLowerCase() + s.slice(1), s[0]!.toUpperCase() + s.slice(1));
}

const settings: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ Exceptions: fc.array(cidr, { maxLength: 3 }) }, { requiredKeys: [] }),
  fc.record({ DestinationPrefix: cidr, NeedEncap: fc.boolean(), NextHop: ip }, { requiredKeys: [] }),
  fc.record({ InternalPort: fc.integer({ min: -1, max: 70000 }), ExternalPort: fc.integer({ min: -1, max: 70000 }), Protocol: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom('TCP', 'udp', 'bogus')), Flags: fc.integer({ min: 0, max: 64 }) }, { requiredKeys: [] }),
  fc.record({ Action: fc.constantFrom('Allow', 'Block', 'Pass', 'x'), Direction: fc.constantFrom('In', 'Out', 'Sideways'), Priority: fc.integer({ min: -5, max: 70000 }), RemoteAddresses: cidr }, { requiredKeys: [] }),
  fc.record({ MaximumOutgoingBandwidthInBytes: fc.oneof(fc.nat(), fc.constant(-1)), Mtu: fc.integer({ min: 0, max: 70000 }), IsolationId: fc.integer({ min: -1, max: 20000000 }), ProviderAddress: ip }, { requiredKeys: [] }),
  fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 4 }),
);

const hcnPolicy = fc.record({ Type: fc.oneof(fc.constantFrom(...HCN_TYPES).chain(recase), garbageText, anyJson), Settings: fc.oneof({ weight: 5, arbitrary: settings }, { weight: 1, arbitrary: anyJson }) }, { requiredKeys: ['Type'] });
const v1Policy = fc.tuple(fc.constantFrom(...V1_TYPES).chain(recase), settings).map(([Type, s]) => ({ Type, ...s, ...(Type.toUpperCase() === 'OUTBOUNDNAT' ? { ExceptionList: ['10.244.0.0/16'] } : {}) }));
const policyEntry = fc.oneof(
  { weight: 4, arbitrary: fc.record({ name: fc.constantFrom('EndpointPolicy', 'NetworkPolicy', 'endpointpolicy', 'Other'), value: fc.oneof(hcnPolicy, v1Policy) }) },
  { weight: 1, arbitrary: fc.record({ Name: fc.constantFrom('EndpointPolicy', 'NetworkPolicy'), Value: fc.oneof(hcnPolicy, v1Policy) }) },
  { weight: 2, arbitrary: hcnPolicy },
  { weight: 1, arbitrary: anyJson },
);
const policyKey = fc.constantFrom('policies', 'Policies', 'POLICIES', 'hcnPolicyArgs', 'HcnPolicyArgs', 'AdditionalArgs', 'additionalArgs');

// --- runtimeConfig, with Go and lower-case names ----------------------------------------------

const portMapping = fc.record({
  k: fc.constantFrom('lower', 'go', 'upper'),
  hostPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, -1, 70000, '80' as unknown as number)),
  containerPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, 65536)),
  protocol: fc.constantFrom('tcp', 'udp', 'TCP', 'sctp', '', 'bogus'),
  hostIP: fc.constantFrom(undefined, '', '0.0.0.0', '192.168.10.21', '::', 'x'),
}).map(({ k, ...m }) => {
  const names = k === 'go' ? { hostPort: 'HostPort', containerPort: 'ContainerPort', protocol: 'Protocol', hostIP: 'HostIP' } : k === 'upper' ? { hostPort: 'HOSTPORT', containerPort: 'CONTAINERPORT', protocol: 'PROTOCOL', hostIP: 'HOSTIP' } : { hostPort: 'hostPort', containerPort: 'containerPort', protocol: 'protocol', hostIP: 'hostIP' };
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(m)) if (v !== undefined) out[names[key as keyof typeof names]] = v;
  return out;
});

const runtimeConfig = fc.record({
  key: fc.constantFrom('runtimeConfig', 'RuntimeConfig', 'runtimeconfig'),
  pm: fc.constantFrom('portMappings', 'PortMappings', 'portmappings'),
  mappings: fc.oneof(fc.array(portMapping, { maxLength: 3 }), anyJson),
  dns: fc.option(fc.record({ servers: fc.array(ip, { maxLength: 2 }), searches: fc.array(fc.constantFrom('cluster.local', ''), { maxLength: 2 }) }, { requiredKeys: [] })),
  ips: fc.option(fc.array(fc.constantFrom('10.244.3.90/24', '10.244.3.91', 'fd00::5', 'x'), { maxLength: 2 })),
}).map(({ key, pm, mappings, dns, ips }) => ({ [key]: { [pm]: mappings, ...(dns ? { dns } : {}), ...(ips ? { ips } : {}) } }));

// --- values of the wrong shape, anywhere in the conf -------------------------------------------

/** A value of another JSON type than the key wants: an object or a list for a string, null or a scalar for a list, ... */
export const wrongShape: fc.Arbitrary<unknown> = fc.constantFrom<unknown>({}, { ip: '10.244.3.9' }, [], ['10.244.3.0/24'], [[]], [null], null, 0, -1, 5.5, true, false, '', 'x', '10.244.3.0/24');

/**
 * Where a wrong shape goes: the keys every layer reads (the IPAM section and its ranges, policies,
 * runtimeConfig, the per-mode keys, prevResult down to an interface's sandbox). Missing parents
 * are made on the way (`[0]`: a list of one).
 */
export const SHAPE_PATHS = [
  'ipam', 'ipam.type', 'ipam.subnet', 'ipam.rangeStart', 'ipam.rangeEnd', 'ipam.gateway', 'ipam.dataDir', 'ipam.reserved', 'ipam.reserved[0]',
  'ipam.ranges', 'ipam.ranges[0]', 'ipam.ranges[0][0]', 'ipam.ranges[0][0].subnet', 'ipam.ranges[0][0].rangeStart', 'ipam.routes', 'ipam.routes[0]', 'ipam.routes[0].dst', 'ipam.routes[0].gw',
  'type', 'policies', 'policies[0]', 'policies[0].value', 'policies[0].value.Settings', 'policies[0].value.Settings.Exceptions',
  'runtimeConfig', 'runtimeConfig.portMappings', 'runtimeConfig.portMappings[0]', 'runtimeConfig.portMappings[0].hostPort', 'runtimeConfig.dns', 'runtimeConfig.dns.servers', 'runtimeConfig.ips',
  'capabilities', 'args', 'args.cni', 'dns', 'dns.nameservers', 'clusterCIDR', 'serviceCIDR', 'nodeIP', 'nodeSubnet', 'noSnatCIDRs', 'gateway', 'mtu', 'hnsTimeoutSeconds', 'logFile',
  'optionalFlags', 'optionalFlags.loopbackDSR', 'additionalRoutes', 'additionalRoutes[0]', 'peers', 'peers[0]', 'peers[0].podCIDR', 'routedCIDRs', 'endpointMacPrefix', 'providerAddress', 'hostPorts',
  'prevResult', 'prevResult.cniVersion', 'prevResult.interfaces', 'prevResult.interfaces[0]', 'prevResult.interfaces[0].sandbox', 'prevResult.interfaces[0].name', 'prevResult.ips', 'prevResult.ips[0]', 'prevResult.ips[0].address', 'prevResult.ips[0].interface', 'prevResult.routes', 'prevResult.dns',
  'cni.dev/valid-attachments', 'cni.dev/valid-attachments[0]', 'cni.dev/valid-attachments[0].containerID',
];

function pathParts(p: string): (string | number)[] {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** `conf` with `value` at `path` (a copy; parents that are missing or not containers are made). */
export function withValueAt(conf: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const out = structuredClone(conf);
  const parts = pathParts(path);
  let cur: Record<string | number, unknown> = out;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i]!;
    const wantList = typeof parts[i + 1] === 'number';
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next) !== wantList) cur[k] = wantList ? [] : {};
    cur = cur[k] as Record<string | number, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
  return out;
}

const shapeMutations = fc.array(fc.tuple(fc.constantFrom(...SHAPE_PATHS), wrongShape), { minLength: 1, maxLength: 2 });

/** The node's environment set otherwise: an HNS backend this OS lacks, an emulator folder that is empty or relative. */
const nodeEnv = fc.constantFrom<Record<string, string>>(
  { CNI_HNS_BACKEND: 'hcn' }, { CNI_HNS_BACKEND: '' }, { CNI_HNS_BACKEND: 'HCN' }, { CNI_HNS_EMULATOR_DIR: '' }, { CNI_HNS_EMULATOR_DIR: 'hns' }, { CNI_HNS_EMULATOR_DIR: './relative' },
);

/** logFile values: in a folder that does not exist (never made), inside the log folder (made there), or relative. */
export const LOG_FILES = ['NODEDIR/made/by/plugin/x.log', 'NODEDIR/log/conf.log', 'NODEDIR/log/deeper/x.log', 'made/relative.log'];

// --- the conf -------------------------------------------------------------------------------

const ipamChoice = fc.constantFrom<IpamChoice>('builtin', 'builtin', 'builtin-ranges', 'host-local', 'host-local', 'none', 'garbage');

/** Known keys with values of their type, and of other types. */
const knownKeys = fc.dictionary(
  fc.constantFrom('clusterCIDR', 'serviceCIDR', 'nodeIP', 'nodeSubnet', 'noSnatCIDRs', 'snat', 'ipMasq', 'ipMasqNetwork', 'loopbackDSR', 'mtu', 'hnsTimeoutSeconds', 'gateway', 'gateway6', 'dns', 'capabilities', 'apiVersion', 'master', 'optionalFlags', 'additionalRoutes', 'endpointMacPrefix', 'providerAddress', 'hostPorts', 'logFile', 'disableCheck', 'disableGC', 'args', 'prevResult', 'cni.dev/valid-attachments', 'cni.dev/attachments', 'type', 'name').chain(recase),
  fc.oneof(cidr, fc.array(cidr, { maxLength: 2 }), fc.boolean(), fc.integer({ min: -10, max: 100000 }), fc.double(), ip, anyJson, garbageText),
  { maxKeys: 3 },
);
const garbageKeys = fc.dictionary(garbageText, anyJson, { maxKeys: 3 });

const GOOD_PREV = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: 'LIVE0' }], ips: [{ address: '10.244.3.3/24', gateway: '10.244.3.2', interface: 0 }] };
const prevResult = fc.oneof(
  fc.constant(GOOD_PREV),
  fc.constant({ cniVersion: '0.2.0', ip4: { ip: '10.244.3.3/24' } }),
  // Damaged: a sandbox, a list or an address of the wrong shape.
  fc.tuple(fc.constantFrom('interfaces[0].sandbox', 'interfaces[0]', 'interfaces', 'ips', 'ips[0]', 'ips[0].address', 'ips[0].interface', 'routes', 'dns', 'cniVersion'), wrongShape).map(([p, v]) => withValueAt(GOOD_PREV, p, v)),
  anyJson,
);

const validAttachments = fc.oneof(
  fc.constant([]),
  fc.constant(null),
  fc.constant([{ containerID: STANDING_POD, ifname: 'eth0' }]),
  fc.array(fc.record({ containerID: fc.oneof(fc.constant(STANDING_POD), garbageText, anyJson), ifname: fc.oneof(fc.constant('eth0'), anyJson) }, { requiredKeys: [] }), { maxLength: 3 }),
  anyJson,
);

function ipamOf(choice: IpamChoice, plugin: PluginName, dataDir: string | undefined): Record<string, unknown> | undefined {
  switch (choice) {
    case 'builtin':
      return { type: 'builtin', subnet: SUBNET };
    case 'builtin-ranges':
      return { type: 'builtin', ranges: [[{ subnet: SUBNET, rangeStart: '10.244.3.100', rangeEnd: '10.244.3.120' }]], ...(plugin === 'win-overlay' ? {} : { reserved: ['10.244.3.101'] }) };
    case 'host-local':
      // Its own part of the subnet: the standing pods' addresses are the built-in allocator's.
      return { type: 'host-local', subnet: SUBNET, rangeStart: '10.244.3.150', rangeEnd: '10.244.3.200', ...(dataDir ? { dataDir } : {}) };
    case 'none':
      return undefined;
    case 'garbage':
      return { type: 'builtin', subnet: 'not-a-cidr', dataDir: 'relative/dir' };
  }
}

const conf = fc.record({
  plugin: fc.constantFrom<PluginName>('win-l2bridge', 'win-overlay', 'host-gateway', 'l3-upstream'),
  version: cniVersion,
  ipam: ipamChoice,
  wrongName: fc.option(fc.oneof(garbageText, fc.constantFrom('cbr0', 'vxlan0', 'l3net', 'nonexistent', 'a'.repeat(300)), anyJson), { freq: 8 }),
  wrongType: fc.option(fc.oneof(fc.constantFrom('win-bridge', 'win-overlay', 'win-l2bridge', 'WIN-L2BRIDGE', 'host-local'), anyJson), { freq: 10 }),
  recaseTop: fc.boolean(),
  known: fc.option(knownKeys, { freq: 2 }),
  garbage: fc.option(garbageKeys, { freq: 3 }),
  ipamGarbage: fc.option(garbageKeys, { freq: 5 }),
  policies: fc.option(fc.tuple(policyKey, fc.oneof({ weight: 5, arbitrary: fc.array(policyEntry, { maxLength: 4 }) }, { weight: 1, arbitrary: anyJson })), { freq: 2 }),
  runtimeConfig: fc.option(runtimeConfig, { freq: 2 }),
  prevResult: fc.option(prevResult, { freq: 3 }),
  validAttachments: fc.option(validAttachments, { freq: 2 }),
  hnsTimeoutSeconds: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(2, 3, 5) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 0.001, 601, '5' as unknown as number, null as unknown as number) }),
  logFile: fc.option(fc.constantFrom(...LOG_FILES), { freq: 12 }),
  shapes: fc.option(shapeMutations, { freq: 6 }),
});

const confArb = conf.map((c): { plugin: PluginName; ipam: IpamChoice; conf: Record<string, unknown> } => {
  const net = NETWORKS[c.plugin];
  let out: Record<string, unknown> = { cniVersion: c.version, name: net.name, type: c.plugin, ...net.extra, hnsTimeoutSeconds: c.hnsTimeoutSeconds };
  const ipam = ipamOf(c.ipam, c.plugin, 'DATADIR');
  if (ipam) out.ipam = c.ipamGarbage ? { ...ipam, ...c.ipamGarbage } : ipam;
  if (c.wrongName !== null) out.name = c.wrongName;
  if (c.wrongType !== null) out.type = c.wrongType;
  if (c.known) Object.assign(out, c.known);
  if (c.garbage) Object.assign(out, c.garbage);
  if (c.policies) out[c.policies[0]] = c.policies[1];
  if (c.runtimeConfig) Object.assign(out, c.runtimeConfig);
  if (c.prevResult !== null) out.prevResult = c.prevResult;
  if (c.validAttachments !== null) out['cni.dev/valid-attachments'] = c.validAttachments;
  if (c.logFile !== null) out.logFile = c.logFile;
  for (const [p, v] of c.shapes ?? []) out = withValueAt(out, p, v);
  if (c.recaseTop) {
    for (const k of Object.keys(out)) {
      if (k === 'cniVersion' || k === 'name' || k === 'type') continue;
      const v = out[k];
      delete out[k];
      out[k.length % 2 ? k.toUpperCase() : k.toLowerCase()] = v;
    }
  }
  return { plugin: c.plugin, ipam: c.ipam, conf: out };
});

const rawStdin = fc.oneof(
  fc.constantFrom('', ' ', 'null', '[]', '123', '"x"', '{', '{"cniVersion":"1.0.0"}', '{"name":"cbr0"}', '\u00ff\u00fe', '[' .repeat(100) + ']'.repeat(100), '{"a":' .repeat(80) + '1' + '}'.repeat(80)),
  garbageText,
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
);

const PLUGINS_ARB = fc.constantFrom<PluginName>('win-l2bridge', 'win-overlay', 'host-gateway', 'l3-upstream');

/** Mostly garbage: every part of the request may be wrong. */
const wildRequest = fc.record({
  conf: fc.oneof({ weight: 12, arbitrary: confArb }, { weight: 1, arbitrary: fc.tuple(PLUGINS_ARB, rawStdin).map(([plugin, raw]) => ({ plugin, raw })) }),
  command,
  containerId: fc.option(containerId, { freq: 12, nil: undefined }),
  netns: fc.option(netns, { freq: 12, nil: undefined }),
  ifName: fc.option(ifName, { freq: 12, nil: undefined }),
  args: fc.option(cniArgs, { freq: 12, nil: undefined }),
  cniPath: fc.oneof({ weight: 12, arbitrary: fc.constant('good' as const) }, { weight: 1, arbitrary: fc.constantFrom('', '/nonexistent', '/usr/lib/cni', ':::').map((text) => ({ text })) }),
  nodeEnv: fc.option(nodeEnv, { freq: 20, nil: undefined }),
});

/** Policies a conf may well carry: valid shapes in the spellings published confs use. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const GOOD_POLICIES: Record<string, any>[] = [
  { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16', '10.96.0.0/12'] } } },
  { name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['192.168.0.0/16'] } },
  { name: 'EndpointPolicy', value: { Type: 'SDNROUTE', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } },
  { name: 'EndpointPolicy', value: { Type: 'ROUTE', DestinationPrefix: '10.97.0.0/16', NeedEncap: true } },
  { name: 'EndpointPolicy', value: { type: 'acl', settings: { action: 'Allow', direction: 'In', priority: 200, protocols: '6' } } },
  { Type: 'QOS', Settings: { MaximumOutgoingBandwidthInBytes: 1000000 } },
];
const goodPolicies = fc.subarray(GOOD_POLICIES, { maxLength: 3 });

const goodRuntimeConfig = fc.record({
  portMappings: fc.array(fc.record({ hostPort: fc.integer({ min: 1, max: 65535 }), containerPort: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom('tcp', 'udp', 'TCP') }), { maxLength: 2 }),
  dns: fc.constant({ servers: ['10.96.0.10'], searches: ['svc.cluster.local'] }),
}, { requiredKeys: [] }).map((rc) => ({ runtimeConfig: rc }));

/** A request a runtime could send, with only some parts odd: most of these get past validation. */
const saneRequestOf = (commands: string[]) => fc.record({
  plugin: PLUGINS_ARB,
  command: fc.constantFrom(...commands),
  version: fc.constantFrom(...VERSIONS),
  ipam: fc.constantFrom<IpamChoice>('builtin', 'builtin-ranges', 'host-local', 'none'),
  containerId: fc.oneof(hex(64), fc.constantFrom(STANDING_POD, 'fuzz-a', 'a'.repeat(255)), fc.tuple(fc.constantFrom(...'abcdef0123456789'), fc.string({ unit: idChars, minLength: 100, maxLength: 254 })).map(([a, b]) => a + b)),
  live: fc.integer({ min: 0, max: 2 }),
  form: fc.constantFrom('upper' as const, 'lower' as const, 'braced' as const),
  policies: fc.option(fc.oneof(
    fc.tuple(fc.constantFrom('policies', 'Policies', 'POLICIES'), goodPolicies),
    fc.tuple(fc.constantFrom('hcnPolicyArgs', 'HcnPolicyArgs'), goodPolicies.map((l) => l.map((p) => ('value' in p ? p.value : p)).filter((p) => 'Settings' in p || 'settings' in p))),
    fc.tuple(fc.constantFrom('AdditionalArgs', 'additionalArgs'), goodPolicies.map((l) => l.map((p) => ('value' in p ? { Name: p.name, Value: p.value } : { Name: 'EndpointPolicy', Value: p })))),
  )),
  runtimeConfig: fc.option(goodRuntimeConfig, { freq: 3 }),
  prevResult: fc.option(prevResult, { freq: 4 }),
  validAttachments: validAttachments,
  args: fc.oneof({ weight: 4, arbitrary: fc.constant('IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=u1') }, { weight: 1, arbitrary: cniArgs }),
  hnsTimeoutSeconds: fc.constantFrom(2, 3, 5),
}).map((r): FuzzRequest => {
  const net = NETWORKS[r.plugin];
  // GC and STATUS exist from 1.1.0, CHECK from 0.4.0: mostly asked at a version that has them.
  const version = (r.command === 'GC' || r.command === 'STATUS') && r.live > 0 ? '1.1.0' : r.command === 'CHECK' && r.live > 0 && r.version < '0.4.0' ? '1.0.0' : r.version;
  const conf: Record<string, unknown> = { cniVersion: version, name: net.name, type: r.plugin, ...net.extra, hnsTimeoutSeconds: r.hnsTimeoutSeconds };
  const ipam = ipamOf(r.ipam, r.plugin, 'DATADIR');
  if (ipam) conf.ipam = ipam;
  if (r.policies) conf[r.policies[0]] = r.policies[1];
  if (r.runtimeConfig) Object.assign(conf, r.runtimeConfig);
  if (r.prevResult !== null) conf.prevResult = r.prevResult;
  if (r.command === 'GC') conf['cni.dev/valid-attachments'] = r.validAttachments;
  const gcLike = r.command === 'GC' || r.command === 'STATUS';
  return {
    plugin: r.plugin,
    command: r.command,
    containerId: gcLike ? '' : r.containerId,
    netns: gcLike ? { text: '' } : { live: r.live, form: r.form },
    ifName: gcLike ? '' : 'eth0',
    args: gcLike ? '' : r.args,
    cniPath: 'good',
    stdin: { conf, ipam: r.ipam },
  };
});
const saneRequest = saneRequestOf(['ADD', 'ADD', 'ADD', 'DEL', 'CHECK', 'GC', 'STATUS']);

/**
 * A request a runtime could send but for one or two keys of the wrong shape (wrongShape at
 * SHAPE_PATHS), DEL most of all: DEL must get through any of them to the pod's cleanup.
 */
const shapedRequest = fc.tuple(saneRequestOf(['DEL', 'DEL', 'DEL', 'ADD', 'CHECK', 'GC', 'STATUS']), shapeMutations).map(([r, shapes]): FuzzRequest => {
  if ('raw' in r.stdin) return r;
  let conf = r.stdin.conf;
  for (const [p, v] of shapes) conf = withValueAt(conf, p, v);
  return { ...r, stdin: { conf, ipam: r.stdin.ipam } };
});

export const requestArb: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 2, arbitrary: saneRequest },
  { weight: 1, arbitrary: shapedRequest },
  {
    weight: 3,
    arbitrary: wildRequest.map((r): FuzzRequest => ({
      plugin: r.conf.plugin,
      command: r.command,
      containerId: r.containerId,
      netns: r.netns,
      ifName: r.ifName,
      args: r.args,
      cniPath: r.cniPath,
      ...(r.nodeEnv ? { nodeEnv: r.nodeEnv } : {}),
      stdin: 'raw' in r.conf ? { raw: r.conf.raw } : { conf: r.conf.conf, ipam: r.conf.ipam },
    })),
  },
);
