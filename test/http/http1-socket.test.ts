/**
 * The HTTP/1 codecs end to end over real sockets on 127.0.0.1: the server codec on a real
 * `ConnectionImpl` answering Node's HTTP client and raw sockets (keep-alive, pipelining in
 * order with a slow first response, 100-continue, HEAD / 204 / 304 without bodies, chunked
 * bodies with trailers both ways, an upgrade turning into a raw pipe), and the client codec
 * on a real connection to Node's HTTP server and to a raw server (reuse, close-delimited body).
 * Every wait is bounded.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import { HeaderMapImpl } from '../../src/http/header-map.ts';
import { ClientConnectionImpl, ServerConnectionImpl } from '../../src/http/http1/codec.ts';
import { http1Settings } from '../../src/http/http1/settings.ts';
import type {
  HeaderMap,
  RequestDecoder,
  RequestEncoder,
  ResponseDecoder,
  ResponseEncoder,
} from '../../src/http/types.ts';
import { ConnectionImpl } from '../../src/network/connection.ts';

const BOUND_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BOUND_MS);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

const dispatcher = new DispatcherImpl('worker_0', realBackend());
const settings = http1Settings({ enableTrailers: true });

/**
 * The test application behind the server codec: echoes request bodies (chunked) and trailers;
 * `/slow` answers on the next loop turn; `/head-info`, `/204`, `/304` answer without bodies;
 * `/continue` sends 100 Continue first; an upgrade is accepted and echoed in upper case.
 */
class EchoApp implements RequestDecoder {
  private readonly encoder: ResponseEncoder;
  private headers: HeaderMapImpl | null = null;
  private body: Buffer[] = [];
  private upgraded = false;

  constructor(encoder: ResponseEncoder) {
    this.encoder = encoder;
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    const h = headers as HeaderMapImpl;
    this.headers = h;
    if (h.get('expect') === '100-continue')
      this.encoder.encode1xxHeaders(HeaderMapImpl.of([[':status', '100']]));
    if (h.has('upgrade')) {
      this.upgraded = true;
      this.encoder.encodeHeaders(
        HeaderMapImpl.of([
          [':status', '101'],
          ['connection', 'Upgrade'],
          ['upgrade', h.get('upgrade')!],
        ]),
        false,
      );
      return;
    }
    if (endStream) this.answer(null);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.upgraded) {
      if (data.length > 0) this.encoder.encodeData(Buffer.from(data.toString('latin1').toUpperCase()), false);
      if (endStream) this.encoder.encodeData(Buffer.alloc(0), true);
      return;
    }
    this.body.push(Buffer.from(data));
    if (endStream) this.answer(null);
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.answer(trailers as HeaderMapImpl);
  }

  private answer(trailers: HeaderMapImpl | null): void {
    const path = this.headers!.get(':path')!;
    const method = this.headers!.get(':method')!;
    if (path === '/slow') {
      dispatcher.post(() => this.sendBody('slow', null));
      return;
    }
    if (path === '/204' || path === '/304') {
      this.encoder.encodeHeaders(HeaderMapImpl.of([[':status', path.slice(1)]]), true);
      return;
    }
    if (method === 'HEAD') {
      this.encoder.encodeHeaders(
        HeaderMapImpl.of([
          [':status', '200'],
          ['content-length', '12345'],
        ]),
        true,
      );
      return;
    }
    this.sendBody(Buffer.concat(this.body).toString('latin1') || path, trailers);
  }

  private sendBody(text: string, trailers: HeaderMapImpl | null): void {
    const e = this.encoder;
    e.encodeHeaders(HeaderMapImpl.of([[':status', '200']]), false);
    e.encodeData(Buffer.from(text, 'latin1'), trailers === null);
    if (trailers !== null)
      e.encodeTrailers(HeaderMapImpl.of(trailers.entries().map(([k, v]) => [`echo-${k}`, v])));
  }
}

let server: net.Server;
let port = 0;

before(async () => {
  let nextId = 1;
  server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const connection = new ConnectionImpl(nextId++, socket, dispatcher);
    const codec = new ServerConnectionImpl(
      connection,
      { newStream: (encoder: ResponseEncoder) => new EchoApp(encoder) },
      settings,
    );
    connection.addReadFilter({
      onData: (data, endStream) => {
        codec.dispatch(data, endStream);
        return 'StopIteration';
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends `raw` on a new socket and collects what comes back until `done(text)` or the close. */
function rawExchange(raw: string, done: (text: string) => boolean): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (done(text)) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      socket.write(Buffer.from(raw, 'latin1'));
    }),
    'a raw exchange',
  );
}

interface NodeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

function nodeRequest(
  options: http.RequestOptions,
  write?: (req: http.ClientRequest) => void,
): Promise<NodeResponse> {
  return within(
    new Promise<NodeResponse>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, ...options }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('latin1'),
            trailers: res.trailers,
          }),
        );
      });
      req.on('error', reject);
      if (write !== undefined) write(req);
      else req.end();
    }),
    `${options.method ?? 'GET'} ${options.path}`,
  );
}

describe('ServerConnectionImpl over a real socket', () => {
  test('Node’s keep-alive agent reuses one connection for several requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<net.Socket>();
    for (let i = 0; i < 3; i++) {
      const res = await nodeRequest({ path: `/r${i}`, agent }, (req) => {
        req.on('socket', (s) => sockets.add(s));
        req.end();
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, `/r${i}`);
    }
    assert.equal(sockets.size, 1);
    agent.destroy();
  });

  test('pipelined requests are answered in order even when the first answer is slower', async () => {
    const raw =
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /fast HTTP/1.1\r\nHost: a\r\n\r\n' +
      'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody';
    const text = await rawExchange(raw, (t) => (t.match(/\r\n0\r\n\r\n/g) ?? []).length === 3);
    const bodies = [...text.matchAll(/\r\n\r\n[0-9a-f]+\r\n([^\r]*)\r\n0\r\n\r\n/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ['slow', '/fast', 'body']);
  });

  test('a chunked upload with trailers gets a chunked answer with trailers', async () => {
    const res = await nodeRequest(
      { method: 'POST', path: '/up', headers: { 'transfer-encoding': 'chunked', trailer: 'x-digest' } },
      (req) => {
        req.write('part one, ');
        req.write('part two');
        req.addTrailers({ 'x-digest': 'abc123' });
        req.end();
      },
    );
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body, 'part one, part two');
    assert.deepEqual(res.trailers, { 'echo-x-digest': 'abc123' });
  });

  test('Expect: 100-continue gets 100 Continue before the client sends its body', async () => {
    let continued = false;
    const res = await nodeRequest(
      { method: 'PUT', path: '/continue', headers: { expect: '100-continue', 'content-length': '5' } },
      (req) => {
        req.on('continue', () => {
          continued = true;
          req.end('hello');
        });
      },
    );
    assert.equal(continued, true);
    assert.equal(res.body, 'hello');
  });

  test('HEAD, 204 and 304 answers carry no body and the connection stays usable', async () => {
    const raw =
      'HEAD /head-info HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /204 HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /304 HTTP/1.1\r\nHost: a\r\n\r\n' +
      'GET /last HTTP/1.1\r\nHost: a\r\n\r\n';
    const text = await rawExchange(raw, (t) => t.endsWith('/last\r\n0\r\n\r\n'));
    assert.equal(
      text,
      'HTTP/1.1 200 OK\r\ncontent-length: 12345\r\n\r\n' +
        'HTTP/1.1 204 No Content\r\n\r\n' +
        'HTTP/1.1 304 Not Modified\r\n\r\n' +
        'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n/last\r\n0\r\n\r\n',
    );
  });

  test('a malformed request gets Envoy’s 400 and the connection is closed', async () => {
    const text = await rawExchange(
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      () => false,
    );
    assert.equal(
      text,
      'HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nBad Request',
    );
  });

  test('an upgrade turns the connection into a raw pipe both ways', async () => {
    const result = await within(
      new Promise<string>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          path: '/ws',
          headers: { connection: 'Upgrade', upgrade: 'echo-upper' },
        });
        req.on('upgrade', (res, socket, head) => {
          assert.equal(res.statusCode, 101);
          let text = head.toString('latin1');
          socket.on('data', (c: Buffer) => {
            text += c.toString('latin1');
            if (text.length >= 11) {
              socket.destroy();
              resolve(text);
            }
          });
          socket.write('hello ');
          socket.write('world');
        });
        req.on('error', reject);
        req.end();
      }),
      'the upgraded echo',
    );
    assert.equal(result, 'HELLO WORLD');
  });
});

// ---------------------------------------------------------------------------------------------

class CollectedResponse implements ResponseDecoder {
  status = '';
  body = '';
  trailers: Array<[string, string]> = [];
  readonly done: Promise<void>;
  private resolve!: () => void;

  constructor() {
    this.done = within(
      new Promise<void>((r) => {
        this.resolve = r;
      }),
      'an upstream response',
    );
  }

  decode1xxHeaders(): void {}

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.status = headers.get(':status') ?? '';
    if (endStream) this.resolve();
  }

  decodeData(data: Buffer, endStream: boolean): void {
    this.body += data.toString('latin1');
    if (endStream) this.resolve();
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.trailers = (trailers as HeaderMapImpl).entries();
    this.resolve();
  }
}

/** A client codec on a real connection to `targetPort`. */
async function upstreamCodec(targetPort: number) {
  const socket = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true });
  const connection = new ConnectionImpl(100, socket, dispatcher);
  await within(
    new Promise<void>((resolve) =>
      connection.addConnectionCallbacks({ onEvent: (e) => e === 'Connected' && resolve() }),
    ),
    'the upstream connection',
  );
  const completions: boolean[] = [];
  const codec = new ClientConnectionImpl(
    connection,
    http1Settings({ enableTrailers: true, maxHeadersKb: 80 }),
    {
      onStreamComplete: (keepAlive) => completions.push(keepAlive),
    },
  );
  connection.addReadFilter({
    onData: (data, endStream) => {
      codec.dispatch(data, endStream);
      return 'StopIteration';
    },
  });
  return { socket, codec, completions };
}

function send(
  encoder: RequestEncoder,
  pairs: Array<[string, string]>,
  body?: string,
  trailers?: Array<[string, string]>,
) {
  dispatcher.run(() => {
    encoder.encodeHeaders(HeaderMapImpl.of(pairs), body === undefined);
    if (body !== undefined) encoder.encodeData(Buffer.from(body), trailers === undefined);
    if (trailers !== undefined) encoder.encodeTrailers(HeaderMapImpl.of(trailers));
  });
}

describe('ClientConnectionImpl over a real socket', () => {
  let upstream: http.Server;
  let upstreamPort = 0;
  const seenSockets = new Set<net.Socket>();

  before(async () => {
    upstream = http.createServer((req, res) => {
      seenSockets.add(req.socket);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('latin1');
        if (req.url === '/trailers') {
          res.setHeader('trailer', 'x-upstream-sum');
          res.write(`got ${body} and ${req.trailers['x-digest'] ?? '-'}`);
          res.addTrailers({ 'x-upstream-sum': '42' });
          res.end();
          return;
        }
        res.setHeader('content-length', String(Buffer.byteLength(`${req.method} ${req.url} ${body}`)));
        res.end(`${req.method} ${req.url} ${body}`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamPort = (upstream.address() as AddressInfo).port;
  });

  after(async () => {
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  test('two requests, one after the other, reuse one upstream connection', async () => {
    const { codec, completions, socket } = await upstreamCodec(upstreamPort);
    for (const path of ['/one', '/two']) {
      const response = new CollectedResponse();
      const encoder = codec.newStream(response);
      send(encoder, [
        [':method', 'GET'],
        [':path', path],
        [':authority', 'upstream'],
      ]);
      await response.done;
      assert.equal(response.status, '200');
      assert.equal(response.body, `GET ${path} `);
    }
    assert.deepEqual(completions, [true, true]);
    assert.equal(seenSockets.size, 1);
    socket.destroy();
  });

  test('a chunked request with trailers, and a chunked response with trailers', async () => {
    const { codec, socket } = await upstreamCodec(upstreamPort);
    const response = new CollectedResponse();
    const encoder = codec.newStream(response);
    send(
      encoder,
      [
        [':method', 'POST'],
        [':path', '/trailers'],
        [':authority', 'upstream'],
        ['trailer', 'x-digest'],
      ],
      'payload',
      [['x-digest', 'd1']],
    );
    await response.done;
    assert.equal(response.body, 'got payload and d1');
    assert.deepEqual(response.trailers, [['x-upstream-sum', '42']]);
    socket.destroy();
  });

  test('a close-delimited response ends when the upstream closes', async () => {
    const raw = net.createServer((s) => {
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end'));
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const { codec, completions, socket } = await upstreamCodec((raw.address() as AddressInfo).port);
    const response = new CollectedResponse();
    send(codec.newStream(response), [
      [':method', 'GET'],
      [':path', '/'],
      [':authority', 'raw'],
    ]);
    await response.done;
    assert.equal(response.body, 'until the end');
    assert.deepEqual(completions, [false]);
    socket.destroy();
    await new Promise<void>((resolve) => raw.close(() => resolve()));
  });
});
