// The host's OS build, as a log line states it (pain point 21: networking broken after a Windows
// update, and nothing in the logs said which build the node ran).
//
// Windows: the full build with its update revision, `10.0.20348.2849`. os.release() gives
// major.minor.build only; the update revision (UBR) is what a cumulative update changes, and it
// lives in the registry value HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\UBR (REG_DWORD),
// read with advapi32!RegGetValueW through koffi, which every plugin run on Windows loads anyway
// for computenetwork.dll. If it cannot be read the build is given without it, saying why.
//
// Elsewhere the backend is the HNS emulator: the text says so, with the kernel's release and the
// Windows build the emulator's profile stands for (its `build`, whose evidence the profile table
// names: shared/hns/backends/emulator/README.md), and an explicit hnsVersion knob, since that
// changes what the emulated service answers as a patch would.

import os from 'node:os';

const HKEY_LOCAL_MACHINE = -0x7ffffffe; // (HKEY)(LONG)0x80000002, sign-extended as Windows does
const RRF_RT_REG_DWORD = 0x10;
const CURRENT_VERSION = 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion';

export interface OsBuildOptions {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** Tests: the registry read (returns the UBR, or throws why not). */
  readUbr?: () => number;
}

/** The OS build text of this host, never throwing (an unreadable part says so in the text). */
export function osBuild(opts: OsBuildOptions): string {
  if (opts.platform === 'win32') {
    const base = os.release();
    try {
      return `${base}.${(opts.readUbr ?? readUbr)()}`;
    } catch (err) {
      return `${base} (update revision not readable: ${(err as Error).message})`;
    }
  }
  return `${os.type()} ${os.release()}${emulatedBuild(opts.env, opts.platform)}`;
}

/** HKLM\...\CurrentVersion\UBR through RegGetValueW. */
function readUbr(): number {
  const { loadKoffi } = require('../hns/backends/hcn/native') as typeof import('../hns/backends/hcn/native');
  const koffi = loadKoffi();
  const lib = koffi.load('advapi32.dll');
  const RegGetValueW = lib.func('long __stdcall RegGetValueW(intptr_t hkey, const char16_t *lpSubKey, const char16_t *lpValue, uint32_t dwFlags, uint32_t *pdwType, _Out_ uint32_t *pvData, _Inout_ uint32_t *pcbData)');
  const data = [0];
  const size = [4];
  const rc = RegGetValueW(HKEY_LOCAL_MACHINE, CURRENT_VERSION, 'UBR', RRF_RT_REG_DWORD, null, data, size) as number;
  if (rc !== 0) throw new Error(`RegGetValueW ${CURRENT_VERSION}\\UBR failed with Win32 error ${rc}`);
  return data[0]!;
}

/** `; HNS emulator <profile> (<title>, build <build>)` when the backend is the emulator. */
function emulatedBuild(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  if (env.CNI_HNS_BACKEND && env.CNI_HNS_BACKEND !== 'emulator') return '';
  try {
    const { emulatorDir } = require('./paths') as typeof import('./paths');
    const { chooseProfile, readConfigFile } = require('../hns/backends/emulator/config') as typeof import('../hns/backends/emulator/config');
    const given = readConfigFile(emulatorDir(env, platform));
    const { profile } = chooseProfile(given, env);
    const knob = given.hnsVersion ? `, hnsVersion knob ${given.hnsVersion.Major}.${given.hnsVersion.Minor}` : '';
    return `; HNS emulator ${profile.name} (${profile.title}, build ${profile.build}${knob})`;
  } catch (err) {
    return `; HNS emulator (its configuration is not readable: ${(err as Error).message})`;
  }
}
