// hns-server: serves the HNS emulator to the HCN stand-in library (test/standin/hcnstandin.c),
// so the Windows .exe under Wine (or anything else loading the stand-in) talks to the emulator.
//
//   tsx tools/hns-server/main.ts [--port N] [--reports FILE]
//
// The emulator keeps its state in CNI_HNS_EMULATOR_DIR. The port is printed on stdout, alone on
// its line, once the server listens; point the stand-in at it with HCN_STANDIN_ADDR=127.0.0.1:<port>.
// --reports appends each counters report the Windows stand-in sends at unload, one JSON line each.
// SIGTERM / SIGINT stop it.

import fs from 'node:fs';
import type { HcnApi } from '../../shared/hns/api';
import { startHnsServer } from './server';

interface Args {
  port: number;
  reports?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { port: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--port') args.port = Number(value());
    else if (a === '--reports') args.reports = value();
    else throw new Error(`unknown argument ${a}; usage: hns-server [--port N] [--reports FILE]`);
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error(`--port ${args.port} is not a port`);
  return args;
}

/** The emulator, loaded only here so the server module itself serves any HcnApi. */
async function emulator(): Promise<HcnApi> {
  const dir = process.env.CNI_HNS_EMULATOR_DIR;
  if (!dir) throw new Error('CNI_HNS_EMULATOR_DIR is not set: the emulator needs a state folder');
  const { createEmulatorApi } = await import('../../shared/hns/backends/emulator/index');
  return createEmulatorApi({ dir });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const api = await emulator();
  const server = await startHnsServer({
    api,
    port: args.port,
    onReport: (r) => {
      if (args.reports) fs.appendFileSync(args.reports, `${JSON.stringify(r)}\n`);
    },
    onProblem: (m) => process.stderr.write(`hns-server: ${m}\n`),
  });
  fs.writeSync(1, `${server.port}\n`);
  const stop = async () => {
    await server.close();
    await api.dispose();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`hns-server: ${(err as Error).message}\n`);
  process.exit(1);
});
