// Checks a request's configuration against the plugin's precompiled schema before anything
// changes, and says which key is wrong and why.

import { CniError, ErrorCode } from '../cni/errors';
import { describeSchemaError, errorKey, type SchemaError, type Validator } from '../schema/validator';
import type { NetConf } from './types';

/**
 * A value the schema knows but the plugin does not support (an enum miss, a key forbidden in this
 * mode) is "unsupported field" (code 2); everything else is "invalid network config" (code 7).
 */
function codeFor(e: SchemaError): number {
  return e.keyword === 'enum' || e.keyword === 'false schema' ? ErrorCode.UnsupportedField : ErrorCode.InvalidNetworkConfig;
}

export function checkConf<T extends NetConf>(conf: Record<string, unknown>, validate: Validator, plugin: string): T {
  if (validate(conf)) return conf as unknown as T;
  const e = validate.errors?.[0];
  if (!e) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid network configuration');
  const sentence = describeSchemaError(e, conf);
  if (e.keyword === 'false schema') {
    throw new CniError(ErrorCode.UnsupportedField, `unsupported key "${errorKey(e)}" in network configuration: ${plugin} does not support it`, sentence);
  }
  throw new CniError(codeFor(e), `invalid network configuration: ${sentence}`, `see the ${plugin} README for every key, its type and default`);
}

/** Keys the spec reserves or runtimes add; never reported as unknown. */
const RESERVED = new Set(['cniVersion', 'cniVersions', 'name', 'type', 'capabilities', 'runtimeConfig', 'args', 'prevResult', 'disableCheck', 'disableGC', 'loadOnlyInlinedPlugins', 'plugins']);

/** Top-level keys the plugin will ignore: logged, so a misspelt key does not go unnoticed. */
export function unknownKeys(conf: Record<string, unknown>, known: ReadonlySet<string>): string[] {
  return Object.keys(conf).filter((k) => !RESERVED.has(k) && !known.has(k) && !k.startsWith('cni.dev/'));
}
