// service.json: the emulated HNS service is stopped (or its RPC endpoint otherwise gone). While it
// is there, every call of every process fails with its HRESULT, by default RPC_S_SERVER_UNAVAILABLE
// (0x800706BA), what a client of an RPC server that is not running gets (research fidelity.md
// §3.3). Tests use it to prove that clients report "try again later" rather than a failure.

import { exists, readJson, remove, writeAtomic } from './fsio';
import { fileIn } from './store';

export const RPC_S_SERVER_UNAVAILABLE = 0x800706ba;

export interface ServiceDown {
  /** Unsigned HRESULT every call fails with. */
  hr: number;
  /** Epoch ms it went down. */
  since: number;
}

/** One existence check per call while the service runs. */
export function serviceDown(dir: string): ServiceDown | undefined {
  const file = fileIn(dir, 'service');
  if (!exists(file)) return undefined;
  return readJson<ServiceDown>(file) ?? undefined;
}

export function stopService(dir: string, hr = RPC_S_SERVER_UNAVAILABLE): void {
  writeAtomic(fileIn(dir, 'service'), JSON.stringify({ hr: hr >>> 0, since: Date.now() } satisfies ServiceDown), true);
}

export function startService(dir: string): void {
  remove(fileIn(dir, 'service'));
}
