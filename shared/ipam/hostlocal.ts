// host-local knows nothing of L2Bridge: its only reserved address is its gateway (.1 by
// default), so the first pod of a node gets .2, the host's bridge endpoint, and fails
// (kubernetes#74766; flannel passes host-local nothing but the subnet). Before delegating, we
// hold the pods' gateway in host-local's own store, the way node scripts reserve kube-proxy's
// source VIP: a file named by the address, whose owner no DEL or GC ever matches. The file is
// created atomically and never empty (temp file, flushed, then linked to the address's name:
// shared/sys/atomic.ts createFileAtomic), 0600, in a directory made 0700 if we make it. A hold
// killed half-way leaves our temp file (`.<address>.<writer>.<unique>.tmp`, named after its
// writer): the next hold we write in that folder, and GC, remove those whose writer is dead.
// host-local itself never makes such names, and nothing else of its folder is touched.

import fs from 'node:fs';
import path from 'node:path';
import type { IpamConf } from '../config/types';
import { parseIp } from '../net/ip';
import { createFileAtomic, mkdirPrivate, removeAbandonedTemps, tempFileTarget } from '../sys/atomic';

/**
 * A key of host-local's conf as host-local reads it: host-local is Go, so `Subnet` is `subnet`.
 * (Its keys are its own, so the conf decoder leaves them as written.)
 */
function read(o: unknown, key: string): unknown {
  if (!o || typeof o !== 'object') return undefined;
  const rec = o as Record<string, unknown>;
  if (key in rec) return rec[key];
  const k = Object.keys(rec).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : rec[k];
}

/** host-local's default store; on Windows a root-relative path on the current drive. */
function dataDir(ipam: IpamConf, platform: NodeJS.Platform): string {
  const given = read(ipam, 'dataDir');
  const dir = typeof given === 'string' && given ? given : '/var/lib/cni/networks';
  return platform === 'win32' ? path.win32.resolve(dir) : dir;
}

/** The subnets of host-local's range sets (`subnet`, `ranges[][].subnet`). */
export function hostLocalSubnets(ipam: IpamConf): string[] {
  const out: string[] = [];
  const subnet = read(ipam, 'subnet');
  if (typeof subnet === 'string') out.push(subnet);
  const ranges = read(ipam, 'ranges');
  if (Array.isArray(ranges)) {
    for (const set of ranges) if (Array.isArray(set)) for (const r of set) if (typeof read(r, 'subnet') === 'string') out.push(read(r, 'subnet') as string);
  }
  return out;
}

export const GATEWAY_OWNER = 'reserved: pod gateway (bridge endpoint)';

function holdDir(ipam: IpamConf, network: string, platform: NodeJS.Platform): string {
  return path.join(dataDir(ipam, platform), network);
}

/** The file name of an address in host-local's store (`:` is `_` on Windows). */
function holdName(address: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? address.replace(/:/g, '_') : address;
}

/**
 * Removes our temp files of gateway holds in host-local's folder of the network whose writer is
 * dead (see the header). Never fails: a folder that cannot be read has nothing of ours to clear.
 */
export function removeAbandonedHolds(ipam: IpamConf, network: string, platform: NodeJS.Platform): string[] {
  const dir = holdDir(ipam, network, platform);
  try {
    const ours = fs.readdirSync(dir).filter((n) => {
      const target = tempFileTarget(n);
      return target !== undefined && !!parseIp(platform === 'win32' ? target.replace(/_/g, ':') : target);
    });
    return ours.length ? removeAbandonedTemps(dir, ours, { platform }) : [];
  } catch {
    return [];
  }
}

/**
 * Creates the reservation files that are missing. Returns the addresses newly reserved. Never
 * fails the ADD: if the store cannot be written, host-local decides alone as before.
 */
export function reserveInHostLocal(ipam: IpamConf, network: string, addresses: string[], platform: NodeJS.Platform): string[] {
  const dir = holdDir(ipam, network, platform);
  const missing = addresses.filter((a) => !fs.existsSync(path.join(dir, holdName(a, platform))));
  if (missing.length === 0) return [];
  // A hold killed half-way is cleared by the next one made here.
  removeAbandonedHolds(ipam, network, platform);
  const made: string[] = [];
  for (const address of missing) {
    try {
      mkdirPrivate(dir);
      if (createFileAtomic(path.join(dir, holdName(address, platform)), GATEWAY_OWNER)) made.push(address);
    } catch {
      /* taken meanwhile by host-local itself, or not writable: the gateway check after IPAM catches it */
    }
  }
  return made;
}
