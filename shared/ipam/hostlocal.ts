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
