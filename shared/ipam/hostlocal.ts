// host-local knows nothing of L2Bridge: its only reserved address is its gateway (.1 by
// default), so the first pod of a node gets .2, the host's bridge endpoint, and fails
// (kubernetes#74766; flannel passes host-local nothing but the subnet). Before delegating, we
// hold the pods' gateway in host-local's own store, the way node scripts reserve kube-proxy's
// source VIP: a file named by the address, whose owner no DEL or GC ever matches. The file is
// created atomically and never empty (temp file, flushed, then linked to the address's name:
// shared/sys/atomic.ts createFileAtomic), 0600, in a directory made 0700 if we make it.

import fs from 'node:fs';
import path from 'node:path';
import type { IpamConf } from '../config/types';
import { createFileAtomic, mkdirPrivate } from '../sys/atomic';

/** host-local's default store; on Windows a root-relative path on the current drive. */
function dataDir(ipam: IpamConf, platform: NodeJS.Platform): string {
  const dir = typeof ipam.dataDir === 'string' && ipam.dataDir ? ipam.dataDir : '/var/lib/cni/networks';
  return platform === 'win32' ? path.win32.resolve(dir) : dir;
}

/** The subnets of host-local's range sets (`subnet`, `ranges[][].subnet`). */
export function hostLocalSubnets(ipam: IpamConf): string[] {
  const out: string[] = [];
  if (typeof ipam.subnet === 'string') out.push(ipam.subnet);
  if (Array.isArray(ipam.ranges)) {
    for (const set of ipam.ranges) if (Array.isArray(set)) for (const r of set) if (r && typeof r.subnet === 'string') out.push(r.subnet);
  }
  return out;
}

export const GATEWAY_OWNER = 'reserved: pod gateway (bridge endpoint)';

/**
 * Creates the reservation files that are missing. Returns the addresses newly reserved. Never
 * fails the ADD: if the store cannot be written, host-local decides alone as before.
 */
export function reserveInHostLocal(ipam: IpamConf, network: string, addresses: string[], platform: NodeJS.Platform): string[] {
  const dir = path.join(dataDir(ipam, platform), network);
  const made: string[] = [];
  for (const address of addresses) {
    const file = path.join(dir, platform === 'win32' ? address.replace(/:/g, '_') : address);
    if (fs.existsSync(file)) continue;
    try {
      mkdirPrivate(dir);
      if (createFileAtomic(file, GATEWAY_OWNER)) made.push(address);
    } catch {
      /* taken meanwhile by host-local itself, or not writable: the gateway check after IPAM catches it */
    }
  }
  return made;
}
