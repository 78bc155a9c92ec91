/**
 * SocketReader on real loopback sockets: sockets accepted with `pauseOnConnect` and adopted
 * into `onread` sockets. Chunks read through the thread's shared buffer stay intact while
 * other sockets read after them; a bulk stream reads into a buffer of its own, passes large
 * reads on without a copy and gives the buffer back; the thread lends at most
 * MAX_OWN_BUFFERS; pause / resume and the peer's FIN behave as on a plain socket; and
 * `server.close()` still completes. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import {
  adoptAcceptedSocket,
  MAX_OWN_BUFFERS,
  ownReadBuffersOut,
  SocketReader,
} from '../../src/network/socket-reader.ts';
import { waitFor, within } from '../http/conn-pool/helpers.ts';

interface Accepted {
  readonly socket: net.Socket;
  readonly chunks: Buffer[];
  /** Settles on the adopted socket's 'end' (the client's FIN). */
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;
}

interface Listening {
  readonly port: number;
  readonly accepted: Accepted[];
  close(): Promise<void>;
}

/** A server whose sockets read through SocketReaders and keep every chunk. */
async function listen(onChunk?: (a: Accepted, chunk: Buffer) => void): Promise<Listening> {
  const accepted: Accepted[] = [];
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (raw) => {
    const reader = new SocketReader();
    const socket = adoptAcceptedSocket(raw, reader, 64 * 1024);
    const a: Accepted = {
      socket,
      chunks: [],
      ended: new Promise((resolve) => socket.once('end', resolve)),
      closed: new Promise((resolve) => socket.once('close', () => resolve())),
    };
    socket.once('close', () => reader.release());
    reader.setSink((chunk) => {
      a.chunks.push(chunk);
      onChunk?.(a, chunk);
    });
    accepted.push(a);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    accepted,
    close: () =>
      within(
        new Promise<void>((resolve) => {
          for (const a of accepted) a.socket.destroy();
          server.close(() => resolve());
        }),
        'server.close()',
      ),
  };
}

function connect(port: number): Promise<net.Socket> {
  return within(
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    }),
    'connect',
  );
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test('chunks read through the shared buffer stay intact while other sockets read after them', async () => {
  const server = await listen();
  const clients = [await connect(server.port), await connect(server.port)];
  await waitFor(() => server.accepted.length === 2, 'both accepted');
  const sent: Buffer[][] = [[], []];
  for (let i = 0; i < 200; i++) {
    const c = i % 2;
    const message = Buffer.from(`${c}:${i}:${'x'.repeat(i % 37)};`);
    sent[c]?.push(message);
    clients[c]?.write(message);
    // Let the server read between writes, so the two sockets take turns in the shared buffer.
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const c of clients) c.end();
  await within(Promise.all(server.accepted.map((a) => a.ended)), 'both FINs');
  const byFirstByte = new Map(server.accepted.map((a) => [Buffer.concat(a.chunks).toString()[0], a]));
  for (const c of [0, 1]) {
    const got = Buffer.concat(byFirstByte.get(String(c))?.chunks ?? []);
    assert.equal(got.toString(), Buffer.concat(sent[c] ?? []).toString());
  }
  assert.ok(
    server.accepted.every((a) => a.chunks.length > 10),
    'many separate reads',
  );
  assert.equal(ownReadBuffersOut(), 0, 'small reads never take a buffer of their own');
  await server.close();
});

test('a bulk stream reads into its own buffer, passes large reads on without a copy and gives it back', async () => {
  let most = 0;
  const server = await listen(() => {
    most = Math.max(most, ownReadBuffersOut());
  });
  const client = await connect(server.port);
  const data = randomBytes(16 * 1024 * 1024);
  client.end(data);
  await waitFor(() => server.accepted.length === 1, 'accepted');
  const a = server.accepted[0] as Accepted;
  await within(a.ended, 'FIN after 16 MiB');
  const got = Buffer.concat(a.chunks);
  assert.equal(got.length, data.length);
  assert.equal(sha256(got), sha256(data));
  assert.equal(most, 1, 'one own buffer while streaming');
  assert.ok(
    a.chunks.some((c) => c.buffer.byteLength === 64 * 1024 && c.byteOffset === 0),
    'some reads were handed over without a copy',
  );
  for (const c of a.chunks) {
    // A read buffer handed over (64 KiB, not one of Node's pools) holds at least half its length.
    if (c.buffer.byteLength === 64 * 1024) assert.ok(c.length >= 32 * 1024, `${c.length} B in 64 KiB`);
  }
  a.socket.destroy();
  await within(a.closed, 'close');
  assert.equal(ownReadBuffersOut(), 0, 'given back on close');
  await server.close();
});

test(`a thread lends at most ${MAX_OWN_BUFFERS} own buffers; past that, reads are copied and still intact`, async () => {
  let most = 0;
  const server = await listen(() => {
    most = Math.max(most, ownReadBuffersOut());
  });
  const n = MAX_OWN_BUFFERS + 6;
  const clients: net.Socket[] = [];
  const payloads: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const client = await connect(server.port);
    const payload = randomBytes(256 * 1024);
    clients.push(client);
    payloads.push(payload);
    client.write(payload); // no FIN: each server socket keeps whatever buffer it got
  }
  const total = (): number => server.accepted.reduce((sum, a) => sum + Buffer.concat(a.chunks).length, 0);
  await waitFor(() => server.accepted.length === n && total() === n * 256 * 1024, 'every payload read');
  assert.equal(most, MAX_OWN_BUFFERS);
  const received = new Set(server.accepted.map((a) => sha256(Buffer.concat(a.chunks))));
  for (const p of payloads) assert.ok(received.has(sha256(p)), 'payload intact');
  for (const a of server.accepted) a.socket.destroy();
  await within(Promise.all(server.accepted.map((a) => a.closed)), 'every socket closed');
  for (const c of clients) c.destroy();
  assert.equal(ownReadBuffersOut(), 0);
  await server.close();
});

test('pause() stops the reads, resume() restarts them, and the FIN arrives after the data', async () => {
  const server = await listen((a) => {
    if (a.chunks.length === 1) a.socket.pause();
  });
  const client = await connect(server.port);
  client.write('first');
  await waitFor(() => server.accepted[0]?.chunks.length === 1, 'first chunk');
  const a = server.accepted[0] as Accepted;
  let ended = false;
  void a.ended.then(() => {
    ended = true;
  });
  client.end('second');
  // The client's bytes and FIN sit in the kernel while the server socket is paused.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(a.chunks.length, 1);
  assert.equal(ended, false);
  a.socket.resume();
  await within(a.ended, 'FIN after resume');
  assert.equal(Buffer.concat(a.chunks).toString(), 'firstsecond');
  await server.close();
});
