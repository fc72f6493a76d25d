// The network configuration as the plugins read it (netconf.schema.json and the per-mode schemas).

import type { Dns } from '../cni/result/v100';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

export interface RuntimeDns {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface RuntimeConfig {
  portMappings?: PortMapping[];
  dns?: RuntimeDns;
  [capability: string]: unknown;
}

/**
 * An entry of `policies` (`{name, value}`, or a bare HCN v2 `{Type, Settings}`) or of
 * `AdditionalArgs` (`{Name, Value}`), in the schema's spelling (shared/schema/decode.ts).
 */
export interface RawPolicy {
  name?: string;
  value?: Record<string, unknown>;
  Name?: string;
  Value?: Record<string, unknown>;
  Type?: string;
  Settings?: Record<string, unknown>;
}

/** `type` absent: HNS assigns the address (sdnbridge/wincni); then only subnet and routes are read. */
export interface IpamConf {
  type?: string;
  subnet?: string;
  routes?: { dst?: string; gw: string }[];
  [key: string]: unknown;
}

export interface ConfRoute {
  dst?: string;
  gw: string;
}

/** sdnbridge/sdnoverlay's optionalFlags. */
export interface OptionalFlags {
  localRoutedPortMapping?: boolean;
  allowAclPortMapping?: boolean;
  forceBridgeGateway?: boolean;
  enableDualStack?: boolean;
  loopbackDSR?: boolean;
  gatewayFromAdditionalRoutes?: boolean;
}

export interface NetConf {
  cniVersion?: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  runtimeConfig?: RuntimeConfig;
  args?: Record<string, unknown>;
  prevResult?: Record<string, unknown>;
  ipam?: IpamConf;
  dns?: Dns;
  logFile?: string;
  apiVersion?: number;
  ipMasq?: boolean;
  ipMasqNetwork?: string;
  loopbackDSR?: boolean;
  policies?: RawPolicy[];
  hcnPolicyArgs?: RawPolicy[];
  AdditionalArgs?: RawPolicy[];
  optionalFlags?: OptionalFlags;
  additionalRoutes?: ConfRoute[];
  master?: string;
  clusterCIDR?: string | string[];
  serviceCIDR?: string | string[];
  nodeIP?: string | string[];
  nodeSubnet?: string | string[];
  noSnatCIDRs?: string[];
  snat?: boolean;
  /** The address (one per family) pods are SNATed to: the OutBoundNAT policy's VirtualIP. */
  snatVirtualIP?: string | string[];
  /** The OutBoundNAT policy's MaxPortPoolUsage: a cap on the SNAT ports the pod's endpoint holds. */
  snatMaxPortPoolUsage?: number;
  /** false: do not exempt the pod subnet and private DNS servers from SNAT by default. */
  snatDefaultExceptions?: boolean;
  gateway?: string;
  gateway6?: string;
  mtu?: number;
  hnsTimeoutSeconds?: number;
}

export interface HostGatewayConf extends NetConf {
  peers?: { podCIDR: string; nodeIP: string }[];
}

export interface L3UpstreamConf extends NetConf {
  routedCIDRs?: string[];
}

export interface OverlayConf extends NetConf {
  endpointMacPrefix?: string;
  providerAddress?: string;
  hostPorts?: boolean;
}

export function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
