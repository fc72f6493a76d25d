// What the data plane calls the Linux objects it owns. Network namespace names are global on the
// machine, so they carry the node's name; link names are per namespace and at most 15 bytes
// (IFNAMSIZ), so they carry 8 hex digits of the HNS object's ID, and the whole ID rides in the
// link's alias (`hns:<kind>:<ID>`), which is how a later pass, in any process, finds them again.

import { createHash } from 'node:crypto';
import type { EmulatorConfig } from '../config';

/** Routes and rules the data plane makes carry this protocol number (no name in /etc/iproute2/rt_protos). */
export const ROUTE_PROTO = 77;
/** Priority of the policy rules that send an Overlay network's traffic through its routing table. */
export const RULE_PRIORITY = 1000;
/** The bridge of the underlay namespace, the L2 segment every uplink is plugged into. */
export const UNDERLAY_BRIDGE = 'underlay';
/** The host's uplink in its namespace: the adapter HNS binds its external vSwitch to. */
export const UPLINK = 'Ethernet';
/** The underlay's MTU, and so the uplink's: an Overlay pod gets 50 less (windows-anchors.md §8.3). */
export const UNDERLAY_MTU = 1500;
export const VXLAN_OVERHEAD = 50;

function hex8(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** The ID's first 8 hex digits, lower case: enough to tell a node's few objects apart. */
export function short(id: string): string {
  return id.replace(/-/g, '').slice(0, 8).toLowerCase();
}

export function nodeNetns(dir: string, cfg: EmulatorConfig): string {
  return cfg.dataplaneNode || `hns-${hex8(dir)}`;
}

/** The namespace of an HNS namespace that is not the host's (a pod sandbox's compartment). */
export function podNetns(node: string, namespaceId: string): string {
  return `${node}-${short(namespaceId)}`;
}

/** Whether a namespace name is one of this node's pod namespaces. */
export function isPodNetnsOf(node: string, name: string): boolean {
  return name.startsWith(`${node}-`) && /^[0-9a-f]{8}$/.test(name.slice(node.length + 1));
}

/** The uplink's other end, in the underlay namespace (shared by every node: named after the node). */
export function underlayPort(node: string): string {
  return `ul${hex8(node)}`;
}

export const bridgeName = (networkId: string) => `vsw${short(networkId)}`;
export const vxlanName = (networkId: string) => `vxl${short(networkId)}`;
/** An endpoint's port on its network's switch (one end of a veth pair). */
export const portName = (endpointId: string) => `port${short(endpointId)}`;
/** A host vNIC (an endpoint in a HostDefault namespace) in the host's namespace. */
export const hostNicName = (endpointId: string) => `vnic${short(endpointId)}`;

/** An Overlay network's routing table (the VFP layer's routes, apart from the host's own). */
export function overlayTable(networkId: string): number {
  return 1000 + (parseInt(short(networkId).slice(0, 4), 16) % 50_000);
}

export const aliasOf = (id: string) => `hns:${id}`;
export function idOfAlias(alias: string | undefined): string | undefined {
  return alias?.startsWith('hns:') ? alias.slice(4) : undefined;
}

/** A stable, locally administered MAC for the uplink of a node (its "physical" adapter). */
export function uplinkMac(node: string): string {
  const h = hex8(`uplink:${node}`) + hex8(`mac:${node}`);
  return ['02', h.slice(0, 2), h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10)].join(':');
}

/** `00-15-5D-A0-00-01` (HNS) or `0e:2a:...` (Go) -> `00:15:5d:a0:00:01` (iproute2); undefined if it is no MAC. */
export function linuxMac(text: string | undefined): string | undefined {
  const hex = text?.replace(/[-:.]/g, '').toLowerCase();
  return hex && /^[0-9a-f]{12}$/.test(hex) ? hex.match(/../g)!.join(':') : undefined;
}

/** A Linux interface name: at most 15 bytes, no '/', ':', whitespace (dev_valid_name). */
export function validIfName(name: string | undefined): boolean {
  return !!name && Buffer.byteLength(name) <= 15 && !/[/:\s]/.test(name) && name !== '.' && name !== '..';
}
