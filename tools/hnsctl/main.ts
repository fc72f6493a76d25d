// hnsctl: look at and change the HNS objects of this host, on the real service or the emulator.
// The entry stays small; the commands are in cli.ts. Output goes through file descriptors, not
// process.stdout (a net.Socket that breaks under Wine).

import path from 'node:path';
import { writeStderr, writeStdout } from '../../shared/cni/stdio';
import { runPlugin } from '../../shared/cni/skel';
import { openBackend } from '../../shared/hns/backend';
import { openHostRoutes } from '../../shared/host/backend';
import { inExecutable } from '../../shared/sys/asset';
import { readTextFile } from '../../shared/sys/text';
import { stateDir } from '../../shared/sys/paths';
import { PLUGINS } from '../suite/plugins';
import { run } from './cli';
import type { RunDel } from './sweep';

export function hnsctl(argv: string[]): Promise<number> {
  return run(argv, {
    openApi: () => openBackend(process.env, process.platform),
    openHost: () => openHostRoutes(process.env, process.platform),
    out: writeStdout,
    err: writeStderr,
    // PowerShell's UTF-16 files included (shared/sys/text.ts).
    readFile: readTextFile,
    stateDir: stateDir(process.env, process.platform),
    runDel,
    pluginTypes: new Set(Object.keys(PLUGINS)),
  });
}

/**
 * A plugin's DEL, in this process, as the runtime would run it: this environment (CNI_STATE_DIR,
 * CNI_LOG_FILE, the emulator's) plus the pod's. A delegated IPAM is looked up on CNI_PATH, which
 * defaults to the folder this executable is in: the bin_dir the plugins and host-local.exe share.
 */
const runDel: RunDel = async (type, stdin, pod) => {
  const load = PLUGINS[type];
  if (!load) throw new Error(`no plugin ${type} in this suite`);
  const binDir = inExecutable() ? path.dirname(process.execPath) : undefined;
  const env = { ...process.env, ...(process.env.CNI_PATH || !binDir ? {} : { CNI_PATH: binDir }), ...pod };
  const out: string[] = [];
  const code = await runPlugin((await load()).info, {
    env, platform: process.platform, readStdin: () => Buffer.from(stdin), stdout: (t) => out.push(t), stderr: writeStderr,
  });
  return { code, stdout: out.join('') };
};
