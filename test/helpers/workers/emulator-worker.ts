// One "pod" against a shared emulator directory, as a plugin process would run it: a namespace,
// two endpoints, one attached and one deleted again. Prints what it made as one JSON line.

import fs from 'node:fs';
import { createEmulatorApi } from '../../../shared/hns/backends/emulator/index';
import { HnsClient } from '../../../shared/hns/client';

async function main(): Promise<void> {
  const [dir, networkId, index] = process.argv.slice(2);
  const api = createEmulatorApi({ dir: dir! });
  const client = new HnsClient(api);
  const v2 = { Major: 2, Minor: 0 };
  const ns = await client.createNamespace({ SchemaVersion: { Major: 0, Minor: 0 } });
  const keep = await client.createEndpoint(networkId!, { SchemaVersion: v2, Name: `keep${index}_cbr0` });
  const temp = await client.createEndpoint(networkId!, { SchemaVersion: v2, Name: `temp${index}_cbr0` });
  await client.addNamespaceEndpoint(ns.ID!, keep.ID!);
  await client.deleteEndpoint(temp.ID!);
  fs.writeSync(1, `${JSON.stringify({ namespace: ns.ID, endpoint: keep.ID, ip: keep.IpConfigurations?.[0]?.IpAddress, handles: api.openHandleCount() })}\n`);
}

main().catch((err) => {
  fs.writeSync(2, `${(err as Error).stack}\n`);
  process.exit(1);
});
