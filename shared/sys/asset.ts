// Modules that are not in the bundle that needs them: the node agent (it brings the Kubernetes
// client) and the HNS emulator's Linux data plane (only tests switch it on). Inside the executable
// each is a SEA asset (build.mjs `assets`), a CommonJS bundle whose requires are all built-in
// modules, evaluated on first use; outside it (tsx from source, a plain bundle) it is required
// from the file the caller names. Callers compute that path at run time so that esbuild does not
// pull the module into their bundle.

import path from 'node:path';

interface SeaApi {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

function seaApi(): SeaApi | undefined {
  try {
    return require('node:sea') as SeaApi;
  } catch {
    return undefined;
  }
}

/** Whether this process is the suite's single executable (and so carries the assets). */
export function inExecutable(): boolean {
  return seaApi()?.isSea() === true;
}

/** The module held by the SEA asset `asset` when in the executable, else the module at `file`. */
export function requireAsset<T>(asset: string, file: string): T {
  const sea = seaApi();
  if (!sea?.isSea()) return require(file) as T;
  const code = sea.getAsset(asset, 'utf8');
  const mod = { exports: {} as T };
  const { compileFunction } = require('node:vm') as typeof import('node:vm');
  const fn = compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: asset });
  fn(mod.exports, require, mod, asset, path.dirname(process.execPath));
  return mod.exports;
}
