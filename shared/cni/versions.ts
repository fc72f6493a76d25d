// CNI spec versions, their result families and which verbs each version allows.

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The version a plugin writes in its VERSION reply when stdin gives none. */
export const CURRENT_VERSION: CniVersion = '1.1.0';

/** A config without `cniVersion` (or with an empty one) is a 0.1.0 config. */
export const DEFAULT_CONFIG_VERSION: CniVersion = '0.1.0';

export type ResultFamily = '020' | '040' | '100';

export const FAMILY_VERSIONS: Record<ResultFamily, readonly CniVersion[]> = {
  '020': ['0.1.0', '0.2.0'],
  '040': ['0.3.0', '0.3.1', '0.4.0'],
  '100': ['1.0.0', '1.1.0'],
};

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

export function familyOf(v: CniVersion): ResultFamily {
  if (v === '0.1.0' || v === '0.2.0') return '020';
  if (v === '1.0.0' || v === '1.1.0') return '100';
  return '040';
}

/**
 * Parses a semantic version the way the reference library orders them
 * ("1.0" parses as 1.0.0 for ordering, although it never matches exactly).
 * Returns undefined for text that is not a version.
 */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

export function compareVersions(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** The lowest config version at which each verb exists. */
export const VERB_MIN_VERSION: Record<'CHECK' | 'GC' | 'STATUS', CniVersion> = {
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
};
