// The Windows adapter: HcnApi over computenetwork.dll (and vmcompute.dll!HNSCall) through koffi.
// Library paths are full paths into the system directory, never bare names, so a DLL planted in
// the working directory or on PATH is not loaded; `libraries` exists for the Linux unit tests
// (a stand-in .so), and nothing reads a library path from the environment.

import path from 'node:path';
import type { Handle, HcnApi, HcnOutcome } from '../../api';
import { failed } from '../../hresult';
import { HcnLibrary, type LibraryPaths, type RawResult } from './bindings';
import { loadKoffi } from './native';

export type { LibraryPaths } from './bindings';

export interface HcnApiOptions {
  env: NodeJS.ProcessEnv;
  libraries?: LibraryPaths;
}

/** `<SystemRoot>\System32\<dll>` for the three libraries (SystemRoot defaults to C:\Windows). */
export function defaultLibraries(env: NodeJS.ProcessEnv): LibraryPaths {
  const root = env.SystemRoot || env.SYSTEMROOT || 'C:\\Windows';
  const sys = (dll: string) => path.win32.join(root, 'System32', dll);
  return { computenetwork: sys('computenetwork.dll'), vmcompute: sys('vmcompute.dll'), ole32: sys('ole32.dll') };
}

export async function createHcnApi(opts: HcnApiOptions): Promise<HcnApi> {
  const lib = new HcnLibrary(loadKoffi(), opts.libraries ?? defaultLibraries(opts.env));
  return new HcnAdapter(lib);
}

function textOutcome(r: RawResult): HcnOutcome<string> {
  return withRecord({ hr: r.hr, value: r.text }, r);
}

function handleOutcome(r: RawResult): HcnOutcome<Handle> {
  return withRecord({ hr: r.hr, value: r.handle }, r);
}

function voidOutcome(r: RawResult): HcnOutcome {
  return withRecord({ hr: r.hr }, r);
}

// The record is passed on whenever the service wrote one, success or not: the client applies
// hcsshim's rule that a non-empty record is a failure.
function withRecord<T>(o: HcnOutcome<T>, r: RawResult): HcnOutcome<T> {
  if (o.value === undefined) delete o.value;
  if (r.record !== undefined) o.errorRecord = r.record;
  return o;
}

class HcnAdapter implements HcnApi {
  readonly backend = 'hcn';

  constructor(private readonly lib: HcnLibrary) {}

  enumerateNetworks(query: string) {
    return this.lib.call('HcnEnumerateNetworks', [query]).then(textOutcome);
  }
  createNetwork(id: string, settings: string) {
    return this.lib.call('HcnCreateNetwork', [id, settings]).then(handleOutcome);
  }
  openNetwork(id: string) {
    return this.lib.call('HcnOpenNetwork', [id]).then(handleOutcome);
  }
  modifyNetwork(network: Handle, settings: string) {
    return this.lib.call('HcnModifyNetwork', [network, settings]).then(voidOutcome);
  }
  queryNetworkProperties(network: Handle, query: string) {
    return this.lib.call('HcnQueryNetworkProperties', [network, query]).then(textOutcome);
  }
  deleteNetwork(id: string) {
    return this.lib.call('HcnDeleteNetwork', [id]).then(voidOutcome);
  }
  closeNetwork(network: Handle) {
    return this.lib.call('HcnCloseNetwork', [network]).then(voidOutcome);
  }

  enumerateEndpoints(query: string) {
    return this.lib.call('HcnEnumerateEndpoints', [query]).then(textOutcome);
  }
  createEndpoint(network: Handle, id: string, settings: string) {
    return this.lib.call('HcnCreateEndpoint', [network, id, settings]).then(handleOutcome);
  }
  openEndpoint(id: string) {
    return this.lib.call('HcnOpenEndpoint', [id]).then(handleOutcome);
  }
  modifyEndpoint(endpoint: Handle, settings: string) {
    return this.lib.call('HcnModifyEndpoint', [endpoint, settings]).then(voidOutcome);
  }
  queryEndpointProperties(endpoint: Handle, query: string) {
    return this.lib.call('HcnQueryEndpointProperties', [endpoint, query]).then(textOutcome);
  }
  deleteEndpoint(id: string) {
    return this.lib.call('HcnDeleteEndpoint', [id]).then(voidOutcome);
  }
  closeEndpoint(endpoint: Handle) {
    return this.lib.call('HcnCloseEndpoint', [endpoint]).then(voidOutcome);
  }

  enumerateNamespaces(query: string) {
    return this.lib.call('HcnEnumerateNamespaces', [query]).then(textOutcome);
  }
  createNamespace(id: string, settings: string) {
    return this.lib.call('HcnCreateNamespace', [id, settings]).then(handleOutcome);
  }
  openNamespace(id: string) {
    return this.lib.call('HcnOpenNamespace', [id]).then(handleOutcome);
  }
  modifyNamespace(namespace: Handle, settings: string) {
    return this.lib.call('HcnModifyNamespace', [namespace, settings]).then(voidOutcome);
  }
  queryNamespaceProperties(namespace: Handle, query: string) {
    return this.lib.call('HcnQueryNamespaceProperties', [namespace, query]).then(textOutcome);
  }
  deleteNamespace(id: string) {
    return this.lib.call('HcnDeleteNamespace', [id]).then(voidOutcome);
  }
  closeNamespace(namespace: Handle) {
    return this.lib.call('HcnCloseNamespace', [namespace]).then(voidOutcome);
  }

  /**
   * HNSCall has no error-record slot; on failure its response is the `{Success:false, Error,
   * ErrorCode}` envelope, which has the record's shape, so it is passed as the record too and the
   * client's error message carries the service's text.
   */
  hnsCall(method: string, path: string, request: string) {
    return this.lib.call('HNSCall', [method, path, request]).then((r): HcnOutcome<string> => {
      const o: HcnOutcome<string> = { hr: r.hr };
      if (r.text !== undefined) o.value = r.text;
      // r.record exists only for failures made here (missing export), never from the DLL.
      const record = r.record ?? (failed(r.hr) && r.text ? r.text : undefined);
      if (record !== undefined) o.errorRecord = record;
      return o;
    });
  }

  async dispose(): Promise<void> {
    this.lib.dispose();
  }
}
