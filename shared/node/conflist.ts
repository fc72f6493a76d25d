// The conflist containerd reads from its conf_dir, rendered from what the agent knows (the mode,
// the node's pod subnet and IP, the cluster and service prefixes, the cluster DNS, the NAT
// exceptions) and written atomically, only when its content changes: containerd reloads conf_dir
// on every change, and a half-written file would fail pods.
//
// It is written only once the network (and on L2Bridge the host endpoint) is there: containerd
// reports the node's network ready as soon as a conflist exists, and pods scheduled before the
// network would fail their ADD.

import fs from 'node:fs';
import path from 'node:path';
import type { AgentConfig } from '../config/agent';
import { mkdirWithMode, writeFileAtomic } from '../sys/atomic';

export interface NodeAddresses {
  podCIDRs: string[];
  nodeIPs: string[];
}

const one = (xs: string[]): string | string[] => (xs.length === 1 ? xs[0]! : xs);

/** The IPAM section: the suite's built-in allocator, or host-local with one range set per subnet. */
function ipamOf(cfg: AgentConfig, podCIDRs: string[]): Record<string, unknown> {
  if (cfg.ipam === 'host-local') return { type: 'host-local', ranges: podCIDRs.map((subnet) => [{ subnet }]) };
  const ipam: Record<string, unknown> = { type: 'builtin' };
  if (podCIDRs.length === 1) ipam.subnet = podCIDRs[0];
  else ipam.ranges = podCIDRs.map((subnet) => [{ subnet }]);
  if (cfg.reservedIPs.length) ipam.reserved = cfg.reservedIPs;
  return ipam;
}

/** The conflist's JSON (key order fixed, so equal input gives equal bytes). */
export function renderConflist(cfg: AgentConfig, node: NodeAddresses): string {
  const plugin: Record<string, unknown> = {
    type: cfg.mode,
    capabilities: { portMappings: true, dns: true },
    ipam: ipamOf(cfg, node.podCIDRs),
  };
  if (cfg.clusterDNS.length) plugin.dns = { nameservers: cfg.clusterDNS, search: [`svc.${cfg.clusterDomain}`] };
  plugin.clusterCIDR = one(cfg.clusterCIDRs);
  plugin.serviceCIDR = one(cfg.serviceCIDRs);
  if (node.nodeIPs.length) plugin.nodeIP = one(node.nodeIPs);
  if (cfg.noSnatCIDRs.length) plugin.noSnatCIDRs = cfg.noSnatCIDRs;
  if (cfg.mtu !== undefined) plugin.mtu = cfg.mtu;
  const list = { cniVersion: cfg.cniVersion, name: cfg.network, plugins: [plugin] };
  return `${JSON.stringify(list, null, 2)}\n`;
}

export function conflistPath(cfg: AgentConfig): string {
  return path.join(cfg.confDir, cfg.conflistName);
}

/** Writes the conflist if its content differs; true when it was written. */
export function writeConflist(file: string, text: string): boolean {
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return false;
  // The runtime's conf folder, readable by operators like the conflist (containerd runs as root/SYSTEM),
  // writable by its owner only, whatever the umask the agent was started with.
  mkdirWithMode(path.dirname(file), 0o755);
  writeFileAtomic(file, text, { mode: 0o644 });
  return true;
}
