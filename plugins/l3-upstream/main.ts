// The l3-upstream executable: the CNI process contract, with the plugin loaded only for verbs that need it.

import { main } from '../../shared/cni/skel';
import { PRODUCT_VERSION } from '../../shared/version';

main({ name: 'l3-upstream', productVersion: PRODUCT_VERSION, confSchema: 'conf-l3-upstream', load: () => import('./plugin') });
