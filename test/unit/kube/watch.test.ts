// The Node list+watch loop (shared/kube/watch.ts) against a scripted API: resume from the last
// resourceVersion, relist on 410 (an ERROR event or the HTTP status), back off on errors, keep the
// cache through failures, relist on the resync period, the streaming list and its fallback,
// paginated lists whose continue token expires, and heartbeats that go no further than the cache.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type ListOptions, NodeWatcher, type NodeApi, type WatchEvent, type WatchOptions } from '../../../shared/kube/watch';
import type { NodeObject } from '../../../shared/kube/nodes';
import { flannelKeys } from '../../../shared/kube/annotations';
import { waitFor } from '../../helpers/wait';

const node = (name: string, rv: number, podCIDR = '10.244.1.0/24'): NodeObject => ({ metadata: { name, resourceVersion: String(rv) }, spec: { podCIDRs: [podCIDR] }, status: { addresses: [{ type: 'InternalIP', address: '192.168.10.1' }] } });

interface NodeList {
  items: NodeObject[];
  resourceVersion: string;
}

interface OpenWatch {
  rv: string;
  options: WatchOptions;
  emit(e: WatchEvent): void;
  done(err: unknown): void;
  aborted: boolean;
}

class FakeApi implements NodeApi {
  listResult: NodeList | Error = { items: [], resourceVersion: '1' };
  /** Lists (first pages) and every page request. */
  lists = 0;
  pages: ListOptions[] = [];
  /** Serve pages of this many items (continue = the next index). */
  pageSize = 0;
  /** The next continue request fails with 410. */
  expireContinue = false;
  watches: OpenWatch[] = [];
  watchFailure?: unknown;

  async list(o: ListOptions, onItem: (item: unknown) => void) {
    this.pages.push(o);
    if (!o.continue) this.lists++;
    if (this.listResult instanceof Error) throw this.listResult;
    if (o.continue && this.expireContinue) {
      this.expireContinue = false;
      throw Object.assign(new Error('The provided continue parameter is too old'), { statusCode: 410 });
    }
    const from = Number(o.continue ?? 0);
    const to = this.pageSize ? Math.min(from + this.pageSize, this.listResult.items.length) : this.listResult.items.length;
    for (const item of this.listResult.items.slice(from, to)) onItem(JSON.parse(JSON.stringify(item)));
    return { resourceVersion: this.listResult.resourceVersion, ...(to < this.listResult.items.length ? { continue: String(to) } : {}) };
  }

  async watch(options: WatchOptions, onEvent: (e: WatchEvent) => void, onDone: (err: unknown) => void) {
    const w: OpenWatch = { rv: options.resourceVersion, options, emit: onEvent, done: onDone, aborted: false };
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
    onSync: (nodes, reason, how) => log.push(`sync ${reason}${how === 'watch-list' ? ' (watch-list)' : ''} ${[...nodes.keys()].join(',')}`),
    onChange: (name, before, after) => log.push(`change ${name} ${before ? 'had' : 'new'} ${after ? 'now' : 'gone'}`),
    onUnchanged: () => log.push('unchanged'),
    onError: (stage) => log.push(`error ${stage}`),
    onFallback: () => log.push('fallback'),
  }, { resyncMs: 60_000, keys: flannelKeys(), backoffMs: [10, 40], relistSpreadMs: [0, 0], random: () => 0.5, watchList: false, ...opts });
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

test('the first list is paged at resourceVersion 0; a continue token that expires mid-list restarts it from page one, consistent', async () => {
  const api = new FakeApi();
  api.pageSize = 2;
  api.listResult = { items: ['a', 'b', 'c', 'd', 'e'].map((n, i) => node(n, i + 1)), resourceVersion: '9' };
  api.expireContinue = true;
  const { w, log } = watcher(api, { pageSize: 2 });
  w.start();
  await until('watching', () => api.watches.length === 1);
  assert.equal(api.pages, [
    { resourceVersion: '0', limit: 2 },
    { continue: '2', limit: 2 },
    { resourceVersion: '', limit: 2 },
    { continue: '2', limit: 2 },
    { continue: '4', limit: 2 },
  ]);
  assert.equal(log, ['sync initial a,b,c,d,e'], 'one sync, with every Node once');
  assert.is(api.current.rv, '9');
  await w.stop();
});

test('the streaming list: initial events, the initial-events-end bookmark, then the same watch goes on', async () => {
  const api = new FakeApi();
  const { w, log } = watcher(api, { watchList: true });
  w.start();
  await until('watching', () => api.watches.length === 1);
  assert.equal(api.current.options, { resourceVersion: '', timeoutSeconds: 450, sendInitialEvents: true });
  api.current.emit({ type: 'ADDED', object: node('a', 3) });
  api.current.emit({ type: 'ADDED', object: node('b', 4) });
  assert.not.ok(w.synced, 'not synced before the bookmark');
  api.current.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '5', annotations: { 'k8s.io/initial-events-end': 'true' } } } });
  assert.ok(w.synced && w.watchListSupported);
  assert.is(w.resourceVersion, '5');
  api.current.emit({ type: 'MODIFIED', object: node('a', 6, '10.244.6.0/24') });
  assert.equal(log, ['sync initial (watch-list) a,b', 'change a had now']);
  assert.is(api.lists, 0, 'no list');
  assert.is(api.watches.length, 1, 'one request for the list and the watch');
  // Once it ends, the watch is resumed as a plain one.
  api.current.done(null);
  await until('re-watched', () => api.watches.length === 2);
  assert.equal(api.current.options, { resourceVersion: '6', timeoutSeconds: 450 });
  await w.stop();
});

test('a server without the streaming list (a 4xx, or a bookmark without the annotation): a paged list, and never tried again', async () => {
  for (const refuse of ['status', 'bookmark'] as const) {
    const api = new FakeApi();
    api.listResult = { items: [node('a', 2)], resourceVersion: '2' };
    const { w, log } = watcher(api, { watchList: true });
    w.start();
    await until('asked for the streaming list', () => api.watches.length === 1);
    if (refuse === 'status') api.current.done(Object.assign(new Error('Unprocessable Entity'), { statusCode: 422 }));
    else api.current.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '2' } } });
    await until('listed and watching', () => api.lists === 1 && api.watches.length === 2);
    assert.equal(api.pages[0], { resourceVersion: '0', limit: 500 });
    assert.not.ok(api.current.options.sendInitialEvents);
    assert.equal(log, ['fallback', 'sync initial a'], refuse);
    // A 410 now relists with a list, not the streaming list.
    api.current.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    await until('relisted', () => api.lists === 2 && api.watches.length === 3);
    assert.not.ok(api.current.options.sendInitialEvents);
    assert.is(w.watchListSupported, false);
    await w.stop();
  }
});

test('heartbeats (status, labels, other annotations) stop at the cache; a relevant change goes on', async () => {
  const api = new FakeApi();
  api.listResult = { items: [node('a', 2)], resourceVersion: '2' };
  const { w, log } = watcher(api);
  w.start();
  await until('watching', () => api.watches.length === 1);
  for (let i = 0; i < 100; i++) {
    const hb = { ...node('a', 3 + i), status: { addresses: [{ type: 'InternalIP', address: '192.168.10.1' }], conditions: [{ type: 'Ready', lastHeartbeatTime: `t${i}` }] } } as NodeObject;
    (hb.metadata as { annotations?: Record<string, string> }).annotations = { 'node.alpha.kubernetes.io/ttl': String(i) };
    api.current.emit({ type: 'MODIFIED', object: hb });
  }
  assert.is(w.resourceVersion, '102', 'the resourceVersion still moves');
  api.current.emit({ type: 'MODIFIED', object: node('a', 103, '10.244.7.0/24') });
  assert.equal(log.filter((l) => l !== 'unchanged'), ['sync initial a', 'change a had now']);
  assert.is(log.filter((l) => l === 'unchanged').length, 100);
  await w.stop();
});

test('a relist after 410 waits a random part of ~1 ms per Node known; retries wait in [d, 2d)', async () => {
  const api = new FakeApi();
  api.listResult = { items: Array.from({ length: 300 }, (_, i) => node(`n${i}`, i + 1)), resourceVersion: '400' };
  const { w } = watcher(api, { relistSpreadMs: [1, 30_000], random: () => 0.9 });
  w.start();
  await until('watching', () => api.watches.length === 1);
  const t0 = performance.now();
  api.current.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  await until('relisted', () => api.lists === 2, 3_000);
  const waited = performance.now() - t0;
  assert.ok(waited >= 260, `0.9 x 300 Nodes x 1 ms = 270 ms, waited ${waited.toFixed(0)} ms`);
  await w.stop();
});

test.run();
