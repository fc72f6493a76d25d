// The emulator's hook to its Linux data plane (dataplane/, config `dataplane: netns`): every
// change of the state is realized as Linux networking, under the state lock, right after it is
// committed. A change first leaves a marker (`dataplane/dirty`) that only a realization that
// converged everything removes, so a process killed between the commit and the end of the
// realization leaves work that the next call of any process (a read too) finishes.
//
// The data plane's code is not in the plugins' bundle: it rides in the executable as a SEA asset
// (build.mjs), loaded only when the knob is on and there is something to realize.

import path from 'node:path';
import { requireAsset } from '../../../sys/asset';
import type { EmulatorConfig } from './config';
import { exists, remove, touch } from './fsio';

/** The SEA asset holding dataplane/index.ts (build.mjs). */
export const DATAPLANE_ASSET = 'hns-dataplane.js';

export interface RealizeReport {
  /** Everything converged (the marker is removed only then). */
  ok: boolean;
  /** Network namespaces converged by this pass. */
  converged: string[];
  errors: string[];
}

export interface DataplaneModule {
  /** Makes Linux match the state in `dir`; the caller holds the state lock. `force` converges every namespace, changed or not. */
  realize(dir: string, cfg: EmulatorConfig, opts?: { force?: boolean }): RealizeReport;
  /** Removes every namespace of this host (the caller holds the state lock). */
  teardown(dir: string, cfg: EmulatorConfig): string[];
  /** The namespace that is this host. */
  nodeNetns(dir: string, cfg: EmulatorConfig): string;
  /** The namespace of an HNS namespace of this host. */
  podNetns(node: string, namespaceId: string): string;
}

export function dirtyMarker(dir: string): string {
  return path.join(dir, 'dataplane', 'dirty');
}

export function dataplaneOn(cfg: EmulatorConfig): boolean {
  return cfg.dataplane === 'netns';
}

/** Before a commit that changes the state or the host's routes and flags (under the lock). */
export function markDirty(dir: string, cfg: EmulatorConfig): void {
  if (dataplaneOn(cfg)) touch(dirtyMarker(dir));
}

export function isDirty(dir: string, cfg: EmulatorConfig): boolean {
  return dataplaneOn(cfg) && exists(dirtyMarker(dir));
}

let loaded: DataplaneModule | undefined;

export function dataplaneModule(): DataplaneModule {
  const fromSource = /\.ts$/.test(__filename);
  loaded ??= requireAsset<DataplaneModule>(DATAPLANE_ASSET, fromSource ? path.join(__dirname, 'dataplane', 'index.ts') : path.join(__dirname, DATAPLANE_ASSET));
  return loaded;
}

/** Under the state lock: realizes a change that is not realized yet. A failure is left for the next call (the marker stays) and reported by the module in calls.log. */
export function realizeIfDirty(dir: string, cfg: EmulatorConfig): RealizeReport | undefined {
  if (!isDirty(dir, cfg)) return undefined;
  const report = dataplaneModule().realize(dir, cfg);
  if (report.ok) remove(dirtyMarker(dir));
  return report;
}
