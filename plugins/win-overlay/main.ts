// What the suite's executable runs when it is invoked as win-overlay (tools/suite/main.ts): the CNI
// process contract, with the plugin loaded only for verbs that need it.

import type { PluginInfo } from '../../shared/cni/skel';
import { PRODUCT_VERSION } from '../../shared/version';

export const info: PluginInfo = { name: 'win-overlay', productVersion: PRODUCT_VERSION, confSchema: 'conf-overlay', load: () => import('./plugin') };
