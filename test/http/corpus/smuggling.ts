/**
 * The HTTP/1.1 smuggling and framing corpus: the second half of the request corpus, drawn from
 * what public request-smuggling research and parser suites exercise, written for Legate.
 *
 * Test data, any thread. Sources, named per entry: RFC 9112 / RFC 9110 sections; James
 * Kettle's "HTTP Desync Attacks" (CL.TE, TE.CL, TE.TE obfuscations of the Transfer-Encoding
 * name and value) and "Browser-Powered Desync Attacks" (CL.0, pause-based desync, bodies on
 * GET / HEAD / OPTIONS); the HTTP Garden differential findings (bare CR / LF, chunk-size
 * tricks, chunk-ext and trailer parsing, NUL and control bytes, version strings); the llhttp
 * test suite (methods, URLs, Content-Length, chunk sizes and extensions); and the Node, Go,
 * Netty and Envoy smuggling advisories (obs-fold, `\x0b`/`\x0c` as whitespace, duplicate and
 * signed Content-Length, lenient chunk-size parsing, trailers with framing fields).
 *
 * Every expectation follows Envoy's HTTP/1 codec with its default settings (balsa, with the
 * checks of `codec_impl.cc`): a 400 (or Envoy's 501 for a transfer coding it does not
 * implement) with `connection: close` and nothing upstream, or the exact bytes the upstream
 * receives (names lower-cased, values as received less surrounding OWS, bodies byte for byte,
 * framing re-encoded). Where an entry departs from Envoy, or Envoy's behaviour is not certain
 * and the stricter answer was chosen because the framing is ambiguous, its `source` says so
 * ("stricter than Envoy"); where llhttp disagrees, llhttp-differential.test.ts lists it.
 */
import {
  bad,
  CHUNKED_UP,
  CL_AND_TE,
  type CorpusEntry,
  chunkedPost,
  crlf,
  FORWARDED_GET,
  getWith,
  INVALID_AUTHORITY,
  INVALID_CHARS,
  INVALID_URL,
  invalid,
  MISSING_HOST,
  postWithLength,
  type Rejection,
  TE_400,
  TE_501,
  valid,
} from './entry.ts';

const TRAILERS_ON = { enableTrailers: true } as const;
/** A trailer naming a framing or routing field (RFC 9110 §6.5.1). */
const FORBIDDEN_TRAILER = bad();

/** The upstream's view of `chunkedPost`'s head with a Content-Length body instead. */
const LENGTH_UP = (length: number, body: string, path = '/form') =>
  `${crlf(`POST ${path} HTTP/1.1`, 'host: example.com', `content-length: ${length}`, '', '')}${body}`;

/** A POST with Content-Length `cl`, another header line, and `body`. */
function postClWith(cl: string, line: string, body: string): string {
  return `${crlf('POST / HTTP/1.1', 'Host: example.com', `Content-Length: ${cl}`, line, '', '')}${body}`;
}

/** A request line with Host, nothing else. */
function requestLine(line: string): string {
  return crlf(line, 'Host: example.com', '', '');
}

/** A forwarded request with a lower-cased Host and the given request line. */
function forwardedLine(line: string, host = 'example.com'): string {
  return crlf(line, `host: ${host}`, '', '');
}

/** A Transfer-Encoding obfuscation with Content-Length beside it: CL.TE or TE.CL whatever the value. */
function clWithTe(te: string): string {
  return postClWith('6', te, '0\r\n\r\nX');
}

/** A chunked POST whose single chunk line is `line`, carrying "hello". */
function chunkLine(line: string): string {
  return chunkedPost(`${line}\r\nhello\r\n0\r\n\r\n`);
}

const SMUGGLED_GET = crlf('GET /admin HTTP/1.1', 'Host: internal', '', '');

const TE_BAD_CHARS: Rejection = INVALID_CHARS;

export const SMUGGLING_CORPUS: readonly CorpusEntry[] = [
  // --- Transfer-Encoding obfuscations (TE.TE) -------------------------------------------------
  invalid(
    'TE.TE: chunked, identity',
    'Kettle TE.TE; RFC 9112 §6.3 (chunked not final: MUST 400). Envoy answers 501 to any value but "chunked"; both reject',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked, identity'),
    TE_400,
  ),
  invalid(
    'TE.TE: identity, chunked',
    'Kettle TE.TE; RFC 9112 §6.1 (a coding Legate does not implement before chunked: 501, as Envoy)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: identity, chunked'),
    TE_501,
  ),
  invalid(
    'TE.TE: chunked followed by a vertical tab',
    'Kettle TE.TE (chunked\\x0b); RFC 9110 §5.5 (CTL in a value)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked\x0b'),
    TE_BAD_CHARS,
  ),
  invalid(
    'TE.TE: a NUL after chunked',
    'HTTP Garden (NUL in a framing value); RFC 9110 §5.5',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked\x00'),
    TE_BAD_CHARS,
  ),
  invalid(
    'TE.TE: a tab before the colon',
    'Kettle TE.TE (Transfer-Encoding\\t:); RFC 9112 §5.1 (MUST 400)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding\t: chunked'),
    bad(),
  ),
  invalid(
    'TE.TE: a space before the colon without Content-Length',
    'Kettle TE.TE (Transfer-Encoding : chunked); RFC 9112 §5.1 (MUST 400)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding : chunked'),
    bad(),
  ),
  invalid(
    'TE.TE: a vertical tab before the colon',
    'smuggling obfuscation of the name; RFC 9110 §5.6.2 (a name is a token)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding\x0b: chunked'),
    bad(),
  ),
  invalid(
    'TE.TE: a NUL inside the name',
    'HTTP Garden; RFC 9110 §5.6.2',
    chunkedPost('0\r\n\r\n', 'Transfer-Enc\x00oding: chunked'),
    bad(),
  ),
  invalid(
    'TE.TE: a non-ASCII byte in the name',
    'smuggling obfuscation (Transfer-Encodin\\xe9); RFC 9110 §5.6.2',
    chunkedPost('0\r\n\r\n', 'Transfer-Encodin\xe9: chunked'),
    bad(),
  ),
  {
    name: 'TE.TE: Transfer_Encoding beside Content-Length is just another field',
    source:
      'Kettle TE.TE (underscore); Envoy allows underscores by default (headers_with_underscores_action ALLOW): Content-Length frames the body',
    raw: postClWith('5', 'Transfer_Encoding: chunked', '0\r\n\r\n'),
    forwarded: `${crlf('POST / HTTP/1.1', 'host: example.com', 'content-length: 5', 'transfer_encoding: chunked', '', '')}0\r\n\r\n`,
  },
  invalid(
    'TE.TE: xchunked beside Content-Length',
    'Kettle TE.TE (xchunked); Envoy: any Transfer-Encoding with Content-Length is a 400',
    clWithTe('Transfer-Encoding: xchunked'),
    CL_AND_TE,
  ),
  invalid(
    'TE.TE: chunked twice beside Content-Length',
    'Kettle TE.TE (two Transfer-Encoding lines)',
    clWithTe('Transfer-Encoding: chunked\r\nTransfer-Encoding: x'),
    CL_AND_TE,
  ),
  invalid(
    'TE.TE: identity beside Content-Length',
    'Kettle TE.TE; RFC 9112 §6.1',
    clWithTe('Transfer-Encoding: identity'),
    CL_AND_TE,
  ),
  invalid(
    'TE.TE: an empty Transfer-Encoding beside Content-Length',
    'smuggling: an empty TE some parsers ignore; Envoy rejects TE with Content-Length whatever its value',
    clWithTe('Transfer-Encoding:'),
    CL_AND_TE,
  ),
  invalid(
    'TE.TE: single-quoted chunked',
    'Kettle TE.TE (quoted value)',
    chunkedPost('0\r\n\r\n', "Transfer-Encoding: 'chunked'"),
    TE_400,
  ),
  invalid(
    'TE.TE: chunked with a trailing semicolon',
    'smuggling TE obfuscation; RFC 9112 §7 (chunked has no parameters)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked;'),
    TE_400,
  ),
  invalid(
    'TE.TE: chunked and identity on two lines',
    'Kettle TE.TE (TE in two header lines: one list "chunked, identity", RFC 9110 §5.3)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity'),
    TE_400,
  ),
  invalid(
    'TE.TE: gzip then chunked on two lines',
    'Kettle TE.TE (TE in two header lines); RFC 9112 §6.1 (501, as Envoy)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked'),
    TE_501,
  ),
  invalid(
    'TE.TE: an empty list element before chunked',
    'RFC 9110 §5.6.1 allows empty elements, but Envoy compares the whole value with "chunked" and answers 501',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: ,chunked'),
    TE_501,
  ),
  invalid(
    'TE.TE: an empty list element after chunked',
    'as above (Envoy 501 for "chunked,")',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked,'),
    TE_501,
  ),
  invalid(
    'TE.TE: chunked repeated in one value with different case',
    'RFC 9112 §6.1 (chunked at most once)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: Chunked, CHUNKED'),
    TE_400,
  ),
  invalid(
    'TE.TE: obs-fold continuing Transfer-Encoding',
    'Kettle TE.TE (line folding); RFC 9112 §5.2 (Envoy rejects obs-fold)',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: chunked\r\n , identity'),
    bad(),
  ),
  invalid(
    'TE.TE: obs-fold by a tab',
    'Kettle TE.TE (line folding with HTAB); RFC 9112 §5.2',
    chunkedPost('0\r\n\r\n', 'X-Padding: a\r\n\tTransfer-Encoding: chunked'),
    bad(),
  ),
  invalid(
    'TE.TE: a field line ended by a bare CR hides Transfer-Encoding',
    'HTTP Garden (bare CR in the head); RFC 9112 §2.2',
    chunkedPost('0\r\n\r\n', 'X-A: b\rTransfer-Encoding: chunked'),
    bad(),
  ),
  invalid(
    'TE.TE: a bare LF before Transfer-Encoding',
    'HTTP Garden (bare LF in the head); RFC 9112 §2.2',
    chunkedPost('0\r\n\r\n', 'X-A: b\nTransfer-Encoding: chunked'),
    bad(),
  ),
  invalid(
    'TE.TE: a form feed before chunked',
    'Kettle TE.TE (\\x0c as whitespace); RFC 9110 §5.5',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding:\x0cchunked'),
    TE_BAD_CHARS,
  ),
  invalid(
    'TE.TE: a non-breaking space before chunked',
    'smuggling (\\xa0 treated as whitespace by some parsers): here it is obs-text, so the coding is "\\xa0chunked"',
    chunkedPost('0\r\n\r\n', 'Transfer-Encoding: \xa0chunked'),
    TE_400,
  ),
  valid(
    'Transfer-Encoding: Chunked in title case',
    'RFC 9112 §7 (coding names are case-insensitive)',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Transfer-Encoding: Chunked'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  invalid(
    'an empty Transfer-Encoding line before chunked',
    'TE.TE (a parser that reads the first line sees no coding); Envoy skips the empty value when combining lines and would accept: stricter than Envoy, as llhttp',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Transfer-Encoding:\r\nTransfer-Encoding: chunked'),
    TE_400,
  ),
  valid(
    'Connection nominating Transfer-Encoding does not remove the framing',
    'hop-by-hop abuse (Connection: Transfer-Encoding); Envoy does not strip fields nominated by Connection',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked'),
    crlf(
      'POST /upload HTTP/1.1',
      'host: example.com',
      'connection: Transfer-Encoding',
      'transfer-encoding: chunked',
      '',
      '',
    ) + '5\r\nhello\r\n0\r\n\r\n',
  ),
  valid(
    'a TE.CL body that looks like a smuggled request is chunk data',
    'Kettle TE.CL payload sent with chunked only: the "request" inside is body bytes, re-chunked',
    chunkedPost(`${SMUGGLED_GET.length.toString(16)}\r\n${SMUGGLED_GET}\r\n0\r\n\r\n`),
    CHUNKED_UP(`${SMUGGLED_GET.length.toString(16)}\r\n${SMUGGLED_GET}\r\n0\r\n\r\n`),
  ),

  // --- Content-Length variants (CL.CL, CL.0) ---------------------------------------------------
  invalid('a Content-Length of -1', 'RFC 9110 §8.6 (1*DIGIT)', postWithLength('Content-Length: -1'), bad()),
  invalid('a Content-Length of -0', 'RFC 9110 §8.6', postWithLength('Content-Length: -0'), bad()),
  invalid(
    'a Content-Length with two numbers',
    'llhttp / HTTP Garden (5 5); RFC 9110 §8.6',
    postWithLength('Content-Length: 5 5'),
    bad(),
  ),
  invalid(
    'a Content-Length list of different values',
    'CL.CL in one line; RFC 9110 §8.6 (MUST reject)',
    postWithLength('Content-Length: 5, 6'),
    bad(),
  ),
  invalid(
    'a Content-Length list of identical values without a space',
    'RFC 9110 §8.6 allows a recipient to accept "5,5"; Envoy (balsa, disallow_multiple_content_length) rejects it',
    postWithLength('Content-Length: 5,5'),
    bad(),
  ),
  invalid(
    'a Content-Length with a trailing comma',
    'RFC 9110 §8.6',
    postWithLength('Content-Length: 5,'),
    bad(),
  ),
  invalid(
    'a Content-Length in exponent notation',
    'parser differential (1e1)',
    postWithLength('Content-Length: 5e0'),
    bad(),
  ),
  invalid(
    'a Content-Length of 2^53',
    'overflow of a double (Legate cannot count beyond 2^53 - 1; Envoy caps far below by buffer limits): stricter than Envoy',
    postWithLength('Content-Length: 9007199254740992'),
    bad(),
  ),
  invalid(
    'a Content-Length of 2^64',
    'balsa / llhttp overflow tests (64-bit wrap to 0)',
    postWithLength('Content-Length: 18446744073709551616'),
    bad(),
  ),
  invalid(
    'a Content-Length with a NUL',
    'HTTP Garden (NUL after the digits)',
    postWithLength('Content-Length: 5\x00'),
    INVALID_CHARS,
  ),
  invalid(
    'a Content-Length followed by a non-breaking space',
    'smuggling (\\xa0 as whitespace): obs-text is part of the value, which is then not 1*DIGIT',
    postWithLength('Content-Length: 5\xa0'),
    bad(),
  ),
  invalid(
    'a Content-Length followed by a vertical tab',
    'smuggling (\\x0b as whitespace)',
    postWithLength('Content-Length: 5\x0b'),
    INVALID_CHARS,
  ),
  invalid(
    'a second, empty Content-Length',
    'CL.CL; Envoy (balsa disallow_multiple_content_length)',
    `${crlf('POST /form HTTP/1.1', 'Host: example.com', 'Content-Length: 5', 'Content-Length:', '', '')}hello`,
    bad(),
  ),
  invalid(
    'Content-Length in two spellings',
    'CL.CL with different case; RFC 9110 §5.1 (names are case-insensitive)',
    `${crlf('POST /form HTTP/1.1', 'Host: example.com', 'Content-Length: 5', 'content-length: 0', '', '')}hello`,
    bad(),
  ),
  invalid(
    'a Content-Length folded onto the next line',
    'obs-fold of a framing value; RFC 9112 §5.2',
    `${crlf('POST /form HTTP/1.1', 'Host: example.com', 'Content-Length:', ' 5', '', '')}hello`,
    bad(),
  ),
  invalid(
    'a tab before the Content-Length colon',
    'CL obfuscation; RFC 9112 §5.1',
    postWithLength('Content-Length\t: 5'),
    bad(),
  ),
  valid(
    'a Content-Length with many leading zeros',
    'llhttp content-length tests (leading zeros are 1*DIGIT)',
    postWithLength('Content-Length: 0000000000000000000000005'),
    `${crlf('POST /form HTTP/1.1', 'host: example.com', 'content-length: 0000000000000000000000005', '', '')}hello`,
  ),
  valid(
    'Content_Length is just another field: no body',
    'CL obfuscation (underscore); RFC 9112 §6.3 rule 6',
    crlf('POST /form HTTP/1.1', 'Host: example.com', 'Content_Length: 5', '', ''),
    crlf('POST /form HTTP/1.1', 'host: example.com', 'content_length: 5', 'content-length: 0', '', ''),
  ),
  {
    name: 'CL.0: a body on a request whose Content-Length is 0 is the next request',
    source: 'Kettle "Browser-Powered Desync" CL.0: the bytes after an empty body are parsed as a request',
    raw: `${crlf('POST /form HTTP/1.1', 'Host: example.com', 'Content-Length: 0', '', '')}${SMUGGLED_GET}`,
    forwarded: `${LENGTH_UP(0, '')}${crlf('GET /admin HTTP/1.1', 'host: internal', '', '')}`,
  },
  {
    name: 'CL.0: a body after Content-Length 0 that is not a request is rejected',
    source: 'Kettle CL.0; RFC 9112 §6.3',
    raw: `${crlf('POST /form HTTP/1.1', 'Host: example.com', 'Content-Length: 0', '', '')}hello world\r\n\r\n`,
    forwarded: LENGTH_UP(0, ''),
    rejected: bad(),
  },
  valid(
    'a body exactly as long as Content-Length, then a pipelined request',
    'RFC 9112 §9.3.2 (the length bounds the body precisely)',
    `${crlf('POST /form HTTP/1.1', 'Host: example.com', 'Content-Length: 5', '', '')}hello${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}`,
    `${LENGTH_UP(5, 'hello')}${FORWARDED_GET}`,
  ),
  valid(
    'a Content-Length body holding a request line is body',
    'Kettle CL.TE payload sent with Content-Length only',
    `${crlf('POST /form HTTP/1.1', 'Host: example.com', `Content-Length: ${SMUGGLED_GET.length}`, '', '')}${SMUGGLED_GET}`,
    LENGTH_UP(SMUGGLED_GET.length, SMUGGLED_GET),
  ),
  valid(
    'GET with Content-Length: 0',
    'RFC 9110 §8.6',
    crlf('GET / HTTP/1.1', 'Host: example.com', 'Content-Length: 0', '', ''),
    crlf('GET / HTTP/1.1', 'host: example.com', 'content-length: 0', '', ''),
  ),
  valid(
    'HEAD with a Content-Length body',
    'Kettle "Browser-Powered Desync" (HEAD with a body); RFC 9110 §9.3.2: the framing still delimits it',
    `${crlf('HEAD / HTTP/1.1', 'Host: example.com', 'Content-Length: 5', '', '')}hello`,
    `${crlf('HEAD / HTTP/1.1', 'host: example.com', 'content-length: 5', '', '')}hello`,
  ),
  valid(
    'OPTIONS with a Content-Length body',
    'Kettle "Browser-Powered Desync" (OPTIONS with a body); RFC 9110 §9.3.7',
    `${crlf('OPTIONS /x HTTP/1.1', 'Host: example.com', 'Content-Length: 2', '', '')}ok`,
    `${crlf('OPTIONS /x HTTP/1.1', 'host: example.com', 'content-length: 2', '', '')}ok`,
  ),
  valid(
    'TRACE with a Content-Length body',
    'RFC 9110 §9.3.8 (a client must not send one; Envoy forwards what the framing delimits)',
    `${crlf('TRACE / HTTP/1.1', 'Host: example.com', 'Content-Length: 2', '', '')}ok`,
    `${crlf('TRACE / HTTP/1.1', 'host: example.com', 'content-length: 2', '', '')}ok`,
  ),
  valid(
    'DELETE with a chunked body',
    'RFC 9110 §9.3.5',
    `${crlf('DELETE /r HTTP/1.1', 'Host: example.com', 'Transfer-Encoding: chunked', '', '')}2\r\nok\r\n0\r\n\r\n`,
    `${crlf('DELETE /r HTTP/1.1', 'host: example.com', 'transfer-encoding: chunked', '', '')}2\r\nok\r\n0\r\n\r\n`,
  ),

  // --- Chunk sizes -----------------------------------------------------------------------------
  invalid('a chunk size 0x1', 'smuggling chunk-size trick', chunkLine('0x5'), bad()),
  valid(
    'a space before a chunk extension',
    'RFC 9112 §7.1.1 (BWS before ";")',
    chunkLine('5 ;ext'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'a tab before a chunk extension',
    'RFC 9112 §7.1.1 (BWS is SP or HTAB)',
    chunkLine('5\t;ext=1'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  invalid(
    'a tab after the chunk size without an extension',
    'HTTP Garden (whitespace after the size); balsa reads it as an extension, the stricter reading is chosen: BWS only before ";"',
    chunkLine('5\t'),
    bad(),
  ),
  invalid(
    'a vertical tab after the chunk size',
    'smuggling (\\x0b after the size)',
    chunkLine('5\x0b'),
    bad(),
  ),
  invalid('a chunk size of -0', 'smuggling chunk-size trick', chunkedPost('-0\r\n\r\n'), bad()),
  invalid(
    'a chunk size of 2^53',
    'HTTP Garden / llhttp overflow (2^53 cannot be counted exactly)',
    chunkLine('20000000000000'),
    bad(),
  ),
  invalid(
    'a chunk size of 2^64 + 5 that wraps to 5',
    'Netty / Go advisories: a 64-bit wrap turns a huge size into a small one',
    chunkLine('10000000000000005'),
    bad(),
  ),
  valid(
    'a chunk size with 32 leading zeros',
    'llhttp chunked tests (leading zeros do not overflow)',
    chunkLine('00000000000000000000000000000005'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  invalid(
    'a chunk size with an underscore',
    'parser differential (1_0 read as 10 by number parsers)',
    chunkLine('0_5'),
    bad(),
  ),
  invalid(
    'a chunk size with a non-ASCII digit',
    'HTTP Garden (\\xb5 after the size)',
    chunkLine('5\xb5'),
    bad(),
  ),
  invalid(
    'chunk data without the CRLF after it',
    'RFC 9112 §7.1 (chunk = chunk-size ... CRLF chunk-data CRLF)',
    chunkedPost('5\r\nhello0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'chunk data followed by a bare CR',
    'HTTP Garden (bare CR after chunk data)',
    chunkedPost('5\r\nhello\r0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'chunk data followed by two bytes that are not CRLF',
    'HTTP Garden (any two bytes accepted as the data terminator)',
    chunkedPost('5\r\nhelloXX0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'chunk data shorter than its size',
    'TE.CL-style: the size swallows the next chunk line',
    chunkedPost('8\r\nhello\r\n0\r\n\r\n'),
    bad(),
  ),
  invalid(
    'LF-only chunk framing',
    'HTTP Garden (\\n line endings in chunked framing); RFC 9112 §2.2',
    chunkedPost('5\nhello\n0\n\n'),
    bad(),
  ),
  invalid('a chunk size ended by a bare CR', 'HTTP Garden', chunkedPost('5\rhello\r\n0\r\n\r\n'), bad()),
  invalid('a chunk-size line of CR CR LF', 'RFC 9112 §2.2', chunkedPost('5\r\r\nhello\r\n0\r\n\r\n'), bad()),
  invalid('the last chunk followed by a bare CR', 'HTTP Garden', chunkedPost('5\r\nhello\r\n0\r\r\n'), bad()),
  invalid(
    'the last chunk without its final CRLF, then a request',
    'smuggling: the next request line is read as a trailer field (not a field line: 400)',
    chunkedPost(`5\r\nhello\r\n0\r\n${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}`),
    bad(),
  ),
  valid(
    'a request pipelined after a chunked body',
    'RFC 9112 §9.3.2',
    chunkedPost(`5\r\nhello\r\n0\r\n\r\n${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}`),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n') + FORWARDED_GET,
  ),

  // --- Chunk extensions ------------------------------------------------------------------------
  valid(
    'obs-text in a quoted chunk extension',
    'RFC 9110 §5.6.4 (qdtext includes obs-text)',
    chunkLine('5;a="\xff\x80"'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  valid(
    'a quoted chunk extension holding CRLF-looking text',
    'HTTP Garden (quoted-string in chunk-ext); escapes are not line breaks',
    chunkLine('5;a="\\r\\n0\\r\\n"'),
    CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
  ),
  invalid(
    'a CR inside a quoted chunk extension',
    'HTTP Garden / Envoy disallow_lone_cr_in_chunk_extension',
    chunkLine('5;a="x\ry"'),
    bad(),
  ),
  invalid(
    'a LF inside a quoted chunk extension',
    'HTTP Garden (chunk-ext hiding a line break)',
    chunkLine('5;a="x\ny"'),
    bad(),
  ),
  invalid(
    'a quoted chunk extension hiding a last chunk and a request',
    'smuggling: the quoted-string is never closed before CRLF',
    chunkedPost(`5;a="\r\n0\r\n\r\n${SMUGGLED_GET}"\r\nhello\r\n0\r\n\r\n`),
    bad(),
  ),
  invalid('a DEL in a quoted chunk extension', 'RFC 9110 §5.6.4', chunkLine('5;a="\x7f"'), bad()),
  invalid('a NUL in a quoted chunk extension', 'RFC 9110 §5.6.4', chunkLine('5;a="\x00"'), bad()),
  invalid(
    'a quote inside a token chunk extension value',
    'RFC 9112 §7.1.1 (chunk-ext-val is a token or a quoted-string)',
    chunkLine('5;a=b"c"'),
    bad(),
  ),
  invalid(
    'a non-ASCII byte in a chunk extension name',
    'RFC 9112 §7.1.1 (chunk-ext-name is a token)',
    chunkLine('5;\xe9=1'),
    bad(),
  ),
  invalid(
    'an empty chunk extension value',
    'RFC 9112 §7.1.1 (after "=" comes a token or a quoted-string)',
    chunkLine('5;a='),
    bad(),
  ),
  invalid('a chunk extension without ";"', 'RFC 9112 §7.1.1', chunkLine('5 a=1'), bad()),
  invalid(
    'a chunk extension beyond 16 KiB',
    'unbounded chunk extensions (Node CVE-2024-22019, Go CVE-2023-39326): the chunk-size line is bounded',
    chunkLine(`5;a=${'x'.repeat(16 * 1024)}`),
    bad(),
  ),

  // --- Trailers --------------------------------------------------------------------------------
  invalid(
    'a Content-Length trailer when trailers are forwarded',
    'RFC 9110 §6.5.1 (framing fields must not be trailers); stricter than Envoy: the upstream could merge it',
    chunkedPost('5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n'),
    FORBIDDEN_TRAILER,
    TRAILERS_ON,
  ),
  invalid(
    'a Transfer-Encoding trailer when trailers are forwarded',
    'RFC 9110 §6.5.1; stricter than Envoy',
    chunkedPost('5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n'),
    FORBIDDEN_TRAILER,
    TRAILERS_ON,
  ),
  invalid(
    'a Host trailer when trailers are forwarded',
    'RFC 9110 §6.5.1 (routing fields); stricter than Envoy',
    chunkedPost('5\r\nhello\r\n0\r\nHost: evil.example\r\n\r\n'),
    FORBIDDEN_TRAILER,
    TRAILERS_ON,
  ),
  invalid(
    'a Trailer trailer when trailers are forwarded',
    'RFC 9110 §6.6.2 (Trailer announces trailers; as a trailer it is framing); stricter than Envoy',
    chunkedPost('5\r\nhello\r\n0\r\nTrailer: x-a\r\n\r\n'),
    FORBIDDEN_TRAILER,
    TRAILERS_ON,
  ),
  invalid(
    'a Content-Length trailer when trailers are not forwarded',
    'RFC 9110 §6.5.1; Envoy would drop it (enable_trailers off): stricter than Envoy, as llhttp, so the verdict does not depend on the setting',
    chunkedPost('5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n'),
    FORBIDDEN_TRAILER,
  ),
  invalid(
    'a Host trailer when trailers are not forwarded',
    'RFC 9110 §6.5.1; stricter than Envoy',
    chunkedPost('5\r\nhello\r\n0\r\nhost: evil.example\r\n\r\n'),
    FORBIDDEN_TRAILER,
  ),
  invalid(
    'a trailer name with "@"',
    'RFC 9110 §5.6.2 (trailer names are tokens, checked even when trailers are dropped)',
    chunkedPost('0\r\nX@T: 1\r\n\r\n'),
    bad(),
  ),
  invalid('a trailer line without a colon', 'RFC 9112 §7.1.2', chunkedPost('0\r\nX-T\r\n\r\n'), bad()),
  invalid('a trailer with an empty name', 'RFC 9110 §5.1', chunkedPost('0\r\n: 1\r\n\r\n'), bad()),
  invalid(
    'a trailer ended by a bare LF',
    'HTTP Garden (bare LF in trailers)',
    chunkedPost('0\r\nX-T: 1\n\r\n'),
    bad(),
  ),
  invalid(
    'a NUL in a trailer value',
    'RFC 9110 §5.5',
    chunkedPost('0\r\nX-T: a\x00b\r\n\r\n'),
    INVALID_CHARS,
    TRAILERS_ON,
  ),
  valid(
    'obs-text in a forwarded trailer',
    'RFC 9110 §5.5',
    chunkedPost('0\r\nX-T: caf\xe9\r\n\r\n'),
    CHUNKED_UP('0\r\nx-t: caf\xe9\r\n\r\n'),
    TRAILERS_ON,
  ),

  // --- Request line ----------------------------------------------------------------------------
  valid(
    'a lower-case method with allow_custom_methods',
    'RFC 9110 §9.1 (a method is any token, case-sensitive); Envoy allow_custom_methods',
    requestLine('get / HTTP/1.1'),
    crlf('get / HTTP/1.1', 'host: example.com', 'content-length: 0', '', ''),
    { allowCustomMethods: true },
  ),
  invalid(
    'a mixed-case registered method',
    'RFC 9110 §9.1 (Get is not GET); Envoy registered methods',
    requestLine('Get / HTTP/1.1'),
    bad(),
  ),
  invalid('a method with "@"', 'RFC 9110 §5.6.2', requestLine('G@T / HTTP/1.1'), bad(), {
    allowCustomMethods: true,
  }),
  invalid(
    'a method glued to the target',
    'llhttp invalid requests (GET/ HTTP/1.1)',
    crlf('GET/ HTTP/1.1', 'Host: example.com', '', ''),
    bad(),
  ),
  invalid(
    'a method longer than 32 bytes',
    'llhttp / balsa method bounds',
    requestLine(`${'A'.repeat(33)} / HTTP/1.1`),
    bad(),
    { allowCustomMethods: true },
  ),
  invalid(
    'the HTTP/2 connection preface on an HTTP/1 listener',
    'RFC 9113 §3.4 (PRI * HTTP/2.0 is not an HTTP/1 request; Envoy: not a registered method)',
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    bad(),
  ),
  invalid('HTTP/1.10', 'RFC 9112 §2.3 (one digit each)', requestLine('GET / HTTP/1.10'), bad()),
  invalid('HTTP/1.01', 'RFC 9112 §2.3', requestLine('GET / HTTP/1.01'), bad()),
  invalid('HTTP/3.0', 'RFC 9112 §2.3', requestLine('GET / HTTP/3.0'), bad()),
  invalid('HTTP/1.x', 'RFC 9112 §2.3', requestLine('GET / HTTP/1.x'), bad()),
  invalid('HTTP/1. without a minor digit', 'RFC 9112 §2.3', requestLine('GET / HTTP/1.'), bad()),
  invalid('HTTPS/1.1', 'RFC 9112 §2.3 (HTTP-name)', requestLine('GET / HTTPS/1.1'), bad()),
  invalid('a missing version', 'RFC 9112 §3', requestLine('GET / '), bad()),
  invalid('a comma in the version', 'RFC 9112 §2.3', requestLine('GET / HTTP/1,1'), bad()),
  invalid('a space inside the version', 'RFC 9112 §2.3', requestLine('GET / HTTP /1.1'), bad()),
  invalid('two spaces after the target', 'RFC 9112 §3 (single SP)', requestLine('GET /  HTTP/1.1'), bad()),
  invalid('a space inside the target', 'RFC 9112 §3.2', requestLine('GET /a b HTTP/1.1'), bad()),
  invalid('a tab inside the target', 'RFC 9112 §3.2', requestLine('GET /a\tb HTTP/1.1'), bad()),
  invalid(
    'a vertical tab as the separator',
    'HTTP Garden (\\x0b in the request line)',
    requestLine('GET\x0b/ HTTP/1.1'),
    bad(),
  ),
  invalid('a bare CR inside the target', 'HTTP Garden', requestLine('GET /a\rb HTTP/1.1'), bad()),
  invalid('a SOH in the target', 'RFC 3986 §2', requestLine('GET /a\x01b HTTP/1.1'), bad()),
  invalid('an ESC in the target', 'RFC 3986 §2', requestLine('GET /a\x1bb HTTP/1.1'), bad()),
  invalid(
    'a form feed in the target',
    'llhttp lenient-only (\\x0c in URL)',
    requestLine('GET /a\x0cb HTTP/1.1'),
    bad(),
  ),
  invalid(
    'a UTF-8 sequence in the target',
    'RFC 3986 §2 (non-ASCII must be percent-encoded)',
    requestLine('GET /\xc3\xa9 HTTP/1.1'),
    bad(),
  ),
  invalid(
    'a CR CR LF ending the request line',
    'RFC 9112 §2.2',
    'GET / HTTP/1.1\r\r\nHost: example.com\r\n\r\n',
    bad(),
  ),
  invalid(
    'a bare CR before the request line',
    'RFC 9112 §2.2 (only CRLF may precede the request line)',
    `\r${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}`,
    bad(),
  ),
  valid(
    'a query and a fragment in the target',
    'llhttp url tests; forwarded as received (Envoy does not strip the fragment by default)',
    requestLine('GET /a?b=c#d HTTP/1.1'),
    forwardedLine('GET /a?b=c#d HTTP/1.1'),
  ),
  valid(
    'gen-delims and unsafe ASCII in the target',
    'llhttp url tests (|{}^`"<>\\ are accepted as visible ASCII, as Envoy / balsa do)',
    requestLine('GET /a|b{c}^d`e"<>\\ HTTP/1.1'),
    forwardedLine('GET /a|b{c}^d`e"<>\\ HTTP/1.1'),
  ),
  valid(
    'a target starting with two slashes is origin-form',
    'RFC 9112 §3.2.1 (absolute-path may begin with "//")',
    requestLine('GET //evil.example/x HTTP/1.1'),
    forwardedLine('GET //evil.example/x HTTP/1.1'),
  ),
  invalid(
    'a target that is only a query',
    'RFC 9112 §3.2 (no form starts with "?")',
    requestLine('GET ?x=1 HTTP/1.1'),
    INVALID_URL,
  ),
  invalid(
    'a scheme with one slash',
    'RFC 9112 §3.2.2 (absolute-URI needs "//" for http)',
    requestLine('GET http:/example.com/ HTTP/1.1'),
    INVALID_URL,
  ),
  invalid(
    'an empty userinfo in an absolute-form target',
    'RFC 9110 §4.2.4 (userinfo is an error)',
    requestLine('GET http://@example.com/ HTTP/1.1'),
    INVALID_URL,
  ),
  invalid(
    'a userinfo that looks like a host',
    'SSRF / routing confusion (http://example.com@evil.example/)',
    requestLine('GET http://example.com@evil.example/ HTTP/1.1'),
    INVALID_URL,
  ),
  valid(
    'absolute-form with an IPv6 literal',
    'RFC 9112 §3.2.2, RFC 3986 §3.2.2',
    crlf('GET http://[::1]:8080/x HTTP/1.1', 'Host: [::1]:8080', '', ''),
    forwardedLine('GET /x HTTP/1.1', '[::1]:8080'),
  ),
  valid(
    'absolute-form authority overrides a different Host',
    'RFC 9112 §3.2.2 (the target wins: routing on the Host would be a confusion)',
    crlf('GET http://a.example/x HTTP/1.1', 'Host: b.example', '', ''),
    forwardedLine('GET /x HTTP/1.1', 'a.example'),
  ),
  invalid(
    'absolute-form with a bad port',
    'RFC 3986 §3.2.3',
    requestLine('GET http://example.com:8x/ HTTP/1.1'),
    INVALID_URL,
  ),
  invalid(
    'asterisk-form with POST',
    'RFC 9112 §3.2.4 (OPTIONS only)',
    requestLine('POST * HTTP/1.1'),
    INVALID_URL,
  ),
  invalid(
    'an asterisk followed by a path',
    'RFC 9112 §3.2.4 (asterisk-form is "*" alone)',
    requestLine('OPTIONS */x HTTP/1.1'),
    INVALID_URL,
  ),
  valid(
    'CONNECT to an IPv6 literal',
    'RFC 9112 §3.2.3',
    crlf('CONNECT [::1]:443 HTTP/1.1', 'Host: [::1]:443', '', ''),
    crlf('CONNECT [::1]:443 HTTP/1.1', 'host: [::1]:443', '', ''),
  ),
  invalid(
    'CONNECT with an absolute-form target',
    'RFC 9112 §3.2.3 (authority-form only)',
    crlf('CONNECT http://example.com:443/ HTTP/1.1', 'Host: example.com:443', '', ''),
    INVALID_URL,
  ),
  invalid(
    'CONNECT with an empty port',
    'RFC 9110 §9.3.6',
    crlf('CONNECT example.com: HTTP/1.1', 'Host: example.com', '', ''),
    INVALID_URL,
  ),
  invalid(
    'CONNECT with userinfo',
    'RFC 9112 §3.2.3',
    crlf('CONNECT user@example.com:443 HTTP/1.1', 'Host: example.com:443', '', ''),
    INVALID_URL,
  ),

  // --- Field lines -----------------------------------------------------------------------------
  invalid('a field name with "@"', 'RFC 9110 §5.6.2', getWith('X@A: v'), bad()),
  invalid('a field name with "{"', 'RFC 9110 §5.6.2', getWith('X{A}: v'), bad()),
  invalid('a field name with "["', 'RFC 9110 §5.6.2', getWith('X[A]: v'), bad()),
  invalid('a field name with "="', 'RFC 9110 §5.6.2', getWith('X=A: v'), bad()),
  invalid('a field name with ","', 'RFC 9110 §5.6.2', getWith('X,A: v'), bad()),
  invalid('a field name with ";"', 'RFC 9110 §5.6.2', getWith('X;A: v'), bad()),
  invalid('a field name with "?"', 'RFC 9110 §5.6.2', getWith('X?A: v'), bad()),
  invalid('a field name with "\\"', 'RFC 9110 §5.6.2', getWith('X\\A: v'), bad()),
  invalid('a field name with a DEL', 'RFC 9110 §5.6.2', getWith('X\x7fA: v'), bad()),
  invalid('a field name with a tab inside', 'RFC 9110 §5.6.2', getWith('X\tA: v'), bad()),
  invalid('a field name that is only a space', 'RFC 9110 §5.1', getWith(' : v'), bad()),
  invalid('an ESC in a value', 'RFC 9110 §5.5', getWith('X-A: a\x1bb'), INVALID_CHARS),
  invalid('a unit separator in a value', 'RFC 9110 §5.5', getWith('X-A: a\x1fb'), INVALID_CHARS),
  invalid('a value that is only a NUL', 'RFC 9110 §5.5', getWith('X-A: \x00'), INVALID_CHARS),
  invalid(
    'a bare CR ending a value',
    'HTTP Garden (CR as a line end); RFC 9112 §2.2',
    'GET / HTTP/1.1\r\nHost: example.com\r\nX-A: b\r\rX-B: c\r\n\r\n',
    bad(),
  ),
  invalid(
    'a head ended by LF CR LF',
    'HTTP Garden; RFC 9112 §2.2',
    'GET / HTTP/1.1\r\nHost: example.com\n\r\n',
    bad(),
  ),
  invalid(
    'a head ended by CRLF CR CR LF',
    'RFC 9112 §2.2',
    'GET / HTTP/1.1\r\nHost: example.com\r\n\r\r\n',
    bad(),
  ),
  invalid(
    'a head in LF-only line endings',
    'HTTP Garden (LF-only heads, accepted by lenient parsers)',
    'GET / HTTP/1.1\nHost: example.com\n\n',
    bad(),
  ),
  valid(
    'obs-text bytes 0x80 to 0xff in a value',
    'RFC 9110 §5.5 (obs-text)',
    getWith('X-A: \x80\x9f\xa0\xfe'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-a: \x80\x9f\xa0\xfe', '', ''),
  ),
  valid(
    'a colon inside a value',
    'RFC 9110 §5.5 (only the first colon ends the name)',
    getWith('X-A: b: c'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'x-a: b: c', '', ''),
  ),

  // --- Host --------------------------------------------------------------------------------------
  invalid(
    'two Host fields with different case',
    'RFC 9112 §3.2 (MUST 400)',
    crlf('GET / HTTP/1.1', 'Host: a.example', 'HOST: b.example', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'an empty Host and a second Host',
    'RFC 9112 §3.2 (MUST 400 for more than one Host)',
    crlf('GET / HTTP/1.1', 'Host:', 'Host: a.example', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'two Host fields with absolute-form',
    'RFC 9112 §3.2 (more than one Host is a 400 whatever the target)',
    crlf('GET http://a.example/ HTTP/1.1', 'Host: a.example', 'Host: b.example', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'a path in Host',
    'RFC 9110 §7.2 (Host = uri-host [":" port])',
    crlf('GET / HTTP/1.1', 'Host: example.com/admin', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'a query in Host',
    'RFC 9110 §7.2',
    crlf('GET / HTTP/1.1', 'Host: example.com?x', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'a fragment in Host',
    'RFC 9110 §7.2',
    crlf('GET / HTTP/1.1', 'Host: example.com#x', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'two ports in Host',
    'RFC 3986 §3.2.3',
    crlf('GET / HTTP/1.1', 'Host: example.com:80:80', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'an unclosed IPv6 literal in Host',
    'RFC 3986 §3.2.2',
    crlf('GET / HTTP/1.1', 'Host: [::1', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'a tab inside Host',
    'RFC 9110 §7.2',
    crlf('GET / HTTP/1.1', 'Host: a\tb', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'obs-text in Host',
    'RFC 3986 §3.2.2 (reg-name is ASCII)',
    crlf('GET / HTTP/1.1', 'Host: caf\xe9.example', '', ''),
    INVALID_AUTHORITY,
  ),
  invalid(
    'Host folded onto the next line',
    'obs-fold of a routing field; RFC 9112 §5.2',
    crlf('GET / HTTP/1.1', 'Host:', ' example.com', '', ''),
    bad(),
  ),
  invalid(
    'HTTP/1.1 without Host but with X-Forwarded-Host',
    'RFC 9112 §3.2 (no other field stands in for Host)',
    crlf('GET / HTTP/1.1', 'X-Forwarded-Host: example.com', '', ''),
    MISSING_HOST,
  ),
  valid(
    'a Host with a trailing dot',
    'RFC 3986 §3.2.2 (a fully-qualified reg-name)',
    crlf('GET / HTTP/1.1', 'Host: example.com.', '', ''),
    forwardedLine('GET / HTTP/1.1', 'example.com.'),
  ),
  valid(
    'a Host with surrounding whitespace',
    'RFC 9112 §5.1 (OWS is not part of the value)',
    crlf('GET / HTTP/1.1', 'Host: \t example.com \t', '', ''),
    FORWARDED_GET,
  ),

  // --- Connection, Expect, Upgrade ---------------------------------------------------------------
  valid(
    'Connection nominating Content-Length does not remove the framing',
    'hop-by-hop abuse (Connection: Content-Length); Envoy does not strip nominated fields',
    `${crlf('POST /form HTTP/1.1', 'Host: example.com', 'Connection: Content-Length', 'Content-Length: 5', '', '')}hello`,
    `${crlf('POST /form HTTP/1.1', 'host: example.com', 'connection: Content-Length', 'content-length: 5', '', '')}hello`,
  ),
  valid(
    'Connection: close',
    'RFC 9112 §9.6',
    getWith('Connection: close'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'connection: close', '', ''),
  ),
  valid(
    'Expect: 100-continue without a body',
    'RFC 9110 §10.1.1 (a client should not send it without content; forwarded)',
    getWith('Expect: 100-continue'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'expect: 100-continue', '', ''),
  ),
  valid(
    'Expect: 100-continue with a chunked body',
    'RFC 9110 §10.1.1',
    chunkedPost('5\r\nhello\r\n0\r\n\r\n', 'Expect: 100-continue\r\nTransfer-Encoding: chunked'),
    crlf(
      'POST /upload HTTP/1.1',
      'host: example.com',
      'expect: 100-continue',
      'transfer-encoding: chunked',
      '',
      '',
    ) + '5\r\nhello\r\n0\r\n\r\n',
  ),
  valid(
    'an unknown expectation is forwarded',
    "RFC 9110 §10.1.1 (417 is the origin's answer; the proxy forwards)",
    getWith('Expect: x-custom'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'expect: x-custom', '', ''),
  ),
  valid(
    'Upgrade without Connection: upgrade is an ordinary request',
    'RFC 9110 §7.8 (Upgrade must be named in Connection)',
    getWith('Upgrade: websocket'),
    crlf('GET / HTTP/1.1', 'host: example.com', 'upgrade: websocket', '', ''),
  ),
  valid(
    'an upgrade with a Content-Length body keeps the length',
    'websocket smuggling research (0ang3el): the upstream sees the same framing as Legate',
    `${crlf('GET /c HTTP/1.1', 'Host: example.com', 'Upgrade: websocket', 'Connection: Upgrade', 'Content-Length: 5', '', '')}hello`,
    `${crlf('GET /c HTTP/1.1', 'host: example.com', 'upgrade: websocket', 'connection: Upgrade', 'content-length: 5', '', '')}hello`,
  ),
  invalid(
    'an upgrade with Transfer-Encoding',
    'websocket smuggling: after the head the bytes are a raw pipe, so the chunked framing cannot be kept; a refused upgrade would let the upstream read the "body" as requests. Stricter than Envoy',
    `${crlf('POST /c HTTP/1.1', 'Host: example.com', 'Upgrade: websocket', 'Connection: Upgrade', 'Transfer-Encoding: chunked', '', '')}0\r\n\r\n${SMUGGLED_GET}`,
    TE_400,
  ),
  {
    name: 'a valid request, then a CL.TE request on the same connection',
    source: 'pipelined smuggling: the first request is forwarded, the second rejected before the upstream',
    raw: `${crlf('GET / HTTP/1.1', 'Host: example.com', '', '')}${clWithTe('Transfer-Encoding: chunked')}`,
    forwarded: FORWARDED_GET,
    rejected: CL_AND_TE,
  },
  {
    name: 'a chunked request, then a request with obs-fold',
    source: 'pipelined smuggling after a chunked body',
    raw: chunkedPost(
      `5\r\nhello\r\n0\r\n\r\n${crlf('GET / HTTP/1.1', 'Host: example.com', 'X-A: a', ' b', '', '')}`,
    ),
    forwarded: CHUNKED_UP('5\r\nhello\r\n0\r\n\r\n'),
    rejected: bad(),
  },
  valid(
    'HTTP/1.0 with a Content-Length body',
    'Envoy accept_http_10; RFC 9112 §6.3',
    `${crlf('POST /form HTTP/1.0', 'Host: example.com', 'Content-Length: 5', '', '')}hello`,
    LENGTH_UP(5, 'hello'),
    { acceptHttp10: true },
  ),
  invalid(
    'HTTP/1.0 with Content-Length and Transfer-Encoding',
    'RFC 9112 §6.1 (Transfer-Encoding in HTTP/1.0 is faulty framing); CL.TE',
    clWithTe('Transfer-Encoding: chunked').replace('HTTP/1.1', 'HTTP/1.0'),
    CL_AND_TE,
    { acceptHttp10: true },
  ),
];
