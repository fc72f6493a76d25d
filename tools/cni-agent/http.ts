// /healthz, /readyz and /metrics on a loopback port: the kubelet's probes (HostProcess pods share
// the host's network, so 127.0.0.1 is the node's loopback) and a Prometheus scrape.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Probe {
  ok: boolean;
  detail: Record<string, unknown>;
}

export interface Endpoints {
  healthz(): Probe;
  readyz(): Probe;
  metrics(): string;
}

export interface ProbeServer {
  readonly address: string;
  close(): Promise<void>;
}

export function startProbeServer(host: string, port: number, ep: Endpoints): Promise<ProbeServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : ep.metrics());
      return;
    }
    const probe = url === '/healthz' ? ep.healthz() : url === '/readyz' ? ep.readyz() : undefined;
    if (!probe) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: /healthz, /readyz, /metrics\n');
      return;
    }
    const body = `${JSON.stringify({ status: probe.ok ? 'ok' : 'failing', ...probe.detail })}\n`;
    res.writeHead(probe.ok ? 200 : 503, { 'Content-Type': 'application/json' }).end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve({
        address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}
