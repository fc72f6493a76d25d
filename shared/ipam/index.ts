// The pod's IPAM: the built-in allocator when the conf asks for it, else the plugin named by
// ipam.type on CNI_PATH (host-local on most nodes), else none (HNS assigns the address).

import { CniError, ErrorCode } from '../cni/errors';
import type { CniRequest } from '../cni/skel';
import type { NetConf } from '../config/types';
import { BuiltinIpam, type BuiltinIpamConf, checkBuiltinConf } from './builtin';
import { DelegatedIpam } from './delegate';
import type { Ipam } from './types';
import path from 'node:path';

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

/** What the schema cannot check of the conf's IPAM section (shared/ipam/builtin.ts checkBuiltinConf). */
export function checkIpamConf(conf: NetConf, platform: NodeJS.Platform): void {
  if (conf.ipam?.type === 'builtin') checkBuiltinConf(conf.ipam as unknown as BuiltinIpamConf, platform);
  const dataDir = (conf.ipam as { dataDir?: unknown } | undefined)?.dataDir;
  if (conf.ipam?.type === 'host-local' && typeof dataDir === 'string' && !isAbsoluteOn(platform, dataDir)) {
    // host-local makes its store where it is told, and so does the gateway hold beside it
    // (hostlocal.ts): a relative folder is one in the runtime's working directory.
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network configuration: ipam.dataDir ${short(dataDir)} must be an absolute path (host-local would make its store in the runtime's working directory, C:\\Windows\\System32 under containerd)`);
  }
}

function isAbsoluteOn(platform: NodeJS.Platform, p: string): boolean {
  return platform === 'win32' ? path.win32.isAbsolute(p) : path.posix.isAbsolute(p);
}

/** An IPAM plugin's name as the conf schema allows it: no path separators. */
const PLUGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * What of the `ipam` section of a conf that does not validate still says where the pod's address
 * is, for a DEL by identity: the IPAM plugin a well-formed `type` names (it gets the conf as
 * given, and judges its own part), else the built-in allocator, which finds the attachment's
 * claims by their markers (it never removes another's): in the conf's dataDir if that is an
 * absolute path, else in its default store. `note` says what could not be used, for the warning.
 */
export function ipamForRelease(raw: unknown, platform: NodeJS.Platform): { ipam?: NetConf['ipam']; note?: string } {
  if (raw === undefined) return {};
  const byIdentity = { type: 'builtin' };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ipam: byIdentity, note: `"ipam" is ${short(raw)}, not an object: the pod's address is looked for in the built-in allocator's default store only` };
  }
  const { type, dataDir } = raw as { type?: unknown; dataDir?: unknown };
  if (type === undefined) return {};
  if (type !== 'builtin') {
    if (type === 'host-local' && typeof dataDir === 'string' && !isAbsoluteOn(platform, dataDir)) {
      return { note: `ipam.dataDir ${short(dataDir)} is not an absolute path: host-local is not called (an ADD with it is refused, so it holds nothing of this pod there)` };
    }
    if (typeof type === 'string' && PLUGIN_NAME.test(type)) return { ipam: { type } };
    return { ipam: byIdentity, note: `ipam.type ${short(type)} names no IPAM plugin: the pod's address is looked for in the built-in allocator's default store only` };
  }
  const absolute = typeof dataDir === 'string' && isAbsoluteOn(platform, dataDir);
  if (absolute) return { ipam: { type, dataDir } };
  return dataDir === undefined ? { ipam: byIdentity } : { ipam: byIdentity, note: `ipam.dataDir ${short(dataDir)} is not an absolute path: the pod's address is looked for in the default store` };
}
