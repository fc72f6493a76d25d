// Every example conflist on every Windows Server profile of the emulator (2019, 2022, 2025):
// ADD, CHECK, DEL, DEL at 1.0.0. What a host's HNS lacks must come back as the plugin's own
// documented error (code 107, naming the feature and the host's HNS version) before anything is
// sent: never as an HNS failure (100), never half-made.
//
// What each example asks of the host is written here by hand from the examples; what each
// profile lacks, from the emulator README's evidence (hcsshim hcnglobals.go gates, HNS_Schema.md).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { addNetworkList, checkNetworkList, type ConfList, delNetworkList, loadConfList, PluginError, type Runtime, type RuntimeAttachment } from '../../conformance/runtime/libcni';
import { emulatorAdmin } from '../../shared/hns/backends/emulator/admin';
import { DEBIAN_CNI_DIR, plugin, PLUGINS, ROOT, runExe, scratchNode, type ScratchNode } from '../helpers/node';

type Need = 'dual-stack' | 'loopbackDSR' | 'mtu';

/** What each example needs beyond a plain pod (its IPAM gives IPv6 too; loopbackDSR; mtu). */
const NEEDS: Record<string, Need[]> = {
  'win-l2bridge/full': ['dual-stack', 'loopbackDSR', 'mtu'],
  'win-l2bridge/from-win-bridge-v1': ['loopbackDSR'],
  'win-l2bridge/from-win-bridge-v2': ['loopbackDSR'],
  'host-gateway/full': ['loopbackDSR'],
  'host-gateway/from-win-bridge-v2': ['loopbackDSR'],
  'l3-upstream/full': ['dual-stack', 'mtu'],
  'win-overlay/full': ['loopbackDSR', 'mtu'],
};

/** What each profile's HNS lacks: dual-stack needs 11.10, DSR 9.3-9.x or 10.2+, InterfaceParameters (mtu) schema 2.4 (HNS 11.0). */
const PROFILES: Record<string, { hns: string; lacks: Need[] }> = {
  ws2019: { hns: '9.5', lacks: ['dual-stack', 'mtu'] },
  ws2022: { hns: '13.3', lacks: [] },
  ws2025: { hns: '15.4', lacks: [] },
};

/** The plugin checks in this order, so the first lacking need is the one named. */
const ORDER: Need[] = ['dual-stack', 'loopbackDSR', 'mtu'];
const MENTION: Record<Need, string> = { 'dual-stack': 'dual-stack', loopbackDSR: 'loopbackDSR', mtu: '"mtu"' };

const CONTAINER = '5e1d2c3b4a5968778695a4b3c2d1e0f0a1b2c3d4e5f60718293a4b5c6d7e8f90';

function examples(p: string): string[] {
  return fs.readdirSync(path.join(ROOT, 'plugins', p, 'examples')).filter((f) => f.endsWith('.conflist')).sort().map((f) => f.replace('.conflist', ''));
}

function nodeOn(profile: string, p: string): ScratchNode {
  const node = scratchNode('cni-profile-');
  node.env.CNI_HNS_EMULATOR_PROFILE = profile;
  emulatorAdmin(node.emulatorDir).setConfig({ managementIp: '192.168.10.21' });
  const r = runExe(plugin('hnsctl'), node.env, '', ['apply', path.join(ROOT, 'plugins', p, 'examples', 'node-network.json')]);
  assert.is(r.code, 0, r.stderr);
  return node;
}

/** The example at 1.0.0 (CHECK needs 0.4.0+; Debian's host-local stops at 1.0.0), its IPAM and log in the node. */
function at100(p: string, example: string, node: ScratchNode): ConfList {
  const list = loadConfList(path.join(ROOT, 'plugins', p, 'examples', `${example}.conflist`));
  list.cniVersion = '1.0.0';
  delete list.cniVersions;
  for (const c of list.plugins) {
    if (c.ipam) (c.ipam as Record<string, unknown>).dataDir = path.join(node.dir, 'ipam');
    if (c.logFile) c.logFile = node.logFile;
  }
  return list;
}

function podEndpoints(node: ScratchNode): unknown[] {
  return Object.values(emulatorAdmin(node.emulatorDir).readState().endpoints).filter((e: any) => e.Name?.startsWith(CONTAINER));
}

for (const [profile, host] of Object.entries(PROFILES)) {
  for (const p of PLUGINS) {
    for (const example of examples(p)) {
      const key = `${p}/${example}`;
      const missing = ORDER.filter((n) => (NEEDS[key] ?? []).includes(n) && host.lacks.includes(n));
      test(`${profile} (HNS ${host.hns}): ${key} ${missing.length ? `is refused with 107 naming ${missing[0]}` : 'ADD, CHECK, DEL, DEL'}`, async () => {
        const node = nodeOn(profile, p);
        try {
          const list = at100(p, example, node);
          const rt: Runtime = { binDirs: [node.binDir, DEBIAN_CNI_DIR], env: node.env, cacheDir: path.join(node.dir, 'cache') };
          const netns = runExe(plugin('hnsctl'), node.env, '', ['namespace', 'create']).stdout.trim();
          const a: RuntimeAttachment = { containerId: CONTAINER, ifName: 'eth0', netns, capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } };
          if (missing.length) {
            try {
              await addNetworkList(rt, list, a);
              assert.unreachable(`ADD succeeded on ${profile} though it lacks ${missing.join(', ')}`);
            } catch (err) {
              assert.instance(err, PluginError, String(err));
              const e = (err as PluginError).error!;
              assert.is(e.code, 107, e.msg);
              assert.match(e.msg, MENTION[missing[0]!]);
              assert.match(e.msg, host.hns);
            }
            assert.equal(podEndpoints(node), [], 'nothing made');
            await delNetworkList(rt, list, a);
          } else {
            await addNetworkList(rt, list, a);
            assert.is(podEndpoints(node).length, 1);
            await checkNetworkList(rt, list, a);
            await delNetworkList(rt, list, a);
            await delNetworkList(rt, list, a);
            assert.equal(podEndpoints(node), []);
          }
        } finally {
          node.cleanup();
        }
      });
    }
  }
}

test.run();
