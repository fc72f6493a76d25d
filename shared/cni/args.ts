// CNI_ARGS: "K1=V1;K2=V2". containerd builds it from a map, so the order is random; it always
// adds IgnoreUnknown=1 and keys we do not know. We parse tolerantly and never fail on it.

export interface PodIdentity {
  namespace?: string;
  name?: string;
  infraContainerId?: string;
  uid?: string;
}

export interface CniArgs {
  /** Every pair, last duplicate wins; values keep any '=' after the first. */
  readonly values: ReadonlyMap<string, string>;
  readonly ignoreUnknown: boolean;
  readonly pod: PodIdentity;
  /** Segments that were not KEY=VALUE; reported in logs, never fatal. */
  readonly malformed: readonly string[];
}

export function parseCniArgs(raw: string | undefined): CniArgs {
  const values = new Map<string, string>();
  const malformed: string[] = [];
  for (const segment of (raw ?? '').split(';')) {
    if (segment.trim() === '') continue;
    const eq = segment.indexOf('=');
    if (eq <= 0) {
      malformed.push(segment);
      continue;
    }
    values.set(segment.slice(0, eq).trim(), segment.slice(eq + 1));
  }
  const pod: PodIdentity = {};
  const set = (key: keyof PodIdentity, arg: string) => {
    const v = values.get(arg);
    if (v !== undefined && v !== '') pod[key] = v;
  };
  set('namespace', 'K8S_POD_NAMESPACE');
  set('name', 'K8S_POD_NAME');
  set('infraContainerId', 'K8S_POD_INFRA_CONTAINER_ID');
  set('uid', 'K8S_POD_UID');
  const ignore = values.get('IgnoreUnknown');
  return { values, ignoreUnknown: ignore !== undefined && /^(1|true)$/i.test(ignore.trim()), pod, malformed };
}
