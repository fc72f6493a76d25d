// What the suite's executable runs when it is invoked as l3-upstream (tools/suite/main.ts): the CNI
// process contract, with the plugin loaded only for verbs that need it.

import type { PluginInfo } from '../../shared/cni/skel';
import { PRODUCT_VERSION } from '../../shared/version';

export const info: PluginInfo = { name: 'l3-upstream', productVersion: PRODUCT_VERSION, confSchema: 'conf-l3-upstream', load: () => import('./plugin') };
