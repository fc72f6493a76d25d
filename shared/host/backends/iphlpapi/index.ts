// The Windows adapter: HostRoutes over the IP Helper API (iphlpapi.dll), loaded by full path from
// System32 like computenetwork.dll (a DLL planted in the working directory or on PATH is never
// loaded). The call sequences follow Microsoft's documentation of each function:
//   - add / delete a route: InitializeIpForwardEntry, then interface index, DestinationPrefix,
//     NextHop (and Metric), then CreateIpForwardEntry2 / DeleteIpForwardEntry2;
//   - forwarding: InitializeIpInterfaceEntry, Family and InterfaceIndex, GetIpInterfaceEntry,
//     ForwardingEnabled, then SetIpInterfaceEntry with SitePrefixLength zeroed for IPv4 (Get returns
//     a value Set refuses with ERROR_INVALID_PARAMETER: stackoverflow.com/questions/54857292);
//   - listings: GetIpForwardTable2 / GetIpInterfaceTable / GetUnicastIpAddressTable(AF_UNSPEC),
//     each table freed with FreeMibTable.
// `library` exists for the Linux unit tests (a stand-in .so); nothing reads a path from the environment.

import path from 'node:path';
import { type Family, hostError, type HostInterface, type HostRoute, type HostRoutes, type RouteRequest, win32Text } from '../../routes';
import { loadKoffi } from '../../../hns/backends/hcn/native';
import type { Koffi } from '../../../hns/backends/hcn/native';
import { IphlpLibrary } from './bindings';
import {
  AF_INET, AF_INET6, AF_UNSPEC, fillForwardRow, MIB_IPFORWARD_ROW2, MIB_IPINTERFACE_ROW, MIB_TABLE, MIB_UNICASTIPADDRESS_ROW,
  readAddressRow, readForwardRow, readInterfaceRow, ROUTE_PROTOCOLS,
} from './layout';

export interface IphlpapiOptions {
  env: NodeJS.ProcessEnv;
  /** The DLL (or a stand-in); default `<SystemRoot>\System32\iphlpapi.dll`. */
  library?: string;
  koffi?: Koffi;
}

export function defaultIphlpapiPath(env: NodeJS.ProcessEnv): string {
  const root = env.SystemRoot || env.SYSTEMROOT || 'C:\\Windows';
  return path.win32.join(root, 'System32', 'iphlpapi.dll');
}

export function createIphlpapiHostRoutes(opts: IphlpapiOptions): HostRoutes {
  return new IphlpapiAdapter(new IphlpLibrary(opts.koffi ?? loadKoffi(), opts.library ?? defaultIphlpapiPath(opts.env)));
}

function rows<T>(bytes: Buffer, count: number, size: number, read: (b: Buffer, at: number) => T | undefined): T[] {
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const r = read(bytes, MIB_TABLE.Table + i * size);
    if (r !== undefined) out.push(r);
  }
  return out;
}

class IphlpapiAdapter implements HostRoutes {
  readonly backend = 'iphlpapi';

  constructor(private readonly lib: IphlpLibrary) {}

  async listInterfaces(): Promise<HostInterface[]> {
    const ifs = this.lib.table('GetIpInterfaceTable', AF_UNSPEC, MIB_IPINTERFACE_ROW.size, (b, n) => rows(b, n, MIB_IPINTERFACE_ROW.size, readInterfaceRow));
    if (ifs.code !== 0) throw hostError('GetIpInterfaceTable', ifs.code);
    const addrs = this.lib.table('GetUnicastIpAddressTable', AF_UNSPEC, MIB_UNICASTIPADDRESS_ROW.size, (b, n) => rows(b, n, MIB_UNICASTIPADDRESS_ROW.size, readAddressRow));
    if (addrs.code !== 0) throw hostError('GetUnicastIpAddressTable', addrs.code);
    // One MIB_IPINTERFACE_ROW per interface and family: merged into one interface each.
    const byIndex = new Map<number, HostInterface>();
    for (const r of ifs.value ?? []) {
      let i = byIndex.get(r.interfaceIndex);
      if (!i) {
        i = { index: r.interfaceIndex, luid: r.interfaceLuid, alias: this.lib.alias(r.interfaceLuid), addresses: [], forwarding: { ipv4: false, ipv6: false } };
        byIndex.set(r.interfaceIndex, i);
      }
      if (r.family === 4) i.forwarding.ipv4 = r.forwarding;
      else i.forwarding.ipv6 = r.forwarding;
    }
    for (const a of addrs.value ?? []) byIndex.get(a.interfaceIndex)?.addresses.push({ address: a.address, prefixLength: a.prefixLength });
    return [...byIndex.values()];
  }

  async listRoutes(): Promise<HostRoute[]> {
    const t = this.lib.table('GetIpForwardTable2', AF_UNSPEC, MIB_IPFORWARD_ROW2.size, (b, n) => rows(b, n, MIB_IPFORWARD_ROW2.size, readForwardRow));
    if (t.code !== 0) throw hostError('GetIpForwardTable2', t.code);
    return (t.value ?? []).map((r) => ({
      destinationPrefix: r.destinationPrefix,
      nextHop: r.nextHop,
      interfaceIndex: r.interfaceIndex,
      interfaceLuid: r.interfaceLuid,
      metric: r.metric,
      protocol: ROUTE_PROTOCOLS[r.protocol] ?? String(r.protocol),
    }));
  }

  async addRoute(route: RouteRequest): Promise<void> {
    const code = this.lib.fn('CreateIpForwardEntry2')(this.forwardRow(route)) as number;
    if (code !== 0) throw hostError('CreateIpForwardEntry2', code, `route to ${route.destinationPrefix} via ${route.nextHop} on interface ${route.interfaceIndex}: ${win32Text(code)}`);
  }

  async deleteRoute(route: RouteRequest): Promise<void> {
    const code = this.lib.fn('DeleteIpForwardEntry2')(this.forwardRow(route)) as number;
    if (code !== 0) throw hostError('DeleteIpForwardEntry2', code, `route to ${route.destinationPrefix} via ${route.nextHop} on interface ${route.interfaceIndex}: ${win32Text(code)}`);
  }

  async setForwarding(interfaceIndex: number, family: Family, enabled: boolean): Promise<void> {
    const R = MIB_IPINTERFACE_ROW;
    const row = Buffer.alloc(R.size);
    this.lib.fn('InitializeIpInterfaceEntry')(row);
    row.writeUInt16LE(family === 4 ? AF_INET : AF_INET6, R.Family);
    row.writeUInt32LE(interfaceIndex, R.InterfaceIndex);
    const got = this.lib.fn('GetIpInterfaceEntry')(row) as number;
    if (got !== 0) throw hostError('GetIpInterfaceEntry', got, `interface ${interfaceIndex} (IPv${family}): ${win32Text(got)}`);
    if (row[R.ForwardingEnabled] === (enabled ? 1 : 0)) return;
    row[R.ForwardingEnabled] = enabled ? 1 : 0;
    if (family === 4) row.writeUInt32LE(0, R.SitePrefixLength);
    const set = this.lib.fn('SetIpInterfaceEntry')(row) as number;
    if (set !== 0) throw hostError('SetIpInterfaceEntry', set, `forwarding on interface ${interfaceIndex} (IPv${family}): ${win32Text(set)}`);
  }

  async dispose(): Promise<void> {
    this.lib.unload();
  }

  private forwardRow(route: RouteRequest): Buffer {
    const row = Buffer.alloc(MIB_IPFORWARD_ROW2.size);
    this.lib.fn('InitializeIpForwardEntry')(row);
    fillForwardRow(row, route);
    return row;
  }
}
