// The hybrid cluster the suite promises: a Linux node running flannel's vxlan backend (flannel.ts)
// beside the emulated Windows overlay nodes. Its flanneld reads the leases our agents publish; our
// agents read its lease from its Node's annotations and program the RemoteSubnetRoute that carries
// the Windows pods' replies back to it.

import * as assert from 'uvu/assert';
import type { RemoteSubnetRouteSettings } from '../../shared/hns/model/policy';
import { policiesOf, waitFor } from '../agent/cluster';
import { holdings, mentioning, ping } from './fabric';
import { FlannelLinuxNode, VNI } from './flannel';
import { echoes, type ExtraTests, reach } from './traffic';

const LINUX_IP = '192.168.10.100';
const LINUX_CIDR = '10.244.100.0/24';

export const hybridTests: ExtraTests = (test, world) => {
  test('hybrid: Linux flannel vxlan pods and the Windows overlay pods reach each other both ways; the return path is the RemoteSubnetRoute the agents make from the Linux Node\'s annotations', async () => {
    const { pc, pods } = world();
    const linux = new FlannelLinuxNode(pc.underlay, 'linux-1', LINUX_IP, LINUX_CIDR, pc.tag);
    linux.setUp();
    const lp = { ...(await linux.addPod(1)), name: 'linux-1 pod' };
    try {
      // flanneld on the Linux node learns the Windows leases our agents published.
      linux.syncLeases(pc.api);
      const win = pods[0]![0]!;
      // Without the Linux Node's lease the Windows nodes know no way back: the request arrives, the reply has no route.
      assert.not.ok(ping(lp.netns, win.ip), 'no reply before the Windows nodes have a RemoteSubnetRoute to the Linux node');
      pc.api.add(linux.nodeSpec());
      const want: RemoteSubnetRouteSettings = { DestinationPrefix: LINUX_CIDR, IsolationId: VNI, ProviderAddress: LINUX_IP, DistributedRouterMacAddress: linux.vtepMac };
      await waitFor('every Windows node routes the Linux lease', () => pc.nodes.every((n) => policiesOf(n).some((p) => JSON.stringify(p) === JSON.stringify(want))), 5_000);
      for (const w of [win, pods[1]![1]!]) {
        reach(lp, w, 'Linux -> Windows');
        reach(w, lp, 'Windows -> Linux');
        await echoes(lp.probe, w.ip, lp.ip, `Linux pod -> ${w.name}`);
        await echoes(w.probe, lp.ip, w.ip, `${w.name} -> Linux pod`);
      }
      // The Linux node leaves: its RemoteSubnetRoute, and so its route, neighbour and FDB entries, go from every Windows node.
      pc.api.remove(linux.name);
      let left: string[] = [];
      await waitFor('nothing of the Linux node left on the Windows nodes', () => {
        left = pc.nodes.flatMap((n) => mentioning(holdings(n.netns), [LINUX_CIDR, linux.vtepMac, LINUX_IP]).map((l) => `${n.name}: ${l}`));
        return left.length === 0;
      }, 5_000).catch(() => undefined);
      assert.equal(left, [], 'the Linux node\'s route, neighbour and FDB entries are gone');
      assert.not.ok(ping(lp.netns, win.ip), 'no reply once the Linux node is gone');
    } finally {
      lp.probe.stop();
    }
  });
};
