// What the harness knows about the plugin under test: its executable, the configuration keys it
// needs beyond C(v) (§8.1), the HNS network it runs on, and the few plugin-specific inputs some
// cases need (a required key, a key of the wrong type, an unsupported value). The four plugins of
// this suite have built-in profiles; any other binary gets one from its conflist and the command
// line (main.ts).

import fs from 'node:fs';
import path from 'node:path';
import { loadConfList } from '../runtime/libcni';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DIST = path.join(ROOT, 'dist', 'linux-x64');
export const TOOLS = path.join(ROOT, 'dist', 'test-tools', 'linux-x64');
export const FAKE_IPAM_BINARY = path.join(TOOLS, 'fake-ipam');
/** Debian's containernetworking-plugins (the setup installs it). */
export const HOST_LOCAL_BINARY = '/usr/lib/cni/host-local';

export const SEVEN_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The HNS network type the harness creates for the plugin, or none (a plugin the harness cannot inspect). */
export type NetworkKind = 'L2Bridge' | 'Overlay';

export interface PluginProfile {
  /** Label in reports. */
  label: string;
  /** The conf's `type` (the executable is linked under this name on CNI_PATH). */
  type: string;
  /** The executable run as the plugin. */
  binary: string;
  /** Plugin keys besides cniVersion, name, type and ipam that a minimal conf needs. */
  baseConf: Record<string, unknown>;
  /**
   * 'emulator': the plugin uses the HNS emulator (CNI_HNS_BACKEND=emulator): the harness creates
   * its network, inspects endpoints and injects faults. 'none': the harness only sees the plugin's
   * files and its IPAM.
   */
  backend: 'emulator' | 'none';
  network: NetworkKind;
  /** Whether pods may get IPv6 addresses (dual-stack cases). */
  ipv6: boolean;
  /** Why not, when ipv6 is false (shown for the dual-stack cases). */
  ipv6Reason?: string;
  /** The pods' gateway on the network the harness creates (FAKE-IPAM answers with it). */
  gateway4: string;
  gateway6: string;
  /** B18: keys a conf must have; removing one must give ERR(7) naming it. */
  requiredKeys: string[];
  /** B19: a key of the plugin with a value of the wrong JSON type. */
  wrongType: { key: string; value: unknown };
  /** B20: a recognised key with a value the plugin does not support (ERR(2) naming key and value). */
  unsupported: { key: string; value: unknown; mentions: string[] };
  /** C02: the versions the project declares; undefined: only the spec's rules are checked. */
  declaredVersions?: string[];
  /** Extra environment the plugin needs (besides the harness's backend variables). */
  env: Record<string, string>;
}

const L2_GATEWAYS = { gateway4: '10.244.3.2', gateway6: 'fd00:10:244:3::2' };

function builtin(type: string, extra: Partial<PluginProfile>): PluginProfile {
  return {
    label: type,
    type,
    binary: path.join(DIST, type),
    baseConf: {},
    backend: 'emulator',
    network: 'L2Bridge',
    ipv6: true,
    ...L2_GATEWAYS,
    // Nothing beyond name and type: without ipam HNS assigns the address, and host-gateway and
    // l3-upstream take the cluster prefix from clusterCIDR or the conf's own NAT exceptions.
    requiredKeys: [],
    wrongType: { key: 'mtu', value: 'big' },
    unsupported: { key: 'policies', value: [{ name: 'EndpointPolicy', value: { Type: 'Frobnicate', Settings: {} } }], mentions: ['policies', 'Frobnicate'] },
    declaredVersions: [...SEVEN_VERSIONS],
    env: {},
    ...extra,
  };
}

export const BUILTIN_PROFILES: Record<string, PluginProfile> = {
  'win-l2bridge': builtin('win-l2bridge', {}),
  'win-overlay': builtin('win-overlay', {
    // Host ports are opt-in on Overlay (upstream win-overlay sends none): on, so H01-H03 test them.
    baseConf: { hostPorts: true },
    network: 'Overlay',
    ipv6: false,
    ipv6Reason: 'win-overlay is IPv4 only: Windows VXLAN overlay networks carry no IPv6, and the plugin refuses an IPv6 address with code 2',
    gateway4: '10.244.3.1',
    gateway6: '',
  }),
  'host-gateway': builtin('host-gateway', { baseConf: { clusterCIDR: '10.244.0.0/16' } }),
  'l3-upstream': builtin('l3-upstream', { baseConf: { clusterCIDR: '10.244.0.0/16' } }),
};

export interface CustomProfileOptions {
  binary: string;
  conf: string;
  type?: string;
  backend?: 'emulator' | 'none';
  network?: NetworkKind;
  ipv4Only?: boolean;
  gateway4?: string;
  gateway6?: string;
  requiredKeys?: string[];
  versions?: string[];
  env?: Record<string, string>;
}

/**
 * A profile for any plugin binary: the conf is the plugin object of the conflist (or .conf) whose
 * `type` is the binary's name (else the first); its `ipam` is replaced by FAKE-IPAM as C(v) says,
 * `name` and `cniVersion` are the harness's. A type with a built-in profile starts from it.
 */
export function customProfile(o: CustomProfileOptions): PluginProfile {
  const binary = path.resolve(o.binary);
  if (!fs.existsSync(binary)) throw new Error(`plugin binary ${binary} does not exist`);
  const list = loadConfList(path.resolve(o.conf));
  const plugin = list.plugins.find((p) => p.type === (o.type ?? path.basename(binary))) ?? list.plugins[0]!;
  const type = o.type ?? String(plugin.type);
  const { cniVersion: _v, name: _n, type: _t, ipam: _i, ...keys } = plugin;
  const base = BUILTIN_PROFILES[type];
  const network = o.network ?? base?.network ?? 'L2Bridge';
  const ipv6 = o.ipv4Only ? false : (base?.ipv6 ?? network === 'L2Bridge');
  return {
    label: `${type} (${path.basename(binary)})`,
    type,
    binary,
    baseConf: keys,
    backend: o.backend ?? 'emulator',
    network,
    ipv6,
    ipv6Reason: ipv6 ? undefined : (base?.ipv6Reason ?? 'the plugin was declared IPv4 only (--ipv4-only)'),
    gateway4: o.gateway4 ?? base?.gateway4 ?? (network === 'Overlay' ? '10.244.3.1' : L2_GATEWAYS.gateway4),
    gateway6: o.gateway6 ?? base?.gateway6 ?? L2_GATEWAYS.gateway6,
    requiredKeys: o.requiredKeys ?? base?.requiredKeys ?? ['ipam'],
    wrongType: base?.wrongType ?? { key: 'mtu', value: 'big' },
    unsupported: base?.unsupported ?? { key: 'policies', value: [{ name: 'EndpointPolicy', value: { Type: 'Frobnicate', Settings: {} } }], mentions: ['policies', 'Frobnicate'] },
    declaredVersions: o.versions ?? base?.declaredVersions,
    env: o.env ?? {},
  };
}
