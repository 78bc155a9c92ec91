/**
 * Byte classes of RFC 9110 / RFC 9112 as lookup tables, and the interning of common header
 * names, for the HTTP/1 parser.
 *
 * Any thread; immutable tables built once at load. A header name that matches one of the common
 * names (case-insensitively) becomes that name's constant string, so the parser allocates no
 * key string for it and the special-header checks compare constants. Envoy counterpart: the
 * character tables of `source/common/http/header_utility.cc` and balsa's `kValidCharacters`.
 */
import { Buffer } from 'node:buffer';

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
export const COLON = 58;

/** tchar (RFC 9110 §5.6.2): the characters of a method or a field name. */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

/** field-vchar / obs-text (RFC 9110 §5.5): visible bytes of a field value (SP and HTAB apart). */
export const FIELD_VCHAR = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) FIELD_VCHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VCHAR[c] = 1;

/** Bytes allowed in a request-target: visible ASCII only (no SP, CTL, DEL or non-ASCII). */
export const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;

/**
 * Bytes of a Host value or an absolute-form authority: unreserved, sub-delims, pct-encoded,
 * ':' and the brackets of an IP-literal (RFC 3986 §3.2.2). No '@': userinfo is not accepted.
 */
export const AUTHORITY = new Uint8Array(256);
for (const c of "-._~!$&'()*+,;=%:[]") AUTHORITY[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) AUTHORITY[c] = 1;
for (let c = 65; c <= 90; c++) AUTHORITY[c] = 1;
for (let c = 97; c <= 122; c++) AUTHORITY[c] = 1;

/** Hex digit values; -1 for any other byte. */
export const HEX = new Int8Array(256).fill(-1);
for (let c = 48; c <= 57; c++) HEX[c] = c - 48;
for (let c = 65; c <= 70; c++) HEX[c] = c - 55;
for (let c = 97; c <= 102; c++) HEX[c] = c - 87;

/** ASCII lower-casing of a byte. */
export const LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;

/** qdtext of a quoted-string (RFC 9110 §5.6.4): HTAB, SP, VCHAR except '"' and '\', obs-text. */
export const QDTEXT = new Uint8Array(256);
QDTEXT[HTAB] = 1;
QDTEXT[SP] = 1;
for (let c = 0x21; c <= 0xff; c++) if (c !== 0x22 && c !== 0x5c && c !== 0x7f) QDTEXT[c] = 1;

/** Header names the parser interns; the special ones are compared by the codec and parser. */
const COMMON_NAMES = [
  'host',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-charset',
  'accept-ranges',
  'connection',
  'keep-alive',
  'proxy-connection',
  'content-length',
  'content-type',
  'content-encoding',
  'content-range',
  'content-disposition',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'expect',
  'cookie',
  'set-cookie',
  'referer',
  'origin',
  'authorization',
  'cache-control',
  'pragma',
  'date',
  'server',
  'location',
  'etag',
  'vary',
  'age',
  'expires',
  'last-modified',
  'if-modified-since',
  'if-unmodified-since',
  'if-none-match',
  'if-match',
  'range',
  'via',
  'forwarded',
  'dnt',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'x-request-id',
  'x-envoy-upstream-service-time',
  'x-envoy-expected-rq-timeout-ms',
  'access-control-allow-origin',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-fetch-mode',
  'sec-fetch-site',
  'sec-fetch-dest',
  'sec-fetch-user',
  'upgrade-insecure-requests',
  'grpc-status',
  'grpc-message',
  'grpc-timeout',
];

/**
 * Open-addressing table of the common names by `nameHash` (computed by the parser while it
 * scans a name, so finding the candidate costs one probe and one comparison).
 */
const TABLE_SIZE = 512;
const TABLE_NAMES: Array<string | undefined> = new Array(TABLE_SIZE);
const TABLE_HASHES = new Int32Array(TABLE_SIZE);

/** The running hash of a lower-cased name: `h = nameHashStep(h, byte)` from `h = 0`. */
export function nameHashStep(h: number, byte: number): number {
  return (Math.imul(h, 31) + LOWER[byte]!) | 0;
}

for (const name of COMMON_NAMES) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = nameHashStep(h, name.charCodeAt(i));
  let slot = h & (TABLE_SIZE - 1);
  while (TABLE_NAMES[slot] !== undefined) slot = (slot + 1) & (TABLE_SIZE - 1);
  TABLE_NAMES[slot] = name;
  TABLE_HASHES[slot] = h;
}

/**
 * The interned lower-case name for bytes [start, end) whose `nameHashStep` hash is `hash`,
 * when it is a common header name (compared case-insensitively); undefined otherwise.
 */
export function internHeaderName(b: Buffer, start: number, end: number, hash: number): string | undefined {
  const len = end - start;
  for (let slot = hash & (TABLE_SIZE - 1); ; slot = (slot + 1) & (TABLE_SIZE - 1)) {
    const name = TABLE_NAMES[slot];
    if (name === undefined) return undefined;
    if (TABLE_HASHES[slot] !== hash || name.length !== len) continue;
    let i = 0;
    while (i < len && name.charCodeAt(i) === LOWER[b[start + i]!]) i++;
    if (i === len) return name;
  }
}

interface Latin1Slicing {
  latin1Slice(start: number, end: number): string;
}

/**
 * Bytes [start, end) as a Latin-1 string (one character per byte). Uses Buffer's direct
 * `latin1Slice` binding when present: `toString('latin1', ...)` costs a third more per call.
 */
export const latin1: (b: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as unknown as Partial<Latin1Slicing>).latin1Slice === 'function'
    ? (b, start, end) => (b as unknown as Latin1Slicing).latin1Slice(start, end)
    : (b, start, end) => b.toString('latin1', start, end);

/** Bit flags of the Connection tokens the codec acts on. */
export const CONN_CLOSE = 1;
export const CONN_KEEP_ALIVE = 2;
export const CONN_UPGRADE = 4;

/** The CONN_* flags named by a Connection value (comma-separated, case-insensitive, OWS ignored). */
export function connectionTokens(value: string): number {
  let flags = 0;
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HTAB)) i++;
    const start = i;
    while (i < n && value.charCodeAt(i) !== 44 /* ',' */) i++;
    let end = i;
    while (end > start && (value.charCodeAt(end - 1) === SP || value.charCodeAt(end - 1) === HTAB)) end--;
    const len = end - start;
    if (len === 5 && equalsIgnoreCaseAt(value, start, 'close')) flags |= CONN_CLOSE;
    else if (len === 10 && equalsIgnoreCaseAt(value, start, 'keep-alive')) flags |= CONN_KEEP_ALIVE;
    else if (len === 7 && equalsIgnoreCaseAt(value, start, 'upgrade')) flags |= CONN_UPGRADE;
    i++;
  }
  return flags;
}

function equalsIgnoreCaseAt(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * `s` without leading and trailing OWS (SP and HTAB only, RFC 9110 §5.6.3). Not
 * `String.prototype.trim`, which also strips NBSP (0xa0), an obs-text byte that is part of a
 * value: `\xa0chunked` is not `chunked`.
 */
export function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === SP || s.charCodeAt(start) === HTAB)) start++;
  while (end > start && (s.charCodeAt(end - 1) === SP || s.charCodeAt(end - 1) === HTAB)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** True when bytes [start, end) equal `lower` (an ASCII lower-case literal) case-insensitively. */
export function bytesEqualIgnoreCase(b: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if (LOWER[b[start + i]!] !== lower.charCodeAt(i)) return false;
  return true;
}

/** True when `s` (any case) equals `lower` (an ASCII lower-case literal). */
export function equalsIgnoreCase(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * True when the comma-separated list `value` holds `token` (lower-case), compared
 * case-insensitively with surrounding whitespace ignored (e.g. `Connection: keep-alive, Upgrade`).
 */
export function hasToken(value: string, token: string): boolean {
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HTAB)) i++;
    const start = i;
    while (i < n && value.charCodeAt(i) !== 44 /* ',' */) i++;
    let end = i;
    while (end > start && (value.charCodeAt(end - 1) === SP || value.charCodeAt(end - 1) === HTAB)) end--;
    if (end - start === token.length && equalsIgnoreCase(value.slice(start, end), token)) return true;
    i++;
  }
  return false;
}
