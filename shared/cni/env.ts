// The CNI_* environment, read and checked the way the reference skeleton does (spec §1.3, §1.5).

import { CniError, ErrorCode } from './errors';
import { checkContainerId, checkInterfaceName } from './names';

export const VERBS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export type Verb = (typeof VERBS)[number];

export function isVerb(s: string): s is Verb {
  return (VERBS as readonly string[]).includes(s);
}

export interface CmdArgs {
  command: string;
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  /** CNI_PATH split into directories, in order. */
  path: string[];
}

type Var = 'CNI_COMMAND' | 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_ARGS' | 'CNI_PATH';

/** Which variables each verb requires (the reference column of spec §1.3). */
const REQUIRED: Record<Exclude<Var, 'CNI_COMMAND' | 'CNI_ARGS'>, readonly Verb[]> = {
  CNI_CONTAINERID: ['ADD', 'DEL', 'CHECK'],
  CNI_NETNS: ['ADD', 'CHECK'],
  CNI_IFNAME: ['ADD', 'DEL', 'CHECK'],
  CNI_PATH: ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'],
};

const VALIDATORS: Partial<Record<Var, (v: string) => void>> = {
  CNI_CONTAINERID: checkContainerId,
  CNI_IFNAME: checkInterfaceName,
};

export function pathListSeparator(platform: NodeJS.Platform): string {
  return platform === 'win32' ? ';' : ':';
}

/** Splits CNI_PATH; on Windows segments may be quoted and contain spaces. */
export function splitCniPath(raw: string, platform: NodeJS.Platform): string[] {
  return raw
    .split(pathListSeparator(platform))
    .map((s) => s.trim().replace(/^"(.*)"$/, '$1').trim())
    .filter((s) => s !== '');
}

/**
 * Reads the variables in the reference order. A required variable that is set is validated at
 * once (the first invalid one wins); missing ones (empty counts as missing) are reported together.
 * CNI_COMMAND is returned as-is: the caller decides about an empty or unknown command.
 */
export function readCmdArgs(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): CmdArgs {
  const get = (name: Var) => env[name] ?? '';
  const command = get('CNI_COMMAND');
  const missing: string[] = [];
  for (const name of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'] as const) {
    if (!isVerb(command) || !REQUIRED[name].includes(command)) continue;
    const value = get(name);
    if (value === '') {
      missing.push(name);
      continue;
    }
    VALIDATORS[name]?.(value);
  }
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`, `${command} needs ${missing.join(', ')} set and non-empty`);
  }
  return {
    command,
    containerId: get('CNI_CONTAINERID'),
    netns: get('CNI_NETNS'),
    ifName: get('CNI_IFNAME'),
    args: get('CNI_ARGS'),
    path: splitCniPath(get('CNI_PATH'), platform),
  };
}
