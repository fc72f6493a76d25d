// config.json: the knobs of the emulated host. A profile (profiles.ts) supplies the values that
// depend on the Windows build; every key of config.json overrides its default and the profile's.
// README.md lists every knob with its evidence.

import path from 'node:path';
import type { SchemaVersion } from '../../model/common';
import { readJson } from './fsio';
import { DEFAULT_PROFILE, findProfile, type Profile, profileNames } from './profiles';

/** The environment variable that picks the profile for every emulator of this process tree. */
const PROFILE_ENV = 'CNI_HNS_EMULATOR_PROFILE';

export interface EmulatorConfig {
  /** The Windows build emulated (profiles.ts); its values are the defaults of the version knobs. */
  profile: string;
  /** What GET /globals/version answers, and the source of every new object's `Version`. */
  hnsVersion: SchemaVersion;
  /** The newest HCN schema whose fields and policy types the host knows (gates.ts). */
  schemaVersion: SchemaVersion;
  /** The host's management IP: v1 `ManagementIP`, and the ProviderAddress of Overlay networks. */
  managementIp: string;
  /** The prefix length of the uplink's subnet (the L2 segment every node is on): host-gw next hops must be inside it. */
  managementPrefixLength: number;
  /** The distributed router MAC the service adds to Overlay networks. */
  drMacAddress: string;
  /**
   * How long after HcnCreateNetwork the service-filled ProviderAddress / DrMacAddress policies
   * (Overlay; L2Bridge with l2BridgeProviderAddress) and the v1 ManagementIP appear.
   */
  providerAddressDelayMs: number;
  /** L2Bridge networks get a ProviderAddress policy too (INFERRED; no v2 dump shows one). */
  l2BridgeProviderAddress: boolean;
  /** Deleting an endpoint that is still in a namespace: 'allow' (the namespace loses it) or 'refuse' (HCN_E_ENTITY_HAS_REFERENCES). */
  deleteEndpointInNamespace: 'allow' | 'refuse';
  /** A remote endpoint (Flags bit 1) may hold the IP of a local endpoint of the same network, and the reverse. */
  remoteSharesLocalIps: boolean;
  /** reboot() keeps networks without EnableNonPersistent (8); false drops every network (Server 2019 RTM). */
  rebootKeepsNetworks: boolean;
  /** reboot() keeps NAT networks (false: "no longer persisted after reboot" since Server 2019). */
  rebootKeepsNatNetworks: boolean;
  /** Field names refused as unknown on top of what the profile's version lacks. */
  unknownFields: string[];
  /** HRESULT (unsigned) for opening or deleting a missing object, per kind. */
  notFoundHr: { Network: number; Endpoint: number; Namespace: number };
  /** Append to calls.log. */
  callLog: boolean;
  /** How long a call waits for state.lock before failing with ERROR_TIMEOUT. */
  lockTimeoutMs: number;
  /** Which free address HNS gives an endpoint without one: the lowest, or a random one (real NAT hosts hand out scattered ones). */
  ipAllocation: 'lowest' | 'random';
  /**
   * When a namespace gets its compartment (NamespaceId): 'lazy' = 0 until a container joins, unless
   * created with ReadyOnCreate on a build that knows it; 'eager' = at create.
   */
  namespaceCompartment: 'lazy' | 'eager';
  /** A PortMapping without VIP takes the management IP, so it conflicts with one naming that IP (INFERRED). */
  emptyVipIsManagementIp: boolean;
  /**
   * SNAT ports per VirtualIP (the management IP when none is set) that endpoints with an
   * OutBoundNAT policy draw from; 0 = unlimited. A create that would take more than is free fails.
   */
  snatPortPool: number;
  /** Ports one endpoint's OutBoundNAT holds of the pool (less if its MaxPortPoolUsage is lower). */
  snatPortChunk: number;
  /** An endpoint in no namespace answers without HostComputeNamespace ('omit') or with the zero GUID ('zero'). */
  unattachedNamespace: 'omit' | 'zero';
  /**
   * 'netns': the objects are also realized as Linux networking in network namespaces (dataplane/,
   * Linux and root only), so pods of emulated nodes carry packets; 'off': documents only.
   */
  dataplane: 'off' | 'netns';
  /** The network namespace that is this host (its pods' namespaces are named `<it>-<8 hex>`); default `hns-<hash of the directory>`. */
  dataplaneNode: string;
  /** The network namespace holding the L2 segment (a bridge) every emulated host's uplink is plugged into. */
  dataplaneUnderlay: string;
}

export const DEFAULT_CONFIG: Omit<EmulatorConfig, 'profile' | 'hnsVersion' | 'schemaVersion' | 'rebootKeepsNetworks'> = {
  // RFC 5737 documentation range: never mistaken for a real node's address.
  managementIp: '192.0.2.10',
  managementPrefixLength: 24,
  drMacAddress: '00-15-5D-D0-00-01',
  providerAddressDelayMs: 0,
  l2BridgeProviderAddress: false,
  deleteEndpointInNamespace: 'allow',
  remoteSharesLocalIps: true,
  rebootKeepsNatNetworks: false,
  unknownFields: [],
  notFoundHr: { Network: 0x803b0001, Endpoint: 0x803b0002, Namespace: 0x80070490 },
  callLog: true,
  lockTimeoutMs: 30_000,
  ipAllocation: 'lowest',
  namespaceCompartment: 'lazy',
  emptyVipIsManagementIp: true,
  unattachedNamespace: 'omit',
  snatPortPool: 0,
  snatPortChunk: 100,
  dataplane: 'off',
  dataplaneNode: '',
  dataplaneUnderlay: 'hns-underlay',
};

/** How `hnsctl emulator set <knob> <value>` reads a value. */
export type KnobKind = 'boolean' | 'number' | 'string' | 'version' | 'strings' | 'json' | readonly string[];

export const KNOBS: Record<keyof EmulatorConfig, KnobKind> = {
  profile: 'string',
  hnsVersion: 'version',
  schemaVersion: 'version',
  managementIp: 'string',
  managementPrefixLength: 'number',
  drMacAddress: 'string',
  providerAddressDelayMs: 'number',
  l2BridgeProviderAddress: 'boolean',
  deleteEndpointInNamespace: ['allow', 'refuse'],
  remoteSharesLocalIps: 'boolean',
  rebootKeepsNetworks: 'boolean',
  rebootKeepsNatNetworks: 'boolean',
  unknownFields: 'strings',
  notFoundHr: 'json',
  callLog: 'boolean',
  lockTimeoutMs: 'number',
  ipAllocation: ['lowest', 'random'],
  namespaceCompartment: ['lazy', 'eager'],
  emptyVipIsManagementIp: 'boolean',
  unattachedNamespace: ['omit', 'zero'],
  snatPortPool: 'number',
  snatPortChunk: 'number',
  dataplane: ['off', 'netns'],
  dataplaneNode: 'string',
  dataplaneUnderlay: 'string',
};

/** What a network namespace of the data plane may be called (a file name under /run/netns, kept short). */
export const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

/** Parses a knob value as typed on a command line: `13.4` for versions, `a,b` for lists. */
export function parseKnob(name: string, text: string): unknown {
  const kind = (KNOBS as Record<string, KnobKind>)[name];
  if (!kind) throw new Error(`unknown knob ${name}; known: ${Object.keys(KNOBS).join(', ')}`);
  if (Array.isArray(kind)) {
    if (!kind.includes(text)) throw new Error(`${name} is one of ${kind.join(', ')}`);
    return text;
  }
  switch (kind) {
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error(`${name} is true or false`);
      return text === 'true';
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${name} is a number of 0 or more`);
      return n;
    }
    case 'version': {
      const m = /^(\d+)\.(\d+)$/.exec(text);
      if (!m) throw new Error(`${name} is MAJOR.MINOR, e.g. 13.4`);
      return { Major: Number(m[1]), Minor: Number(m[2]) };
    }
    case 'strings':
      return text === '' ? [] : text.split(',').map((s) => s.trim());
    case 'json':
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`${name} is JSON`);
      }
    default:
      if ((name === 'dataplaneNode' || name === 'dataplaneUnderlay') && !NETNS_NAME.test(text)) throw new Error(`${name} is a network namespace name: letters, digits, '.', '_', '-', at most 40`);
      if (name === 'profile' && !findProfile(text)) throw new Error(`unknown profile ${text}; known: ${profileNames().join(', ')}`);
      return name === 'profile' ? findProfile(text)!.name : text;
  }
}

export function configFile(dir: string): string {
  return path.join(dir, 'config.json');
}

/** What config.json holds (no defaults). */
export function readConfigFile(dir: string): Partial<EmulatorConfig> {
  const given = readJson<Partial<EmulatorConfig>>(configFile(dir)) ?? {};
  if (!given || typeof given !== 'object' || Array.isArray(given)) throw new Error(`${configFile(dir)} must hold a JSON object`);
  return given;
}

export interface ProfileChoice {
  profile: Profile;
  /** Where it came from. */
  source: 'environment' | 'config.json' | 'default';
}

/** The profile in force: CNI_HNS_EMULATOR_PROFILE, else config.json `profile`, else the default. */
export function chooseProfile(given: Partial<EmulatorConfig>, env: NodeJS.ProcessEnv = process.env): ProfileChoice {
  const pick = (name: string, source: ProfileChoice['source']): ProfileChoice => {
    const profile = findProfile(name);
    if (!profile) throw new Error(`${source === 'environment' ? PROFILE_ENV : 'config.json "profile"'} is ${name}, which is no HNS emulator profile; known: ${profileNames().join(', ')}`);
    return { profile, source };
  };
  if (env[PROFILE_ENV]) return pick(env[PROFILE_ENV]!, 'environment');
  if (typeof given.profile === 'string' && given.profile) return pick(given.profile, 'config.json');
  return pick(DEFAULT_PROFILE, 'default');
}

/** The configuration in force: defaults, then the profile's values, then config.json's keys. */
function resolveConfig(given: Partial<EmulatorConfig>, env: NodeJS.ProcessEnv = process.env): EmulatorConfig {
  const { profile } = chooseProfile(given, env);
  const { profile: _p, ...rest } = given;
  return {
    ...DEFAULT_CONFIG,
    profile: profile.name,
    hnsVersion: profile.hnsVersion,
    schemaVersion: profile.schemaVersion,
    rebootKeepsNetworks: profile.rebootKeepsNetworks,
    ...rest,
    notFoundHr: { ...DEFAULT_CONFIG.notFoundHr, ...given.notFoundHr },
  };
}

export function readConfig(dir: string, env: NodeJS.ProcessEnv = process.env): EmulatorConfig {
  return resolveConfig(readConfigFile(dir), env);
}
