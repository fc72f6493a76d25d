// hnsctl: look at and change the HNS objects of this host, on the real service or the emulator.
// The entry stays small; the commands are in cli.ts. Output goes through file descriptors, not
// process.stdout (a net.Socket that breaks under Wine).

import { writeStderr, writeStdout } from '../../shared/cni/stdio';
import { openBackend } from '../../shared/hns/backend';
import { openHostRoutes } from '../../shared/host/backend';
import { readTextFile } from '../../shared/sys/text';
import { run } from './cli';

export function hnsctl(argv: string[]): Promise<number> {
  return run(argv, {
    openApi: () => openBackend(process.env, process.platform),
    openHost: () => openHostRoutes(process.env, process.platform),
    out: writeStdout,
    err: writeStderr,
    // PowerShell's UTF-16 files included (shared/sys/text.ts).
    readFile: readTextFile,
  });
}
