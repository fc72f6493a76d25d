// The emulated service's files. Many plugin processes use one emulator directory at once (as
// containerd starts many pods at once), so every change is a read-modify-write of state.json
// under state.lock, written atomically; readers read without the lock and always see a whole
// state (rename replaces the file in one step).
//
//   state.json   networks, endpoints and namespaces, stored exactly as the service outputs them
//   state.lock   held while state.json (or faults.json) is being changed
//   config.json  optional knobs (EmulatorConfig), for the behaviours nobody has confirmed
//   faults.json  optional fault injection (faults.ts)
//   calls.log    one JSON line per call (calllog.ts)

import path from 'node:path';
import type { HostComputeEndpoint } from '../../model/endpoint';
import type { HostComputeNamespace } from '../../model/namespace';
import type { HostComputeNetwork } from '../../model/network';
import type { SchemaVersion } from '../../model/common';
import { readJsonFile, writeFileAtomic } from '../../../sys/atomic';
import { withLock } from '../../../sys/lock';

export const FILES = {
  state: 'state.json',
  lock: 'state.lock',
  config: 'config.json',
  faults: 'faults.json',
  calls: 'calls.log',
} as const;

export function fileIn(dir: string, name: keyof typeof FILES): string {
  return path.join(dir, FILES[name]);
}

export interface EmulatorState {
  /** Keyed by the upper-case ID. Object key order is creation order, which enumeration keeps. */
  networks: Record<string, HostComputeNetwork>;
  endpoints: Record<string, HostComputeEndpoint>;
  namespaces: Record<string, HostComputeNamespace>;
  /** Compartment ID for the next namespace; 1 is the host's default compartment. */
  nextCompartmentId: number;
  /** Each network without a MacPool gets the next default pool. */
  nextMacPool: number;
}

export function emptyState(): EmulatorState {
  return { networks: {}, endpoints: {}, namespaces: {}, nextCompartmentId: 2, nextMacPool: 0 };
}

/**
 * Knobs for what the reference marks as inferred ([I]) and for the host the emulator pretends to
 * be. Every field is optional in config.json; DEFAULT_CONFIG says what an absent one means.
 */
export interface EmulatorConfig {
  /** What GET /globals/version answers, and the source of every object's `Version`. */
  hnsVersion: SchemaVersion;
  /** The host's management IP: v1 `ManagementIP`, and the ProviderAddress of Overlay networks. */
  managementIp: string;
  /** The distributed router MAC the service adds to Overlay networks. */
  drMacAddress: string;
  /** Deleting an endpoint that is still in a namespace: 'allow' (the namespace loses it) or 'refuse' (HCN_E_ENTITY_HAS_REFERENCES). */
  deleteEndpointInNamespace: 'allow' | 'refuse';
  /** A remote endpoint (Flags bit 1) may hold the IP of a local endpoint of the same network, and the reverse. */
  remoteSharesLocalIps: boolean;
  /** reboot() keeps networks without EnableNonPersistent (8); false drops every network (Server 2019 RTM). */
  rebootKeepsNetworks: boolean;
  /** Field names this build does not know (an older schema minor): refused as unknown, e.g. ["CreateWithCompartment"] for Server 2022. */
  unknownFields: string[];
  /** HRESULT (unsigned) for opening or deleting a missing object, per kind. */
  notFoundHr: { Network: number; Endpoint: number; Namespace: number };
  /** Append to calls.log. */
  callLog: boolean;
  /** How long a call waits for state.lock before failing with ERROR_TIMEOUT. */
  lockTimeoutMs: number;
}

export const DEFAULT_CONFIG: EmulatorConfig = {
  hnsVersion: { Major: 15, Minor: 4 },
  // RFC 5737 documentation range: never mistaken for a real node's address.
  managementIp: '192.0.2.10',
  drMacAddress: '00-15-5D-D0-00-01',
  deleteEndpointInNamespace: 'allow',
  remoteSharesLocalIps: true,
  rebootKeepsNetworks: true,
  unknownFields: [],
  notFoundHr: { Network: 0x803b0001, Endpoint: 0x803b0002, Namespace: 0x80070490 },
  callLog: true,
  lockTimeoutMs: 30_000,
};

export function readConfig(dir: string): EmulatorConfig {
  const given = readJsonFile<Partial<EmulatorConfig>>(fileIn(dir, 'config'), {});
  return { ...DEFAULT_CONFIG, ...given, notFoundHr: { ...DEFAULT_CONFIG.notFoundHr, ...given.notFoundHr } };
}

export function readState(dir: string): EmulatorState {
  return { ...emptyState(), ...readJsonFile<Partial<EmulatorState>>(fileIn(dir, 'state'), {}) };
}

/** A lock that a live emulator call holds for milliseconds; one held this long lost its process. */
const STATE_LOCK_STALE_MS = 30_000;

/** Runs `fn` under the state lock (fn may also touch other emulator files). */
export function withStateLock<T>(dir: string, cfg: EmulatorConfig, fn: () => T): Promise<T> {
  return withLock(fileIn(dir, 'lock'), fn, { timeoutMs: cfg.lockTimeoutMs, staleMs: STATE_LOCK_STALE_MS, pollMs: 2 });
}

/** Read-modify-write of state.json under the lock. If `change` throws, nothing is written. */
export function updateState<T>(dir: string, cfg: EmulatorConfig, change: (s: EmulatorState) => T): Promise<T> {
  return withStateLock(dir, cfg, () => {
    const state = readState(dir);
    const result = change(state);
    writeFileAtomic(fileIn(dir, 'state'), JSON.stringify(state));
    return result;
  });
}

/** Reboot (hcn-api.md §4.6): endpoints and namespaces are gone, so are non-persistent networks. */
export function rebootState(s: EmulatorState, cfg: EmulatorConfig): void {
  const NON_PERSISTENT = 8;
  s.endpoints = {};
  s.namespaces = {};
  for (const [id, net] of Object.entries(s.networks)) {
    if (!cfg.rebootKeepsNetworks || ((net.Flags ?? 0) & NON_PERSISTENT) !== 0) delete s.networks[id];
  }
}
