// What the fake IPAM and the harness share: its control file, its call log and its allocation
// table, all in the directory named by FAKE_IPAM_DIR. Types only: the fake IPAM executable
// imports this and nothing of the product.

export const FAKE_IPAM_FILES = {
  /** Written by the harness: how to answer (FakeIpamControl). */
  control: 'control.json',
  /** Appended by the fake IPAM: one FakeIpamCall per line, every invocation, before it answers. */
  log: 'calls.jsonl',
  /** The fake IPAM's own state: what it handed out (FakeIpamAllocation[]). */
  allocations: 'allocations.json',
  /** Held while allocations.json is read and rewritten. */
  lock: 'allocations.lock',
} as const;

export type FakeIpamVerb = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** One address family of a pool: `first` is the first host number handed out (lowest free from there). */
export interface FakePoolFamily {
  subnet: string;
  gateway?: string;
  first: number;
}

export interface FakePool {
  v4?: FakePoolFamily;
  v6?: FakePoolFamily;
  /** Routes put in every ADD answer. */
  routes?: { dst: string; gw?: string }[];
  /** DNS put in every ADD answer. */
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** A scripted answer for one verb, replacing the default behaviour. */
export interface FakeAnswer {
  /** Print this CNI error object on stdout and exit non-zero (`exit`, default 1). Nothing changes. */
  error?: { code: number; msg: string; details?: string };
  /** Print exactly these bytes on stdout (instead of the default answer). */
  stdout?: string;
  /** Also print this on stderr. */
  stderr?: string;
  /** Exit status (default 0, or 1 with `error`). */
  exit?: number;
  /** ADD: answer with zero IPs. */
  noIps?: boolean;
  /** ADD: answer without `cniVersion`. */
  noVersion?: boolean;
  /** ADD: answer with these addresses (`address/prefix`) instead of the pool's. */
  addresses?: { address: string; gateway?: string }[];
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface FakeIpamControl {
  /** Pools by network `name`; `*` for any other name. */
  pools?: Record<string, FakePool>;
  /** ADD answers with an IPv6 address too (when the pool has one). */
  dualStack?: boolean;
  /** Scripted answers by verb. */
  answers?: Partial<Record<FakeIpamVerb, FakeAnswer>>;
  /** The VERSION reply's list. Default: the seven versions. */
  supportedVersions?: string[];
}

export interface FakeIpamCall {
  time: string;
  pid: number;
  ppid: number;
  /** CNI_COMMAND as received. */
  command: string;
  /** Command-line arguments (a CNI plugin gets none). */
  args: string[];
  /** Every environment variable, except FAKE_IPAM_* (set by the harness's wrapper). */
  env: Record<string, string>;
  /** Which copy of the fake IPAM ran (FAKE_IPAM_COPY, set by its wrapper). */
  copy: string;
  /** The exact stdin bytes: length, sha256, and base64 unless larger than 1 MiB. */
  stdin: { length: number; sha256: string; base64?: string };
}

export interface FakeIpamAllocation {
  network: string;
  containerId: string;
  ifName: string;
  /** `address/prefix` texts. */
  addresses: string[];
}

export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
