// host-gateway: L2Bridge, with each node routing every peer's pod prefix via the peer's IP. Pod
// traffic crosses nodes with pod IPs, so the cluster prefix is required (never SNATed), and the
// peers' pod prefixes are never SNATed either.

import type { CniRequest } from '../../shared/cni/skel';
import type { HostGatewayConf } from '../../shared/config/types';
import { validate } from '../../shared/config/host-gateway.validator';
import { bridgedMode } from '../../shared/plugin/bridged';
import { addAttachment, checkAttachment, collectStale, deleteAttachment, reportStatus } from '../../shared/plugin/verbs';

export const mode = bridgedMode<HostGatewayConf>({
  plugin: 'host-gateway',
  validate,
  routesPodIps: true,
  natExceptions: ({ conf }) => (conf.peers ?? []).map((p) => p.podCIDR),
});

export const add = (req: CniRequest) => addAttachment(req, mode);
export const del = (req: CniRequest) => deleteAttachment(req, mode);
export const check = (req: CniRequest) => checkAttachment(req, mode);
export const gc = (req: CniRequest) => collectStale(req, mode);
export const status = (req: CniRequest) => reportStatus(req, mode);
