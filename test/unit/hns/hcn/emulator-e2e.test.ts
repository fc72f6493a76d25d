// End to end through every layer the Windows build uses, with the emulator as the service:
//   HnsClient -> hcn adapter (koffi) -> libhcnstandin.so -> TCP -> hns-server -> emulator

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEmulatorApi } from '../../../../shared/hns/backends/emulator/index';
import { createHcnApi } from '../../../../shared/hns/backends/hcn/index';
import { HnsClient } from '../../../../shared/hns/client';
import { HnsConflictError, HnsNotFoundError } from '../../../../shared/hns/errors';
import { counters, LIBRARIES, serve, since } from './harness';

const V2 = { Major: 2, Minor: 0 };

test('create network, namespace and endpoint, attach, detach and delete, through the stand-in into the emulator', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcn-e2e-'));
  const emulator = createEmulatorApi({ dir });
  const server = await serve(emulator);
  const api = await createHcnApi({ env: {}, libraries: LIBRARIES() });
  const client = new HnsClient(api);
  const before = counters();
  const serverHandles = server.openHandles(); // other test files share this server

  const net = await client.createNetwork({
    Name: 'cbr0 → 世界',
    Type: 'L2Bridge',
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: '10.244.1.0/24', Routes: [{ NextHop: '10.244.1.1', DestinationPrefix: '0.0.0.0/0' }] }] }],
    SchemaVersion: V2,
  });
  assert.match(net.ID!, /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
  assert.is((await client.getNetworkByName('cbr0 → 世界')).ID, net.ID);
  try {
    await client.createNetwork({ Name: 'cbr0 → 世界', Type: 'L2Bridge', SchemaVersion: V2 });
    assert.unreachable('a second network of the same name');
  } catch (err) {
    assert.instance(err, HnsConflictError);
    assert.match((err as Error).message, /0x803B0010/);
  }

  const ns = await client.createNamespace();
  const ep = await client.createEndpoint(net.ID!, { Name: 'ctr1_cbr0', IpConfigurations: [{ IpAddress: '10.244.1.5', PrefixLength: 24 }], SchemaVersion: V2 });
  assert.is(ep.HostComputeNetwork?.toUpperCase(), net.ID);
  await client.addNamespaceEndpoint(ns.ID!, ep.ID!);
  const attached = await client.getNamespaceById(ns.ID!);
  assert.ok(JSON.stringify(attached.Resources ?? []).toUpperCase().includes(ep.ID!.toUpperCase()), JSON.stringify(attached));

  await client.removeNamespaceEndpoint(ns.ID!, ep.ID!);
  await client.deleteEndpoint(ep.ID!);
  await client.deleteNamespace(ns.ID!);
  await client.deleteNetwork(net.ID!);
  try {
    await client.getNetworkById(net.ID!);
    assert.unreachable('the network is gone');
  } catch (err) {
    assert.instance(err, HnsNotFoundError);
  }
  try {
    await client.deleteEndpoint(ep.ID!);
    assert.unreachable('the endpoint is gone');
  } catch (err) {
    assert.instance(err, HnsNotFoundError);
  }

  const d = since(before);
  assert.is(d.badFrees, 0);
  assert.is(d.stringsFreed, d.stringsAllocated);
  assert.is(d.handlesClosed, d.handlesOpened);
  assert.is(emulator.openHandleCount(), 0, 'the emulator holds no open handle');
  assert.is(server.openHandles(), serverHandles);
  await api.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
