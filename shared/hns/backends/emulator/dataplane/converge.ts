// Makes network namespaces hold what their specs say (spec.ts), from what they hold now
// (linux.ts): links found by their alias (so any process, after any crash, finds what an earlier
// pass made), then addresses, the data plane's routes and rules (protocol ROUTE_PROTO), permanent
// neighbours and VXLAN FDB entries, sysctls and iptables. Whatever is there and not in the spec
// goes, so the same pass that adds also cleans up after a pass that was cut short. Idempotent.

import { formatCidr, parseCidr, parseIp } from '../../../../net/ip';
import { type ActualLink, type ActualNetns, addNetns, batch, configure, deleteNetns, listNetns, netnsExists, readNetns, run } from './linux';
import { aliasOf, idOfAlias, isPodNetnsOf, ROUTE_PROTO, UNDERLAY_BRIDGE, validIfName } from './names';
import type { LinkSpec, NetnsSpec, PlaneSpec, RouteSpec } from './spec';

export interface ConvergeResult {
  converged: string[];
  errors: string[];
}

function cidrKey(text: string): string {
  const c = parseCidr(text);
  return c ? formatCidr(c) : text;
}

function ipKey(text: string): string {
  const ip = parseIp(text);
  return ip ? formatCidr({ ip, prefix: ip.family === 4 ? 32 : 128 }).replace(/\/\d+$/, '') : text;
}

const family = (prefix: string) => (prefix.includes(':') ? 6 : 4);

function kindFits(spec: LinkSpec, actual: ActualLink): boolean {
  if (spec.kind === 'bridge') return actual.kind === 'bridge';
  if (spec.kind === 'vxlan') return actual.kind === 'vxlan';
  return actual.kind === 'veth';
}

/** The names links have (or are given in this pass) in each namespace: a new pod NIC must not take one. */
class Names {
  private readonly taken = new Map<string, Set<string>>();
  add(netns: string, name: string): void {
    const set = this.taken.get(netns) ?? new Set<string>();
    set.add(name);
    this.taken.set(netns, set);
  }
  has(netns: string, name: string): boolean {
    return this.taken.get(netns)?.has(name) ?? false;
  }
  /** `preferred` if free there, else eth0, eth1, ... */
  free(netns: string, preferred: string): string {
    if (validIfName(preferred) && !this.has(netns, preferred)) return preferred;
    for (let i = 0; ; i++) if (!this.has(netns, `eth${i}`)) return `eth${i}`;
  }
}

interface Pass {
  plane: PlaneSpec;
  names: Names;
  /** Commands for other namespaces, run after the owner's batch (the alias and master of a veth's far end). */
  later: Map<string, string[]>;
  /** Links made in other namespaces by this pass (their spec reads them as present). */
  made: Map<string, ActualLink[]>;
  errors: string[];
}

function queue(map: Map<string, string[]>, netns: string, line: string): void {
  const list = map.get(netns) ?? [];
  list.push(line);
  map.set(netns, list);
}

/** The commands that make one namespace's links, addresses, routes, rules and neighbours right; and its FDB commands. */
function planNetns(spec: NetnsSpec, actual: ActualNetns, pass: Pass): { ip: string[]; bridge: string[]; linkNames: Map<string, string> } {
  const ip: string[] = [];
  const byId = new Map<string, ActualLink>();
  const unaliased = new Map<string, ActualLink>();
  for (const l of [...actual.links, ...(pass.made.get(spec.name) ?? [])]) {
    if (l.name === 'lo') {
      if (!l.up) ip.push('link set dev lo up');
      continue;
    }
    const id = idOfAlias(l.alias);
    if (id && !byId.has(id)) byId.set(id, l);
    else unaliased.set(l.name, l);
  }
  const specIds = new Set(spec.links.map((l) => l.id));
  // A link made by a pass that died before naming it: taken over when it is what the spec names so.
  for (const s of spec.links) {
    const u = byId.has(s.id) ? undefined : unaliased.get(s.name);
    if (u && kindFits(s, u)) {
      byId.set(s.id, u);
      unaliased.delete(s.name);
      ip.push(`link set dev ${u.name} alias ${aliasOf(s.id)}`);
    }
  }
  const gone = new Set<string>();
  const drop = (l: ActualLink) => {
    ip.push(`link delete dev ${l.name}`);
    gone.add(l.name);
  };
  for (const [id, l] of byId) {
    if (!specIds.has(id)) {
      drop(l);
      byId.delete(id);
    }
  }
  for (const l of unaliased.values()) drop(l);
  // A VXLAN device whose VNI, port or local address changed is made again.
  for (const s of spec.links) {
    const a = byId.get(s.id);
    if (s.kind === 'vxlan' && a && (a.vxlan?.id !== s.vni || a.vxlan?.port !== s.port || a.vxlan?.local !== s.local)) {
      drop(a);
      byId.delete(s.id);
    }
  }
  for (const l of byId.values()) pass.names.add(spec.name, l.name);

  const linkNames = new Map<string, string>();
  for (const [id, l] of byId) linkNames.set(id, l.name);
  const fresh = new Set<string>();
  for (const s of spec.links) {
    if (byId.has(s.id) || fresh.has(s.id)) continue;
    if (s.kind === 'peer') {
      pass.errors.push(`${spec.name}: ${s.id} is missing (its veth was not made)`);
      continue;
    }
    linkNames.set(s.id, s.name);
    fresh.add(s.id);
    pass.names.add(spec.name, s.name);
    if (s.kind === 'bridge') ip.push(`link add name ${s.name} type bridge`);
    else if (s.kind === 'vxlan') ip.push(`link add name ${s.name} type vxlan id ${s.vni} dstport ${s.port} local ${s.local} dev ${linkNames.get(s.dev) ?? s.dev} nolearning`);
    else {
      const far = s.peer.netns;
      const farName = far === pass.plane.underlay ? s.peer.name : pass.names.free(far, s.peer.name);
      pass.names.add(far, farName);
      ip.push(`link add name ${s.name} type veth peer name ${farName}${far === spec.name ? '' : ` netns ${far}`}`);
      if (far === spec.name) {
        ip.push(`link set dev ${farName} alias ${aliasOf(s.peer.id)}`);
        linkNames.set(s.peer.id, farName);
        fresh.add(s.peer.id);
      } else {
        queue(pass.later, far, `link set dev ${farName} alias ${aliasOf(s.peer.id)}`);
        const made = pass.made.get(far) ?? [];
        made.push({ name: farName, alias: aliasOf(s.peer.id), kind: 'veth', mac: '', mtu: 0, up: false, addresses: [] });
        pass.made.set(far, made);
      }
    }
    ip.push(`link set dev ${s.name} alias ${aliasOf(s.id)}`);
  }
  // The uplink's far end is plugged into the underlay's bridge (every pass: another node's pass may have made the bridge anew).
  for (const s of spec.links) if (s.kind === 'veth' && s.peer.netns === pass.plane.underlay) queue(pass.later, pass.plane.underlay, `link set dev ${s.peer.name} master ${UNDERLAY_BRIDGE} up`);

  for (const s of spec.links) {
    const name = linkNames.get(s.id);
    if (!name) continue;
    const a = fresh.has(s.id) ? undefined : byId.get(s.id);
    const set: string[] = [];
    if (s.mac && a?.mac !== s.mac) set.push(`address ${s.mac}`);
    if ((s.kind === 'vxlan' || s.kind === 'veth' || s.kind === 'peer') && a?.mtu !== s.mtu) set.push(`mtu ${s.mtu}`);
    if (s.kind === 'veth' && s.master) {
      const master = linkNames.get(s.master);
      if (master && a?.master !== master) set.push(`master ${master}`);
    }
    if (!a?.up) set.push('up');
    if (set.length) ip.push(`link set dev ${name} ${set.join(' ')}`);
  }

  // Addresses, on the links of the spec.
  const wantAddr = new Map<string, Set<string>>();
  for (const x of spec.addresses) {
    const name = linkNames.get(x.dev);
    if (!name) continue;
    const set = wantAddr.get(name) ?? new Set<string>();
    set.add(cidrKey(x.cidr));
    wantAddr.set(name, set);
  }
  for (const s of spec.links) {
    const name = linkNames.get(s.id);
    if (!name) continue;
    const want = wantAddr.get(name) ?? new Set<string>();
    const have = new Set((fresh.has(s.id) ? [] : byId.get(s.id)?.addresses ?? []).map(cidrKey));
    for (const h of have) if (!want.has(h)) ip.push(`address delete ${h} dev ${name}`);
    for (const w of want) if (!have.has(w)) ip.push(`address add ${w} dev ${name}${family(w) === 6 ? ' nodad' : ''}`);
  }

  // Routes of the data plane's protocol.
  const routeKey = (r: { table: string; dst: string; via?: string; dev: string; onlink: boolean; src?: string; metric: number }) => [r.table, cidrKey(r.dst), r.via ? ipKey(r.via) : '', r.dev, r.onlink ? 1 : 0, r.src ? ipKey(r.src) : '', r.metric].join('|');
  const want = new Map<string, RouteSpec & { devName: string }>();
  for (const r of spec.routes) {
    const devName = linkNames.get(r.dev);
    if (!devName) {
      pass.errors.push(`${spec.name}: route ${r.dst} names link ${r.dev}, which is not there`);
      continue;
    }
    const metric = r.metric ?? (family(r.dst) === 6 ? 1024 : 0);
    want.set(routeKey({ table: String(r.table), dst: r.dst, ...(r.via ? { via: r.via } : {}), dev: devName, onlink: !!r.onlink, ...(r.src ? { src: r.src } : {}), metric }), { ...r, metric, devName });
  }
  const have = new Set<string>();
  for (const r of actual.routes) {
    const k = routeKey(r);
    have.add(k);
    if (!want.has(k) && !gone.has(r.dev)) ip.push(`route delete ${r.dst}${r.via ? ` via ${r.via}` : ''} dev ${r.dev} table ${r.table} metric ${r.metric} proto ${ROUTE_PROTO}`);
  }
  for (const [k, r] of want) {
    if (have.has(k)) continue;
    ip.push(`route add ${r.dst}${r.via ? ` via ${r.via}` : ''} dev ${r.devName}${r.onlink ? ' onlink' : ''}${r.src ? ` src ${r.src}` : ''} metric ${r.metric} table ${r.table} proto ${ROUTE_PROTO}`);
  }

  // Policy rules of the data plane's protocol.
  const wantRules = new Map<string, string>();
  for (const r of spec.rules) {
    const iif = linkNames.get(r.iif);
    if (iif) wantRules.set(`${r.priority}|${iif}|${r.table}`, `priority ${r.priority} iif ${iif} lookup ${r.table} protocol ${ROUTE_PROTO}`);
  }
  const haveRules = new Set(actual.rules.map((r) => `${r.priority}|${r.iif}|${r.table}`));
  for (const r of actual.rules) if (!wantRules.has(`${r.priority}|${r.iif}|${r.table}`)) ip.push(`rule delete priority ${r.priority} iif ${r.iif} lookup ${r.table}`);
  for (const [k, line] of wantRules) if (!haveRules.has(k)) ip.push(`rule add ${line}`);

  // Permanent neighbours on the spec's links.
  const ours = new Set([...linkNames.values()]);
  const wantNeigh = new Map<string, string>();
  for (const n of spec.neighbours) {
    const dev = linkNames.get(n.dev);
    if (dev) wantNeigh.set(`${ipKey(n.ip)}|${dev}`, n.mac);
  }
  const haveNeigh = new Map(actual.neighbours.filter((n) => ours.has(n.dev) && !gone.has(n.dev)).map((n) => [`${ipKey(n.ip)}|${n.dev}`, n.mac.toLowerCase()]));
  for (const k of haveNeigh.keys()) if (!wantNeigh.has(k)) ip.push(`neigh delete ${k.split('|')[0]} dev ${k.split('|')[1]}`);
  for (const [k, mac] of wantNeigh) if (haveNeigh.get(k) !== mac) ip.push(`neigh replace ${k.split('|')[0]} lladdr ${mac} dev ${k.split('|')[1]} nud permanent`);

  // FDB entries with a remote destination on the spec's VXLAN devices.
  const bridge: string[] = [];
  const wantFdb = new Set<string>();
  for (const f of spec.fdb) {
    const dev = linkNames.get(f.dev);
    if (dev) wantFdb.add(`${f.mac}|${dev}|${ipKey(f.dst)}`);
  }
  const haveFdb = new Set(actual.fdb.filter((f) => ours.has(f.dev) && !gone.has(f.dev)).map((f) => `${f.mac.toLowerCase()}|${f.dev}|${ipKey(f.dst)}`));
  for (const k of haveFdb) if (!wantFdb.has(k)) bridge.push(`fdb delete ${k.split('|')[0]} dev ${k.split('|')[1]} dst ${k.split('|')[2]} self`);
  for (const k of wantFdb) if (!haveFdb.has(k)) bridge.push(`fdb append ${k.split('|')[0]} dev ${k.split('|')[1]} dst ${k.split('|')[2]} self permanent`);
  return { ip, bridge, linkNames };
}

/** Per-link forwarding (net.ipv4.conf.<link>.forwarding, written with slashes: names may hold dots) after the spec's own sysctls. */
function sysctlsOf(spec: NetnsSpec, linkNames: Map<string, string>): [string, string][] {
  const out = [...spec.sysctls];
  for (const l of spec.links) {
    const name = linkNames.get(l.id);
    if (name && l.forwarding !== undefined) out.push([`net/ipv4/conf/${name}/forwarding`, l.forwarding ? '1' : '0']);
  }
  return out;
}

function ensureUnderlay(name: string): string[] {
  const made = addNetns(name);
  if (made) return [made];
  const r = run('ip', ['-n', name, '-batch', '-'], `link add name ${UNDERLAY_BRIDGE} type bridge\n`);
  if (!r.ok && !/File exists/.test(r.stderr)) return [`underlay ${name}: ${r.stderr.trim()}`];
  return batch('ip', name, [`link set dev ${UNDERLAY_BRIDGE} up`]);
}

/** Converges the namespaces named in `which` (all of them with `force`), and removes this node's pod namespaces that no HNS namespace stands for. */
export function convergePlane(plane: PlaneSpec, which: Set<string>, opts: { force?: boolean } = {}): ConvergeResult {
  const pass: Pass = { plane, names: new Names(), later: new Map(), made: new Map(), errors: [] };
  const converged: string[] = [];
  const all = [plane.node, ...plane.pods];
  const wanted = new Set(all.map((s) => s.name));
  for (const name of listNetns()) if (isPodNetnsOf(plane.node.name, name) && !wanted.has(name)) {
    const err = deleteNetns(name);
    if (err) pass.errors.push(err);
  }
  const todo = all.filter((s) => opts.force || which.has(s.name) || !netnsExists(s.name));
  if (!todo.length) return { converged, errors: pass.errors };
  for (const s of todo) {
    const err = addNetns(s.name);
    if (err) pass.errors.push(err);
  }
  if (todo.includes(plane.node)) pass.errors.push(...ensureUnderlay(plane.underlay));
  if (pass.errors.length) return { converged, errors: pass.errors };
  // Every namespace of the pass is read first: the host's pass names the pods' new NICs.
  const actual = new Map<string, ActualNetns>();
  for (const s of todo) {
    const a = readNetns(s.name, ROUTE_PROTO);
    if (typeof a === 'string') pass.errors.push(a);
    else {
      actual.set(s.name, a);
      for (const l of a.links) pass.names.add(s.name, l.name);
    }
  }
  for (const s of todo) {
    const a = actual.get(s.name);
    if (!a) continue;
    const before = pass.errors.length;
    const plan = planNetns(s, a, pass);
    pass.errors.push(...batch('ip', s.name, plan.ip));
    pass.errors.push(...batch('bridge', s.name, plan.bridge));
    pass.errors.push(...configure(s.name, sysctlsOf(s, plan.linkNames), s.iptables));
    // The far ends of the veths made here, in the namespaces that hold them.
    for (const [far, lines] of pass.later) {
      pass.errors.push(...batch('ip', far, lines));
      pass.later.delete(far);
    }
    if (pass.errors.length === before) converged.push(s.name);
  }
  return { converged, errors: pass.errors };
}

/** Everything of this node goes: its pod namespaces and its own (its uplink's far end in the underlay goes with it). */
export function teardownNode(node: string): string[] {
  const errors: string[] = [];
  for (const name of listNetns()) {
    if (name !== node && !isPodNetnsOf(node, name)) continue;
    const err = deleteNetns(name);
    if (err) errors.push(err);
  }
  return errors;
}
