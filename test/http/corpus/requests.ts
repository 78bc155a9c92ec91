/**
 * The HTTP/1.1 request conformance and smuggling corpus: raw requests as a client sends them,
 * each with what Legate must do with it.
 *
 * Test data, any thread. Written for Legate from RFC 9112 / RFC 9110 (the section is named in
 * `source`), from the kinds of cases public parser suites exercise (llhttp's request tests:
 * methods, URLs, Content-Length, chunk sizes and extensions, whitespace, line endings), and
 * from request-smuggling research (CL.TE, TE.CL, CL.CL, TE.TE obfuscations of the
 * Transfer-Encoding name and value, chunk-size tricks, chunk extensions hiding line breaks).
 *
 * A valid entry says the exact bytes the upstream must receive: the request re-encoded by
 * Legate's codecs (header names lower-cased unless a key format is set, Host first as
 * `:authority`, framing chosen by the encoder, chunk extensions dropped) with the body
 * byte-faithful. An invalid entry says the local reply's status and Envoy's details; nothing
 * may reach the upstream. An entry may also be valid first and then invalid (a request whose
 * "body" is really the start of the next message).
 */
import type { Http1Settings } from '../../../src/http/http1/settings.ts';

export interface Rejection {
  readonly status: 400 | 413 | 426 | 431 | 501;
  readonly details: string;
}

export interface CorpusEntry {
  readonly name: string;
  /** Where the case comes from: an RFC section, a parser-suite topic, a smuggling technique. */
  readonly source: string;
  /** The bytes the client sends, as a Latin-1 string. */
  readonly raw: string;
  /** Bytes the upstream must receive ('' when nothing may reach it). */
  readonly forwarded: string;
  /** The local reply, when the request (or what follows a forwarded one) is rejected. */
  readonly rejected?: Rejection;
  /** Codec settings for this entry (Envoy's defaults otherwise). */
  readonly settings?: Partial<Http1Settings>;
}

/** Lines joined with CRLF. */
function crlf(...lines: string[]): string {
  return lines.join('\r\n');
}

const CODEC = 'http1.codec_error';
const bad = (details = CODEC): Rejection => ({ status: 400, details });
const INVALID_CHARS = bad('http1.invalid_characters');
const INVALID_URL = bad('http1.invalid_url');
const CL_AND_TE = bad('http1.content_length_and_chunked_not_allowed');
/** chunked not final, or repeated: RFC 9112 §6.3 MUST 400. */
const TE_400 = bad('http1.invalid_transfer_encoding');
/** Another coding before a final chunked: not implemented (RFC 9112 §6.1 SHOULD 501), as Envoy. */
const TE_501: Rejection = { status: 501, details: 'http1.invalid_transfer_encoding' };
const MISSING_HOST = bad('missing_host_header');
const INVALID_AUTHORITY = bad('http.invalid_authority');

const valid = (
  name: string,
  source: string,
  raw: string,
  forwarded: string,
  settings?: Partial<Http1Settings>,
) => ({ name, source, raw, forwarded, ...(settings ? { settings } : {}) }) satisfies CorpusEntry;
const invalid = (
  name: string,
  source: string,
  raw: string,
  rejected: Rejection,
  settings?: Partial<Http1Settings>,
) =>
  ({ name, source, raw, forwarded: '', rejected, ...(settings ? { settings } : {}) }) satisfies CorpusEntry;

/** A POST with a chunked body carrying `chunkLines` (everything after the header section). */
function chunkedPost(chunkLines: string, te = 'Transfer-Encoding: chunked'): string {
  return crlf('POST /upload HTTP/1.1', 'Host: example.com', te, '', '') + chunkLines;
}

/** A GET with one extra header line. */
function getWith(line: string): string {
  return crlf('GET / HTTP/1.1', 'Host: example.com', line, '', '');
}

/** A POST with a Content-Length header line as given and a 5-byte body. */
function postWithLength(line: string): string {
  return `${crlf('POST /form HTTP/1.1', 'Host: example.com', line, '', '')}hello`;
}

const FORWARDED_GET = crlf('GET / HTTP/1.1', 'host: example.com', '', '');
const CHUNKED_UP = (chunks: string) =>
  crlf('POST /upload HTTP/1.1', 'host: example.com', 'transfer-encoding: chunked', '', '') + chunks;

const hundredHeaders = Array.from({ length: 99 }, (_, i) => `X-H${i}: ${i}`);
const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1');
const bigValue = 'v'.repeat(60 * 1024);
const nearLimitValue = 'v'.repeat(60 * 1024 - 200);
const longPath = `/${'p'.repeat(8000)}`;

export const REQUEST_CORPUS: readonly CorpusEntry[] = [
  // --- Accepted forms -----------------------------------------------------------------------
  valid(
    'a curl GET',
    'RFC 9112 §3; curl/8 request shape',
    crlf('GET /index.html HTTP/1.1', 'Host: example.com', 'User-Agent: curl/8.5.0', 'Accept: */*', '', ''),
    crlf('GET /index.html HTTP/1.1', 'host: example.com', 'user-agent: curl/8.5.0', 'accept: */*', '', ''),
  ),
  valid(
    'a wrk GET with keep-alive',
    'RFC 9112 §9.3; wrk request shape',
    crlf('GET / HTTP/1.1', 'Host: localhost:8080', 'Connection: keep-alive', '', ''),
    crlf('GET / HTTP/1.1', 'host: localhost:8080', 'connection: keep-alive', '', ''),
  ),
  valid(
    'a query string and percent-encoding in the path',
    'RFC 9112 §3.2.1 origin-form',
    crlf('GET /search/a%2Fb?q=a%20b&x=1 HTTP/1.1', 'Host: example.com', '', ''),
    crlf('GET /search/a%2Fb?q=a%20b&x=1 HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'a fragment in the target is forwarded as received',
    'llhttp url tests (fragment)',
    crlf('GET /page#section HTTP/1.1', 'Host: example.com', '', ''),
    crlf('GET /page#section HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'HEAD',
    'RFC 9110 §9.3.2',
    crlf('HEAD /h HTTP/1.1', 'Host: example.com', '', ''),
    crlf('HEAD /h HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'OPTIONS in asterisk-form (Envoy adds content-length: 0: OPTIONS may have a body)',
    'RFC 9112 §3.2.4',
    crlf('OPTIONS * HTTP/1.1', 'Host: example.com', '', ''),
    crlf('OPTIONS * HTTP/1.1', 'host: example.com', 'content-length: 0', '', ''),
  ),
  valid(
    'DELETE without a body gets no content-length',
    'RFC 9110 §8.6; Envoy requestShouldHaveNoBody',
    crlf('DELETE /r/1 HTTP/1.1', 'Host: example.com', '', ''),
    crlf('DELETE /r/1 HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'a registered WebDAV method',
    'llhttp method tests',
    crlf('PROPFIND /dav HTTP/1.1', 'Host: example.com', 'Depth: 1', '', ''),
    crlf('PROPFIND /dav HTTP/1.1', 'host: example.com', 'depth: 1', 'content-length: 0', '', ''),
  ),
  valid(
    'POST with Content-Length',
    'RFC 9112 §6.2',
    postWithLength('Content-Length: 5'),
    `${crlf('POST /form HTTP/1.1', 'host: example.com', 'content-length: 5', '', '')}hello`,
  ),
  valid(
    'POST without Content-Length or Transfer-Encoding has no body',
    'RFC 9112 §6.3 rule 6',
    crlf('POST /submit HTTP/1.1', 'Host: example.com', '', ''),
    crlf('POST /submit HTTP/1.1', 'host: example.com', 'content-length: 0', '', ''),
  ),
  valid(
    'PUT with Content-Length: 0',
    'RFC 9110 §8.6',
    crlf('PUT /empty HTTP/1.1', 'Host: example.com', 'Content-Length: 0', '', ''),
    crlf('PUT /empty HTTP/1.1', 'host: example.com', 'content-length: 0', '', ''),
  ),
  valid(
    'GET with a Content-Length body',
    'RFC 9110 §9.3.1',
    `${crlf('GET /q HTTP/1.1', 'Host: example.com', 'Content-Length: 3', '', '')}abc`,
    `${crlf('GET /q HTTP/1.1', 'host: example.com', 'content-length: 3', '', '')}abc`,
  ),
  valid(
    'Content-Length with leading zeros',
    'llhttp content-length tests',
    postWithLength('Content-Length: 005'),
    `${crlf('POST /form HTTP/1.1', 'host: example.com', 'content-length: 005', '', '')}hello`,
  ),
  valid(
    'Content-Length surrounded by whitespace',
    'RFC 9110 §5.5 (OWS is not part of the value)',
    postWithLength('Content-Length: \t5 \t'),
    `${crlf('POST /form HTTP/1.1', 'host: example.com', 'content-length: 5', '', '')}hello`,
  ),
  valid(
    'every byte value in a Content-Length body arrives unchanged',
    'byte-faithful bodies',
    `${crlf('POST /bin HTTP/1.1', 'Host: example.com', 'Content-Length: 256', '', '')}${allBytes}`,
    `${crlf('POST /bin HTTP/1.1', 'host: example.com', 'content-length: 256', '', '')}${allBytes}`,
  ),
  valid(
    'a chunked body',
    'RFC 9112 §7.1',
    chunkedPost('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
  ),
  valid(
    'chunk extensions are dropped',
    'RFC 9112 §7.1.1',
    chunkedPost('5;name=value\r\nhello\r\n0\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'a quoted-string chunk extension with escapes',
    'RFC 9112 §7.1.1, RFC 9110 §5.6.4',
    chunkedPost('5;n="v \\"q\\" ;x"\r\nhello\r\n0\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'BWS around a chunk extension',
    'RFC 9112 §7.1.1 (BWS)',
    chunkedPost('5 ; a = b\r\nhello\r\n0\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'several chunk extensions',
    'RFC 9112 §7.1.1',
    chunkedPost('5;a;b=c;d="e"\r\nhello\r\n0;last\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'an upper-case hex chunk size',
    'RFC 9112 §7.1 (HEXDIG is case-insensitive)',
    chunkedPost('A\r\n0123456789\r\n0\r\n\r\n'),
    CHUNKED_UP('a\r\n0123456789\r\n0\r\n\r\n'),
  ),
  valid(
    'leading zeros in chunk sizes',
    'llhttp chunked tests',
    chunkedPost('0000000000000005\r\nhello\r\n000\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'one-byte chunks',
    'RFC 9112 §7.1',
    chunkedPost('1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n'),
    CHUNKED_UP('1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n'),
  ),
  valid(
    'CRLF and binary bytes inside chunk data',
    'byte-faithful chunked bodies',
    chunkedPost('9\r\n\r\n\x00\xff0\r\n\r\n\r\n0\r\n\r\n'),
    CHUNKED_UP('9\r\n\r\n\x00\xff0\r\n\r\n\r\n0\r\n\r\n'),
  ),
  valid(
    'trailers are forwarded when enabled',
    'RFC 9112 §7.1.2; Envoy enable_trailers',
    chunkedPost('5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n0\r\nx-checksum: abc\r\nx-other: 1\r\n\r\n'),
    { enableTrailers: true },
  ),
  valid(
    'trailers are dropped by default',
    'Envoy enable_trailers defaults to false',
    chunkedPost('5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'Transfer-Encoding: CHUNKED in upper case',
    'RFC 9112 §7 (transfer-coding names are case-insensitive)',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Transfer-Encoding: CHUNKED'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'Transfer-Encoding with a tab as OWS',
    'smuggling TE.TE obfuscation that is valid: RFC 9110 §5.6.3 OWS includes HTAB',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Transfer-Encoding:\tchunked'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'Transfer-Encoding without a space after the colon',
    'RFC 9112 §5.1',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Transfer-Encoding:chunked'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'Transfer-Encoding with trailing whitespace',
    'RFC 9112 §5.1 (trailing OWS is not part of the value)',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Transfer-Encoding: chunked \t'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'mixed-case Transfer-Encoding name and value',
    'RFC 9110 §5.1 (field names are case-insensitive)',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'tRaNsFeR-EnCoDiNg: cHuNkEd'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'chunked with Content-Length when allow_chunked_length is on',
    'Envoy allow_chunked_length; RFC 9112 §6.3 rule 3',
    `${crlf('POST /upload HTTP/1.1', 'Host: example.com', 'Content-Length: 5', 'Transfer-Encoding: chunked', '', '')}5\r\nhello\r\n0\r\n\r\n`,
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
    { allowChunkedLength: true },
  ),
  valid(
    'absolute-form: the target authority replaces Host',
    'RFC 9112 §3.2.2',
    crlf('GET http://example.com/path?x=1 HTTP/1.1', 'Host: other.example', '', ''),
    crlf('GET /path?x=1 HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'absolute-form without a path',
    'RFC 9112 §3.2.2, RFC 9110 §4.2.3 (empty path is "/")',
    crlf('GET http://example.com HTTP/1.1', 'Host: example.com', '', ''),
    crlf('GET / HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'absolute-form with a query and no path',
    'RFC 9110 §4.2.3',
    crlf('GET http://example.com?x=1 HTTP/1.1', 'Host: example.com', '', ''),
    crlf('GET /?x=1 HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'absolute-form with a port',
    'RFC 9112 §3.2.2',
    crlf('GET http://example.com:8080/x HTTP/1.1', 'Host: example.com:8080', '', ''),
    crlf('GET /x HTTP/1.1', 'host: example.com:8080', '', ''),
  ),
  valid(
    'absolute-form https with an upper-case scheme',
    'RFC 3986 §3.1 (schemes are case-insensitive)',
    crlf('GET HTTPS://secure.example/ HTTP/1.1', 'Host: secure.example', '', ''),
    crlf('GET / HTTP/1.1', 'host: secure.example', '', ''),
  ),
  valid(
    'CONNECT in authority-form',
    'RFC 9112 §3.2.3',
    crlf('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443', '', ''),
    crlf('CONNECT example.com:443 HTTP/1.1', 'host: example.com:443', '', ''),
  ),
  valid(
    'CONNECT with Content-Length: 0 loses the header',
    'Envoy codec: CONNECT content-length 0 is removed',
    crlf('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443', 'Content-Length: 0', '', ''),
    crlf('CONNECT example.com:443 HTTP/1.1', 'host: example.com:443', '', ''),
  ),
  valid(
    'a WebSocket upgrade: bytes after the head are a raw pipe',
    'RFC 9110 §7.8, RFC 6455 §4.1',
    `${crlf(
      'GET /chat HTTP/1.1',
      'Host: example.com',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      '',
      '',
    )}\x81\x05hello`,
    `${crlf(
      'GET /chat HTTP/1.1',
      'host: example.com',
      'upgrade: websocket',
      'connection: Upgrade',
      'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version: 13',
      '',
      '',
    )}\x81\x05hello`,
  ),
  valid(
    'an h2c upgrade is ignored: the request goes on as HTTP/1.1',
    'Envoy codec (h2c upgrades are stripped); RFC 9113 §3.1',
    crlf(
      'GET / HTTP/1.1',
      'Host: example.com',
      'Connection: Upgrade, HTTP2-Settings',
      'Upgrade: h2c',
      'HTTP2-Settings: AAMAAABkAAQAAP__',
      '',
      '',
    ),
    crlf('GET / HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'obs-text in a value arrives byte for byte',
    'RFC 9110 §5.5 (obs-text)',
    getWith('X-Name: caf\xe9 \xff'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-name: caf\xe9 \xff', '', ''),
  ),
  valid(
    'tabs and spaces inside a value are kept',
    'RFC 9110 §5.5',
    getWith('X-A: a \t b'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-a: a \t b', '', ''),
  ),
  valid(
    'whitespace around a value is trimmed',
    'RFC 9112 §5.1',
    getWith('X-A: \t v \t '),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-a: v', '', ''),
  ),
  valid(
    'an empty value',
    'RFC 9110 §5.5 (field-value may be empty)',
    getWith('X-Empty:'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-empty: ', '', ''),
  ),
  valid(
    'a value of only whitespace is empty',
    'RFC 9112 §5.1',
    getWith('X-Empty:    '),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-empty: ', '', ''),
  ),
  valid(
    'repeated fields keep their order',
    'RFC 9110 §5.3',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-Dup: 1', 'Accept: */*', 'X-Dup: 2', '', ''),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-dup: 1', 'accept: */*', 'x-dup: 2', '', ''),
  ),
  valid(
    'every tchar in a field name',
    'RFC 9110 §5.6.2',
    getWith("!#$%&'*+-.^_`|~09azAZ: v"),
    crlf('GET / HTTP/1.1', 'host: example.com', "!#$%&'*+-.^_`|~09azaz: v", '', ''),
  ),
  valid(
    'field names are lower-cased',
    'Envoy default header key format',
    crlf('GET / HTTP/1.1', 'HOST: example.com', 'X-Mixed-Case: v', 'ACCEPT-ENCODING: gzip', '', ''),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-mixed-case: v', 'accept-encoding: gzip', '', ''),
  ),
  valid(
    'preserve_case keeps the spelling of every name',
    'Envoy preserve_case header formatter (envoy#14363)',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-Custom-Header: v', 'accept: */*', '', ''),
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-Custom-Header: v', 'accept: */*', '', ''),
    { headerKeyFormat: 'preserve_case' },
  ),
  valid(
    'proper_case capitalises each word',
    'Envoy header_key_format.proper_case_words',
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-custom-header: v', '', ''),
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-Custom-Header: v', '', ''),
    { headerKeyFormat: 'proper_case' },
  ),
  valid(
    'an empty line before the request line is ignored',
    'RFC 9112 §2.2',
    `\r\n${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}`,
    FORWARDED_GET,
  ),
  valid(
    'several empty lines before the request line are ignored',
    'RFC 9112 §2.2',
    `\r\n\r\n\r\n${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}`,
    FORWARDED_GET,
  ),
  valid(
    'two pipelined GETs are forwarded in order',
    'RFC 9112 §9.3.2',
    crlf('GET /1 HTTP/1.1', 'Host: example.com', '', 'GET /2 HTTP/1.1', 'Host: example.com', '', ''),
    crlf('GET /1 HTTP/1.1', 'host: example.com', '', 'GET /2 HTTP/1.1', 'host: example.com', '', ''),
  ),
  valid(
    'a pipelined POST and GET',
    'RFC 9112 §9.3.2',
    `${crlf('POST /1 HTTP/1.1', 'Host: example.com', 'Content-Length: 2', '', '')}ok${crlf('GET /2 HTTP/1.1', 'Host: example.com', '', '')}`,
    `${crlf('POST /1 HTTP/1.1', 'host: example.com', 'content-length: 2', '', '')}ok${crlf('GET /2 HTTP/1.1', 'host: example.com', '', '')}`,
  ),
  valid(
    'exactly max_headers_count (100) fields',
    'Envoy max_headers_count',
    crlf('GET / HTTP/1.1', 'Host: example.com', ...hundredHeaders, '', ''),
    crlf('GET / HTTP/1.1', 'host: example.com', ...hundredHeaders.map((h) => h.toLowerCase()), '', ''),
  ),
  valid(
    'headers just under max_request_headers_kb',
    'Envoy max_request_headers_kb (60)',
    getWith(`X-Big: ${nearLimitValue}`),
    crlf('GET / HTTP/1.1', 'host: example.com', `x-big: ${nearLimitValue}`, '', ''),
  ),
  valid(
    'a long request target',
    'RFC 9112 §3 (8000 octets recommended)',
    crlf(`GET ${longPath} HTTP/1.1`, 'Host: example.com', '', ''),
    crlf(`GET ${longPath} HTTP/1.1`, 'host: example.com', '', ''),
  ),
  valid(
    'a custom method with allow_custom_methods',
    'Envoy allow_custom_methods; RFC 9110 §9.1 (method is a token)',
    crlf('FOO-BAR /x HTTP/1.1', 'Host: example.com', '', ''),
    crlf('FOO-BAR /x HTTP/1.1', 'host: example.com', 'content-length: 0', '', ''),
    { allowCustomMethods: true },
  ),
  valid(
    'HTTP/1.0 with accept_http_10 goes upstream as HTTP/1.1',
    'Envoy accept_http_10',
    crlf('GET / HTTP/1.0', 'Host: example.com', '', ''),
    FORWARDED_GET,
    { acceptHttp10: true },
  ),
  valid(
    'HTTP/1.0 without Host gets default_host_for_http_10',
    'Envoy default_host_for_http_10',
    crlf('GET /old HTTP/1.0', 'User-Agent: ab', '', ''),
    crlf('GET /old HTTP/1.1', 'host: default.example', 'user-agent: ab', '', ''),
    { acceptHttp10: true, defaultHostForHttp10: 'default.example' },
  ),
  valid(
    'HTTP/1.0 keep-alive',
    'RFC 9112 Appendix C.2.2',
    crlf('GET / HTTP/1.0', 'Host: example.com', 'Connection: keep-alive', '', ''),
    crlf('GET / HTTP/1.1', 'host: example.com', 'connection: keep-alive', '', ''),
    { acceptHttp10: true },
  ),
  valid(
    'an IPv6 literal Host with a port',
    'RFC 3986 §3.2.2',
    crlf('GET / HTTP/1.1', 'Host: [::1]:8080', '', ''),
    crlf('GET / HTTP/1.1', 'host: [::1]:8080', '', ''),
  ),
  valid(
    'an empty Host',
    'RFC 9112 §3.2 (empty Host when the target has no authority)',
    crlf('GET / HTTP/1.1', 'Host:', '', ''),
    crlf('GET / HTTP/1.1', 'host: ', '', ''),
  ),
  valid(
    'Host is forwarded as received (case kept)',
    'RFC 9110 §7.2',
    crlf('GET / HTTP/1.1', 'Host: EXAMPLE.com', '', ''),
    crlf('GET / HTTP/1.1', 'host: EXAMPLE.com', '', ''),
  ),
  valid(
    'Expect: 100-continue with a body',
    'RFC 9110 §10.1.1',
    `${crlf('PUT /big HTTP/1.1', 'Host: example.com', 'Content-Length: 5', 'Expect: 100-continue', '', '')}hello`,
    `${crlf('PUT /big HTTP/1.1', 'host: example.com', 'content-length: 5', 'expect: 100-continue', '', '')}hello`,
  ),
  valid(
    'an underscore in a name is allowed by default',
    'Envoy headers_with_underscores_action ALLOW',
    getWith('X_Custom: v'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x_custom: v', '', ''),
  ),
  valid(
    'an underscore header is dropped with DROP_HEADER',
    'Envoy headers_with_underscores_action DROP_HEADER',
    getWith('X_Custom: v'),
    FORWARDED_GET,
    { headersWithUnderscoresAction: 'DROP_HEADER' },
  ),
  valid(
    'Connection with several tokens',
    'RFC 9110 §7.6.1',
    getWith('Connection: keep-alive, x-foo'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'connection: keep-alive, x-foo', '', ''),
  ),
  valid(
    'PATCH with a body',
    'RFC 5789',
    `${crlf('PATCH /doc HTTP/1.1', 'Host: example.com', 'Content-Type: application/json', 'Content-Length: 2', '', '')}{}`,
    `${crlf('PATCH /doc HTTP/1.1', 'host: example.com', 'content-type: application/json', 'content-length: 2', '', '')}{}`,
  ),

  // --- Request line ---------------------------------------------------------------------------
  invalid(
    'a lower-case method',
    'RFC 9110 §9.1 (methods are case-sensitive); Envoy registered methods',
    crlf('get / HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'an unregistered method',
    'Envoy balsa isMethodValid',
    crlf('FOO / HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a method with a non-token character',
    'RFC 9110 §5.6.2',
    crlf('GE[T / HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a NUL in the method',
    'llhttp invalid requests',
    crlf('G\x00ET / HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'two spaces after the method',
    'RFC 9112 §3 (single SP)',
    crlf('GET  / HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a space before the method',
    'RFC 9112 §3',
    crlf(' GET / HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a tab as the separator',
    'RFC 9112 §3 (SP only)',
    crlf('GET\t/ HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a tab after the target',
    'RFC 9112 §3',
    crlf('GET /\tHTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid('a missing target', 'RFC 9112 §3', crlf('GET HTTP/1.1', 'Host: example.com', '', ''), bad()),
  invalid(
    'an HTTP/0.9 request line',
    'RFC 9112 §2.3 (HTTP/0.9 is not supported)',
    crlf('GET /', '', ''),
    bad(),
  ),
  invalid('HTTP/1.2', 'RFC 9112 §2.3', crlf('GET / HTTP/1.2', 'Host: example.com', '', ''), bad()),
  invalid(
    'HTTP/2.0 on an HTTP/1 connection',
    'RFC 9112 §2.3',
    crlf('GET / HTTP/2.0', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a lower-case protocol name',
    'RFC 9112 §2.3 (HTTP-name is case-sensitive)',
    crlf('GET / http/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a two-digit major version',
    'RFC 9112 §2.3',
    crlf('GET / HTTP/01.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a space after the version',
    'RFC 9112 §3',
    crlf('GET / HTTP/1.1 ', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'an extra token after the version',
    'RFC 9112 §3',
    crlf('GET / HTTP/1.1 extra', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a request line ended by a bare LF',
    'RFC 9112 §2.2 (bare LF rejected, as Envoy and llhttp strict)',
    'GET / HTTP/1.1\nHost: example.com\r\n\r\n',
    bad(),
  ),
  invalid(
    'a bare CR after the request line',
    'RFC 9112 §2.2 (bare CR)',
    'GET / HTTP/1.1\rHost: example.com\r\n\r\n',
    bad(),
  ),
  invalid(
    'a bare LF before the request line',
    'RFC 9112 §2.2',
    `\n${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}`,
    bad(),
  ),
  invalid(
    'a DEL in the target',
    'RFC 3986 §2',
    crlf('GET /a\x7fb HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a non-ASCII byte in the target',
    'RFC 3986 §2',
    crlf('GET /caf\xe9 HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a NUL in the target',
    'RFC 3986 §2',
    crlf('GET /a\x00 HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a relative target',
    'RFC 9112 §3.2',
    crlf('GET foo HTTP/1.1', 'Host: example.com', '', ''),
    INVALID_URL,
  ),
  invalid(
    'asterisk-form with GET',
    'RFC 9112 §3.2.4 (OPTIONS only)',
    crlf('GET * HTTP/1.1', 'Host: example.com', '', ''),
    INVALID_URL,
  ),
  invalid(
    'userinfo in an absolute-form target',
    'RFC 9110 §4.2.4',
    crlf('GET http://user:pass@example.com/ HTTP/1.1', 'Host: example.com', '', ''),
    INVALID_URL,
  ),
  invalid(
    'a non-HTTP scheme',
    'Envoy http1.invalid_scheme',
    crlf('GET ftp://example.com/f HTTP/1.1', 'Host: example.com', '', ''),
    bad('http1.invalid_scheme'),
  ),
  invalid(
    'an absolute-form target with an empty authority',
    'RFC 9110 §4.2.1',
    crlf('GET http:///path HTTP/1.1', 'Host: example.com', '', ''),
    INVALID_URL,
  ),
  invalid(
    'CONNECT with an origin-form target',
    'RFC 9112 §3.2.3',
    crlf('CONNECT / HTTP/1.1', 'Host: example.com', '', ''),
    INVALID_URL,
  ),
  invalid(
    'CONNECT without a port',
    'RFC 9110 §9.3.6 (authority-form needs a port)',
    crlf('CONNECT example.com HTTP/1.1', 'Host: example.com', '', ''),
    INVALID_URL,
  ),
  invalid(
    'CONNECT with a body length',
    'Envoy http1.body_disallowed; RFC 9110 §9.3.6',
    `${crlf('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443', 'Content-Length: 5', '', '')}hello`,
    bad('http1.body_disallowed'),
  ),
  invalid(
    'CONNECT with Transfer-Encoding',
    'Envoy codec; RFC 9110 §9.3.6',
    crlf('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443', 'Transfer-Encoding: chunked', '', ''),
    TE_501,
  ),
  invalid(
    'HTTP/1.0 without accept_http_10',
    'Envoy: 426 low_version',
    crlf('GET / HTTP/1.0', 'Host: example.com', '', ''),
    { status: 426, details: 'low_version' },
  ),

  // --- Field lines ---------------------------------------------------------------------------
  invalid(
    'no Host in HTTP/1.1',
    'RFC 9112 §3.2 (MUST respond 400)',
    crlf('GET / HTTP/1.1', 'Accept: */*', '', ''),
    MISSING_HOST,
  ),
  invalid(
    'HTTP/1.0 without Host',
    'Envoy missing_host_header',
    crlf('GET / HTTP/1.0', '', ''),
    MISSING_HOST,
    { acceptHttp10: true },
  ),
  invalid(
    'absolute-form without Host in HTTP/1.1',
    'RFC 9112 §3.2 (MUST respond 400 to any HTTP/1.1 request without Host)',
    crlf('GET http://example.com/a HTTP/1.1', '', ''),
    MISSING_HOST,
  ),
  invalid(
    'CONNECT without Host in HTTP/1.1',
    'RFC 9112 §3.2',
    crlf('CONNECT example.com:443 HTTP/1.1', '', ''),
    MISSING_HOST,
  ),
  invalid(
    'two Host fields',
    'RFC 9112 §3.2 (MUST respond 400)',
    crlf('GET / HTTP/1.1', 'Host: a.example', 'Host: b.example', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'two identical Host fields',
    'RFC 9112 §3.2',
    crlf('GET / HTTP/1.1', 'Host: a.example', 'Host: a.example', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'a space inside Host',
    'RFC 9112 §3.2 (invalid field value)',
    crlf('GET / HTTP/1.1', 'Host: a b', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'userinfo in Host',
    'RFC 9110 §7.2',
    crlf('GET / HTTP/1.1', 'Host: user@example.com', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'a non-numeric port in Host',
    'RFC 3986 §3.2.3',
    crlf('GET / HTTP/1.1', 'Host: example.com:http', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'whitespace before the colon',
    'RFC 9112 §5.1 (MUST respond 400)',
    crlf('GET / HTTP/1.1', 'Host : example.com', '', ''),
    bad(),
  ),
  invalid(
    'TE.TE: "Transfer-Encoding : chunked" with Content-Length',
    'smuggling: space before colon hides TE from one parser',
    `${crlf('POST / HTTP/1.1', 'Host: example.com', 'Content-Length: 4', 'Transfer-Encoding : chunked', '', '')}0\r\n\r\n`,
    bad(),
  ),
  invalid(
    'a tab before the colon',
    'RFC 9112 §5.1',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-A\t: v', '', ''),
    bad(),
  ),
  invalid(
    'obs-fold',
    'RFC 9112 §5.2 (a server may reject it: Envoy and Legate do)',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-A: a', ' b', '', ''),
    bad(),
  ),
  invalid(
    'obs-fold hiding chunked',
    'smuggling: folded Transfer-Encoding',
    `${crlf('POST / HTTP/1.1', 'Host: example.com', 'Transfer-Encoding:', ' chunked', '', '')}0\r\n\r\n`,
    bad(),
  ),
  invalid(
    'whitespace before the first field',
    'RFC 9112 §2.2 (MUST reject or ignore)',
    crlf('GET / HTTP/1.1', ' Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a space-prefixed Transfer-Encoding line',
    'smuggling: line folding of the first field',
    `${crlf('POST / HTTP/1.1', ' Transfer-Encoding: chunked', 'Host: example.com', 'Content-Length: 4', '', '')}0\r\n\r\n`,
    bad(),
  ),
  invalid(
    'a line without a colon',
    'RFC 9112 §5',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-No-Colon', '', ''),
    bad(),
  ),
  invalid(
    'an empty field name',
    'RFC 9110 §5.1',
    crlf('GET / HTTP/1.1', 'Host: example.com', ': v', '', ''),
    bad(),
  ),
  invalid(
    'a space inside a field name',
    'RFC 9110 §5.6.2',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X A: v', '', ''),
    bad(),
  ),
  invalid(
    'a double quote in a field name',
    'RFC 9110 §5.6.2',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X"A: v', '', ''),
    bad(),
  ),
  invalid(
    'a parenthesis in a field name',
    'RFC 9110 §5.6.2',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X(A): v', '', ''),
    bad(),
  ),
  invalid(
    'a slash in a field name',
    'RFC 9110 §5.6.2',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X/A: v', '', ''),
    bad(),
  ),
  invalid(
    'a non-ASCII byte in a field name',
    'RFC 9110 §5.6.2',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-\xe9: v', '', ''),
    bad(),
  ),
  invalid(
    'a NUL in a field name',
    'RFC 9110 §5.6.2',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'X-\x00: v', '', ''),
    bad(),
  ),
  invalid('a NUL in a value', 'RFC 9110 §5.5', getWith('X-A: a\x00b'), INVALID_CHARS),
  invalid('a SOH in a value', 'RFC 9110 §5.5', getWith('X-A: a\x01b'), INVALID_CHARS),
  invalid('a vertical tab in a value', 'RFC 9110 §5.5', getWith('X-A: a\x0bb'), INVALID_CHARS),
  invalid('a form feed in a value', 'RFC 9110 §5.5', getWith('X-A: a\x0cb'), INVALID_CHARS),
  invalid('a DEL in a value', 'RFC 9110 §5.5', getWith('X-A: a\x7fb'), INVALID_CHARS),
  invalid('a bare CR inside a value', 'RFC 9112 §2.2 (bare CR)', getWith('X-A: a\rb'), bad()),
  invalid(
    'a field line ended by a bare LF',
    'RFC 9112 §2.2',
    'GET / HTTP/1.1\r\nHost: example.com\nX-A: b\r\n\r\n',
    bad(),
  ),
  invalid(
    'a header section ended by a bare LF',
    'RFC 9112 §2.2',
    'GET / HTTP/1.1\r\nHost: example.com\r\n\n',
    bad(),
  ),
  invalid('CR CR LF', 'RFC 9112 §2.2', 'GET / HTTP/1.1\r\nHost: example.com\r\r\n\r\n', bad()),
  invalid(
    'max_headers_count + 1 fields',
    'Envoy max_headers_count: 431 http1.too_many_headers',
    crlf('GET / HTTP/1.1', 'Host: example.com', ...hundredHeaders, 'X-One-More: 1', '', ''),
    { status: 431, details: 'http1.too_many_headers' },
  ),
  invalid(
    'a value beyond max_request_headers_kb',
    'Envoy max_request_headers_kb: 431',
    getWith(`X-Big: ${bigValue}`),
    { status: 431, details: 'http1.headers_too_large' },
  ),
  invalid(
    'a target beyond max_request_headers_kb',
    'Envoy counts the URL in the limit',
    crlf(`GET /${'u'.repeat(61 * 1024)} HTTP/1.1`, 'Host: example.com', '', ''),
    { status: 431, details: 'http1.headers_too_large' },
  ),
  invalid(
    'an underscore header with REJECT_REQUEST',
    'Envoy http1.unexpected_underscore',
    getWith('X_Custom: v'),
    bad('http1.unexpected_underscore'),
    { headersWithUnderscoresAction: 'REJECT_REQUEST' },
  ),

  // --- Content-Length ------------------------------------------------------------------------
  invalid(
    'CL.TE: Content-Length then Transfer-Encoding',
    'smuggling CL.TE; RFC 9112 §6.1',
    `${crlf('POST / HTTP/1.1', 'Host: example.com', 'Content-Length: 13', 'Transfer-Encoding: chunked', '', '')}0\r\n\r\nSMUGGLED`,
    CL_AND_TE,
  ),
  invalid(
    'TE.CL: Transfer-Encoding then Content-Length',
    'smuggling TE.CL; RFC 9112 §6.1',
    `${crlf('POST / HTTP/1.1', 'Host: example.com', 'Transfer-Encoding: chunked', 'Content-Length: 3', '', '')}8\r\nSMUGGLED\r\n0\r\n\r\n`,
    CL_AND_TE,
  ),
  invalid(
    'chunked with Content-Length: 0',
    'smuggling; RFC 9112 §6.1',
    `${crlf('POST / HTTP/1.1', 'Host: example.com', 'Transfer-Encoding: chunked', 'Content-Length: 0', '', '')}0\r\n\r\n`,
    CL_AND_TE,
  ),
  invalid(
    'CL.CL: two different Content-Length fields',
    'smuggling CL.CL; RFC 9112 §6.3 rule 5',
    `${crlf('POST / HTTP/1.1', 'Host: example.com', 'Content-Length: 0', 'Content-Length: 5', '', '')}hello`,
    bad(),
  ),
  invalid(
    'two identical Content-Length fields',
    'Envoy (balsa disallow_multiple_content_length) and llhttp reject any duplicate',
    `${crlf('POST / HTTP/1.1', 'Host: example.com', 'Content-Length: 5', 'Content-Length: 5', '', '')}hello`,
    bad(),
  ),
  invalid(
    'a Content-Length list',
    'RFC 9110 §8.6 (a recipient may reject it)',
    postWithLength('Content-Length: 5, 5'),
    bad(),
  ),
  invalid('a non-numeric Content-Length', 'RFC 9110 §8.6', postWithLength('Content-Length: abc'), bad()),
  invalid('a negative Content-Length', 'RFC 9110 §8.6', postWithLength('Content-Length: -5'), bad()),
  invalid('a Content-Length with a plus sign', 'RFC 9110 §8.6', postWithLength('Content-Length: +5'), bad()),
  invalid('a hex Content-Length', 'RFC 9110 §8.6', postWithLength('Content-Length: 0x5'), bad()),
  invalid(
    'a Content-Length with a space inside',
    'llhttp invalid requests (spaces in Content-Length)',
    postWithLength('Content-Length: 1 0'),
    bad(),
  ),
  invalid('a decimal Content-Length', 'RFC 9110 §8.6', postWithLength('Content-Length: 5.0'), bad()),
  invalid('an empty Content-Length', 'RFC 9110 §8.6', postWithLength('Content-Length:'), bad()),
  invalid(
    'a Content-Length beyond 2^53',
    'llhttp content-length overflow',
    postWithLength('Content-Length: 99999999999999999999'),
    bad(),
  ),
  invalid(
    'a vertical tab before the Content-Length value',
    'smuggling: \\x0b as whitespace',
    postWithLength('Content-Length:\x0b5'),
    INVALID_CHARS,
  ),
  invalid(
    'whitespace before the Content-Length colon',
    'smuggling; RFC 9112 §5.1',
    postWithLength('Content-Length : 5'),
    bad(),
  ),

  // --- Transfer-Encoding ---------------------------------------------------------------------
  invalid(
    'TE.TE: xchunked',
    'smuggling TE obfuscation; RFC 9112 §6.3 (chunked not final: 400)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: xchunked'),
    TE_400,
  ),
  invalid(
    'TE.TE: chunk',
    'smuggling TE obfuscation',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunk'),
    TE_400,
  ),
  invalid(
    'TE.TE: quoted "chunked"',
    'smuggling TE obfuscation',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: "chunked"'),
    TE_400,
  ),
  invalid(
    'TE.TE: chunked with a parameter',
    'smuggling TE obfuscation',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked;q=1'),
    TE_400,
  ),
  invalid(
    'TE.TE: vertical tab before chunked',
    'smuggling TE obfuscation (\\x0bchunked)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding:\x0bchunked'),
    INVALID_CHARS,
  ),
  invalid(
    'TE.TE: form feed after chunked',
    'smuggling TE obfuscation',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked\x0c'),
    INVALID_CHARS,
  ),
  invalid(
    'TE.TE: duplicated chunked lines',
    'smuggling TE obfuscation; the lines form one list "chunked, chunked" (RFC 9110 §5.3)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked'),
    TE_400,
  ),
  invalid(
    'TE.TE: chunked then an unknown coding line',
    'smuggling TE obfuscation',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: x'),
    TE_400,
  ),
  invalid(
    'TE.TE: identity then chunked',
    'smuggling TE obfuscation',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked'),
    TE_501,
  ),
  invalid(
    'Transfer-Encoding: identity',
    'RFC 9112 §7 (identity was removed)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: identity'),
    TE_400,
  ),
  invalid(
    'Transfer-Encoding: gzip, chunked',
    'RFC 9112 §6.1 (a coding Legate does not implement: 501, as Envoy)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: gzip, chunked'),
    TE_501,
  ),
  invalid(
    'Transfer-Encoding: chunked, gzip',
    'RFC 9112 §6.3 (chunked must be final)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked, gzip'),
    TE_400,
  ),
  invalid(
    'Transfer-Encoding: chunked, chunked',
    'RFC 9112 §6.1 (chunked at most once)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked, chunked'),
    TE_400,
  ),
  invalid(
    'an empty Transfer-Encoding',
    'RFC 9112 §6.1',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding:'),
    TE_400,
  ),
  invalid(
    'Transfer-Encoding in HTTP/1.0',
    'RFC 9112 §6.1 (faulty framing)',
    `${crlf('POST / HTTP/1.0', 'Host: example.com', 'Transfer-Encoding: chunked', '', '')}0\r\n\r\n`,
    bad('http1.invalid_transfer_encoding'),
    { acceptHttp10: true },
  ),
  {
    name: 'TE.TE: Transfer_Encoding is just another field, so the body starts the next message',
    source: 'smuggling TE obfuscation (underscore); RFC 9112 §6.3 rule 6',
    raw: chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Transfer_Encoding: chunked'),
    forwarded: crlf(
      'POST /upload HTTP/1.1',
      'host: example.com',
      'transfer_encoding: chunked',
      'content-length: 0',
      '',
      '',
    ),
    rejected: bad(),
  },
  {
    name: 'a GET body without framing is read as the next message',
    source: 'RFC 9112 §6.3 rule 6 (no framing: no body)',
    raw: `${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}hello world\r\n\r\n`,
    forwarded: FORWARDED_GET,
    rejected: bad(),
  },

  // --- Chunk framing -------------------------------------------------------------------------
  invalid(
    'a 0x-prefixed chunk size',
    'smuggling chunk-size trick (0x10)',
    chunkedPost('0x5\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a 0X-prefixed chunk size',
    'smuggling chunk-size trick',
    chunkedPost('0X5\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a plus-signed chunk size',
    'smuggling chunk-size trick (+10)',
    chunkedPost('+5\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a negative chunk size',
    'smuggling chunk-size trick',
    chunkedPost('-5\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a space before the chunk size',
    'smuggling chunk-size trick ( 10)',
    chunkedPost(' 5\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a tab before the chunk size',
    'smuggling chunk-size trick',
    chunkedPost('\t5\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a space after the chunk size with no extension',
    'RFC 9112 §7.1.1 (BWS only before ";")',
    chunkedPost('5 \r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a space inside the chunk size',
    'smuggling chunk-size trick',
    chunkedPost('1 0\r\n0123456789abcdef\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid('a non-hex chunk size', 'RFC 9112 §7.1', chunkedPost('g\r\nhello\r\n0\r\n\r\n'), bad()),
  invalid(
    'a chunk size beyond 2^53',
    'llhttp chunk size overflow',
    chunkedPost('fffffffffffffffff\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid('an empty chunk-size line', 'RFC 9112 §7.1', chunkedPost('\r\nhello\r\n0\r\n\r\n'), bad()),
  invalid(
    'a chunk size ended by a bare LF',
    'smuggling: bare LF in chunk framing',
    chunkedPost('5\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a bare LF inside a chunk extension',
    'smuggling: chunk-ext with bare LF',
    chunkedPost('5;a\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a bare CR inside a chunk extension',
    'smuggling: chunk-ext with bare CR',
    chunkedPost('5;a\rb\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a space inside a chunk extension name',
    'RFC 9112 §7.1.1',
    chunkedPost('5;a b\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'an empty chunk extension',
    'RFC 9112 §7.1.1 (chunk-ext-name is a token)',
    chunkedPost('5;\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'an unterminated quoted chunk extension',
    'RFC 9110 §5.6.4',
    chunkedPost('5;a="x\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'a control byte in a chunk extension value',
    'RFC 9112 §7.1.1',
    chunkedPost('5;a=\x01\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'chunk data longer than its size',
    'RFC 9112 §7.1 (CRLF must follow the data)',
    chunkedPost('3\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid('chunk data followed by a bare LF', 'RFC 9112 §7.1', chunkedPost('5\r\nhello\n0\r\n\r\n'), bad()),
  invalid(
    'the last chunk followed by a bare LF',
    'RFC 9112 §7.1',
    chunkedPost('5\r\nhello\r\n0\r\n\n'),
    bad(),
  ),
  invalid(
    'whitespace before a trailer colon',
    'RFC 9112 §7.1.2, §5.1',
    chunkedPost('0\r\nX-T : 1\r\n\r\n'),
    bad(),
    { enableTrailers: true },
  ),
  invalid('an obs-folded trailer', 'RFC 9112 §7.1.2, §5.2', chunkedPost('0\r\nX-T: 1\r\n 2\r\n\r\n'), bad(), {
    enableTrailers: true,
  }),
  invalid(
    'a control byte in a trailer value',
    'RFC 9110 §5.5',
    chunkedPost('0\r\nX-T: a\x01\r\n\r\n'),
    INVALID_CHARS,
    { enableTrailers: true },
  ),
  invalid(
    'max_headers_count + 1 trailers',
    'Envoy counts trailers against max_headers_count',
    chunkedPost(`0\r\n${Array.from({ length: 101 }, (_, i) => `X-T${i}: ${i}\r\n`).join('')}\r\n`),
    { status: 431, details: 'http1.too_many_headers' },
    { enableTrailers: true },
  ),
];
