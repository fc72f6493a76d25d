// Builds what one invocation needs to reach HNS: the backend, a client with the conf's per-call
// deadline that logs every call, and the state directory.

import type { CniRequest } from '../cni/skel';
import type { NetConf } from '../config/types';
import { openBackend } from '../hns/backend';
import { HnsClient, DEFAULT_CALL_TIMEOUT_MS } from '../hns/client';
import type { PodContext } from '../pod/context';
import { stateDir } from '../sys/paths';
import { rememberHnsVersion, versionText } from '../hns/version-cache';

/**
 * The first log line said the HNS version is not yet known (first run, or the OS build changed:
 * a patch): one ask of the service, logged, and cached for the runs after. A failure is logged
 * and the verb goes on: the version is for the operator, the verb's own calls report the service.
 */
async function learnHnsVersion(req: CniRequest, client: HnsClient): Promise<void> {
  const host = req.host!;
  try {
    const v = await client.serviceVersion();
    const cached = rememberHnsVersion(host, v);
    req.log.event('hns-version', { hnsVersion: versionText(v), osBuild: host.osBuild, cached });
  } catch (err) {
    req.log.event('hns-version', { osBuild: host.osBuild, error: (err as Error).message }, 'warning');
  }
}

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
  if (req.host && req.host.hnsVersion === undefined) await learnHnsVersion(req, client);
  const close = async () => {
    await client.close();
    await api.dispose();
  };
  return { client, stateDir: stateDir(req.env, req.platform), log: req.log, deadline: req.deadline, close };
}
