/**
 * Cost of the HTTP/1 codec on small messages: the parser alone on a typical curl request, a
 * wrk request and a small nginx-style response (ns per message, header map included), then the
 * server codec's whole turn for one request (parse, decode events, a 200 with a 13-byte body
 * encoded and written) and the client codec's (request encoded, response parsed and decoded).
 *
 * Each figure is the best of several rounds after a warm-up. Writes go to a connection that
 * drops them, so what is measured is the codec, not the socket.
 * Run alone: `node bench/micro/http1-parse.ts [filter]`.
 */
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import { HeaderMapImpl } from '../../src/http/header-map.ts';
import { ClientConnectionImpl, ServerConnectionImpl } from '../../src/http/http1/codec.ts';
import { HEADERS_CONTINUE, Http1Parser, type Http1ParserHandler } from '../../src/http/http1/parser.ts';
import { http1Settings } from '../../src/http/http1/settings.ts';
import type { HeaderMap, RequestDecoder, ResponseDecoder, ResponseEncoder } from '../../src/http/types.ts';
import type { Connection, ConnectionCallbacks } from '../../src/network/types.ts';

const CURL_REQUEST = Buffer.from(
  'GET /index.html HTTP/1.1\r\nHost: localhost:10000\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n',
  'latin1',
);
const WRK_REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:10000\r\n\r\n', 'latin1');
const BROWSER_REQUEST = Buffer.from(
  'GET /assets/app.js?v=3 HTTP/1.1\r\nHost: www.example.com\r\nConnection: keep-alive\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n' +
    'Accept: */*\r\nSec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: script\r\n' +
    'Referer: https://www.example.com/\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n' +
    'Cookie: session=abcdef0123456789; theme=dark\r\n\r\n',
  'latin1',
);
const SMALL_RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Mon, 23 Nov 2026 17:00:00 GMT\r\n' +
    'Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, world!',
  'latin1',
);

/** Best ns/op over `rounds` runs of `n` operations. */
function measure(n: number, rounds: number, body: (n: number) => void): number {
  body(n); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    body(n);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return best;
}

let sink = 0;

class CountingHandler implements Http1ParserHandler {
  onMessageBegin(): void {}
  onInformational(): void {}
  onHeadersComplete(headers: HeaderMapImpl): number {
    sink += headers.size;
    return HEADERS_CONTINUE;
  }
  onBody(data: Buffer): void {
    sink += data.length;
  }
  onTrailers(): void {}
  onMessageComplete(): void {
    sink++;
  }
}

function parserLoop(type: 'request' | 'response', message: Buffer): (n: number) => void {
  const parser = new Http1Parser(type, new CountingHandler(), http1Settings());
  return (n) => {
    for (let i = 0; i < n; i++) {
      if (parser.execute(message) !== message.length) {
        throw new Error(`parse failed: ${parser.error?.message}`);
      }
    }
  };
}

const dispatcher = new DispatcherImpl('worker_0', realBackend());

/** A connection that counts and drops what is written. */
class NullConnection implements Connection {
  readonly id = 1;
  readonly dispatcher = dispatcher;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 2;
  written = 0;
  state() {
    return 'Open' as const;
  }
  write(data: Buffer): void {
    this.written += data.length;
  }
  close(): void {
    throw new Error('the benchmark connection must stay open');
  }
  readDisable(): void {}
  readEnabled(): boolean {
    return true;
  }
  addConnectionCallbacks(_cb: ConnectionCallbacks): void {}
  bufferedBytes(): number {
    return 0;
  }
}

const HELLO = Buffer.from('Hello, world!');

/** Answers every request at once: 200, content-length 13. */
class AnswerAtOnce implements RequestDecoder {
  private readonly encoder: ResponseEncoder;
  constructor(encoder: ResponseEncoder) {
    this.encoder = encoder;
  }
  decodeHeaders(_headers: HeaderMap, endStream: boolean): void {
    if (!endStream) return;
    const response = new HeaderMapImpl();
    response.addLowerCase(':status', '200');
    response.addLowerCase('content-length', '13');
    response.addLowerCase('content-type', 'text/plain');
    this.encoder.encodeHeaders(response, false);
    this.encoder.encodeData(HELLO, true);
  }
  decodeData(): void {}
  decodeTrailers(): void {}
}

function serverLoop(request: Buffer): (n: number) => void {
  const connection = new NullConnection();
  const codec = new ServerConnectionImpl(
    connection,
    { newStream: (e) => new AnswerAtOnce(e) },
    http1Settings(),
  );
  return (n) => {
    for (let i = 0; i < n; i++) {
      // Each request in its own dispatcher batch, as each socket read would be: the codec's
      // resume of the parser runs at the end of the batch.
      dispatcher.run(() => {
        if (codec.dispatch(request, false) !== null) throw new Error('server codec error');
      });
    }
    if (connection.written === 0) throw new Error('nothing was written');
  };
}

const IGNORE: ResponseDecoder = {
  decode1xxHeaders() {},
  decodeHeaders() {},
  decodeData(data: Buffer) {
    sink += data.length;
  },
  decodeTrailers() {},
};

function clientLoop(): (n: number) => void {
  const connection = new NullConnection();
  const codec = new ClientConnectionImpl(connection, http1Settings({ maxHeadersKb: 80 }));
  const request = HeaderMapImpl.of([
    [':method', 'GET'],
    [':path', '/'],
    [':authority', 'upstream:8080'],
    [':scheme', 'http'],
    ['user-agent', 'wrk'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', '2b4e6d3c-6a7f-4f63-9c1d-1f7f8e2a9b10'],
  ]);
  return (n) => {
    for (let i = 0; i < n; i++) {
      dispatcher.run(() => {
        codec.newStream(IGNORE).encodeHeaders(request, true);
        if (codec.dispatch(SMALL_RESPONSE, false) !== null) throw new Error('client codec error');
      });
    }
  };
}

const N = 300_000;
const cases: Array<[string, (n: number) => void]> = [
  ['parse curl request', parserLoop('request', CURL_REQUEST)],
  ['parse wrk request', parserLoop('request', WRK_REQUEST)],
  ['parse browser request (13 fields)', parserLoop('request', BROWSER_REQUEST)],
  ['parse small response', parserLoop('response', SMALL_RESPONSE)],
  ['server codec: curl request in, 200 out', serverLoop(CURL_REQUEST)],
  ['server codec: wrk request in, 200 out', serverLoop(WRK_REQUEST)],
  ['client codec: request out, small response in', clientLoop()],
];
const only = process.argv[2];
for (const [label, loop] of cases) {
  if (only !== undefined && !label.includes(only)) continue;
  console.log(`http1: ${label}  ${measure(N, 5, loop).toFixed(0)} ns/op`);
}
if (sink === 0) throw new Error('nothing was parsed');
