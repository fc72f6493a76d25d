// Every example conflist of every plugin, through the built executable on the HNS emulator, at
// every CNI version: ADD, CHECK, DEL, DEL again, CHECK after DEL. Asserts the HCN documents the
// emulator received, the result in each version's format, and that nothing is left after DEL.
// IPAM is whatever the example uses: the built-in allocator, or Debian's real host-local.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { addNetworkList, buildRequest, type ConfList, delNetworkList, checkNetworkList, execPlugin, findPluginBinary, cniEnvironment, loadConfList, type Runtime, type RuntimeAttachment } from '../../conformance/runtime/libcni';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { DEBIAN_CNI_DIR, exampleNode, newNamespace, PLUGINS, ROOT, runExe, type ScratchNode } from '../helpers/node';
import { EXPECTATIONS, type ExampleExpectation } from './expectations';
import { assertEndpointDocuments, assertResult } from '../helpers/attachment-asserts';

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
/**
 * A delegated IPAM gets the request's version unchanged (spec §6.1), so an example that uses
 * host-local runs at the versions the installed host-local speaks (Debian's 1.1.1 stops at 1.0.0;
 * at 1.1.0 the plugin reports host-local's refusal, which the conformance harness checks).
 */
const HOST_LOCAL_VERSIONS: string[] = JSON.parse(runExe(path.join(DEBIAN_CNI_DIR, 'host-local'), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}').stdout).supportedVersions;

function versionsFor(list: ConfList): string[] {
  const usesHostLocal = list.plugins.some((p) => (p.ipam as { type?: string } | undefined)?.type === 'host-local');
  return usesHostLocal ? VERSIONS.filter((v) => HOST_LOCAL_VERSIONS.includes(v)) : VERSIONS;
}

const CONTAINER = '4f1c2e9a0b7d4c3e8f6a5b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e';

function examples(p: string): string[] {
  const dir = path.join(ROOT, 'plugins', p, 'examples');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.conflist')).sort();
}

/** The list at one version, with IPAM state of its own in the scratch node (allocation is round-robin). */
function atVersion(list: ConfList, v: string, node: ScratchNode): ConfList {
  const copy = structuredClone(list);
  copy.cniVersion = v;
  delete copy.cniVersions;
  for (const p of copy.plugins) {
    const ipam = p.ipam as Record<string, unknown> | undefined;
    if (ipam) ipam.dataDir = path.join(node.dir, `ipam-${v}`);
    // The examples name Windows paths; a test node keeps its log in its own folder.
    if (p.logFile) p.logFile = node.logFile;
  }
  return copy;
}

function assertDocuments(node: ScratchNode, list: ConfList, want: ExampleExpectation, netns: string) {
  assertEndpointDocuments(emulatorAdmin(node.emulatorDir).readCalls(), `${CONTAINER}_${list.name}`, want, netns);
}

/** Only what the node setup made is left: the network(s), the host bridge endpoint, no pod endpoint, no record, no address held. */
function assertNothingLeft(node: ScratchNode, list: ConfList) {
  const ipamRoot = (list.plugins[0]!.ipam as { dataDir?: string } | undefined)?.dataDir;
  const state = emulatorAdmin(node.emulatorDir).readState() as any;
  const pods = Object.values(state.endpoints).filter((e: any) => e.Name.startsWith(CONTAINER));
  assert.equal(pods, [], 'no pod endpoint left');
  const records = path.join(node.stateDir, 'attachments', list.name);
  assert.equal(fs.existsSync(records) ? fs.readdirSync(records) : [], [], 'no attachment record left');
  const ipamDir = path.join(ipamRoot ?? path.join(node.dir, 'none'), list.name);
  const held = fs.existsSync(ipamDir) ? fs.readdirSync(ipamDir).filter((f) => /^[0-9a-f.:_]+$/i.test(f) && /\d/.test(f)) : [];
  for (const f of held) {
    assert.not.match(fs.readFileSync(path.join(ipamDir, f), 'utf8'), CONTAINER, `address ${f} still held by the pod`);
  }
}

async function expectCheckFails(rt: Runtime, list: ConfList, a: RuntimeAttachment, prevResult: unknown) {
  const p = list.plugins[0]!;
  const out = await execPlugin(findPluginBinary(rt, String(p.type)), cniEnvironment(rt, 'CHECK', a), buildRequest(list, p, { prevResult, capabilityArgs: a.capabilityArgs }));
  assert.ok(out.code !== 0, 'CHECK after DEL fails');
  assert.is(JSON.parse(out.stdout).code, 104, out.stdout);
}

for (const p of PLUGINS) {
  for (const example of examples(p)) {
    const key = `${p}/${example.replace('.conflist', '')}`;
    test(`${key}: ADD, CHECK, DEL, DEL, CHECK at every version`, async () => {
      const want = EXPECTATIONS[key];
      assert.ok(want, `expectations for ${key}`);
      const node = exampleNode(p, 'cni-example-');
      try {
        const list = loadConfList(path.join(ROOT, 'plugins', p, 'examples', example));
        const rt: Runtime = { binDirs: [node.binDir, DEBIAN_CNI_DIR], env: node.env, cacheDir: path.join(node.dir, 'cache') };
        for (const v of versionsFor(list)) {
          const vlist = atVersion(list, v, node);
          const netns = newNamespace(node);
          const a: RuntimeAttachment = { containerId: CONTAINER, ifName: 'eth0', netns, args: [['IgnoreUnknown', '1'], ['K8S_POD_NAMESPACE', 'ns1'], ['K8S_POD_NAME', 'web-0'], ['K8S_POD_INFRA_CONTAINER_ID', CONTAINER]], capabilityArgs: want.capabilityArgs };
          emulatorAdmin(node.emulatorDir).clearCalls();
          const result = await addNetworkList(rt, vlist, a);
          assertResult(result, v, want, netns);
          assertDocuments(node, vlist, want, netns);
          const checkable = !['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v);
          if (checkable) await checkNetworkList(rt, vlist, a);
          await delNetworkList(rt, vlist, a);
          await delNetworkList(rt, vlist, a);
          assertNothingLeft(node, vlist);
          if (checkable) await expectCheckFails(rt, vlist, a, result);
        }
      } finally {
        node.cleanup();
      }
    });
  }
}

test.run();
