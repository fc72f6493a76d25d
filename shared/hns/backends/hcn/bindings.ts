// The C surface of computenetwork.dll / vmcompute.dll!HNSCall / ole32.dll!CoTaskMemFree through
// koffi, with the ABI rules of hcn-api.md §1 in one place:
//   - HRESULT is int32 (C `long` is 64-bit on Linux, where the stand-in runs the unit tests);
//   - REFGUID is a pointer to the 16 struct bytes built by guid.ts;
//   - PCWSTR arguments go in as UTF-16 (koffi's char16_t strings);
//   - every PWSTR the service returns is decoded as UTF-16 and then freed with CoTaskMemFree
//     exactly once, on every path; a NULL one is left alone;
//   - handles are opaque pointers (BigInt in koffi 3) handed back exactly as received.
// Calls use koffi's async form: an HCN call is a synchronous RPC that can block for seconds, and
// running it on a worker thread lets the client's deadline fire meanwhile.
// Functions are declared on first use: a plugin run needs a handful of the 22, and a missing export
// (an older Windows build) then fails only the call that needs it, as in hcsshim.

import type { Handle } from '../../api';
import { signed } from '../../hresult';
import { guidToBytes } from './guid';
import type { Koffi } from './native';

export interface LibraryPaths {
  computenetwork: string;
  vmcompute: string;
  ole32: string;
}

/** How each parameter is passed; out-parameters are created by the call. */
type Param = 'guid' | 'text' | 'handle' | 'outText' | 'outHandle' | 'record';

interface Signature {
  dll: 'computenetwork' | 'vmcompute';
  params: Param[];
}

const KINDS = ['Network', 'Endpoint', 'Namespace'] as const;

function objectSignatures(kind: string): Record<string, Signature> {
  const cn = (params: Param[]): Signature => ({ dll: 'computenetwork', params });
  return {
    [`HcnEnumerate${kind}s`]: cn(['text', 'outText', 'record']),
    [`HcnCreate${kind}`]: kind === 'Endpoint' ? cn(['handle', 'guid', 'text', 'outHandle', 'record']) : cn(['guid', 'text', 'outHandle', 'record']),
    [`HcnOpen${kind}`]: cn(['guid', 'outHandle', 'record']),
    [`HcnModify${kind}`]: cn(['handle', 'text', 'record']),
    [`HcnQuery${kind}Properties`]: cn(['handle', 'text', 'outText', 'record']),
    [`HcnDelete${kind}`]: cn(['guid', 'record']),
    [`HcnClose${kind}`]: cn(['handle']),
  };
}

export const SIGNATURES: Record<string, Signature> = Object.assign(
  {},
  ...KINDS.map(objectSignatures),
  { HNSCall: { dll: 'vmcompute', params: ['text', 'text', 'text', 'outText'] } satisfies Signature },
);

/** What one call produced, strings already copied out of (and freed from) native memory. */
export interface RawResult {
  hr: number;
  text?: string;
  handle?: bigint;
  record?: string;
}

const HCN_E_GUID_CONVERSION_FAILURE = 0x803b0019;
const ERROR_PROC_NOT_FOUND = 0x8007007f;

function failure(code: number, text: string): RawResult {
  return { hr: signed(code), record: JSON.stringify({ Success: false, Error: `${text} `, ErrorCode: code >>> 0 }) };
}

type KoffiFunction = ReturnType<ReturnType<Koffi['load']>['func']>;
type Library = ReturnType<Koffi['load']>;
type Slot = [unknown];
interface OutParam {
  param: Param;
  slot: Slot;
}
interface Built {
  argv: unknown[];
  outs: OutParam[];
}

export class HcnLibrary {
  private readonly libs = new Map<string, Library>();
  private readonly fns = new Map<string, KoffiFunction | Error>();
  private readonly free: KoffiFunction;
  private inFlight = 0;
  private disposed = false;

  /** Loads computenetwork.dll and ole32.dll now (vmcompute.dll on first HNSCall). */
  constructor(private readonly koffi: Koffi, private readonly paths: LibraryPaths) {
    this.library('computenetwork');
    this.free = this.library('ole32').func('__stdcall', 'CoTaskMemFree', 'void', ['void *']);
  }

  /** Calls `name` with its inputs (GUID text, string, or handle, in parameter order). */
  call(name: string, inputs: Array<string | Handle>): Promise<RawResult> {
    if (this.disposed) return Promise.reject(new Error(`${name}: the HCN adapter is disposed`));
    const sig = SIGNATURES[name];
    if (!sig) return Promise.reject(new Error(`${name} is not an HCN function`));
    const built = this.arguments(sig, inputs);
    if ('hr' in built) return Promise.resolve(built);
    const fn = this.function(name, sig);
    if (fn instanceof Error) return Promise.resolve(failure(ERROR_PROC_NOT_FOUND, fn.message));
    return this.run(fn, built);
  }

  /** Unloads the libraries once no call is running (a late answer must find its code mapped). */
  dispose(): void {
    this.disposed = true;
    if (this.inFlight === 0) this.unload();
  }

  private library(which: keyof LibraryPaths): Library {
    let lib = this.libs.get(which);
    if (!lib) {
      const file = this.paths[which];
      try {
        lib = this.koffi.load(file);
      } catch (err) {
        throw new Error(`cannot load ${file}: ${(err as Error).message}`);
      }
      this.libs.set(which, lib);
    }
    return lib;
  }

  private function(name: string, sig: Signature): KoffiFunction | Error {
    let fn = this.fns.get(name);
    if (!fn) {
      try {
        fn = this.library(sig.dll).func('__stdcall', name, 'int32_t', sig.params.map((p) => this.typeOf(p)));
      } catch (err) {
        fn = new Error(`${this.paths[sig.dll]} has no usable export ${name}: ${(err as Error).message}`);
      }
      this.fns.set(name, fn);
    }
    return fn;
  }

  private typeOf(p: Param) {
    const k = this.koffi;
    switch (p) {
      case 'guid':
        return 'const void *'; // the 16 bytes of the GUID struct
      case 'text':
        return 'const char16_t *';
      case 'handle':
        return 'void *';
      default:
        return k.out(k.pointer('void *')); // PWSTR* or PHCN_*: receives a pointer
    }
  }

  /** The argument list, or a failure when a GUID text does not parse (the DLL is not called). */
  private arguments(sig: Signature, inputs: Array<string | Handle>): Built | RawResult {
    const argv: unknown[] = [];
    const outs: OutParam[] = [];
    let next = 0;
    for (const p of sig.params) {
      if (p === 'outText' || p === 'outHandle' || p === 'record') {
        const slot: Slot = [null];
        outs.push({ param: p, slot });
        argv.push(slot);
        continue;
      }
      const input = inputs[next++];
      if (p === 'guid') {
        const bytes = typeof input === 'string' ? guidToBytes(input) : undefined;
        if (!bytes) return failure(HCN_E_GUID_CONVERSION_FAILURE, `Cannot convert the given string to a GUID. ${JSON.stringify(input)}`);
        argv.push(bytes);
      } else if (p === 'text') {
        argv.push(String(input ?? ''));
      } else {
        argv.push(typeof input === 'bigint' ? input : BigInt(input ?? 0));
      }
    }
    return { argv, outs };
  }

  private run(fn: KoffiFunction, built: Built): Promise<RawResult> {
    this.inFlight++;
    return new Promise<RawResult>((resolve, reject) => {
      fn.async(...built.argv, (err: unknown, hr: number) => {
        this.inFlight--;
        try {
          // Collect (and free) the out-strings whatever else happened: they are ours now.
          const result = this.collect(built.outs);
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve({ ...result, hr });
        } catch (e) {
          reject(e);
        } finally {
          if (this.disposed && this.inFlight === 0) this.unload();
        }
      });
    });
  }

  private collect(outs: OutParam[]): Omit<RawResult, 'hr'> {
    const out: Omit<RawResult, 'hr'> = {};
    let firstError: unknown;
    for (const { param, slot } of outs) {
      const ptr = slot[0];
      if (!ptr) continue; // NULL: nothing was returned, nothing to free
      if (param === 'outHandle') {
        out.handle = BigInt(ptr as bigint);
        continue;
      }
      try {
        const text = this.takeString(ptr);
        if (param === 'record') out.record = text;
        else out.text = text;
      } catch (e) {
        firstError ??= e; // keep freeing the others
      }
    }
    if (firstError) throw firstError;
    return out;
  }

  /** Copies a service-allocated UTF-16 string and frees it, also when decoding throws. */
  private takeString(ptr: unknown): string {
    try {
      return this.koffi.decode(ptr, 'char16_t', -1) as string;
    } finally {
      this.free(ptr);
    }
  }

  private unload(): void {
    for (const lib of this.libs.values()) lib.unload();
    this.libs.clear();
    this.fns.clear();
  }
}
