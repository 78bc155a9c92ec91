/**
 * ConnectionImpl's write batch on real loopback sockets and a real dispatcher: the writes of
 * one pass of the event loop are held and leave together once it ends, in order; past the
 * socket's high watermark they go to the kernel at once and the watermark is signalled during
 * the pass (a peer that does not read still bounds what is queued); `FlushWrite` sends what
 * the batch holds before the FIN. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, test } from 'node:test';
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import { ConnectionImpl } from '../../src/network/connection.ts';
import { waitFor, within } from '../http/conn-pool/helpers.ts';

const dispatcher = new DispatcherImpl('worker_0', realBackend());
after(() => dispatcher.exit());

interface Peer {
  readonly received: Buffer[];
  readonly socket: Promise<net.Socket>;
  readonly ended: Promise<void>;
  readonly connection: ConnectionImpl;
  close(): Promise<void>;
}

/** A ConnectionImpl over a client socket, and the server side that collects what it sends. */
async function connectedPair(highWaterMark = 16 * 1024, serverPaused = false): Promise<Peer> {
  const received: Buffer[] = [];
  let resolveSocket!: (s: net.Socket) => void;
  let resolveEnded!: () => void;
  const socketPromise = new Promise<net.Socket>((r) => {
    resolveSocket = r;
  });
  const ended = new Promise<void>((r) => {
    resolveEnded = r;
  });
  const server = net.createServer({ pauseOnConnect: serverPaused }, (s) => {
    s.on('data', (chunk: Buffer) => received.push(chunk));
    s.on('end', resolveEnded);
    resolveSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect({
    host: '127.0.0.1',
    port,
    writableHighWaterMark: highWaterMark,
  } as net.NetConnectOpts);
  await within(new Promise((r) => client.once('connect', r)), 'connect');
  const connection = new ConnectionImpl(1, client, dispatcher);
  return {
    received,
    socket: socketPromise,
    ended,
    connection,
    close: async () => {
      client.destroy();
      (await socketPromise).destroy();
      await within(new Promise<void>((r) => server.close(() => r())), 'server.close()');
    },
  };
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test('the writes of one pass are held, then leave together and in order once it ends', async () => {
  const peer = await connectedPair();
  const c = peer.connection;
  c.write(Buffer.from('one,'), false);
  c.write(Buffer.from('two,'), false);
  c.write(Buffer.from('three'), false);
  assert.equal(c.bufferedBytes(), 13, 'held until the pass ends');
  await waitFor(() => Buffer.concat(peer.received).length === 13, 'all 13 bytes');
  assert.equal(Buffer.concat(peer.received).toString(), 'one,two,three');
  assert.equal(c.bufferedBytes(), 0);
  await peer.close();
});

test('past the high watermark the bytes go out at once and the watermark is signalled during the pass', async () => {
  const peer = await connectedPair(64 * 1024, true);
  const c = peer.connection;
  let above = 0;
  let below = 0;
  c.addConnectionCallbacks({
    onAboveWriteBufferHighWatermark: () => above++,
    onBelowWriteBufferLowWatermark: () => below++,
  });
  const data = randomBytes(16 * 1024 * 1024);
  let aboveAt = -1;
  for (let off = 0; off < data.length; off += 64 * 1024) {
    c.write(data.subarray(off, off + 64 * 1024), false);
    if (above > 0 && aboveAt < 0) aboveAt = off;
  }
  assert.equal(above, 1, 'signalled while the pass was still writing');
  assert.ok(aboveAt >= 0 && aboveAt < data.length - 64 * 1024, `above at ${aboveAt}`);
  const server = await peer.socket;
  server.resume();
  await waitFor(() => below === 1, 'below the low watermark once the peer reads');
  await waitFor(() => Buffer.concat(peer.received).length === data.length, 'all 16 MiB');
  assert.equal(sha256(Buffer.concat(peer.received)), sha256(data));
  await peer.close();
});

test('FlushWrite sends what the batch holds, then the FIN', async () => {
  const peer = await connectedPair();
  const c = peer.connection;
  c.write(Buffer.from('last words'), false);
  c.close('FlushWrite');
  await within(peer.ended, 'FIN');
  assert.equal(Buffer.concat(peer.received).toString(), 'last words');
  await peer.close();
});
