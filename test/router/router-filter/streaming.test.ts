/**
 * Bodies through the router both ways against real upstream sockets: large uploads and
 * downloads arrive byte-exact (sha256), an upstream that stops reading makes the router stop
 * reading the downstream (so what is held stays bounded), and a downstream that reads slowly
 * makes the router stop reading the upstream connection. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { before, test } from 'node:test';
import { initHashing } from '../../../src/upstream/load-balancer/hash.ts';
import { httpUpstream, staticCluster } from '../../http/conn-pool/helpers.ts';
import { RouterHarness, routeAll, sha256, waitFor } from './harness.ts';

before(async () => {
  await initHashing();
});

const MiB = 1024 * 1024;

/** `n` bytes of a repeatable pattern, in 64 KiB chunks. */
function patternChunks(total: number, seed: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let off = 0; off < total; off += 64 * 1024) {
    const b = Buffer.allocUnsafe(Math.min(64 * 1024, total - off));
    for (let i = 0; i < b.length; i += 4) b.writeUInt32LE((off + i + seed) >>> 0, i);
    chunks.push(b);
  }
  return chunks;
}

test('a 16 MiB upload and a 16 MiB download stream through the router byte-exact', async () => {
  const download = patternChunks(16 * MiB, 7);
  const up = await httpUpstream((req, res) => {
    const h = createHash('sha256');
    req.on('data', (c: Buffer) => h.update(c));
    req.on('end', () => {
      res.setHeader('x-upload-sha256', h.digest('hex'));
      res.setHeader('content-length', String(16 * MiB));
      let i = 0;
      const pump = (): void => {
        while (i < download.length) {
          if (!res.write(download[i++]!)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
  });
  const h = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])]);
  try {
    const upload = patternChunks(16 * MiB, 3);
    const s = await h.request({ method: 'PUT', body: upload });
    assert.equal(s.status, 200);
    assert.equal(s.header('x-upload-sha256'), sha256(upload));
    assert.equal(sha256(s.bodyBytes()), sha256(download));
    assert.equal(s.readDisabled, 0, 'every read-disable was lifted');
  } finally {
    h.close();
    await up.close();
  }
});

test('an upstream that stops reading makes the router stop reading the downstream until it drains', async () => {
  const total = 64 * MiB;
  let received = 0;
  const sockets: net.Socket[] = [];
  // Counts the body's bytes, and reads nothing until the test lets it.
  const counting = await countingUpstream(
    (socket) => {
      sockets.push(socket);
      socket.pause();
    },
    (socket, n) => {
      received += n;
      if (received >= total) socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    },
  );
  const h = new RouterHarness(routeAll('c'), [
    staticCluster('c', [counting.port], { per_connection_buffer_limit_bytes: 64 * 1024 }),
  ]);
  try {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const body = Array.from({ length: total / chunk.length }, () => chunk);
    const { filter, stream, headers } = h.newStream({
      method: 'POST',
      headers: [['content-length', String(total)]],
    });
    const fed = h.feed(filter, stream, headers, { body });
    await waitFor(
      () => h.counter('cluster.c.upstream_flow_control_backed_up_total') >= 1,
      'the upstream connection’s write buffer to fill',
    );
    assert.equal(stream.readDisabled > 0, true, 'the router stopped reading the downstream');
    for (const s of sockets) s.resume();
    await fed;
    await waitFor(() => stream.ended, 'the response');
    filter.onDestroy();
    assert.equal(stream.status, 200);
    assert.equal(received, total);
    assert.equal(stream.readDisabled, 0);
    assert.equal(h.counter('cluster.c.upstream_flow_control_drained_total') >= 1, true);
  } finally {
    h.close();
    await counting.close();
  }
});

test('a downstream that reads slowly makes the router stop reading the upstream, then resume', async () => {
  const download = patternChunks(8 * MiB, 11);
  const up = await httpUpstream((_req, res) => {
    res.setHeader('content-length', String(8 * MiB));
    let i = 0;
    const pump = (): void => {
      while (i < download.length) {
        if (!res.write(download[i++]!)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const h = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])]);
  try {
    let slowed = false;
    const s = await h.request({
      prepare: (stream) => {
        stream.onResponseData = () => {
          if (slowed) return;
          slowed = true;
          for (const cb of stream.watermarkCallbacks) cb.onAboveWriteBufferHighWatermark();
          setTimeout(() => {
            for (const cb of stream.watermarkCallbacks) cb.onBelowWriteBufferLowWatermark();
          }, 20);
        };
      },
    });
    assert.equal(s.status, 200);
    assert.equal(sha256(s.bodyBytes()), sha256(download));
    assert.equal(h.counter('cluster.c.upstream_flow_control_paused_reading_total'), 1);
    assert.equal(h.counter('cluster.c.upstream_flow_control_resumed_reading_total'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

/** A raw upstream that hands each connection to `onConnection` and reports the body bytes it reads. */
async function countingUpstream(
  onConnection: (socket: net.Socket) => void,
  onBytes: (socket: net.Socket, n: number) => void,
) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let headerDone = false;
    let pending = Buffer.alloc(0);
    socket.on('data', (c: Buffer) => {
      if (!headerDone) {
        pending = Buffer.concat([pending, c]);
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        headerDone = true;
        const rest = pending.length - (end + 4);
        pending = Buffer.alloc(0);
        if (rest > 0) onBytes(socket, rest);
        return;
      }
      onBytes(socket, c.length);
    });
    onConnection(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
