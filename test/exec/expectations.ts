// What each example conflist must make on the node, written out by hand from the examples, the
// plugins' READMEs and windows-anchors.md §8 (not computed by the code under test). Raw policies
// come first, in conf order; derived ones follow: ProviderAddress, OutBoundNAT per family,
// SDNRoutes (services, then the node), loopback DSR, PortMappings, InterfaceParameters.

export interface ExampleExpectation {
  /** Addresses the pod gets: `address/prefix`. */
  addresses: string[];
  gateways: string[];
  /** Policies of the endpoint, in order. */
  policies: unknown[];
  /** DNS of the endpoint (HCN keys), if any. */
  dns?: Record<string, unknown>;
  /** MAC the endpoint must have (overlay), dash upper case. */
  mac?: string;
  /** The 1.1.0 result's interface MTU. */
  mtu?: number;
  /** The capability data the runtime passes (containerd's). */
  capabilityArgs?: Record<string, unknown>;
}

const portMappings = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
const runtimeDns = { servers: ['10.96.0.10'], searches: ['ns1.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] };
const caps = { portMappings, dns: runtimeDns };
const runtimeHnsDns = { ServerList: ['10.96.0.10'], Search: ['ns1.svc.cluster.local', 'svc.cluster.local'], Options: ['ndots:5'] };

const nat = (exceptions: string[], flags?: number) => ({ Type: 'OutBoundNAT', Settings: flags ? { Exceptions: exceptions, Flags: flags } : { Exceptions: exceptions } });
const route = (prefix: string) => ({ Type: 'SDNRoute', Settings: { DestinationPrefix: prefix, NeedEncap: true } });
const dsr = (ip: string) => ({ Type: 'OutBoundNAT', Settings: { Destinations: [ip] } });
const port = (flags: number) => ({ Type: 'PortMapping', Settings: { InternalPort: 80, ExternalPort: 8080, Protocol: 6, VIP: '', Flags: flags } });
const pa = (ip: string) => ({ Type: 'ProviderAddress', Settings: { ProviderAddress: ip } });

// host-local hands out .2 first; the plugin reserves the bridge gateway .2 in its store, so .3.
const HOST_LOCAL_FIRST = '10.244.3.3/24';

export const EXPECTATIONS: Record<string, ExampleExpectation> = {
  'win-l2bridge/minimal': { addresses: ['10.244.3.3/24'], gateways: ['10.244.3.2'], policies: [] },
  'win-l2bridge/full': {
    addresses: ['10.244.3.10/24', 'fd00:10:244:3::10/64'],
    gateways: ['10.244.3.2', 'fd00:10:244:3::2'],
    policies: [
      nat(['10.244.0.0/16', '10.96.0.0/12', '192.168.10.0/24', '172.16.0.0/12']),
      nat(['fd00:10:244::/56', 'fd00:10:96::/112', 'fd00:192:168:10::/64'], 2),
      route('10.96.0.0/12'), route('fd00:10:96::/112'), route('192.168.10.21/32'), route('fd00:192:168:10::21/128'),
      dsr('10.244.3.10'),
      port(1), port(3),
      { Type: 'InterfaceParameters', Settings: { Mtu: 1500 } },
    ],
    dns: runtimeHnsDns,
    mtu: 1500,
    capabilityArgs: caps,
  },
  'win-l2bridge/from-win-bridge-v1': {
    addresses: [HOST_LOCAL_FIRST],
    gateways: ['10.244.3.2'],
    policies: [nat(['10.244.0.0/16', '10.96.0.0/12', '192.168.10.0/24']), route('10.96.0.0/12'), route('192.168.10.21/32'), dsr('10.244.3.3')],
    dns: { ServerList: ['10.96.0.10'], Search: ['svc.cluster.local'] },
  },
  'win-l2bridge/from-win-bridge-v2': {
    addresses: [HOST_LOCAL_FIRST],
    gateways: ['10.244.3.2'],
    policies: [nat(['10.244.0.0/16', '10.96.0.0/12', '192.168.10.0/24']), route('10.96.0.0/12'), route('192.168.10.21/32'), dsr('10.244.3.3'), port(1)],
    dns: runtimeHnsDns,
    capabilityArgs: caps,
  },
  'win-l2bridge/from-flannel-host-gw': {
    addresses: [HOST_LOCAL_FIRST],
    gateways: ['10.244.3.2'],
    // ipMasqNetwork joins the operator's OutBoundNAT instead of making a second one.
    policies: [nat(['10.96.0.0/12', '192.168.10.0/24', '10.244.0.0/16']), route('10.96.0.0/12'), route('192.168.10.21/32'), port(1)],
    dns: runtimeHnsDns,
    capabilityArgs: caps,
  },
  'host-gateway/minimal': { addresses: ['10.244.3.3/24'], gateways: ['10.244.3.2'], policies: [nat(['10.244.0.0/16'])] },
  'host-gateway/full': {
    // builtin: .1 .2 and the reserved .3 are skipped.
    addresses: ['10.244.3.4/24'],
    gateways: ['10.244.3.2'],
    policies: [
      nat(['10.244.0.0/16', '10.96.0.0/12', '192.168.10.0/24', '10.244.4.0/24', '10.244.5.0/24']),
      route('10.96.0.0/12'), route('192.168.10.21/32'),
      dsr('10.244.3.4'),
      port(1),
    ],
    dns: runtimeHnsDns,
    capabilityArgs: caps,
  },
  'host-gateway/from-win-bridge-v2': {
    addresses: [HOST_LOCAL_FIRST],
    gateways: ['10.244.3.2'],
    policies: [nat(['10.96.0.0/12', '192.168.10.0/24', '10.244.0.0/16']), route('10.96.0.0/12'), route('192.168.10.21/32'), dsr('10.244.3.3'), port(1)],
    dns: runtimeHnsDns,
    capabilityArgs: caps,
  },
  'host-gateway/from-flannel-host-gw': {
    addresses: [HOST_LOCAL_FIRST],
    gateways: ['10.244.3.2'],
    policies: [nat(['10.96.0.0/12', '192.168.10.0/24', '10.244.0.0/16']), route('10.96.0.0/12'), port(1)],
    dns: runtimeHnsDns,
    capabilityArgs: caps,
  },
  'l3-upstream/minimal': { addresses: ['10.244.3.3/24'], gateways: ['10.244.3.2'], policies: [nat(['10.244.0.0/16'])] },
  'l3-upstream/full': {
    addresses: ['10.244.3.3/24', 'fd00:10:244:3::3/64'],
    gateways: ['10.244.3.2', 'fd00:10:244:3::2'],
    policies: [
      nat(['10.244.0.0/16', '10.96.0.0/12', '192.168.10.21/32', '10.0.0.0/8']),
      nat(['fd00:10:244::/56', 'fd00:10:96::/112', 'fd00:192:168:10::21/128', 'fd00::/8'], 2),
      route('10.96.0.0/12'), route('fd00:10:96::/112'), route('192.168.10.21/32'), route('fd00:192:168:10::21/128'),
      port(1), port(3),
      { Type: 'InterfaceParameters', Settings: { Mtu: 9000 } },
    ],
    dns: runtimeHnsDns,
    mtu: 9000,
    capabilityArgs: caps,
  },
  'l3-upstream/from-win-bridge-v2': {
    addresses: ['10.244.3.10/24'],
    gateways: ['10.244.3.2'],
    policies: [nat(['10.0.0.0/8', '10.96.0.0/12', '10.244.0.0/16']), route('10.96.0.0/12'), port(1)],
    dns: runtimeHnsDns,
    capabilityArgs: caps,
  },
  'win-overlay/minimal': {
    addresses: ['10.244.3.3/24'],
    gateways: ['10.244.3.1'],
    // The provider address the service put on the Overlay network (the test node's management IP).
    policies: [pa('192.168.10.21')],
    mac: '0E-2A-0A-F4-03-03',
    mtu: 1450,
  },
  'win-overlay/full': {
    // The range starts at .10.
    addresses: ['10.244.3.10/24'],
    gateways: ['10.244.3.1'],
    policies: [
      pa('192.168.10.21'),
      nat(['10.244.0.0/16', '10.96.0.0/12', '192.168.10.21/32', '10.244.3.0/24']),
      route('10.96.0.0/12'),
      dsr('10.244.3.10'),
      port(0),
      { Type: 'InterfaceParameters', Settings: { Mtu: 1450 } },
    ],
    dns: runtimeHnsDns,
    mac: '0E-2A-0A-F4-03-0A',
    mtu: 1450,
    capabilityArgs: caps,
  },
  'win-overlay/from-win-overlay': {
    // host-local's first address on a fresh /24 with its default gateway .1.
    addresses: ['10.244.3.2/24'],
    gateways: ['10.244.3.1'],
    policies: [nat(['10.244.0.0/16', '10.96.0.0/12']), route('10.96.0.0/12'), pa('192.168.10.21')],
    dns: { ServerList: ['10.96.0.10'], Search: ['svc.cluster.local'] },
    mac: '0E-2A-0A-F4-03-02',
    mtu: 1450,
  },
  'win-overlay/from-win-overlay-v2': {
    addresses: ['10.244.3.2/24'],
    gateways: ['10.244.3.1'],
    // The conf declares portMappings, but on Overlay host ports are opt-in ("hostPorts"), as upstream win-overlay never sends them.
    // The pod's own subnet joins the operator's exceptions: in-cluster, exempt by default (snatDefaultExceptions).
    policies: [nat(['10.96.0.0/12', '10.244.3.0/24']), route('10.96.0.0/12'), pa('192.168.10.21')],
    dns: runtimeHnsDns,
    mac: '0E-2A-0A-F4-03-02',
    mtu: 1450,
    capabilityArgs: caps,
  },
  'win-overlay/from-flannel-vxlan': {
    addresses: ['10.244.3.2/24'],
    gateways: ['10.244.3.1'],
    // ipMasq (upstream: the node's pod subnet is not SNATed) and ipMasqNetwork join the operator's OutBoundNAT.
    policies: [nat(['10.244.0.0/16', '10.96.0.0/12', '10.244.3.0/24']), route('10.96.0.0/12'), pa('192.168.10.21')],
    dns: runtimeHnsDns,
    mac: '0E-2A-0A-F4-03-02',
    mtu: 1450,
    capabilityArgs: caps,
  },
};
