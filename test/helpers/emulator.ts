// A fresh HNS emulator per test, and assertions on what the emulated service answers.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type { Handle, HcnOutcome } from '../../shared/hns/api';
import { ZERO_GUID } from '../../shared/hns/api';
import { createEmulatorApi, type EmulatorApi, type EmulatorConfig } from '../../shared/hns/backends/emulator/index';
import { EmulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { errorRecord, hex, hr, signed } from '../../shared/hns/hresult';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';
import type { HostComputeNamespace } from '../../shared/hns/model/namespace';
import type { HostComputeNetwork } from '../../shared/hns/model/network';

export const V2 = { Major: 2, Minor: 0 };

export function tempDir(prefix = 'hns-emu-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Emu {
  dir: string;
  api: EmulatorApi;
  admin: EmulatorAdmin;
  cleanup(): void;
}

export function newEmulator(config?: Partial<EmulatorConfig>): Emu {
  const dir = tempDir();
  const admin = new EmulatorAdmin(dir);
  if (config) admin.setConfig(config);
  return { dir, api: createEmulatorApi({ dir }), admin, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with a fresh emulator and removes it afterwards. */
export async function withEmulator(fn: (e: Emu) => Promise<void>, config?: Partial<EmulatorConfig>): Promise<void> {
  const e = newEmulator(config);
  try {
    await fn(e);
  } finally {
    e.cleanup();
  }
}

/** The call's value; fails the test unless it succeeded without an error record. */
export async function ok<T>(pending: Promise<HcnOutcome<T>>): Promise<T> {
  const out = await pending;
  assert.is(hex(out.hr), '0x00000000', `expected success, got ${hex(out.hr)} ${out.errorRecord ?? ''}`);
  assert.is(out.errorRecord, undefined, 'no error record on success');
  return out.value as T;
}

/** Asserts the call failed with the named HRESULT (signed, as the DLL returns it) and the service's record; `detail` is the whole record text, or a pattern it matches. Returns the text. */
export async function fails(pending: Promise<HcnOutcome<unknown>>, name: string, detail?: string | RegExp): Promise<string> {
  const out = await pending;
  const code = hr(name);
  assert.is(hex(out.hr), hex(code), `expected ${name}, got ${hex(out.hr)} ${out.errorRecord ?? ''}`);
  assert.is(out.hr, signed(code), 'HRESULT is a signed int32');
  assert.ok(out.errorRecord, 'a failure carries an error record');
  const rec = JSON.parse(out.errorRecord!) as { Success: boolean; Error: string; ErrorCode: number };
  assert.is(rec.Success, false);
  assert.is(rec.ErrorCode, code >>> 0);
  const base = JSON.parse(errorRecord(code)).Error as string;
  assert.ok(rec.Error.startsWith(base), `record text "${rec.Error}" starts with "${base}"`);
  if (typeof detail === 'string') assert.is(rec.Error, detail);
  else if (detail) assert.match(rec.Error, detail);
  return rec.Error;
}

export function l2bridge(name = 'cbr0', prefix = '10.244.1', extra: Partial<HostComputeNetwork> = {}): HostComputeNetwork {
  return {
    SchemaVersion: V2,
    Name: name,
    Type: 'L2Bridge',
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: `${prefix}.0/24`, Routes: [{ NextHop: `${prefix}.1`, DestinationPrefix: '0.0.0.0/0' }] }] }],
    ...extra,
  };
}

async function queryAndClose<T>(api: EmulatorApi, kind: 'Network' | 'Endpoint' | 'Namespace', h: Handle): Promise<T> {
  const q = JSON.stringify({ SchemaVersion: V2 });
  const text = kind === 'Network' ? await ok(api.queryNetworkProperties(h, q)) : kind === 'Endpoint' ? await ok(api.queryEndpointProperties(h, q)) : await ok(api.queryNamespaceProperties(h, q));
  await ok(kind === 'Network' ? api.closeNetwork(h) : kind === 'Endpoint' ? api.closeEndpoint(h) : api.closeNamespace(h));
  return JSON.parse(text) as T;
}

/** Creates a network through the raw API (create, query, close) and returns what the service made. */
export async function mkNetwork(api: EmulatorApi, doc: HostComputeNetwork = l2bridge()): Promise<HostComputeNetwork> {
  return queryAndClose(api, 'Network', await ok(api.createNetwork(ZERO_GUID, JSON.stringify(doc))));
}

export async function mkEndpoint(api: EmulatorApi, networkId: string, doc: HostComputeEndpoint): Promise<HostComputeEndpoint> {
  const net = await ok(api.openNetwork(networkId));
  try {
    return await queryAndClose(api, 'Endpoint', await ok(api.createEndpoint(net, ZERO_GUID, JSON.stringify({ SchemaVersion: V2, ...doc }))));
  } finally {
    await ok(api.closeNetwork(net));
  }
}

/** The outcome of creating an endpoint (the network handle is opened and closed around it). */
export async function tryEndpoint(api: EmulatorApi, networkId: string, doc: object | string): Promise<HcnOutcome<Handle>> {
  const net = await ok(api.openNetwork(networkId));
  try {
    const out = await api.createEndpoint(net, ZERO_GUID, typeof doc === 'string' ? doc : JSON.stringify({ SchemaVersion: V2, ...doc }));
    if (out.value !== undefined) await ok(api.closeEndpoint(out.value));
    return out;
  } finally {
    await ok(api.closeNetwork(net));
  }
}

export async function mkNamespace(api: EmulatorApi, doc: HostComputeNamespace = { SchemaVersion: { Major: 0, Minor: 0 } }): Promise<HostComputeNamespace> {
  return queryAndClose(api, 'Namespace', await ok(api.createNamespace(ZERO_GUID, JSON.stringify(doc))));
}

/** Sends a namespace modify request (open, modify, close) and returns the modify outcome. */
export async function modifyNamespace(api: EmulatorApi, nsId: string, request: object | string): Promise<HcnOutcome> {
  const h = await ok(api.openNamespace(nsId));
  try {
    return await api.modifyNamespace(h, typeof request === 'string' ? request : JSON.stringify(request));
  } finally {
    await ok(api.closeNamespace(h));
  }
}

export function attach(endpointId: string, request: 'Add' | 'Remove' = 'Add'): object {
  return { ResourceType: 'Endpoint', RequestType: request, Settings: { EndpointId: endpointId } };
}

export async function modifyEndpoint(api: EmulatorApi, id: string, request: object): Promise<HcnOutcome> {
  const h = await ok(api.openEndpoint(id));
  try {
    return await api.modifyEndpoint(h, JSON.stringify(request));
  } finally {
    await ok(api.closeEndpoint(h));
  }
}

export async function modifyNetwork(api: EmulatorApi, id: string, request: object): Promise<HcnOutcome> {
  const h = await ok(api.openNetwork(id));
  try {
    return await api.modifyNetwork(h, JSON.stringify(request));
  } finally {
    await ok(api.closeNetwork(h));
  }
}

/** The object as the service returns it now (open, query, close). */
export async function get<T>(api: EmulatorApi, kind: 'Network' | 'Endpoint' | 'Namespace', id: string): Promise<T> {
  const h = await ok(kind === 'Network' ? api.openNetwork(id) : kind === 'Endpoint' ? api.openEndpoint(id) : api.openNamespace(id));
  return queryAndClose<T>(api, kind, h);
}

export async function ids(pending: Promise<HcnOutcome<string>>): Promise<string[]> {
  return JSON.parse(await ok(pending)) as string[];
}

export function query(filter?: Record<string, unknown>): string {
  return JSON.stringify(filter ? { SchemaVersion: V2, Flags: 0, Filter: JSON.stringify(filter) } : { SchemaVersion: V2, Flags: 0 });
}
