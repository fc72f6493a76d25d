// The Node list+watch loop (shared/kube/watch.ts) against a scripted API: resume from the last
// resourceVersion, relist on 410 (an ERROR event or the HTTP status), back off on errors, keep the
// cache through failures, and relist on the resync period.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeWatcher, type NodeApi, type NodeList, type WatchEvent } from '../../../shared/kube/watch';
import type { NodeObject } from '../../../shared/kube/nodes';
import { waitFor } from '../../helpers/wait';

const node = (name: string, rv: number, podCIDR = '10.244.1.0/24'): NodeObject => ({ metadata: { name, resourceVersion: String(rv) }, spec: { podCIDRs: [podCIDR] }, status: { addresses: [{ type: 'InternalIP', address: '192.168.10.1' }] } });

interface OpenWatch {
  rv: string;
  emit(e: WatchEvent): void;
  done(err: unknown): void;
  aborted: boolean;
}

class FakeApi implements NodeApi {
  listResult: NodeList | Error = { items: [], resourceVersion: '1' };
  lists = 0;
  watches: OpenWatch[] = [];
  watchFailure?: unknown;

  async list(): Promise<NodeList> {
    this.lists++;
    if (this.listResult instanceof Error) throw this.listResult;
    return this.listResult;
  }

  async watch(rv: string, onEvent: (e: WatchEvent) => void, onDone: (err: unknown) => void) {
    const w: OpenWatch = { rv, emit: onEvent, done: onDone, aborted: false };
    this.watches.push(w);
    if (this.watchFailure) {
      const err = this.watchFailure;
      setImmediate(() => onDone(err));
    }
    return { abort: () => (w.aborted = true) };
  }

  get current(): OpenWatch {
    return this.watches[this.watches.length - 1]!;
  }
}

const until = (what: string, check: () => boolean, ms = 2_000) => waitFor(what, check, ms, 2);

function watcher(api: FakeApi, opts: Partial<ConstructorParameters<typeof NodeWatcher>[2]> = {}) {
  const log: string[] = [];
  const w = new NodeWatcher(api, {
    onSync: (nodes, reason) => log.push(`sync ${reason} ${[...nodes.keys()].join(',')}`),
    onChange: (name, before, after) => log.push(`change ${name} ${before ? 'had' : 'new'} ${after ? 'now' : 'gone'}`),
    onError: (stage) => log.push(`error ${stage}`),
  }, { resyncMs: 60_000, backoffMs: [10, 40], random: () => 0.5, ...opts });
  return { w, log };
}

test('list, then watch from the list\'s resourceVersion; events update the cache and move the resourceVersion', async () => {
  const api = new FakeApi();
  api.listResult = { items: [node('a', 5), node('b', 6)], resourceVersion: '7' };
  const { w, log } = watcher(api);
  w.start();
  await until('watching', () => api.watches.length === 1);
  assert.is(api.current.rv, '7');
  assert.ok(w.synced);
  api.current.emit({ type: 'ADDED', object: node('c', 8) });
  api.current.emit({ type: 'MODIFIED', object: node('a', 9, '10.244.9.0/24') });
  api.current.emit({ type: 'DELETED', object: node('b', 10) });
  api.current.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } });
  assert.equal([...w.nodes.keys()].sort(), ['a', 'c']);
  assert.equal(w.nodes.get('a')!.podCIDRs, ['10.244.9.0/24']);
  assert.is(w.resourceVersion, '12');
  // The server ends the watch (its timeoutSeconds): resumed from the bookmark, no relist.
  api.current.done(null);
  await until('re-watched', () => api.watches.length === 2);
  assert.is(api.current.rv, '12');
  assert.is(api.lists, 1);
  assert.equal(log, ['sync initial a,b', 'change c new now', 'change a had now', 'change b had gone']);
  await w.stop();
  assert.ok(api.current.aborted, 'stop aborts the open watch');
});

test('410 Gone, as an ERROR event or as the HTTP status, means relist; the list replaces the cache', async () => {
  const api = new FakeApi();
  api.listResult = { items: [node('a', 5)], resourceVersion: '5' };
  const { w, log } = watcher(api);
  w.start();
  await until('watching', () => api.watches.length === 1);
  api.listResult = { items: [node('b', 20)], resourceVersion: '20' };
  api.current.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  await until('relisted', () => api.lists === 2 && api.watches.length === 2);
  assert.is(api.current.rv, '20');
  assert.equal([...w.nodes.keys()], ['b']);
  api.current.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
  await until('relisted again', () => api.lists === 3);
  assert.is(w.relists, 2);
  assert.ok(log.includes('sync gone b'));
  await w.stop();
});

test('an outage: errors back off, the cache is kept, and the watch resumes where it was', async () => {
  const api = new FakeApi();
  api.listResult = { items: [node('a', 5), node('b', 6)], resourceVersion: '6' };
  const { w, log } = watcher(api);
  w.start();
  await until('watching', () => api.watches.length === 1);
  api.watchFailure = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  api.current.done(api.watchFailure);
  await until('a few retries', () => api.watches.length >= 4);
  assert.equal([...w.nodes.keys()], ['a', 'b'], 'nothing forgotten');
  assert.ok(api.watches.every((x) => x.rv === '6'), 'every retry resumes from the last resourceVersion');
  assert.is(api.lists, 1, 'an outage is no reason to relist');
  // Every watch opened from here on stays open: the first of them must be the one the cache follows.
  api.watchFailure = undefined;
  const cleared = api.watches.length;
  await until('watching again', () => api.watches.length > cleared);
  const again = api.watches[cleared]!;
  assert.is(again.rv, '6', 'resumed from the last resourceVersion');
  again.emit({ type: 'ADDED', object: node('c', 7) });
  assert.equal([...w.nodes.keys()].sort(), ['a', 'b', 'c'], 'an event on the new watch reaches the cache');
  assert.is(w.resourceVersion, '7');
  assert.ok(log.includes('change c new now'));
  assert.not.ok(again.aborted, 'the new watch is still open');
  assert.is(api.watches.length, cleared + 1, 'and no other was opened');
  assert.ok(log.filter((l) => l === 'error watch').length >= 3);
  await w.stop();
});

test('a failed list keeps retrying with a backoff and never empties the cache', async () => {
  const api = new FakeApi();
  api.listResult = new Error('503');
  const { w, log } = watcher(api);
  w.start();
  await until('retries', () => api.lists >= 3);
  assert.not.ok(w.synced);
  api.listResult = { items: [node('a', 2)], resourceVersion: '2' };
  await until('synced', () => w.synced);
  assert.ok(log[0] === 'error list' && log.includes('sync initial a'));
  await w.stop();
});

test('the resync period relists while a watch is open', async () => {
  const api = new FakeApi();
  api.listResult = { items: [node('a', 2)], resourceVersion: '2' };
  const { w, log } = watcher(api, { resyncMs: 60 });
  w.start();
  await until('two resyncs', () => api.lists >= 3, 3_000);
  assert.ok(log.includes('sync resync a'));
  assert.ok(api.watches.slice(0, -1).every((x) => x.aborted), 'the open watch is ended for the relist');
  await w.stop();
});

test.run();
