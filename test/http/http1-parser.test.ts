/**
 * The HTTP/1 parser on its own: the header maps it builds, request framing, response framing
 * (Content-Length, chunked with trailers, read until close, HEAD / 1xx / 204 / 304, upgrades),
 * incremental input cut at every byte, pausing between pipelined messages, and its error
 * reports. The request rejections are covered entry by entry by the corpus; here are the
 * response side and the mechanics. Envoy counterpart: test/common/http/http1/codec_impl_test.cc
 * (parser-level cases), balsa_parser_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HeaderMapImpl } from '../../src/http/header-map.ts';
import type { Http1CodecError } from '../../src/http/http1/errors.ts';
import {
  HEADERS_CONTINUE,
  HEADERS_NO_BODY,
  HEADERS_RAW,
  Http1Parser,
  type Http1ParserHandler,
  type MessageType,
  parseAbsoluteUrl,
  validAuthority,
} from '../../src/http/http1/parser.ts';
import { type Http1Settings, http1Settings } from '../../src/http/http1/settings.ts';

interface Message {
  headers: Array<[string, string]>;
  body: string;
  trailers: Array<[string, string]> | null;
  complete: boolean;
}

/** Records what the parser reports; `mode` is what onHeadersComplete answers. */
class Recorder implements Http1ParserHandler {
  readonly messages: Message[] = [];
  readonly informational: Array<Array<[string, string]>> = [];
  mode = HEADERS_CONTINUE;
  pauseOnComplete = false;
  parser: Http1Parser | null = null;
  reasonPhrases: string[] = [];
  /** The spelling of every key, as a preserve_case formatter would write it. */
  rawKeys: string[][] = [];

  onMessageBegin(): void {
    this.messages.push({ headers: [], body: '', trailers: null, complete: false });
  }

  onInformational(headers: HeaderMapImpl): void {
    this.informational.push(headers.entries());
  }

  onHeadersComplete(headers: HeaderMapImpl): number {
    this.current().headers = headers.entries();
    this.reasonPhrases.push(headers.reasonPhrase);
    this.rawKeys.push(Array.from({ length: headers.size }, (_, i) => headers.rawKeyAt(i)));
    return this.mode;
  }

  onBody(data: Buffer): void {
    this.current().body += data.toString('latin1');
  }

  onTrailers(trailers: HeaderMapImpl): void {
    this.current().trailers = trailers.entries();
  }

  onMessageComplete(): void {
    this.current().complete = true;
    if (this.pauseOnComplete) this.parser?.pause();
  }

  private current(): Message {
    const m = this.messages.at(-1);
    if (m === undefined) throw new Error('no message begun');
    return m;
  }
}

function parse(
  type: MessageType,
  input: string,
  overrides: Partial<Http1Settings> = {},
  chunkSize = Number.POSITIVE_INFINITY,
  mode = HEADERS_CONTINUE,
): { recorder: Recorder; parser: Http1Parser; error: Http1CodecError | null } {
  const recorder = new Recorder();
  recorder.mode = mode;
  const parser = new Http1Parser(type, recorder, http1Settings(overrides));
  recorder.parser = parser;
  const bytes = Buffer.from(input, 'latin1');
  for (let i = 0; i < bytes.length; i += chunkSize) {
    const piece = bytes.subarray(i, Math.min(bytes.length, i + chunkSize));
    if (parser.execute(piece) < 0) break;
  }
  return { recorder, parser, error: parser.error };
}

describe('Http1Parser: requests', () => {
  test('an origin-form request map has :method, :path, :authority from Host, no :scheme, then the fields in order', () => {
    const { recorder, error } = parse(
      'request',
      'GET /a?b=c HTTP/1.1\r\nUser-Agent: curl\r\nHost: example.com\r\nAccept: */*\r\n\r\n',
    );
    assert.equal(error, null);
    assert.deepEqual(recorder.messages, [
      {
        headers: [
          [':method', 'GET'],
          [':path', '/a?b=c'],
          [':authority', 'example.com'],
          ['user-agent', 'curl'],
          ['accept', '*/*'],
        ],
        body: '',
        trailers: null,
        complete: true,
      },
    ]);
  });

  test(':scheme comes from an absolute-form target only (Envoy: the connection manager sets the others)', () => {
    const tls = parse('request', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { scheme: 'https' });
    assert.equal(
      tls.recorder.messages[0]!.headers.find(([k]) => k === ':scheme'),
      undefined,
    );
    const options = parse('request', 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.deepEqual(options.recorder.messages[0]!.headers, [
      [':method', 'OPTIONS'],
      [':path', '*'],
      [':authority', 'a'],
    ]);
    const absolute = parse('request', 'GET https://b.example:8443/x HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.deepEqual(absolute.recorder.messages[0]!.headers.slice(0, 4), [
      [':method', 'GET'],
      [':path', '/x'],
      [':authority', 'b.example:8443'],
      [':scheme', 'https'],
    ]);
  });

  test('validate_scheme (an edge proxy) refuses an https:// target on a plaintext connection with 403', () => {
    const input = 'GET https://b.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n';
    const edge = parse('request', input, { validateScheme: true });
    assert.equal(edge.error?.status, 403);
    assert.equal(edge.error?.details, 'http1.https_url_on_plaintext_connection');
    // Over TLS, or without validate_scheme, the target's scheme is kept.
    for (const overrides of [{ validateScheme: true, scheme: 'https' as const }, { validateScheme: false }]) {
      const ok = parse('request', input, overrides);
      assert.equal(ok.error, null);
      assert.deepEqual(ok.recorder.messages[0]!.headers[3], [':scheme', 'https']);
    }
    // http:// targets are never refused.
    assert.equal(
      parse('request', 'GET http://b.example/ HTTP/1.1\r\nHost: b\r\n\r\n', { validateScheme: true }).error,
      null,
    );
  });

  test('CONNECT has :method and :authority only', () => {
    const { recorder } = parse('request', 'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\nraw');
    assert.deepEqual(recorder.messages[0]!.headers, [
      [':method', 'CONNECT'],
      [':authority', 'a.example:443'],
    ]);
    assert.equal(recorder.messages[0]!.body, 'raw');
    assert.equal(recorder.messages[0]!.complete, false);
  });

  test('a preserve_case map keeps the spelling of every name, Host included', () => {
    const { recorder, parser } = parse('request', 'GET / HTTP/1.1\r\nHOST: a\r\nX-Custom: v\r\n\r\n', {
      headerKeyFormat: 'preserve_case',
    });
    assert.equal(parser.error, null);
    assert.deepEqual(recorder.messages[0]!.headers.slice(2), [
      [':authority', 'a'],
      ['x-custom', 'v'],
    ]);
    assert.deepEqual(recorder.rawKeys[0], [':method', ':path', 'HOST', 'X-Custom']);
  });

  test('a Content-Length body is delivered as slices and completes the message', () => {
    const { recorder } = parse(
      'request',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789',
    );
    assert.equal(recorder.messages[0]!.body, '0123456789');
    assert.equal(recorder.messages[0]!.complete, true);
  });

  test('a chunked body with trailers, when trailers are enabled', () => {
    const input =
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\nX-More: 1\r\n\r\n';
    const { recorder } = parse('request', input, { enableTrailers: true });
    assert.equal(recorder.messages[0]!.body, 'abcde');
    assert.deepEqual(recorder.messages[0]!.trailers, [
      ['x-sum', '5'],
      ['x-more', '1'],
    ]);
    assert.equal(recorder.messages[0]!.complete, true);
  });

  test('trailers are parsed and dropped when not enabled', () => {
    const input = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Sum: 5\r\n\r\n';
    const { recorder, error } = parse('request', input);
    assert.equal(error, null);
    assert.equal(recorder.messages[0]!.trailers, null);
    assert.equal(recorder.messages[0]!.complete, true);
  });

  test('an upgrade request turns into a raw pipe after its head', () => {
    const input = 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nframes';
    const { recorder, parser } = parse('request', input);
    assert.equal(parser.upgrade, true);
    assert.equal(parser.isRaw(), true);
    assert.equal(recorder.messages[0]!.body, 'frames');
  });

  test('connection flags: close, keep-alive and Proxy-Connection: close', () => {
    const close = parse('request', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n').parser;
    assert.equal(close.connectionClose, true);
    const keep = parse('request', 'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n', {
      acceptHttp10: true,
    }).parser;
    assert.equal(keep.connectionKeepAlive, true);
    assert.equal(keep.versionMinor, 0);
    const proxy = parse('request', 'GET / HTTP/1.1\r\nHost: a\r\nProxy-Connection: close\r\n\r\n').parser;
    assert.equal(proxy.connectionClose, true);
  });

  test('pipelined requests are read one at a time when the handler pauses after each', () => {
    const input = 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n';
    const recorder = new Recorder();
    recorder.pauseOnComplete = true;
    const parser = new Http1Parser('request', recorder, http1Settings());
    recorder.parser = parser;
    const bytes = Buffer.from(input, 'latin1');
    const first = parser.execute(bytes);
    assert.equal(first, input.indexOf('GET /2'));
    assert.equal(recorder.messages.length, 1);
    parser.resume();
    assert.equal(parser.execute(bytes.subarray(first)), bytes.length - first);
    assert.deepEqual(
      recorder.messages.map((m) => m.headers[1]![1]),
      ['/1', '/2'],
    );
  });

  test('input cut at every byte gives the same messages as one piece', () => {
    const input =
      '\r\nPOST /p HTTP/1.1\r\nHost: a\r\nX-Long: ' +
      'x'.repeat(300) +
      '\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;e="q\\"x"\r\nhello\r\n0\r\nT: 1\r\n\r\n' +
      'GET /g HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz';
    const whole = parse('request', input, { enableTrailers: true });
    assert.equal(whole.error, null);
    for (const size of [1, 2, 3, 7, 64]) {
      const cut = parse('request', input, { enableTrailers: true }, size);
      assert.equal(cut.error, null, `pieces of ${size}`);
      assert.deepEqual(cut.recorder.messages, whole.recorder.messages, `pieces of ${size}`);
    }
  });

  test('a long field arriving one byte per read is kept and completed', () => {
    const value = 'v'.repeat(20 * 1024);
    const input = `GET / HTTP/1.1\r\nHost: a\r\nX-Long: ${value}\r\nX-After: 1\r\n\r\n`;
    const { recorder, error } = parse('request', input, {}, 1);
    assert.equal(error, null);
    assert.deepEqual(recorder.messages[0]!.headers.slice(3), [
      ['x-long', value],
      ['x-after', '1'],
    ]);
  });

  test('a header section growing past the limit in small pieces is a 431 before it completes', () => {
    const input = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'v'.repeat(70 * 1024)}`;
    const { error, recorder } = parse('request', input, {}, 1000);
    assert.equal(error?.status, 431);
    assert.equal(error?.details, 'http1.headers_too_large');
    assert.equal(recorder.messages[0]!.complete, false);
  });

  test('max_headers_count is configurable', () => {
    const input = 'GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n';
    assert.equal(parse('request', input, { maxHeadersCount: 3 }).error, null);
    assert.equal(parse('request', input, { maxHeadersCount: 2 }).error?.details, 'http1.too_many_headers');
  });

  test('errors carry Envoy details and the parser error name', () => {
    const { error } = parse(
      'request',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    );
    assert.equal(error?.status, 400);
    assert.equal(error?.details, 'http1.codec_error');
    assert.match(error?.message ?? '', /^http\/1\.1 protocol error: HPE_INVALID_CHUNK_SIZE/);
  });

  test('a parser that failed stays failed', () => {
    const { parser } = parse('request', 'BAD\r\n');
    assert.equal(parser.execute(Buffer.from('GET / HTTP/1.1\r\n\r\n')), -1);
  });

  test('end of input mid-message is an error; between messages it is not', () => {
    const cut = parse('request', 'GET / HTTP/1.1\r\nHost: a\r\n').parser;
    assert.equal(cut.finish(), false);
    assert.match(cut.error?.message ?? '', /HPE_INVALID_EOF_STATE/);
    const idle = parse('request', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n').parser;
    assert.equal(idle.finish(), true);
  });
});

describe('Http1Parser: responses', () => {
  test('a response map has :status and the fields; a Content-Length body completes it', () => {
    const { recorder, error } = parse(
      'response',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: x\r\n\r\nhi',
    );
    assert.equal(error, null);
    assert.deepEqual(recorder.messages, [
      {
        headers: [
          [':status', '200'],
          ['content-length', '2'],
          ['server', 'x'],
        ],
        body: 'hi',
        trailers: null,
        complete: true,
      },
    ]);
  });

  test('without Content-Length or chunked the body runs until the connection closes', () => {
    const { recorder, parser } = parse('response', 'HTTP/1.1 200 OK\r\n\r\nsome bytes');
    assert.equal(parser.readsUntilClose(), true);
    assert.equal(recorder.messages[0]!.complete, false);
    assert.equal(parser.finish(), true);
    assert.equal(recorder.messages[0]!.body, 'some bytes');
    assert.equal(recorder.messages[0]!.complete, true);
  });

  test('a chunked response with trailers', () => {
    const input =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\ngrpc-status: 0\r\n\r\n';
    const { recorder } = parse('response', input, { enableTrailers: true });
    assert.equal(recorder.messages[0]!.body, 'wiki');
    assert.deepEqual(recorder.messages[0]!.trailers, [['grpc-status', '0']]);
  });

  test('the answer to HEAD has no body whatever its headers say', () => {
    const { recorder, parser } = parse(
      'response',
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n',
      {},
      Number.POSITIVE_INFINITY,
      HEADERS_NO_BODY,
    );
    assert.equal(recorder.messages[0]!.complete, true);
    assert.equal(parser.idle(), true);
  });

  test('204 and 304 have no body; 204 loses a zero Content-Length, 304 keeps its own', () => {
    const noContent = parse('response', 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n').recorder;
    assert.deepEqual(noContent.messages[0]!.headers, [[':status', '204']]);
    assert.equal(noContent.messages[0]!.complete, true);
    const notModified = parse(
      'response',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n',
    ).recorder;
    assert.deepEqual(notModified.messages[0]!.headers, [
      [':status', '304'],
      ['content-length', '1234'],
    ]);
    assert.equal(notModified.messages[0]!.complete, true);
  });

  test('204 with a body length or Transfer-Encoding is an error', () => {
    assert.equal(
      parse('response', 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n').error?.details,
      'http1.content_length_not_allowed',
    );
    assert.equal(
      parse('response', 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n').error?.details,
      'http1.transfer_encoding_not_allowed',
    );
  });

  test('100 Continue is reported as informational and the final response follows; 103 is dropped', () => {
    const input =
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx';
    const { recorder, error } = parse('response', input);
    assert.equal(error, null);
    assert.deepEqual(recorder.informational, [[[':status', '100']]]);
    assert.equal(recorder.messages.length, 1);
    assert.deepEqual(recorder.messages[0]!.headers, [
      [':status', '200'],
      ['content-length', '1'],
    ]);
    assert.equal(recorder.messages[0]!.body, 'x');
  });

  test('101 to an upgrade, or a handler asking for it, makes the rest a raw pipe', () => {
    const { recorder, parser } = parse(
      'response',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00',
      {},
      Number.POSITIVE_INFINITY,
      HEADERS_RAW,
    );
    assert.equal(parser.isRaw(), true);
    assert.equal(recorder.messages[0]!.body, '\x81\x00');
  });

  test('a missing reason phrase is tolerated; forward_reason_phrase keeps a received one', () => {
    assert.equal(parse('response', 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').error, null);
    const kept = parse('response', 'HTTP/1.1 200 Fine Thanks\r\nContent-Length: 0\r\n\r\n', {
      forwardReasonPhrase: true,
    });
    assert.deepEqual(kept.recorder.reasonPhrases, ['Fine Thanks']);
  });

  test('malformed responses are errors', () => {
    const cases: Array<[string, string]> = [
      ['HTTP/1.1 20 OK\r\n\r\n', 'two-digit status'],
      ['HTTP/1.1 2000 OK\r\n\r\n', 'four-digit status'],
      ['HTTP/2 200 OK\r\n\r\n', 'bad version'],
      ['HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'bare LF'],
      ['HTTP/1.1 200 OK\r\nA: 1\r\n b\r\n\r\n', 'obs-fold'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 'CL and TE'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'two CL'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'TE not chunked'],
      ['HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n', 'NUL in value'],
      [
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n',
        'chunk size whitespace',
      ],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\n', 'NBSP is not OWS'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n', 'empty TE element'],
      [
        'HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'empty TE line',
      ],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n', 'CL trailer'],
    ];
    for (const [input, what] of cases) {
      assert.notEqual(parse('response', input).error, null, what);
    }
  });

  test('trailers naming framing or routing fields are errors, whether or not trailers are enabled', () => {
    for (const name of ['Content-Length', 'Transfer-Encoding', 'Trailer', 'Host']) {
      for (const enableTrailers of [false, true]) {
        const input = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${name}: 1\r\n\r\n`;
        const { error, recorder } = parse('response', input, { enableTrailers });
        assert.match(String(error?.message), new RegExp(`${name.toLowerCase()} not allowed in trailers`));
        assert.equal(recorder.messages[0]!.complete, false);
      }
    }
    const ok = parse(
      'response',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Sum: 1\r\n\r\n',
      {
        enableTrailers: true,
      },
    );
    assert.equal(ok.error, null);
    assert.deepEqual(ok.recorder.messages[0]!.trailers, [['x-sum', '1']]);
  });

  test('a response cut at every byte gives the same message', () => {
    const input =
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX: y\r\n\r\n';
    const whole = parse('response', input, { enableTrailers: true });
    const bytewise = parse('response', input, { enableTrailers: true }, 1);
    assert.equal(bytewise.error, null);
    assert.deepEqual(bytewise.recorder.messages, whole.recorder.messages);
    assert.deepEqual(bytewise.recorder.informational, whole.recorder.informational);
  });
});

describe('request-target helpers', () => {
  test('validAuthority accepts host, host:port and IP literals and refuses the rest', () => {
    for (const ok of [
      'example.com',
      'example.com:80',
      '[::1]',
      '[::1]:443',
      '10.0.0.1:8080',
      'a_b.example',
    ]) {
      assert.equal(validAuthority(ok, false), true, ok);
    }
    for (const bad of ['a b', 'user@host', 'host:port', 'host:123456', '[::1', ':80', 'a[b]']) {
      assert.equal(validAuthority(bad, false), false, bad);
    }
    assert.equal(validAuthority('example.com', true), false);
    assert.equal(validAuthority('example.com:443', true), true);
  });

  test('parseAbsoluteUrl splits scheme, authority and path', () => {
    assert.deepEqual(parseAbsoluteUrl('HTTP://a.example:81/p?q'), {
      scheme: 'http',
      authority: 'a.example:81',
      path: '/p?q',
    });
    assert.deepEqual(parseAbsoluteUrl('http://a.example?q'), {
      scheme: 'http',
      authority: 'a.example',
      path: '/?q',
    });
    assert.equal(parseAbsoluteUrl('http:/a'), null);
    assert.equal(parseAbsoluteUrl('1http://a/'), null);
  });
});
