// What every compartment operation works with, and the errors it reports.

import path from 'node:path';
import type { HnsClient } from '../hns/client';
import type { Logger } from '../log/logger';
import { CniError, ErrorCode } from '../cni/errors';
import type { HnsError } from '../hns/errors';
import { withLock } from '../sys/lock';
import { waitBudget } from '../sys/deadline';
import { fileSafeId } from './identity';

export interface PodContext {
  client: HnsClient;
  /** Records and locks live here (CNI_STATE_DIR, else the OS default). */
  stateDir: string;
  log: Logger;
  /** Epoch ms by which the invocation answers: waits end before it (shared/cni/skel.ts). */
  deadline?: number;
}

/** How long a second invocation for the same pod waits before answering "try again later". */
const POD_LOCK_TIMEOUT_MS = 60_000;

/**
 * One lock per container: the runtime never runs two operations on one pod at once, but a
 * retried ADD or DEL after a runtime timeout can overlap the first. Other pods never wait.
 */
export function withPodLock<T>(ctx: PodContext, containerId: string, fn: () => Promise<T>, timeoutMs = POD_LOCK_TIMEOUT_MS): Promise<T> {
  const file = path.join(ctx.stateDir, 'locks', `pod-${fileSafeId(containerId)}.lock`);
  return ctx.log.step('lock-pod', () => withLock(file, fn, { timeoutMs: waitBudget(ctx, timeoutMs) }));
}

/** An HNS failure as the CNI error the runtime sees: the call, the service's text and the HRESULT. */
export function hnsFailure(what: string, err: unknown, code: number = ErrorCode.HnsFailure): CniError {
  const e = err as HnsError;
  const cniCode = e && typeof e.cniCode === 'number' && e.cniCode === ErrorCode.TryAgainLater ? ErrorCode.TryAgainLater : code;
  return new CniError(cniCode, `${what}: ${e?.message ?? String(err)}`);
}
