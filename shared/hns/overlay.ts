// An Overlay network as the service completes it: HcnCreateNetwork answers before HNS has put the
// host's provider address and the distributed router's MAC on it, and both arrive as policies a
// moment later. flannel polls every 500 ms until they are there (pkg/backend/vxlan/device_windows.go);
// the plugin and the node agent wait the same way, through this.

import type { HostComputeNetwork } from './model/network';

/** flannel's poll interval while it waits for a new Overlay network's ProviderAddress. */
export const OVERLAY_POLL_MS = 500;

/** The provider address and DR MAC HNS fills into an Overlay network some time after create. */
export function overlayServiceFields(net: HostComputeNetwork): { providerAddress?: string; drMac?: string } {
  const out: { providerAddress?: string; drMac?: string } = {};
  for (const p of net.Policies ?? []) {
    const s = p.Settings as { ProviderAddress?: string; Address?: string } | undefined;
    if (p.Type === 'ProviderAddress' && s?.ProviderAddress) out.providerAddress = s.ProviderAddress;
    if (p.Type === 'DrMacAddress' && s?.Address) out.drMac = s.Address;
  }
  return out;
}

export interface NetworkWait {
  /** The network as read again (by ID). */
  reread: () => Promise<HostComputeNetwork>;
  /** Gives up after this long; the last document read is returned, ready or not. */
  waitMs: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `net` once `ready` says so, re-read every pollMs for at most waitMs; `waitedMs`: how long it took. */
export async function waitForNetwork(net: HostComputeNetwork, ready: (n: HostComputeNetwork) => boolean, w: NetworkWait): Promise<{ net: HostComputeNetwork; waitedMs: number }> {
  const sleep = w.sleep ?? defaultSleep;
  const started = Date.now();
  const until = started + w.waitMs;
  let current = net;
  while (!ready(current) && Date.now() < until) {
    await sleep(Math.min(w.pollMs ?? OVERLAY_POLL_MS, Math.max(0, until - Date.now())));
    current = await w.reread();
  }
  return { net: current, waitedMs: Date.now() - started };
}
