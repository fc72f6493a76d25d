// The pod's IPAM: the built-in allocator when the conf asks for it, else the plugin named by
// ipam.type on CNI_PATH (host-local on most nodes), else none (HNS assigns the address).

import type { CniRequest } from '../cni/skel';
import type { NetConf } from '../config/types';
import { BuiltinIpam, type BuiltinIpamConf } from './builtin';
import { DelegatedIpam } from './delegate';
import type { Ipam } from './types';

export type { Ipam, ValidAttachment } from './types';

export interface IpamOptions {
  /** Default data directory of the built-in allocator. */
  defaultDataDir: string;
  /** Gateways the mode uses in the pod subnets: the built-in allocator never hands them out. */
  modeReserved: string[];
}

export function openIpam(req: CniRequest, conf: NetConf, opts: IpamOptions): Ipam | undefined {
  // No type (or no ipam): HNS assigns the address when the endpoint is created.
  if (conf.ipam?.type === undefined) return undefined;
  if (conf.ipam.type !== 'builtin') return new DelegatedIpam(conf.ipam.type, req);
  const requested = [req.cniArgs.values.get('IP'), ...asStrings(conf.runtimeConfig?.ips)].filter((s): s is string => !!s).map((s) => s.split('/')[0]!);
  return new BuiltinIpam(conf.ipam as unknown as BuiltinIpamConf, {
    network: conf.name,
    containerId: req.cmd.containerId,
    ifName: req.cmd.ifName,
    defaultDataDir: opts.defaultDataDir,
    platform: req.platform,
    modeReserved: opts.modeReserved,
    requested,
  });
}

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
