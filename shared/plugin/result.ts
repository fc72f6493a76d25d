// The ADD result. The interface is named after CNI_IFNAME with sandbox = CNI_NETNS, and every
// address points at it: containerd files pod IPs under `eth0` and fails the sandbox otherwise.

import type { Result100 } from '../cni/result/v100';
import type { CniRequest } from '../cni/skel';
import type { HostComputeEndpoint } from '../hns/model/endpoint';
import { isEmptyDns } from '../cni/result/convert';
import type { EndpointPlan } from './endpoint';

/** HNS writes `00-15-5D-52-C0-07`; Linux plugins and tooling read `00:15:5d:52:c0:07`. */
export function cniMac(hnsMac: string | undefined): string | undefined {
  return hnsMac ? hnsMac.replace(/-/g, ':').toLowerCase() : undefined;
}

export function buildResult(req: CniRequest, endpoint: HostComputeEndpoint, plan: EndpointPlan): Result100 {
  const iface: NonNullable<Result100['interfaces']>[number] = { name: req.cmd.ifName };
  const mac = cniMac(endpoint.MacAddress);
  if (mac) iface.mac = mac;
  // mtu exists only in 1.1.0 results.
  if (plan.mtu !== undefined && req.version === '1.1.0') iface.mtu = plan.mtu;
  iface.sandbox = req.cmd.netns;
  const result: Result100 = {
    cniVersion: req.version,
    interfaces: [iface],
    ips: plan.addresses.map((a) => ({ address: a.text, gateway: a.gateway, interface: 0 })),
    routes: plan.routes,
  };
  if (!isEmptyDns(plan.dns)) result.dns = plan.dns;
  return result;
}
