// Where the suite keeps files on each OS, with the environment overrides operators and tests use.

import path from 'node:path';
import { CniError, ErrorCode } from '../cni/errors';

export const PRODUCT_DIR_NAME = 'cni-plugins';

/** The folder holding the running executable (C:\k\cni\bin on a typical node). */
export function binDir(): string {
  return path.dirname(process.execPath);
}

/** Log file: CNI_LOG_FILE, else beside the binaries' folder on Windows, else under /var/log. */
export function defaultLogFile(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  if (env.CNI_LOG_FILE) return env.CNI_LOG_FILE;
  if (platform === 'win32') return path.win32.join(path.win32.dirname(binDir()), 'logs', `${PRODUCT_DIR_NAME}.log`);
  return path.posix.join('/var/log', PRODUCT_DIR_NAME, `${PRODUCT_DIR_NAME}.log`);
}

/**
 * State (attachment records, locks, built-in IPAM): CNI_STATE_DIR, else beside the binaries'
 * folder on Windows (C:\k\cni\state: only administrators write there, whereas in %ProgramData%
 * any user may create the folder or a lock file first), else /var/lib/cni-plugins.
 */
export function stateDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  if (env.CNI_STATE_DIR) return env.CNI_STATE_DIR;
  if (platform === 'win32') return path.win32.join(path.win32.dirname(binDir()), 'state');
  return path.posix.join('/var/lib', PRODUCT_DIR_NAME);
}

/**
 * The HNS emulator's state: CNI_HNS_EMULATOR_DIR, else a folder under the state dir. Set but empty
 * or relative, it is refused (code 4), never read as the default or as a folder of the caller's
 * working directory: a node has one HNS, and an emulator started on a fresh store beside the one
 * the node's tools use would be a second one nobody looks at. Every reader (plugins, hnsctl, the
 * agent) comes here.
 */
export function emulatorDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  const given = env.CNI_HNS_EMULATOR_DIR;
  if (given === undefined) return path.join(stateDir(env, platform), 'hns-emulator');
  const absolute = platform === 'win32' ? path.win32.isAbsolute(given) : path.posix.isAbsolute(given);
  if (!absolute) {
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_HNS_EMULATOR_DIR=${JSON.stringify(given)} is ${given === '' ? 'empty' : 'not an absolute path'}`,
      'it names the folder of the HNS emulator\'s state: set it to the folder the node\'s emulator uses, or unset it for the default (<state folder>/hns-emulator)');
  }
  return given;
}
