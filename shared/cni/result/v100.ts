// Result format of spec 1.0.0 and 1.1.0 (the "100" family). It is also our internal model:
// every result is converted to it on the way in and from it on the way out.

export interface Interface100 {
  name: string;
  mac?: string;
  /** 1.1.0 */
  mtu?: number;
  sandbox?: string;
  /** 1.1.0 */
  socketPath?: string;
  /** 1.1.0 */
  pciID?: string;
}

export interface IpConfig100 {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface Route100 {
  dst: string;
  gw?: string;
  /** 1.1.0 */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface Result100 {
  cniVersion: string;
  interfaces?: Interface100[];
  ips?: IpConfig100[];
  routes?: Route100[];
  dns?: Dns;
}
