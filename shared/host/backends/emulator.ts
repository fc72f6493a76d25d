// HostRoutes over the HNS emulator's host (shared/hns/backends/emulator/host.ts): the same
// interfaces, routes and Win32 error codes the IP Helper API gives on Windows, kept in the
// emulator's state directory. Loaded only when chosen.

import type { EmulatedInterface, EmulatedRoute } from '../../hns/backends/emulator/host';
import { createHostRoute, deleteHostRoute, HostCallFailure, hostInterfaces, hostRoutes, setHostForwarding } from '../../hns/backends/emulator/host';
import { type Family, hostError, type HostInterface, type HostRoute, type HostRoutes, type RouteRequest } from '../routes';

function toInterface(i: EmulatedInterface): HostInterface {
  return {
    index: i.InterfaceIndex,
    luid: i.InterfaceLuid,
    alias: i.InterfaceAlias,
    addresses: i.Addresses.map((a) => ({ address: a.Address, prefixLength: a.PrefixLength })),
    forwarding: { ipv4: i.Forwarding.IPv4, ipv6: i.Forwarding.IPv6 },
  };
}

function toRoute(r: EmulatedRoute): HostRoute {
  return { destinationPrefix: r.DestinationPrefix, nextHop: r.NextHop, interfaceIndex: r.InterfaceIndex, interfaceLuid: r.InterfaceLuid, metric: r.Metric, protocol: r.Protocol.toLowerCase() };
}

/** Runs an emulated call; its Win32 failure becomes the typed error the iphlpapi adapter gives too. */
async function typed<T>(call: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HostCallFailure) throw hostError(call, err.code, err.message.replace(/ \(Win32 error \d+\)$/, '').replace(/^\S+ failed: /, ''));
    throw err;
  }
}

export function createEmulatorHostRoutes(dir: string): HostRoutes {
  return {
    backend: 'emulator',
    listInterfaces: () => typed('GetIpInterfaceTable', async () => (await hostInterfaces(dir)).map(toInterface)),
    listRoutes: () => typed('GetIpForwardTable2', async () => (await hostRoutes(dir)).map(toRoute)),
    addRoute: (r: RouteRequest) =>
      typed('CreateIpForwardEntry2', async () => {
        await createHostRoute(dir, { DestinationPrefix: r.destinationPrefix, NextHop: r.nextHop, InterfaceIndex: r.interfaceIndex, ...(r.metric !== undefined ? { Metric: r.metric } : {}) });
      }),
    deleteRoute: (r: RouteRequest) => typed('DeleteIpForwardEntry2', () => deleteHostRoute(dir, { DestinationPrefix: r.destinationPrefix, NextHop: r.nextHop, InterfaceIndex: r.interfaceIndex })),
    setForwarding: (index: number, family: Family, enabled: boolean) => typed('SetIpInterfaceEntry', () => setHostForwarding(dir, { InterfaceIndex: index }, family, enabled)),
    dispose: async () => undefined,
  };
}
