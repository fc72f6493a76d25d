// A small TCP/UDP echo of our own, run inside a network namespace (`ip netns exec <ns> node
// probe.mjs <port>...`): it answers every connection and datagram on those ports with the address
// it came from (so the sender learns whether it was SNATed on the way), and it sends probes for
// the test, one JSON line per request on stdin, one JSON line per answer on stdout:
//   {"id":1,"op":"tcp","host":"10.244.2.3","port":5000,"timeoutMs":1500}  ->  {"id":1,"ok":true,"saw":"10.244.1.3"}
//   {"id":2,"op":"udp",...}                                                ->  {"id":2,"ok":false,"error":"timeout"}
// It prints {"ready":true} once every port listens.

import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

const ports = process.argv.slice(2).map(Number);
const plain = (a) => (a?.startsWith('::ffff:') ? a.slice(7) : a);

function serveTcp(port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(plain(s.remoteAddress)));
    });
    server.once('error', reject);
    server.listen(port, '0.0.0.0', resolve);
  });
}

function serveUdp(port) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (_m, from) => sock.send(from.address, from.port, from.address));
    sock.once('error', reject);
    sock.bind(port, '0.0.0.0', resolve);
  });
}

function tcp({ host, port, timeoutMs = 1500 }) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let got = '';
    const done = (r) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    s.on('connect', () => s.write('probe'));
    s.on('data', (d) => (got += d));
    s.on('end', () => done({ ok: true, saw: got }));
    s.on('error', (err) => done({ ok: false, error: err.code ?? err.message }));
  });
}

function udp({ host, port, timeoutMs = 1500 }) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (r) => {
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    sock.on('message', (m) => done({ ok: true, saw: m.toString() }));
    sock.on('error', (err) => done({ ok: false, error: err.code ?? err.message }));
    sock.send('probe', port, host);
  });
}

await Promise.all(ports.flatMap((p) => [serveTcp(p), serveUdp(p)]));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const req = JSON.parse(line);
  const out = req.op === 'udp' ? await udp(req) : await tcp(req);
  process.stdout.write(`${JSON.stringify({ id: req.id, ...out })}\n`);
});
rl.on('close', () => process.exit(0));
