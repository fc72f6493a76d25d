// What a given Windows build does not know yet, refused the way Windows refuses it (research
// fidelity.md §1.2, §2, §13.9):
//
//   a field newer than the host's schema     HCN_E_INVALID_JSON  {{Field,UnknownField}} (observed
//                                            for CreateWithCompartment on Server 2022)
//   a policy type the host does not have     HCN_E_INVALID_POLICY_TYPE (observed text "Invalid policy
//                                            type", microsoft/Windows-Containers#360; that the
//                                            version is the reason is INFERRED)
//   a Settings key newer than the host       HCN_E_INVALID_POLICY {{Key,UnknownField}} (INFERRED)
//   an enum value or flag bit it lacks       INFERRED codes, per row below
//
// Which version a thing needs. Endpoint policy types and document fields follow HNS_Schema.md's
// NewInVersion against the profile's schema minor. Network policy types follow the HNS version
// at which hcsshim (hcn/hcnglobals.go) gates them instead: the schema lists them all at 2.0, which
// cannot be right for VxlanPort (10.3), SetPolicy (13.0) or NetworkACL (15.0). Likewise the ACL
// five-tuple fields that the schema puts at 2.5 are not gated: they were used on 2019 (hcsshim
// hcn/hcnutils_test.go HcnCreateAcls, microsoft/hcsshim#1059).

import { atLeast, FEATURE_RANGES, inRanges, type VersionRange } from '../../features';
import type { SchemaVersion } from '../../model/common';
import { NatFlags } from '../../model/policy';
import { NetworkFlags } from '../../model/network';
import { fail } from './failure';
import { type PolicyFamily, policyLists } from './canon';

type Json = Record<string, unknown>;

export interface HostVersions {
  hnsVersion: SchemaVersion;
  schemaVersion: SchemaVersion;
}

interface TypeGate {
  /** Minimum schema minor (HNS_Schema.md NewInVersion). */
  schema?: number;
  /** HNS version ranges (hcsshim hcn/hcnglobals.go). */
  hns?: readonly VersionRange[];
}

/** Endpoint policy types newer than schema 2.0; the rest of the schema's list is 2.0. */
const ENDPOINT_POLICY_GATES: Record<string, TypeGate> = {
  Encryption: { schema: 1 },
  VLAN: { schema: 4 },
  InterfaceParameters: { schema: 4 },
  L4WFPPROXY: { schema: 5, hns: [[13, 2]] },
  Iov: { schema: 9 },
  TierAcl: { schema: 10, hns: [[14, 0]] },
  // Not in EndpointPolicyType at all; FirewallPolicySetting is 2.16 (INFERRED: the type came with it).
  Firewall: { schema: 16 },
};

/** Network policy types gated on the HNS version, as hcsshim gates them. */
const NETWORK_POLICY_GATES: Record<string, TypeGate> = {
  RemoteSubnetRoute: { hns: FEATURE_RANGES.remoteSubnet },
  HostRoute: { hns: FEATURE_RANGES.hostRoute },
  VxlanPort: { hns: FEATURE_RANGES.vxlanPort },
  SetPolicy: { hns: FEATURE_RANGES.setPolicy },
  L4Proxy: { hns: [[9, 5, 9], [10, 5, 10], [11, 11, 11], [12, 1, 12], [13, 1]] },
  NetworkACL: { hns: [[15, 0]] },
};

const GATES: Record<PolicyFamily, Record<string, TypeGate>> = { endpoint: ENDPOINT_POLICY_GATES, network: NETWORK_POLICY_GATES, subnet: {} };

function passes(gate: TypeGate, host: HostVersions): boolean {
  if (gate.schema !== undefined && !atLeast(host.schemaVersion, 2, gate.schema)) return false;
  if (gate.hns && !inRanges(host.hnsVersion, gate.hns)) return false;
  return true;
}

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const hostText = (host: HostVersions) => `HNS ${host.hnsVersion.Major}.${host.hnsVersion.Minor}, schema ${host.schemaVersion.Major}.${host.schemaVersion.Minor}`;

function unknownField(name: string): never {
  fail('HCN_E_INVALID_JSON', `{{${name},UnknownField}}`);
}

/** Fields of the document newer than the host's schema (HNS_Schema.md NewInVersion). */
function checkFields(kind: string, doc: Json, host: HostVersions): void {
  const schema = (minor: number) => atLeast(host.schemaVersion, 2, minor);
  if (kind === 'network') {
    for (const ipam of arr(doc.Ipams)) {
      if (!isObj(ipam)) continue;
      for (const subnet of arr(ipam.Subnets)) {
        if (!isObj(subnet)) continue;
        if ('IpSubnets' in subnet && !schema(3)) unknownField('IpSubnets');
        if ('Flags' in subnet && !schema(7)) unknownField('Flags');
        for (const ips of arr(subnet.IpSubnets)) if (isObj(ips) && 'Flags' in ips && !schema(5)) unknownField('Flags');
      }
    }
  }
  if (kind === 'endpoint') {
    for (const c of arr(doc.IpConfigurations)) if (isObj(c) && 'IpSubnetId' in c && !schema(3)) unknownField('IpSubnetId');
  }
  if (kind === 'namespace') {
    // Neither is in HNS_Schema.md. CreateWithCompartment: refused on Server 2022 (tunbury.org
    // 2025/06/27 windows-containerd-3), sent by microsoft/SDN hns.v2.psm1, so known to some later
    // build: 15.x taken (INFERRED). ReadyOnCreate: containerd sends it "if HNS version >= 15.2 or
    // 13.4" (pkg/netns/netns_windows.go), so those builds know it (the others INFERRED not to).
    if ('CreateWithCompartment' in doc && !knowsCreateWithCompartment(host)) unknownField('CreateWithCompartment');
    if ('ReadyOnCreate' in doc && !knowsReadyOnCreate(host)) unknownField('ReadyOnCreate');
  }
}

export function knowsReadyOnCreate(host: HostVersions): boolean {
  return inRanges(host.hnsVersion, [[13, 4, 13], [15, 2]]);
}

function knowsCreateWithCompartment(host: HostVersions): boolean {
  return atLeast(host.hnsVersion, 15, 0);
}

/** Network Type values: Mirrored/Infiniband 2.4, ConstrainedICS 2.10 (HNS_Schema.md NetworkMode). */
const NETWORK_TYPE_SCHEMA: Record<string, number> = { Mirrored: 4, Infiniband: 4, ConstrainedICS: 10, '8': 4, '9': 4, '10': 10 };

/**
 * NetworkFlags bits newer than 2.0: EnableFlowSteering 64 (2.11), DisableSharing 128 and
 * EnableFirewall 256 (2.14), DisableHostPort 1024 (HNS 15.1, hcsshim). The code a host gives for
 * a bit it lacks is not documented: HCN_E_INVALID_NETWORK (INFERRED).
 */
const NETWORK_FLAG_GATES: { name: keyof typeof NetworkFlags; gate: TypeGate }[] = [
  { name: 'EnableFlowSteering', gate: { schema: 11 } },
  { name: 'DisableSharing', gate: { schema: 14 } },
  { name: 'EnableFirewall', gate: { schema: 14 } },
  { name: 'DisableHostPort', gate: { hns: FEATURE_RANGES.disableHostPort } },
];

function checkValues(kind: string, doc: Json, host: HostVersions): void {
  if (kind === 'network') {
    const t = doc.Type;
    const needs = t === undefined ? undefined : NETWORK_TYPE_SCHEMA[String(t)];
    if (needs !== undefined && !atLeast(host.schemaVersion, 2, needs)) fail('HCN_E_INVALID_NETWORK_TYPE', `{{Type,${String(t)} is not known to ${hostText(host)}}}`);
    if (typeof doc.Flags === 'number') {
      for (const f of NETWORK_FLAG_GATES) {
        const bit = NetworkFlags[f.name];
        if ((doc.Flags & bit) !== 0 && !passes(f.gate, host)) fail('HCN_E_INVALID_NETWORK', `{{Flags,${f.name} (${bit}) is not known to ${hostText(host)}}}`);
      }
    }
  }
  if (kind === 'modify-network') {
    // NetworkResourceType Subnet and IPSubnet are 2.6 (INFERRED code).
    const rt = doc.ResourceType;
    if ((rt === 'Subnet' || rt === 'IPSubnet' || rt === 3 || rt === 4) && !atLeast(host.schemaVersion, 2, 6)) {
      fail('HCN_E_INVALID_JSON', `{{ResourceType,${String(rt)} is not known to ${hostText(host)}}}`);
    }
  }
}

/** Settings keys newer than the host (HNS_Schema.md L4WfpProxyPolicySetting). */
const SETTINGS_KEY_SCHEMA: Record<string, Record<string, number>> = {
  L4WFPPROXY: { InboundProxyPort: 11, OutboundProxyPort: 11, InboundExceptions: 14, OutboundExceptions: 14 },
};

function checkPolicy(family: PolicyFamily, p: unknown, host: HostVersions): void {
  if (!isObj(p) || typeof p.Type !== 'string') return;
  const type = p.Type;
  const gate = GATES[family][type];
  if (gate && !passes(gate, host)) fail('HCN_E_INVALID_POLICY_TYPE', `{{Type,${type} is not known to ${hostText(host)}}}`);
  if (!isObj(p.Settings)) return;
  const s = p.Settings;
  for (const [key, minor] of Object.entries(SETTINGS_KEY_SCHEMA[type] ?? {})) {
    if (key in s && !atLeast(host.schemaVersion, 2, minor)) fail('HCN_E_INVALID_POLICY', `{{${key},UnknownField}}`);
  }
  // NatFlags.IPv6 is 2.8 (PortMapping, OutBoundNAT); INFERRED code.
  if ((type === 'PortMapping' || type === 'OutBoundNAT') && typeof s.Flags === 'number' && (s.Flags & NatFlags.IPv6) !== 0 && !atLeast(host.schemaVersion, 2, 8)) {
    fail('HCN_E_INVALID_POLICY', `{{Flags,IPv6 (2) is not known to ${hostText(host)}}}`);
  }
  if (type === 'ACL' || type === 'NetworkACL') {
    // ActionType Pass is 2.10 (HNS_Schema.md); protocol 252 needs HNS 11.0 (hcsshim
    // AclSupportForProtocol252). INFERRED code.
    if (s.Action === 'Pass' && !atLeast(host.schemaVersion, 2, 10)) fail('HCN_E_INVALID_POLICY', `{{Action,Pass is not known to ${hostText(host)}}}`);
    if (typeof s.Protocols === 'string' && s.Protocols.split(',').some((x) => x.trim() === '252') && !atLeast(host.hnsVersion, 11, 0)) {
      fail('HCN_E_INVALID_POLICY', `{{Protocols,252 is not supported by ${hostText(host)}}}`);
    }
  }
  // NESTEDIPSET: hcsshim NestedIpSet >= 15.0.
  if (type === 'SetPolicy' && s.PolicyType === 'NESTEDIPSET' && !atLeast(host.hnsVersion, 15, 0)) fail('HCN_E_INVALID_POLICY', `{{PolicyType,NESTEDIPSET is not supported by ${hostText(host)}}}`);
}

/** Throws the host's refusal of the first thing in the document it does not know. */
export function checkVersionGates(kind: string, doc: Json, host: HostVersions): void {
  checkFields(kind, doc, host);
  for (const { owner, key, family } of policyLists(kind, doc)) for (const p of owner[key] as unknown[]) checkPolicy(family, p, host);
  checkValues(kind, doc, host);
}
