/**
 * The shape of a request corpus entry and the helpers the corpus files share to write one.
 *
 * Test data, any thread. An entry is the bytes a client sends and what Legate must do with
 * them: forward exact bytes upstream, or answer a local reply (status and Envoy's details) with
 * nothing reaching the upstream, or both in that order (a forwarded request followed by bytes
 * that are rejected).
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
export function crlf(...lines: string[]): string {
  return lines.join('\r\n');
}

export const CODEC = 'http1.codec_error';
export const bad = (details = CODEC): Rejection => ({ status: 400, details });
export const INVALID_CHARS = bad('http1.invalid_characters');
export const INVALID_URL = bad('http1.invalid_url');
export const CL_AND_TE = bad('http1.content_length_and_chunked_not_allowed');
/** chunked not final, or repeated: RFC 9112 §6.3 MUST 400. */
export const TE_400 = bad('http1.invalid_transfer_encoding');
/** Another coding before a final chunked: not implemented (RFC 9112 §6.1 SHOULD 501), as Envoy. */
export const TE_501: Rejection = { status: 501, details: 'http1.invalid_transfer_encoding' };
export const MISSING_HOST = bad('missing_host_header');
export const INVALID_AUTHORITY = bad('http.invalid_authority');

export const valid = (
  name: string,
  source: string,
  raw: string,
  forwarded: string,
  settings?: Partial<Http1Settings>,
) => ({ name, source, raw, forwarded, ...(settings ? { settings } : {}) }) satisfies CorpusEntry;
export const invalid = (
  name: string,
  source: string,
  raw: string,
  rejected: Rejection,
  settings?: Partial<Http1Settings>,
) =>
  ({ name, source, raw, forwarded: '', rejected, ...(settings ? { settings } : {}) }) satisfies CorpusEntry;

/** A POST with a chunked body carrying `chunkLines` (everything after the header section). */
export function chunkedPost(chunkLines: string, te = 'Transfer-Encoding: chunked'): string {
  return crlf('POST /upload HTTP/1.1', 'Host: example.com', te, '', '') + chunkLines;
}

/** A GET with one extra header line. */
export function getWith(line: string): string {
  return crlf('GET / HTTP/1.1', 'Host: example.com', line, '', '');
}

/** A POST with a Content-Length header line as given and a 5-byte body. */
export function postWithLength(line: string): string {
  return `${crlf('POST /form HTTP/1.1', 'Host: example.com', line, '', '')}hello`;
}

export const FORWARDED_GET = crlf('GET / HTTP/1.1', 'host: example.com', '', '');
export const CHUNKED_UP = (chunks: string) =>
  crlf('POST /upload HTTP/1.1', 'host: example.com', 'transfer-encoding: chunked', '', '') + chunks;
