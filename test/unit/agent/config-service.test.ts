// cni-agent's configuration (shared/config/agent.ts: the precompiled schema, errors naming the
// key, defaults) and its Windows service state machine (tools/cni-agent/service.ts, apart from the FFI).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentConfigError, parseAgentConfig } from '../../../shared/config/agent';
import { SERVICE_ACCEPT, SERVICE_CONTROL, SERVICE_STATE, ServiceController, type ServiceStatus } from '../../../tools/cni-agent/service';
import { parsePeerFile, PeerFileError } from '../../../tools/cni-agent/peers-file';

const base = { mode: 'host-gateway', network: 'cbr0', node: 'win-1', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', confDir: 'C:\\Program Files\\containerd\\cni\\conf', peers: { source: 'kubernetes' } };

function error(doc: unknown): AgentConfigError {
  try {
    parseAgentConfig(JSON.stringify(doc), 'agent.json', {}, 'win32');
  } catch (err) {
    assert.instance(err, AgentConfigError);
    return err as AgentConfigError;
  }
  throw new Error('accepted');
}

test('defaults: the Windows paths beside the binaries, port 9925, 10 s reconcile, 3600 s resync, VNI 4096 / 4789, builtin IPAM', () => {
  const c = parseAgentConfig(JSON.stringify(base), 'C:\\k\\agent.json', {}, 'win32');
  assert.is(c.listen.host, '127.0.0.1');
  assert.is(c.listen.port, 9925);
  assert.equal([c.reconcileMs, c.resyncMs, c.networkWaitMs, c.hnsTimeoutMs], [10_000, 3_600_000, 45_000, 30_000]);
  assert.equal([c.vni, c.vxlanPort, c.ipam, c.cniVersion, c.conflistName], [4096, 4789, 'builtin', '1.0.0', '10-cbr0.conflist']);
  assert.equal(c.flannel, { annotationPrefix: 'flannel.alpha.coreos.com', publish: true });
  assert.equal(c.peers, { source: 'kubernetes' });
  assert.equal([c.podCIDRs, c.nodeIPs, c.clusterCIDRs], [[], [], ['10.244.0.0/16']]);
  const linux = parseAgentConfig(JSON.stringify({ ...base, confDir: 'conf', peers: { source: 'file', file: 'peers.json' }, podCIDR: '10.244.1.0/24', nodeIP: '192.168.10.11', listen: ':0' }), '/etc/agent/agent.json', { CNI_STATE_DIR: '/var/lib/x' }, 'linux');
  assert.equal([linux.confDir, linux.stateDir, linux.logFile], ['/etc/agent/conf', '/var/lib/x/agent', '/var/log/cni-plugins/cni-agent.log']);
  assert.equal(linux.peers, { source: 'file', file: '/etc/agent/peers.json' });
  assert.is(linux.listen.port, 0);
});

test('errors name the key', () => {
  assert.is(error({ ...base, mode: 'vxlan' }).key, 'mode');
  const { node: _n, ...noNode } = base;
  assert.is(error(noNode).key, 'node');
  assert.is(parseAgentConfig(JSON.stringify(noNode), 'agent.json', {}, 'win32', { node: 'from-args' }).node, 'from-args', '--node');
  assert.is(parseAgentConfig(JSON.stringify({ ...base, node: 'WIN-NODE1' }), 'agent.json', {}, 'win32').node, 'win-node1', 'a Windows host name, as the kubelet names its Node');
  assert.is(error({ ...base, network: '' }).key, 'network');
  assert.is(error({ ...base, vni: 1 }).key, 'vni');
  assert.match(error({ ...base, mode: 'win-overlay', vni: 1 }).message, /key "vni" must be >= 4096, got 1/);
  assert.is(error({ ...base, serviceCIDR: ['10.96.0.0/12', '10.97.0.0/16', 'fd00::/108'] }).key, 'serviceCIDR');
  assert.is(error({ ...base, peers: { source: 'file' } }).key, 'peers.file');
  assert.is(error({ ...base, peers: { source: 'file', file: 'p.json' } }).key, 'podCIDR');
  assert.is(error({ ...base, listen: '0.0.0.0:9925' }).key, 'listen', 'the probes stay on loopback');
  assert.is(error({ ...base, mode: 'win-overlay', podCIDR: 'fd00::/64' }).key, 'podCIDR');
  assert.is(error({ ...base, flannel: { prefix: 'x' } }).key, 'flannel.prefix');
  assert.match(error({ ...base, typo: 1 }).message, /agent\.json: key "typo" is not allowed here/);
  assert.match(new AgentConfigError('f', undefined, 'x').name, /AgentConfigError/);
  try {
    parseAgentConfig('{nope', 'agent.json');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /agent\.json is not valid JSON/);
  }
});

test('the peer file: entries checked with errors naming the entry and key', () => {
  assert.equal(parsePeerFile('[{"name":"b","nodeIP":"192.168.10.12","podCIDR":"10.244.2.0/24","vtepMac":"0e:2a:00:00:00:02"}]', 'p.json'), [{ name: 'b', nodeIPs: ['192.168.10.12'], podCIDRs: ['10.244.2.0/24'], vtepMac: '0e:2a:00:00:00:02' }]);
  const bad = (text: string, key: string) => {
    try {
      parsePeerFile(text, 'p.json');
      assert.unreachable(text);
    } catch (err) {
      assert.instance(err, PeerFileError);
      assert.is((err as PeerFileError).key, key);
    }
  };
  bad('[{"name":"b","nodeIP":"x","podCIDR":"10.244.2.0/24"}]', '[0].nodeIP');
  bad('[{"name":"b","nodeIP":"1.2.3.4","podCIDR":"10.244.2.1/24"}]', '[0].podCIDR');
  bad('[{"name":"b","nodeIP":"1.2.3.4"},{"name":"b","nodeIP":"1.2.3.5"}]', '[1].name');
  bad('[{"name":"b","nodeIP":"1.2.3.4","mac":"x"}]', '[0].mac');
  bad('{}', undefined as unknown as string);
});

test('the service state machine: START_PENDING with a wait hint, RUNNING accepting stop and shutdown, STOP_PENDING on stop, STOPPED with the exit code', async () => {
  const seen: ServiceStatus[] = [];
  const s = new ServiceController((x) => seen.push(x));
  s.starting();
  s.running();
  assert.is(s.control(SERVICE_CONTROL.INTERROGATE), 0);
  assert.is(s.control(0x80), 120, 'anything else: ERROR_CALL_NOT_IMPLEMENTED');
  assert.is(s.control(SERVICE_CONTROL.STOP), 0);
  assert.is(s.control(SERVICE_CONTROL.STOP), 0, 'a second stop changes nothing');
  assert.is(await s.stopped, 'service stop');
  s.finished(0);
  assert.equal(seen.map((x) => [x.dwCurrentState, x.dwCheckPoint, x.dwWaitHint > 0, x.dwControlsAccepted]), [
    [SERVICE_STATE.START_PENDING, 1, true, 0],
    [SERVICE_STATE.RUNNING, 0, false, SERVICE_ACCEPT.STOP | SERVICE_ACCEPT.SHUTDOWN | SERVICE_ACCEPT.PRESHUTDOWN],
    [SERVICE_STATE.STOP_PENDING, 2, true, 0],
    [SERVICE_STATE.STOPPED, 0, false, 0],
  ]);
  assert.ok(seen.every((x) => x.dwServiceType === 0x10));
  const failed: ServiceStatus[] = [];
  const f = new ServiceController((x) => failed.push(x));
  f.starting();
  f.finished(3);
  assert.equal([failed[1]!.dwWin32ExitCode, failed[1]!.dwServiceSpecificExitCode], [1066, 3], 'ERROR_SERVICE_SPECIFIC_ERROR with the agent\'s code');
});

test('deploy/cni-agent.yaml: RBAC to list, watch and patch Nodes; a HostProcess DaemonSet running the node\'s agent with --node from spec.nodeName', async () => {
  const yaml = (await import('js-yaml')).default;
  const fs = await import('node:fs');
  const docs = yaml.loadAll(fs.readFileSync(`${__dirname}/../../../deploy/cni-agent.yaml`, 'utf8')) as { kind: string; rules?: { verbs: string[]; resources: string[] }[]; spec?: any; data?: Record<string, string> }[];
  assert.equal(docs.map((d) => d.kind), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
  const role = docs.find((d) => d.kind === 'ClusterRole')!;
  assert.equal(role.rules!.flatMap((r) => r.verbs).sort(), ['get', 'list', 'patch', 'watch']);
  assert.ok(role.rules!.every((r) => r.resources.join() === 'nodes'));
  const pod = docs.find((d) => d.kind === 'DaemonSet')!.spec.template.spec;
  assert.is(pod.securityContext.windowsOptions.hostProcess, true);
  assert.is(pod.hostNetwork, true);
  assert.match(pod.containers[0].command.join(' '), /cni-agent\.exe --config .*--node \$env:NODE_NAME/);
  assert.is(pod.containers[0].env[0].valueFrom.fieldRef.fieldPath, 'spec.nodeName');
  const cfg = docs.find((d) => d.kind === 'ConfigMap')!.data!['agent.json']!;
  const parsed = parseAgentConfig(cfg, 'C:\\hpc\\etc\\cni-agent\\agent.json', {}, 'win32', { node: 'win-node-1' });
  assert.is(parsed.node, 'win-node-1');
  assert.is(parsed.listen.port, 9925);
});

test.run();
