// The host-gateway executable: the CNI process contract, with the plugin loaded only for verbs that need it.

import { main } from '../../shared/cni/skel';
import { PRODUCT_VERSION } from '../../shared/version';

main({ name: 'host-gateway', productVersion: PRODUCT_VERSION, confSchema: 'conf-host-gateway', load: () => import('./plugin') });
