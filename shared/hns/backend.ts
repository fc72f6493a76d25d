// Picks the HCN adapter: the real service through computenetwork.dll on Windows, the emulator
// everywhere else. CNI_HNS_BACKEND=emulator|hcn overrides. Each adapter is loaded only when
// chosen, so a plugin never pays for the one it does not use.

import type { HcnApi } from './api';
import { CniError, ErrorCode } from '../cni/errors';
import { emulatorDir } from '../sys/paths';

export type BackendName = 'hcn' | 'emulator';

export function chooseBackend(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): BackendName {
  const wanted = env.CNI_HNS_BACKEND;
  if (wanted === 'hcn' && platform !== 'win32') {
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_HNS_BACKEND=hcn needs Windows: the hcn backend calls the HNS service through computenetwork.dll`, `on ${platform} only the HNS emulator runs (CNI_HNS_BACKEND=emulator, or unset)`);
  }
  if (wanted === 'hcn' || wanted === 'emulator') return wanted;
  if (wanted) throw new CniError(ErrorCode.InvalidEnvironment, `CNI_HNS_BACKEND=${wanted} is not a backend; use "hcn" or "emulator"`);
  return platform === 'win32' ? 'hcn' : 'emulator';
}

export async function openBackend(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Promise<HcnApi> {
  if (chooseBackend(env, platform) === 'hcn') {
    const { createHcnApi } = await import('./backends/hcn/index');
    return createHcnApi({ env });
  }
  const { createEmulatorApi } = await import('./backends/emulator/index');
  return createEmulatorApi({ dir: emulatorDir(env, platform) });
}
