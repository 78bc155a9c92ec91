/**
 * Differential test of Legate's HTTP/1 codec against Node's own parser (llhttp, strict mode,
 * behind a real `http.createServer` on 127.0.0.1): every corpus entry goes to both. Where both
 * accept, they must decode the same bodies; where they disagree, the entry must be one of the
 * deliberate differences below, each saying which side follows RFC 9112 / RFC 9110 and Envoy.
 * The list is checked both ways: an entry listed here that no longer differs fails too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runThroughCodec } from './corpus/harness.ts';
import { LlhttpOracle } from './corpus/llhttp-oracle.ts';
import { REQUEST_CORPUS } from './corpus/requests.ts';

/**
 * Corpus entries on which Legate and llhttp deliberately disagree, and why.
 *
 * Legate accepts, llhttp rejects:
 * - BWS around or before a chunk extension: RFC 9112 §7.1.1 allows BWS before ';' and around '=' and
 *   RFC 9110 §5.6.3 says recipients must parse and remove it; llhttp rejects any whitespace
 *   after the size. Safe to accept: Legate re-encodes chunks without extensions.
 * - Transfer-Encoding with trailing whitespace: trailing OWS is not part of a field value
 *   (RFC 9112 §5.1), Envoy trims it too; llhttp rejects `chunked ` outright.
 * - allow_chunked_length and allow_custom_methods: Envoy options that the entry turns on (a
 *   lower-case method is a custom method: a token, RFC 9110 §9.1).
 *
 * Legate rejects, llhttp accepts (RFC 9112 strictness and Envoy's own checks):
 * - Request-line shape: two spaces after the method, HTTP/0.9, a version other than 1.0/1.1,
 *   a bare LF before the request line (RFC 9112 §3, §2.3, §2.2; llhttp is lenient on these).
 * - Targets: asterisk-form with another method than OPTIONS (RFC 9112 §3.2.4, Envoy 400),
 *   userinfo (RFC 9110 §4.2.4 says treat as an error), a port that is not digits, "*" followed
 *   by more, a non-http(s) scheme (Envoy http1.invalid_scheme), an empty authority, CONNECT
 *   not in host:port form (RFC 9112 §3.2.3, Envoy http1.invalid_url), CONNECT with a body length (Envoy http1.body_disallowed) or with
 *   Transfer-Encoding (Envoy 501).
 * - Host: missing in HTTP/1.1 CONNECT, repeated, or not a valid host[:port] — RFC 9112 §3.2
 *   says MUST respond 400 (Node checks only presence, and not for CONNECT); missing in HTTP/1.0
 *   is Envoy's missing_host_header.
 * - HTTP/1.0 without accept_http_10: Envoy's 426 (low_version).
 * - Limits: max_headers_count and max_request_headers_kb (431, Envoy's defaults; the oracle
 *   lifts Node's own limits), and the headers-with-underscores REJECT_REQUEST option.
 * - Transfer-Encoding other than a lone `chunked` (`identity` + `chunked` lines, `gzip,
 *   chunked`, an empty list element as in `,chunked`): Envoy implements only chunked and
 *   answers 501 (RFC 9112 §6.1 allows it); Transfer-Encoding in HTTP/1.0: RFC 9112 §6.1 says
 *   the framing is faulty; Transfer-Encoding on an upgrade request: after the head the bytes
 *   are a raw pipe, so a chunked body cannot be framed for the upstream (llhttp reads the body
 *   first, a proxy cannot).
 * - Chunk extensions outside RFC 9112 §7.1.1's grammar (`a=` with no value, a quote inside a
 *   token value): llhttp skips any bytes up to CRLF; Legate reads the grammar, as it does
 *   quoted-strings, so no extension can hide a line break.
 * - Trailers naming Host or Trailer: RFC 9110 §6.5.1 (routing and framing fields cannot be
 *   trailers); llhttp rejects only Content-Length and Transfer-Encoding there.
 * - A bare CR before the request line, two spaces after the target: RFC 9112 §2.2, §3.
 */
const DELIBERATE_DIFFERENCES = new Set([
  'BWS around a chunk extension',
  'Transfer-Encoding with trailing whitespace',
  'chunked with Content-Length when allow_chunked_length is on',
  'a custom method with allow_custom_methods',
  'two spaces after the method',
  'an HTTP/0.9 request line',
  'HTTP/2.0 on an HTTP/1 connection',
  'a bare LF before the request line',
  'asterisk-form with GET',
  'userinfo in an absolute-form target',
  'a non-HTTP scheme',
  'an absolute-form target with an empty authority',
  'CONNECT with an origin-form target',
  'CONNECT without a port',
  'CONNECT with a body length',
  'CONNECT with Transfer-Encoding',
  'HTTP/1.0 without accept_http_10',
  'HTTP/1.0 without Host',
  'CONNECT without Host in HTTP/1.1',
  'two Host fields',
  'two identical Host fields',
  'a space inside Host',
  'userinfo in Host',
  'a non-numeric port in Host',
  'max_headers_count + 1 fields',
  'a value beyond max_request_headers_kb',
  'a target beyond max_request_headers_kb',
  'an underscore header with REJECT_REQUEST',
  'TE.TE: identity then chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding in HTTP/1.0',
  'max_headers_count + 1 trailers',
  // The smuggling corpus (corpus/smuggling.ts).
  'TE.TE: identity, chunked',
  'TE.TE: gzip then chunked on two lines',
  'TE.TE: an empty list element before chunked',
  'a space before a chunk extension',
  'a tab before a chunk extension',
  'a quote inside a token chunk extension value',
  'an empty chunk extension value',
  'a Host trailer when trailers are forwarded',
  'a Trailer trailer when trailers are forwarded',
  'a Host trailer when trailers are not forwarded',
  'a lower-case method with allow_custom_methods',
  'two spaces after the target',
  'a bare CR before the request line',
  'an empty userinfo in an absolute-form target',
  'a userinfo that looks like a host',
  'absolute-form with a bad port',
  'asterisk-form with POST',
  'an asterisk followed by a path',
  'CONNECT with an absolute-form target',
  'CONNECT with an empty port',
  'CONNECT with userinfo',
  'two Host fields with different case',
  'an empty Host and a second Host',
  'two Host fields with absolute-form',
  'a path in Host',
  'a query in Host',
  'a fragment in Host',
  'two ports in Host',
  'an unclosed IPv6 literal in Host',
  'a tab inside Host',
  'obs-text in Host',
  'an upgrade with Transfer-Encoding',
]);

describe('HTTP/1 codec against llhttp (node:http, strict)', () => {
  const oracle = new LlhttpOracle();
  before(() => oracle.start());
  after(() => oracle.stop());

  test('every disagreement with llhttp is a listed deliberate difference, and bodies match where both accept', async () => {
    const disagreements: string[] = [];
    for (const entry of REQUEST_CORPUS) {
      const verdict = await oracle.judge(entry.raw);
      const llhttpAccepts = verdict.error === null && verdict.handled > 0;
      const legateAccepts = entry.rejected === undefined;
      // Legate's verdict is checked against the entry by corpus.test.ts; run it here too so this
      // test stands on its own.
      const ours = runThroughCodec(entry.raw, entry.settings);
      assert.equal(ours.statuses.at(-1) === 200, legateAccepts, `${entry.name}: Legate's verdict`);
      if (llhttpAccepts !== legateAccepts) {
        disagreements.push(entry.name);
        continue;
      }
      // Same verdict: the decoded bodies agree (CONNECT / Upgrade have no body event in Node).
      if (legateAccepts && verdict.bodies.length === verdict.handled) {
        assert.deepEqual(
          ours.requests.map((r) => r.body),
          verdict.bodies,
          `${entry.name}: bodies decoded by Legate and by llhttp`,
        );
      }
    }
    const unexplained = disagreements.filter((name) => !DELIBERATE_DIFFERENCES.has(name));
    assert.deepEqual(unexplained, [], 'disagreements with llhttp that are not listed as deliberate');
    const stale = [...DELIBERATE_DIFFERENCES].filter((name) => !disagreements.includes(name));
    assert.deepEqual(stale, [], 'listed differences on which llhttp and Legate now agree');
  });
});
