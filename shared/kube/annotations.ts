// flannel's Node annotations, so that Linux nodes running flannel's vxlan backend and Windows
// nodes running this suite find each other. Names and formats as flannel writes and reads them
// (flannel-io/flannel, read at cdf76059):
//   pkg/subnet/kube/annotations.go   newAnnotations(prefix): "<prefix>/backend-data", "backend-type",
//                                    "public-ip", "kube-subnet-manager", ...; a prefix without "/"
//                                    gets one appended, one not ending in "/" or "-" gets "-";
//   pkg/subnet/kube/kube.go          a Node is a lease only with kube-subnet-manager "true"
//                                    (handleAddLeaseEvent); nodeToLease reads public-ip and
//                                    backend-data, the subnet from spec.podCIDRs (or spec.podCIDR);
//                                    AcquireLease writes backend-type, backend-data, public-ip and
//                                    kube-subnet-manager "true", public-ip taken from the node's own
//                                    "<prefix>/public-ip-overwrite" when it has one (its e2e test
//                                    test_public-ip-overwrite checks exactly that);
//                                    backend-data is decoded by encoding/json (keys in any case);
//   pkg/backend/vxlan/vxlan_network_windows.go  vxlanLeaseAttrs {VNI uint16; VtepMAC hardwareAddr},
//                                    marshalled as {"VNI":4096,"VtepMAC":"0e:2a:..."} (MarshalJSON
//                                    quotes net.HardwareAddr.String()); peers of backend-type other
//                                    than "vxlan" (case-insensitive) or VNI < 4096 are skipped;
//   pkg/backend/vxlan/vxlan_windows.go  a Windows node publishes its network's DrMacAddress as VtepMAC.

import { goMac } from '../node/peers';

export const DEFAULT_ANNOTATION_PREFIX = 'flannel.alpha.coreos.com';

export interface FlannelKeys {
  backendData: string;
  backendType: string;
  publicIp: string;
  publicIpOverwrite: string;
  subnetKubeManaged: string;
}

/** The annotation names for a prefix, by flannel's newAnnotations rules. */
export function flannelKeys(prefix = DEFAULT_ANNOTATION_PREFIX): FlannelKeys {
  let p = prefix;
  if (!p.includes('/')) p += '/';
  if (!p.endsWith('/') && !p.endsWith('-')) p += '-';
  return { backendData: `${p}backend-data`, backendType: `${p}backend-type`, publicIp: `${p}public-ip`, publicIpOverwrite: `${p}public-ip-overwrite`, subnetKubeManaged: `${p}kube-subnet-manager` };
}

export interface FlannelLease {
  backendType: string;
  publicIp?: string;
  vni?: number;
  vtepMac?: string;
}

/** A Node's flannel lease, if it has one (kube-subnet-manager "true"); malformed backend-data leaves VNI and MAC out. */
export function readFlannelLease(annotations: Record<string, string> | undefined, keys: FlannelKeys): FlannelLease | undefined {
  if (!annotations || annotations[keys.subnetKubeManaged] !== 'true') return undefined;
  const lease: FlannelLease = { backendType: annotations[keys.backendType] ?? '' };
  const ip = annotations[keys.publicIp];
  if (ip) lease.publicIp = ip;
  const data = annotations[keys.backendData];
  if (data) {
    try {
      const d = JSON.parse(data) as Record<string, unknown>;
      const field = (name: string) => (name in d ? d[name] : Object.entries(d).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]);
      const vni = field('VNI');
      const mac = field('VtepMAC');
      if (typeof vni === 'number') lease.vni = vni;
      if (typeof mac === 'string') lease.vtepMac = mac;
    } catch {
      /* not flannel's JSON: no VTEP, so no route to this peer */
    }
  }
  return lease;
}

/** The public-ip a node publishes: an operator's public-ip-overwrite on its Node (a node behind NAT), else its own address. */
export function publicIpToPublish(annotations: Record<string, string> | undefined, keys: FlannelKeys, own: string | undefined): string | undefined {
  return annotations?.[keys.publicIpOverwrite] || own;
}

/** What this node publishes: a vxlan lease with its DR MAC as VTEP MAC, as flannel's Windows backend does. */
export function flannelVxlanAnnotations(keys: FlannelKeys, lease: { vni: number; vtepMac: string; publicIp: string }): Record<string, string> {
  const mac = goMac(lease.vtepMac);
  if (!mac) throw new Error(`${lease.vtepMac} is not a MAC address`);
  return {
    [keys.backendData]: JSON.stringify({ VNI: lease.vni, VtepMAC: mac }),
    [keys.backendType]: 'vxlan',
    [keys.publicIp]: lease.publicIp,
    [keys.subnetKubeManaged]: 'true',
  };
}

/** The annotations of `want` whose value differs on the Node (what a merge patch must send). */
export function annotationChanges(current: Record<string, string> | undefined, want: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) if (current?.[k] !== v) out[k] = v;
  return out;
}
