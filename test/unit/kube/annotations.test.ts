// flannel's Node annotations (shared/kube/annotations.ts) and Nodes as peers (nodes.ts): the
// names follow flannel's newAnnotations (pkg/subnet/kube/annotations.go and its test cases), the
// lease is read and written in flannel's formats.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { annotationChanges, flannelKeys, flannelVxlanAnnotations, publicIpToPublish, readFlannelLease } from '../../../shared/kube/annotations';
import { nodeInfo, peerOf, sameForAgent } from '../../../shared/kube/nodes';

test('annotation names for a prefix, as flannel derives them (annotations_test.go cases)', () => {
  assert.is(flannelKeys('flannel.alpha.coreos.com').backendType, 'flannel.alpha.coreos.com/backend-type');
  assert.is(flannelKeys('flannel.alpha.coreos.com/').backendType, 'flannel.alpha.coreos.com/backend-type');
  assert.is(flannelKeys('flannel.alpha.coreos.com/prefix').backendType, 'flannel.alpha.coreos.com/prefix-backend-type');
  assert.is(flannelKeys('flannel.alpha.coreos.com/prefix-').backendType, 'flannel.alpha.coreos.com/prefix-backend-type');
  assert.equal(flannelKeys(), {
    backendData: 'flannel.alpha.coreos.com/backend-data',
    backendType: 'flannel.alpha.coreos.com/backend-type',
    publicIp: 'flannel.alpha.coreos.com/public-ip',
    publicIpOverwrite: 'flannel.alpha.coreos.com/public-ip-overwrite',
    subnetKubeManaged: 'flannel.alpha.coreos.com/kube-subnet-manager',
  });
});

test('a lease is read only from a Node flannel manages; malformed backend-data gives no VTEP', () => {
  const k = flannelKeys();
  const a = { [k.subnetKubeManaged]: 'true', [k.backendType]: 'vxlan', [k.publicIp]: '192.168.10.21', [k.backendData]: '{"VNI":4096,"VtepMAC":"ae:4f:1c:22:01:9b"}' };
  assert.equal(readFlannelLease(a, k), { backendType: 'vxlan', publicIp: '192.168.10.21', vni: 4096, vtepMac: 'ae:4f:1c:22:01:9b' });
  assert.is(readFlannelLease({ ...a, [k.subnetKubeManaged]: 'false' }, k), undefined);
  assert.equal(readFlannelLease({ ...a, [k.backendData]: 'not json' }, k), { backendType: 'vxlan', publicIp: '192.168.10.21' });
  // flannel decodes backend-data with encoding/json: keys in any case.
  assert.equal(readFlannelLease({ ...a, [k.backendData]: '{"vni":4096,"vtepmac":"ae:4f:1c:22:01:9b"}' }, k), { backendType: 'vxlan', publicIp: '192.168.10.21', vni: 4096, vtepMac: 'ae:4f:1c:22:01:9b' });
});

test('the public-ip published is the Node\'s public-ip-overwrite when an operator set one (flannel kube.go, e2e test_public-ip-overwrite)', () => {
  const k = flannelKeys();
  assert.is(publicIpToPublish({ [k.publicIpOverwrite]: '203.0.113.7' }, k, '192.168.10.21'), '203.0.113.7');
  assert.is(publicIpToPublish({ [k.publicIpOverwrite]: '' }, k, '192.168.10.21'), '192.168.10.21');
  assert.is(publicIpToPublish(undefined, k, '192.168.10.21'), '192.168.10.21');
});

test('this node\'s lease: its DR MAC as flannel writes a MAC, VNI, public IP, and the subnet-manager mark', () => {
  const k = flannelKeys();
  const want = flannelVxlanAnnotations(k, { vni: 4096, vtepMac: '00-15-5D-D0-00-01', publicIp: '192.168.10.11' });
  assert.equal(want, {
    'flannel.alpha.coreos.com/backend-data': '{"VNI":4096,"VtepMAC":"00:15:5d:d0:00:01"}',
    'flannel.alpha.coreos.com/backend-type': 'vxlan',
    'flannel.alpha.coreos.com/public-ip': '192.168.10.11',
    'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
  });
  assert.equal(annotationChanges({ ...want, other: 'x' }, want), {});
  assert.equal(annotationChanges({ 'flannel.alpha.coreos.com/public-ip': '10.0.0.1' }, want), want);
});

test('a Node as a peer: pod subnets (podCIDRs, else podCIDR), flannel\'s public-ip before the InternalIPs, VTEP from a vxlan lease', () => {
  const k = flannelKeys();
  const n = nodeInfo({
    metadata: { name: 'linux-1', annotations: { [k.subnetKubeManaged]: 'true', [k.backendType]: 'vxlan', [k.publicIp]: '192.168.10.100', [k.backendData]: '{"VNI":4096,"VtepMAC":"ae:4f:1c:22:01:9b"}' } },
    spec: { podCIDR: '10.244.100.0/24' },
    status: { addresses: [{ type: 'Hostname', address: 'linux-1' }, { type: 'InternalIP', address: '10.0.0.100' }] },
  }, k)!;
  assert.equal(peerOf(n, k), { name: 'linux-1', nodeIPs: ['192.168.10.100', '10.0.0.100'], podCIDRs: ['10.244.100.0/24'], vtepMac: 'ae:4f:1c:22:01:9b', vni: 4096 });
  const hostgw = nodeInfo({ metadata: { name: 'w' }, spec: { podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] }, status: { addresses: [{ type: 'InternalIP', address: '192.168.10.11' }] } }, k)!;
  assert.equal(peerOf(hostgw, k), { name: 'w', nodeIPs: ['192.168.10.11'], podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] });
  // Trimmed as decoded: of the annotations only flannel's are kept, and nothing of status but the InternalIPs.
  const kubelet = (heartbeat: string) => ({
    metadata: { name: 'w', annotations: { 'node.alpha.kubernetes.io/ttl': '0', [k.backendType]: 'vxlan', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
    spec: { podCIDRs: ['10.244.1.0/24'] },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.10.11' }], conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: heartbeat }], images: [{ names: ['mcr.microsoft.com/pause:3.9'], sizeBytes: 1 }] },
  });
  const before = nodeInfo(kubelet('2024-01-01T00:00:00Z'), k)!;
  assert.equal(before, { name: 'w', podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.168.10.11'], annotations: { [k.backendType]: 'vxlan' } });
  // Only what the agent reads makes a change worth a pass (flannel's handleUpdateLeaseEvent compares the same way).
  assert.ok(sameForAgent(before, nodeInfo(kubelet('2024-01-01T00:05:00Z'), k)), 'a heartbeat changes nothing the agent keeps');
  assert.not.ok(sameForAgent(hostgw, { ...hostgw, internalIPs: ['192.168.10.12'] }));
  assert.not.ok(sameForAgent(before, { ...before, annotations: {} }));
  assert.is(nodeInfo({ metadata: {} }, k), undefined);
});

test.run();
