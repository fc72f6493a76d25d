// win-l2bridge: pods on the node's L2Bridge network, on the node's L2 segment. The mode's rules
// are the common L2Bridge ones (shared/plugin/bridged.ts); nothing more.

import type { CniRequest } from '../../shared/cni/skel';
import type { NetConf } from '../../shared/config/types';
import { validate } from '../../shared/config/l2bridge.validator';
import { bridgedMode } from '../../shared/plugin/bridged';
import { addAttachment, checkAttachment, collectStale, deleteAttachment, reportStatus } from '../../shared/plugin/verbs';

export const mode = bridgedMode<NetConf>({ plugin: 'win-l2bridge', validate });

export const add = (req: CniRequest) => addAttachment(req, mode);
export const del = (req: CniRequest) => deleteAttachment(req, mode);
export const check = (req: CniRequest) => checkAttachment(req, mode);
export const gc = (req: CniRequest) => collectStale(req, mode);
export const status = (req: CniRequest) => reportStatus(req, mode);
