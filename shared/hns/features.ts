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

type Range = [minMajor: number, minMinor: number, maxMajor?: number];

/** True if the version is within any range: [major.minor, up to maxMajor.*] or [major.minor, ∞). */
function inAny(v: SchemaVersion, ranges: Range[]): boolean {
  return ranges.some(([maj, min, maxMaj]) => {
    const atLeast = v.Major > maj || (v.Major === maj && v.Minor >= min);
    return atLeast && (maxMaj === undefined || v.Major <= maxMaj);
  });
}

/**
 * InterfaceParameters is HCN schema 2.4 (HNS_Schema.md), which lies between 1809's 2.0 (HNS 9.x,
 * Server 2019) and 2004's 2.6 (HNS 11.x): 11.0 is the first HNS version sure to have it.
 */
const INTERFACE_PARAMETERS_FROM: Range[] = [[11, 0]];

export function featuresOf(v: SchemaVersion): HnsFeatures {
  return {
    version: v,
    remoteSubnet: inAny(v, [[9, 2]]),
    hostRoute: inAny(v, [[9, 2]]),
    dsr: inAny(v, [[9, 3, 9], [10, 2]]),
    slash32EndpointPrefixes: inAny(v, [[9, 3, 9], [10, 4]]),
    vxlanPort: inAny(v, [[10, 3]]),
    ipv6DualStack: inAny(v, [[11, 10]]),
    sessionAffinity: inAny(v, [[12, 0]]),
    setPolicy: inAny(v, [[13, 0]]),
    disableHostPort: inAny(v, [[15, 1]]),
    interfaceParameters: inAny(v, INTERFACE_PARAMETERS_FROM),
  };
}
