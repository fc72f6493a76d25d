// l3-upstream: L2Bridge, with the routes to every node's pod prefix held by the upstream
// (top-of-rack) router. Pods are routable as themselves: the cluster prefix and the routed
// datacenter prefixes (routedCIDRs) are never SNATed.

import type { CniRequest } from '../../shared/cni/skel';
import type { L3UpstreamConf } from '../../shared/config/types';
import { validate } from '../../shared/config/l3-upstream.validator';
import { bridgedMode } from '../../shared/plugin/bridged';
import { addAttachment, checkAttachment, collectStale, deleteAttachment, reportStatus } from '../../shared/plugin/verbs';

export const mode = bridgedMode<L3UpstreamConf>({
  plugin: 'l3-upstream',
  validate,
  routesPodIps: true,
  natExceptions: ({ conf }) => conf.routedCIDRs ?? [],
});

export const add = (req: CniRequest) => addAttachment(req, mode);
export const del = (req: CniRequest) => deleteAttachment(req, mode);
export const check = (req: CniRequest) => checkAttachment(req, mode);
export const gc = (req: CniRequest) => collectStale(req, mode);
export const status = (req: CniRequest) => reportStatus(req, mode);
