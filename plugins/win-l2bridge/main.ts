// What the suite's executable runs when it is invoked as win-l2bridge (tools/suite/main.ts): the CNI
// process contract, with the plugin loaded only for verbs that need it.

import type { PluginInfo } from '../../shared/cni/skel';
import { PRODUCT_VERSION } from '../../shared/version';

export const info: PluginInfo = { name: 'win-l2bridge', productVersion: PRODUCT_VERSION, confSchema: 'conf-l2bridge', load: () => import('./plugin') };
