// The Windows builds the emulator can pretend to be. A profile fixes what GET /globals/version
// answers (and every object's Version), the highest HCN schema minor whose documents the service
// understands, and the few behaviours that changed between builds. Every number comes from
// /work/research/fidelity.md §1-§2; the README's profile table gives the evidence per row.
//
// Selection, first match wins (the environment first, so one variable runs a whole test suite as
// another Windows build):
//   1. CNI_HNS_EMULATOR_PROFILE (e.g. ws2019)
//   2. config.json `profile` (`hnsctl emulator profile <name>` writes it)
//   3. DEFAULT_PROFILE
// Explicit knobs in config.json (`hnsVersion`, `schemaVersion`, ...) override the profile's values.

import type { SchemaVersion } from '../../model/common';

export interface Profile {
  name: string;
  /** What a human calls the build. */
  title: string;
  /** Windows build number(s). */
  build: string;
  hnsVersion: SchemaVersion;
  /** The newest HCN schema (HNS_Schema.md NewInVersion) whose fields and types this build knows. */
  schemaVersion: SchemaVersion;
  /** reboot() keeps networks without EnableNonPersistent (false: every network is lost). */
  rebootKeepsNetworks: boolean;
  /** Why these numbers (repository path or issue), or INFERRED with the facts it rests on. */
  evidence: string;
}

const v = (Major: number, Minor: number): SchemaVersion => ({ Major, Minor });

export const PROFILES: readonly Profile[] = [
  {
    name: 'ws2019-rtm',
    title: 'Windows Server 2019 / 1809 RTM, before 2019-03',
    build: '17763 (RTM)',
    hnsVersion: v(9, 1),
    schemaVersion: v(2, 0),
    rebootKeepsNetworks: false,
    evidence: 'INFERRED: hcsshim first gated the V2 API at 9.1, PR microsoft/hcsshim#485 moved it to 9.2 ("RemoteSubnet is definitely 9.2"); schema 2.0 = 1809 (HNS_Schema.md version map); RTM lost networks at reboot (hcn-api.md §4.6)',
  },
  {
    name: 'ws2019-kb4489899',
    title: 'Windows Server 2019 + KB4489899 (RS5 + Remote Subnet DCR)',
    build: '17763.379',
    hnsVersion: v(9, 2),
    schemaVersion: v(2, 0),
    rebootKeepsNetworks: true,
    evidence: 'microsoft/hcsshim#436: Remote Subnet policies "are only supported in HNS version 9.2 (RS5 plus Remote Subnet DCR)"; rancher/rancher#19699 (KB4489899)',
  },
  {
    name: 'ws2019-2020',
    title: 'Windows Server 2019, 2020 updates',
    build: '17763.x (2020)',
    hnsVersion: v(9, 3),
    schemaVersion: v(2, 0),
    rebootKeepsNetworks: true,
    evidence: 'kubernetes/kubernetes#93304: "Windows Server, version 1809 with HNS version 9.3"',
  },
  {
    name: 'ws2019',
    title: 'Windows Server 2019, current servicing',
    build: '17763.8146',
    hnsVersion: v(9, 5),
    schemaVersion: v(2, 0),
    rebootKeepsNetworks: true,
    evidence: 'kubernetes/kubernetes#137530: "HNS version is 9.5" on "OS 2019 17763.8146"; hcsshim hcn/hcnglobals.go L4Proxy range 9.5-9.*; schema 2.0 = 1809 (HNS_Schema.md)',
  },
  {
    name: 'sac1909',
    title: 'Windows Server 1903 / 1909 (semi-annual channel)',
    build: '18362 / 18363',
    hnsVersion: v(10, 5),
    schemaVersion: v(2, 5),
    rebootKeepsNetworks: true,
    evidence: 'INFERRED: hcsshim hcn/hcnglobals.go comments place DSR at 10.2, VxlanPort 10.3, /32 prefixes 10.4 and the L4Proxy backport at 10.5-10.*; schema lies between 2.0 (1809) and 2.6 (2004), 2.5 taken; no pasted version found',
  },
  {
    name: 'sac2004',
    title: 'Windows Server 2004 / 20H2 (semi-annual channel)',
    build: '19041 / 19042',
    hnsVersion: v(11, 10),
    schemaVersion: v(2, 6),
    rebootKeepsNetworks: true,
    evidence: 'microsoft/hcsshim#1003: "hcn.Version={11 10}" on 10.0.19041.867 (IPv6DualStack gate 11.10, commit 0882cf37d); schema 2.6 = 2004 (HNS_Schema.md)',
  },
  {
    name: 'ws2022',
    title: 'Windows Server 2022',
    build: '20348',
    hnsVersion: v(13, 3),
    schemaVersion: v(2, 11),
    rebootKeepsNetworks: true,
    evidence: 'microsoft/hcnproxyctrl README: HNS 13.2+ "shipping with Windows Server 2022"; observed Version 55834574851 = 13.3; schema 2.11 = 20348 (HNS_Schema.md); CreateWithCompartment refused (tunbury.org/2025/06/27/windows-containerd-3)',
  },
  {
    name: 'ws2022-13.4',
    title: 'Windows Server 2022, later servicing',
    build: '20348.x',
    hnsVersion: v(13, 4),
    schemaVersion: v(2, 11),
    rebootKeepsNetworks: true,
    evidence: 'containerd pkg/netns/netns_windows.go sets ReadyOnCreate "if HNS version >= 15.2 or 13.4": a 13.x servicing line next to 15.x (INFERRED: later 2022 patches)',
  },
  {
    name: 'win11',
    title: 'Windows 11 21H2 and later (client)',
    build: '22000-22631',
    hnsVersion: v(15, 0),
    schemaVersion: v(2, 14),
    rebootKeepsNetworks: true,
    evidence: 'objects with "Version": 64424509440 (= 15.0): projectcalico/calico#8465, microsoft/Windows-Containers#563; schema 2.14 (HNS_Schema.md map, its "10.0.2200.0" typo meaning 22000)',
  },
  {
    name: 'ws2025',
    title: 'Windows Server 2025',
    build: '26100',
    hnsVersion: v(15, 4),
    schemaVersion: v(2, 16),
    rebootKeepsNetworks: true,
    evidence: 'kubernetes/kubernetes#131466 / PR #131506: "I\'m using HNS version 15.4" on Windows Server 2025; schema >= 2.16 INFERRED (2.16 fields added to HNS_Schema.md in 2022-03, before the 26100 branch)',
  },
];

/**
 * Server 2022: the LTSC most Windows Kubernetes nodes run, with the better evidence (an observed
 * Version value and an observed unknown-field refusal). Server 2025 accepts a superset of it, so
 * a document that passes here passes there, not the reverse.
 */
export const DEFAULT_PROFILE = 'ws2022';

const ALIASES: Record<string, string> = {
  '2019': 'ws2019',
  'server2019': 'ws2019',
  'ltsc2019': 'ws2019',
  '1809': 'ws2019',
  '2022': 'ws2022',
  'server2022': 'ws2022',
  'ltsc2022': 'ws2022',
  '2025': 'ws2025',
  'server2025': 'ws2025',
  'ltsc2025': 'ws2025',
  '1903': 'sac1909',
  '1909': 'sac1909',
  '2004': 'sac2004',
  '20h2': 'sac2004',
};

/** The profile called `name` (or an alias such as `2019`), or undefined. */
export function findProfile(name: string): Profile | undefined {
  const key = name.trim().toLowerCase();
  const canonical = ALIASES[key] ?? key;
  return PROFILES.find((p) => p.name === canonical);
}

export function profileNames(): string[] {
  return PROFILES.map((p) => p.name);
}
