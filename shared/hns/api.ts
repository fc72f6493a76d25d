// The HCN service's C surface (computenetwork.dll, plus vmcompute.dll!HNSCall for the version),
// as one interface with one adapter per platform (backends/hcn on Windows, backends/emulator
// elsewhere). Documents cross it as JSON text, exactly as the DLL takes and returns them; GUIDs
// cross it as text (the hcn adapter builds the Windows-order struct). Nothing above this line
// knows which backend it talks to.

/** Opaque; valid only in the process (or emulator server) that opened it. */
export type Handle = number | bigint;

/** What every call returns: the HRESULT (signed 32-bit), its output, and the error record text. */
export interface HcnOutcome<T = undefined> {
  hr: number;
  value?: T;
  /** JSON `{"Success":false,"Error":"...","ErrorCode":n}`; present only on failure. */
  errorRecord?: string;
}

export type ObjectKind = 'Network' | 'Endpoint' | 'Namespace';

export interface HcnApi {
  /** Which adapter this is, for logs. */
  readonly backend: string;

  enumerateNetworks(query: string): Promise<HcnOutcome<string>>;
  createNetwork(id: string, settings: string): Promise<HcnOutcome<Handle>>;
  openNetwork(id: string): Promise<HcnOutcome<Handle>>;
  modifyNetwork(network: Handle, settings: string): Promise<HcnOutcome>;
  queryNetworkProperties(network: Handle, query: string): Promise<HcnOutcome<string>>;
  deleteNetwork(id: string): Promise<HcnOutcome>;
  closeNetwork(network: Handle): Promise<HcnOutcome>;

  enumerateEndpoints(query: string): Promise<HcnOutcome<string>>;
  /** The network handle comes first, as in the DLL. */
  createEndpoint(network: Handle, id: string, settings: string): Promise<HcnOutcome<Handle>>;
  openEndpoint(id: string): Promise<HcnOutcome<Handle>>;
  modifyEndpoint(endpoint: Handle, settings: string): Promise<HcnOutcome>;
  queryEndpointProperties(endpoint: Handle, query: string): Promise<HcnOutcome<string>>;
  deleteEndpoint(id: string): Promise<HcnOutcome>;
  closeEndpoint(endpoint: Handle): Promise<HcnOutcome>;

  enumerateNamespaces(query: string): Promise<HcnOutcome<string>>;
  createNamespace(id: string, settings: string): Promise<HcnOutcome<Handle>>;
  openNamespace(id: string): Promise<HcnOutcome<Handle>>;
  modifyNamespace(namespace: Handle, settings: string): Promise<HcnOutcome>;
  queryNamespaceProperties(namespace: Handle, query: string): Promise<HcnOutcome<string>>;
  deleteNamespace(id: string): Promise<HcnOutcome>;
  closeNamespace(namespace: Handle): Promise<HcnOutcome>;

  /** vmcompute.dll!HNSCall (v1 REST-over-RPC); used for GET /globals/version. Value: the response envelope. */
  hnsCall(method: string, path: string, request: string): Promise<HcnOutcome<string>>;

  /** Releases what the adapter holds (library handles, sockets). */
  dispose(): Promise<void>;
}

/** The all-zero GUID passed to Create calls: "service, pick the ID". */
export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
