// The Kubernetes API through the official client library, @kubernetes/client-node 1.4: its
// KubeConfig loads the credentials (a kubeconfig file, or the in-cluster service account: the
// mounted token and CA, KUBERNETES_SERVICE_HOST) and turns them into request options (TLS agent,
// Authorization header, proxy); its Watch streams the API's watch events (one JSON line each,
// trimmed by the caller as it arrives). The two other requests the agent makes (list the Nodes a
// page at a time, decoded as the bytes arrive; merge-patch its own Node's annotations) go through
// the same options and the same HTTP stack the library's Watch uses (node-fetch), not through its generated
// CoreV1Api: that API module brings about 900 model classes whose loading alone costs the agent
// some 20 MB of resident memory, for two calls whose JSON the agent reads as plain objects anyway.
// Only the agent loads this module; build.mjs bundles it apart from the plugins.

import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import fetch from 'node-fetch';
import type { NodeObject } from './nodes';
import { type ListMeta, ListDecoder } from './list-stream';
import type { ListOptions, NodeApi, WatchEvent, WatchHandle, WatchOptions } from './watch';
import path from 'node:path';

export interface KubeClientOptions {
  /** A kubeconfig file; absent: the in-cluster service account (also inside a HostProcess container). */
  kubeconfig?: string;
  /** Deadline of a patch, and of progress of a list (a watch is long-lived by design and has its own idle check). */
  requestTimeoutMs?: number;
}

export interface KubeNodeClient extends NodeApi {
  /** The server the credentials point at, for logs. */
  readonly server: string;
  patchNodeAnnotations(name: string, annotations: Record<string, string>): Promise<NodeObject>;
}

/** A failed API request, with the HTTP status the watch loop reads (410 means relist). */
export class KubeApiError extends Error {
  constructor(message: string, readonly statusCode?: number, readonly reason?: string) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** A failed request, from the Status object the API server answers with (when the body is one). */
function statusError(method: string, path: string, code: number, statusText: string, body: string): KubeApiError {
  let status: { message?: string; reason?: string } = {};
  try {
    status = JSON.parse(body);
  } catch {
    /* not a Status */
  }
  return new KubeApiError(`${method} ${path}: HTTP ${code} ${status.reason ?? statusText}${status.message ? `: ${status.message}` : ''}`, code, status.reason);
}

/** The query of one list page: a continue token carries its list's resourceVersion, so it is sent alone (the API concepts page). */
export function listQuery(o: ListOptions): string {
  const q = new URLSearchParams();
  if (o.limit) q.set('limit', String(o.limit));
  if (o.continue) q.set('continue', o.continue);
  else if (o.resourceVersion !== undefined && o.resourceVersion !== '') q.set('resourceVersion', o.resourceVersion);
  return q.toString();
}

/**
 * The kubeconfig file, or the pod's service account. In a Windows HostProcess container the
 * pod's volumes (the service account's token and CA included) are under
 * %CONTAINER_SANDBOX_MOUNT_POINT% rather than at /var/run/secrets, so that is the prefix.
 */
function loadConfig(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): KubeConfig {
  const kc = new KubeConfig();
  const file = kubeconfig ?? kubeconfigFromEnv(env);
  if (file) {
    kc.loadFromFile(file);
    return kc;
  }
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
    throw new KubeApiError('"peers.kubeconfig" is absent, KUBECONFIG is unset and this process is not in a pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset): give the agent a kubeconfig');
  }
  kc.loadFromCluster(env.CONTAINER_SANDBOX_MOUNT_POINT ? env.CONTAINER_SANDBOX_MOUNT_POINT.replace(/[\\/]+$/, '') : '');
  return kc;
}

/**
 * KUBECONFIG, as kubectl reads it (split at the platform's list separator, `;` on Windows), when it names one file. Several files are merged by kubectl's
 * rules, which this client does not do: such a KUBECONFIG is refused by name, never half read.
 */
export function kubeconfigFromEnv(env: NodeJS.ProcessEnv, delimiter = path.delimiter): string | undefined {
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length > 1) throw new KubeApiError(`KUBECONFIG names ${files.length} files (${files.join(', ')}); the agent reads one: set "peers.kubeconfig" or KUBECONFIG to a single file`);
  return files[0];
}

export function kubeNodeClient(opts: KubeClientOptions, env: NodeJS.ProcessEnv = process.env): KubeNodeClient {
  const kc = loadConfig(opts.kubeconfig, env);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${opts.kubeconfig ?? 'the in-cluster configuration'} names no current cluster`);
  const server = cluster.server.replace(/\/+$/, '');
  const watcher = new Watch(kc);
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;

  /** One JSON request with the library's credentials and TLS settings. */
  async function request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const init = await kc.applyToFetchOptions({ method });
    const headers = init.headers as InstanceType<typeof import('node-fetch').Headers>;
    headers.set('Accept', 'application/json');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await fetch(`${server}${path}`, {
        ...init,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headers: body !== undefined ? (headers.set('Content-Type', contentType ?? 'application/json'), headers) : headers,
        signal: controller.signal as never,
      });
      const text = await res.text();
      if (!res.ok) throw statusError(method, path, res.status, res.statusText, text);
      return JSON.parse(text) as T;
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw new KubeApiError(`${method} ${path}: no answer within ${timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One page of the Node list, decoded as it arrives (list-stream.ts): each item is handed to
   * `onItem` and dropped. The deadline is on progress (no byte for timeoutMs), not on the whole
   * response, so a large list on a slow link is not cut while it still arrives.
   */
  async function streamList(url: string, onItem: (item: unknown) => void): Promise<ListMeta> {
    const init = await kc.applyToFetchOptions({ method: 'GET' });
    (init.headers as InstanceType<typeof import('node-fetch').Headers>).set('Accept', 'application/json');
    const controller = new AbortController();
    let timer = setTimeout(() => controller.abort(), timeoutMs);
    const progress = () => {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), timeoutMs);
    };
    try {
      const res = await fetch(url, { ...init, signal: controller.signal as never });
      if (!res.ok) throw statusError('GET', url.slice(server.length), res.status, res.statusText, await res.text());
      const decoder = new ListDecoder(onItem);
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        progress();
        decoder.push(chunk);
      }
      return decoder.end();
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw new KubeApiError(`GET ${url.slice(server.length)}: no progress within ${timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    server,
    list(options: ListOptions, onItem: (item: unknown) => void): Promise<ListMeta> {
      return streamList(`${server}/api/v1/nodes?${listQuery(options)}`, onItem);
    },
    async watch(options: WatchOptions, onEvent: (e: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
      const controller = await watcher.watch(
        '/api/v1/nodes',
        {
          ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}),
          allowWatchBookmarks: true,
          timeoutSeconds: options.timeoutSeconds,
          // The streaming list (the API concepts page, "Streaming lists"): the current Nodes as ADDED
          // events, then a BOOKMARK annotated k8s.io/initial-events-end, then the watch goes on.
          ...(options.sendInitialEvents ? { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' } : {}),
        },
        (type: string, object: unknown) => onEvent({ type, object }),
        (err: unknown) => onDone(err ?? null),
      );
      return { abort: () => controller.abort() };
    },
    patchNodeAnnotations(name: string, annotations: Record<string, string>): Promise<NodeObject> {
      return request<NodeObject>('PATCH', `/api/v1/nodes/${encodeURIComponent(name)}`, { metadata: { annotations } }, 'application/merge-patch+json');
    },
  };
}
