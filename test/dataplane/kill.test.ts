// kill -9 of a plugin during ADD on a node whose HNS emulator realizes its state in namespaces:
// whatever the ADD had made in Linux by then (a veth, addresses, routes, NAT rules), DEL and GC
// remove, and the pod can be added again and carries traffic. The kill points are found as the
// faults suite finds them (test/faults/strace.ts: strace's fault injection, one (syscall, N) per
// point, the killed call verified): the reference ADD's state-changing calls, picked by what they
// write (PHASES), one per phase that matters to the data plane.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildRequest } from '../../conformance/runtime/libcni';
import { describe, run } from '../faults/lib';
import { killPoints, runKilled, traceRun } from '../faults/strace';
import { DIST } from '../helpers/node';
import { setUpOnce } from '../helpers/setup';
import { PlaneCluster, type PlaneNode } from './cluster';
import { holdings, pingable, removeRunNamespaces, requireNetns, RUN, runNamespaces } from './fabric';

const CONTAINER = 'kill9-dataplane-7c1d2e9a0b7d4c3e8f6a';
/** The calls to die on: signature (strace.ts signatureOf) and occurrence in the reference ADD. */
const PHASES: { what: string; signature: string; occurrence: number; leavesLinux?: boolean }[] = [
  { what: 'creating the endpoint: nothing committed', signature: 'write ~/hns/store/journal.json', occurrence: 1 },
  { what: 'attaching it: the endpoint exists, unattached', signature: 'write ~/hns/store/journal.json', occurrence: 2 },
  { what: 'half-way through committing the attach (the journal is replayed)', signature: 'write ~/hns/store/obj/namespace/GUID.json', occurrence: 1 },
  { what: 'the attach committed, its realization not begun (HNS has it, Linux nothing)', signature: 'write ~/hns/dataplane/.applied.json.TMP', occurrence: 1 },
  { what: 'the attach realized (veth, addresses, routes, SNAT), not yet recorded', signature: 'write ~/hns/dataplane/.applied.json.TMP', occurrence: 2, leavesLinux: true },
  { what: 'everything realized, the dirty marker not yet removed', signature: 'unlink ~/hns/dataplane/dirty', occurrence: 2, leavesLinux: true },
  { what: 'the plugin recording the attachment, at the end of ADD', signature: 'rename ~/cni-state/attachments/cbr0/.kill9-dataplane-7c1d2e9a0b7d4c3e8f6a.json.TMP ~/cni-state/attachments/cbr0/kill9-dataplane-7c1d2e9a0b7d4c3e8f6a.json', occurrence: 2, leavesLinux: true },
];

let pc: PlaneCluster;
let node: PlaneNode;
let hnsNs: string;
let netns: string;

setUpOnce(test, async () => {
  requireNetns();
  pc = await PlaneCluster.create('host-gateway', 'kl', 1);
  await pc.startAgents();
  node = pc.nodes[0]!;
  // The node is made; its agent goes, so that only the plugins' own calls finish what a kill left.
  await pc.killAgent(node);
  hnsNs = pc.hnsctl(node, 'namespace', 'create');
  netns = node.admin.dataplaneNetns(hnsNs);
});

test.after(async () => {
  try {
    await pc?.down();
  } finally {
    await pc?.close();
    removeRunNamespaces(`${RUN}-kl-`);
    process.stdout.write(`\n  kill -9 suite: after teardown ${runNamespaces().filter((n) => n.startsWith(`${RUN}-kl-`)).length} of its namespaces left\n`);
  }
});

function env(command: string, ns = hnsNs): NodeJS.ProcessEnv {
  return { ...pc.env(node), CNI_COMMAND: command, CNI_CONTAINERID: command === 'GC' ? '' : CONTAINER, CNI_NETNS: command === 'GC' ? '' : ns, CNI_IFNAME: command === 'GC' ? '' : 'eth0', CNI_PATH: DIST };
}

function conf(extra: Record<string, unknown> = {}): string {
  const list = pc.conflist(node);
  return buildRequest(list, list.plugins[0]!, { capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }, extra });
}

/** What of the pod is in Linux: links, addresses, routes, NAT rules on the node and in the pod's namespace (the host endpoint's own are not). */
function podLeftovers(): string[] {
  const h = holdings(node.netns);
  const pod = holdings(netns);
  const hostEp = Object.values(node.admin.readState().endpoints).find((e) => e.Name === 'cbr0_ep')!.ID!.slice(0, 8).toLowerCase();
  return [
    ...h.links.filter((l) => l.startsWith('port') && !l.startsWith(`port${hostEp}`)).map((l) => `node link ${l}`),
    ...h.nat.map((l) => `node NAT ${l}`),
    ...pod.links.filter((l) => l !== 'lo').map((l) => `pod link ${l}`),
    ...pod.addresses.filter((a) => !a.startsWith('127.')).map((a) => `pod address ${a}`),
    ...pod.routes.filter((r) => !/^(local|broadcast|multicast|anycast) /.test(r) && !/ dev lo /.test(r) && !/^(::1|fe80::)/.test(r)).map((r) => `pod route ${r}`),
  ];
}

/** DEL then GC, synchronously (runKilled's reset between attempts). */
function cleanSync(): void {
  for (const command of ['DEL', 'GC'] as const) {
    const r = spawnSync(path.join(DIST, 'host-gateway'), [], { env: env(command), input: command === 'GC' ? conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }) : conf(), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${command} before a killed run: ${r.stdout}${r.stderr}`);
  }
}

async function verb(command: 'ADD' | 'DEL' | 'GC', stdin = conf()): Promise<void> {
  const r = await run(path.join(DIST, 'host-gateway'), env(command), command === 'GC' ? conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [] }) : stdin);
  if (r.code !== 0) throw new Error(`${command}: ${describe(r)}`);
}

test('kill -9 during ADD, in each phase: DEL and GC leave no link, address, route or rule of the pod; the next ADD carries traffic', async () => {
  const file = path.join(DIST, 'host-gateway');
  const hide = [node.dir];
  const ref = await traceRun(file, env('ADD'), conf(), hide);
  assert.is(ref.result.code, 0, `reference ADD: ${describe(ref.result)}`);
  await verb('DEL');
  const all = killPoints(ref.events, path.basename(file));
  if (process.env.CNI_FAULTS_DEBUG) for (const p of all) console.log(`${p.seq} ${p.syscall}#${p.nth} occ ${p.occurrence} ${p.signature}`);
  const failures: string[] = [];
  let ran = 0;
  let madeBefore = 0;
  for (const phase of PHASES) {
    const point = all.find((p) => p.signature === phase.signature && p.occurrence === phase.occurrence);
    if (!point) {
      failures.push(`no kill point "${phase.signature}" #${phase.occurrence} (${phase.what}) among the ${all.length} of the reference ADD`);
      continue;
    }
    ran++;
    // A run that died elsewhere is tried again (runKilled), from a clean node.
    const killed = await runKilled(file, env('ADD'), conf(), point, ref.events, cleanSync, hide);
    const problems: string[] = [];
    if (killed.result.signal !== 'SIGKILL') problems.push(`not killed (${describe(killed.result)})`);
    if (killed.landed?.signature !== point.signature) problems.push(`died on ${killed.landed?.signature ?? 'nothing'}`);
    // What the killed ADD left in Linux, for the DEL to remove.
    const before = podLeftovers();
    if (phase.leavesLinux && before.length === 0) problems.push('the killed ADD left nothing in Linux, so this phase tests nothing');
    madeBefore += before.length;
    try {
      await verb('DEL');
      await verb('GC');
    } catch (err) {
      problems.push((err as Error).message);
    }
    const left = podLeftovers();
    if (left.length) problems.push(`left after DEL and GC: ${left.join('; ')}`);
    if (problems.length) failures.push(`${phase.what} (${point.syscall}#${point.nth} ${point.signature}): ${problems.join('; ')}`);
  }
  // Then the pod can be added again, and it carries traffic.
  await verb('ADD');
  const ip = (node.admin.readState().endpoints && Object.values(node.admin.readState().endpoints).find((e) => e.Name?.startsWith(CONTAINER)))?.IpConfigurations?.[0]?.IpAddress;
  assert.ok(ip && pingable(node.netns, ip), `the pod added again (${ip}) does not answer its node`);
  await verb('DEL');
  assert.equal(podLeftovers(), [], 'nothing left after the last DEL');
  process.stdout.write(`\n  kill -9 during ADD: ${ran} phases of ${all.length} kill points; ${madeBefore} links/addresses/routes/rules of killed ADDs removed by DEL and GC, 0 left; ${failures.length} failed\n`);
  assert.equal(failures, []);
});

test.run();
