// The store under failure: a call that died half-way through its commit, a journal cut off while
// it was written, a reader that meets a file a writer is rewriting, and whole-state edits.

import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readConfig } from '../../../../shared/hns/backends/emulator/config';
import { createEndpoint } from '../../../../shared/hns/backends/emulator/endpoints';
import { applyOps, JOURNAL, StoreTx, storeRoot, updateState, withStateLock } from '../../../../shared/hns/backends/emulator/store';
import type { HostComputeEndpoint } from '../../../../shared/hns/model/endpoint';
import { get, ids, mkEndpoint, mkNetwork, ok, query, V2, withEmulator } from '../../../helpers/emulator';

test('a call that died half-way through applying its changes is finished by the next call (journal replay)', () =>
  withEmulator(async ({ api, dir }) => {
    const net = await mkNetwork(api);
    const cfg = readConfig(dir);
    const tx = new StoreTx(storeRoot(dir), cfg);
    const ep = createEndpoint(tx, net.ID!, undefined, { SchemaVersion: V2, Name: 'half_cbr0' });
    const ops = tx.ops();
    assert.ok(ops.length > 4);
    fs.writeFileSync(path.join(storeRoot(dir), JOURNAL), JSON.stringify(ops));
    applyOps(storeRoot(dir), ops.slice(0, 2)); // ... and the process died here
    assert.equal(await ids(api.enumerateEndpoints(query({ Name: 'half_cbr0' }))), [ep.ID]);
    assert.equal(await ids(api.enumerateEndpoints(query({ VirtualNetwork: net.ID, IPAddress: '10.244.1.2' }))), [ep.ID]);
    assert.is(fs.readFileSync(path.join(storeRoot(dir), JOURNAL), 'utf8'), '', 'the journal is emptied');
    // The allocation the dead call made holds: the next endpoint gets the next address.
    assert.equal((await mkEndpoint(api, net.ID!, { Name: 'next' })).IpConfigurations, [{ IpAddress: '10.244.1.3', PrefixLength: 24 }]);
  }));

test('a journal cut off while it was written is dropped: nothing of that call happened', () =>
  withEmulator(async ({ api, dir }) => {
    const net = await mkNetwork(api);
    fs.writeFileSync(path.join(storeRoot(dir), JOURNAL), '[["obj/endpoint/7CC03AF7-2978-449F-9968-5958');
    assert.equal(await ids(api.enumerateEndpoints(query())), []);
    assert.equal((await mkEndpoint(api, net.ID!, { Name: 'a' })).IpConfigurations, [{ IpAddress: '10.244.1.2', PrefixLength: 24 }]);
  }));

test('a reader that meets a file being rewritten waits for the writer and reads the whole new text', () =>
  withEmulator(async ({ api, dir }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a' });
    const file = path.join(storeRoot(dir), 'obj', 'endpoint', `${ep.ID}.json`);
    const whole = fs.readFileSync(file, 'utf8');
    let release!: () => void;
    const held = withStateLock(dir, readConfig(dir), () => new Promise<void>((r) => {
      fs.writeFileSync(file, whole.slice(0, 40)); // a writer mid-way
      release = () => {
        fs.writeFileSync(file, whole);
        r();
      };
    }));
    await new Promise((r) => setTimeout(r, 20));
    const reading = get<HostComputeEndpoint>(api, 'Endpoint', ep.ID!);
    await new Promise((r) => setTimeout(r, 50));
    release();
    await held;
    assert.equal(await reading, ep);
  }));

test('a state lock left by a process killed while holding it does not block a synchronous read (readState)', () =>
  withEmulator(async ({ api, dir, admin }) => {
    await mkNetwork(api);
    // A holder that no longer exists: a pid above the kernel's limit is never alive.
    fs.writeFileSync(path.join(dir, 'state.lock'), JSON.stringify({ pid: 4_194_999, token: 'dead', created: Date.now() }));
    const s = admin.readState();
    assert.is(Object.keys(s.networks).length, 1);
    assert.not.ok(fs.existsSync(path.join(dir, 'state.lock')), 'the dead holder\'s lock is gone');
  }));

test('updateState edits objects behind the service\'s back and keeps the indexes right', () =>
  withEmulator(async ({ api, dir, admin }) => {
    const net = await mkNetwork(api);
    const ep = await mkEndpoint(api, net.ID!, { Name: 'a', Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6 } }] as never });
    const removed = await updateState(dir, readConfig(dir), (s) => {
      const e = s.endpoints[ep.ID!]!;
      e.Policies = [];
      e.Name = 'renamed';
      return 1;
    });
    assert.is(removed, 1);
    assert.equal(await ids(api.enumerateEndpoints(query({ Name: 'a' }))), []);
    assert.equal(await ids(api.enumerateEndpoints(query({ Name: 'renamed' }))), [ep.ID]);
    // The port it held is free.
    await mkEndpoint(api, net.ID!, { Name: 'b', Policies: [{ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6 } }] as never });
    await updateState(dir, readConfig(dir), (s) => {
      delete s.endpoints[ep.ID!];
    });
    assert.not.ok(admin.readState().endpoints[ep.ID!]);
    await ok(api.enumerateEndpoints(query()));
  }));

test.run();
