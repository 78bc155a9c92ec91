/**
 * node-http-proxy (the `http-proxy` package) as an HTTP/1.1 reverse proxy for `npm run bench`:
 * the hand-rolled Node proxy many teams run. One thread, listening on 127.0.0.1.
 *
 * Usage: node bench/peers/node-http-proxy.ts --listen PORT --upstream PORT
 *
 * The upstream side uses a keep-alive Agent, as a production setup would: without `agent`,
 * http-proxy sends `Connection: close` upstream and opens a backend connection per request.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';

const { values } = parseArgs({
  options: { listen: { type: 'string' }, upstream: { type: 'string' } },
});
const listenPort = Number(values.listen);
const upstreamPort = Number(values.upstream);
if (!Number.isInteger(listenPort) || !Number.isInteger(upstreamPort)) {
  process.stderr.write('usage: node-http-proxy.ts --listen PORT --upstream PORT\n');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 120_000;
server.listen({ host: '127.0.0.1', port: listenPort, backlog: 4096 }, () => {
  process.stdout.write(`node-http-proxy listening on 127.0.0.1:${listenPort} -> 127.0.0.1:${upstreamPort}\n`);
});
process.on('SIGTERM', () => process.exit(0));
