// The HNS emulator's Linux data plane: the emulated host's HNS objects and IP stack, realized as
// Linux networking in network namespaces (README.md beside this file has the design; the
// emulator's README lists every rule with its evidence). Loaded by plane.ts, under the emulator's
// state lock, after a commit that changed something: it reads the committed state, derives what
// every namespace should hold (model.ts), and converges the namespaces whose spec changed since
// the last pass that converged them (converge.ts).

import { createHash } from 'node:crypto';
import path from 'node:path';
import { appendCall } from '../calllog';
import type { EmulatorConfig } from '../config';
import { readJson, remove, writeAtomic } from '../fsio';
import { hostSnapshot } from '../host';
import type { RealizeReport } from '../plane';
import { StoreTx, storeRoot } from '../store';
import { convergePlane, teardownNode } from './converge';
import { nodeNetns, validIfName } from './names';
import { planeSpec } from './model';
import type { NetnsSpec, PlaneSpec } from './spec';

export { nodeNetns, podNetns } from './names';

/** What the last passes converged: each namespace's spec hash, and the not-realized list last reported. */
interface Applied {
  netns: Record<string, string>;
  notRealized?: string;
}

const appliedFile = (dir: string) => path.join(dir, 'dataplane', 'applied.json');

const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

function fail(why: string): RealizeReport {
  return { ok: false, converged: [], errors: [why] };
}

/** The desired plane of the state in `dir` (read without the lock: the caller holds it). */
export function desiredPlane(dir: string, cfg: EmulatorConfig): PlaneSpec {
  const tx = new StoreTx(storeRoot(dir), cfg);
  const of = <K extends 'Network' | 'Endpoint' | 'Namespace'>(kind: K) => tx.ids(kind).map((id) => tx.get(kind, id)!).filter(Boolean);
  const ifname = process.env.CNI_IFNAME;
  return planeSpec({
    node: nodeNetns(dir, cfg),
    underlay: cfg.dataplaneUnderlay,
    managementIp: cfg.managementIp,
    managementPrefixLength: cfg.managementPrefixLength,
    networks: of('Network'),
    endpoints: of('Endpoint'),
    namespaces: of('Namespace'),
    host: hostSnapshot(dir, cfg, tx),
    nicName: validIfName(ifname) ? ifname! : 'eth0',
  });
}

/** Why this machine cannot run the data plane, if it cannot. */
function unsupported(): string | undefined {
  if (process.platform !== 'linux') return `the netns data plane runs on Linux only (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'the netns data plane needs root (network namespaces, links, iptables)';
  return undefined;
}

export function realize(dir: string, cfg: EmulatorConfig, opts: { force?: boolean } = {}): RealizeReport {
  const t0 = Date.now();
  const why = unsupported();
  const report = why ? fail(why) : realizeNow(dir, cfg, opts);
  if (cfg.callLog !== false && (report.converged.length || report.errors.length)) {
    appendCall(dir, {
      time: new Date().toISOString(), pid: process.pid, op: 'Dataplane',
      doc: { converged: report.converged, ...(report.errors.length ? { errors: report.errors } : {}) },
      ms: Date.now() - t0, hr: report.ok ? '0x00000000' : '0x80004005',
    });
  }
  return report;
}

function realizeNow(dir: string, cfg: EmulatorConfig, opts: { force?: boolean }): RealizeReport {
  const plane = desiredPlane(dir, cfg);
  const applied = readJson<Applied>(appliedFile(dir)) ?? { netns: {} };
  const specs: NetnsSpec[] = [plane.node, ...plane.pods];
  const hashes = new Map(specs.map((s) => [s.name, hash(s)]));
  const changed = new Set(specs.filter((s) => applied.netns[s.name] !== hashes.get(s.name)).map((s) => s.name));
  // Forget what this pass converges before it starts: a pass cut short leaves it to the next one.
  const next: Applied = { netns: Object.fromEntries(specs.filter((s) => !opts.force && !changed.has(s.name) && applied.netns[s.name]).map((s) => [s.name, applied.netns[s.name]!])) };
  if (applied.notRealized !== undefined) next.notRealized = applied.notRealized;
  if (opts.force || changed.size) writeAtomic(appliedFile(dir), JSON.stringify(next));
  const result = convergePlane(plane, changed, opts);
  for (const name of result.converged) next.netns[name] = hashes.get(name)!;
  const notRealized = hash(plane.notRealized);
  if (next.notRealized !== notRealized && cfg.callLog !== false) {
    appendCall(dir, { time: new Date().toISOString(), pid: process.pid, op: 'DataplaneNotRealized', doc: plane.notRealized, ms: 0, hr: '0x00000000' });
  }
  next.notRealized = notRealized;
  if (opts.force || changed.size || result.converged.length || applied.notRealized !== notRealized) writeAtomic(appliedFile(dir), JSON.stringify(next));
  return { ok: result.errors.length === 0, converged: result.converged, errors: result.errors };
}

/** Removes everything the data plane made for this host (the underlay stays: other hosts share it). */
export function teardown(dir: string, cfg: EmulatorConfig): string[] {
  const errors = unsupported() ? [] : teardownNode(nodeNetns(dir, cfg));
  remove(appliedFile(dir));
  return errors;
}
