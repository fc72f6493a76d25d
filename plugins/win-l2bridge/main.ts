// The win-l2bridge executable: the CNI process contract, with the plugin loaded only for verbs that need it.

import { main } from '../../shared/cni/skel';
import { PRODUCT_VERSION } from '../../shared/version';

main({ name: 'win-l2bridge', productVersion: PRODUCT_VERSION, confSchema: 'conf-l2bridge', load: () => import('./plugin') });
