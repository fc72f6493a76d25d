// A small Prometheus registry: counters and gauges with labels, and histograms, written in the
// text exposition format (version 0.0.4). The agent exposes a dozen series; a client library
// would be most of its bundle for that.

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

export class Counter implements Family {
  readonly type = 'counter';
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const cur = this.values.get(key);
    if (cur) cur.value += by;
    else this.values.set(key, { labels, value: by });
  }

  render(): string[] {
    return [...this.values.values()].map((v) => `${this.name}${labelText(v.labels)} ${num(v.value)}`);
  }
}

export class Gauge implements Family {
  readonly type = 'gauge';
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string, private readonly read?: () => number) {}

  set(value: number, labels: Labels = {}): void {
    this.values.set(labelText(labels), { labels, value });
  }

  render(): string[] {
    if (this.read) return [`${this.name} ${num(this.read())}`];
    return [...this.values.values()].map((v) => `${this.name}${labelText(v.labels)} ${num(v.value)}`);
  }
}

export class Histogram implements Family {
  readonly type = 'histogram';
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, private readonly buckets: number[]) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s!.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: num(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly families: Family[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  gauge(name: string, help: string, read?: () => number): Gauge {
    return this.add(new Gauge(name, help, read));
  }

  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  private add<F extends Family>(f: F): F {
    this.families.push(f);
    return f;
  }

  render(): string {
    const lines: string[] = [];
    for (const f of this.families) lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    return `${lines.join('\n')}\n`;
  }
}

/** The agent's series. */
export function agentMetrics() {
  const r = new Registry();
  return {
    registry: r,
    peers: r.gauge('cni_agent_peers', 'Peer nodes known (Nodes other than this one, or entries of the peer file).'),
    peersRefused: r.gauge('cni_agent_peers_refused', 'Peer claims (pod subnets, next hops, VTEP MACs) not installed now, by the rule that refused them (shared/node/sanity.ts).'),
    ownedRoutes: r.gauge('cni_agent_owned_routes', 'Host routes this agent made and keeps (host-gateway).'),
    ownedPolicies: r.gauge('cni_agent_owned_policies', 'RemoteSubnetRoute policies this agent made and keeps (win-overlay).'),
    ready: r.gauge('cni_agent_ready', '1 when the node network, host endpoint, conflist and peers are as desired.'),
    reconcileSeconds: r.histogram('cni_agent_reconcile_duration_seconds', 'Duration of one reconcile pass (full: reads the node; event: applies a Node change).', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    reconciles: r.counter('cni_agent_reconciles_total', 'Reconcile passes by kind and outcome.'),
    errors: r.counter('cni_agent_errors_total', 'Errors by stage (node, peers, kube, annotations, config).'),
    hnsCalls: r.counter('cni_agent_hns_calls_total', 'HCN calls by function and outcome.'),
    routeCalls: r.counter('cni_agent_route_calls_total', 'IP Helper calls (routes, interfaces, forwarding) by function and outcome.'),
    peerChanges: r.counter('cni_agent_peer_changes_total', 'Routes or policies added and removed.'),
    kubeRequests: r.counter('cni_agent_kube_requests_total', 'Kubernetes API requests by verb and outcome (gone: 410, relisted).'),
    watchEvents: r.counter('cni_agent_watch_events_total', 'Node watch events that changed a Node.'),
    lastReconcile: r.gauge('cni_agent_last_reconcile_timestamp_seconds', 'When the last reconcile pass ended (Unix time).'),
  };
}

export type AgentMetrics = ReturnType<typeof agentMetrics>;
