// Runs the CNI skeleton in-process with a given environment and stdin, capturing what it writes.

import { type PluginHandlers, runPlugin } from '../../shared/cni/skel';
import type { Result100 } from '../../shared/cni/result/v100';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json?: any;
  /** Verbs the handlers saw, in order. */
  calls: string[];
}

export const CONTAINER_ID = 'ctr-a1';
export const NETNS = '7CB720C0-AC4C-4266-92E1-DC277B2A9B94';

/** The environment containerd sends for `verb`. */
export function envFor(verb: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const gcLike = verb === 'GC' || verb === 'STATUS';
  const env: Record<string, string | undefined> = {
    CNI_COMMAND: verb,
    CNI_CONTAINERID: gcLike ? '' : CONTAINER_ID,
    CNI_NETNS: gcLike ? '' : NETNS,
    CNI_IFNAME: gcLike ? '' : 'eth0',
    CNI_ARGS: gcLike ? '' : 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=ctr-a1;K8S_POD_UID=u1',
    CNI_PATH: '/opt/cni/bin',
    CNI_LOG_FILE: '/dev/null',
    ...extra,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env as NodeJS.ProcessEnv;
}

export const RESULT: Result100 = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: '00:15:5d:0a:0b:0c', sandbox: NETNS }],
  ips: [{ address: '10.244.3.17/24', gateway: '10.244.3.2', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.244.3.2' }],
};

export function recordingHandlers(calls: string[], overrides: Partial<PluginHandlers> = {}): PluginHandlers {
  return {
    add: async () => (calls.push('ADD'), RESULT),
    del: async () => void calls.push('DEL'),
    check: async () => void calls.push('CHECK'),
    gc: async () => void calls.push('GC'),
    status: async () => void calls.push('STATUS'),
    ...overrides,
  };
}

export async function runSkel(env: NodeJS.ProcessEnv, stdin: string | Buffer | (() => Buffer), overrides: Partial<PluginHandlers> = {}, budgetMs?: number): Promise<Captured> {
  const calls: string[] = [];
  let stdout = '';
  let stderr = '';
  const code = await runPlugin(
    { name: 'test-plugin', productVersion: 'v0.0.0', confSchema: 'conf-l2bridge', load: async () => recordingHandlers(calls, overrides) },
    {
      env,
      platform: 'linux',
      readStdin: typeof stdin === 'function' ? stdin : () => Buffer.from(stdin),
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      budgetMs,
    },
  );
  let json: unknown;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json, calls };
}

export function conf(version: string | undefined, extra: Record<string, unknown> = {}): string {
  const c: Record<string, unknown> = { name: 'testnet', type: 'test-plugin', ...extra };
  if (version !== undefined) c.cniVersion = version;
  return JSON.stringify(c);
}
