// A scratch "node" per case: the HNS emulator's state (copied from a template made once per plugin:
// the networks `testnet` and `othernet`, for L2Bridge their host bridge endpoints on .2, and a few
// pod namespaces), the plugin's state directory and log file, a CNI_PATH directory holding the
// plugin, FAKE-IPAM and host-local, FAKE-IPAM's directory and a host-local dataDir.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEmulatorApi } from '../../shared/hns/backends/emulator/index';
import { EmulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { HnsClient } from '../../shared/hns/client';
import type { HostComputeEndpoint } from '../../shared/hns/model/endpoint';
import type { HostComputeNamespace } from '../../shared/hns/model/namespace';
import type { HostComputeNetwork } from '../../shared/hns/model/network';
import { apply, type ApplyFile } from '../../tools/hnsctl/apply';
import { FAKE_IPAM_FILES, type FakeIpamAllocation, type FakeIpamCall, type FakeIpamControl, type FakePool } from '../fake-ipam/protocol';
import { FAKE_IPAM_BINARY, HOST_LOCAL_BINARY, type PluginProfile } from './profile';

export const NETWORK = 'testnet';
export const OTHER_NETWORK = 'othernet';
/** Pod namespaces made in every node (more on demand). */
const TEMPLATE_NAMESPACES = 8;

/** Subnets of the two networks: 10.244.3.0/24 (+ fd00:10:244:3::/64) and 10.244.4.0/24 (+ ...:4::/64). */
export function subnets(third: number): { v4: string; v6: string; gw1v4: string; gw1v6: string; hostV4: string; hostV6: string } {
  return {
    v4: `10.244.${third}.0/24`,
    v6: `fd00:10:244:${third}::/64`,
    gw1v4: `10.244.${third}.1`,
    gw1v6: `fd00:10:244:${third}::1`,
    hostV4: `10.244.${third}.2`,
    hostV6: `fd00:10:244:${third}::2`,
  };
}

function networkDoc(name: string, third: number, profile: PluginProfile): HostComputeNetwork {
  const s = subnets(third);
  const v4 = { IpAddressPrefix: s.v4, Routes: [{ NextHop: s.gw1v4, DestinationPrefix: '0.0.0.0/0' }] };
  const v6 = { IpAddressPrefix: s.v6, Routes: [{ NextHop: s.gw1v6, DestinationPrefix: '::/0' }] };
  return {
    SchemaVersion: { Major: 2, Minor: 0 },
    Name: name,
    Type: profile.network,
    Ipams: [{ Type: 'Static', Subnets: profile.network === 'L2Bridge' ? [v4, v6] : [v4] }],
  };
}

/** The pool FAKE-IPAM answers from on a network: addresses from .17 on, the mode's gateway. */
export function fakePool(profile: PluginProfile, third: number): FakePool {
  const s = subnets(third);
  const gw4 = profile.network === 'Overlay' ? s.gw1v4 : profile.gateway4.replace(/^10\.244\.3\./, `10.244.${third}.`);
  const gw6 = profile.gateway6 ? profile.gateway6.replace(/^fd00:10:244:3::/, `fd00:10:244:${third}::`) : undefined;
  return {
    v4: { subnet: s.v4, gateway: gw4, first: 17 },
    ...(profile.ipv6 ? { v6: { subnet: s.v6, ...(gw6 ? { gateway: gw6 } : {}), first: 17 } } : {}),
  };
}

export interface Template {
  files: Record<string, Buffer>;
  networks: Record<string, string>;
  namespaces: string[];
  /** IDs of the objects every node starts with (host endpoints). */
  baseEndpoints: string[];
}

/** The emulator state every node of this plugin starts from, made once through the emulator's API. */
export async function makeTemplate(profile: PluginProfile): Promise<Template> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-conf-template-'));
  try {
    const admin = new EmulatorAdmin(dir);
    await admin.reset();
    admin.setConfig({ callLog: true });
    const client = new HnsClient(createEmulatorApi({ dir }));
    const file: ApplyFile = { networks: [networkDoc(NETWORK, 3, profile), networkDoc(OTHER_NETWORK, 4, profile)] };
    if (profile.network === 'L2Bridge') {
      file.hostEndpoints = [3, 4].map((third) => {
        const s = subnets(third);
        return { network: third === 3 ? NETWORK : OTHER_NETWORK, Name: `host-bridge-${third}`, IpConfigurations: [{ IpAddress: s.hostV4 }, { IpAddress: s.hostV6 }] };
      });
    }
    await apply(client, file, () => undefined);
    const namespaces: string[] = [];
    for (let i = 0; i < TEMPLATE_NAMESPACES; i++) namespaces.push((await client.createNamespace()).ID!);
    const state = admin.readState();
    const networks: Record<string, string> = {};
    for (const n of Object.values(state.networks)) networks[n.Name!] = n.ID!;
    admin.clearCalls();
    const files: Record<string, Buffer> = {};
    // The whole state as one document, imported by each case's emulator at its first call.
    files['state.json'] = Buffer.from(admin.exportState());
    if (fs.existsSync(path.join(dir, 'config.json'))) files['config.json'] = fs.readFileSync(path.join(dir, 'config.json'));
    return { files, networks, namespaces, baseEndpoints: Object.keys(state.endpoints) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A wrapper on CNI_PATH that runs FAKE-IPAM with its directory (and which copy it is) set. */
export function writeFakeIpam(binDir: string, ipamDir: string, copy: string, name = 'fake-ipam'): string {
  fs.mkdirSync(binDir, { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const file = path.join(binDir, name);
  fs.writeFileSync(file, `#!/bin/sh\nexport FAKE_IPAM_DIR=${q(ipamDir)} FAKE_IPAM_COPY=${q(copy)}\nexec ${q(FAKE_IPAM_BINARY)} "$@"\n`, { mode: 0o755 });
  return file;
}

export class CaseNode {
  readonly dir: string;
  readonly emulatorDir: string;
  readonly stateDir: string;
  readonly logFile: string;
  readonly binDir: string;
  readonly ipamDir: string;
  readonly hostLocalDir: string;
  readonly namespaces: string[];
  readonly networks: Record<string, string>;
  readonly baseEndpoints: string[];
  private clientCache?: HnsClient;

  constructor(readonly profile: PluginProfile, template: Template, prefix = 'cni-conf-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.emulatorDir = path.join(this.dir, 'hns');
    this.stateDir = path.join(this.dir, 'state');
    this.logFile = path.join(this.dir, 'log', 'cni.log');
    this.binDir = path.join(this.dir, 'bin');
    this.ipamDir = path.join(this.dir, 'fake-ipam');
    this.hostLocalDir = path.join(this.dir, 'host-local');
    fs.mkdirSync(this.emulatorDir, { recursive: true });
    for (const [f, data] of Object.entries(template.files)) fs.writeFileSync(path.join(this.emulatorDir, f), data);
    fs.mkdirSync(this.ipamDir, { recursive: true });
    fs.symlinkSync(profile.binary, path.join(this.dirOrMake(this.binDir), profile.type));
    writeFakeIpam(this.binDir, this.ipamDir, 'main');
    if (fs.existsSync(HOST_LOCAL_BINARY)) fs.symlinkSync(HOST_LOCAL_BINARY, path.join(this.binDir, 'host-local'));
    this.namespaces = [...template.namespaces];
    this.networks = { ...template.networks };
    this.baseEndpoints = [...template.baseEndpoints];
    this.setControl({ pools: { [NETWORK]: fakePool(profile, 3), [OTHER_NETWORK]: fakePool(profile, 4), '*': fakePool(profile, 3) } });
  }

  private dirOrMake(d: string): string {
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  /** The pod namespace of the default attachment (CNI_NETNS of E(cmd)). */
  get netns(): string {
    return this.namespaces[0]!;
  }

  /** The environment the plugin needs besides CNI_*: PATH, the backend, its state and log. */
  baseEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CNI_HNS_BACKEND: 'emulator',
      CNI_HNS_EMULATOR_DIR: this.emulatorDir,
      CNI_STATE_DIR: this.stateDir,
      CNI_LOG_FILE: this.logFile,
      ...this.profile.env,
    };
  }

  // --- FAKE-IPAM -------------------------------------------------------------------------

  control(): FakeIpamControl {
    return readJson<FakeIpamControl>(path.join(this.ipamDir, FAKE_IPAM_FILES.control), {});
  }

  setControl(c: FakeIpamControl): void {
    fs.writeFileSync(path.join(this.ipamDir, FAKE_IPAM_FILES.control), JSON.stringify(c, null, 1));
  }

  /** Changes the control file: `fn` edits a copy. */
  editControl(fn: (c: FakeIpamControl) => void): void {
    const c = this.control();
    fn(c);
    this.setControl(c);
  }

  ipamCalls(dir = this.ipamDir): FakeIpamCall[] {
    let text = '';
    try {
      text = fs.readFileSync(path.join(dir, FAKE_IPAM_FILES.log), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeIpamCall);
  }

  ipamAllocations(): FakeIpamAllocation[] {
    return readJson<FakeIpamAllocation[]>(path.join(this.ipamDir, FAKE_IPAM_FILES.allocations), []);
  }

  // --- the emulated HNS --------------------------------------------------------------------

  admin(): EmulatorAdmin {
    return new EmulatorAdmin(this.emulatorDir);
  }

  client(): HnsClient {
    this.clientCache ??= new HnsClient(createEmulatorApi({ dir: this.emulatorDir }));
    return this.clientCache;
  }

  endpoints(): HostComputeEndpoint[] {
    return Object.values(this.admin().readState().endpoints);
  }

  /** Endpoints the plugin made: everything but the node's own (host bridge endpoints). */
  podEndpoints(): HostComputeEndpoint[] {
    return this.endpoints().filter((e) => !this.baseEndpoints.includes(e.ID!));
  }

  /** The endpoints in one pod namespace. */
  endpointsIn(nsId: string): HostComputeEndpoint[] {
    return this.endpoints().filter((e) => !!e.HostComputeNamespace && e.HostComputeNamespace.toUpperCase() === nsId.toUpperCase());
  }

  namespace(nsId: string): HostComputeNamespace | undefined {
    return Object.values(this.admin().readState().namespaces).find((n) => n.ID!.toUpperCase() === nsId.toUpperCase());
  }

  async newNamespace(): Promise<string> {
    const id = (await this.client().createNamespace()).ID!;
    this.namespaces.push(id);
    return id;
  }

  /** The namespace for the n-th attachment of a case (0 = E(cmd)'s), made if needed. */
  async ns(n: number): Promise<string> {
    while (this.namespaces.length <= n) await this.newNamespace();
    return this.namespaces[n]!;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function readJson<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}
