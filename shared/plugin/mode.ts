// What makes one plugin different from another: its network type and its rules for the pod's
// gateway, policies and MAC. Everything else is shared (verbs.ts).

import type { NetConf } from '../config/types';
import type { HostComputeNetwork, NetworkMode } from '../hns/model/network';
import type { Cidr } from '../net/ip';
import type { Validator } from '../schema/validator';

export interface ModeInput<C extends NetConf = NetConf> {
  conf: C;
  net: HostComputeNetwork;
  /** The pod's addresses, one per family. */
  addresses: Cidr[];
}

export interface NetworkReadiness<C extends NetConf> {
  conf: C;
  net: HostComputeNetwork;
  /** Reads the network again (the client keeps its handle: one call). */
  reread(): Promise<HostComputeNetwork>;
  log: { event(step: string, fields?: Record<string, unknown>, outcome?: string): void };
}

export interface Mode<C extends NetConf = NetConf> {
  /** The executable's name (the conf's `type`). */
  plugin: string;
  /** HNS network types the mode runs on. */
  networkTypes: readonly NetworkMode[];
  /** The precompiled schema of the mode's conf. */
  validate: Validator;
  /** Whether pods may have IPv6 addresses. */
  ipv6: boolean;
  /** The pod's default gateway for one of its addresses, when the conf sets none (shared/plugin/conf.ts). */
  gateway(addr: Cidr, input: ModeInput<C>): string;
  /** Gateways the built-in allocator must not hand out, for a subnet of the network. */
  reservedGateways(conf: C, net: HostComputeNetwork | undefined): string[];
  /** Never-SNAT prefixes of the mode itself. */
  natExceptions(input: ModeInput<C>): string[];
  /** L2Bridge: route the node IP through the host, and map host ports with LocalRoutedVip. */
  bridged: boolean;
  /** Pod IPs cross the node's uplink unchanged (host-gw, upstream L3): the pod network must not be SNATed. */
  routesPodIps: boolean;
  /** Whether runtimeConfig.portMappings become PortMapping policies. */
  appliesPortMappings(conf: C): boolean;
  /**
   * The network as the mode can use it: Overlay waits (bounded) for the service to fill in the
   * ProviderAddress it needs. Undefined: the network as found.
   */
  networkReady?(ctx: NetworkReadiness<C>): Promise<HostComputeNetwork>;
  /** Overlay: the node's provider address for the endpoint (undefined: none). */
  providerAddress?(input: ModeInput<C>): string;
  /** Overlay: a MAC derived from the pod's IPv4 address. */
  mac?(input: ModeInput<C>): string | undefined;
  /** The MTU reported in 1.1.0 results, when the mode knows it. */
  mtu?(conf: C): number | undefined;
}
