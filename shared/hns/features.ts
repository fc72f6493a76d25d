// Feature gates from the HNS version, as hcsshim computes them (hcn-api.md §4.8): the service
// has no feature query of its own.

import type { SchemaVersion } from './model/common';

export interface HnsFeatures {
  version: SchemaVersion;
  remoteSubnet: boolean;
  hostRoute: boolean;
  dsr: boolean;
  slash32EndpointPrefixes: boolean;
  vxlanPort: boolean;
  ipv6DualStack: boolean;
  sessionAffinity: boolean;
  setPolicy: boolean;
  disableHostPort: boolean;
  /** The InterfaceParameters endpoint policy (the pod adapter's MTU). */
  interfaceParameters: boolean;
}

/** hcsshim's version range (hcn/hcnsupport.go): [min major.minor, up to maxMajor.*], or without maxMajor [min, ∞). */
export type VersionRange = readonly [minMajor: number, minMinor: number, maxMajor?: number];

/** v >= major.minor */
export function atLeast(v: SchemaVersion, major: number, minor: number): boolean {
  return v.Major > major || (v.Major === major && v.Minor >= minor);
}

/** True if the version is within any of the ranges. */
export function inRanges(v: SchemaVersion, ranges: readonly VersionRange[]): boolean {
  return ranges.some(([maj, min, maxMaj]) => atLeast(v, maj, min) && (maxMaj === undefined || v.Major <= maxMaj));
}

/** The HNS versions that have each feature (hcsshim hcn/hcnglobals.go; the HNS emulator gates by them too). */
export const FEATURE_RANGES = {
  remoteSubnet: [[9, 2]],
  hostRoute: [[9, 2]],
  dsr: [[9, 3, 9], [10, 2]],
  slash32EndpointPrefixes: [[9, 3, 9], [10, 4]],
  vxlanPort: [[10, 3]],
  ipv6DualStack: [[11, 10]],
  sessionAffinity: [[12, 0]],
  setPolicy: [[13, 0]],
  disableHostPort: [[15, 1]],
  /**
   * InterfaceParameters is HCN schema 2.4 (HNS_Schema.md), which lies between 1809's 2.0 (HNS 9.x,
   * Server 2019) and 2004's 2.6 (HNS 11.x): 11.0 is the first HNS version sure to have it.
   */
  interfaceParameters: [[11, 0]],
} as const satisfies Record<string, readonly VersionRange[]>;

export function featuresOf(v: SchemaVersion): HnsFeatures {
  const has = (feature: keyof typeof FEATURE_RANGES) => inRanges(v, FEATURE_RANGES[feature]);
  return {
    version: v,
    remoteSubnet: has('remoteSubnet'),
    hostRoute: has('hostRoute'),
    dsr: has('dsr'),
    slash32EndpointPrefixes: has('slash32EndpointPrefixes'),
    vxlanPort: has('vxlanPort'),
    ipv6DualStack: has('ipv6DualStack'),
    sessionAffinity: has('sessionAffinity'),
    setPolicy: has('setPolicy'),
    disableHostPort: has('disableHostPort'),
    interfaceParameters: has('interfaceParameters'),
  };
}
