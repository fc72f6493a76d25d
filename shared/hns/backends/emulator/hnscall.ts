// vmcompute.dll!HNSCall, the v1 REST-over-RPC entry point (hcn-api.md §1.6). Clients use it for
// the HNS version (feature detection) and win-overlay for the v1 network view (ManagementIP,
// the subnet gateway). Those paths are modelled; anything else fails with E_NOTIMPL, reported
// the way newer builds do: a failing HRESULT and an envelope with Success false.

import type { HostComputeNetwork } from '../../model/network';
import { fail } from './failure';
import { managementIpVisible } from './networks';
import type { StoreTx } from './store';

const DEFAULT_ROUTE = new Set(['0.0.0.0/0', '::/0']);

function gatewayOf(routes: { NextHop?: string; DestinationPrefix?: string }[] | undefined): string | undefined {
  const r = routes?.find((x) => x.NextHop && DEFAULT_ROUTE.has(x.DestinationPrefix ?? '')) ?? routes?.find((x) => x.NextHop);
  return r?.NextHop;
}

/**
 * The v1 `HNSNetwork` shape of a network. ManagementIP appears as late as the service-filled
 * policies (config providerAddressDelayMs): flannel host-gw and Calico wait for it on L2Bridge.
 */
function v1Network(tx: StoreTx, net: HostComputeNetwork): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ID: net.ID,
    Name: net.Name,
    Type: typeof net.Type === 'string' ? net.Type : 'NAT',
  };
  if (managementIpVisible(tx, net.ID!)) out.ManagementIP = tx.cfg.managementIp;
  Object.assign(out, {
    Subnets: (net.Ipams ?? []).flatMap((ipam) => ipam.Subnets ?? []).map((sub) => {
      const gw = gatewayOf(sub.Routes);
      return gw ? { AddressPrefix: sub.IpAddressPrefix, GatewayAddress: gw } : { AddressPrefix: sub.IpAddressPrefix };
    }),
    MacPools: net.MacPool?.Ranges ?? [],
    CurrentEndpointCount: tx.endpointsOf(net.ID!).length,
    Version: net.Version,
  });
  if (net.Flags) out.Flags = net.Flags;
  if (net.Dns?.ServerList?.length) out.DNSServerList = net.Dns.ServerList.join(',');
  if (net.Dns?.Domain) out.DNSSuffix = net.Dns.Domain;
  return out;
}

/** The envelope's Output for a modelled request. */
export function hnsCallOutput(tx: StoreTx, method: string, path: string): unknown {
  const m = method.toUpperCase();
  const parts = path.toLowerCase().split('/').filter(Boolean);
  if (m === 'GET' && parts.length === 2 && parts[0] === 'globals' && parts[1] === 'version') {
    return { Major: tx.cfg.hnsVersion.Major, Minor: tx.cfg.hnsVersion.Minor };
  }
  if (m === 'GET' && parts[0] === 'networks' && parts.length === 1) {
    return tx.ids('Network').map((id) => tx.get('Network', id)).filter((n) => n !== undefined).map((n) => v1Network(tx, n));
  }
  if (m === 'GET' && parts[0] === 'networks' && parts.length === 2) {
    // v1 reports every missing object as "Element not found.".
    const net = /^[0-9a-f-]{36}$/.test(parts[1]!) ? tx.get('Network', parts[1]!) : undefined;
    if (!net) fail('ERROR_NOT_FOUND');
    return v1Network(tx, net);
  }
  fail('E_NOTIMPL', `{{${m} ${path},the emulator does not model this HNSCall request}}`);
}

/** The success envelope. */
export function envelope(output: unknown): string {
  return JSON.stringify({ Success: true, Output: output });
}
