// A case of cni-spec.md §8.2 as data plus a small function.

import type { CaseContext, ExecRecord } from './context';
import type { PluginProfile } from './profile';

export interface RunState {
  /** Every plugin run of the cases of this plugin that finished before (the N cases read them). */
  records: ExecRecord[];
}

export interface CaseDef {
  id: string;
  title: string;
  /** true, or the reason the case does not apply to this plugin. */
  applies?: (p: PluginProfile) => true | string;
  /** Runs after all other cases of the plugin (it looks at their outcomes). */
  final?: boolean;
  /** Measures time: runs alone, not next to another case. */
  exclusive?: boolean;
  run: (ctx: CaseContext, state: RunState) => Promise<void>;
}

export type Status = 'pass' | 'fail' | 'n/a';

export interface CaseResult {
  id: string;
  title: string;
  status: Status;
  /** fail: what differed; n/a: why; pass: notes, if any. */
  detail: string;
  ms: number;
  /** A failed case's last plugin runs, for the JSON report. */
  runs?: { label: string; command: string; exit: number | null; signal: string | null; ms: number; stdout: string; stderr: string }[];
}

export const needsEmulator = (p: PluginProfile): true | string =>
  p.backend === 'emulator' ? true : 'needs to look at or break the plugin\'s HNS objects, and this plugin was run with --backend none';

export const needsIpv6 = (p: PluginProfile): true | string => (p.ipv6 ? true : (p.ipv6Reason ?? 'the plugin is IPv4 only'));

export const windowsOnly = (what: string) => (): true | string =>
  process.platform === 'win32' ? true : `Windows only (${what}); this run executes Linux executables, where CNI_PATH is ':'-separated and executables have no extension`;

export function both(...checks: ((p: PluginProfile) => true | string)[]): (p: PluginProfile) => true | string {
  return (p) => {
    for (const c of checks) {
      const r = c(p);
      if (r !== true) return r;
    }
    return true;
  };
}
