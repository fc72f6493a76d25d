// What the first log line of every invocation says about the host: its OS build and its HNS
// version (pain point 21). The HNS version costs an HNS round trip (HNSCall GET /globals/version),
// which a plugin run, paying start-up on every pod, should not add each time; so it is kept in a
// small file in the state folder, keyed by the OS build. A Windows update changes the build (its
// update revision at least), so after a patch the cached version no longer matches: the line
// says "not yet known", and the invocation asks the service once and writes the file again
// (log step `hns-version`). hnsctl selftest and the node agent, which ask the version anyway,
// write it too.

import path from 'node:path';
import type { SchemaVersion } from './model/common';
import fs from 'node:fs';
import { mkdirPrivate, parseTempFileName, readJsonFile, removeAbandonedTemps, writeFileAtomic } from '../sys/atomic';
import { osBuild } from '../sys/osbuild';
import { stateDir } from '../sys/paths';

export const VERSION_CACHE_FILE = 'hns-version.json';
export const NOT_YET_KNOWN = 'not yet known';

export interface HostVersions {
  osBuild: string;
  /** `Major.Minor` from the cache for this OS build; undefined when not yet known. */
  hnsVersion?: string;
  /** The cache file. */
  file: string;
}

interface CacheFile {
  osBuild: string;
  hnsVersion: string;
  learned: string;
}

export function versionText(v: SchemaVersion): string {
  return `${v.Major}.${v.Minor}`;
}

/** The OS build now, and the HNS version last learned under it; never throws. */
export function hostVersions(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, build = osBuild({ env, platform })): HostVersions {
  const file = path.join(stateDir(env, platform), VERSION_CACHE_FILE);
  try {
    const cached = readJsonFile<Partial<CacheFile> | null>(file, null);
    if (cached && cached.osBuild === build && typeof cached.hnsVersion === 'string') return { osBuild: build, hnsVersion: cached.hnsVersion, file };
  } catch {
    // An unreadable or damaged cache is a version not yet known; the next learner rewrites it.
  }
  return { osBuild: build, file };
}

/** The first line's fields: both values, or plainly where the HNS version will be said. */
export function firstLineFields(h: HostVersions): { osBuild: string; hnsVersion: string } {
  return { osBuild: h.osBuild, hnsVersion: h.hnsVersion ?? `${NOT_YET_KNOWN} (asked of the service in step hns-version)` };
}

/** Writes the version learned under this OS build, if the file says otherwise; never throws (the log says it). */
export function rememberHnsVersion(h: HostVersions, v: SchemaVersion): boolean {
  const text = versionText(v);
  if (h.hnsVersion === text) return false;
  try {
    const dir = path.dirname(h.file);
    mkdirPrivate(dir);
    // A writer killed between its temp file and the rename left the temp (and a stale cache, so
    // the next invocation comes here): removed once that writer is gone.
    const temps = fs.readdirSync(dir).filter((n) => parseTempFileName(n)?.target === VERSION_CACHE_FILE);
    if (temps.length) removeAbandonedTemps(dir, temps);
    // A lost write only costs one more ask: no fsync.
    writeFileAtomic(h.file, JSON.stringify({ osBuild: h.osBuild, hnsVersion: text, learned: new Date().toISOString() } satisfies CacheFile) + '\n', { durable: false });
    h.hnsVersion = text;
    return true;
  } catch {
    return false;
  }
}
