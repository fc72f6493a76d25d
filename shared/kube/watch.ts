// A list+watch of Nodes, by the rules of client-go's reflector (kubernetes/client-go
// tools/cache/reflector.go: ListAndWatch, watchList, list, watch) and of the Kubernetes API
// concepts page (kubernetes/website content/en/docs/reference/using-api/api-concepts.md:
// "Efficient detection of changes", "Retrieving large results sets in chunks", "Streaming lists",
// "Semantics for get and list"):
//
//   - the Nodes are first read with the streaming list where the server has it (a watch with
//     sendInitialEvents=true and resourceVersionMatch=NotOlderThan: the Nodes as ADDED events,
//     then a BOOKMARK annotated k8s.io/initial-events-end, then the same watch goes on); a server
//     that refuses it (kube-apiserver without the WatchList feature answers 4xx) or ignores it (a
//     bookmark without the annotation, or none in time) gets a list instead, for the rest of the
//     process;
//   - a list is read in pages (limit 500, continue) with resourceVersion=0 the first time (served
//     from the API server's watch cache, as informers do), at the last resourceVersion seen on a
//     relist (not older than what the agent has; without limit, so the watch cache can serve it,
//     unless the server paginated the first list); `410 Gone` on a continue token (it expires,
//     5 minutes by default) or on the resourceVersion restarts the list from its first page with
//     resourceVersion "" (a consistent read), the pages gathered so far discarded;
//   - the watch resumes from the last resourceVersion seen (events and bookmarks) with a random
//     server-side timeout of 5-10 minutes; `410 Gone` (an ERROR event or the HTTP status) means
//     relist; errors back off 0.8 s doubling to 30 s, each wait in [d, 2d) (the reflector's
//     backoff manager, jitter 1.0);
//   - relists after a 410 wait a random part of ~1 ms per Node known (at most 30 s), so the
//     agents of a 5,000-node cluster, whose watches an API server restart ends all at once, do
//     not relist at the same instant; the periodic relist (resyncMs) is drawn in [1, 1.5) x resyncMs.
//
// Every Node is trimmed to what the agent uses as it is decoded (nodes.ts); an event whose
// trimmed Node equals the cached one (kubelet's status heartbeats) goes no further than that
// comparison. An API error or outage never empties the cache: the agent keeps acting on the last
// Nodes it knew, and the cache is replaced only by a list (or streaming list) that completed.
//
// The API is behind a small interface (NodeApi) so the loop is tested without a server; the
// implementation on @kubernetes/client-node is client.ts.

import type { FlannelKeys } from './annotations';
import type { ListMeta } from './list-stream';
import { nodeInfo, type NodeInfo, type NodeObject, sameForAgent } from './nodes';

export interface ListOptions {
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  resourceVersion: string;
  timeoutSeconds: number;
  /** The streaming list: initial events, then the k8s.io/initial-events-end bookmark. */
  sendInitialEvents?: boolean;
}

export interface WatchEvent {
  type: string;
  object: unknown;
}

export interface WatchHandle {
  abort(): void;
}

export interface NodeApi {
  /** One page; each item is handed to `onItem` as it is decoded. */
  list(options: ListOptions, onItem: (item: unknown) => void): Promise<ListMeta>;
  /** Starts a watch; `onDone` is called once, with the error if it failed or null when the server ended it. */
  watch(options: WatchOptions, onEvent: (e: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle>;
}

/** The HTTP status of a failed API call, when it has one (the client library puts it in different fields). */
export function httpStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; status?: unknown } | undefined;
  for (const v of [e?.code, e?.statusCode, e?.status]) if (typeof v === 'number') return v;
  return undefined;
}

export type SyncReason = 'initial' | 'resync' | 'gone';

export interface WatcherHooks {
  /** After each successful list or streaming list: the whole cache. */
  onSync?(nodes: ReadonlyMap<string, NodeInfo>, reason: SyncReason, how: 'watch-list' | 'list'): void;
  /** After each watch event that changed what the agent uses of a Node (after is undefined when it was deleted). */
  onChange?(name: string, before: NodeInfo | undefined, after: NodeInfo | undefined): void;
  /** A watch event that changed nothing the agent uses (a heartbeat, a label). */
  onUnchanged?(): void;
  /** A failed list or watch (the loop retries). */
  onError?(stage: 'list' | 'watch', err: unknown, retryInMs: number): void;
  /** The server has no streaming list: lists from now on. */
  onFallback?(err: unknown): void;
  /** Every request's outcome, for metrics. */
  onRequest?(verb: 'list' | 'watch' | 'watch-list', outcome: 'ok' | 'error' | 'gone'): void;
}

export interface WatcherOptions {
  resyncMs: number;
  keys: FlannelKeys;
  /** First and largest retry delay (each wait is drawn in [d, 2d)). */
  backoffMs?: [first: number, max: number];
  /** A watch that delivered nothing (not even a bookmark) for this long is given up and resumed. */
  idleMs?: number;
  /** Try the streaming list first (default true). */
  watchList?: boolean;
  /** How long a streaming list may take to reach its k8s.io/initial-events-end bookmark. */
  initialEventsMs?: number;
  pageSize?: number;
  /** The relist spread per Node known, and its cap. */
  relistSpreadMs?: [perNode: number, max: number];
  random?: () => number;
}

const GONE = 410;
const TOO_MANY_REQUESTS = 429;
export const PAGE_SIZE = 500;
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/**
 * The Nodes, read a page at a time and trimmed as each item is decoded. A `410 Gone` (an expired
 * continue token, or a resourceVersion the server no longer has) restarts the list once from its
 * first page with resourceVersion "" (a consistent read), as the reflector does.
 */
export async function listNodes(api: NodeApi, keys: FlannelKeys, options: { resourceVersion: string; limit?: number }, onPage?: (outcome: 'ok' | 'error' | 'gone') => void): Promise<{ nodes: Map<string, NodeInfo>; resourceVersion: string; pages: number; restarted: boolean }> {
  let rv = options.resourceVersion;
  let restarted = false;
  for (;;) {
    const nodes = new Map<string, NodeInfo>();
    const keep = (item: unknown) => {
      const n = nodeInfo(item as NodeObject, keys);
      if (n) nodes.set(n.name, n);
    };
    let next: string | undefined;
    let pages = 0;
    let meta: ListMeta;
    try {
      do {
        meta = await api.list({ ...(next ? { continue: next } : { resourceVersion: rv }), ...(options.limit ? { limit: options.limit } : {}) }, keep);
        onPage?.('ok');
        pages++;
        next = meta.continue;
      } while (next);
      return { nodes, resourceVersion: meta.resourceVersion, pages, restarted };
    } catch (err) {
      const gone = httpStatus(err) === GONE;
      onPage?.(gone ? 'gone' : 'error');
      if (!gone || restarted) throw err;
      restarted = true;
      rv = '';
    }
  }
}

export class NodeWatcher {
  readonly nodes = new Map<string, NodeInfo>();
  /** Counts changes to `nodes` (a Node set, deleted, or the cache replaced): what was derived from the cache at one count still holds. */
  changes = 0;
  /** A list has succeeded at least once. */
  synced = false;
  resourceVersion = '';
  relists = 0;
  /** Whether the server has the streaming list: undefined until tried. */
  watchListSupported: boolean | undefined;
  private stopped = false;
  private running?: Promise<void>;
  private failures = 0;
  private wake?: () => void;
  private current?: { handle?: WatchHandle; end: (r: WatchEndKind) => void };
  private nextResync = 0;
  /** The server paginated a resourceVersion=0 list: its watch cache is off, keep paging relists. */
  private paginated = false;
  /** The last resourceVersion is too old for the server: the next read is a consistent one. */
  private rvUnavailable = false;

  constructor(private readonly api: NodeApi, private readonly hooks: WatcherHooks, private readonly opts: WatcherOptions) {
    if (opts.watchList === false) this.watchListSupported = false;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.end({ kind: 'stopped' });
    this.wake?.();
    await this.running;
  }

  private random(): number {
    return (this.opts.random ?? Math.random)();
  }

  private backoff(): number {
    const [first, max] = this.opts.backoffMs ?? [800, 30_000];
    const base = Math.min(max, first * 2 ** Math.min(this.failures, 20));
    this.failures++;
    return Math.round(base * (1 + this.random()));
  }

  /** The wait before a relist, spread over ~1 ms per Node known (the cluster's number of agents, at most). */
  private relistSpread(): number {
    const [perNode, max] = this.opts.relistSpreadMs ?? [1, 30_000];
    return Math.round(this.random() * Math.min(max, this.nodes.size * perNode));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private watchTimeoutSeconds(): number {
    // The reflector's minWatchTimeout (5 minutes) times [1, 2).
    return Math.floor(300 * (1 + this.random()));
  }

  private synchronized(reason: SyncReason, how: 'watch-list' | 'list'): void {
    this.failures = 0;
    this.synced = true;
    this.rvUnavailable = false;
    if (how === 'watch-list') this.watchListSupported = true;
    this.nextResync = Date.now() + Math.round(this.opts.resyncMs * (1 + 0.5 * this.random()));
    this.hooks.onSync?.(this.nodes, reason, how);
  }

  private async loop(): Promise<void> {
    let needList: SyncReason | undefined = 'initial';
    while (!this.stopped) {
      let end: WatchEnd;
      if (needList && this.watchListSupported !== false) {
        end = await this.watchOnce(needList);
        if (this.stopped) break;
        if (end.synced) needList = undefined;
        if (end.kind === 'unsupported') {
          this.watchListSupported = false;
          this.hooks.onRequest?.('watch-list', 'error');
          this.hooks.onFallback?.(end.err);
          continue;
        }
        if (!end.synced && end.kind === 'gone') {
          // A streaming list from a resourceVersion the server no longer has: from "" (consistent), at once.
          this.hooks.onRequest?.('watch-list', 'gone');
          this.rvUnavailable = true;
          continue;
        }
      } else {
        if (needList) {
          try {
            await this.list(needList);
            needList = undefined;
          } catch (err) {
            const wait = this.backoff();
            this.hooks.onError?.('list', err, wait);
            await this.sleep(wait);
            continue;
          }
        }
        end = await this.watchOnce();
        if (this.stopped) break;
      }
      needList = (await this.afterWatch(end)) ?? needList;
    }
  }

  /** What a watch's end means: a relist (returned), a backoff, or a plain resume. */
  private async afterWatch(end: WatchEnd): Promise<SyncReason | undefined> {
    const verb = end.initial ? 'watch-list' : 'watch';
    if (end.kind === 'gone') {
      this.hooks.onRequest?.(verb, 'gone');
      this.relists++;
      await this.sleep(this.relistSpread());
      return 'gone';
    }
    if (end.kind === 'resync') {
      this.relists++;
      return 'resync';
    }
    if (end.kind === 'error' || end.kind === 'unsupported') {
      this.hooks.onRequest?.(verb, 'error');
      const wait = this.backoff();
      this.hooks.onError?.('watch', end.err, wait);
      await this.sleep(wait);
      return undefined;
    }
    if (end.kind === 'done') {
      this.hooks.onRequest?.(verb, 'ok');
      if (end.events > 0 || end.ms > 10_000) this.failures = 0;
      // A server that ends watches at once must not make this a busy loop.
      else if (end.ms < 1_000) await this.sleep(this.backoff());
    }
    return undefined;
  }

  private async list(reason: SyncReason): Promise<void> {
    const rv = this.rvUnavailable ? '' : this.resourceVersion || '0';
    // The reflector pages lists at resourceVersion "" or "0" (the watch cache ignores limit for
    // "0" anyway); a list at a given resourceVersion goes without limit so the watch cache can
    // serve it instead of etcd, unless the server paginated the first list (no watch cache).
    const limit = rv === '' || rv === '0' || this.paginated ? this.opts.pageSize ?? PAGE_SIZE : undefined;
    const out = await listNodes(this.api, this.opts.keys, { resourceVersion: rv, ...(limit ? { limit } : {}) }, (outcome) => this.hooks.onRequest?.('list', outcome));
    if (rv === '0' && out.pages > 1) this.paginated = true;
    this.replace(out.nodes, out.resourceVersion);
    this.synchronized(reason, 'list');
  }

  /** A relist's Nodes become the cache; an unchanged Node keeps its object (what the agent keys its per-peer work by). */
  private replace(nodes: Map<string, NodeInfo>, resourceVersion: string): void {
    const before = new Map(this.nodes);
    this.changes++;
    this.nodes.clear();
    for (const [name, n] of nodes) {
      const old = before.get(name);
      this.nodes.set(name, old && sameForAgent(old, n) ? old : n);
    }
    this.resourceVersion = resourceVersion;
  }

  /**
   * One watch, until the server ends it, it fails, it is gone, it idles, or the resync is due.
   * With `initial` it is a streaming list: the initial events fill a new cache that replaces the
   * old one at the k8s.io/initial-events-end bookmark, then it goes on as a plain watch.
   */
  private watchOnce(initial?: SyncReason): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      const t0 = Date.now();
      let events = 0;
      let finished = false;
      let pending = initial ? new Map<string, NodeInfo>() : undefined;
      let idleTimer: NodeJS.Timeout | undefined;
      const resyncTimer = initial ? undefined : setTimeout(() => end({ kind: 'resync' }), Math.max(0, this.nextResync - Date.now()));
      const initialMs = this.opts.initialEventsMs ?? 120_000;
      const initialTimer = initial ? setTimeout(() => end({ kind: 'unsupported', err: new Error(`the streaming list sent no ${INITIAL_EVENTS_END} bookmark within ${initialMs / 1000} s`) }), initialMs) : undefined;
      const idleMs = this.opts.idleMs ?? 330_000;
      const touch = () => {
        if (idleTimer) clearTimeout(idleTimer);
        idleTimer = setTimeout(() => end({ kind: 'error', err: new Error(`the watch delivered nothing for ${idleMs / 1000} s`) }), idleMs);
      };
      const end = (r: WatchEndKind) => {
        if (finished) return;
        finished = true;
        clearTimeout(resyncTimer);
        clearTimeout(initialTimer);
        if (idleTimer) clearTimeout(idleTimer);
        if (this.current === me) this.current = undefined;
        try {
          me.handle?.abort();
        } catch {
          /* already closed */
        }
        resolve({ ...r, events, ms: Date.now() - t0, synced: !!initial && !pending, ...(initial ? { initial } : {}) } as WatchEnd);
      };
      const me: { handle?: WatchHandle; end: (r: WatchEndKind) => void } = { end };
      this.current = me;
      touch();
      const onEvent = (e: WatchEvent) => {
        if (finished) return;
        touch();
        if (pending) {
          const r = this.applyInitial(e, pending);
          if (r === 'end') {
            pending = undefined;
            clearTimeout(initialTimer);
            this.synchronized(initial!, 'watch-list');
          } else if (r) end(r);
          return;
        }
        if (this.apply(e)) end({ kind: 'gone' });
        else events++;
      };
      const onDone = (err: unknown) => {
        const status = httpStatus(err);
        if (err && status === GONE) end({ kind: 'gone' });
        else if (err && pending && status !== undefined && status >= 400 && status < 500 && status !== TOO_MANY_REQUESTS) end({ kind: 'unsupported', err });
        else if (err && !isAbort(err)) end({ kind: 'error', err });
        else end({ kind: 'done' });
      };
      const options: WatchOptions = { resourceVersion: initial && this.rvUnavailable ? '' : this.resourceVersion, timeoutSeconds: this.watchTimeoutSeconds(), ...(initial ? { sendInitialEvents: true } : {}) };
      this.api.watch(options, onEvent, onDone).then(
        (h) => {
          me.handle = h;
          if (finished) h.abort();
        },
        (err) => onDone(err ?? new Error('the watch could not start')),
      );
    });
  }

  /** One event of a streaming list's initial part: 'end' at its closing bookmark, a watch end, or nothing. */
  private applyInitial(e: WatchEvent, pending: Map<string, NodeInfo>): 'end' | WatchEndKind | undefined {
    const obj = e.object as (NodeObject & { code?: number; reason?: string; metadata?: { annotations?: Record<string, string> | null } }) | undefined;
    if (e.type === 'ERROR') return isGoneStatus(obj) ? { kind: 'gone' } : { kind: 'error', err: new Error(`watch ERROR event: ${JSON.stringify(obj)}`) };
    if (e.type === 'BOOKMARK') {
      if (obj?.metadata?.annotations?.[INITIAL_EVENTS_END] !== 'true') return { kind: 'unsupported', err: new Error(`the server sent a bookmark without ${INITIAL_EVENTS_END}: it ignores sendInitialEvents`) };
      this.replace(pending, obj.metadata.resourceVersion ?? this.resourceVersion);
      return 'end';
    }
    const info = obj && nodeInfo(obj, this.opts.keys);
    if (!info) return undefined;
    if (e.type === 'DELETED') pending.delete(info.name);
    else pending.set(info.name, info);
    return undefined;
  }

  /** Applies one event to the cache; true when it says the resourceVersion is gone. */
  private apply(e: WatchEvent): boolean {
    const obj = e.object as (NodeObject & { code?: number; reason?: string }) | undefined;
    if (e.type === 'ERROR') return isGoneStatus(obj);
    const rv = obj?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK' || !obj) return false;
    const info = nodeInfo(obj, this.opts.keys);
    if (!info) return false;
    const before = this.nodes.get(info.name);
    if (e.type === 'DELETED') {
      this.nodes.delete(info.name);
      this.changes++;
      this.hooks.onChange?.(info.name, before, undefined);
    } else if (e.type === 'ADDED' || e.type === 'MODIFIED') {
      if (sameForAgent(before, info)) {
        this.hooks.onUnchanged?.();
        return false;
      }
      this.nodes.set(info.name, info);
      this.changes++;
      this.hooks.onChange?.(info.name, before, info);
    }
    return false;
  }
}

type WatchEndKind = { kind: 'done' } | { kind: 'gone' } | { kind: 'resync' } | { kind: 'stopped' } | { kind: 'error'; err: unknown } | { kind: 'unsupported'; err: unknown };
type WatchEnd = WatchEndKind & { events: number; ms: number; synced: boolean; initial?: SyncReason };

function isGoneStatus(obj: { code?: number; reason?: string } | undefined): boolean {
  return obj?.code === GONE || obj?.reason === 'Expired' || obj?.reason === 'Gone';
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string; type?: string })?.name ?? '';
  return name === 'AbortError' || (err as { type?: string })?.type === 'aborted';
}
