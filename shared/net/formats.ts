// String formats the JSON Schemas use. The precompiled validators call these at run time
// (build.mjs points ajv's standalone code at this module), so they must stay cheap.

import { hasHostBits, parseCidr, parseIp } from './ip';

const MAC = /^[0-9A-Fa-f]{2}([-:])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/;
const GUID = /^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$/;

export const formats: Record<string, (s: string) => boolean> = {
  ip: (s) => parseIp(s) !== undefined,
  ipv4: (s) => parseIp(s)?.family === 4,
  ipv6: (s) => parseIp(s)?.family === 6,
  /** An address with its prefix length; host bits allowed (`10.244.3.17/24`). */
  cidr: (s) => parseCidr(s) !== undefined,
  /** A prefix in network form (`10.244.0.0/16`): host bits must be zero. */
  prefix: (s) => {
    const c = parseCidr(s);
    return c !== undefined && !hasHostBits(c);
  },
  /** `00-15-5D-AA-BB-CC` or `00:15:5d:aa:bb:cc`. */
  mac: (s) => MAC.test(s),
  /** HCN GUID text: 36 characters, no braces. */
  guid: (s) => GUID.test(s),
};
