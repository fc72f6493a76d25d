// What a case works with: scratch nodes, C(v), E(cmd), running the plugin, the §8.1 expectations,
// snapshots, FAKE-IPAM's log and control, the emulated HNS.

import { sortedJson } from '../runtime/libcni';
import { type ExecRequest, execute, type Outcome, type StdinMode } from './exec';
import { CaseFailure, ensure, expectErr, expectOk0, expectRes, fail, type ErrOptions } from './expect';
import { CaseNode, NETWORK, type Template } from './node';
import type { PluginProfile } from './profile';
import { diff as diffSnapshots, snapshot, type Snapshot, type SnapshotPart } from './snapshot';
import type { FakeIpamCall } from '../fake-ipam/protocol';

export const CTR = 'ctr-a1';
export const DEFAULT_VERSION = '1.1.0';

export function cniArgsFor(containerId: string): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=${containerId};K8S_POD_UID=u1`;
}

export interface CallOptions {
  node?: CaseNode;
  /** The request (serialised as libcni does: compact, keys sorted). Default C(version). */
  conf?: Record<string, unknown>;
  version?: string;
  /** Added to the request. */
  prevResult?: unknown;
  /** Raw stdin; replaces `conf`. */
  stdin?: string | Buffer;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  path?: string;
  /** CNI_* variables to leave out entirely. */
  unset?: string[];
  /** More variables (undefined removes one). */
  env?: Record<string, string | undefined>;
  /** No CNI_* variable at all (A01). */
  noCni?: boolean;
  /** Only CNI_* and the backend's variables: no PATH (O04). */
  minimalEnv?: boolean;
  stdinMode?: StdinMode;
  timeoutMs?: number;
  cwd?: string;
  killAfterMs?: number;
  binary?: string;
}

export interface ExecRecord {
  caseId: string;
  label: string;
  command: string;
  outcome: Outcome;
}

export class CaseContext {
  readonly node: CaseNode;
  readonly records: ExecRecord[] = [];
  private readonly nodes: CaseNode[] = [];
  notes: string[] = [];

  constructor(readonly caseId: string, readonly profile: PluginProfile, private readonly template: Template) {
    this.node = this.newNode();
  }

  /** Another fresh node (its own emulator, state, FAKE-IPAM), removed with the case. */
  newNode(): CaseNode {
    const n = new CaseNode(this.profile, this.template, `cni-conf-${this.caseId}-`);
    this.nodes.push(n);
    return n;
  }

  cleanup(): void {
    for (const n of this.nodes) n.cleanup();
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** C(v): the minimal valid conf of the plugin under test (`null`: without cniVersion). */
  conf(version: string | null = DEFAULT_VERSION, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const c: Record<string, unknown> = { ...structuredClone(this.profile.baseConf), name: NETWORK, type: this.profile.type, ipam: { type: 'fake-ipam' } };
    if (version !== null) c.cniVersion = version;
    return { ...c, ...extra };
  }

  stdinOf(o: CallOptions): Buffer {
    if (o.stdin !== undefined) return Buffer.isBuffer(o.stdin) ? o.stdin : Buffer.from(o.stdin, 'utf8');
    const conf = { ...(o.conf ?? this.conf(o.version ?? DEFAULT_VERSION)) };
    if (o.prevResult !== undefined) conf.prevResult = o.prevResult;
    return Buffer.from(sortedJson(conf), 'utf8');
  }

  /** E(cmd), with the options' overrides. */
  env(command: string, o: CallOptions = {}): Record<string, string> {
    const node = o.node ?? this.node;
    const gcLike = command === 'GC' || command === 'STATUS';
    const base = node.baseEnv();
    const env: Record<string, string> = o.minimalEnv ? Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'PATH')) : { ...base };
    if (!o.noCni) {
      const ctr = o.containerId ?? (gcLike ? '' : CTR);
      Object.assign(env, {
        CNI_COMMAND: command,
        CNI_CONTAINERID: ctr,
        CNI_NETNS: o.netns ?? (gcLike ? '' : node.netns),
        CNI_IFNAME: o.ifName ?? (gcLike ? '' : 'eth0'),
        CNI_ARGS: o.args ?? (gcLike ? '' : cniArgsFor(ctr)),
        CNI_PATH: o.path ?? node.binDir,
      });
      for (const u of o.unset ?? []) delete env[u];
    }
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    return env;
  }

  /** Runs the plugin once; every run is recorded (the N cases look at all of them). */
  async exec(label: string, command: string, o: CallOptions = {}): Promise<Outcome> {
    const r: ExecRequest = {
      binary: o.binary ?? this.profile.binary,
      env: this.env(command, o),
      stdin: this.stdinOf(o),
      stdinMode: o.stdinMode,
      timeoutMs: o.timeoutMs,
      cwd: o.cwd ?? (o.node ?? this.node).dir,
      killAfterMs: o.killAfterMs,
    };
    const outcome = await execute(r);
    this.records.push({ caseId: this.caseId, label, command, outcome });
    return outcome;
  }

  // --- the usual steps ---------------------------------------------------------------------

  /** ADD that must give RES(v); returns the parsed result and the exact stdin sent. */
  async add(label = 'ADD', o: CallOptions = {}): Promise<{ result: Record<string, unknown>; out: Outcome; stdin: Buffer }> {
    const version = o.version ?? (typeof o.conf?.cniVersion === 'string' ? o.conf.cniVersion : DEFAULT_VERSION);
    const out = await this.exec(label, 'ADD', o);
    return { result: expectRes(label, out, version), out, stdin: this.stdinOf(o) };
  }

  async del(label = 'DEL', o: CallOptions = {}): Promise<Outcome> {
    const out = await this.exec(label, 'DEL', o);
    expectOk0(label, out);
    return out;
  }

  async check(label = 'CHECK', o: CallOptions = {}): Promise<Outcome> {
    const out = await this.exec(label, 'CHECK', o);
    expectOk0(label, out);
    return out;
  }

  async err(label: string, command: string, code: number | number[] | '*', o: CallOptions = {}, opt: ErrOptions = {}): Promise<Outcome> {
    const out = await this.exec(label, command, o);
    expectErr(label, out, code, opt);
    return out;
  }

  snap(node: CaseNode = this.node): Snapshot {
    return snapshot(node);
  }

  /** Fails unless nothing changed since `before` (parts in `ignore` aside). */
  same(label: string, before: Snapshot, ignore: SnapshotPart[] = [], node: CaseNode = this.node): void {
    const d = diffSnapshots(before, snapshot(node), ignore);
    if (d.length) fail(`${label}: ${d.join('; ')}`);
  }

  // --- FAKE-IPAM -------------------------------------------------------------------------

  ipamCalls(node: CaseNode = this.node): FakeIpamCall[] {
    return node.ipamCalls();
  }

  /** The calls FAKE-IPAM got since `from` (a count taken earlier). */
  ipamCallsSince(from: number, node: CaseNode = this.node): FakeIpamCall[] {
    return node.ipamCalls().slice(from);
  }

  /** The attachment's endpoints: those in its namespace. */
  endpointsOf(nsId: string, node: CaseNode = this.node) {
    return node.endpointsIn(nsId);
  }

  /** The one endpoint ADD made for the default attachment. */
  theEndpoint(node: CaseNode = this.node, nsId = node.netns) {
    const eps = node.endpointsIn(nsId);
    ensure(eps.length === 1, `expected one endpoint in the pod's namespace ${nsId}, found ${eps.length}`);
    return eps[0]!;
  }
}

export { CaseFailure, fail, ensure };
