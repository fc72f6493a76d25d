// Raw policies from the conf, in every shape existing conflists use, as HCN v2 {Type, Settings}:
//   policies:       [{name: "EndpointPolicy", value: {...}}]  (win-bridge/win-overlay; Name/Value too:
//                   Go decodes keys case-insensitively) where value is v2 {Type, Settings} or the
//                   flat v1 shape ({Type: "OutBoundNAT", ExceptionList: [...]}, ROUTE, PA, NAT, ACL)
//                   or a bare v2 policy;
//   hcnPolicyArgs:  [{Type, Settings}]                          (older win-bridge);
//   AdditionalArgs: [{Name: "EndpointPolicy", Value: {...}}]    (windows-container-networking).
// Entries named anything but EndpointPolicy (e.g. NetworkPolicy) are not endpoint policies: the
// upstream plugins skip them, and so do we (the caller logs them).

import { CniError, ErrorCode } from '../cni/errors';
import type { EndpointPolicy } from '../hns/model/policy';
import type { NetConf, RawPolicy } from '../config/types';
import { validate as validateEndpointPolicy } from '../hns/model/endpoint-policy.validator';
import { describeSchemaError } from '../schema/validator';
import { protocolNumber } from './port-mapping';

export interface RawPolicies {
  policies: EndpointPolicy[];
  /** Entries skipped because they are not endpoint policies, for the log. */
  skipped: string[];
}

const SOURCES = ['policies', 'hcnPolicyArgs', 'HcnPolicyArgs', 'AdditionalArgs'] as const;

export function rawEndpointPolicies(conf: NetConf): RawPolicies {
  const out: RawPolicies = { policies: [], skipped: [] };
  for (const key of SOURCES) {
    (conf[key] ?? []).forEach((entry, i) => {
      const where = `${key}[${i}]`;
      const unwrapped = unwrap(entry);
      if (unwrapped === 'skip') {
        out.skipped.push(`${where} (${entry.name ?? entry.Name})`);
        return;
      }
      out.policies.push(checkPolicy(toV2(unwrapped, where), where));
    });
  }
  return out;
}

function unwrap(entry: RawPolicy): Record<string, unknown> | 'skip' {
  const name = entry.name ?? entry.Name;
  const value = entry.value ?? entry.Value;
  if (name === undefined) return entry as Record<string, unknown>;
  return /^endpointpolicy$/i.test(name) && value ? value : 'skip';
}

/** The flat v1 shapes, rewritten as v2; v2 documents pass through. */
function toV2(p: Record<string, unknown>, where: string): Record<string, unknown> {
  if ('Settings' in p || Object.keys(p).every((k) => k === 'Type')) return p;
  const { Type, ...rest } = p;
  const v1 = rest as Record<string, any>;
  switch (Type) {
    case 'OutBoundNAT':
      return { Type, Settings: defined({ Exceptions: v1.ExceptionList ?? v1.Exceptions, Destinations: v1.Destinations, VirtualIP: v1.VIP ?? v1.VirtualIP }) };
    case 'ROUTE':
      return { Type: 'SDNRoute', Settings: defined({ DestinationPrefix: v1.DestinationPrefix, NextHop: v1.NextHop, NeedEncap: v1.NeedEncap }) };
    case 'PA':
      return { Type: 'ProviderAddress', Settings: defined({ ProviderAddress: v1.PA }) };
    case 'NAT':
      return { Type: 'PortMapping', Settings: defined({ InternalPort: v1.InternalPort, ExternalPort: v1.ExternalPort, Protocol: v1.Protocol === undefined ? undefined : protocolNumber(String(v1.Protocol), `${where}.Protocol`), VIP: v1.VIP }) };
    case 'ACL':
      return { Type, Settings: defined({ Protocols: v1.Protocol === undefined ? v1.Protocols : String(v1.Protocol), Action: v1.Action, Direction: v1.Direction, LocalAddresses: v1.LocalAddresses, RemoteAddresses: v1.RemoteAddresses, LocalPorts: v1.LocalPorts ?? v1.LocalPort, RemotePorts: v1.RemotePorts ?? v1.RemotePort, RuleType: v1.RuleType, Priority: v1.Priority }) };
    default:
      throw new CniError(ErrorCode.UnsupportedField, `unsupported policy in ${where}: type ${JSON.stringify(Type)} in the flat HNS v1 shape`, 'write it as an HCN v2 policy: {"Type": ..., "Settings": {...}}');
  }
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
