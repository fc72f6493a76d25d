// What one network namespace should hold: the data plane's desired state, derived from the HNS
// state by model.ts and made true by converge.ts. Links are named by their id (the HNS object they
// stand for); addresses, routes and neighbours refer to links by id, since a link's name is chosen
// when it is made (a pod's NIC is named after the attaching plugin's CNI_IFNAME).

export interface BridgeLink {
  kind: 'bridge';
  id: string;
  name: string;
  mac?: string;
  forwarding: boolean;
}

export interface VxlanLink {
  kind: 'vxlan';
  id: string;
  name: string;
  vni: number;
  port: number;
  local: string;
  /** The link id of the underlay device (the uplink). */
  dev: string;
  mac?: string;
  mtu: number;
  forwarding: boolean;
}

/** The end of a veth pair this namespace makes; the other end is a `peer` link of `peerNetns` (maybe this one). */
export interface VethLink {
  kind: 'veth';
  id: string;
  name: string;
  master?: string;
  mac?: string;
  mtu: number;
  peer: { netns: string; id: string; name: string };
  forwarding?: boolean;
}

/** The other end of a veth pair, made by its owner's namespace; configured here. */
export interface PeerLink {
  kind: 'peer';
  id: string;
  /** The name it is given when made; one that exists keeps the name it has. */
  name: string;
  mac?: string;
  mtu: number;
  forwarding?: boolean;
}

export type LinkSpec = BridgeLink | VxlanLink | VethLink | PeerLink;

export interface AddressSpec {
  dev: string;
  /** `10.244.1.10/24` */
  cidr: string;
}

export interface RouteSpec {
  /** `main` or a table number. */
  table: 'main' | number;
  /** Canonical prefix. */
  dst: string;
  via?: string;
  dev: string;
  onlink?: boolean;
  src?: string;
  metric?: number;
}

export interface RuleSpec {
  priority: number;
  iif: string;
  table: number;
}

export interface NeighSpec {
  dev: string;
  ip: string;
  mac: string;
}

export interface FdbSpec {
  dev: string;
  mac: string;
  dst: string;
}

export interface NetnsSpec {
  name: string;
  role: 'node' | 'pod';
  links: LinkSpec[];
  addresses: AddressSpec[];
  routes: RouteSpec[];
  rules: RuleSpec[];
  neighbours: NeighSpec[];
  fdb: FdbSpec[];
  /** Written every time the namespace is converged (`sysctl -e`: a key the kernel lacks is skipped). */
  sysctls: [string, string][];
  /** iptables-restore input for the nat and filter tables (the namespace is the data plane's, so the tables are replaced whole). */
  iptables: string;
}

export interface PlaneSpec {
  underlay: string;
  node: NetnsSpec;
  pods: NetnsSpec[];
  /** What the HNS state asks for that the data plane does not realize (reported in calls.log, never faked). */
  notRealized: string[];
}
