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

/** `{name: "EndpointPolicy", value: {...}}` (any key case), or a bare HCN v2 `{Type, Settings}`. */
export interface RawPolicy {
  name?: string;
  Name?: string;
  value?: Record<string, unknown>;
  Value?: Record<string, unknown>;
  Type?: string;
  Settings?: Record<string, unknown>;
}

export interface IpamConf {
  type: string;
  [key: string]: unknown;
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
  HcnPolicyArgs?: RawPolicy[];
  AdditionalArgs?: RawPolicy[];
  clusterCIDR?: string | string[];
  serviceCIDR?: string | string[];
  nodeIP?: string | string[];
  nodeSubnet?: string | string[];
  noSnatCIDRs?: string[];
  snat?: boolean;
  gateway?: string;
  gateway6?: string;
  mtu?: number;
  hnsTimeoutSeconds?: number;
}

export interface HostGatewayConf extends NetConf {
  clusterCIDR: string | string[];
  peers?: { podCIDR: string; nodeIP: string }[];
}

export interface L3UpstreamConf extends NetConf {
  clusterCIDR: string | string[];
  routedCIDRs?: string[];
}

export interface OverlayConf extends NetConf {
  endpointMacPrefix?: string;
  providerAddress?: string;
}

export function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
