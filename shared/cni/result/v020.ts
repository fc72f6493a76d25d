// Result format of spec 0.1.0 and 0.2.0 (the "020" family): one address per family.

import type { Dns } from './v100';

export interface Route020 {
  dst: string;
  gw?: string;
}

export interface IpConfig020 {
  ip: string;
  gateway?: string;
  routes?: Route020[];
}

export interface Result020 {
  cniVersion: string;
  ip4?: IpConfig020;
  ip6?: IpConfig020;
  dns?: Dns;
}
