import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCniArgs } from '../../../shared/cni/args';
import { splitCniPath } from '../../../shared/cni/env';

const pairs = ['IgnoreUnknown=1', 'K8S_POD_NAMESPACE=default', 'K8S_POD_NAME=web-0', 'K8S_POD_INFRA_CONTAINER_ID=4f1ce9', 'K8S_POD_UID=0b6d'];

test('containerd keys in any order give the same pod identity', () => {
  const expected = { namespace: 'default', name: 'web-0', infraContainerId: '4f1ce9', uid: '0b6d' };
  const orders = [pairs, [...pairs].reverse(), [pairs[2], pairs[0], pairs[4], pairs[1], pairs[3]], [pairs[4], pairs[3], pairs[2], pairs[1], pairs[0]], [pairs[1], pairs[4], pairs[0], pairs[3], pairs[2]]];
  for (const order of orders) {
    const a = parseCniArgs(order.join(';'));
    assert.equal(a.pod, expected);
    assert.ok(a.ignoreUnknown);
  }
});

test('IgnoreUnknown accepts 1, true, True, TRUE; 0 and false are false', () => {
  for (const v of ['1', 'true', 'True', 'TRUE']) assert.ok(parseCniArgs(`IgnoreUnknown=${v}`).ignoreUnknown, v);
  for (const v of ['0', 'false', 'yes']) assert.not.ok(parseCniArgs(`IgnoreUnknown=${v}`).ignoreUnknown, v);
  assert.not.ok(parseCniArgs('K8S_POD_NAME=x').ignoreUnknown);
});

test('tolerant: empty segments, trailing ;, values with =, unknown keys, malformed segments', () => {
  const a = parseCniArgs(';K8S_POD_NAME=a=b;;FOO=1;junk;IP=10.244.3.50;');
  assert.is(a.pod.name, 'a=b');
  assert.is(a.values.get('FOO'), '1');
  assert.is(a.values.get('IP'), '10.244.3.50');
  assert.equal(a.malformed, ['junk']);
});

test('empty or absent CNI_ARGS is no args', () => {
  for (const raw of ['', undefined]) {
    const a = parseCniArgs(raw);
    assert.is(a.values.size, 0);
    assert.equal(a.pod, {});
  }
});

test('the last duplicate wins', () => {
  assert.is(parseCniArgs('K8S_POD_NAME=a;K8S_POD_NAME=b').pod.name, 'b');
});

test('CNI_PATH: ; on Windows (spaces, quotes), : elsewhere, empty segments dropped', () => {
  assert.equal(splitCniPath('C:\\Program Files\\containerd\\cni\\bin;"C:\\opt\\cni bin";;C:\\k\\cni\\bin', 'win32'), ['C:\\Program Files\\containerd\\cni\\bin', 'C:\\opt\\cni bin', 'C:\\k\\cni\\bin']);
  assert.equal(splitCniPath('/opt/cni/bin::/usr/lib/cni', 'linux'), ['/opt/cni/bin', '/usr/lib/cni']);
});

test.run();
