/**
 * Envoy's own TLS pass-through examples through a real `legate` process: the tcp_proxy configs
 * `tls/envoy-https-passthrough.yaml` and `websocket/envoy-wss-passthrough.yaml` from
 * ../shared/envoy-examples, with only the listener's port and the upstream's address
 * rewritten. The upstream on 127.0.0.1:443 (the examples' port) terminates TLS with the
 * examples' own self-signed `CN=front-envoy` pair, read from front-proxy/envoy.yaml at test
 * time; a client on the other side of the proxy sees that certificate and its SNI reaches the
 * upstream, so TLS passes through untouched. The WebSocket upgrade and frames (RFC 6455)
 * are written by hand here, so no WebSocket package is needed. Skips when the examples are
 * absent or port 443 cannot be bound (EACCES). Envoy counterpart: the examples'
 * verify.sh scripts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import YAML from 'yaml';
import { freePort, ROOT, startLegate } from './harness.ts';

const EXAMPLES = path.resolve(ROOT, '../shared/envoy-examples');
const UPSTREAM_PORT = 443;

/** Why the tests cannot run here, or undefined. */
function missingExamples(): string | undefined {
  return fs.existsSync(EXAMPLES) ? undefined : `the Envoy examples are not at ${EXAMPLES}`;
}

/** The examples' self-signed `CN=front-envoy` pair: the first inline TLS certificate of front-proxy/envoy.yaml. */
function frontEnvoyCertificate(): { cert: string; key: string } {
  const config = YAML.parse(fs.readFileSync(path.join(EXAMPLES, 'front-proxy/envoy.yaml'), 'utf8')) as {
    static_resources: { listeners: Array<{ filter_chains: Array<Record<string, unknown>> }> };
  };
  for (const listener of config.static_resources.listeners) {
    for (const chain of listener.filter_chains) {
      const socket = chain['transport_socket'] as
        | {
            typed_config: {
              common_tls_context: {
                tls_certificates: Array<{
                  certificate_chain: { inline_string: string };
                  private_key: { inline_string: string };
                }>;
              };
            };
          }
        | undefined;
      const pair = socket?.typed_config.common_tls_context.tls_certificates[0];
      if (pair !== undefined)
        return { cert: pair.certificate_chain.inline_string, key: pair.private_key.inline_string };
    }
  }
  throw new Error('front-proxy/envoy.yaml has no inline TLS certificate');
}

const LISTENER_PORT = ['static_resources', 'listeners', 0, 'address', 'socket_address', 'port_value'];
const UPSTREAM_ADDRESS = [
  'static_resources',
  'clusters',
  0,
  'load_assignment',
  'endpoints',
  0,
  'lb_endpoints',
  0,
  'endpoint',
  'address',
  'socket_address',
  'address',
];

/**
 * The example at `relative` with its listener on `port` and its upstream at 127.0.0.1, and
 * nothing else changed (checked: restoring the two values gives the original back).
 */
function rewrittenExample(relative: string, port: number): { yaml: string; upstreamHost: string } {
  const text = fs.readFileSync(path.join(EXAMPLES, relative), 'utf8');
  const doc = YAML.parseDocument(text);
  const originalPort = doc.getIn(LISTENER_PORT);
  const upstreamHost = doc.getIn(UPSTREAM_ADDRESS);
  assert.equal(typeof originalPort, 'number', `${relative}: the listener's port_value`);
  assert.equal(typeof upstreamHost, 'string', `${relative}: the upstream endpoint's address`);
  assert.equal(
    doc.getIn(UPSTREAM_ADDRESS.with(-1, 'port_value')),
    UPSTREAM_PORT,
    `${relative}: the upstream port`,
  );
  doc.setIn(LISTENER_PORT, port);
  doc.setIn(UPSTREAM_ADDRESS, '127.0.0.1');
  const yaml = doc.toString();

  const back = YAML.parseDocument(yaml);
  back.setIn(LISTENER_PORT, originalPort);
  back.setIn(UPSTREAM_ADDRESS, upstreamHost);
  assert.deepEqual(back.toJS(), YAML.parse(text), `${relative}: only the port and the address changed`);
  return { yaml, upstreamHost: String(upstreamHost) };
}

/** Listens on 127.0.0.1:443; resolves with the reason to skip when the port is forbidden. */
function listen443(server: net.Server): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EACCES') resolve(`binding 127.0.0.1:${UPSTREAM_PORT} is not permitted (EACCES)`);
      else reject(new Error(`the upstream cannot bind 127.0.0.1:${UPSTREAM_PORT}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen({ host: '127.0.0.1', port: UPSTREAM_PORT }, () => {
      server.off('error', onError);
      resolve(undefined);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function')
      server.closeAllConnections();
  });
}

test('https-passthrough example: a TLS client through legate reaches the upstream untouched (its certificate CN=front-envoy, the SNI it sent) and exchanges 256 KiB both ways', async (t) => {
  const missing = missingExamples();
  if (missing !== undefined) return t.skip(missing);
  const port = await freePort();
  const { yaml, upstreamHost } = rewrittenExample('tls/envoy-https-passthrough.yaml', port);
  assert.equal(upstreamHost, 'service-https');

  const seenServerNames: Array<string | false | null> = [];
  const upstream = tls.createServer(frontEnvoyCertificate(), (socket) => {
    seenServerNames.push(socket.servername);
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  upstream.on('tlsClientError', () => {}); // the harness's readiness probes connect and leave
  const skip = await listen443(upstream);
  if (skip !== undefined) {
    await closeServer(upstream);
    return t.skip(skip);
  }
  const legate = await startLegate(yaml, ['--concurrency', '2'], {}, { port });
  try {
    const payload = randomBytes(256 * 1024);
    const { echoed, subject, protocol } = await new Promise<{
      echoed: Buffer;
      subject: string;
      protocol: string | null;
    }>((resolve, reject) => {
      const client = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'service-https.example',
        rejectUnauthorized: false,
      });
      const received: Buffer[] = [];
      let length = 0;
      client.setTimeout(10_000, () => client.destroy(new Error('no echo within 10 s')));
      client.on('secureConnect', () => client.write(payload));
      client.on('data', (d: Buffer) => {
        received.push(d);
        length += d.length;
        if (length < payload.length) return;
        const subject = client.getPeerCertificate().subject?.CN ?? '';
        const protocol = client.getProtocol();
        client.end();
        resolve({ echoed: Buffer.concat(received), subject: String(subject), protocol });
      });
      client.on('error', reject);
    });
    assert.equal(subject, 'front-envoy', 'the certificate is the upstream server’s');
    assert.ok(protocol?.startsWith('TLS'), `negotiated ${protocol}`);
    assert.ok(echoed.equals(payload), `${echoed.length} bytes echoed intact`);
    assert.ok(seenServerNames.includes('service-https.example'), 'the client’s SNI reached the upstream');
  } finally {
    await legate.stop();
    await closeServer(upstream);
  }
});

// RFC 6455 framing: enough for text, close and the two extended lengths.
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function encodeFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const len = payload.length;
  const lengthBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  header[0] = 0x80 | opcode;
  header[1] = (masked ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(len, 2);
  if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(len), 2);
  if (!masked) return Buffer.concat([header, payload]);
  const mask = randomBytes(4);
  mask.copy(header, 2 + lengthBytes);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return Buffer.concat([header, body]);
}

/** Feeds bytes in, calls `onFrame` per complete frame (unmasked when masked). */
class FrameReader {
  private buffered = Buffer.alloc(0);
  private readonly onFrame: (opcode: number, payload: Buffer) => void;

  constructor(onFrame: (opcode: number, payload: Buffer) => void) {
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const b = this.buffered;
      if (b.length < 2) return;
      const masked = ((b[1] ?? 0) & 0x80) !== 0;
      let len = (b[1] ?? 0) & 0x7f;
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
      const maskAt = offset;
      if (masked) offset += 4;
      if (b.length < offset + len) return;
      const payload = Buffer.from(b.subarray(offset, offset + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] = (payload[i] ?? 0) ^ (b[maskAt + (i & 3)] ?? 0);
      this.buffered = b.subarray(offset + len);
      this.onFrame((b[0] ?? 0) & 0x0f, payload);
    }
  }
}

/** A WebSocket echo server over TLS: each text message comes back as `echo: <message>`. */
function wssEchoServer(credentials: { cert: string; key: string }): https.Server {
  const server = https.createServer(credentials, (_req, res) => {
    res.writeHead(426).end();
  });
  server.on('upgrade', (req, socket: net.Socket) => {
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.destroy();
      return;
    }
    const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on('error', () => {});
    const reader = new FrameReader((opcode, payload) => {
      if (opcode === OP_TEXT) {
        socket.write(encodeFrame(OP_TEXT, Buffer.concat([Buffer.from('echo: '), payload]), false));
      } else if (opcode === OP_CLOSE) {
        socket.end(encodeFrame(OP_CLOSE, payload, false));
      }
    });
    socket.on('data', (d: Buffer) => reader.push(d));
  });
  server.on('tlsClientError', () => {}); // the harness's readiness probes connect and leave
  return server;
}

interface WsClient {
  /** Sends a text message and resolves with the next text message received. */
  roundTrip(message: string): Promise<string>;
  /** Sends a close frame and resolves with the status code of the close frame that answers it. */
  close(code: number): Promise<number>;
  readonly certificateCn: string;
  readonly acceptValid: boolean;
}

/** Opens a WebSocket over TLS to 127.0.0.1:`port` (any certificate accepted). */
function wssConnect(port: number): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const req = https.request({
      host: '127.0.0.1',
      port,
      path: '/ws',
      servername: 'service-wss.example',
      rejectUnauthorized: false,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
      },
      timeout: 10_000,
    });
    req.on('timeout', () => req.destroy(new Error('no upgrade within 10 s')));
    req.on('error', reject);
    req.on('response', (res) => reject(new Error(`expected 101, got ${res.statusCode}`)));
    req.on('upgrade', (res, socket: tls.TLSSocket, head: Buffer) => {
      const expected = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
      const waiting: Array<(opcode: number, payload: Buffer) => void> = [];
      const reader = new FrameReader((opcode, payload) => waiting.shift()?.(opcode, payload));
      socket.on('data', (d: Buffer) => reader.push(d));
      socket.on('error', () => {});
      socket.setTimeout(10_000, () => socket.destroy());
      const next = (): Promise<{ opcode: number; payload: Buffer }> =>
        new Promise((done, fail) => {
          waiting.push((opcode, payload) => done({ opcode, payload }));
          socket.once('close', () => fail(new Error('the WebSocket closed')));
        });
      if (head.length > 0) reader.push(head);
      resolve({
        certificateCn: String(socket.getPeerCertificate().subject?.CN ?? ''),
        acceptValid: res.headers['sec-websocket-accept'] === expected,
        roundTrip: async (message) => {
          const reply = next();
          socket.write(encodeFrame(OP_TEXT, Buffer.from(message), true));
          const { opcode, payload } = await reply;
          assert.equal(opcode, OP_TEXT);
          return payload.toString();
        },
        close: async (code) => {
          const reply = next();
          const body = Buffer.alloc(2);
          body.writeUInt16BE(code);
          socket.write(encodeFrame(OP_CLOSE, body, true));
          const { opcode, payload } = await reply;
          assert.equal(opcode, OP_CLOSE);
          socket.end();
          return payload.readUInt16BE(0);
        },
      });
    });
    req.end();
  });
}

test('wss-passthrough example: a WebSocket over TLS through legate upgrades at the upstream and exchanges messages of every frame length both ways', async (t) => {
  const missing = missingExamples();
  if (missing !== undefined) return t.skip(missing);
  const port = await freePort();
  const { yaml, upstreamHost } = rewrittenExample('websocket/envoy-wss-passthrough.yaml', port);
  assert.equal(upstreamHost, 'service-wss');

  const upstream = wssEchoServer(frontEnvoyCertificate());
  const skip = await listen443(upstream);
  if (skip !== undefined) {
    await closeServer(upstream);
    return t.skip(skip);
  }
  const legate = await startLegate(yaml, ['--concurrency', '2'], {}, { port });
  try {
    const ws = await wssConnect(port);
    assert.equal(ws.certificateCn, 'front-envoy', 'TLS ends at the upstream, not at legate');
    assert.ok(ws.acceptValid, 'Sec-WebSocket-Accept answers our key');
    assert.equal(await ws.roundTrip('hello'), 'echo: hello');
    const medium = 'm'.repeat(300); // 16-bit length
    assert.equal(await ws.roundTrip(medium), `echo: ${medium}`);
    const large = randomBytes(48 * 1024).toString('hex'); // 96 KiB, 64-bit length
    assert.equal(await ws.roundTrip(large), `echo: ${large}`);
    assert.equal(await ws.close(1000), 1000, 'the close handshake completes');

    const [a, b] = await Promise.all([wssConnect(port), wssConnect(port)]);
    assert.ok(a !== undefined && b !== undefined);
    assert.deepEqual(await Promise.all([a.roundTrip('a'), b.roundTrip('b')]), ['echo: a', 'echo: b']);
    await Promise.all([a.close(1000), b.close(1000)]);
  } finally {
    await legate.stop();
    await closeServer(upstream);
  }
});
