// Node objects shaped as a real cluster's, for the agent's benchmark: the fields of the v1 Node
// API reference (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/) as
// kubelet, kube-controller-manager and kubeadm fill them in: well-known labels and annotations,
// managedFields of each writer, providerID, conditions with heartbeat times, capacity and
// allocatable, addresses, daemonEndpoints, nodeInfo, volumesInUse/Attached, and status.images with 50 entries (kubelet's
// --node-status-max-images default) of digest and tag names. About 17 KiB of JSON each, as the
// Nodes of the 5,000-node measurement. Deterministic: Node i is the same at every run.

import type { NodeDoc, NodeSpec } from './apiserver';

const REGISTRIES = ['mcr.microsoft.com/windows/servercore/iis', 'mcr.microsoft.com/oss/kubernetes/pause', 'contoso.azurecr.io/storefront/web-frontend', 'mcr.microsoft.com/oss/kubernetes/kube-proxy', 'contoso.azurecr.io/payments/payments-api', 'mcr.microsoft.com/oss/kubernetes-csi/azuredisk-csi', 'mcr.microsoft.com/dotnet/framework/aspnet', 'contoso.azurecr.io/platform/fluent-bit-windows'];

/** A hex string of n characters, the same for the same seed. */
function hex(seed: number, n: number): string {
  let x = (seed * 2654435761) >>> 0;
  let out = '';
  while (out.length < n) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, n);
}

function images(i: number): { names: string[]; sizeBytes: number }[] {
  return Array.from({ length: 50 }, (_, k) => {
    const repo = REGISTRIES[(i + k) % REGISTRIES.length]!;
    return { names: [`${repo}@sha256:${hex(i * 64 + k, 64)}`, `${repo}:v1.${k}.${i % 7}-windowsservercore-ltsc2022-amd64-${hex(k, 7)}`], sizeBytes: 100_000_000 + ((i * 7919 + k * 104729) % 5_000_000_000) };
  });
}

function managedFields(at: string): unknown[] {
  const f = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, {}]));
  return [
    { manager: 'kubeadm', operation: 'Update', apiVersion: 'v1', time: at, fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': f(['f:kubeadm.alpha.kubernetes.io/cri-socket']) } } },
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: at, fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': f(['f:node.alpha.kubernetes.io/ttl']) }, 'f:spec': { 'f:podCIDR': {}, 'f:podCIDRs': { '.': {}, 'v:"10.244.0.0/24"': {} } } } },
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: at, fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {}, 'f:volumes.kubernetes.io/controller-managed-attach-detach': {} }, 'f:labels': { '.': {}, ...f(['f:beta.kubernetes.io/arch', 'f:beta.kubernetes.io/os', 'f:kubernetes.io/arch', 'f:kubernetes.io/hostname', 'f:kubernetes.io/os', 'f:node.kubernetes.io/windows-build']) } }, 'f:spec': { 'f:providerID': {} } } },
    { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: at, fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:allocatable': f(['f:cpu', 'f:ephemeral-storage', 'f:memory', 'f:pods']), 'f:capacity': f(['f:cpu', 'f:ephemeral-storage', 'f:memory', 'f:pods']), 'f:conditions': Object.fromEntries(['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready'].map((t) => [`k:{"type":"${t}"}`, f(['f:lastHeartbeatTime', 'f:lastTransitionTime', 'f:message', 'f:reason', 'f:status'])])), 'f:images': {}, 'f:nodeInfo': f(['f:bootID', 'f:containerRuntimeVersion', 'f:kernelVersion', 'f:kubeProxyVersion', 'f:kubeletVersion', 'f:machineID', 'f:operatingSystem', 'f:osImage', 'f:systemUUID']) } } },
  ];
}

/** Fills in a Node's other fields as a real cluster's; the stand-in API server's `dress` option. */
export function dressRealNode(doc: NodeDoc, spec: NodeSpec): void {
  const i = Number(/(\d+)$/.exec(spec.name)?.[1] ?? 0);
  const at = '2024-05-14T08:21:37Z';
  const windows = !spec.labels?.['kubernetes.io/os'] || spec.labels['kubernetes.io/os'] === 'windows';
  doc.metadata.labels = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': windows ? 'windows' : 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': spec.name,
    'kubernetes.io/os': windows ? 'windows' : 'linux',
    'node.kubernetes.io/instance-type': 'Standard_D4s_v5',
    'node.kubernetes.io/windows-build': '10.0.20348',
    'topology.kubernetes.io/region': 'westeurope',
    'topology.kubernetes.io/zone': `westeurope-${1 + (i % 3)}`,
    ...spec.labels,
  };
  doc.metadata.annotations = {
    'kubeadm.alpha.kubernetes.io/cri-socket': 'npipe:////./pipe/containerd-containerd',
    'node.alpha.kubernetes.io/ttl': '0',
    'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
    'csi.volume.kubernetes.io/nodeid': JSON.stringify({ 'disk.csi.azure.com': spec.name, 'file.csi.azure.com': spec.name }),
    ...doc.metadata.annotations,
  };
  doc.metadata.managedFields = managedFields(at);
  doc.spec.providerID = `azure:///subscriptions/${hex(1, 8)}-${hex(2, 4)}-${hex(3, 4)}-${hex(4, 4)}-${hex(5, 12)}/resourceGroups/mc_cluster/providers/Microsoft.Compute/virtualMachineScaleSets/akswin/virtualMachines/${i}`;
  const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, lastHeartbeatTime: at, lastTransitionTime: '2024-05-01T00:00:00Z', reason, message });
  Object.assign(doc.status, {
    capacity: { cpu: '4', 'ephemeral-storage': '133703676Ki', memory: '16776748Ki', pods: '30' },
    allocatable: { cpu: '3860m', 'ephemeral-storage': '133703676Ki', memory: '12685868Ki', pods: '30' },
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: { machineID: spec.name, systemUUID: `${hex(i, 8)}-${hex(i + 1, 4)}-${hex(i + 2, 4)}-${hex(i + 3, 4)}-${hex(i + 4, 12)}`, bootID: '', kernelVersion: '10.0.20348.2340', osImage: 'Windows Server 2022 Datacenter', containerRuntimeVersion: 'containerd://1.7.15', kubeletVersion: 'v1.30.1', kubeProxyVersion: 'v1.30.1', operatingSystem: windows ? 'windows' : 'linux', architecture: 'amd64' },
    images: images(i),
    volumesInUse: [0, 1, 2].map((v) => `kubernetes.io/csi/disk.csi.azure.com^/subscriptions/${hex(1, 8)}/resourceGroups/mc_cluster/providers/Microsoft.Compute/disks/pvc-${hex(i * 3 + v, 8)}`),
    volumesAttached: [0, 1, 2].map((v) => ({ name: `kubernetes.io/csi/disk.csi.azure.com^/subscriptions/${hex(1, 8)}/resourceGroups/mc_cluster/providers/Microsoft.Compute/disks/pvc-${hex(i * 3 + v, 8)}`, devicePath: '' })),
  });
}
