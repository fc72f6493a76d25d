// iphlpapi.dll through koffi, with the ABI rules in one place:
//   - the library is loaded by full path from System32 (index.ts), never by bare name;
//   - every function returns a Win32 error code (NETIO_STATUS, a DWORD): 0 is success;
//   - rows are buffers laid out by layout.ts; Initialize* fills the defaults before we write ours;
//   - a table the DLL allocates (Get*Table2/Get*Table) is copied out and freed with FreeMibTable
//     exactly once, on every path, also when decoding it throws; a NULL table is left alone.
// Calls are synchronous: they are local kernel calls of microseconds, unlike HCN's RPCs.
// Functions are declared on first use, so a missing export fails only the call that needs it.

import type { Koffi } from '../../../hns/backends/hcn/native';
import { ALIAS_CHARS } from './layout';

type Library = ReturnType<Koffi['load']>;
type KoffiFunction = ReturnType<Library['func']>;

/** Declarations in koffi's C-like syntax; `void *` rows are passed as buffers. */
export const SIGNATURES = {
  InitializeIpForwardEntry: 'void __stdcall InitializeIpForwardEntry(void *Row)',
  CreateIpForwardEntry2: 'uint32_t __stdcall CreateIpForwardEntry2(const void *Row)',
  DeleteIpForwardEntry2: 'uint32_t __stdcall DeleteIpForwardEntry2(const void *Row)',
  GetIpForwardTable2: 'uint32_t __stdcall GetIpForwardTable2(uint16_t Family, _Out_ void **Table)',
  InitializeIpInterfaceEntry: 'void __stdcall InitializeIpInterfaceEntry(void *Row)',
  GetIpInterfaceEntry: 'uint32_t __stdcall GetIpInterfaceEntry(void *Row)',
  SetIpInterfaceEntry: 'uint32_t __stdcall SetIpInterfaceEntry(void *Row)',
  GetIpInterfaceTable: 'uint32_t __stdcall GetIpInterfaceTable(uint16_t Family, _Out_ void **Table)',
  GetUnicastIpAddressTable: 'uint32_t __stdcall GetUnicastIpAddressTable(uint16_t Family, _Out_ void **Table)',
  ConvertInterfaceLuidToAlias: 'uint32_t __stdcall ConvertInterfaceLuidToAlias(const void *InterfaceLuid, void *InterfaceAlias, size_t Length)',
  FreeMibTable: 'void __stdcall FreeMibTable(void *Memory)',
} as const;

export type IphlpFunction = keyof typeof SIGNATURES;

/** The MIB structures as koffi lays them out (for the layout tests; the calls use buffers). */
export function structTypes(koffi: Koffi) {
  cached ??= (() => {
    const u8 = (n: number) => koffi.array('uint8_t', n);
    const SOCKADDR_IN = koffi.struct('cni_SOCKADDR_IN', { sin_family: 'uint16_t', sin_port: 'uint16_t', sin_addr: u8(4), sin_zero: u8(8) });
    const SOCKADDR_IN6 = koffi.struct('cni_SOCKADDR_IN6', { sin6_family: 'uint16_t', sin6_port: 'uint16_t', sin6_flowinfo: 'uint32_t', sin6_addr: u8(16), sin6_scope_id: 'uint32_t' });
    const SOCKADDR_INET = koffi.union('cni_SOCKADDR_INET', { Ipv4: SOCKADDR_IN, Ipv6: SOCKADDR_IN6, si_family: 'uint16_t' });
    const IP_ADDRESS_PREFIX = koffi.struct('cni_IP_ADDRESS_PREFIX', { Prefix: SOCKADDR_INET, PrefixLength: 'uint8_t' });
    const MIB_IPFORWARD_ROW2 = koffi.struct('cni_MIB_IPFORWARD_ROW2', {
      InterfaceLuid: 'uint64_t', InterfaceIndex: 'uint32_t', DestinationPrefix: IP_ADDRESS_PREFIX, NextHop: SOCKADDR_INET,
      SitePrefixLength: 'uint8_t', ValidLifetime: 'uint32_t', PreferredLifetime: 'uint32_t', Metric: 'uint32_t', Protocol: 'int32_t',
      Loopback: 'uint8_t', AutoconfigureAddress: 'uint8_t', Publish: 'uint8_t', Immortal: 'uint8_t', Age: 'uint32_t', Origin: 'int32_t',
    });
    const MIB_IPINTERFACE_ROW = koffi.struct('cni_MIB_IPINTERFACE_ROW', {
      Family: 'uint16_t', InterfaceLuid: 'uint64_t', InterfaceIndex: 'uint32_t', MaxReassemblySize: 'uint32_t', InterfaceIdentifier: 'uint64_t',
      MinRouterAdvertisementInterval: 'uint32_t', MaxRouterAdvertisementInterval: 'uint32_t',
      AdvertisingEnabled: 'uint8_t', ForwardingEnabled: 'uint8_t', WeakHostSend: 'uint8_t', WeakHostReceive: 'uint8_t', UseAutomaticMetric: 'uint8_t',
      UseNeighborUnreachabilityDetection: 'uint8_t', ManagedAddressConfigurationSupported: 'uint8_t', OtherStatefulConfigurationSupported: 'uint8_t',
      AdvertiseDefaultRoute: 'uint8_t', RouterDiscoveryBehavior: 'int32_t', DadTransmits: 'uint32_t', BaseReachableTime: 'uint32_t', RetransmitTime: 'uint32_t',
      PathMtuDiscoveryTimeout: 'uint32_t', LinkLocalAddressBehavior: 'int32_t', LinkLocalAddressTimeout: 'uint32_t', ZoneIndices: koffi.array('uint32_t', 16),
      SitePrefixLength: 'uint32_t', Metric: 'uint32_t', NlMtu: 'uint32_t', Connected: 'uint8_t', SupportsWakeUpPatterns: 'uint8_t',
      SupportsNeighborDiscovery: 'uint8_t', SupportsRouterDiscovery: 'uint8_t', ReachableTime: 'uint32_t', TransmitOffload: 'uint8_t', ReceiveOffload: 'uint8_t',
      DisableDefaultRoutes: 'uint8_t',
    });
    const MIB_UNICASTIPADDRESS_ROW = koffi.struct('cni_MIB_UNICASTIPADDRESS_ROW', {
      Address: SOCKADDR_INET, InterfaceLuid: 'uint64_t', InterfaceIndex: 'uint32_t', PrefixOrigin: 'int32_t', SuffixOrigin: 'int32_t',
      ValidLifetime: 'uint32_t', PreferredLifetime: 'uint32_t', OnLinkPrefixLength: 'uint8_t', SkipAsSource: 'uint8_t', DadState: 'int32_t',
      ScopeId: 'uint32_t', CreationTimeStamp: 'int64_t',
    });
    return { SOCKADDR_INET, IP_ADDRESS_PREFIX, MIB_IPFORWARD_ROW2, MIB_IPINTERFACE_ROW, MIB_UNICASTIPADDRESS_ROW };
  })();
  return cached;
}
let cached: Record<string, ReturnType<Koffi['struct']>> | undefined;

export class IphlpLibrary {
  private lib: Library | undefined;
  private readonly fns = new Map<IphlpFunction, KoffiFunction | Error>();

  constructor(private readonly koffi: Koffi, readonly file: string) {}

  private library(): Library {
    if (!this.lib) {
      try {
        this.lib = this.koffi.load(this.file);
      } catch (err) {
        throw new Error(`cannot load ${this.file}: ${(err as Error).message}`);
      }
    }
    return this.lib;
  }

  fn(name: IphlpFunction): KoffiFunction {
    let f = this.fns.get(name);
    if (!f) {
      try {
        f = this.library().func(SIGNATURES[name]);
      } catch (err) {
        f = new Error(`${this.file} has no usable export ${name}: ${(err as Error).message}`);
      }
      this.fns.set(name, f);
    }
    if (f instanceof Error) throw f;
    return f;
  }

  /** Calls a Get*Table function and hands the table's bytes to `read`; the table is freed after, whatever happens. */
  table<T>(name: 'GetIpForwardTable2' | 'GetIpInterfaceTable' | 'GetUnicastIpAddressTable', family: number, rowSize: number, read: (bytes: Buffer, count: number) => T): { code: number; value?: T } {
    const slot: [unknown] = [null];
    const code = this.fn(name)(family, slot) as number;
    const ptr = slot[0];
    if (!ptr) return { code };
    try {
      if (code !== 0) return { code };
      const count = this.koffi.decode(ptr, 'uint32_t') as number;
      const bytes = this.koffi.decode(ptr, this.koffi.array('uint8_t', 8 + count * rowSize, 'Buffer')) as Buffer;
      return { code, value: read(Buffer.from(bytes), count) };
    } finally {
      this.fn('FreeMibTable')(ptr);
    }
  }

  /** The alias of an interface ("vEthernet (Ethernet)"), or "" when the stack has none. */
  alias(luid: string): string {
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(BigInt(luid));
    const out = Buffer.alloc(ALIAS_CHARS * 2);
    const code = this.fn('ConvertInterfaceLuidToAlias')(key, out, ALIAS_CHARS) as number;
    if (code !== 0) return '';
    const text = out.toString('utf16le');
    const nul = text.indexOf('\u0000');
    return nul < 0 ? text : text.slice(0, nul);
  }

  unload(): void {
    this.lib?.unload();
    this.lib = undefined;
    this.fns.clear();
  }
}
