// Settings of the policy types that the HCN schemas (model/policy.schema.json) let through with
// any object: the plugins never send them, other HCN clients (hcsshim, kube-proxy, Calico) do.
// Checked in code rather than in the schemas, which every plugin embeds (the conf schemas refer to
// them), so this costs the plugins nothing on Windows. Fields: HNS_Schema.md (research
// fidelity.md §2.5); a refusal is HCN_E_INVALID_POLICY naming the setting, as the schema's are.

import { Protocol } from '../../model/policy';
import { fail } from './failure';

type FieldKind = 'string' | 'bool' | 'u16' | 'u32' | 'u64' | 'strings' | 'object' | 'protocol' | readonly string[];

interface SettingsShape {
  fields: Record<string, FieldKind>;
  required?: readonly string[];
}

const ACL: SettingsShape = {
  fields: {
    Protocols: 'string', Action: ['Allow', 'Block', 'Pass'], Direction: ['In', 'Out'], LocalAddresses: 'string', RemoteAddresses: 'string',
    LocalPorts: 'string', RemotePorts: 'string', RuleType: ['Host', 'Switch'], Priority: 'u16', Id: 'string',
  },
  required: ['Action', 'Direction'],
};

const EXTRA_SETTINGS: Record<string, SettingsShape> = {
  QOS: { fields: { MaximumOutgoingBandwidthInBytes: 'u64' } },
  EncapOverhead: { fields: { Overhead: 'u16' } },
  // Schema 2.4 (InterfaceParametersPolicySetting).
  InterfaceParameters: { fields: { Mtu: 'u16' } },
  // The VLAN endpoint policy type is 2.4; its IsolationId 2.0.
  VLAN: { fields: { IsolationId: 'u32' }, required: ['IsolationId'] },
  PortName: { fields: { Name: 'string' } },
  // HNS_Schema.md names ExceptionList/OutboundNat; hcsshim hcn/hcnpolicy.go sends Exceptions and
  // OutboundNAT (which meets OutboundNat case-insensitively). Both are taken (INFERRED).
  L4Proxy: { fields: { IP: 'string', Port: 'string', Protocol: 'protocol', ExceptionList: 'strings', Exceptions: 'strings', Destination: 'string', OutboundNat: 'bool' } },
  // FilterTuple/UserSID 2.5; the proxy ports 2.11; the exceptions 2.14 (gated in gates.ts).
  L4WFPPROXY: { fields: { InboundProxyPort: 'string', OutboundProxyPort: 'string', FilterTuple: 'object', UserSID: 'string', InboundExceptions: 'object', OutboundExceptions: 'object' } },
  SetPolicy: { fields: { Id: 'string', Name: 'string', PolicyType: ['IPSET', 'NESTEDIPSET'], Values: 'string' } },
  NetworkACL: ACL,
};

/** ProtocolType numbers and names. */
const PROTOCOLS = new Set<unknown>([...Object.values(Protocol), ...Object.keys(Protocol)]);

function fits(kind: FieldKind, v: unknown): string | undefined {
  const int = (max: number) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max ? undefined : `must be an integer from 0 to ${max}`);
  if (Array.isArray(kind)) return kind.includes(v as string) ? undefined : `must be one of ${kind.join(', ')}`;
  switch (kind) {
    case 'string': return typeof v === 'string' ? undefined : 'must be a string';
    case 'bool': return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'u16': return int(65535);
    case 'u32': return int(4294967295);
    case 'u64': return int(Number.MAX_SAFE_INTEGER);
    case 'strings': return Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'must be an array of strings';
    case 'object': return v && typeof v === 'object' && !Array.isArray(v) ? undefined : 'must be an object';
    case 'protocol': return PROTOCOLS.has(v) ? undefined : 'must be a protocol number (6, 17, ...) or name';
  }
  return undefined;
}

/** The known keys of a type's Settings (for case-insensitive matching), if this table models it. */
export function extraSettingsKeys(type: string): string[] | undefined {
  const shape = EXTRA_SETTINGS[type];
  return shape ? Object.keys(shape.fields) : undefined;
}

/** Refuses Settings of a modelled type that have unknown keys, wrong types, or lack a required key. */
export function checkExtraSettings(type: string, settings: unknown): void {
  const shape = EXTRA_SETTINGS[type];
  if (!shape || settings === undefined) return;
  if (!settings || typeof settings !== 'object' || Array.isArray(settings)) fail('HCN_E_INVALID_POLICY', `{{Settings,must be an object}}`);
  const given = settings as Record<string, unknown>;
  for (const [k, v] of Object.entries(given)) {
    const kind = shape.fields[k];
    if (!kind) fail('HCN_E_INVALID_POLICY', `{{${k},UnknownField}}`);
    const why = fits(kind, v);
    if (why) fail('HCN_E_INVALID_POLICY', `{{${k},${why}}}`);
  }
  for (const r of shape.required ?? []) if (!(r in given)) fail('HCN_E_INVALID_POLICY', `{{${r},missing}}`);
}
