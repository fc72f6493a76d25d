// "Nothing changed" (NOSIDE): a snapshot of everything a plugin can change on the node, taken
// before and after a step, and the differences in words. Parts: the emulated HNS objects
// (networks, endpoints, namespaces), the plugin's state directory (files; a lock file that was
// created and removed leaves no trace, one left behind is a change), FAKE-IPAM's allocations and
// the number of its calls, host-local's data directory. Left out of the state directory: the HNS
// version cache (shared/hns/version-cache.ts), a fact about the host learned once per OS build by
// whichever invocation first talks to HNS, as a log file is; no request's outcome depends on it.

import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../shared/schema/canonical';
import { VERSION_CACHE_FILE } from '../../shared/hns/version-cache';
import type { CaseNode } from './node';

export interface Snapshot {
  hns: Record<string, string>;
  state: Record<string, string>;
  ipam: Record<string, string>;
  ipamCalls: number;
  hostLocal: Record<string, string>;
}

export type SnapshotPart = keyof Snapshot;

function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        let content: string;
        try {
          content = fs.readFileSync(p, 'utf8');
        } catch {
          content = '<unreadable>';
        }
        out[path.relative(root, p)] = content;
      }
    }
  };
  walk(root);
  return out;
}

export function snapshot(node: CaseNode): Snapshot {
  const hns: Record<string, string> = {};
  if (node.profile.backend === 'emulator' || fs.existsSync(path.join(node.emulatorDir, 'state.json'))) {
    const s = node.admin().readState();
    for (const [kind, objs] of [['network', s.networks], ['endpoint', s.endpoints], ['namespace', s.namespaces]] as const) {
      for (const o of Object.values(objs)) hns[`${kind} ${o.Name ?? o.ID}${o.Name ? ` (${o.ID})` : ''}`] = canonicalJson(o);
    }
  }
  const ipam: Record<string, string> = {};
  for (const a of node.ipamAllocations()) ipam[`${a.network}/${a.containerId}/${a.ifName}`] = a.addresses.join(',');
  const state = files(node.stateDir);
  delete state[VERSION_CACHE_FILE];
  return { hns, state, ipam, ipamCalls: node.ipamCalls().length, hostLocal: files(node.hostLocalDir) };
}

function diffMaps(what: string, a: Record<string, string>, b: Record<string, string>, out: string[]): void {
  for (const k of Object.keys(b)) if (!(k in a)) out.push(`${what}: ${k} appeared`);
  for (const k of Object.keys(a)) if (!(k in b)) out.push(`${what}: ${k} disappeared`);
  for (const k of Object.keys(a)) if (k in b && a[k] !== b[k]) out.push(`${what}: ${k} changed${changedKeys(a[k]!, b[k]!)}`);
}

/** For JSON objects: which top-level keys differ. */
function changedKeys(a: string, b: string): string {
  try {
    const x = JSON.parse(a) as Record<string, unknown>;
    const y = JSON.parse(b) as Record<string, unknown>;
    if (!x || !y || typeof x !== 'object' || typeof y !== 'object') return '';
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => canonicalJson(x[k]) !== canonicalJson(y[k]));
    return keys.length ? ` (${keys.join(', ')})` : '';
  } catch {
    return '';
  }
}

/** The differences between two snapshots, in words; `ignore` leaves parts out. */
export function diff(a: Snapshot, b: Snapshot, ignore: SnapshotPart[] = []): string[] {
  const out: string[] = [];
  if (!ignore.includes('hns')) diffMaps('HNS', a.hns, b.hns, out);
  if (!ignore.includes('state')) diffMaps('plugin state', a.state, b.state, out);
  if (!ignore.includes('ipam')) diffMaps('FAKE-IPAM allocation', a.ipam, b.ipam, out);
  if (!ignore.includes('ipamCalls') && a.ipamCalls !== b.ipamCalls) out.push(`FAKE-IPAM ran ${b.ipamCalls - a.ipamCalls} time(s)`);
  if (!ignore.includes('hostLocal')) diffMaps('host-local store', a.hostLocal, b.hostLocal, out);
  return out;
}
