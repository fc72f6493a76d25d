// Loads koffi, the FFI that reaches computenetwork.dll.
//
// Inside a Node single executable (the shipped .exe) `require` only knows built-in modules, so
// koffi's native module rides in the executable as the SEA asset 'koffi.node': it is written once
// to a cache folder named after its content hash and loaded with process.dlopen (its exports are
// the whole koffi API; the npm package's JS wrapper only adds deprecated aliases). Outside a SEA
// (tests, tsx, `node bundle.js`) plain require('koffi') works; esbuild leaves it external.
// The same code runs on Windows and under Wine: there is no Wine-only branch.
//
// Native code is loaded only from beside the executable (<bin_dir>\.cni-native), a folder that
// only administrators may write, so the module is trusted exactly as much as the .exe carrying
// it. There is no temp-folder fallback: under SYSTEM that is C:\Windows\Temp, where another
// local user could plant or swap the DLL between its write and its load. If the folder cannot be
// written, loading fails with an error naming it and saying what to do.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type * as KoffiModule from 'koffi';

export type Koffi = typeof KoffiModule;

export const KOFFI_ASSET = 'koffi.node';

interface SeaApi {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

let loaded: Koffi | undefined;

/** koffi, loaded once per process. */
export function loadKoffi(): Koffi {
  loaded ??= loadFresh();
  return loaded;
}

function loadFresh(): Koffi {
  const sea = seaApi();
  if (sea?.isSea()) {
    const file = nativeModuleFile(seaAsset(sea));
    const mod = { exports: {} as Koffi };
    process.dlopen(mod, file);
    return mod.exports;
  }
  return require('koffi') as Koffi;
}

export interface NativeLocation {
  /** The running executable (process.execPath). */
  execPath: string;
  /** path.win32 on Windows; injected by the tests. */
  path: path.PlatformPath;
  /** Writes the module under a root; materializeNative unless a test replaces it. */
  write?: (bytes: Uint8Array, root: string) => string;
}

/**
 * The native module's file, written if needed, under `<folder of the executable>/.cni-native`,
 * and nowhere else (see the header). Throws an error naming the folder if it cannot be written.
 */
export function nativeModuleFile(bytes: Uint8Array, where: NativeLocation = { execPath: process.execPath, path }): string {
  const p = where.path;
  const binDir = p.dirname(where.execPath);
  const root = p.join(binDir, '.cni-native');
  try {
    return (where.write ?? materializeNative)(bytes, root);
  } catch (err) {
    throw new Error(
      `cannot write koffi's native module, which the hcn backend needs, to ${root}: ${(err as Error).message}. ` +
        `Native code is loaded only from beside the executable, a folder only administrators may write, never from a temp folder. ` +
        `Run the plugin as SYSTEM or an administrator (as containerd does), and keep ${binDir} writable by Administrators and SYSTEM only; ` +
        `or, for a read-only install, have an administrator run any plugin once so it writes ${p.join(root, '<hash>', KOFFI_ASSET)}.`,
    );
  }
}

function seaAsset(sea: SeaApi): Uint8Array {
  try {
    return new Uint8Array(sea.getAsset(KOFFI_ASSET));
  } catch (err) {
    // Only the win-x64 executables carry it (build.mjs); the Linux ones use the emulator.
    throw new Error(`this executable carries no ${KOFFI_ASSET} asset, so it cannot use the hcn backend: ${(err as Error).message}`);
  }
}

function seaApi(): SeaApi | undefined {
  try {
    return require('node:sea') as SeaApi;
  } catch {
    return undefined; // a Node without SEA support cannot be running as one
  }
}

/**
 * The path of `bytes` as `<root>/<first 16 hex of sha256>/koffi.node`, written if missing or
 * different. Concurrent processes each write a private temporary file and rename it into place,
 * so no process ever loads a half-written module.
 */
export function materializeNative(bytes: Uint8Array, root: string): string {
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = path.join(root, digest);
  const file = path.join(dir, KOFFI_ASSET);
  if (sameContent(file, bytes)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `${KOFFI_ASSET}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  fs.writeFileSync(tmp, bytes);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    // Windows refuses to replace a module another process has loaded; if that process wrote the
    // same bytes, its file is as good as ours.
    fs.rmSync(tmp, { force: true });
    if (!sameContent(file, bytes)) throw err;
  }
  return file;
}

/** Whether `file` holds exactly `bytes` (a cheap size check first; a full compare costs ~0.3 ms). */
function sameContent(file: string, bytes: Uint8Array): boolean {
  try {
    if (fs.statSync(file).size !== bytes.byteLength) return false;
    return fs.readFileSync(file).equals(bytes);
  } catch {
    return false;
  }
}
