/**
 * An incremental HTTP/1.x parser for requests and responses, written for RFC 9112's strict
 * reading of the wire.
 *
 * Worker threads; one parser per HTTP/1 connection, owned by its codec. Bytes go in through
 * `execute()` in whatever pieces the socket delivers; events come out as calls on one handler
 * object (no closure or promise per message): message begin, headers complete (a
 * `HeaderMapImpl` with `:method`/`:path`/`:authority`, plus `:scheme` when the target is in
 * absolute form, for a request; `:status` for a response), body data (slices of the input, not
 * copies), trailers, message complete.
 *
 * How it reads:
 * - The header section is read line by line from the input buffer, each byte classified once
 *   by table lookups while the line's end is searched for. A line cut by the end of a buffer is
 *   kept (copied) and completed with the next one; only that line is read again.
 * - Lines end in CRLF only: a bare CR or bare LF anywhere in the head, the chunk framing or the
 *   trailers is an error, as is obs-fold, whitespace before a colon, a field name that is not a
 *   token and a value byte that is a CTL other than HTAB (RFC 9112 §2.2, §5; RFC 9110 §5.5).
 * - Framing follows RFC 9112 §6 with Envoy's policy: Content-Length is 1*DIGIT and appears
 *   once; Transfer-Encoding must be exactly `chunked` (else 501); both together are a 400;
 *   chunk sizes are hex digits only, extensions follow the chunk-ext grammar; a request
 *   without either has no body; a response without either is read until close. HEAD, 1xx,
 *   204 and 304 responses have no body; after an Upgrade or CONNECT the rest is a raw pipe
 *   (so an upgrade request with Transfer-Encoding is a 400: its chunks could not be framed).
 *   Trailers naming a framing or routing field (Content-Length, Transfer-Encoding, Trailer,
 *   Host) are a 400 (RFC 9110 §6.5.1). OWS is SP and HTAB only, never NBSP.
 * - Limits: `maxHeadersKb` over the request target, field names and values (Envoy's measure)
 *   and `maxHeadersCount` fields, both 431; trailers have the same limits.
 * - The parser can be paused from a callback (the server pauses after each request so the
 *   next pipelined one waits for the response); `execute()` then returns what it consumed.
 *
 * Envoy counterpart: `source/common/http/http1/balsa_parser.cc` with the checks of
 * `codec_impl.cc` (`onHeadersCompleteImpl`, `handlePath`, `checkProtocolVersion`).
 */
import { Buffer } from 'node:buffer';
import { clearArray } from '../../common/array.ts';
import { HeaderMapImpl, lowerCaseKey } from '../header-map.ts';
import {
  AUTHORITY,
  bytesEqualIgnoreCase,
  COLON,
  CONN_CLOSE,
  CONN_KEEP_ALIVE,
  CONN_UPGRADE,
  CR,
  connectionTokens,
  equalsIgnoreCase,
  FIELD_VCHAR,
  HEX,
  HTAB,
  internHeaderName,
  LF,
  LOWER,
  latin1,
  QDTEXT,
  SP,
  TARGET,
  TOKEN,
  trimOws,
} from './chars.ts';
import { Http1CodecError, Http1Details, parseError } from './errors.ts';
import type { Http1Settings } from './settings.ts';

export type MessageType = 'request' | 'response';

/** What a handler returns from `onHeadersComplete` (responses; a request parser ignores it). */
export const HEADERS_CONTINUE = 0;
/** The response has no body whatever its headers say (the answer to a HEAD request). */
export const HEADERS_NO_BODY = 1;
/** Everything after the headers is a raw byte stream (101 to an Upgrade, 2xx to a CONNECT). */
export const HEADERS_RAW = 2;

export interface Http1ParserHandler {
  /** The first byte of a message (after any empty lines between messages). */
  onMessageBegin(): void;
  /** A 1xx other than 101 was read (responses); the final response follows. */
  onInformational(headers: HeaderMapImpl): void;
  /** The header section is complete and valid. */
  onHeadersComplete(headers: HeaderMapImpl): number;
  /** Body bytes (a slice of the input), or raw bytes after an upgrade. */
  onBody(data: Buffer): void;
  /** Trailers of a chunked message (only when trailers are enabled and some were sent). */
  onTrailers(trailers: HeaderMapImpl): void;
  onMessageComplete(): void;
}

const ST_IDLE = 0;
const ST_IDLE_CR = 1;
const ST_HEAD = 2;
const ST_BODY_LENGTH = 3;
const ST_CHUNKED = 4;
const ST_TRAILERS = 5;
const ST_BODY_EOF = 6;
const ST_RAW = 7;
const ST_ERROR = 8;

// Chunk framing sub-states.
const CH_SIZE_START = 0;
const CH_SIZE = 1;
const CH_SIZE_BWS = 2;
const CH_EXT_NAME_START = 3;
const CH_EXT_NAME = 4;
const CH_EXT_AFTER_NAME = 5;
const CH_EXT_VALUE_START = 6;
const CH_EXT_TOKEN = 7;
const CH_EXT_QUOTED = 8;
const CH_EXT_QUOTED_PAIR = 9;
const CH_EXT_AFTER_VALUE = 10;
const CH_SIZE_LF = 11;
const CH_DATA = 12;
const CH_DATA_CR = 13;
const CH_DATA_LF = 14;

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
const BODY_EOF = 3;
const BODY_RAW = 4;

/** Returned by the line readers: the buffer ended inside a line (it has been kept). */
const INCOMPLETE = -2;
/** Returned by the line readers: `this.error` is set. */
const FAILED = -1;

/** Longest chunk-size line (size and extensions) accepted. */
const MAX_CHUNK_LINE = 16 * 1024;
/** Longest method accepted (the longest registered one is 11 bytes). */
const MAX_METHOD = 32;
/** A chunk size above this (2^53 / 16) would overflow on the next digit. */
const CHUNK_SIZE_LIMIT = 2 ** 49;

/** The methods balsa accepts in Envoy (`isMethodValid`), interned. */
const REGISTERED_METHODS = new Map<string, string>(
  [
    'ACL',
    'BIND',
    'CHECKOUT',
    'CONNECT',
    'COPY',
    'DELETE',
    'GET',
    'HEAD',
    'LINK',
    'LOCK',
    'MERGE',
    'MKACTIVITY',
    'MKCALENDAR',
    'MKCOL',
    'MOVE',
    'MSEARCH',
    'NOTIFY',
    'OPTIONS',
    'PATCH',
    'POST',
    'PROPFIND',
    'PROPPATCH',
    'PURGE',
    'PUT',
    'REBIND',
    'REPORT',
    'SEARCH',
    'SOURCE',
    'SUBSCRIBE',
    'TRACE',
    'UNBIND',
    'UNLINK',
    'UNLOCK',
    'UNSUBSCRIBE',
  ].map((m) => [m, m]),
);

export class Http1Parser {
  readonly type: MessageType;
  private readonly handler: Http1ParserHandler;
  private readonly settings: Http1Settings;
  private readonly maxHeadersBytes: number;
  private readonly preserveCase: boolean;
  private readonly isRequest: boolean;

  private state = ST_IDLE;
  private paused = false;
  /** Why parsing failed; parsing stops for good once set. */
  error: Http1CodecError | null = null;
  /** The unfinished line of a head or trailer section, kept until the next buffer. */
  private partial: Buffer | null = null;
  /** Storage behind `partial`, grown by doubling so a line arriving in many small reads is copied in amortised linear time. */
  private partialStore: Buffer | null = null;
  /**
   * The header section being read as one Latin-1 string (bytes [textStart, textEnd) of the
   * current buffer), when its end is in that buffer: names and values are then cut from it
   * (`slice` stays in the JS heap) instead of each costing a trip through Buffer decoding.
   */
  private text = '';
  private textStart = 0;
  private textEnd = -1;

  // --- The message being read (valid from onHeadersComplete until the next message begins).
  /** Request method (interned for registered methods). */
  method = '';
  /** The request-target as received. */
  target = '';
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor = 1;
  statusCode = 0;
  /** `Connection: close` (or `Proxy-Connection: close`) was received. */
  connectionClose = false;
  /** A `keep-alive` token was received in Connection. */
  connectionKeepAlive = false;
  /** The request asked for a protocol upgrade (Connection: upgrade plus an Upgrade header). */
  upgrade = false;
  /** Content-Length, or -1 when there is none. */
  contentLength = -1;
  chunked = false;

  private headers: HeaderMapImpl | null = null;
  private startLineDone = false;
  private headBytes = 0;
  private headerCount = 0;
  private clCount = 0;
  private teCount = 0;
  private teIsChunked = false;
  /** The Transfer-Encoding values, kept only when they are not a single `chunked`. */
  private readonly teValues: string[] = [];
  private hostCount = 0;
  private hostValue = '';
  private hostRaw: string | undefined = undefined;
  private connectionUpgrade = false;
  private upgradeValue: string | null = null;
  private bodyKind = BODY_NONE;
  private remaining = 0;
  private chunkState = CH_SIZE_START;
  private chunkLineBytes = 0;
  private trailers: HeaderMapImpl | null = null;

  constructor(type: MessageType, handler: Http1ParserHandler, settings: Http1Settings) {
    this.type = type;
    this.isRequest = type === 'request';
    this.handler = handler;
    this.settings = settings;
    this.maxHeadersBytes = settings.maxHeadersKb * 1024;
    this.preserveCase = settings.headerKeyFormat === 'preserve_case';
  }

  /** True once the header section of the current message has been read. */
  headersDone(): boolean {
    return this.state !== ST_HEAD && this.state !== ST_IDLE && this.state !== ST_IDLE_CR;
  }

  /** True between messages (nothing of a next message read yet). */
  idle(): boolean {
    return this.state === ST_IDLE && this.partial === null;
  }

  /** True when the message in progress is a raw pipe (after Upgrade / CONNECT). */
  isRaw(): boolean {
    return this.state === ST_RAW;
  }

  /** True when the message in progress ends when the connection closes. */
  readsUntilClose(): boolean {
    return this.state === ST_BODY_EOF;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Stops parsing with `error` (a handler found the message unacceptable). */
  fail(error: Http1CodecError): void {
    if (this.error === null) this.error = error;
    this.state = ST_ERROR;
  }

  /**
   * Parses `data`. Returns the number of bytes consumed (all of them unless the parser was
   * paused), or -1 when the input is invalid (`error` tells why).
   */
  execute(data: Buffer): number {
    if (this.state === ST_ERROR) return -1;
    let b = data;
    let base = 0;
    if (this.partial !== null) {
      if (data.indexOf(LF) < 0) {
        // The kept line cannot end in this read: append without parsing it again.
        const trailers = this.state === ST_TRAILERS;
        return this.keepPartial(data, 0, data.length, trailers, true) < 0 ? -1 : data.length;
      }
      base = this.partial.length;
      b = Buffer.concat([this.partial, data]);
      this.partial = null;
      if (this.partialStore !== null && this.partialStore.length > 4096) this.partialStore = null;
    }
    const n = b.length;
    let p = 0;
    while (p < n && !this.paused) {
      switch (this.state) {
        case ST_IDLE:
        case ST_IDLE_CR:
          p = this.skipEmptyLines(b, p, n);
          break;
        case ST_HEAD:
        case ST_TRAILERS:
          p = this.readLines(b, p, n);
          break;
        case ST_BODY_LENGTH: {
          const take = Math.min(n - p, this.remaining);
          this.remaining -= take;
          this.handler.onBody(b.subarray(p, p + take));
          p += take;
          if (this.remaining === 0) this.completeMessage();
          break;
        }
        case ST_CHUNKED:
          p = this.readChunked(b, p, n);
          break;
        case ST_BODY_EOF:
        case ST_RAW:
          this.handler.onBody(p === 0 ? b : b.subarray(p));
          p = n;
          break;
        default:
          p = FAILED;
      }
      if (p < 0 || this.state === ST_ERROR) {
        this.state = ST_ERROR;
        if (this.error === null) this.error = parseError('HPE_INTERNAL');
        return -1;
      }
    }
    return p - base;
  }

  /**
   * The peer closed: ends a body read until close. Returns false when a message was cut short
   * (`error` then says so); true between messages or in a raw pipe.
   */
  finish(): boolean {
    if (this.state === ST_ERROR) return false;
    if (this.state === ST_BODY_EOF) {
      this.completeMessage();
      return true;
    }
    if (this.state === ST_RAW) return true;
    if ((this.state === ST_IDLE || this.state === ST_IDLE_CR) && this.partial === null) return true;
    this.fail(parseError('HPE_INVALID_EOF_STATE'));
    return false;
  }

  // --- Between messages.

  /** Skips the empty lines allowed before a message (RFC 9112 §2.2), then begins one. */
  private skipEmptyLines(b: Buffer, p: number, n: number): number {
    while (p < n) {
      const c = b[p]!;
      if (this.state === ST_IDLE_CR) {
        if (c !== LF) return this.failAt(parseError('HPE_STRICT'));
        this.state = ST_IDLE;
        p++;
      } else if (c === CR) {
        this.state = ST_IDLE_CR;
        p++;
      } else if (c === LF) {
        return this.failAt(parseError('HPE_INVALID_METHOD'));
      } else {
        this.beginMessage();
        return p;
      }
    }
    return p;
  }

  private beginMessage(): void {
    this.state = ST_HEAD;
    this.startLineDone = false;
    this.headBytes = 0;
    this.headerCount = 0;
    this.clCount = 0;
    this.teCount = 0;
    this.teIsChunked = false;
    clearArray(this.teValues);
    this.hostCount = 0;
    this.hostValue = '';
    this.hostRaw = undefined;
    this.connectionClose = false;
    this.connectionKeepAlive = false;
    this.connectionUpgrade = false;
    this.upgradeValue = null;
    this.upgrade = false;
    this.contentLength = -1;
    this.chunked = false;
    this.method = '';
    this.target = '';
    this.statusCode = 0;
    this.versionMinor = 1;
    this.trailers = null;
    this.headers = this.newHeaderMap();
    this.handler.onMessageBegin();
  }

  private newHeaderMap(): HeaderMapImpl {
    // Pseudo-header slots, filled once the head is complete.
    return HeaderMapImpl.withPseudoHeaders(
      this.isRequest ? REQUEST_PSEUDO : RESPONSE_PSEUDO,
      this.preserveCase,
    );
  }

  // --- Head and trailer sections.

  /** Reads complete lines of a head or trailer section; keeps a cut line for the next buffer. */
  private readLines(b: Buffer, p: number, n: number): number {
    const trailers = this.state === ST_TRAILERS;
    // An empty trailer section ("\r\n") needs no text; searching would run into what follows.
    const end = b[p] === CR ? -1 : b.indexOf(END_OF_HEAD, p);
    if (end >= 0 && end < n) {
      this.textStart = p;
      this.textEnd = end + 4;
      this.text = latin1(b, p, this.textEnd);
    } else {
      this.textEnd = -1;
    }
    const r = this.readLinesFrom(b, p, n, trailers);
    this.text = '';
    this.textEnd = -1;
    return r;
  }

  /** Bytes [start, end) as Latin-1: cut from the section's text when it covers them. */
  private cut(b: Buffer, start: number, end: number): string {
    if (end <= this.textEnd && start >= this.textStart) {
      return this.text.slice(start - this.textStart, end - this.textStart);
    }
    return latin1(b, start, end);
  }

  private readLinesFrom(b: Buffer, p: number, n: number, trailers: boolean): number {
    for (;;) {
      const lineStart = p;
      if (p >= n) return this.keepPartial(b, lineStart, n, trailers);
      if (!trailers && !this.startLineDone) {
        const r = this.isRequest ? this.readRequestLine(b, p, n) : this.readStatusLine(b, p, n);
        if (r === INCOMPLETE) return this.keepPartial(b, lineStart, n, trailers);
        if (r === FAILED) return FAILED;
        this.startLineDone = true;
        p = r;
        continue;
      }
      let c = b[p]!;
      if (c === CR) {
        if (p + 1 >= n) return this.keepPartial(b, lineStart, n, trailers);
        if (b[p + 1] !== LF) return this.failAt(parseError('HPE_LF_EXPECTED'));
        p += 2;
        if (trailers) this.endOfTrailers();
        else this.endOfHead();
        return this.state === ST_ERROR ? FAILED : p;
      }
      if (c === LF) return this.failAt(parseError('HPE_CR_EXPECTED'));
      if (c === SP || c === HTAB) {
        // obs-fold, or whitespace between the start line and the first field (RFC 9112 §2.2).
        return this.failAt(parseError('HPE_INVALID_HEADER_TOKEN: obs-fold'));
      }
      // field-name: a token, then ':' at once.
      const nameStart = p;
      let upper = false;
      let underscore = false;
      let hash = 0;
      while (p < n) {
        c = b[p]!;
        if (TOKEN[c] === 0) break;
        if (c <= 90 && c >= 65) upper = true;
        else if (c === 95) underscore = true;
        hash = (Math.imul(hash, 31) + LOWER[c]!) | 0;
        p++;
      }
      if (p >= n) return this.keepPartial(b, lineStart, n, trailers);
      if (c !== COLON) {
        if (c === SP || c === HTAB)
          return this.failAt(parseError('HPE_INVALID_HEADER_TOKEN: whitespace before colon'));
        return this.failAt(parseError('HPE_INVALID_HEADER_TOKEN'));
      }
      const nameEnd = p;
      if (nameEnd === nameStart) return this.failAt(parseError('HPE_INVALID_HEADER_TOKEN: empty name'));
      p++;
      // OWS, value, OWS.
      while (p < n && (b[p] === SP || b[p] === HTAB)) p++;
      const valueStart = p;
      let valueEnd = p;
      while (p < n) {
        c = b[p]!;
        if (FIELD_VCHAR[c] === 1) valueEnd = ++p;
        else if (c === SP || c === HTAB) p++;
        else break;
      }
      if (p >= n) return this.keepPartial(b, lineStart, n, trailers);
      if (c !== CR) {
        if (c === LF) return this.failAt(parseError('HPE_CR_EXPECTED'));
        return this.failAt(
          new Http1CodecError(400, Http1Details.InvalidCharacters, 'header value contains invalid chars'),
        );
      }
      if (p + 1 >= n) return this.keepPartial(b, lineStart, n, trailers);
      if (b[p + 1] !== LF) return this.failAt(parseError('HPE_LF_EXPECTED'));
      p += 2;
      if (!this.addField(b, nameStart, nameEnd, hash, valueStart, valueEnd, upper, underscore, trailers)) {
        return FAILED;
      }
    }
  }

  /** Keeps the cut line [start, n) for the next buffer, within the header size limit. */
  private keepPartial(b: Buffer, start: number, n: number, trailers: boolean, append = false): number {
    const kept = append && this.partial !== null ? this.partial.length : 0;
    const length = kept + (n - start);
    // A line in progress counts toward the limit too (less the ": " and CRLF Envoy does not count).
    if (this.headBytes + length > this.maxHeadersBytes + 4) return this.failAt(this.tooLarge(trailers));
    let store = this.partialStore;
    if (store === null || store.length < length) {
      const grown = Buffer.allocUnsafe(Math.max(256, length, (store?.length ?? 0) * 2));
      if (kept > 0) this.partial!.copy(grown, 0, 0, kept);
      store = grown;
      this.partialStore = grown;
    }
    b.copy(store, kept, start, n);
    this.partial = store.subarray(0, length);
    return n;
  }

  private tooLarge(trailers: boolean): Http1CodecError {
    return new Http1CodecError(
      431,
      Http1Details.HeadersTooLarge,
      `${trailers ? 'trailers' : 'headers'} size exceeds limit`,
    );
  }

  /** Records one field line; false when it makes the message invalid. */
  private addField(
    b: Buffer,
    nameStart: number,
    nameEnd: number,
    nameHash: number,
    valueStart: number,
    valueEnd: number,
    upper: boolean,
    underscore: boolean,
    trailers: boolean,
  ): boolean {
    if (underscore && this.isRequest && this.settings.headersWithUnderscoresAction !== 'ALLOW') {
      if (this.settings.headersWithUnderscoresAction === 'DROP_HEADER') return true;
      this.fail(new Http1CodecError(400, Http1Details.InvalidUnderscore, 'header name contains underscores'));
      return false;
    }
    if (++this.headerCount > this.settings.maxHeadersCount) {
      this.fail(
        new Http1CodecError(
          431,
          Http1Details.TooManyHeaders,
          `${trailers ? 'trailers' : 'headers'} count exceeds limit`,
        ),
      );
      return false;
    }
    this.headBytes += nameEnd - nameStart + (valueEnd - valueStart);
    if (this.headBytes > this.maxHeadersBytes) {
      this.fail(this.tooLarge(trailers));
      return false;
    }
    let key = internHeaderName(b, nameStart, nameEnd, nameHash);
    if (key === undefined) {
      key = this.cut(b, nameStart, nameEnd);
      if (upper) key = lowerCaseKey(key);
    }
    const raw = upper && this.preserveCase ? this.cut(b, nameStart, nameEnd) : undefined;
    const value = valueEnd > valueStart ? this.cut(b, valueStart, valueEnd) : '';
    if (trailers) {
      if (FORBIDDEN_TRAILERS.has(key)) {
        // RFC 9110 §6.5.1: framing and routing fields cannot be trailers; an upstream that
        // merged one into the header section would frame or route differently. Rejected
        // whether or not trailers are forwarded: such a trailer is a smuggling attempt.
        this.fail(parseError(`HPE_INVALID_HEADER_TOKEN: ${key} not allowed in trailers`));
        return false;
      }
      if (this.trailers === null) this.trailers = new HeaderMapImpl(this.preserveCase);
      this.trailers.addLowerCase(key, value, raw);
      return true;
    }
    switch (key) {
      case 'content-length': {
        if (++this.clCount > 1) {
          this.fail(parseError('HPE_UNEXPECTED_CONTENT_LENGTH: duplicate Content-Length'));
          return false;
        }
        const length = parseContentLength(b, valueStart, valueEnd);
        if (length < 0) {
          this.fail(parseError('HPE_INVALID_CONTENT_LENGTH'));
          return false;
        }
        this.contentLength = length;
        break;
      }
      case 'transfer-encoding':
        this.teCount++;
        this.teIsChunked = this.teCount === 1 && bytesEqualIgnoreCase(b, valueStart, valueEnd, 'chunked');
        this.teValues.push(value);
        break;
      case 'host':
        if (this.isRequest) {
          if (++this.hostCount > 1) {
            this.fail(new Http1CodecError(400, Http1Details.InvalidAuthority, 'multiple Host headers'));
            return false;
          }
          this.hostValue = value;
          this.hostRaw = raw;
          return true; // becomes :authority
        }
        break;
      case 'connection': {
        const flags = connectionTokens(value);
        if ((flags & CONN_CLOSE) !== 0) this.connectionClose = true;
        if ((flags & CONN_KEEP_ALIVE) !== 0) this.connectionKeepAlive = true;
        if ((flags & CONN_UPGRADE) !== 0) this.connectionUpgrade = true;
        break;
      }
      case 'proxy-connection':
        if (equalsIgnoreCase(value, 'close')) this.connectionClose = true;
        break;
      case 'upgrade':
        this.upgradeValue = value;
        break;
    }
    this.headers!.addLowerCase(key, value, raw);
    return true;
  }

  /** method SP request-target SP HTTP-version CRLF, single spaces, nothing else. */
  private readRequestLine(b: Buffer, p: number, n: number): number {
    const methodStart = p;
    while (p < n && TOKEN[b[p]!] === 1) p++;
    if (p - methodStart > MAX_METHOD) return this.failAt(parseError('HPE_INVALID_METHOD'));
    if (p >= n) return INCOMPLETE;
    if (b[p] !== SP || p === methodStart) return this.failAt(parseError('HPE_INVALID_METHOD'));
    const method = this.methodName(b, methodStart, p);
    if (method === undefined) return this.failAt(parseError('HPE_INVALID_METHOD'));
    p++;
    const targetStart = p;
    while (p < n && TARGET[b[p]!] === 1) p++;
    if (p - targetStart + this.headBytes > this.maxHeadersBytes) return this.failAt(this.tooLarge(false));
    if (p >= n) return INCOMPLETE;
    const c = b[p]!;
    if (c !== SP || p === targetStart) {
      // CR/LF right after the target is an HTTP/0.9 request line.
      if (c === CR || c === LF) return this.failAt(parseError('HPE_INVALID_VERSION'));
      return this.failAt(parseError('HPE_INVALID_URL'));
    }
    this.method = method;
    this.target = this.cut(b, targetStart, p);
    this.headBytes = p - targetStart;
    return this.readVersion(b, p + 1, n, true);
  }

  /** Registered methods are interned; others are accepted only with allow_custom_methods. */
  private methodName(b: Buffer, start: number, end: number): string | undefined {
    const len = end - start;
    if (len === 3 && b[start] === 71 && b[start + 1] === 69 && b[start + 2] === 84) return 'GET';
    if (len === 4 && b[start] === 80 && b[start + 1] === 79 && b[start + 2] === 83 && b[start + 3] === 84) {
      return 'POST';
    }
    const name = latin1(b, start, end);
    const known = REGISTERED_METHODS.get(name);
    if (known !== undefined) return known;
    return this.settings.allowCustomMethods ? name : undefined;
  }

  /** "HTTP/1.0" or "HTTP/1.1", then CRLF (request line) or SP (status line). */
  private readVersion(b: Buffer, p: number, n: number, request: boolean): number {
    // H T T P / 1 . digit
    for (let i = 0; i < 7; i++, p++) {
      if (p >= n) return INCOMPLETE;
      if (b[p] !== VERSION_PREFIX[i]) return this.failAt(parseError('HPE_INVALID_VERSION'));
    }
    if (p >= n) return INCOMPLETE;
    const minor = b[p]! - 48;
    if (minor !== 0 && minor !== 1) return this.failAt(parseError('HPE_INVALID_VERSION'));
    this.versionMinor = minor;
    p++;
    if (p >= n) return INCOMPLETE;
    if (!request) {
      if (b[p] !== SP) return this.failAt(parseError('HPE_INVALID_VERSION'));
      return p + 1;
    }
    if (b[p] !== CR) {
      return this.failAt(parseError(b[p] === LF ? 'HPE_CR_EXPECTED' : 'HPE_INVALID_VERSION'));
    }
    if (p + 1 >= n) return INCOMPLETE;
    if (b[p + 1] !== LF) return this.failAt(parseError('HPE_LF_EXPECTED'));
    return p + 2;
  }

  /** HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (a missing reason is tolerated). */
  private readStatusLine(b: Buffer, p: number, n: number): number {
    p = this.readVersion(b, p, n, false);
    if (p < 0) return p;
    if (n - p < 3) {
      for (; p < n; p++) if (b[p]! < 48 || b[p]! > 57) return this.failAt(parseError('HPE_INVALID_STATUS'));
      return INCOMPLETE;
    }
    const d0 = b[p]! - 48;
    const d1 = b[p + 1]! - 48;
    const d2 = b[p + 2]! - 48;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      return this.failAt(parseError('HPE_INVALID_STATUS'));
    }
    this.statusCode = d0 * 100 + d1 * 10 + d2;
    p += 3;
    if (p >= n) return INCOMPLETE;
    let reasonStart = p;
    if (b[p] === SP) {
      p++;
      reasonStart = p;
      while (p < n && (FIELD_VCHAR[b[p]!] === 1 || b[p] === SP || b[p] === HTAB)) p++;
      if (p >= n) return INCOMPLETE;
    }
    if (b[p] !== CR) return this.failAt(parseError(b[p] === LF ? 'HPE_CR_EXPECTED' : 'HPE_INVALID_STATUS'));
    if (p + 1 >= n) return INCOMPLETE;
    if (b[p + 1] !== LF) return this.failAt(parseError('HPE_LF_EXPECTED'));
    if (this.settings.forwardReasonPhrase && p > reasonStart) {
      this.headers!.reasonPhrase = this.cut(b, reasonStart, p);
    }
    return p + 2;
  }

  // --- End of the header section.

  private endOfHead(): void {
    if (this.isRequest) this.endOfRequestHead();
    else this.endOfResponseHead();
  }

  private endOfRequestHead(): void {
    const headers = this.headers!;
    const isConnect = this.method === 'CONNECT';
    if (this.versionMinor === 0 && !this.settings.acceptHttp10) {
      this.fail(new Http1CodecError(426, Http1Details.LowVersion, 'Upgrade required for HTTP/1.0'));
      return;
    }
    if (!this.checkFraming(headers)) return;
    if (isConnect && this.clCount > 0) {
      if (this.contentLength !== 0) {
        this.fail(new Http1CodecError(400, Http1Details.BodyDisallowed, 'unsupported content length'));
        return;
      }
      headers.remove('content-length');
      this.contentLength = -1;
    }
    // The request-target gives :path, and :authority / :scheme in absolute and authority form.
    let path: string | null = null;
    let authority: string | null = null;
    // Only an absolute-form target names a scheme; for the others the connection manager sets it.
    let scheme: string | null = null;
    const target = this.target;
    const first = target.charCodeAt(0);
    if (isConnect) {
      if (!validAuthority(target, true)) {
        this.fail(new Http1CodecError(400, Http1Details.InvalidUrl, 'invalid url in request line'));
        return;
      }
      authority = target;
    } else if (first === 47 /* '/' */) {
      path = target;
    } else if (first === 42 /* '*' */ && target.length === 1) {
      if (this.method !== 'OPTIONS') {
        this.fail(new Http1CodecError(400, Http1Details.InvalidUrl, 'invalid url in request line'));
        return;
      }
      path = target;
    } else {
      const url = this.settings.allowAbsoluteUrl ? parseAbsoluteUrl(target) : null;
      if (url === null) {
        this.fail(new Http1CodecError(400, Http1Details.InvalidUrl, 'invalid url in request line'));
        return;
      }
      if (url.scheme !== 'http' && url.scheme !== 'https') {
        this.fail(new Http1CodecError(400, Http1Details.InvalidScheme, 'invalid scheme'));
        return;
      }
      if (url.scheme === 'https' && this.settings.validateScheme && this.settings.scheme !== 'https') {
        // An edge proxy does not take https:// requests over an unencrypted connection (Envoy).
        this.fail(new Http1CodecError(403, Http1Details.HttpsInPlaintext, 'https in the clear'));
        return;
      }
      // RFC 9112 §3.2.2: the target's authority replaces any received Host.
      scheme = url.scheme;
      authority = url.authority;
      path = url.path;
    }
    if (this.hostCount === 0 && this.versionMinor === 1 && authority !== null) {
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 even in absolute-form.
      this.fail(new Http1CodecError(400, Http1Details.MissingHost, 'missing Host header'));
      return;
    }
    if (authority === null) {
      if (this.hostCount === 0) {
        if (this.versionMinor === 0 && this.settings.defaultHostForHttp10 !== '') {
          authority = this.settings.defaultHostForHttp10;
        } else {
          this.fail(new Http1CodecError(400, Http1Details.MissingHost, 'missing Host header'));
          return;
        }
      } else {
        if (!validAuthority(this.hostValue, false)) {
          this.fail(new Http1CodecError(400, Http1Details.InvalidAuthority, 'invalid Host header'));
          return;
        }
        authority = this.hostValue;
      }
    }
    // Upgrade: Connection must name it and Upgrade must be present; h2c is not supported and
    // its upgrade headers are dropped (the request goes on as plain HTTP/1.1), as in Envoy.
    this.upgrade = this.connectionUpgrade && this.upgradeValue !== null;
    if (this.upgrade && equalsIgnoreCase(trimOws(this.upgradeValue!), 'h2c')) {
      removeH2cUpgrade(headers);
      this.upgrade = false;
    }
    if (this.upgrade && this.chunked) {
      // After the head an upgrade is a raw pipe: a chunked body cannot be framed for the
      // upstream, which would read it as requests if it refused the upgrade.
      this.fail(
        new Http1CodecError(
          400,
          Http1Details.InvalidTransferEncoding,
          'transfer encoding not allowed on an upgrade request',
        ),
      );
      return;
    }
    headers.setValueAt(0, this.method);
    headers.setValueAt(2, authority);
    if (this.hostRaw !== undefined) headers.setRawKeyAt(2, this.hostRaw);
    if (path === null) {
      // CONNECT: no :path and no :scheme.
      headers.removeAt(3);
      headers.removeAt(1);
    } else {
      headers.setValueAt(1, path);
      if (scheme === null) headers.removeAt(3);
      else headers.setValueAt(3, scheme);
    }
    if (isConnect || this.upgrade) this.bodyKind = BODY_RAW;
    else if (this.chunked) this.bodyKind = BODY_CHUNKED;
    else if (this.contentLength > 0) this.bodyKind = BODY_LENGTH;
    else this.bodyKind = BODY_NONE;
    this.handler.onHeadersComplete(headers);
    this.startBody();
  }

  /**
   * Transfer-Encoding and Content-Length checks shared by requests and responses: both present
   * is a 400 (Envoy's order: before anything else); a coding list whose final coding is not
   * `chunked`, or that applies `chunked` twice, is a 400 (RFC 9112 §6.3, §6.1); a known-good
   * framing with another coding before `chunked` is a 501 (RFC 9112 §6.1: codings Legate does
   * not implement), as is Transfer-Encoding on CONNECT (Envoy).
   */
  private checkFraming(headers: HeaderMapImpl): boolean {
    if (this.teCount === 0) return true;
    if (this.clCount > 0) {
      if (!(this.teIsChunked && this.settings.allowChunkedLength)) {
        this.fail(
          new Http1CodecError(
            400,
            Http1Details.ChunkedContentLength,
            "both 'Content-Length' and 'Transfer-Encoding' are set.",
          ),
        );
        return false;
      }
      headers.remove('content-length');
      this.contentLength = -1;
    }
    if (this.versionMinor === 0) {
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
      this.fail(
        new Http1CodecError(400, Http1Details.InvalidTransferEncoding, 'transfer encoding in HTTP/1.0'),
      );
      return false;
    }
    const framing = this.teIsChunked ? TE_CHUNKED : classifyTransferEncoding(this.teValues);
    if (framing === TE_MALFORMED) {
      this.fail(
        new Http1CodecError(
          400,
          Http1Details.InvalidTransferEncoding,
          'chunked is not the final transfer coding',
        ),
      );
      return false;
    }
    if (framing === TE_UNSUPPORTED || this.method === 'CONNECT') {
      this.fail(
        new Http1CodecError(501, Http1Details.InvalidTransferEncoding, 'unsupported transfer encoding'),
      );
      return false;
    }
    this.chunked = true;
    return true;
  }

  private endOfResponseHead(): void {
    const headers = this.headers!;
    const status = this.statusCode;
    if (status < 200 && status !== 101) {
      // Interim response: 100 goes up, other 1xx are dropped; the final response follows.
      if (this.teCount > 0 || (this.clCount > 0 && this.contentLength !== 0)) {
        this.fail(
          new Http1CodecError(
            400,
            this.teCount > 0 ? Http1Details.TransferEncodingNotAllowed : Http1Details.ContentLengthNotAllowed,
            'framing headers not allowed in 1xx',
          ),
        );
        return;
      }
      headers.setValueAt(0, String(status));
      if (status === 100) this.handler.onInformational(headers);
      if (this.state === ST_ERROR) return;
      this.state = ST_HEAD;
      this.startLineDone = false;
      this.headBytes = 0;
      this.headerCount = 0;
      this.clCount = 0;
      this.contentLength = -1;
      this.connectionClose = false;
      this.connectionKeepAlive = false;
      this.headers = this.newHeaderMap();
      return;
    }
    if (status === 204 || status === 101) {
      if (this.teCount > 0) {
        this.fail(
          new Http1CodecError(400, Http1Details.TransferEncodingNotAllowed, 'transfer encoding not allowed'),
        );
        return;
      }
      if (this.clCount > 0) {
        if (this.contentLength !== 0) {
          this.fail(
            new Http1CodecError(400, Http1Details.ContentLengthNotAllowed, 'content length not allowed'),
          );
          return;
        }
        headers.remove('content-length');
        this.contentLength = -1;
      }
    }
    if (!this.checkFraming(headers)) return;
    headers.setValueAt(0, statusString(status));
    const mode = this.handler.onHeadersComplete(headers);
    if (this.state === ST_ERROR) return;
    if (mode === HEADERS_RAW) this.bodyKind = BODY_RAW;
    else if (mode === HEADERS_NO_BODY || status === 204 || status === 304 || status === 101) {
      this.bodyKind = BODY_NONE;
    } else if (this.chunked) this.bodyKind = BODY_CHUNKED;
    else if (this.contentLength >= 0) this.bodyKind = this.contentLength > 0 ? BODY_LENGTH : BODY_NONE;
    else this.bodyKind = BODY_EOF;
    this.startBody();
  }

  private startBody(): void {
    if (this.state === ST_ERROR) return;
    this.headers = null;
    switch (this.bodyKind) {
      case BODY_NONE:
        this.completeMessage();
        return;
      case BODY_LENGTH:
        this.remaining = this.contentLength;
        this.state = ST_BODY_LENGTH;
        return;
      case BODY_CHUNKED:
        this.chunkState = CH_SIZE_START;
        this.chunkLineBytes = 0;
        this.state = ST_CHUNKED;
        return;
      case BODY_EOF:
        this.state = ST_BODY_EOF;
        return;
      default:
        this.state = ST_RAW;
    }
  }

  private completeMessage(): void {
    this.state = ST_IDLE;
    this.handler.onMessageComplete();
  }

  private endOfTrailers(): void {
    const trailers = this.trailers;
    this.trailers = null;
    if (trailers !== null && this.settings.enableTrailers) this.handler.onTrailers(trailers);
    if (this.state === ST_ERROR) return;
    this.completeMessage();
  }

  // --- Chunked framing (RFC 9112 §7.1), one byte at a time outside chunk data.

  private readChunked(b: Buffer, p: number, n: number): number {
    let s = this.chunkState;
    while (p < n) {
      if (s === CH_DATA) {
        const take = Math.min(n - p, this.remaining);
        this.remaining -= take;
        this.handler.onBody(b.subarray(p, p + take));
        p += take;
        if (this.remaining === 0) s = CH_DATA_CR;
        continue;
      }
      const c = b[p++]!;
      if (s < CH_SIZE_LF && ++this.chunkLineBytes > MAX_CHUNK_LINE) {
        return this.failAt(parseError('HPE_CHUNK_EXTENSIONS_OVERFLOW'));
      }
      switch (s) {
        case CH_SIZE_START: {
          const d = HEX[c]!;
          if (d < 0) return this.failAt(parseError('HPE_INVALID_CHUNK_SIZE'));
          this.remaining = d;
          s = CH_SIZE;
          break;
        }
        case CH_SIZE: {
          const d = HEX[c]!;
          if (d >= 0) {
            if (this.remaining >= CHUNK_SIZE_LIMIT)
              return this.failAt(parseError('HPE_INVALID_CHUNK_SIZE: overflow'));
            this.remaining = this.remaining * 16 + d;
          } else if (c === CR) s = CH_SIZE_LF;
          else if (c === 59 /* ';' */) s = CH_EXT_NAME_START;
          else if (c === SP || c === HTAB) s = CH_SIZE_BWS;
          else return this.failAt(parseError('HPE_INVALID_CHUNK_SIZE'));
          break;
        }
        case CH_SIZE_BWS:
          // BWS is allowed only before a chunk extension.
          if (c === 59) s = CH_EXT_NAME_START;
          else if (c !== SP && c !== HTAB) return this.failAt(parseError('HPE_INVALID_CHUNK_SIZE'));
          break;
        case CH_EXT_NAME_START:
          if (TOKEN[c] === 1) s = CH_EXT_NAME;
          else if (c !== SP && c !== HTAB)
            return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          break;
        case CH_EXT_NAME:
          if (TOKEN[c] === 1) break;
          if (c === CR) s = CH_SIZE_LF;
          else if (c === 59) s = CH_EXT_NAME_START;
          else if (c === 61 /* '=' */) s = CH_EXT_VALUE_START;
          else if (c === SP || c === HTAB) s = CH_EXT_AFTER_NAME;
          else return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          break;
        case CH_EXT_AFTER_NAME:
          if (c === 59) s = CH_EXT_NAME_START;
          else if (c === 61) s = CH_EXT_VALUE_START;
          else if (c !== SP && c !== HTAB)
            return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          break;
        case CH_EXT_VALUE_START:
          if (TOKEN[c] === 1) s = CH_EXT_TOKEN;
          else if (c === 34 /* '"' */) s = CH_EXT_QUOTED;
          else if (c !== SP && c !== HTAB)
            return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          break;
        case CH_EXT_TOKEN:
          if (TOKEN[c] === 1) break;
          if (c === CR) s = CH_SIZE_LF;
          else if (c === 59) s = CH_EXT_NAME_START;
          else if (c === SP || c === HTAB) s = CH_EXT_AFTER_VALUE;
          else return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          break;
        case CH_EXT_QUOTED:
          if (c === 34) s = CH_EXT_AFTER_VALUE;
          else if (c === 92 /* '\' */) s = CH_EXT_QUOTED_PAIR;
          else if (QDTEXT[c] !== 1) return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          break;
        case CH_EXT_QUOTED_PAIR:
          if (c !== HTAB && c !== SP && FIELD_VCHAR[c] !== 1) {
            return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          }
          s = CH_EXT_QUOTED;
          break;
        case CH_EXT_AFTER_VALUE:
          if (c === CR) s = CH_SIZE_LF;
          else if (c === 59) s = CH_EXT_NAME_START;
          else if (c !== SP && c !== HTAB)
            return this.failAt(parseError('HPE_STRICT: invalid chunk extension'));
          break;
        case CH_SIZE_LF:
          if (c !== LF) return this.failAt(parseError('HPE_LF_EXPECTED'));
          this.chunkLineBytes = 0;
          if (this.remaining === 0) {
            // Last chunk: the trailer section follows.
            this.chunkState = CH_SIZE_START;
            this.state = ST_TRAILERS;
            this.headBytes = 0;
            this.headerCount = 0;
            return p;
          }
          s = CH_DATA;
          break;
        case CH_DATA_CR:
          if (c !== CR) return this.failAt(parseError('HPE_CR_EXPECTED: chunk data'));
          s = CH_DATA_LF;
          break;
        case CH_DATA_LF:
          if (c !== LF) return this.failAt(parseError('HPE_LF_EXPECTED'));
          s = CH_SIZE_START;
          break;
      }
    }
    this.chunkState = s;
    return p;
  }

  private failAt(error: Http1CodecError): number {
    this.fail(error);
    return FAILED;
  }
}

/** Fields that may not be forwarded as trailers: framing (RFC 9112 §6) and routing (Host). */
const FORBIDDEN_TRAILERS = new Set(['content-length', 'transfer-encoding', 'trailer', 'host']);

const REQUEST_PSEUDO = [':method', ':path', ':authority', ':scheme'];
const RESPONSE_PSEUDO = [':status'];
const VERSION_PREFIX = [72, 84, 84, 80, 47, 49, 46]; // "HTTP/1."
const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');

const STATUS_STRINGS: string[] = [];
function statusString(status: number): string {
  let text = STATUS_STRINGS[status];
  if (text === undefined) {
    text = String(status);
    STATUS_STRINGS[status] = text;
  }
  return text;
}

const TE_CHUNKED = 0;
const TE_MALFORMED = 1;
const TE_UNSUPPORTED = 2;

/**
 * The framing named by Transfer-Encoding values (all lines, as one comma-separated list, RFC
 * 9110 §5.3): a lone `chunked`; malformed (no coding, a line with an empty value, `chunked` not
 * final or repeated, anything that is not a plain token); or unsupported (another coding before `chunked`, or an empty list element
 * such as `,chunked`: RFC 9110 §5.6.1 would let a recipient ignore it, but Envoy compares the
 * whole value with `chunked` and answers 501, and a list element some parser ignores and
 * another does not is a framing ambiguity). OWS is SP and HTAB only.
 */
function classifyTransferEncoding(values: readonly string[]): number {
  const codings: string[] = [];
  let emptyElement = false;
  for (const value of values) {
    // An empty line beside others: one parser may see no coding where another sees chunked.
    if (trimOws(value) === '') return TE_MALFORMED;
    for (const element of value.split(',')) {
      const coding = trimOws(element);
      if (coding === '') emptyElement = true;
      else codings.push(coding);
    }
  }
  const last = codings.length - 1;
  if (last < 0 || !equalsIgnoreCase(codings[last]!, 'chunked')) return TE_MALFORMED;
  for (let i = 0; i < last; i++) if (equalsIgnoreCase(codings[i]!, 'chunked')) return TE_MALFORMED;
  return last === 0 && !emptyElement ? TE_CHUNKED : TE_UNSUPPORTED;
}

/** 1*DIGIT as a number, or -1 (empty, any other byte, or beyond 2^53). */
function parseContentLength(b: Buffer, start: number, end: number): number {
  if (end <= start) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
    if (v > Number.MAX_SAFE_INTEGER) return -1;
  }
  return v;
}

/**
 * A Host value or an authority-form target: host [":" port] with RFC 3986 characters; an
 * IP-literal in brackets. `requirePort` for CONNECT (authority-form is host:port).
 */
export function validAuthority(value: string, requirePort: boolean): boolean {
  const n = value.length;
  if (n === 0) return !requirePort;
  let hostEnd = n;
  if (value.charCodeAt(0) === 91 /* '[' */) {
    const close = value.indexOf(']');
    if (close < 2) return false;
    hostEnd = close + 1;
    if (hostEnd < n && value.charCodeAt(hostEnd) !== 58) return false;
  } else {
    const colon = value.indexOf(':');
    if (colon >= 0) hostEnd = colon;
    if (hostEnd === 0) return false;
  }
  const bracketed = value.charCodeAt(0) === 91;
  for (let i = 0; i < hostEnd; i++) {
    const c = value.charCodeAt(i);
    if (c > 127 || AUTHORITY[c] !== 1) return false;
    // ':' '[' ']' only inside an IP-literal.
    if (!bracketed && (c === 58 || c === 91 || c === 93)) return false;
  }
  if (hostEnd === n) return !requirePort;
  // ":" port, port = *DIGIT (RFC 3986; an empty port is allowed there, but not for CONNECT).
  if (hostEnd + 1 === n) return !requirePort;
  if (n - hostEnd - 1 > 5) return false;
  for (let i = hostEnd + 1; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

interface AbsoluteUrl {
  scheme: string;
  authority: string;
  path: string;
}

/** scheme "://" authority [path-abempty] ["?" query]; null when malformed or with userinfo. */
export function parseAbsoluteUrl(target: string): AbsoluteUrl | null {
  const n = target.length;
  let i = 0;
  const c0 = target.charCodeAt(0) | 0x20;
  if (c0 < 97 || c0 > 122) return null;
  i = 1;
  while (i < n) {
    const c = target.charCodeAt(i);
    const lc = c | 0x20;
    if ((lc >= 97 && lc <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) i++;
    else break;
  }
  if (!target.startsWith('://', i)) return null;
  const scheme = lowerCaseKey(target.slice(0, i));
  const authorityStart = i + 3;
  let end = authorityStart;
  while (end < n) {
    const c = target.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35) break; // '/', '?', '#'
    end++;
  }
  const authority = target.slice(authorityStart, end);
  if (authority.length === 0 || !validAuthority(authority, false)) return null;
  let path = target.slice(end);
  if (path.length === 0) path = '/';
  else if (path.charCodeAt(0) !== 47) path = `/${path}`;
  return { scheme, authority, path };
}

/** Drops an h2c upgrade: the Upgrade and HTTP2-Settings headers and their Connection tokens. */
function removeH2cUpgrade(headers: HeaderMapImpl): void {
  headers.remove('upgrade');
  headers.remove('http2-settings');
  const i = headers.indexOf('connection');
  if (i < 0) return;
  const kept = headers
    .valueAt(i)
    .split(',')
    .map(trimOws)
    .filter((t) => t !== '' && !equalsIgnoreCase(t, 'upgrade') && !equalsIgnoreCase(t, 'http2-settings'));
  if (kept.length === 0) headers.removeAt(i);
  else headers.setValueAt(i, kept.join(','));
}
