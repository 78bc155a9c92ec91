/**
 * WebSocket upgrades through a real `legate` process, in front of a minimal WebSocket upstream
 * written on node:http's 'upgrade' event (RFC 6455 handshake and frames by hand): the
 * connection manager's `upgrade_configs`, a route's `upgrade_configs` (enabling on its own, or
 * disabling what the connection manager allows), an upgrade nobody allows answered 403 as in
 * Envoy, and, after the 101, a byte pipe both ways (megabytes of raw bytes, both half-closes).
 * The client is Node's own WebSocket (undici) for the protocol tests and a raw socket for the
 * byte pipe.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { freePort, type Legate, startLegate, stat } from './harness.ts';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;

/** One unmasked server frame (FIN set). */
function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([0x80 | opcode, n])
      : n < 65536
        ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(n)]);
  return Buffer.concat([head, payload]);
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Reads client frames (masked) from a byte stream; calls `onFrame` per complete frame. */
function frameReader(onFrame: (opcode: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const b = buffered;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (b[1]! & 0x80) !== 0;
      const maskAt = offset;
      if (masked) offset += 4;
      if (b.length < offset + len) return;
      const payload = Buffer.from(b.subarray(offset, offset + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ b[maskAt + (i & 3)]!;
      buffered = b.subarray(offset + len);
      onFrame(b[0]! & 0x0f, payload);
    }
  };
}

interface WsUpstream {
  readonly port: number;
  /** Request headers of every upgrade request received. */
  readonly upgrades: http.IncomingHttpHeaders[];
  /** Requests received without an upgrade. */
  readonly plain: string[];
  close(): Promise<void>;
}

/**
 * The WebSocket upstream. `/raw...`: after the 101, every byte comes back as it is, and its
 * half-close is answered with one. Otherwise frames: text comes back as `echo: <text>`,
 * binary as it is, close with a close.
 */
async function wsUpstream(): Promise<WsUpstream> {
  const upgrades: http.IncomingHttpHeaders[] = [];
  const plain: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    plain.push(req.url ?? '');
    res.end('not an upgrade');
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    upgrades.push(req.headers);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    if ((req.url ?? '').startsWith('/raw')) {
      if (head.length > 0) socket.write(head);
      socket.on('data', (d: Buffer) => socket.write(d));
      socket.on('end', () => socket.end());
      return;
    }
    const read = frameReader((opcode, payload) => {
      if (opcode === OP_TEXT) socket.write(frame(OP_TEXT, Buffer.concat([Buffer.from('echo: '), payload])));
      else if (opcode === OP_BINARY) socket.write(frame(OP_BINARY, payload));
      else if (opcode === OP_CLOSE) socket.end(frame(OP_CLOSE, payload));
    });
    if (head.length > 0) read(head);
    socket.on('data', read);
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    upgrades,
    plain,
    close: () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A listener whose HCM has `hcmUpgrades` (YAML flow list, or '' for none). */
function listener(name: string, port: number, hcmUpgrades: string): string {
  return `  - name: ${name}
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          ${hcmUpgrades === '' ? '' : `upgrade_configs: ${hcmUpgrades}`}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: /route-ws }
                route: { cluster: ws, upgrade_configs: [{ upgrade_type: websocket }] }
              - match: { prefix: /route-off }
                route: { cluster: ws, upgrade_configs: [{ upgrade_type: websocket, enabled: false }] }
              - match: { prefix: / }
                route: { cluster: ws }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
}

let legate: Legate;
let upstream: WsUpstream;
/** The HCM allows websocket. */
let hcmPort = 0;
/** The HCM allows no upgrade: only routes can. */
let routePort = 0;

before(async () => {
  upstream = await wsUpstream();
  hcmPort = await freePort();
  routePort = await freePort();
  legate = await startLegate(
    `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
${listener('hcm_ws', hcmPort, '[{ upgrade_type: websocket }]')}
${listener('route_ws', routePort, '')}
  clusters:
  - name: ws
    load_assignment:
      cluster_name: ws
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstream.port} } } } }] }]
`,
    ['--concurrency', '2'],
  );
});

after(async () => {
  await legate?.stop();
  await upstream?.close();
});

/** Opens Node's WebSocket to `url`; resolves once open. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`no WebSocket open on ${url} within 10 s`));
    }, 10_000);
    ws.addEventListener('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error(`WebSocket to ${url} failed`));
    });
  });
}

/** Sends `data` and resolves with the next message. */
function roundTrip(ws: WebSocket, data: string | Buffer): Promise<string | Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no WebSocket message within 10 s')), 10_000);
    ws.addEventListener(
      'message',
      (e: MessageEvent) => {
        clearTimeout(timer);
        resolve(typeof e.data === 'string' ? e.data : Buffer.from(e.data as ArrayBuffer));
      },
      { once: true },
    );
    ws.send(data);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(0);
    ws.addEventListener('close', (e: CloseEvent) => resolve(e.code), { once: true });
  });
}

/** Sends an upgrade request on a raw socket; resolves with the response head and the socket. */
function rawUpgrade(port: number, path: string): Promise<{ head: string; socket: net.Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy(new Error('no upgrade answer within 10 s')));
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      resolve({ head: got.subarray(0, end + 2).toString('latin1'), socket, rest: got.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
      ),
    );
  });
}

describe('WebSocket through upgrade_configs', () => {
  test('the connection manager’s upgrade_configs: messages go both ways, the upstream sees the upgrade headers', async () => {
    const before = upstream.upgrades.length;
    const ws = await connect(`ws://127.0.0.1:${hcmPort}/chat`);
    try {
      assert.equal(await roundTrip(ws, 'hello'), 'echo: hello');
      const binary = randomBytes(256 * 1024);
      assert.deepEqual(await roundTrip(ws, binary), binary);
      assert.equal(await roundTrip(ws, 'again'), 'echo: again');
    } finally {
      const code = closed(ws);
      ws.close(1000);
      assert.equal(await code, 1000);
    }
    const seen = upstream.upgrades[before]!;
    assert.equal(seen.upgrade, 'websocket');
    assert.match(String(seen.connection), /upgrade/i);
    assert.equal(seen['sec-websocket-version'], '13');
    assert.ok(seen['sec-websocket-key']);
    assert.equal(await stat(legate.admin, 'http.hcm_ws.downstream_cx_upgrades_total'), 1);
  });

  test('a route’s upgrade_configs allows websocket where the connection manager has none', async () => {
    const ws = await connect(`ws://127.0.0.1:${routePort}/route-ws/x`);
    try {
      assert.equal(await roundTrip(ws, 'by route'), 'echo: by route');
    } finally {
      const code = closed(ws);
      ws.close(1000);
      await code;
    }
  });

  test('an upgrade nobody allows is refused with 403 and never reaches the upstream', async () => {
    const before = upstream.upgrades.length + upstream.plain.length;
    for (const [port, path] of [
      [routePort, '/plain'],
      [hcmPort, '/route-off'],
    ] as const) {
      const { head, socket } = await rawUpgrade(port, path);
      assert.match(head, /^HTTP\/1\.1 403 Forbidden\r\n/, `${port}${path}`);
      assert.match(head, /\r\nconnection: close\r\n/i);
      socket.destroy();
    }
    await assert.rejects(connect(`ws://127.0.0.1:${routePort}/plain`));
    assert.equal(upstream.upgrades.length + upstream.plain.length, before);
    assert.equal(await stat(legate.admin, 'http.route_ws.downstream_rq_ws_on_non_ws_route'), 2);
    assert.equal(await stat(legate.admin, 'http.hcm_ws.downstream_rq_ws_on_non_ws_route'), 1);
  });

  test('after the 101 the connection is a byte pipe both ways, half-closes included', async () => {
    const { head, socket, rest } = await rawUpgrade(hcmPort, '/raw');
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(head, /\r\nupgrade: websocket\r\n/i);
    const payload = randomBytes(4 * 1024 * 1024);
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [rest];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      socket.setTimeout(10_000, () => socket.destroy(new Error('the pipe stalled for 10 s')));
      // Bytes that are not WebSocket frames at all: the proxy must not look at them.
      socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      socket.end(payload);
    });
    assert.equal(echoed.length, payload.length + 18);
    assert.equal(echoed.subarray(0, 18).toString(), 'GET / HTTP/1.1\r\n\r\n');
    assert.ok(echoed.subarray(18).equals(payload), 'the payload came back intact');
    socket.destroy();
  });
});
