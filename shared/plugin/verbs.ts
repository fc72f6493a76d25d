// ADD, DEL, CHECK, GC and STATUS for any mode: the conf checked before anything changes, the
// IPAM and the pod's endpoint in the right order, and every failure undone or reported.

import { CniError, ErrorCode } from '../cni/errors';
import { parseResult } from '../cni/result/convert';
import type { Result100 } from '../cni/result/v100';
import { type CniRequest, hnsTimeoutSecondsOf } from '../cni/skel';
import { writeStderr } from '../cni/stdio';
import { checkConf } from '../config/load';
import type { NetConf } from '../config/types';
import { checkIpamConf, ipamForRelease, openIpam, type Ipam, type ValidAttachment } from '../ipam/index';
import { hostLocalSubnets, removeAbandonedHolds, reserveInHostLocal } from '../ipam/hostlocal';
import { type Cidr, contains, formatCidr, parseCidr } from '../net/ip';
import { errorText } from '../log/logger';
import {
  addPodEndpoint, assertNotAttached, checkPodEndpoint, collectGarbage, deletePodEndpoint, findNetwork, findPodEndpoint, namespaceGuid, namespaceMembers, networkStatus, NO_CONTAINER_HINT,
  type PodRef, sameGuid, withPodLock,
} from '../pod/index';
import { portMappingPolicies } from '../policy/port-mapping';
import { rawEndpointPolicies } from '../policy/raw';
import { stateDir } from '../sys/paths';
import type { HostComputeNetwork } from '../hns/model/network';
import { openContext, type InvocationContext } from './context';
import { assignedAddresses, type EndpointPlan, networkSubnets, planEndpoint } from './endpoint';
import type { Mode } from './mode';
import { buildResult } from './result';
import path from 'node:path';

/** The conf, checked against the mode's schema; nothing has changed yet when this throws. */
function loadConf<C extends NetConf>(req: CniRequest, mode: Mode<C>): C {
  const conf = req.log.stepSync('check-conf', () => {
    const checked = checkConf<C>(req.conf, mode.validate, mode.plugin);
    checkIpamConf(checked, req.platform);
    return checked;
  });
  const skipped = rawEndpointPolicies(conf).skipped;
  if (skipped.length) warn(req, 'policies-skipped', `policies not applied to pod endpoints (a network policy belongs to the network, which the node setup creates): ${skipped.join(', ')}`);
  return conf;
}

/** One warning: a line on stderr (the runtime logs it) and in our log. */
function warn(req: CniRequest, event: string, text: string): void {
  writeStderr(`warning: ${text}\n`);
  req.log.event(event, { warning: text }, 'warning');
}

function podRef(req: CniRequest, conf: NetConf): PodRef {
  return { containerId: req.cmd.containerId, ifName: req.cmd.ifName, network: conf.name, netns: req.cmd.netns };
}

function ipamFor<C extends NetConf>(req: CniRequest, conf: C, mode: Mode<C>, net?: HostComputeNetwork): Ipam | undefined {
  return openIpam(req, conf, { defaultDataDir: defaultIpamDir(req), modeReserved: mode.reservedGateways(conf, net) });
}

/** The IPAM for releasing the attachment's address (DEL): it allocates nothing, so no gateway is reserved. */
function releasingIpam(req: CniRequest, conf: NetConf): Ipam | undefined {
  return openIpam(req, conf, { defaultDataDir: defaultIpamDir(req), modeReserved: [] });
}

function defaultIpamDir(req: CniRequest): string {
  return path.join(stateDir(req.env, req.platform), 'ipam');
}

/** The bridged modes hold the pods' gateway in host-local's store (shared/ipam/hostlocal.ts). */
function holdsGatewayInHostLocal<C extends NetConf>(conf: C, mode: Mode<C>): boolean {
  return conf.ipam?.type === 'host-local' && mode.bridged;
}

async function withContext<T>(req: CniRequest, conf: NetConf, fn: (ctx: InvocationContext) => Promise<T>): Promise<T> {
  const ctx = await openContext(req, conf);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close().catch(() => undefined);
  }
}

// --- ADD ------------------------------------------------------------------------------------

export async function addAttachment<C extends NetConf>(req: CniRequest, mode: Mode<C>): Promise<Result100> {
  const conf = loadConf(req, mode);
  const ref = podRef(req, conf);
  namespaceGuid(ref.netns);
  // Port mappings and raw policies are checked now, before the IPAM allocates anything.
  portMappingPolicies(conf.runtimeConfig?.portMappings, { localRoutedVip: mode.bridged, ipv6: mode.ipv6 });
  return withContext(req, conf, (ctx) => withPodLock(ctx, ref.containerId, async () => {
    const found = await findNetwork(ctx, conf.name, mode.networkTypes);
    const net = mode.networkReady ? await mode.networkReady({ conf, net: found, reread: () => ctx.client.getNetworkById(found.ID!), log: req.log }) : found;
    // Before the IPAM: a second ADD must fail without its rollback freeing the first one's address.
    const stale = await req.log.step('check-existing', () => assertNotAttached(ctx, ref));
    const ipam = ipamFor(req, conf, mode, net);
    if (holdsGatewayInHostLocal(conf, mode)) reserveGateways(req, conf, mode, net);
    const allocated = ipam ? await req.log.step('ipam-add', () => ipam.add({ reuse: !!stale }), (r) => ({ ipam: ipam.kind, ips: r.ips?.map((i) => i.address), reused: !!stale })) : undefined;
    try {
      const plan = await req.log.step('plan-endpoint', () => planEndpoint({
        mode, conf, net,
        addresses: allocated ? (allocated.ips ?? []).map((i) => i.address) : undefined,
        ipamRoutes: allocated?.routes,
        features: () => ctx.client.features(),
      }), (p) => ({ policies: p.policies.map((x) => x.Type), hnsAssigned: p.hnsAssigned }));
      for (const w of plan.warnings) warn(req, 'plan-warning', w);
      warnIfClusterSnated(req, mode, conf, net, plan);
      const { endpoint } = await addPodEndpoint(ctx, ref, net, plan.request, { policiesAfterCreate: plan.policiesAfterCreate });
      const result = buildResult(req, endpoint, { ...plan, addresses: assignedAddresses(plan, endpoint) });
      if (allocated?.dns && !result.dns) result.dns = allocated.dns;
      return result;
    } catch (err) {
      if (ipam && allocated) await releaseAfterFailedAdd(req, ipam);
      throw err;
    }
  }));
}

/** Keeps host-local from handing out the pods' gateway (shared/ipam/hostlocal.ts). */
function reserveGateways<C extends NetConf>(req: CniRequest, conf: C, mode: Mode<C>, net: HostComputeNetwork): void {
  const gateways = hostLocalSubnets(conf.ipam!).map(parseCidr).filter((c): c is Cidr => !!c).map((c) => mode.gateway(c, { conf, net, addresses: [] }));
  const made = reserveInHostLocal(conf.ipam!, conf.name, gateways, req.platform);
  if (made.length) req.log.event('host-local-gateway-reserved', { addresses: made, note: 'held in host-local\'s store so no pod gets the gateway' });
}

/**
 * host-gateway and l3-upstream carry pod IPs between nodes, so pod-to-pod traffic must not be
 * SNATed. clusterCIDR says so directly; a conf without it (flannel's) says so with its own
 * OutBoundNAT exceptions or ipMasqNetwork. If nothing exempts even this node's pod subnet, the
 * pod still starts, and the operator is told what will be SNATed.
 */
function warnIfClusterSnated<C extends NetConf>(req: CniRequest, mode: Mode<C>, conf: C, net: HostComputeNetwork, plan: EndpointPlan): void {
  if (!mode.routesPodIps || conf.clusterCIDR !== undefined) return;
  const nat = plan.policies.filter((p) => p.Type === 'OutBoundNAT' && !(p.Settings as { Destinations?: unknown } | undefined)?.Destinations);
  if (nat.length === 0) return; // nothing is SNATed at all
  const exceptions = nat.flatMap((p) => (p.Settings as { Exceptions?: string[] } | undefined)?.Exceptions ?? []).map(parseCidr).filter((c): c is Cidr => !!c);
  const uncovered = networkSubnets(net).filter((s) => !exceptions.some((e) => e.prefix <= s.prefix && contains(e, s.ip)));
  if (uncovered.length === 0) return;
  warn(req, 'cluster-snated', `${mode.plugin}: traffic from pods to pods on other nodes will be SNATed to the node's address: no OutBoundNAT exception covers the pod network ${uncovered.map(formatCidr).join(', ')} (exceptions: ${exceptions.map(formatCidr).join(', ') || 'none'}); set "clusterCIDR"`);
}

async function releaseAfterFailedAdd(req: CniRequest, ipam: Ipam): Promise<void> {
  try {
    await req.log.step('rollback-ipam-del', () => ipam.del());
  } catch (err) {
    // The runtime's DEL after this failed ADD retries the release.
    writeStderr(`warning: releasing the address after the failed ADD failed: ${errorText(err)}\n`);
  }
}

// --- DEL ------------------------------------------------------------------------------------

/**
 * DEL cleans up by identity (container ID, network name, interface), whatever else the conf
 * says: a conf that changed since ADD, or no longer validates, must not make a pod undeletable.
 */
export async function deleteAttachment<C extends NetConf>(req: CniRequest, mode: Mode<C>): Promise<void> {
  const conf = confForDel(req, mode);
  warnOnBadPrevResult(req);
  const ref = podRef(req, conf);
  const failures: CniError[] = [];
  await withContext(req, conf, (ctx) => withPodLock(ctx, ref.containerId, async () => {
    // Our endpoint first, then the address: both are tried whatever happens to the other.
    try {
      await deletePodEndpoint(ctx, ref);
    } catch (err) {
      failures.push(asCni(err));
    }
    try {
      const ipam = releasingIpam(req, conf);
      if (ipam) await req.log.step('ipam-del', () => ipam.del(), { ipam: ipam.kind });
    } catch (err) {
      failures.push(asCni(err));
    }
  }).catch((err) => { failures.push(asCni(err)); }));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new CniError(failures[0]!.code, failures.map((f) => f.message).join('; '));
}

/**
 * The conf for DEL: checked if it can be; else only what identifies the pod's attachment and
 * where its address is (identityConf), never the unchecked rest.
 */
function confForDel<C extends NetConf>(req: CniRequest, mode: Mode<C>): C {
  try {
    return loadConf(req, mode);
  } catch (err) {
    const { conf, note } = identityConf(req, mode.plugin);
    warn(req, 'del-conf-invalid', `the network configuration does not validate (${errorText(err)}); deleting the pod's endpoint and address by its identity anyway${note ? ` (${note})` : ''}`);
    return conf as C;
  }
}

/**
 * What DEL reads of a conf that does not validate: the network name (checked by the skeleton),
 * an HNS timeout that is one, and the IPAM to release the address with (shared/ipam/index.ts
 * ipamForRelease). Nothing else the conf says is used for a DEL.
 */
function identityConf(req: CniRequest, plugin: string): { conf: NetConf; note?: string } {
  const raw = req.conf;
  const conf: NetConf = { cniVersion: req.version, name: raw.name, type: plugin };
  const timeout = hnsTimeoutSecondsOf(raw);
  if (timeout !== undefined) conf.hnsTimeoutSeconds = timeout;
  const { ipam, note } = ipamForRelease(raw.ipam, req.platform);
  if (ipam) conf.ipam = ipam;
  return note ? { conf, note } : { conf };
}

/** DEL cleans up by identity, so a malformed prevResult is only worth a warning (spec J06). */
function warnOnBadPrevResult(req: CniRequest): void {
  if (req.conf.prevResult === undefined) return;
  try {
    parseResult(req.conf.prevResult, { requestVersion: req.version, sameFamily: true, what: 'prevResult' });
  } catch (err) {
    warn(req, 'prev-result-ignored', `ignoring prevResult: ${errorText(err)}`);
  }
}

function asCni(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const e = err as { cniCode?: number; message?: string };
  return new CniError(typeof e?.cniCode === 'number' ? e.cniCode : ErrorCode.Internal, e?.message ?? String(err));
}

// --- CHECK ----------------------------------------------------------------------------------

export async function checkAttachment<C extends NetConf>(req: CniRequest, mode: Mode<C>): Promise<void> {
  const conf = loadConf(req, mode);
  if (req.conf.prevResult === undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, 'required prevResult missing', 'CHECK compares the attachment with the result of its ADD');
  const prev = parseResult(req.conf.prevResult, { requestVersion: req.version, sameFamily: true, what: 'prevResult' });
  const ref = podRef(req, conf);
  const nsId = namespaceGuid(ref.netns);
  const addresses = ourAddresses(prev, ref.ifName, nsId);
  await withContext(req, conf, async (ctx) => {
    // The endpoint first, then its network by ID: two round trips fewer than looking the network up by name.
    const { endpoint, network } = await req.log.step('find-endpoint', () => findPodEndpoint(ctx, ref, mode.networkTypes));
    const plan = await planEndpoint({ mode, conf, net: network, addresses: addresses.map((a) => a.address), features: () => ctx.client.features(), skipFeatureGates: true });
    await req.log.step('check-endpoint', async () => checkPodEndpoint(endpoint, ref, network, {
      addresses: plan.addresses.map((a) => a.text),
      gateways: addresses.map((a) => a.gateway).filter((g): g is string => !!g),
      policies: plan.policies,
    }));
    // Shown, not judged: a runtime may CHECK before the pod's containers start.
    const members = await req.log.step('namespace-members', () => namespaceMembers(ctx, nsId), (m) => ({ containers: m.containers.length, namespaceType: m.namespaceType }));
    if (members.containers.length === 0) warn(req, 'namespace-no-container', `${NO_CONTAINER_HINT} (namespace ${nsId})`);
    const ipam = ipamFor(req, conf, mode, network);
    if (ipam) await req.log.step('ipam-check', () => ipam.check(), { ipam: ipam.kind });
  });
}

/** prevResult's addresses on our interface: the one named CNI_IFNAME in CNI_NETNS. */
function ourAddresses(prev: Result100, ifName: string, nsId: string): { address: string; gateway?: string }[] {
  const idx = (prev.interfaces ?? []).findIndex((i) => i.name === ifName && sameGuid(i.sandbox, nsId));
  if (idx < 0) {
    throw new CniError(ErrorCode.CheckFailed, `prevResult has no interface named ${ifName} in sandbox ${nsId}`, `its interfaces: ${(prev.interfaces ?? []).map((i) => `${i.name}@${i.sandbox ?? 'host'}`).join(', ') || 'none'}`);
  }
  const ips = (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === idx);
  if (ips.length === 0) throw new CniError(ErrorCode.CheckFailed, `prevResult lists no address for ${ifName}`);
  return ips;
}

// --- GC -------------------------------------------------------------------------------------

/** `cni.dev/valid-attachments` (or the older `cni.dev/attachments`): what to keep. */
function validAttachments(conf: Record<string, unknown>): ValidAttachment[] | undefined {
  const key = 'cni.dev/valid-attachments' in conf ? 'cni.dev/valid-attachments' : 'cni.dev/attachments' in conf ? 'cni.dev/attachments' : undefined;
  if (!key) return undefined;
  const list = conf[key];
  if (list === null) return [];
  if (!Array.isArray(list)) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid GC request: "${key}" must be a list`);
  return list.map((a, i) => {
    const e = a as { containerID?: unknown; ifname?: unknown };
    if (!e || typeof e.containerID !== 'string' || typeof e.ifname !== 'string') {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid GC request: ${key}[${i}] needs string "containerID" and "ifname"`, JSON.stringify(a));
    }
    return { containerId: e.containerID, ifName: e.ifname };
  });
}

export async function collectStale<C extends NetConf>(req: CniRequest, mode: Mode<C>): Promise<void> {
  const conf = loadConf(req, mode);
  const valid = validAttachments(req.conf);
  if (!valid) {
    // Without the list we cannot tell a buggy caller from "nothing is valid": remove nothing.
    warn(req, 'gc-skipped', 'GC request without cni.dev/valid-attachments; nothing removed');
    return;
  }
  const failures: CniError[] = [];
  await withContext(req, conf, async (ctx) => {
    try {
      await req.log.step('gc-endpoints', () => collectGarbage(ctx, conf.name, valid), (o) => ({ removed: o.removed.length }));
    } catch (err) {
      failures.push(asCni(err));
    }
    const ipam = ipamFor(req, conf, mode);
    if (ipam) {
      try {
        await req.log.step('ipam-gc', () => ipam.gc(valid), { ipam: ipam.kind });
      } catch (err) {
        failures.push(asCni(err));
      }
    }
    // Temporary files of ours that a killed writer left (they hold no address): never a failure.
    if (holdsGatewayInHostLocal(conf, mode)) {
      const cleared = removeAbandonedHolds(conf.ipam!, conf.name, req.platform);
      if (cleared.length) req.log.event('gc-temporaries', { removed: cleared, where: 'host-local store' });
    }
    req.log.clearAbandonedTemps();
  });
  if (failures.length) throw new CniError(failures[0]!.code, failures.map((f) => f.message).join('; '));
}

// --- STATUS ---------------------------------------------------------------------------------

export async function reportStatus<C extends NetConf>(req: CniRequest, mode: Mode<C>): Promise<void> {
  const conf = loadConf(req, mode);
  await withContext(req, conf, async (ctx) => {
    const net = await networkStatus(ctx, conf.name, mode.networkTypes);
    const ipam = ipamFor(req, conf, mode, net);
    if (ipam) await req.log.step('ipam-status', () => ipam.status(), { ipam: ipam.kind });
  });
}
