/**
 * The HTTP/1 codecs over a fake connection: how the server codec frames responses and keeps or
 * closes connections (Envoy's HTTP/1.0 and keep-alive rules), pipelining in order, 100-continue,
 * codec errors and their local reply, resets and watermarks; how the client codec writes
 * requests and reads responses (keep-alive reuse, premature close, HEAD, 1xx, upgrades).
 * Envoy counterpart: test/common/http/http1/codec_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderMapImpl } from '../../src/http/header-map.ts';
import { ClientConnectionImpl, ServerConnectionImpl } from '../../src/http/http1/codec.ts';
import { type Http1Settings, http1Settings } from '../../src/http/http1/settings.ts';
import type {
  CodecError,
  HeaderMap,
  RequestDecoder,
  ResponseDecoder,
  ResponseEncoder,
  StreamResetReason,
} from '../../src/http/types.ts';
import { FakeConnection } from './fake-connection.ts';

/** A request as the server codec delivered it, with the encoder to answer it. */
class RecordedRequest implements RequestDecoder {
  readonly encoder: ResponseEncoder;
  headers: HeaderMapImpl | null = null;
  body = '';
  trailers: HeaderMapImpl | null = null;
  ended = false;
  resets: Array<[StreamResetReason, string]> = [];
  localReplies: Array<[number, string, string]> = [];
  answerLocalReplies = false;

  constructor(encoder: ResponseEncoder) {
    this.encoder = encoder;
    encoder.getStream().addCallbacks({
      onResetStream: (reason, details) => {
        this.resets.push([reason, details]);
      },
    });
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.headers = headers as HeaderMapImpl;
    this.ended = endStream;
  }

  decodeData(data: Buffer, endStream: boolean): void {
    this.body += data.toString('latin1');
    this.ended = endStream;
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.trailers = trailers as HeaderMapImpl;
    this.ended = true;
  }

  sendLocalReply(status: number, body: string, details: string): void {
    this.localReplies.push([status, body, details]);
    if (!this.answerLocalReplies) return;
    this.encoder.encodeHeaders(
      HeaderMapImpl.of([
        [':status', String(status)],
        ['content-length', String(body.length)],
        ['server', 'legate'],
      ]),
      false,
    );
    this.encoder.encodeData(Buffer.from(body), true);
  }
}

function serverFixture(overrides: Partial<Http1Settings> = {}) {
  const conn = new FakeConnection();
  const requests: RecordedRequest[] = [];
  let answerLocalReplies = false;
  const codec = new ServerConnectionImpl(
    conn,
    {
      newStream(encoder) {
        const r = new RecordedRequest(encoder);
        r.answerLocalReplies = answerLocalReplies;
        requests.push(r);
        return r;
      },
    },
    http1Settings(overrides),
  );
  return {
    conn,
    codec,
    requests,
    /** Dispatches input inside a dispatcher batch (scheduled codec work runs before it returns). */
    send(text: string, endStream = false): CodecError | null {
      let result: CodecError | null = null;
      conn.dispatcher.run(() => {
        result = codec.dispatch(Buffer.from(text, 'latin1'), endStream);
      });
      return result as CodecError | null;
    },
    run(fn: () => void) {
      conn.dispatcher.run(fn);
    },
    answerLocalReplies() {
      answerLocalReplies = true;
    },
  };
}

const h = (pairs: Array<[string, string]>) => HeaderMapImpl.of(pairs);
const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

describe('ServerConnectionImpl: response framing', () => {
  test('a response with content-length goes out as given, head and body in one write', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(
        h([
          [':status', '200'],
          ['content-length', '2'],
          ['x-a', 'b'],
        ]),
        false,
      );
      f.requests[0]!.encoder.encodeData(Buffer.from('ok'), true);
    });
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: b\r\n\r\nok');
    assert.equal(f.conn.writeCount(), 1);
    assert.equal(f.conn.closeType, null);
  });

  test('without content-length an HTTP/1.1 response is chunked and ends with the last chunk', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => {
      const e = f.requests[0]!.encoder;
      e.encodeHeaders(h([[':status', '200']]), false);
      e.encodeData(Buffer.from('hello'), false);
      e.encodeData(Buffer.from(' world!'), true);
    });
    assert.equal(
      f.conn.text(),
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n world!\r\n0\r\n\r\n',
    );
  });

  test('a transfer-encoding in the map is not copied: the codec writes its own in that place', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => {
      const e = f.requests[0]!.encoder;
      e.encodeHeaders(
        h([
          [':status', '200'],
          ['transfer-encoding', 'gzip, chunked'],
          ['x', 'y'],
        ]),
        false,
      );
      e.encodeData(Buffer.from(''), true);
    });
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx: y\r\n\r\n0\r\n\r\n');
  });

  test('a headers-only response gets content-length: 0', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '404']]), true));
    assert.equal(f.conn.text(), 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
  });

  test('the answer to HEAD carries no body, and no content-length is made up', () => {
    const f = serverFixture();
    f.send('HEAD / HTTP/1.1\r\nHost: a\r\n\r\n');
    f.run(() => {
      const e = f.requests[0]!.encoder;
      e.encodeHeaders(
        h([
          [':status', '200'],
          ['content-length', '5'],
        ]),
        false,
      );
      e.encodeData(Buffer.from('hello'), true);
    });
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n');
    f.conn.clear();
    f.send('HEAD / HTTP/1.1\r\nHost: a\r\n\r\n');
    f.run(() => f.requests[1]!.encoder.encodeHeaders(h([[':status', '200']]), true));
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
    assert.equal(f.conn.closeType, null);
  });

  test('204 and 304 get no framing headers and no body', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(h([[':status', '204']]), false);
      f.requests[0]!.encoder.encodeData(Buffer.from('dropped'), true);
    });
    f.send(GET);
    f.run(() =>
      f.requests[1]!.encoder.encodeHeaders(
        h([
          [':status', '304'],
          ['etag', '"x"'],
        ]),
        true,
      ),
    );
    assert.equal(
      f.conn.text(),
      'HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n',
    );
    assert.equal(f.conn.closeType, null);
  });

  test('trailers are written after the last chunk when enabled, and dropped otherwise', () => {
    for (const enableTrailers of [true, false]) {
      const f = serverFixture({ enableTrailers });
      f.send(GET);
      f.run(() => {
        const e = f.requests[0]!.encoder;
        e.encodeHeaders(h([[':status', '200']]), false);
        e.encodeData(Buffer.from('abc'), false);
        e.encodeTrailers(h([['grpc-status', '0']]));
      });
      const trailer = enableTrailers ? 'grpc-status: 0\r\n' : '';
      assert.equal(
        f.conn.text(),
        `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n${trailer}\r\n`,
      );
    }
  });

  test('preserve_case writes keys as they were spelled, and forwards a kept reason phrase', () => {
    const f = serverFixture({ headerKeyFormat: 'preserve_case', forwardReasonPhrase: true });
    f.send(GET);
    const headers = new HeaderMapImpl(true);
    headers.add(':status', '200');
    headers.add('X-Upstream-Header', 'v');
    headers.add('Content-Length', '0');
    headers.reasonPhrase = 'Very OK';
    f.run(() => f.requests[0]!.encoder.encodeHeaders(headers, true));
    assert.equal(f.conn.text(), 'HTTP/1.1 200 Very OK\r\nX-Upstream-Header: v\r\nContent-Length: 0\r\n\r\n');
  });

  test('proper_case capitalises every word of every key', () => {
    const f = serverFixture({ headerKeyFormat: 'proper_case' });
    f.send(GET);
    f.run(() =>
      f.requests[0]!.encoder.encodeHeaders(
        h([
          [':status', '200'],
          ['x-request-id', '1'],
        ]),
        true,
      ),
    );
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\nX-Request-Id: 1\r\nContent-Length: 0\r\n\r\n');
  });

  test('a body above the coalescing size is written without copying it', () => {
    const f = serverFixture();
    f.send(GET);
    const big = Buffer.alloc(64 * 1024, 0x61);
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(
        h([
          [':status', '200'],
          ['content-length', String(big.length)],
        ]),
        false,
      );
      f.requests[0]!.encoder.encodeData(big, true);
    });
    assert.equal(f.conn.writeCount(), 2);
    assert.equal(f.conn.writes[1]!.length, big.length);
  });
});

describe('ServerConnectionImpl: keep-alive and close', () => {
  test('connection: close in the request: the response says so and the connection closes after it', () => {
    const f = serverFixture();
    f.send('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), true));
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('connection: close set by the layer above (draining) closes after the response', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() =>
      f.requests[0]!.encoder.encodeHeaders(
        h([
          [':status', '200'],
          ['connection', 'close'],
        ]),
        true,
      ),
    );
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('HTTP/1.0 without keep-alive: HTTP/1.0 status line, close-delimited body, then close', () => {
    const f = serverFixture({ acceptHttp10: true });
    f.send('GET / HTTP/1.0\r\nHost: a\r\n\r\n');
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), false);
      f.requests[0]!.encoder.encodeData(Buffer.from('body'), true);
    });
    assert.equal(f.conn.text(), 'HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nbody');
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('HTTP/1.0 keep-alive with a length: connection: keep-alive is sent and the connection stays', () => {
    const f = serverFixture({ acceptHttp10: true });
    f.send('GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(
        h([
          [':status', '200'],
          ['content-length', '4'],
        ]),
        false,
      );
      f.requests[0]!.encoder.encodeData(Buffer.from('body'), true);
    });
    assert.equal(f.conn.text(), 'HTTP/1.0 200 OK\r\ncontent-length: 4\r\nconnection: keep-alive\r\n\r\nbody');
    assert.equal(f.conn.closeType, null);
  });

  test('HTTP/1.0 keep-alive without a length still closes (the body ends with the connection)', () => {
    const f = serverFixture({ acceptHttp10: true });
    f.send('GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n');
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), false);
      f.requests[0]!.encoder.encodeData(Buffer.from('body'), true);
    });
    assert.equal(f.conn.text(), 'HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nbody');
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('a response begun before the request is complete closes the connection after it', () => {
    const f = serverFixture();
    f.send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\npartial');
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '413']]), true));
    assert.equal(
      f.conn.text(),
      'HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
    );
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('a peer half-close after a complete request is a close (Envoy has no HTTP half-close): the stream is reset', () => {
    const f = serverFixture();
    f.send(GET, true);
    assert.deepEqual(f.requests[0]!.resets, [['ConnectionTermination', 'downstream_remote_disconnect']]);
    assert.equal(f.conn.closeType, 'NoFlush');
    assert.equal(f.conn.text(), '');
  });

  test('a peer half-close after a complete request is the peer leaving (Envoy): its stream is reset', () => {
    const f = serverFixture();
    f.send(GET);
    f.send('', true);
    assert.deepEqual(f.requests[0]!.resets, [['ConnectionTermination', 'downstream_remote_disconnect']]);
    assert.equal(f.conn.closeType, 'NoFlush');
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), true));
    assert.equal(f.conn.text(), '');
  });

  test('a peer half-close in the middle of a response resets the stream', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), false));
    f.send('', true);
    assert.deepEqual(f.requests[0]!.resets, [['ConnectionTermination', 'downstream_remote_disconnect']]);
    assert.equal(f.conn.closeType, 'NoFlush');
  });

  test('a peer half-close between requests closes after what was answered', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '204']]), true));
    f.send('', true);
    assert.match(f.conn.text(), /^HTTP\/1\.1 204 No Content\r\n/);
    assert.deepEqual(f.requests[0]!.resets, []);
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('a pipelined request that has started when the peer half-closes is reset too', () => {
    const f = serverFixture();
    f.send(`${GET}${GET}`);
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '204']]), true));
    assert.equal(f.requests.length, 2);
    f.send('', true);
    assert.deepEqual(f.requests[1]!.resets, [['ConnectionTermination', 'downstream_remote_disconnect']]);
    assert.equal(f.conn.closeType, 'NoFlush');
  });

  test('a peer half-close in the middle of a request resets its stream and closes', () => {
    const f = serverFixture();
    f.send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', true);
    assert.deepEqual(f.requests[0]!.resets, [['ConnectionTermination', 'downstream_remote_disconnect']]);
    assert.equal(f.conn.closeType, 'NoFlush');
  });

  test('the connection closing under a stream resets it with ConnectionTermination', () => {
    const f = serverFixture();
    f.send(GET);
    f.conn.raiseEvent('RemoteClose');
    assert.deepEqual(f.requests[0]!.resets, [['ConnectionTermination', 'downstream_remote_disconnect']]);
  });
});

describe('ServerConnectionImpl: pipelining', () => {
  test('the next pipelined request starts only when the previous response is complete', () => {
    const f = serverFixture();
    f.send(
      'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    assert.equal(f.requests.length, 1);
    assert.equal(f.conn.readDisableCount, 1, 'reading stops while requests wait');
    for (let i = 0; i < 3; i++) {
      const r = f.requests[i]!;
      assert.equal(r.headers?.get(':path'), `/${i + 1}`);
      f.run(() =>
        r.encoder.encodeHeaders(
          h([
            [':status', '200'],
            ['x-n', String(i + 1)],
          ]),
          true,
        ),
      );
    }
    assert.equal(f.requests.length, 3);
    assert.deepEqual(
      [...f.conn.text().matchAll(/x-n: (\d)/g)].map((m) => m[1]),
      ['1', '2', '3'],
    );
    assert.equal(f.conn.readDisableCount, 0, 'reading resumes once nothing waits');
  });

  test('input arriving while a response is pending waits for it', () => {
    const f = serverFixture();
    f.send(GET);
    f.send('GET /later HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(f.requests.length, 1);
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), true));
    assert.equal(f.requests.length, 2);
    assert.equal(f.requests[1]!.headers?.get(':path'), '/later');
  });
});

describe('ServerConnectionImpl: 100-continue, upgrades, CONNECT', () => {
  test('encode1xxHeaders writes 100 Continue at once, before the final response', () => {
    const f = serverFixture();
    f.send('PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
    const r = f.requests[0]!;
    assert.equal(r.headers?.get('expect'), '100-continue');
    r.encoder.encode1xxHeaders(h([[':status', '100']]));
    assert.equal(f.conn.text(), 'HTTP/1.1 100 Continue\r\n\r\n');
    f.send('abc');
    assert.equal(r.body, 'abc');
    f.run(() => r.encoder.encodeHeaders(h([[':status', '201']]), true));
    assert.equal(
      f.conn.text(),
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n',
    );
    assert.equal(f.conn.closeType, null);
  });

  test('no 1xx is sent to an HTTP/1.0 client', () => {
    const f = serverFixture({ acceptHttp10: true });
    f.send('PUT / HTTP/1.0\r\nHost: a\r\nContent-Length: 3\r\n\r\n');
    f.requests[0]!.encoder.encode1xxHeaders(h([[':status', '100']]));
    assert.equal(f.conn.text(), '');
  });

  test('an upgrade: 101, then raw bytes both ways; the end of the response closes the connection', () => {
    const f = serverFixture();
    f.send('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nclient-bytes');
    const r = f.requests[0]!;
    assert.equal(r.ended, false);
    assert.equal(r.body, 'client-bytes');
    f.run(() => {
      r.encoder.encodeHeaders(
        h([
          [':status', '101'],
          ['connection', 'Upgrade'],
          ['upgrade', 'websocket'],
        ]),
        false,
      );
      r.encoder.encodeData(Buffer.from('server-bytes'), false);
    });
    assert.equal(
      f.conn.text(),
      'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\nserver-bytes',
    );
    f.send('more', true);
    assert.equal(r.body, 'client-bytesmore');
    assert.equal(r.ended, true, 'the client half-close ends the request stream');
    assert.equal(f.conn.closeType, null);
    f.run(() => r.encoder.encodeData(Buffer.alloc(0), true));
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('a tunnel whose response ends first half-closes, and closes once the client ends too', () => {
    const f = serverFixture();
    f.send('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n');
    const r = f.requests[0]!;
    f.run(() => {
      r.encoder.encodeHeaders(h([[':status', '200']]), false);
      r.encoder.encodeData(Buffer.from('bye'), true);
    });
    assert.equal(f.conn.halfClosed, true);
    assert.equal(f.conn.closeType, null);
    f.send('late client bytes', true);
    assert.equal(r.body, 'late client bytes');
    assert.equal(r.ended, true);
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('a refused upgrade is an ordinary response and closes the connection after it', () => {
    const f = serverFixture();
    f.send('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '403']]), true));
    assert.equal(f.conn.text(), 'HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('CONNECT answered 200: no framing, raw bytes after', () => {
    const f = serverFixture();
    f.send('CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n');
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), false);
      f.requests[0]!.encoder.encodeData(Buffer.from('tls'), false);
    });
    assert.equal(f.conn.text(), 'HTTP/1.1 200 OK\r\n\r\ntls');
  });
});

describe('ServerConnectionImpl: errors, resets, flow control', () => {
  test('a codec error with no answer from above: Envoy’s 400, a ProtocolError reset, the connection closed', () => {
    const f = serverFixture();
    const error = f.send('GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n');
    assert.equal(error?.status, 400);
    assert.equal(
      f.conn.text(),
      'HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nBad Request',
    );
    assert.equal(f.requests[0]!.headers, null, 'nothing was decoded');
    assert.deepEqual(f.requests[0]!.resets, [['ProtocolError', 'http1.codec_error']]);
    assert.equal(f.conn.closeType, 'FlushWrite');
    assert.equal(f.send(GET), error, 'later input is ignored');
  });

  test('a codec error answered by the layer above through sendLocalReply', () => {
    const f = serverFixture();
    f.answerLocalReplies();
    f.send(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(61 * 1024)}\r\n\r\n`);
    assert.deepEqual(f.requests[0]!.localReplies, [
      [431, 'Request Header Fields Too Large', 'http1.headers_too_large'],
    ]);
    assert.equal(
      f.conn.text(),
      'HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 31\r\nserver: legate\r\nconnection: close\r\n\r\nRequest Header Fields Too Large',
    );
    assert.deepEqual(f.requests[0]!.resets, []);
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('an error in a body after its headers were delivered: 400 and a reset, nothing more decoded', () => {
    const f = serverFixture();
    f.send('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    assert.equal(f.requests[0]!.body, 'abc');
    f.send('zz\r\n');
    assert.match(f.conn.text(), /^HTTP\/1\.1 400 Bad Request/);
    assert.deepEqual(f.requests[0]!.resets, [['ProtocolError', 'http1.codec_error']]);
  });

  test('an error found later in the same read keeps the headers from being delivered at all', () => {
    const f = serverFixture();
    f.send('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n');
    assert.equal(f.requests[0]!.headers, null);
    assert.equal(f.requests[0]!.body, '');
  });

  test('an error after the response started: a reset and a close, no second response', () => {
    const f = serverFixture();
    f.send('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), false));
    f.send('nothex\r\n');
    assert.doesNotMatch(f.conn.text(), /400/);
    assert.deepEqual(f.requests[0]!.resets, [['ProtocolError', 'http1.codec_error']]);
    assert.equal(f.conn.closeType, 'FlushWrite');
  });

  test('resetStream from the layer above closes the connection, without echoing the reset', () => {
    const f = serverFixture();
    f.send(GET);
    f.run(() => {
      f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), false);
      f.requests[0]!.encoder.resetStream('LocalReset');
    });
    assert.equal(f.conn.closeType, 'FlushWrite');
    assert.deepEqual(f.requests[0]!.resets, []);
  });

  test('write-buffer watermarks reach the stream callbacks', () => {
    const f = serverFixture();
    f.send(GET);
    const seen: string[] = [];
    f.requests[0]!.encoder.getStream().addCallbacks({
      onResetStream() {},
      onAboveWriteBufferHighWatermark: () => seen.push('high'),
      onBelowWriteBufferLowWatermark: () => seen.push('low'),
    });
    f.conn.raiseHighWatermark();
    f.conn.raiseLowWatermark();
    assert.deepEqual(seen, ['high', 'low']);
  });

  test('a stream’s readDisable is counted and released when the stream ends', () => {
    const f = serverFixture();
    f.send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx');
    const stream = f.requests[0]!.encoder.getStream();
    stream.readDisable(true);
    stream.readDisable(true);
    stream.readDisable(false);
    assert.equal(f.conn.readDisableCount, 1);
    f.run(() => f.requests[0]!.encoder.encodeHeaders(h([[':status', '200']]), true));
    assert.equal(f.conn.readDisableCount, 0);
  });
});

// ---------------------------------------------------------------------------------------------

/** A response as the client codec delivered it. */
class RecordedResponse implements ResponseDecoder {
  informational: HeaderMapImpl[] = [];
  headers: HeaderMapImpl | null = null;
  body = '';
  trailers: HeaderMapImpl | null = null;
  ended = false;
  resets: Array<[StreamResetReason, string]> = [];

  decode1xxHeaders(headers: HeaderMap): void {
    this.informational.push(headers as HeaderMapImpl);
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.headers = headers as HeaderMapImpl;
    this.ended = endStream;
  }

  decodeData(data: Buffer, endStream: boolean): void {
    this.body += data.toString('latin1');
    this.ended = endStream;
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.trailers = trailers as HeaderMapImpl;
    this.ended = true;
  }
}

function clientFixture(overrides: Partial<Http1Settings> = {}) {
  const conn = new FakeConnection();
  const completions: boolean[] = [];
  const codec = new ClientConnectionImpl(conn, http1Settings({ maxHeadersKb: 80, ...overrides }), {
    onStreamComplete: (keepAlive) => completions.push(keepAlive),
  });
  return {
    conn,
    codec,
    completions,
    start(headers: Array<[string, string]>, endStream: boolean) {
      const response = new RecordedResponse();
      const encoder = codec.newStream(response);
      encoder.getStream().addCallbacks({
        onResetStream: (reason, details) => {
          response.resets.push([reason, details]);
        },
      });
      conn.dispatcher.run(() => encoder.encodeHeaders(h(headers), endStream));
      return { response, encoder };
    },
    receive(text: string, endStream = false): CodecError | null {
      let result: CodecError | null = null;
      conn.dispatcher.run(() => {
        result = codec.dispatch(Buffer.from(text, 'latin1'), endStream);
      });
      return result as CodecError | null;
    },
  };
}

const REQ: Array<[string, string]> = [
  [':method', 'GET'],
  [':path', '/x'],
  [':authority', 'up.example'],
  [':scheme', 'http'],
  ['user-agent', 'legate'],
];

describe('ClientConnectionImpl: requests', () => {
  test('a GET: request line, Host from :authority first, no content-length', () => {
    const f = clientFixture();
    f.start(REQ, true);
    assert.equal(f.conn.text(), 'GET /x HTTP/1.1\r\nhost: up.example\r\nuser-agent: legate\r\n\r\n');
  });

  test('a POST without body gets content-length: 0; a streamed one is chunked', () => {
    const post: Array<[string, string]> = [
      [':method', 'POST'],
      [':path', '/p'],
      [':authority', 'up'],
    ];
    const f = clientFixture();
    f.start(post, true);
    assert.equal(f.conn.text(), 'POST /p HTTP/1.1\r\nhost: up\r\ncontent-length: 0\r\n\r\n');
    const g = clientFixture();
    const { encoder } = g.start(post, false);
    g.conn.dispatcher.run(() => {
      encoder.encodeData(Buffer.from('abc'), false);
      encoder.encodeData(Buffer.from('de'), true);
    });
    assert.equal(
      g.conn.text(),
      'POST /p HTTP/1.1\r\nhost: up\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
    );
  });

  test('request trailers go after the last chunk when enabled', () => {
    const f = clientFixture({ enableTrailers: true });
    const { encoder } = f.start(
      [
        [':method', 'POST'],
        [':path', '/'],
        [':authority', 'up'],
      ],
      false,
    );
    f.conn.dispatcher.run(() => {
      encoder.encodeData(Buffer.from('x'), false);
      encoder.encodeTrailers(h([['x-checksum', '1']]));
    });
    assert.match(f.conn.text(), /\r\n1\r\nx\r\n0\r\nx-checksum: 1\r\n\r\n$/);
  });

  test('CONNECT goes out in authority-form without framing', () => {
    const f = clientFixture();
    f.start(
      [
        [':method', 'CONNECT'],
        [':authority', 'a.example:443'],
      ],
      false,
    );
    assert.equal(f.conn.text(), 'CONNECT a.example:443 HTTP/1.1\r\nhost: a.example:443\r\n\r\n');
  });
});

describe('ClientConnectionImpl: responses', () => {
  test('a keep-alive response completes the stream and the connection takes the next one', () => {
    const f = clientFixture();
    const { response } = f.start(REQ, true);
    f.receive('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    assert.equal(response.headers?.get(':status'), '200');
    assert.equal(response.body, 'ok');
    assert.equal(response.ended, true);
    assert.deepEqual(f.completions, [true]);
    assert.equal(f.codec.idle(), true);
    const second = f.start(REQ, true);
    f.receive('HTTP/1.1 204 No Content\r\n\r\n');
    assert.equal(second.response.ended, true);
    assert.deepEqual(f.completions, [true, true]);
  });

  test('connection: close or HTTP/1.0 in the response: not reused, the codec closes', () => {
    for (const reply of [
      'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n',
    ]) {
      const f = clientFixture();
      f.start(REQ, true);
      f.receive(reply);
      assert.deepEqual(f.completions, [false], reply);
      assert.notEqual(f.conn.closeType, null);
    }
  });

  test('the answer to HEAD ends at its headers even with a content-length', () => {
    const f = clientFixture();
    const { response } = f.start(
      [
        [':method', 'HEAD'],
        [':path', '/'],
        [':authority', 'up'],
      ],
      true,
    );
    f.receive('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
    assert.equal(response.ended, true);
    assert.equal(response.headers?.get('content-length'), '1000');
    assert.deepEqual(f.completions, [true]);
  });

  test('100 Continue goes to decode1xxHeaders before the final response', () => {
    const f = clientFixture();
    const { response } = f.start(REQ, true);
    f.receive('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    assert.deepEqual(
      response.informational.map((m) => m.get(':status')),
      ['100'],
    );
    assert.equal(response.headers?.get(':status'), '200');
  });

  test('a response read until close completes when the upstream half-closes', () => {
    const f = clientFixture();
    const { response } = f.start(REQ, true);
    f.receive('HTTP/1.1 200 OK\r\n\r\npart one ');
    assert.equal(response.ended, false);
    f.receive('part two', true);
    assert.equal(response.body, 'part one part two');
    assert.equal(response.ended, true);
    assert.deepEqual(f.completions, [false]);
  });

  test('the upstream closing before the response ends: a protocol error mid-response, a termination before it', () => {
    // Envoy's codec reads the close of a framed response cut short as HPE_INVALID_EOF_STATE.
    const f = clientFixture();
    const { response } = f.start(REQ, true);
    f.receive('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', true);
    assert.deepEqual(response.resets, [['ProtocolError', 'http1.codec_error']]);
    const reset = clientFixture();
    const cut = reset.start(REQ, true);
    reset.receive('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    reset.conn.raiseEvent('RemoteClose');
    assert.deepEqual(cut.response.resets, [['ProtocolError', 'http1.codec_error']]);
    const g = clientFixture();
    const before = g.start(REQ, true);
    g.conn.raiseEvent('RemoteClose');
    assert.deepEqual(before.response.resets, [['ConnectionTermination', 'upstream_remote_disconnect']]);
  });

  test('bytes after a complete response are a protocol error', () => {
    const f = clientFixture();
    const { response } = f.start(REQ, true);
    const error = f.receive('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n');
    assert.match(error?.message ?? '', /extraneous data/);
    assert.equal(response.ended, true);
    assert.equal(f.conn.closeType, 'NoFlush');
  });

  test('a malformed response resets the stream with ProtocolError', () => {
    const f = clientFixture();
    const { response } = f.start(REQ, true);
    f.receive('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
    assert.deepEqual(response.resets, [['ProtocolError', 'http1.codec_error']]);
    assert.equal(f.conn.closeType, 'NoFlush');
  });

  test('a response before any request is an error', () => {
    const f = clientFixture();
    assert.notEqual(f.receive('HTTP/1.1 408 Request Timeout\r\n\r\n'), null);
  });

  test('an answer before the request body was sent ends the stream and the connection is not reused', () => {
    const f = clientFixture();
    const { response, encoder } = f.start(
      [
        [':method', 'POST'],
        [':path', '/'],
        [':authority', 'up'],
        ['content-length', '100'],
      ],
      false,
    );
    f.receive('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n');
    assert.equal(response.ended, true);
    assert.deepEqual(f.completions, [false]);
    assert.equal(f.conn.closeType, 'FlushWrite');
    encoder.encodeData(Buffer.from('late'), true); // ignored
  });

  test('an upgrade: 101 makes the rest of the connection a raw pipe both ways', () => {
    const f = clientFixture();
    const { response, encoder } = f.start(
      [
        [':method', 'GET'],
        [':path', '/ws'],
        [':authority', 'up'],
        ['connection', 'Upgrade'],
        ['upgrade', 'websocket'],
      ],
      false,
    );
    f.receive(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nfrom-server',
    );
    assert.equal(response.headers?.get(':status'), '101');
    assert.equal(response.body, 'from-server');
    f.conn.clear();
    f.conn.dispatcher.run(() => encoder.encodeData(Buffer.from('from-client'), false));
    assert.equal(f.conn.text(), 'from-client');
  });

  test('101 to a request that asked for no upgrade is a protocol error', () => {
    const f = clientFixture();
    const { response } = f.start(REQ, true);
    f.receive('HTTP/1.1 101 Switching Protocols\r\n\r\n');
    assert.equal(response.resets[0]?.[0], 'ProtocolError');
  });

  test('resetStream from the router closes the connection at once', () => {
    const f = clientFixture();
    const { response, encoder } = f.start(REQ, true);
    encoder.resetStream('LocalReset');
    assert.equal(f.conn.closeType, 'NoFlush');
    assert.deepEqual(response.resets, []);
  });
});
