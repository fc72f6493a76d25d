// The compartment library on the HNS emulator: one endpoint per pod, attached to its namespace;
// ADD undoes every step when any later one fails; DEL, CHECK, GC and STATUS.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEmulatorApi } from '../../../shared/hns/backends/emulator/index';
import { emulatorAdmin } from '../../../shared/hns/backends/emulator/admin';
import { HnsClient } from '../../../shared/hns/client';
import { Logger } from '../../../shared/log/logger';
import { CniError } from '../../../shared/cni/errors';
import type { HostComputeNetwork } from '../../../shared/hns/model/network';
import {
  addPodEndpoint as addUnchecked, assertNotAttached, checkPodEndpoint as checkFound, collectGarbage, deletePodEndpoint, findPodEndpoint, networkStatus,
  type EndpointRequest, type ExpectedAttachment, type PodContext, type PodRef, listRecords, readRecord,
} from '../../../shared/pod/index';

/** ADD as the verbs run it: the existence check under the pod lock, then the endpoint. */
async function addPodEndpoint(ctx: PodContext, ref: PodRef, net: HostComputeNetwork, request: EndpointRequest) {
  await assertNotAttached(ctx, ref);
  return addUnchecked(ctx, ref, net, request);
}

/** CHECK as the verbs run it: the endpoint by name, its network by ID, then the comparison. */
async function checkPodEndpoint(ctx: PodContext, ref: PodRef, net: HostComputeNetwork, want: ExpectedAttachment) {
  const { endpoint, network } = await findPodEndpoint(ctx, ref, ['L2Bridge']);
  return checkFound(endpoint, ref, net.Name === network.Name ? network : net, want);
}

interface Fixture {
  dir: string;
  ctx: PodContext;
  net: HostComputeNetwork;
  other: HostComputeNetwork;
  ns: string;
  ref: PodRef;
  cleanup(): void;
}

const SUBNET = (p: string) => ({ IpAddressPrefix: `${p}.0/24`, Routes: [{ NextHop: `${p}.1`, DestinationPrefix: '0.0.0.0/0' }] });

async function fixture(): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-test-'));
  const client = new HnsClient(createEmulatorApi({ dir: path.join(dir, 'hns') }), { callTimeoutMs: 5000 });
  const net = await client.createNetwork({ SchemaVersion: { Major: 2, Minor: 0 }, Name: 'cbr0', Type: 'L2Bridge', Ipams: [{ Type: 'Static', Subnets: [SUBNET('10.244.3')] }] });
  const other = await client.createNetwork({ SchemaVersion: { Major: 2, Minor: 0 }, Name: 'other', Type: 'L2Bridge', Ipams: [{ Type: 'Static', Subnets: [SUBNET('10.245.3')] }] });
  const ns = (await client.createNamespace({ SchemaVersion: { Major: 0, Minor: 0 } })).ID!;
  const ctx: PodContext = { client, stateDir: path.join(dir, 'state'), log: new Logger(null) };
  return { dir, ctx, net, other, ns, ref: { containerId: 'ctr-a1', ifName: 'eth0', network: 'cbr0', netns: ns }, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const REQUEST: EndpointRequest = {
  IpConfigurations: [{ IpAddress: '10.244.3.17', PrefixLength: 24 }],
  Routes: [{ DestinationPrefix: '0.0.0.0/0', NextHop: '10.244.3.2' }],
  Policies: [{ Type: 'OutBoundNAT', Settings: { Exceptions: ['10.244.0.0/16'] } }, { Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '', Flags: 1 } }],
};
const EXPECTED = { addresses: ['10.244.3.17/24'], gateways: ['10.244.3.2'], policies: REQUEST.Policies! };

function admin(f: Fixture) {
  return emulatorAdmin(path.join(f.dir, 'hns'));
}

function podEndpoints(f: Fixture) {
  return Object.values(admin(f).readState().endpoints as Record<string, { Name?: string; HostComputeNamespace?: string }>).filter((e) => e.Name === 'ctr-a1_cbr0');
}

async function rejects(p: Promise<unknown>, code: number, needle?: string): Promise<CniError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CniError, String(err));
    assert.is((err as CniError).code, code, (err as Error).message);
    if (needle) assert.match(`${(err as Error).message} ${(err as CniError).details ?? ''}`, needle);
    return err as CniError;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

test('add: one endpoint named <container>_<network>, in the namespace, recorded', async () => {
  const f = await fixture();
  try {
    const { endpoint } = await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    assert.is(endpoint.Name, 'ctr-a1_cbr0');
    assert.is(endpoint.HostComputeNamespace?.toLowerCase(), f.ns.toLowerCase());
    assert.equal(endpoint.IpConfigurations, [{ IpAddress: '10.244.3.17', PrefixLength: 24 }]);
    const ns = await f.ctx.client.getNamespaceById(f.ns);
    assert.equal(ns.Resources?.map((r) => r.Data.Id), [endpoint.ID]);
    assert.equal(readRecord(f.ctx.stateDir, 'cbr0', 'ctr-a1'), { ...readRecord(f.ctx.stateDir, 'cbr0', 'ctr-a1')!, containerId: 'ctr-a1', ifName: 'eth0', network: 'cbr0', endpointId: endpoint.ID });
  } finally {
    f.cleanup();
  }
});

test('add twice for the same container fails (102) and leaves the first attachment working', async () => {
  const f = await fixture();
  try {
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    await rejects(addPodEndpoint(f.ctx, f.ref, f.net, { ...REQUEST, IpConfigurations: [{ IpAddress: '10.244.3.18', PrefixLength: 24 }] }), 102, 'already attached');
    await rejects(addPodEndpoint(f.ctx, { ...f.ref, ifName: 'eth1' }, f.net, REQUEST), 102, 'eth0');
    await checkPodEndpoint(f.ctx, f.ref, f.net, EXPECTED);
    assert.is(podEndpoints(f).length, 1);
  } finally {
    f.cleanup();
  }
});

test('add into a namespace that does not exist: code 3, nothing left', async () => {
  const f = await fixture();
  try {
    await rejects(addPodEndpoint(f.ctx, { ...f.ref, netns: '11111111-2222-3333-4444-555555555555' }, f.net, REQUEST), 3, 'does not exist');
    assert.equal(podEndpoints(f), []);
    assert.equal(listRecords(f.ctx.stateDir, 'cbr0'), []);
  } finally {
    f.cleanup();
  }
});

test('add: a fault at each HCN call of ADD leaves no endpoint, no namespace entry, no record', async () => {
  const probe = await fixture();
  admin(probe).clearCalls();
  await addPodEndpoint(probe.ctx, probe.ref, probe.net, REQUEST);
  const ops = admin(probe).readCalls().map((c) => c.op);
  probe.cleanup();
  assert.ok(ops.includes('CreateEndpoint') && ops.includes('QueryEndpointProperties') && ops.includes('ModifyNamespace'), ops.join(','));
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.startsWith('Close')) continue; // a failed close is not an ADD failure (and has no record)
    const skip = ops.slice(0, i).filter((o) => o === op).length;
    const f = await fixture();
    try {
      await admin(f).setFaults([{ op, hr: 0x80004005, skip, count: 1 }]);
      try {
        await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
        assert.unreachable(`ADD succeeded with ${op} #${skip + 1} failing`);
      } catch (err) {
        assert.instance(err, CniError, `${op} #${skip + 1}: ${String(err)}`);
      }
      assert.equal(podEndpoints(f), [], `${op} #${skip + 1}: endpoint left`);
      const ns = await f.ctx.client.getNamespaceById(f.ns);
      assert.equal(ns.Resources ?? [], [], `${op} #${skip + 1}: namespace still lists it`);
      assert.equal(listRecords(f.ctx.stateDir, 'cbr0'), [], `${op} #${skip + 1}: record left`);
      assert.is(admin(f).readFaults()[0]!.count, 0, `${op} #${skip + 1}: the fault was met`);
    } finally {
      f.cleanup();
    }
  }
});

test('add reclaims an address held by a leaked endpoint of ours (its pod namespace gone), and names any other holder', async () => {
  const f = await fixture();
  try {
    // A pod whose DEL never came: its namespace is deleted, its endpoint still holds .17.
    const oldNs = (await f.ctx.client.createNamespace()).ID!;
    await addPodEndpoint(f.ctx, { ...f.ref, containerId: 'ctr-old', netns: oldNs }, f.net, REQUEST);
    await f.ctx.client.deleteNamespace(oldNs);
    const { endpoint } = await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    assert.equal(endpoint.IpConfigurations, [{ IpAddress: '10.244.3.17', PrefixLength: 24 }]);
    assert.equal((await f.ctx.client.listEndpoints()).map((e) => e.Name), ['ctr-a1_cbr0']);
    assert.equal(listRecords(f.ctx.stateDir, 'cbr0').map((r) => r.containerId), ['ctr-a1']);
    // A live pod's endpoint, or someone else's, is never taken: the error names it.
    const ns2 = (await f.ctx.client.createNamespace()).ID!;
    await rejects(addPodEndpoint(f.ctx, { ...f.ref, containerId: 'ctr-b', netns: ns2 }, f.net, REQUEST), 105, 'held by endpoint ctr-a1_cbr0');
    await rejects(addPodEndpoint(f.ctx, { ...f.ref, containerId: 'ctr-b', netns: ns2 }, f.net, { ...REQUEST, IpConfigurations: [{ IpAddress: '10.244.3.18', PrefixLength: 24 }] }), 105, 'host port');
    await f.ctx.client.createEndpoint(f.net.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, Name: 'kube-proxy-vip', IpConfigurations: [{ IpAddress: '10.244.3.30' }] });
    await rejects(addPodEndpoint(f.ctx, { ...f.ref, containerId: 'ctr-c', netns: ns2 }, f.net, { IpConfigurations: [{ IpAddress: '10.244.3.30', PrefixLength: 24 }] }), 105, 'kube-proxy-vip');
    assert.equal((await f.ctx.client.listEndpoints()).map((e) => e.Name).sort(), ['ctr-a1_cbr0', 'kube-proxy-vip']);
  } finally {
    f.cleanup();
  }
});

test('check: passes right after add, and names the first difference', async () => {
  const f = await fixture();
  try {
    const { endpoint } = await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    await checkPodEndpoint(f.ctx, f.ref, f.net, EXPECTED);
    await rejects(checkPodEndpoint(f.ctx, f.ref, f.net, { ...EXPECTED, addresses: ['10.244.3.17/24', '10.244.3.99/24'] }), 104, '10.244.3.99/24');
    await rejects(checkPodEndpoint(f.ctx, f.ref, f.net, { ...EXPECTED, gateways: ['10.244.3.1'] }), 104, 'default route via 10.244.3.1');
    await rejects(checkPodEndpoint(f.ctx, { ...f.ref, ifName: 'eth1' }, f.net, EXPECTED), 104, 'eth1');
    await rejects(checkPodEndpoint(f.ctx, f.ref, f.other, EXPECTED), 104, 'not on cbr0');
    await f.ctx.client.modifyEndpoint(endpoint.ID!, { ResourceType: 'Policy', RequestType: 'Remove', Settings: { Policies: [REQUEST.Policies![1]!] } });
    await rejects(checkPodEndpoint(f.ctx, f.ref, f.net, EXPECTED), 104, 'PortMapping');
    await f.ctx.client.removeNamespaceEndpoint(f.ns, endpoint.ID!);
    await rejects(checkPodEndpoint(f.ctx, f.ref, f.net, EXPECTED), 104, 'not in namespace');
    await f.ctx.client.deleteEndpoint(endpoint.ID!);
    await rejects(checkPodEndpoint(f.ctx, f.ref, f.net, EXPECTED), 104, 'does not exist');
  } finally {
    f.cleanup();
  }
});

test('del: detaches and deletes, twice is fine, and a namespace deleted first is tolerated', async () => {
  const f = await fixture();
  try {
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    const out = await deletePodEndpoint(f.ctx, f.ref);
    assert.is(out.removed.length, 1);
    assert.equal(podEndpoints(f), []);
    assert.equal(listRecords(f.ctx.stateDir, 'cbr0'), []);
    assert.equal((await deletePodEndpoint(f.ctx, f.ref)).removed, []);
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    await f.ctx.client.deleteNamespace(f.ns);
    await deletePodEndpoint(f.ctx, { ...f.ref, netns: '' });
    assert.equal(podEndpoints(f), []);
  } finally {
    f.cleanup();
  }
});

test('del for another interface of the container touches nothing', async () => {
  const f = await fixture();
  try {
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    const out = await deletePodEndpoint(f.ctx, { ...f.ref, ifName: 'eth1' });
    assert.is(out.otherInterface, 'eth0');
    await checkPodEndpoint(f.ctx, f.ref, f.net, EXPECTED);
  } finally {
    f.cleanup();
  }
});

test('del keeps trying: a failing detach does not stop the delete, and the error names what failed', async () => {
  const f = await fixture();
  try {
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    await admin(f).setFaults([{ op: 'ModifyNamespace', hr: 0x80004005, count: 1 }]);
    await rejects(deletePodEndpoint(f.ctx, f.ref), 106, 'detaching');
    assert.equal(podEndpoints(f), [], 'the endpoint was still deleted');
    assert.is(listRecords(f.ctx.stateDir, 'cbr0').length, 1, 'the record stays until DEL succeeds');
    await deletePodEndpoint(f.ctx, f.ref);
    assert.equal(listRecords(f.ctx.stateDir, 'cbr0'), []);
  } finally {
    f.cleanup();
  }
});

test('gc: removes this network\'s pod endpoints not in the valid list, and nothing else', async () => {
  const f = await fixture();
  try {
    const ns2 = (await f.ctx.client.createNamespace()).ID!;
    const ns3 = (await f.ctx.client.createNamespace()).ID!;
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    await addPodEndpoint(f.ctx, { ...f.ref, containerId: 'ctr-b', netns: ns2 }, f.net, { IpConfigurations: [{ IpAddress: '10.244.3.18', PrefixLength: 24 }] });
    await addPodEndpoint(f.ctx, { ...f.ref, containerId: 'ctr-c', network: 'other', netns: ns3 }, f.other, { IpConfigurations: [{ IpAddress: '10.245.3.18', PrefixLength: 24 }] });
    // Not ours: the host's bridge endpoint and an endpoint another tool named.
    await f.ctx.client.createEndpoint(f.net.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, Name: 'cbr0_ep', IpConfigurations: [{ IpAddress: '10.244.3.2' }] });
    await f.ctx.client.createEndpoint(f.net.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, Name: 'kube-proxy-vip', IpConfigurations: [{ IpAddress: '10.244.3.3' }] });
    const names = async () => (await f.ctx.client.listEndpoints()).map((e) => e.Name).sort();
    await collectGarbage(f.ctx, 'cbr0', [{ containerId: 'ctr-a1', ifName: 'eth0' }, { containerId: 'ctr-b', ifName: 'eth0' }]);
    assert.equal(await names(), ['cbr0_ep', 'ctr-a1_cbr0', 'ctr-b_cbr0', 'ctr-c_other', 'kube-proxy-vip']);
    await collectGarbage(f.ctx, 'cbr0', [{ containerId: 'ctr-a1', ifName: 'eth1' }]);
    assert.equal(await names(), ['cbr0_ep', 'ctr-c_other', 'kube-proxy-vip'], 'ctr-a1/eth1 does not protect ctr-a1/eth0');
    assert.equal(listRecords(f.ctx.stateDir, 'cbr0'), []);
    assert.is(listRecords(f.ctx.stateDir, 'other').length, 1);
  } finally {
    f.cleanup();
  }
});

test('status: ready with the network; 50 without it; 51 when pods are attached; 50 for the wrong type', async () => {
  const f = await fixture();
  try {
    await networkStatus(f.ctx, 'cbr0', ['L2Bridge']);
    await rejects(networkStatus(f.ctx, 'cbr0', ['Overlay']), 50, 'type L2Bridge');
    await rejects(networkStatus(f.ctx, 'missing', ['L2Bridge']), 50, 'does not exist');
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    await f.ctx.client.deleteNetwork(f.net.ID!);
    await rejects(networkStatus(f.ctx, 'cbr0', ['L2Bridge']), 51, '1 pod(s)');
    await admin(f).setFaults([{ op: 'EnumerateNetworks', hr: 0x800706ba }]);
    await rejects(networkStatus(f.ctx, 'other', ['L2Bridge']), 50, 'does not answer');
  } finally {
    f.cleanup();
  }
});

test('status: HNS dropping a pod\'s endpoint is 51; finding it out opens no endpoint, however many the network has (an overlay node holds thousands of remote ones)', async () => {
  const f = await fixture();
  try {
    await addPodEndpoint(f.ctx, f.ref, f.net, REQUEST);
    for (let i = 0; i < 40; i++) await f.ctx.client.createEndpoint(f.net.ID!, { SchemaVersion: { Major: 2, Minor: 0 }, Name: `remote-${i}`, Flags: 1, IpConfigurations: [{ IpAddress: `10.244.9.${i + 1}` }] });
    const opened: string[] = [];
    const api = f.ctx.client.api;
    const counting = new Proxy(api, { get: (t, k) => (k === 'openEndpoint' || k === 'queryEndpointProperties' ? (...a: unknown[]) => { opened.push(String(k)); return (t as any)[k](...a); } : (t as any)[k]) });
    const ctx: PodContext = { ...f.ctx, client: new HnsClient(counting, { callTimeoutMs: 5000 }) };
    await networkStatus(ctx, 'cbr0', ['L2Bridge']);
    assert.equal(opened, [], 'STATUS enumerates IDs only');
    const ep = podEndpoints(f)[0] as { ID?: string } | undefined;
    await admin(f).restartHns();
    assert.ok(ep, 'the pod had its endpoint');
    await rejects(networkStatus(ctx, 'cbr0', ['L2Bridge']), 51, 'lost their endpoint: ctr-a1');
    assert.equal(opened, []);
  } finally {
    f.cleanup();
  }
});

test.run();
