// The emulator's control panel for tests, benchmarks and hnsctl: what a Windows admin would do
// with Restart-Computer or a fresh VM, plus the test-only files (config, faults, call log).
// Changes to the state go through the same lock as the service's own calls.

import fs from 'node:fs';
import { readJsonFile, writeFileAtomic } from '../../../sys/atomic';
import { type CallRecord, readCalls } from './calllog';
import type { Fault } from './faults';
import { DEFAULT_CONFIG, type EmulatorConfig, type EmulatorState, emptyState, fileIn, readConfig, readState, rebootState, updateState, withStateLock } from './store';

export class EmulatorAdmin {
  constructor(readonly dir: string) {}

  /** A freshly installed host: no objects, no faults, no call log, default config. */
  async reset(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    await withStateLock(this.dir, DEFAULT_CONFIG, () => {
      writeFileAtomic(fileIn(this.dir, 'state'), JSON.stringify(emptyState()));
      for (const f of ['config', 'faults', 'calls'] as const) fs.rmSync(fileIn(this.dir, f), { force: true });
    });
  }

  readState(): EmulatorState {
    return readState(this.dir);
  }

  config(): EmulatorConfig {
    return readConfig(this.dir);
  }

  /** Replaces config.json; absent knobs take their defaults. */
  setConfig(cfg: Partial<EmulatorConfig>): void {
    writeFileAtomic(fileIn(this.dir, 'config'), JSON.stringify(cfg, null, 2));
  }

  /** Replaces faults.json (under the lock, where calls consume counts). */
  async setFaults(faults: Fault[]): Promise<void> {
    await withStateLock(this.dir, readConfig(this.dir), () => writeFileAtomic(fileIn(this.dir, 'faults'), JSON.stringify(faults, null, 2)));
  }

  readFaults(): Fault[] {
    return readJsonFile<Fault[]>(fileIn(this.dir, 'faults'), []);
  }

  readCalls(): CallRecord[] {
    return readCalls(this.dir);
  }

  clearCalls(): void {
    fs.rmSync(fileIn(this.dir, 'calls'), { force: true });
  }

  /** Restart-Computer: endpoints and namespaces are lost, and networks unless persistent (config `rebootKeepsNetworks`). */
  async reboot(): Promise<void> {
    const cfg = readConfig(this.dir);
    await updateState(this.dir, cfg, (s) => rebootState(s, cfg));
  }
}

export function emulatorAdmin(dir: string): EmulatorAdmin {
  return new EmulatorAdmin(dir);
}
