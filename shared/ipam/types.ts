// What an interface plugin asks of its IPAM, whichever kind it is.

import type { Result100 } from '../cni/result/v100';

export interface ValidAttachment {
  containerId: string;
  ifName: string;
}

export interface Ipam {
  /** For logs: the plugin's type, or "builtin". */
  readonly kind: string;
  /**
   * Allocates the pod's addresses (an abbreviated 1.x result: ips, routes, dns). With `reuse`
   * (the pod's attachment is gone from HNS but its claim is not), the addresses it holds.
   */
  add(opts?: { reuse?: boolean }): Promise<Result100>;
  del(): Promise<void>;
  check(): Promise<void>;
  gc(valid: ValidAttachment[]): Promise<void>;
  status(): Promise<void>;
}
