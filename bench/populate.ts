// npm run bench helper: fills an emulator directory with remote endpoints on a network, as
// kube-proxy does on a big overlay cluster (one per remote pod), through the emulator's bulk path.
//
//   node --import tsx bench/populate.ts <emulator dir> <network name> <count>

import { emulatorAdmin } from '../shared/hns/backends/emulator/admin';

async function main(): Promise<void> {
  const [dir, network, count] = process.argv.slice(2);
  if (!dir || !network || !count) throw new Error('usage: populate.ts <emulator dir> <network name> <count>');
  const admin = emulatorAdmin(dir);
  const net = Object.values(admin.readState().networks).find((n) => n.Name === network);
  if (!net) throw new Error(`no network ${network} in ${dir}`);
  await admin.addRemoteEndpoints(net.ID!, Number(count), { firstIp: '10.128.0.2' });
}

main().catch((err) => {
  process.stderr.write(`populate: ${(err as Error).message}\n`);
  process.exit(1);
});
