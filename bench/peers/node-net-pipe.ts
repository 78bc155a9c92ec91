/**
 * The floor of a TCP proxy on Node's `net` module, for `npm run bench`: each accepted socket
 * gets an upstream socket and `data` events are written across, nothing else (no stats, no
 * timers, no flow control beyond what `write` returns). Legate's tcp_proxy uses the same
 * `net.Socket` read and write path, so this row says how much of the gap to HAProxy and
 * nginx is the runtime's and how much is Legate's. One thread, 127.0.0.1 only.
 *
 * Usage: node bench/peers/node-net-pipe.ts --listen PORT --upstream PORT
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { listen: { type: 'string' }, upstream: { type: 'string' } },
});
const listenPort = Number(values.listen);
const upstreamPort = Number(values.upstream);
if (!Number.isInteger(listenPort) || !Number.isInteger(upstreamPort)) {
  process.stderr.write('usage: node-net-pipe.ts --listen PORT --upstream PORT\n');
  process.exit(2);
}

const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (down) => {
  const up = net.connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true, allowHalfOpen: true });
  down.on('data', (chunk: Buffer) => {
    if (!up.write(chunk)) down.pause();
  });
  up.on('data', (chunk: Buffer) => {
    if (!down.write(chunk)) up.pause();
  });
  up.on('drain', () => down.resume());
  down.on('drain', () => up.resume());
  down.on('end', () => up.end());
  up.on('end', () => down.end());
  down.on('error', () => up.destroy());
  up.on('error', () => down.destroy());
  down.on('close', () => up.destroy());
  up.on('close', () => down.destroy());
});
server.listen({ host: '127.0.0.1', port: listenPort, backlog: 4096 }, () => {
  process.stdout.write(`node-net-pipe listening on 127.0.0.1:${listenPort} -> 127.0.0.1:${upstreamPort}\n`);
});
process.on('SIGTERM', () => process.exit(0));
