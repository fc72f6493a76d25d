// HRESULTs the HCN service returns (hcn-api.md §5.2), with the FormatMessage text the service
// puts in its error records. The emulator writes these records; the client maps codes to kinds.

export interface HresultInfo {
  name: string;
  /** Unsigned value. */
  code: number;
  /** The service's text, without the trailing space the record adds. */
  text: string;
}

const TABLE: HresultInfo[] = [
  // HCN facility (0x803B....): the descriptions of Virtualization-Documentation
  // virtualization/api/hcn/Reference/HCNHResult.md, each ending in "." as the service's records
  // show them (research fidelity.md §3.1, §3.2).
  { name: 'HCN_E_NETWORK_NOT_FOUND', code: 0x803b0001, text: 'The network was not found.' },
  { name: 'HCN_E_ENDPOINT_NOT_FOUND', code: 0x803b0002, text: 'The endpoint was not found.' },
  { name: 'HCN_E_LAYER_NOT_FOUND', code: 0x803b0003, text: 'The network\'s underlying layer was not found.' },
  { name: 'HCN_E_SWITCH_NOT_FOUND', code: 0x803b0004, text: 'The virtual switch was not found.' },
  { name: 'HCN_E_SUBNET_NOT_FOUND', code: 0x803b0005, text: 'The network does not have a subnet for this endpoint.' },
  { name: 'HCN_E_ADAPTER_NOT_FOUND', code: 0x803b0006, text: 'An adapter was not found.' },
  { name: 'HCN_E_PORT_NOT_FOUND', code: 0x803b0007, text: 'The switch-port was not found.' },
  { name: 'HCN_E_POLICY_NOT_FOUND', code: 0x803b0008, text: 'An expected policy was not found.' },
  { name: 'HCN_E_VFP_PORTSETTING_NOT_FOUND', code: 0x803b0009, text: 'A required VFP port setting was not found.' },
  { name: 'HCN_E_INVALID_NETWORK', code: 0x803b000a, text: 'The provided network configuration is invalid or missing parameters.' },
  { name: 'HCN_E_INVALID_NETWORK_TYPE', code: 0x803b000b, text: 'Invalid network type.' },
  { name: 'HCN_E_INVALID_ENDPOINT', code: 0x803b000c, text: 'The provided endpoint configuration is invalid or missing parameters.' },
  { name: 'HCN_E_INVALID_POLICY', code: 0x803b000d, text: 'The provided policy configuration is invalid or missing parameters.' },
  { name: 'HCN_E_INVALID_POLICY_TYPE', code: 0x803b000e, text: 'Invalid policy type.' },
  { name: 'HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION', code: 0x803b000f, text: 'This requested operation is invalid for a remote endpoint.' },
  { name: 'HCN_E_NETWORK_ALREADY_EXISTS', code: 0x803b0010, text: 'A network with this name already exists.' },
  { name: 'HCN_E_LAYER_ALREADY_EXISTS', code: 0x803b0011, text: 'A network with this name already exists.' },
  { name: 'HCN_E_POLICY_ALREADY_EXISTS', code: 0x803b0012, text: 'Policy information already exists on this object.' },
  { name: 'HCN_E_PORT_ALREADY_EXISTS', code: 0x803b0013, text: 'The specified port already exists.' },
  { name: 'HCN_E_ENDPOINT_ALREADY_ATTACHED', code: 0x803b0014, text: 'This endpoint is already attached to the switch.' },
  { name: 'HCN_E_REQUEST_UNSUPPORTED', code: 0x803b0015, text: 'The specified request is unsupported.' },
  { name: 'HCN_E_MAPPING_NOT_SUPPORTED', code: 0x803b0016, text: 'Port mapping is not supported on the given network.' },
  { name: 'HCN_E_DEGRADED_OPERATION', code: 0x803b0017, text: 'There was an operation attempted on a degraded object.' },
  { name: 'HCN_E_SHARED_SWITCH_MODIFICATION', code: 0x803b0018, text: 'Cannot modify a switch shared by multiple networks.' },
  { name: 'HCN_E_GUID_CONVERSION_FAILURE', code: 0x803b0019, text: 'Failed to interpret a parameter as a GUID.' },
  { name: 'HCN_E_REGKEY_FAILURE', code: 0x803b001a, text: 'Failed to process registry key.' },
  { name: 'HCN_E_INVALID_JSON', code: 0x803b001b, text: 'Invalid JSON document string.' },
  { name: 'HCN_E_INVALID_JSON_REFERENCE', code: 0x803b001c, text: 'The reference is invalid in the JSON document.' },
  { name: 'HCN_E_ENDPOINT_SHARING_DISABLED', code: 0x803b001d, text: 'Endpoint sharing is disabled.' },
  { name: 'HCN_E_INVALID_IP', code: 0x803b001e, text: 'IP address is either invalid or not part of any configured subnet(s).' },
  { name: 'HCN_E_SWITCH_EXTENSION_NOT_FOUND', code: 0x803b001f, text: 'The specified switch extension does not exist on this switch.' },
  { name: 'HCN_E_MANAGER_STOPPED', code: 0x803b0020, text: 'Operation cannot be performed while service is stopping.' },
  { name: 'GCN_E_MODULE_NOT_FOUND', code: 0x803b0021, text: 'Operation cannot be performed while service module not found.' },
  { name: 'GCN_E_NO_REQUEST_HANDLERS', code: 0x803b0022, text: 'Request Handlers not present to handle the JSON request.' },
  { name: 'GCN_E_REQUEST_UNSUPPORTED', code: 0x803b0023, text: 'The specified request is unsupported.' },
  { name: 'GCN_E_RUNTIMEKEYS_FAILED', code: 0x803b0024, text: 'Add runtime keys to container failed.' },
  { name: 'GCN_E_NETADAPTER_TIMEOUT', code: 0x803b0025, text: 'Timeout while waiting for network adapter with the given instance id.' },
  { name: 'GCN_E_NETADAPTER_NOT_FOUND', code: 0x803b0026, text: 'Network adapter not found for the given instance id.' },
  { name: 'GCN_E_NETCOMPARTMENT_NOT_FOUND', code: 0x803b0027, text: 'Network compartment not found for the given id.' },
  { name: 'GCN_E_NETINTERFACE_NOT_FOUND', code: 0x803b0028, text: 'Network interface not found for the given id.' },
  { name: 'GCN_E_DEFAULTNAMESPACE_EXISTS', code: 0x803b0029, text: 'Default Namespace already exists.' },
  { name: 'HCN_E_ICS_DISABLED', code: 0x803b002a, text: 'Internet Connection Sharing service (SharedAccess) is disabled and cannot be started.' },
  { name: 'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS', code: 0x803b002b, text: 'This requested operation is invalid as endpoint is already part of a network namespace.' },
  { name: 'HCN_E_ENTITY_HAS_REFERENCES', code: 0x803b002c, text: 'The specified entity cannot be removed while it still has references.' },
  { name: 'HCN_E_INVALID_INTERNAL_PORT', code: 0x803b002d, text: 'The internal port must exist and cannot be zero.' },
  { name: 'HCN_E_NAMESPACE_ATTACH_FAILED', code: 0x803b002e, text: 'The requested operation for attach namespace failed.' },
  { name: 'HCN_E_ADDR_INVALID_OR_RESERVED', code: 0x803b002f, text: 'An address provided is invalid or reserved.' },
  { name: 'HCN_E_INVALID_PREFIX', code: 0x803b0030, text: 'The prefix provided is invalid.' },
  { name: 'HCN_E_OBJECT_USED_AFTER_UNLOAD', code: 0x803b0031, text: 'A call was performed against an object that was torn down.' },
  { name: 'HCN_E_INVALID_SUBNET', code: 0x803b0032, text: 'The provided subnet configuration is invalid or missing parameters.' },
  // HCNHResult.md reads "he provided IP subnet ..."; the lost "T" is taken for a typo of the page.
  { name: 'HCN_E_INVALID_IP_SUBNET', code: 0x803b0033, text: 'The provided IP subnet configuration is invalid or missing parameters.' },
  { name: 'HCN_E_ENDPOINT_NOT_ATTACHED', code: 0x803b0034, text: 'The endpoint must be attached to complete the operation.' },
  { name: 'HCN_E_ENDPOINT_NOT_LOCAL', code: 0x803b0035, text: 'The endpoint must be local to complete the operation.' },
  { name: 'HCN_INTERFACEPARAMETERS_ALREADY_APPLIED', code: 0x803b0036, text: 'Cannot apply more than one InterfaceParameters policy.' },
  { name: 'HCN_E_VFP_NOT_ALLOWED', code: 0x803b0037, text: 'A network of this type can not be created because VFP is not available.' },
  // Win32 and COM codes: their FormatMessage texts (x/sys/windows zerrors_windows.go names them).
  { name: 'ERROR_NOT_FOUND', code: 0x80070490, text: 'Element not found.' },
  { name: 'E_INVALIDARG', code: 0x80070057, text: 'The parameter is incorrect.' },
  { name: 'ERROR_INVALID_HANDLE', code: 0x80070006, text: 'The handle is invalid.' },
  { name: 'ERROR_ALREADY_EXISTS', code: 0x800700b7, text: 'Cannot create a file when that file already exists.' },
  { name: 'ERROR_OBJECT_ALREADY_EXISTS', code: 0x80071392, text: 'The object already exists.' },
  { name: 'ERROR_NO_SYSTEM_RESOURCES', code: 0x800705aa, text: 'Insufficient system resources exist to complete the requested service.' },
  { name: 'E_OUTOFMEMORY', code: 0x8007000e, text: 'Not enough memory resources are available to complete this operation.' },
  { name: 'E_NOTIMPL', code: 0x80004001, text: 'Not implemented' },
  { name: 'E_FAIL', code: 0x80004005, text: 'Unspecified error' },
  { name: 'ERROR_TIMEOUT', code: 0x800705b4, text: 'This operation returned because the timeout period expired.' },
  // The service's RPC endpoint is gone (HNS stopped, restarting, or crashed): research §3.3.
  { name: 'RPC_S_SERVER_UNAVAILABLE', code: 0x800706ba, text: 'The RPC server is unavailable.' },
  { name: 'RPC_S_CALL_FAILED', code: 0x800706be, text: 'The remote procedure call failed.' },
  { name: 'RPC_S_CALL_FAILED_DNE', code: 0x800706bf, text: 'The remote procedure call failed and did not execute.' },
  { name: 'EPT_S_NOT_REGISTERED', code: 0x800706d9, text: 'There are no more endpoints available from the endpoint mapper.' },
];

const BY_CODE = new Map(TABLE.map((h) => [h.code, h]));
const BY_NAME = new Map(TABLE.map((h) => [h.name, h]));

/** The unsigned value of a known HRESULT by name. */
export function hr(name: string): number {
  const h = BY_NAME.get(name);
  if (!h) throw new Error(`unknown HRESULT name ${name}`);
  return h.code;
}

export function hresultInfo(code: number): HresultInfo | undefined {
  return BY_CODE.get(code >>> 0);
}

/** `0x803B0010` */
export function hex(code: number): string {
  return '0x' + (code >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

export function failed(code: number): boolean {
  return (code | 0) < 0;
}

/** An HRESULT as koffi returns it (signed int32). */
export function signed(code: number): number {
  return code | 0;
}

/** The error record the service writes: the text plus one space, then any detail. */
export function errorRecord(code: number, detail?: string): string {
  const info = hresultInfo(code);
  const text = info ? `${info.text} ` : `Unknown error ${hex(code)}. `;
  return JSON.stringify({ Success: false, Error: detail ? `${text}${detail}` : text, ErrorCode: code >>> 0 });
}

export interface ParsedErrorRecord {
  Success?: boolean;
  Error?: string;
  ErrorCode?: number;
}

/** Parses a record; a record that is not JSON is kept as its text. */
export function parseErrorRecord(text: string | undefined): ParsedErrorRecord | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object') return v as ParsedErrorRecord;
  } catch {
    /* fall through */
  }
  return { Error: text };
}
