// The suite's plugins by the name they are installed (and referred to in a conf's "type") as.
// Each is loaded only when asked for: a plugin start parses no other plugin's code.

import type { PluginInfo } from '../../shared/cni/skel';

export const PLUGINS: Record<string, () => Promise<{ info: PluginInfo }>> = {
  'win-l2bridge': () => import('../../plugins/win-l2bridge/main'),
  'win-overlay': () => import('../../plugins/win-overlay/main'),
  'host-gateway': () => import('../../plugins/host-gateway/main'),
  'l3-upstream': () => import('../../plugins/l3-upstream/main'),
};
