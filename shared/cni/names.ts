// Names the caller chooses reach file names (locks, IPAM state) and HNS object names,
// so they are checked against what the spec allows before anything uses them.

import { CniError, ErrorCode } from './errors';

const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$/;

/** Long enough for any runtime's ID (containerd uses 64 hex chars), short enough for a file name. */
const MAX_ID_LENGTH = 255;

export function checkContainerId(id: string): void {
  if (!ID_PATTERN.test(id) || id.length > MAX_ID_LENGTH) {
    throw new CniError(ErrorCode.InvalidEnvironment, 'invalid characters in CNI_CONTAINERID', `CNI_CONTAINERID=${JSON.stringify(id)} must match ${ID_PATTERN.source} (at most ${MAX_ID_LENGTH} characters)`);
  }
}

export function checkInterfaceName(name: string): void {
  if (Buffer.byteLength(name, 'utf8') > 15) {
    throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_IFNAME is too long', `CNI_IFNAME=${JSON.stringify(name)} must be less than 16 characters`);
  }
  if (name === '.' || name === '..') {
    throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_IFNAME is . or ..', `CNI_IFNAME=${JSON.stringify(name)}`);
  }
  if (/[/:\s]/.test(name)) {
    throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_IFNAME contains / or : or whitespace characters', `CNI_IFNAME=${JSON.stringify(name)}`);
  }
}

export function checkNetworkName(name: unknown): asserts name is string {
  if (name === undefined || name === null || name === '') {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name', 'the conf must have a non-empty "name"');
  }
  if (typeof name !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, 'error decoding network config: "name" must be a string', `got ${JSON.stringify(name)}`);
  }
  if (!ID_PATTERN.test(name) || name.length > MAX_ID_LENGTH) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid characters found in network name ${JSON.stringify(name)}`, `"name" must match ${ID_PATTERN.source}`);
  }
}

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id) && id.length <= MAX_ID_LENGTH;
}
