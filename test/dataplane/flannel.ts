// A Linux node as flanneld's vxlan backend sets one up (flannel-io/flannel at cdf76059), in its
// own namespace on the underlay, with its leases read from the same Node annotations our agents
// publish, derived as flannel derives them:
//   pkg/backend/vxlan/vxlan.go   the device `flannel.<VNI>`: VNI, the external interface as its
//                                device and local address, Port from the config (4789 here, as the
//                                Windows side needs), no learning, MTU of the interface - 50
//                                (device.go newVXLANDevice), its address the lease's network
//                                address /32 (configureDeviceIPv4IPv6 -> Configure), a random MAC
//                                published as VtepMAC;
//   pkg/backend/vxlan/vxlan_network.go handleSubnetEvents, per remote lease of backend-type
//                                vxlan: neighbour <lease subnet IP> -> VtepMAC (AddARP, permanent),
//                                FDB VtepMAC -> PublicIP (AddFDB, self, permanent), then the route
//                                <lease subnet> via <lease subnet IP> dev flannel.<VNI> onlink; on
//                                removal the three go;
//   pkg/subnet/kube/annotations.go the annotations: backend-data {"VNI","VtepMAC"}, backend-type,
//                                kube-subnet-manager, public-ip.
// Its pods hang off `cni0` (the bridge plugin flannel delegates to: the subnet's .1 is the gateway,
// forwarding on).

import crypto from 'node:crypto';
import type { NodeSpec, StandInApiServer } from '../agent/apiserver';
import { addUnderlayHost, ipBatch, nsExec, Probe, RUN, sh } from './fabric';

const FLANNEL = 'flannel.alpha.coreos.com';
export const VNI = 4096;
const PORT = 4789;
const DEVICE = `flannel.${VNI}`;

interface Lease {
  subnet: string;
  subnetIp: string;
  publicIp: string;
  vtepMac: string;
}

export class FlannelLinuxNode {
  readonly netns: string;
  readonly vtepMac: string;
  private leases = new Map<string, Lease>();

  constructor(readonly underlay: string, readonly name: string, readonly ip: string, readonly podCIDR: string, private readonly tag: string) {
    this.netns = `${RUN}-${tag}-${name}`;
    // mac.NewHardwareAddr: random, locally administered, unicast.
    const b = crypto.randomBytes(6);
    b[0] = (b[0]! & 0xfe) | 0x02;
    this.vtepMac = [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
  }

  private get subnetIp(): string {
    return this.podCIDR.split('/')[0]!;
  }

  private get gateway(): string {
    return this.subnetIp.replace(/\.0$/, '.1');
  }

  setUp(): void {
    addUnderlayHost(this.underlay, `${this.tag}-${this.name}`, `${this.ip}/24`, { forwarding: true });
    ipBatch(this.netns, [
      `link add name ${DEVICE} address ${this.vtepMac} mtu 1450 type vxlan id ${VNI} dev eth0 local ${this.ip} dstport ${PORT} nolearning`,
      `address add ${this.subnetIp}/32 dev ${DEVICE}`,
      `link set dev ${DEVICE} up`,
      'link add name cni0 type bridge',
      `address add ${this.gateway}/24 dev cni0`,
      'link set dev cni0 up',
    ]);
    const r = nsExec(this.netns, ['sh', '-c', `echo 0 > /proc/sys/net/ipv6/conf/${DEVICE}/accept_ra`]);
    if (!r.ok) throw new Error(`accept_ra on ${DEVICE}: ${r.err}`);
  }

  /** A pod on cni0 (what the bridge plugin makes): its namespace, veth, address, default route via the bridge. */
  async addPod(index: number): Promise<{ netns: string; ip: string; probe: Probe }> {
    const netns = `${this.netns}-p${index}`;
    const ip = this.subnetIp.replace(/\.0$/, `.${10 + index}`);
    if (!sh('ip', ['netns', 'add', netns]).ok) throw new Error(`ip netns add ${netns}`);
    ipBatch(this.netns, [`link add name veth${index} type veth peer name eth0 netns ${netns}`, `link set dev veth${index} master cni0 up`]);
    ipBatch(netns, ['link set dev lo up', 'link set dev eth0 mtu 1450 up', `address add ${ip}/24 dev eth0`, `route add default via ${this.gateway}`]);
    const probe = new Probe(netns, [5000]);
    await probe.ready;
    return { netns, ip, probe };
  }

  /** The Node flanneld (kube subnet manager) leaves: its lease in the annotations. */
  nodeSpec(): NodeSpec {
    return {
      name: this.name,
      podCIDRs: [this.podCIDR],
      internalIP: this.ip,
      labels: { 'kubernetes.io/os': 'linux' },
      annotations: {
        [`${FLANNEL}/backend-data`]: JSON.stringify({ VNI, VtepMAC: this.vtepMac }),
        [`${FLANNEL}/backend-type`]: 'vxlan',
        [`${FLANNEL}/kube-subnet-manager`]: 'true',
        [`${FLANNEL}/public-ip`]: this.ip,
      },
    };
  }

  /** The remote leases, read from every other Node's annotations as flannel's kube subnet manager reads them. */
  private leasesFrom(api: StandInApiServer): Map<string, Lease> {
    const out = new Map<string, Lease>();
    for (const n of api.allNodes()) {
      const a = n.metadata.annotations ?? {};
      if (n.metadata.name === this.name || a[`${FLANNEL}/kube-subnet-manager`] !== 'true' || a[`${FLANNEL}/backend-type`] !== 'vxlan') continue;
      const data = JSON.parse(a[`${FLANNEL}/backend-data`] ?? '{}') as { VNI?: number; VtepMAC?: string };
      const subnet = n.spec?.podCIDRs?.[0] ?? n.spec?.podCIDR;
      if (!data.VtepMAC || data.VNI !== VNI || !subnet || !a[`${FLANNEL}/public-ip`]) continue;
      out.set(n.metadata.name, { subnet, subnetIp: subnet.split('/')[0]!, publicIp: a[`${FLANNEL}/public-ip`]!, vtepMac: data.VtepMAC });
    }
    return out;
  }

  /** handleSubnetEvents for what changed since the last sync: removed leases first, then the added ones (ARP, FDB, then the route). */
  syncLeases(api: StandInApiServer): void {
    const now = this.leasesFrom(api);
    const ip: string[] = [];
    const fdb: string[] = [];
    for (const [name, l] of this.leases) {
      if (JSON.stringify(now.get(name)) === JSON.stringify(l)) continue;
      ip.push(`neigh delete ${l.subnetIp} dev ${DEVICE}`, `route delete ${l.subnet} via ${l.subnetIp} dev ${DEVICE} onlink`);
      fdb.push(`fdb delete ${l.vtepMac} dev ${DEVICE} dst ${l.publicIp} self`);
    }
    if (fdb.length) {
      ipBatch(this.netns, ip);
      bridgeBatch(this.netns, fdb);
    }
    const add: Lease[] = [...now].filter(([name, l]) => JSON.stringify(this.leases.get(name)) !== JSON.stringify(l)).map(([, l]) => l);
    for (const l of add) {
      ipBatch(this.netns, [`neigh replace ${l.subnetIp} lladdr ${l.vtepMac} dev ${DEVICE} nud permanent`]);
      bridgeBatch(this.netns, [`fdb replace ${l.vtepMac} dev ${DEVICE} dst ${l.publicIp} self permanent`]);
      ipBatch(this.netns, [`route replace ${l.subnet} via ${l.subnetIp} dev ${DEVICE} onlink`]);
    }
    this.leases = now;
  }
}

function bridgeBatch(netns: string, lines: string[]): void {
  const r = sh('bridge', ['-n', netns, '-batch', '-'], `${lines.join('\n')}\n`);
  if (!r.ok) throw new Error(`bridge -n ${netns}: ${r.err.trim()}`);
}
