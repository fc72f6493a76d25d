// A big node: kube-proxy keeps a remote endpoint (Flags 1) per pod of the cluster on the Overlay
// network, thousands of them, beside the node's ~110 pods. The calls a plugin makes on ADD, CHECK
// and DEL must not cost more there than on an empty node. Shown by counting the emulator's file
// work per call (files read and their bytes, existence checks, directory listings, writes) with
// 0 and with 5,000 remote endpoints; never by timing (timings belong to `npm run bench`).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Handle } from '../../../../shared/hns/api';
import { ZERO_GUID } from '../../../../shared/hns/api';
import { type IoCounters, ioCounters, resetIoCounters } from '../../../../shared/hns/backends/emulator/fsio';
import type { HostComputeEndpoint } from '../../../../shared/hns/model/endpoint';
import { type Emu, ids, mkNetwork, newEmulator, ok, query, V2 } from '../../../helpers/emulator';

const PODS = 110;
const REMOTE = 5_000;
const q = JSON.stringify({ SchemaVersion: V2 });

/** Runs `fn` and returns its result with the file work it did. */
async function counted<T>(fn: () => Promise<T>): Promise<[T, IoCounters]> {
  resetIoCounters();
  const v = await fn();
  return [v, ioCounters()];
}

/** The HCN calls of one pod's ADD, CHECK and DEL (as shared/pod makes them), with the work of each. */
async function podLifecycle(e: Emu, netName: string, pod: string): Promise<Record<string, IoCounters>> {
  const { api } = e;
  const work: Record<string, IoCounters> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const [v, c] = await counted(fn);
    work[name] = c;
    return v;
  };
  const [netId] = JSON.parse(await ok(step('EnumerateNetworks{Name}', () => api.enumerateNetworks(query({ Name: netName }))))) as string[];
  const hn = await ok(step('OpenNetwork', () => api.openNetwork(netId!)));
  await ok(step('QueryNetworkProperties', () => api.queryNetworkProperties(hn, q)));
  const ns = await ok(step('CreateNamespace', () => api.createNamespace(ZERO_GUID, JSON.stringify({ SchemaVersion: { Major: 0, Minor: 0 } }))));
  const nsId = (JSON.parse(await ok(api.queryNamespaceProperties(ns, q))) as { ID: string }).ID;
  const name = `${pod}_${netName}`;
  assert.equal(JSON.parse(await ok(step('EnumerateEndpoints{Name}', () => api.enumerateEndpoints(query({ Name: name }))))), []);
  // HNS assigns the address (no IpConfigurations); a host port mapping is checked host-wide.
  const doc = { SchemaVersion: V2, Name: name, HostComputeNetwork: netId, Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 30080, Protocol: 6 } }] };
  const he = await ok(step('CreateEndpoint(HNS IP, port mapping)', () => api.createEndpoint(hn, ZERO_GUID, JSON.stringify(doc))));
  const ep = JSON.parse(await ok(step('QueryEndpointProperties', () => api.queryEndpointProperties(he, q)))) as HostComputeEndpoint;
  // An IPAM-given address: the conflict check by address.
  const ip = ep.IpConfigurations![0]!.IpAddress!;
  const next = ip.replace(/\.(\d+)$/, (_m, d) => `.${Number(d) + 100}`);
  const h2 = await ok(step('CreateEndpoint(given IP)', () => api.createEndpoint(hn, ZERO_GUID, JSON.stringify({ SchemaVersion: V2, Name: `${name}-2`, IpConfigurations: [{ IpAddress: next }] }))));
  const ep2 = JSON.parse(await ok(api.queryEndpointProperties(h2, q))) as HostComputeEndpoint;
  await ok(api.closeEndpoint(h2));
  const attach = JSON.stringify({ ResourceType: 'Endpoint', RequestType: 'Add', Settings: { EndpointId: ep.ID } });
  await ok(step('ModifyNamespace(add endpoint)', () => api.modifyNamespace(ns, attach)));
  await ok(step('ModifyEndpoint(add policy)', () => api.modifyEndpoint(he, JSON.stringify({ ResourceType: 'Policy', RequestType: 'Add', Settings: { Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 81, ExternalPort: 30081, Protocol: 6 } }] } }))));
  await ok(step('CloseEndpoint', () => api.closeEndpoint(he)));
  // CHECK: by name, then by address on the network.
  const found = JSON.parse(await ok(step('EnumerateEndpoints{Name} (CHECK)', () => api.enumerateEndpoints(query({ Name: name }))))) as string[];
  assert.equal(found, [ep.ID]);
  const byIp = JSON.parse(await ok(step('EnumerateEndpoints{VirtualNetwork,IPAddress}', () => api.enumerateEndpoints(query({ VirtualNetwork: netId, IPAddress: ip }))))) as string[];
  assert.equal(byIp, [ep.ID]);
  const h3 = (await ok(step('OpenEndpoint', () => api.openEndpoint(ep.ID!)))) as Handle;
  await ok(step('QueryEndpointProperties (CHECK)', () => api.queryEndpointProperties(h3, q)));
  await ok(api.closeEndpoint(h3));
  // DEL.
  const detach = JSON.stringify({ ResourceType: 'Endpoint', RequestType: 'Remove', Settings: { EndpointId: ep.ID } });
  await ok(step('ModifyNamespace(remove endpoint)', () => api.modifyNamespace(ns, detach)));
  await ok(step('DeleteEndpoint', () => api.deleteEndpoint(ep.ID!)));
  await ok(api.deleteEndpoint(ep2.ID!));
  await ok(api.closeNamespace(ns));
  await ok(step('DeleteNamespace', () => api.deleteNamespace(nsId)));
  await ok(api.closeNetwork(hn));
  return work;
}

test(`a plugin's calls do the same file work with 0 and with ${REMOTE} remote endpoints (plus ${PODS} pods)`, async () => {
  const e = newEmulator({ callLog: false });
  try {
    const net = await mkNetwork(e.api, {
      SchemaVersion: V2, Name: 'vxlan0', Type: 'Overlay',
      Ipams: [{ Subnets: [{ IpAddressPrefix: '10.244.3.0/24', Routes: [{ NextHop: '10.244.3.1', DestinationPrefix: '0.0.0.0/0' }] }] }],
    });
    // The node's pods, through the API as the plugin makes them.
    const hn = await ok(e.api.openNetwork(net.ID!));
    for (let i = 0; i < PODS; i++) {
      const h = await ok(e.api.createEndpoint(hn, ZERO_GUID, JSON.stringify({ SchemaVersion: V2, Name: `pod${i}_vxlan0` })));
      await ok(e.api.closeEndpoint(h));
    }
    await ok(e.api.closeNetwork(hn));

    const small = await podLifecycle(e, 'vxlan0', 'first');
    await e.admin.addRemoteEndpoints(net.ID!, REMOTE, { firstIp: '10.244.4.2' });
    assert.is((await ids(e.api.enumerateEndpoints(query({ VirtualNetwork: net.ID })))).length, PODS + REMOTE);
    const big = await podLifecycle(e, 'vxlan0', 'second');

    assert.equal(Object.keys(big), Object.keys(small));
    for (const [call, a] of Object.entries(small)) {
      const b = big[call]!;
      const what = `${call}: ${JSON.stringify(a)} with 0 remote endpoints, ${JSON.stringify(b)} with ${REMOTE}`;
      assert.is(b.reads, a.reads, `files read: ${what}`);
      assert.is(b.stats, a.stats, `existence checks: ${what}`);
      assert.is(b.listings, a.listings, `directory listings: ${what}`);
      assert.is(b.namesListed, a.namesListed, `names listed: ${what}`);
      assert.is(b.writes + b.removes, a.writes + a.removes, `files written or removed: ${what}`);
      // The same files, whose content differs only in counters (a creation number with more digits).
      assert.ok(b.bytesRead <= a.bytesRead + 64, `bytes read: ${what}`);
      assert.ok(b.bytesWritten <= a.bytesWritten + 64, `bytes written: ${what}`);
    }
    if (process.env.EMULATOR_SCALE_REPORT) {
      for (const [call, a] of Object.entries(small)) process.stderr.write(`${call.padEnd(46)} reads ${a.reads}/${big[call]!.reads}  bytes ${a.bytesRead}/${big[call]!.bytesRead}  stats ${a.stats}/${big[call]!.stats}  writes ${a.writes}/${big[call]!.writes}\n`);
    }
  } finally {
    e.cleanup();
  }
});

test('the whole-state view (readState, unfiltered Enumerate) still sees every object, in creation order', async () => {
  const e = newEmulator({ callLog: false });
  try {
    const net = await mkNetwork(e.api);
    const made = await e.admin.addRemoteEndpoints(net.ID!, 300, { firstIp: '10.250.0.1', batch: 128 });
    assert.equal(await ids(e.api.enumerateEndpoints(query())), made);
    assert.equal(Object.keys(e.admin.readState().endpoints), made);
    const one = e.admin.readState().endpoints[made[299]!]!;
    assert.equal(one.IpConfigurations, [{ IpAddress: '10.250.1.44' }], 'outside the local subnet: no prefix length added');
    assert.is(one.Flags, 1);
    assert.is(one.MacAddress, '02-11-0A-FA-01-2C');
  } finally {
    e.cleanup();
  }
});

test.run();
