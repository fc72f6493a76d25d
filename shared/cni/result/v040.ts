// Result format of spec 0.3.0, 0.3.1 and 0.4.0 (the "040" family).

import type { Dns } from './v100';

export interface Interface040 {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface IpConfig040 {
  version: '4' | '6';
  address: string;
  gateway?: string;
  interface?: number;
}

export interface Route040 {
  dst: string;
  gw?: string;
}

export interface Result040 {
  cniVersion: string;
  interfaces?: Interface040[];
  ips?: IpConfig040[];
  routes?: Route040[];
  dns?: Dns;
}
