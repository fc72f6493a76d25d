// A list+watch of Nodes, as client-go's reflector does it: list (the cache is replaced whole only
// by a list that succeeded), then watch from the list's resourceVersion; a watch that ends is
// resumed from the last resourceVersion seen (events and bookmarks); `410 Gone` (the
// resourceVersion is too old: an ERROR event or the HTTP status) means relist; errors back off
// exponentially with jitter; every resyncMs the list is read again whole. An API error or outage
// never empties the cache: the agent keeps acting on the last Nodes it knew.
//
// The API is behind a small interface (NodeApi) so the loop is tested without a server; the
// implementation on @kubernetes/client-node is client.ts.

import { nodeInfo, type NodeInfo, nodeMap, type NodeObject } from './nodes';

export interface NodeList {
  items: NodeObject[];
  resourceVersion: string;
}

export interface WatchEvent {
  type: string;
  object: unknown;
}

export interface WatchHandle {
  abort(): void;
}

export interface NodeApi {
  list(): Promise<NodeList>;
  /** Starts a watch from `resourceVersion`; `onDone` is called once, with the error if it failed or null when the server ended it. */
  watch(resourceVersion: string, onEvent: (e: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle>;
}

/** The HTTP status of a failed API call, when it has one (the client library puts it in different fields). */
export function httpStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; status?: unknown } | undefined;
  for (const v of [e?.code, e?.statusCode, e?.status]) if (typeof v === 'number') return v;
  return undefined;
}

export interface WatcherHooks {
  /** After each successful list: the whole cache. */
  onSync?(nodes: ReadonlyMap<string, NodeInfo>, reason: 'initial' | 'resync' | 'gone'): void;
  /** After each watch event that changed a Node (after is undefined when it was deleted). */
  onChange?(name: string, before: NodeInfo | undefined, after: NodeInfo | undefined): void;
  /** A failed list or watch (the loop retries). */
  onError?(stage: 'list' | 'watch', err: unknown, retryInMs: number): void;
  /** Every request's outcome, for metrics. */
  onRequest?(verb: 'list' | 'watch', outcome: 'ok' | 'error' | 'gone'): void;
}

export interface WatcherOptions {
  resyncMs: number;
  /** First and largest retry delay. */
  backoffMs?: [first: number, max: number];
  /** A watch that delivered nothing (not even a bookmark) for this long is given up and resumed. */
  idleMs?: number;
  random?: () => number;
}

const GONE = 410;

export class NodeWatcher {
  readonly nodes = new Map<string, NodeInfo>();
  /** A list has succeeded at least once. */
  synced = false;
  resourceVersion = '';
  relists = 0;
  private stopped = false;
  private running?: Promise<void>;
  private failures = 0;
  private wake?: () => void;
  private current?: { handle?: WatchHandle; end: (r: WatchEnd) => void };
  private nextResync = 0;

  constructor(private readonly api: NodeApi, private readonly hooks: WatcherHooks, private readonly opts: WatcherOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.end({ kind: 'stopped' });
    this.wake?.();
    await this.running;
  }

  private backoff(): number {
    const [first, max] = this.opts.backoffMs ?? [500, 30_000];
    const base = Math.min(max, first * 2 ** Math.min(this.failures, 20));
    this.failures++;
    const jitter = 0.8 + 0.4 * (this.opts.random ?? Math.random)();
    return Math.round(base * jitter);
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

  private async loop(): Promise<void> {
    let needList: 'initial' | 'resync' | 'gone' | undefined = 'initial';
    while (!this.stopped) {
      if (needList) {
        try {
          const list = await this.api.list();
          this.replace(list);
          this.hooks.onRequest?.('list', 'ok');
          this.failures = 0;
          this.synced = true;
          this.nextResync = Date.now() + this.opts.resyncMs;
          this.hooks.onSync?.(this.nodes, needList);
          needList = undefined;
        } catch (err) {
          this.hooks.onRequest?.('list', 'error');
          const wait = this.backoff();
          this.hooks.onError?.('list', err, wait);
          await this.sleep(wait);
          continue;
        }
      }
      const t0 = Date.now();
      const end = await this.watchOnce();
      if (this.stopped) break;
      if (end.kind === 'gone') {
        this.hooks.onRequest?.('watch', 'gone');
        this.relists++;
        needList = 'gone';
      } else if (end.kind === 'resync') {
        this.relists++;
        needList = 'resync';
      } else if (end.kind === 'error') {
        this.hooks.onRequest?.('watch', 'error');
        const wait = this.backoff();
        this.hooks.onError?.('watch', end.err, wait);
        await this.sleep(wait);
      } else {
        this.hooks.onRequest?.('watch', 'ok');
        if ((end.kind === 'done' && end.events > 0) || Date.now() - t0 > 10_000) this.failures = 0;
        // A server that ends watches at once must not make this a busy loop.
        else if (Date.now() - t0 < 1_000) await this.sleep(this.backoff());
      }
    }
  }

  private replace(list: NodeList): void {
    this.nodes.clear();
    for (const [name, n] of nodeMap(list.items)) this.nodes.set(name, n);
    this.resourceVersion = list.resourceVersion;
  }

  /** One watch, until the server ends it, it fails, it is gone, it idles, or the resync is due. */
  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let events = 0;
      let finished = false;
      let idleTimer: NodeJS.Timeout | undefined;
      const resyncTimer = setTimeout(() => end({ kind: 'resync' }), Math.max(0, this.nextResync - Date.now()));
      const idleMs = this.opts.idleMs ?? 330_000;
      const touch = () => {
        if (idleTimer) clearTimeout(idleTimer);
        idleTimer = setTimeout(() => end({ kind: 'error', err: new Error(`the watch delivered nothing for ${idleMs / 1000} s`) }), idleMs);
      };
      const end = (r: WatchEnd) => {
        if (finished) return;
        finished = true;
        clearTimeout(resyncTimer);
        if (idleTimer) clearTimeout(idleTimer);
        if (this.current === me) this.current = undefined;
        try {
          me.handle?.abort();
        } catch {
          /* already closed */
        }
        resolve(r.kind === 'done' ? { kind: 'done', events } : r);
      };
      const me: { handle?: WatchHandle; end: (r: WatchEnd) => void } = { end };
      this.current = me;
      touch();
      const onEvent = (e: WatchEvent) => {
        if (finished) return;
        touch();
        if (this.apply(e)) end({ kind: 'gone' });
        else events++;
      };
      const onDone = (err: unknown) => {
        if (err && httpStatus(err) === GONE) end({ kind: 'gone' });
        else if (err && !isAbort(err)) end({ kind: 'error', err });
        else end({ kind: 'done', events });
      };
      this.api.watch(this.resourceVersion, onEvent, onDone).then(
        (h) => {
          me.handle = h;
          if (finished) h.abort();
        },
        (err) => onDone(err ?? new Error('the watch could not start')),
      );
    });
  }

  /** Applies one event to the cache; true when it says the resourceVersion is gone. */
  private apply(e: WatchEvent): boolean {
    const obj = e.object as (NodeObject & { code?: number; reason?: string }) | undefined;
    if (e.type === 'ERROR') {
      if (obj?.code === GONE || obj?.reason === 'Expired' || obj?.reason === 'Gone') return true;
      return false;
    }
    const rv = obj?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK' || !obj) return false;
    const info = nodeInfo(obj);
    if (!info) return false;
    const before = this.nodes.get(info.name);
    if (e.type === 'DELETED') {
      this.nodes.delete(info.name);
      this.hooks.onChange?.(info.name, before, undefined);
    } else if (e.type === 'ADDED' || e.type === 'MODIFIED') {
      this.nodes.set(info.name, info);
      this.hooks.onChange?.(info.name, before, info);
    }
    return false;
  }
}

type WatchEnd = { kind: 'done'; events: number } | { kind: 'gone' } | { kind: 'resync' } | { kind: 'stopped' } | { kind: 'error'; err: unknown };

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string; type?: string })?.name ?? '';
  return name === 'AbortError' || (err as { type?: string })?.type === 'aborted';
}
