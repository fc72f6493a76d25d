// Builds what one invocation needs to reach HNS: the backend, a client with the conf's per-call
// deadline that logs every call, and the state directory.

import type { CniRequest } from '../cni/skel';
import type { NetConf } from '../config/types';
import { openBackend } from '../hns/backend';
import { HnsClient, DEFAULT_CALL_TIMEOUT_MS } from '../hns/client';
import type { PodContext } from '../pod/context';
import { stateDir } from '../sys/paths';

export interface InvocationContext extends PodContext {
  close(): Promise<void>;
}

export async function openContext(req: CniRequest, conf: NetConf): Promise<InvocationContext> {
  const api = await req.log.step('open-backend', () => openBackend(req.env, req.platform), (a) => ({ backend: a.backend }));
  const client = new HnsClient(api, {
    callTimeoutMs: conf.hnsTimeoutSeconds ? conf.hnsTimeoutSeconds * 1000 : DEFAULT_CALL_TIMEOUT_MS,
    reuseHandles: true,
    onCall: (call, ms, error) => {
      if (error) req.log.event('hns-call', { call, ms: Math.round(ms * 100) / 100, error: error.message }, 'error');
    },
  });
  const close = async () => {
    await client.close();
    await api.dispose();
  };
  return { client, stateDir: stateDir(req.env, req.platform), log: req.log, deadline: req.deadline, close };
}
