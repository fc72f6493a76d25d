// Picks the host IP stack adapter the same way shared/hns/backend.ts picks the HCN one: the IP
// Helper API on Windows, the HNS emulator's host elsewhere; CNI_HNS_BACKEND=hcn|emulator
// overrides both together (a Windows test run on the emulator has no real routes either).

import { chooseBackend } from '../hns/backend';
import { emulatorDir } from '../sys/paths';
import type { HostRoutes } from './routes';

export async function openHostRoutes(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Promise<HostRoutes> {
  if (chooseBackend(env, platform) === 'hcn') {
    const { createIphlpapiHostRoutes } = await import('./backends/iphlpapi/index');
    return createIphlpapiHostRoutes({ env });
  }
  const { createEmulatorHostRoutes } = await import('./backends/emulator');
  return createEmulatorHostRoutes(emulatorDir(env, platform));
}
