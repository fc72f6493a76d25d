// How a pod's attachment is named and found again: the HNS endpoint `<CNI_CONTAINERID>_<network>`
// (the name the existing plugins and tools use), and the namespace GUID containerd passes.

import { CniError, ErrorCode } from '../cni/errors';
import { isValidId } from '../cni/names';

export interface PodRef {
  containerId: string;
  ifName: string;
  /** The HCN network's name, which is the conf's `name`. */
  network: string;
  /** The pod's namespace GUID (CNI_NETNS); may be empty on DEL. */
  netns: string;
}

/**
 * The `Owner` every pod endpoint of ours is created with: a base field HNS keeps and echoes
 * (hcn-api.md §2, base fields), so `hnsctl sweep` can prove an endpoint is ours, where the
 * `<containerID>_<network>` name is what every Windows plugin uses.
 */
export const POD_ENDPOINT_OWNER = 'cni-suite';

export function endpointName(containerId: string, network: string): string {
  return `${containerId}_${network}`;
}

/** The container ID of one of our endpoint names on `network`, or undefined if the name is not ours. */
export function containerIdOf(endpointName: string | undefined, network: string): string | undefined {
  const suffix = `_${network}`;
  if (!endpointName || !endpointName.endsWith(suffix)) return undefined;
  const id = endpointName.slice(0, -suffix.length);
  return isValidId(id) ? id : undefined;
}

const GUID = /^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$/;

/**
 * CNI_NETNS as an HCN namespace GUID. The dockershim forms (`none`, `container:<id>`) belong to
 * the HNS v1 hot-attach flow, which this suite does not implement: refuse them clearly instead
 * of guessing (the upstream `apiVersion` key caused years of misconfigured nodes).
 */
export function namespaceGuid(netns: string): string {
  if (netns === 'none' || netns.startsWith('container:')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `CNI_NETNS=${JSON.stringify(netns)} is the dockershim (HNS v1) flow, which this plugin does not support`, 'run pods with containerd, which passes the pod\'s HCN namespace GUID in CNI_NETNS');
  }
  const m = GUID.exec(netns);
  if (!m) {
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS=${JSON.stringify(netns)} is not an HCN namespace GUID`, 'on Windows, containerd passes the ID of the namespace it created for the pod (8-4-4-4-12 hex digits)');
  }
  return m[1]!;
}

export function sameGuid(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && a.replace(/[{}]/g, '').toLowerCase() === b.replace(/[{}]/g, '').toLowerCase();
}

/** IDs longer than this are shortened in file names: with the suffixes of temporary files they would pass NAME_MAX (255). */
const FILE_ID_MAX = 120;

/**
 * A container ID (or network name) as part of a file name: itself when short, else a prefix and
 * a hash of the whole, so every ID the CNI spec allows has a file of its own.
 */
export function fileSafeId(id: string): string {
  if (id.length <= FILE_ID_MAX) return id;
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return `${id.slice(0, 64)}~${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}
