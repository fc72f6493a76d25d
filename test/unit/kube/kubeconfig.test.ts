// Where the agent finds its credentials when the config names no kubeconfig: KUBECONFIG, as kubectl reads it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeApiError, kubeconfigFromEnv } from '../../../shared/kube/client';

test('KUBECONFIG naming one file is that file, on Windows (; lists) and Linux (: lists)', () => {
  assert.is(kubeconfigFromEnv({ KUBECONFIG: 'C:\\k\\config' }, ';'), 'C:\\k\\config');
  assert.is(kubeconfigFromEnv({ KUBECONFIG: 'C:\\k\\config;' }, ';'), 'C:\\k\\config');
  assert.is(kubeconfigFromEnv({ KUBECONFIG: '/etc/kubernetes/kubelet.conf' }, ':'), '/etc/kubernetes/kubelet.conf');
  assert.is(kubeconfigFromEnv({}, ':'), undefined);
});

test('KUBECONFIG naming several files is refused by name (kubectl would merge them)', () => {
  try {
    kubeconfigFromEnv({ KUBECONFIG: 'C:\\k\\a;C:\\k\\b' }, ';');
    assert.unreachable('expected a KubeApiError');
  } catch (err) {
    assert.instance(err, KubeApiError);
    assert.match((err as Error).message, /KUBECONFIG names 2 files \(C:\\k\\a, C:\\k\\b\)/);
  }
});

test.run();
