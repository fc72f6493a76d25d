// Raw policies from the conf, in every shape existing conflists use, as HCN v2 {Type, Settings}.
// The conf is already canonical (shared/schema/decode.ts), so each source has one spelling:
//   policies:       [{name: "EndpointPolicy", value: {...}}]  (win-bridge/win-overlay) where value
//                   is v2 {Type, Settings} or the flat v1 shape (hcsshim hnspolicy.go: OutBoundNAT
//                   ExceptionList, ROUTE, PA, NAT, ACL, QOS, VLAN), or a bare v2 {Type, Settings};
//   hcnPolicyArgs:  [{Type, Settings}]                          (older win-bridge);
//   AdditionalArgs: [{Name: "EndpointPolicy", Value: {...}}]    (sdnbridge/sdnoverlay).
// Entries named NetworkPolicy are not endpoint policies: sdnbridge applies them only when it
// creates the network, which these plugins never do, so they are reported as skipped.

import { CniError, ErrorCode } from '../cni/errors';
import { NatFlags, type EndpointPolicy } from '../hns/model/policy';
import type { NetConf, RawPolicy } from '../config/types';
import { validate as validateEndpointPolicy } from '../hns/model/endpoint-policy.validator';
import { describeSchemaError } from '../schema/validator';
import { protocolNumber } from './port-mapping';

export interface RawPolicies {
  policies: EndpointPolicy[];
  /** Entries skipped because they are not endpoint policies, for the log. */
  skipped: string[];
}

export function rawEndpointPolicies(conf: NetConf): RawPolicies {
  const out: RawPolicies = { policies: [], skipped: [] };
  const take = (where: string, name: string | undefined, value: Record<string, unknown> | undefined) => {
    if (name !== undefined && name !== 'EndpointPolicy') {
      out.skipped.push(`${where} (${name})`);
      return;
    }
    out.policies.push(checkPolicy(toV2(value ?? {}, where), where));
  };
  (conf.policies ?? []).forEach((e, i) => (e.name === undefined ? take(`policies[${i}]`, undefined, e as Record<string, unknown>) : take(`policies[${i}]`, e.name, e.value)));
  (conf.hcnPolicyArgs ?? []).forEach((p, i) => take(`hcnPolicyArgs[${i}]`, undefined, p as Record<string, unknown>));
  (conf.AdditionalArgs ?? []).forEach((e: RawPolicy, i) => take(`AdditionalArgs[${i}]`, e.Name, e.Value));
  return out;
}

/** The flat v1 shapes, rewritten as v2; v2 documents pass through. */
function toV2(p: Record<string, unknown>, where: string): Record<string, unknown> {
  if ('Settings' in p || Object.keys(p).every((k) => k === 'Type')) return p;
  const { Type, ...rest } = p;
  const v1 = rest as Record<string, any>;
  switch (Type) {
    case 'OutBoundNAT':
      return { Type, Settings: defined({ Exceptions: v1.ExceptionList, Destinations: v1.Destinations, VirtualIP: v1.VIP }) };
    case 'ROUTE':
      return { Type: 'SDNRoute', Settings: defined({ DestinationPrefix: v1.DestinationPrefix, NextHop: v1.NextHop, NeedEncap: v1.NeedEncap }) };
    case 'PA':
      return { Type: 'ProviderAddress', Settings: defined({ ProviderAddress: v1.PA }) };
    case 'NAT': {
      const flags = v1.ExternalPortReserved ? NatFlags.ExternalPortReserved : undefined;
      const protocol = v1.Protocol === undefined ? undefined : protocolNumber(String(v1.Protocol), `${where}.Protocol`);
      return { Type: 'PortMapping', Settings: defined({ InternalPort: v1.InternalPort, ExternalPort: v1.ExternalPort, Protocol: protocol, VIP: v1.VIP, Flags: flags }) };
    }
    case 'ACL':
      return { Type, Settings: aclSettings(v1, where) };
    case 'QOS':
      return { Type, Settings: defined({ MaximumOutgoingBandwidthInBytes: v1.MaximumOutgoingBandwidthInBytes }) };
    case 'VLAN':
      return { Type, Settings: defined({ IsolationId: v1.VLAN }) };
    default:
      throw new CniError(ErrorCode.UnsupportedField, `unsupported policy in ${where}: type ${JSON.stringify(Type)} in the flat HNS v1 shape`, 'write it as an HCN v2 policy: {"Type": ..., "Settings": {...}}');
  }
}

/**
 * hcsshim's v1 ACLPolicy has numeric LocalPort/RemotePort beside the string lists LocalPorts/
 * RemotePorts, and a numeric Protocol beside the string Protocols; v2 has only the strings.
 */
function aclSettings(v1: Record<string, any>, where: string): Record<string, unknown> {
  for (const key of ['InternalPort', 'ServiceName']) {
    if (v1[key]) throw new CniError(ErrorCode.UnsupportedField, `unsupported key in ${where}: the v1 ACL field ${key} has no HCN v2 equivalent`, 'write the ACL as an HCN v2 policy: {"Type": "ACL", "Settings": {...}}');
  }
  const ports = (list: unknown, one: unknown) => (list !== undefined ? list : one !== undefined && one !== 0 ? String(one) : undefined);
  return defined({
    Id: v1.Id,
    Protocols: v1.Protocols !== undefined ? v1.Protocols : v1.Protocol !== undefined ? String(v1.Protocol) : undefined,
    Action: v1.Action,
    Direction: v1.Direction,
    LocalAddresses: v1.LocalAddresses,
    RemoteAddresses: v1.RemoteAddresses,
    LocalPorts: ports(v1.LocalPorts, v1.LocalPort),
    RemotePorts: ports(v1.RemotePorts, v1.RemotePort),
    RuleType: v1.RuleType,
    Priority: v1.Priority,
  });
}

function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Every raw policy is checked against the HCN schema here, not left for the service to refuse. */
function checkPolicy(p: Record<string, unknown>, where: string): EndpointPolicy {
  if (validateEndpointPolicy(p)) return p as unknown as EndpointPolicy;
  const e = validateEndpointPolicy.errors![0]!;
  const sentence = describeSchemaError({ ...e, instancePath: e.instancePath }, p);
  const unsupportedType = e.instancePath === '/Type' && e.keyword === 'enum';
  throw new CniError(
    unsupportedType ? ErrorCode.UnsupportedField : ErrorCode.InvalidNetworkConfig,
    unsupportedType ? `unsupported policy type in ${where}: ${JSON.stringify(p.Type)}` : `invalid policy in ${where}: ${sentence}`,
    unsupportedType ? `HCN endpoint policy types are PortMapping, ACL, OutBoundNAT, SDNRoute, ProviderAddress, QOS, ...` : undefined,
  );
}
