// The reconciler (shared/node/reconcile.ts) in-process on the HNS emulator and its host: what the
// record of owned routes and policies does across crashes and restarts, and what is never touched.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { parseAgentConfig, type AgentConfig } from '../../../shared/config/agent';
import { HnsClient } from '../../../shared/hns/client';
import { createEmulatorHostRoutes } from '../../../shared/host/backends/emulator';
import { NodeStateError } from '../../../shared/node/errors';
import type { Peer } from '../../../shared/node/peers';
import { NodeReconciler } from '../../../shared/node/reconcile';
import { RecordStore } from '../../../shared/node/records';
import { type Emu, withEmulator } from '../../helpers/emulator';

const ME = { podCIDRs: ['10.244.1.0/24'], nodeIPs: ['192.168.10.11'] };
const PEERS: Peer[] = [
  { name: 'b', nodeIPs: ['192.168.10.12'], podCIDRs: ['10.244.2.0/24'], vtepMac: '00-15-5D-D0-00-02' },
  { name: 'c', nodeIPs: ['192.168.10.13'], podCIDRs: ['10.244.3.0/24'], vtepMac: '00-15-5D-D0-00-03' },
];

function config(e: Emu, mode: string): AgentConfig {
  return parseAgentConfig(JSON.stringify({ mode, network: mode === 'win-overlay' ? 'vxlan0' : 'cbr0', node: 'a', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', confDir: path.join(e.dir, 'conf'), stateDir: path.join(e.dir, 'agent'), peers: { source: 'kubernetes' }, networkWaitSeconds: 1 }), path.join(e.dir, 'agent.json'), {}, 'linux');
}

function reconciler(e: Emu, mode = 'host-gateway') {
  const cfg = config(e, mode);
  const events: string[] = [];
  const records = new RecordStore(path.join(cfg.stateDir, `${cfg.network}.json`));
  const r = new NodeReconciler({ cfg, hns: new HnsClient(e.api), host: createEmulatorHostRoutes(e.dir), records, log: { event: (step) => events.push(step) } });
  return { r, records, cfg, events };
}

const netmgmt = async (e: Emu) => (await e.admin.hostRoutes()).filter((x) => x.Protocol === 'NetMgmt').map((x) => `${x.DestinationPrefix} via ${x.NextHop}`);

test('a record left "adding" by a crash: adopted if the route is there, dropped if it never was', () =>
  withEmulator(async (e) => {
    e.admin.updateConfig({ managementIp: '192.168.10.11' });
    const first = reconciler(e);
    await first.r.ensureNode(ME);
    await first.r.syncPeers(PEERS, 'full');
    const rec = first.records.load('cbr0', 'host-gateway').record;
    assert.equal(rec.routes.map((x) => [x.destinationPrefix, x.state]), [['10.244.2.0/24', 'added'], ['10.244.3.0/24', 'added']]);
    // As if the agent died between recording and making: one made, one not.
    rec.routes[0]!.state = 'adding';
    rec.routes.push({ ...rec.routes[1]!, destinationPrefix: '10.244.9.0/24', state: 'adding' });
    first.records.save(rec);
    e.admin.clearCalls();
    const second = reconciler(e);
    await second.r.ensureNode(ME);
    const report = await second.r.syncPeers(PEERS, 'full');
    assert.equal([report.added, report.removed], [0, 0], 'nothing made again, nothing removed');
    assert.equal(second.records.load('cbr0', 'host-gateway').record.routes.map((x) => [x.destinationPrefix, x.state]), [['10.244.2.0/24', 'added'], ['10.244.3.0/24', 'added']]);
    assert.equal(e.admin.readCalls().filter((c) => c.op === 'CreateIpForwardEntry2' || c.op === 'DeleteIpForwardEntry2'), []);
  }));

test('a record the agent cannot read is set aside and the one before it used: nothing of the agent\'s is lost, a departed peer\'s route still goes', () =>
  withEmulator(async (e) => {
    e.admin.updateConfig({ managementIp: '192.168.10.11' });
    const first = reconciler(e);
    await first.r.ensureNode(ME);
    await first.r.syncPeers(PEERS, 'full');
    fs.writeFileSync(first.records.file, '{"version":1,"rou');
    const second = reconciler(e);
    assert.ok(second.events.includes('record-damaged'), second.events.join(', '));
    await second.r.ensureNode(ME);
    const report = await second.r.syncPeers(PEERS.slice(0, 1), 'full');
    assert.is(report.removed, 1, 'the record before says the departed peer\'s route is ours');
    assert.equal(await netmgmt(e), ['10.244.2.0/24 via 192.168.10.12']);
    assert.is(second.records.load('cbr0', 'host-gateway').damaged, undefined, 'a whole record again');
    assert.ok(fs.readdirSync(path.dirname(first.records.file)).some((f) => f.startsWith('cbr0.json.damaged-')), 'the damaged one is kept aside');
  }));

test('record and its generation before damaged, the journal intact: the journal is the agent\'s proof, a departed peer\'s route still goes', () =>
  withEmulator(async (e) => {
    e.admin.updateConfig({ managementIp: '192.168.10.11' });
    const first = reconciler(e);
    await first.r.ensureNode(ME);
    await first.r.syncPeers(PEERS, 'full');
    assert.ok(fs.existsSync(first.records.journalFile), 'the confirmations of the first sync are journaled');
    for (const f of [first.records.file, `${first.records.file}.prev`]) fs.writeFileSync(f, '');
    const second = reconciler(e);
    assert.ok(second.events.includes('record-damaged'));
    await second.r.ensureNode(ME);
    const report = await second.r.syncPeers(PEERS.slice(0, 1), 'full');
    assert.is(report.removed, 1);
    assert.equal(await netmgmt(e), ['10.244.2.0/24 via 192.168.10.12']);
  }));

test('record, generation before and journal damaged: the routes exactly as desired are adopted, anything else is left alone', () =>
  withEmulator(async (e) => {
    e.admin.updateConfig({ managementIp: '192.168.10.11' });
    const first = reconciler(e);
    await first.r.ensureNode(ME);
    await first.r.syncPeers(PEERS, 'full');
    for (const f of [first.records.file, `${first.records.file}.prev`, first.records.journalFile]) fs.writeFileSync(f, '');
    const second = reconciler(e);
    await second.r.ensureNode(ME);
    const report = await second.r.syncPeers(PEERS.slice(0, 1), 'full');
    assert.equal([report.added, report.removed], [0, 0], 'nothing removed on the word of no record');
    assert.is(second.r.ownedRoutes, 1, 'the route still desired is adopted');
    assert.ok(second.events.includes('record-rebuilt'), second.events.join(', '));
    assert.equal(await netmgmt(e), ['10.244.2.0/24 via 192.168.10.12', '10.244.3.0/24 via 192.168.10.13']);
    const gone = await second.r.syncPeers([], 'full');
    assert.is(gone.removed, 1, 'the adopted one goes with its peer');
    assert.equal(await netmgmt(e), ['10.244.3.0/24 via 192.168.10.13']);
  }));

test('an event pass meets a route someone else made: conflict, not owned, never removed', () =>
  withEmulator(async (e) => {
    e.admin.updateConfig({ managementIp: '192.168.10.11' });
    const { r, records } = reconciler(e);
    const node = await r.ensureNode(ME);
    await r.syncPeers(PEERS.slice(0, 1), 'full');
    await e.admin.addHostRoute({ DestinationPrefix: '10.244.3.0/24', NextHop: '192.168.10.13', InterfaceIndex: node.uplink!.index });
    const report = await r.syncPeers(PEERS, 'event');
    assert.equal([report.added, report.foreign], [0, 1]);
    assert.equal(records.load('cbr0', 'host-gateway').record.routes.map((x) => x.destinationPrefix), ['10.244.2.0/24']);
    const gone = await r.syncPeers([], 'event');
    assert.is(gone.removed, 1);
    assert.equal(await netmgmt(e), ['10.244.3.0/24 via 192.168.10.13'], 'only the agent\'s own route was removed');
  }));

test('an existing host endpoint with another address is a conflict, never deleted', () =>
  withEmulator(async (e) => {
    e.admin.updateConfig({ managementIp: '192.168.10.11' });
    const { r } = reconciler(e, 'win-l2bridge');
    await r.ensureNode(ME);
    const st = e.admin.readState();
    const ep = Object.values(st.endpoints)[0]!;
    await e.admin.writeState({ ...st, endpoints: { [ep.ID!]: { ...ep, IpConfigurations: [{ IpAddress: '10.244.1.9', PrefixLength: 24 }] } } });
    try {
      await reconciler(e, 'win-l2bridge').r.ensureNode(ME);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, NodeStateError);
      assert.match((err as Error).message, /endpoint "cbr0_ep" on network "cbr0" holds 10\.244\.1\.9, not the host address\(es\) 10\.244\.1\.2/);
    }
    assert.is(Object.keys(e.admin.readState().endpoints).length, 1);
  }));

test('overlay: policies recorded on a network that was re-created are forgotten and made again on the new one', () =>
  withEmulator(async (e) => {
    const { r, records } = reconciler(e, 'win-overlay');
    const first = await r.ensureNode(ME);
    await r.syncPeers(PEERS, 'full');
    assert.is(records.load('vxlan0', 'win-overlay').record.policies.length, 2);
    await new HnsClient(e.api).deleteNetwork(first.networkId);
    const again = await r.ensureNode(ME);
    assert.not.equal(again.networkId, first.networkId);
    const report = await r.syncPeers(PEERS, 'full');
    assert.is(report.added, 2);
    assert.ok(records.load('vxlan0', 'win-overlay').record.policies.every((p) => p.networkId === again.networkId));
    assert.ok(fs.existsSync(path.join(e.dir, 'conf', '10-vxlan0.conflist')));
  }));

test.run();
