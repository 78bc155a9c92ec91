/**
 * The HTTP/1.1 codec: `ServerConnectionImpl` turns a downstream connection's bytes into
 * request streams for the connection manager and writes its responses; `ClientConnectionImpl`
 * writes the router's upstream requests and turns the replies into response events.
 *
 * Worker threads; a codec lives on its connection's worker and owns its parser and the one
 * stream in progress. No closure or promise per request: streams are small objects, events are
 * method calls, the two per-connection callbacks (flush held output, resume pipelined input) are
 * made once.
 *
 * Decisions (Envoy's where Envoy has one):
 * - Events of one read are delivered after the whole read has been parsed, so a request found
 *   malformed anywhere in what was read (a bad chunk after good headers) reaches nobody: the
 *   client gets the 400 and nothing is forwarded.
 * - Pipelining: after a complete request the parser pauses and reading is disabled while input
 *   is waiting; the next request starts (newStream) only once the response is complete, so
 *   responses keep request order.
 * - The peer's half-close (end of input) ends the connection as in Envoy, which runs HTTP/1 without
 *   half-close: a stream in progress is reset (`downstream_remote_disconnect`), except in a tunnel
 *   (after an upgrade or CONNECT), where it is the end of the request stream.
 * - Connection persistence: HTTP/1.1 is kept alive unless `connection: close`; HTTP/1.0 only with
 *   `connection: keep-alive` and a length-delimited response (then `connection: keep-alive` is
 *   sent back); a response begun before its request was complete, a close-delimited body, a
 *   codec error, or `connection: close` in either message closes after the response (and the
 *   codec adds `connection: close` to the response when it decides so).
 * - Framing on encode: a given content-length is kept; otherwise chunked when a body may follow
 *   on HTTP/1.1 (not for 1xx/204/304, HEAD, upgrades, CONNECT); `content-length: 0` for an
 *   empty body; HTTP/1.0 peers get close-delimited bodies. Transfer-Encoding in a map being
 *   encoded is the codec's to decide and is never copied.
 * - Output of one encode call goes out in one write when small: a response's head is held
 *   until its first body bytes (or the end of the loop pass) and written with them.
 *
 * Envoy counterpart: `source/common/http/http1/codec_impl.cc` (`ServerConnectionImpl`,
 * `ClientConnectionImpl`, `StreamEncoderImpl`), the HTTP/1 keep-alive rules of
 * `conn_manager_impl.cc`, and `header_formatter.cc`.
 */
import { Buffer } from 'node:buffer';
import { clearArray, removeIndex } from '../../common/array.ts';
import { MutableFields } from '../../common/mutable-fields.ts';
import type { SchedulableCallback } from '../../event/types.ts';
import type { Connection, ConnectionCallbacks, ConnectionEvent } from '../../network/types.ts';
import { HeaderMapImpl } from '../header-map.ts';
import type {
  ClientConnection,
  ClientConnectionCallbacks,
  CodecError,
  HeaderMap,
  HttpProtocol,
  RequestDecoder,
  RequestEncoder,
  ResponseDecoder,
  ResponseEncoder,
  ServerConnection,
  ServerConnectionCallbacks,
  Stream,
  StreamCallbacks,
  StreamResetReason,
} from '../types.ts';
import { hasToken } from './chars.ts';
import { Http1CodecError } from './errors.ts';
import {
  HEADERS_CONTINUE,
  HEADERS_NO_BODY,
  HEADERS_RAW,
  Http1Parser,
  type Http1ParserHandler,
} from './parser.ts';
import { DEFAULT_HTTP1_SETTINGS, type Http1Settings, MAX_RESPONSE_HEADERS_KB } from './settings.ts';
import { statusText } from './status-text.ts';

const EMPTY = Buffer.alloc(0);
const CRLF = '\r\n';
/** Body bytes up to this size are copied into one write with the framing around them. */
const COALESCE_MAX = 16 * 1024;

/**
 * Latin-1 `text` as a Buffer of its length. `Buffer.from(text, 'latin1')` reserves pool room
 * for UTF-8 (up to four bytes a character) and cuts a second view once written: about 1.5x the
 * time for a request head (and more for a head still made of concatenated pieces).
 */
function latin1Bytes(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  out.write(text, 0, 'latin1');
  return out;
}

/** Methods whose request carries no body: no `content-length: 0` is added for them (Envoy's list). */
function bodilessMethod(method: string): boolean {
  return (
    method === 'GET' || method === 'HEAD' || method === 'DELETE' || method === 'TRACE' || method === 'CONNECT'
  );
}

const properCaseCache = new Map<string, string>();

/** Envoy's proper-case formatter: upper-case the first letter and each letter after a non-alphanumeric. */
export function properCase(key: string): string {
  let out = properCaseCache.get(key);
  if (out !== undefined) return out;
  out = '';
  let upper = true;
  for (let i = 0; i < key.length; i++) {
    const ch = key[i]!;
    const c = key.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    out += upper && c >= 97 && c <= 122 ? ch.toUpperCase() : ch;
    upper = !alnum;
  }
  if (properCaseCache.size < 4096) properCaseCache.set(key, out);
  return out;
}

/** The stream callbacks and read-disable accounting shared by both stream kinds. */
class StreamBase implements Stream {
  protected callbacks: StreamCallbacks[] | null = null;
  /** readDisable(true) calls not yet undone, released when the stream ends. */
  readDisables = 0;
  /** Set once the stream is over (complete or reset); later calls are ignored. */
  done = false;
  protected readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  addCallbacks(callbacks: StreamCallbacks): void {
    if (this.callbacks === null) this.callbacks = [];
    this.callbacks.push(callbacks);
  }

  removeCallbacks(callbacks: StreamCallbacks): void {
    const i = this.callbacks?.indexOf(callbacks) ?? -1;
    if (i >= 0) removeIndex(this.callbacks!, i);
  }

  readDisable(disable: boolean): void {
    if (this.done) return;
    if (disable) this.readDisables++;
    else if (this.readDisables > 0) this.readDisables--;
    else return;
    this.connection.readDisable(disable);
  }

  releaseReadDisables(): void {
    while (this.readDisables > 0) {
      this.readDisables--;
      this.connection.readDisable(false);
    }
  }

  runResetCallbacks(reason: StreamResetReason, details: string): void {
    const list = this.callbacks;
    if (list === null) return;
    for (let i = 0; i < list.length; i++) list[i]!.onResetStream(reason, details);
  }

  runHighWatermark(): void {
    const list = this.callbacks;
    if (list !== null) for (let i = 0; i < list.length; i++) list[i]!.onAboveWriteBufferHighWatermark?.();
  }

  runLowWatermark(): void {
    const list = this.callbacks;
    if (list !== null) for (let i = 0; i < list.length; i++) list[i]!.onBelowWriteBufferLowWatermark?.();
  }
}

/** A field only a close changes (see `src/common/mutable-fields.ts`). */
const CLOSE_FIELDS = new MutableFields({ closed: true });

/**
 * What both codecs share: the parser, held output and its flush, header key formatting, the
 * events of one read waiting to be delivered, and the connection callbacks.
 */
abstract class Http1ConnectionBase implements Http1ParserHandler, ConnectionCallbacks {
  protected readonly connection: Connection;
  protected readonly settings: Http1Settings;
  protected readonly parser: Http1Parser;
  /** Latin-1 bytes written but not yet handed to the connection. */
  private held = '';
  private readonly flushCallback: SchedulableCallback;
  protected error: CodecError | null = null;
  protected closed = false;

  // Events of the read being parsed, delivered once it is parsed.
  protected pendingHeaders: HeaderMapImpl | null = null;
  protected readonly pendingBody: Buffer[] = [];
  protected pendingTrailers: HeaderMapImpl | null = null;
  protected pendingComplete = false;

  constructor(connection: Connection, settings: Http1Settings, type: 'request' | 'response') {
    this.connection = connection;
    this.settings = settings;
    this.parser = new Http1Parser(type, this, settings);
    this.flushCallback = connection.dispatcher.createSchedulableCallback(() => this.flushHeld());
    connection.addConnectionCallbacks(this);
    CLOSE_FIELDS.mark(this);
  }

  // --- Http1ParserHandler (the parts both sides share)

  abstract onMessageBegin(): void;
  abstract onHeadersComplete(headers: HeaderMapImpl): number;

  onInformational(_headers: HeaderMapImpl): void {}

  onBody(data: Buffer): void {
    this.pendingBody.push(data);
  }

  onTrailers(trailers: HeaderMapImpl): void {
    this.pendingTrailers = trailers;
  }

  onMessageComplete(): void {
    this.pendingComplete = true;
    this.parser.pause();
  }

  protected dropPendingEvents(): void {
    this.pendingHeaders = null;
    clearArray(this.pendingBody);
    this.pendingTrailers = null;
    this.pendingComplete = false;
  }

  // --- Output

  /** Queues latin-1 text for the connection (written with the next body bytes or at the end of the pass). */
  protected hold(text: string): void {
    this.held += text;
  }

  /** Writes the held text, `data` and then `tail`, coalesced into one write when small. */
  protected emit(data: Buffer, tail: string, flushNow: boolean): void {
    const head = this.held;
    this.held = '';
    if (data.length === 0) {
      this.held = head + tail;
    } else if (data.length <= COALESCE_MAX) {
      const out = Buffer.allocUnsafe(head.length + data.length + tail.length);
      out.write(head, 0, 'latin1');
      data.copy(out, head.length);
      out.write(tail, head.length + data.length, 'latin1');
      this.connection.write(out, false);
    } else {
      // A large chunk is not copied: the connection's write batch sends head and chunk in one writev.
      if (head.length > 0) this.connection.write(latin1Bytes(head), false);
      this.connection.write(data, false);
      this.held = tail;
    }
    if (flushNow) this.flushHeld();
    else if (this.held.length > 0) this.flushCallback.scheduleCallbackCurrentIteration();
  }

  protected flushHeld(): void {
    if (this.held.length === 0) return;
    const text = this.held;
    this.held = '';
    this.connection.write(latin1Bytes(text), false);
  }

  /** Ends the connection after what has been written. */
  protected closeConnection(flush: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (flush) this.flushHeld();
    this.held = '';
    this.flushCallback.cancel();
    this.onClosing();
    this.connection.close(flush ? 'FlushWrite' : 'NoFlush');
  }

  protected onClosing(): void {}

  /** The spelling to write for entry `i` of `map`, per `header_key_format`. */
  protected formatKey(map: HeaderMapImpl, i: number): string {
    switch (this.settings.headerKeyFormat) {
      case 'preserve_case':
        return map.rawKeyAt(i);
      case 'proper_case':
        return properCase(map.keyAt(i));
      default:
        return map.keyAt(i);
    }
  }

  protected formatName(name: string, map: HeaderMapImpl): string {
    switch (this.settings.headerKeyFormat) {
      case 'preserve_case':
        return map.rawKeyOf(name) ?? name;
      case 'proper_case':
        return properCase(name);
      default:
        return name;
    }
  }

  /** Trailer lines of `trailers` plus the blank line ending a chunked body. */
  protected trailerBlock(trailers: HeaderMap): string {
    let out = '0\r\n';
    if (this.settings.enableTrailers) {
      const map = asHeaderMapImpl(trailers);
      for (let i = 0; i < map.size; i++) {
        const key = map.keyAt(i);
        if (key.charCodeAt(0) === 58) continue;
        out += `${this.formatKey(map, i)}: ${map.valueAt(i)}\r\n`;
      }
    }
    return `${out}\r\n`;
  }

  // --- ConnectionCallbacks

  onEvent(event: ConnectionEvent): void {
    if (event === 'Connected') return;
    this.closed = true;
    this.flushCallback.cancel();
    this.onConnectionClosed(event);
  }

  protected abstract onConnectionClosed(event: ConnectionEvent): void;
  abstract onAboveWriteBufferHighWatermark(): void;
  abstract onBelowWriteBufferLowWatermark(): void;
}

/** Any HeaderMap as a HeaderMapImpl (copied when it is another implementation). */
function asHeaderMapImpl(map: HeaderMap): HeaderMapImpl {
  if (map instanceof HeaderMapImpl) return map;
  const copy = new HeaderMapImpl();
  map.forEach((k, v) => {
    copy.add(k, v);
  });
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------

/** One request and its response on a server connection: the connection manager's ResponseEncoder. */
class ServerStream extends StreamBase implements ResponseEncoder {
  private readonly codec: ServerConnectionImpl;
  decoder: RequestDecoder | null = null;
  /** The parser has read the whole request. */
  remoteComplete = false;
  /** The response has been written to its end. */
  localComplete = false;
  responseStarted = false;
  /** The request is HEAD: the response has no body. */
  isHead = false;
  isConnect = false;
  upgradeRequest = false;
  versionMinor = 1;
  /** The request allows the connection to stay open after the response. */
  requestKeepAlive = true;
  /** The response body is chunk-encoded. */
  chunked = false;
  /** The response carries no body (HEAD, 1xx, 204, 304): body bytes are dropped. */
  bodiless = false;
  /** The response is a raw pipe (101 to an upgrade, 2xx to CONNECT). */
  raw = false;
  /** Close the connection once this response is written. */
  closeAfter = false;

  constructor(codec: ServerConnectionImpl, connection: Connection) {
    super(connection);
    this.codec = codec;
  }

  encode1xxHeaders(headers: HeaderMap): void {
    this.codec.encode1xx(this, headers);
  }

  encodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.codec.encodeResponseHeaders(this, headers, endStream);
  }

  encodeData(data: Buffer, endStream: boolean): void {
    this.codec.encodeResponseData(this, data, endStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    this.codec.encodeResponseTrailers(this, trailers);
  }

  resetStream(reason: StreamResetReason): void {
    this.codec.resetByOwner(this, reason);
  }

  getStream(): Stream {
    return this;
  }
}

/**
 * The server side of an HTTP/1 connection (downstream). The connection manager, a read filter,
 * hands it every read with `dispatch(data, endStream)`.
 */
export class ServerConnectionImpl extends Http1ConnectionBase implements ServerConnection {
  private readonly callbacks: ServerConnectionCallbacks;
  private active: ServerStream | null = null;
  /** Input read but not parsed yet (the next pipelined request, while a response is pending). */
  private pendingInput: Buffer | null = null;
  private readingPaused = false;
  private peerHalfClosed = false;
  private lastProtocol: HttpProtocol = 'HTTP/1.1';
  private readonly resumeCallback: SchedulableCallback;

  constructor(
    connection: Connection,
    callbacks: ServerConnectionCallbacks,
    settings = DEFAULT_HTTP1_SETTINGS,
  ) {
    super(connection, settings, 'request');
    this.callbacks = callbacks;
    this.resumeCallback = connection.dispatcher.createSchedulableCallback(() => this.resumeParsing());
  }

  protocol(): HttpProtocol {
    return this.lastProtocol;
  }

  goAway(): void {}

  dispatch(data: Buffer, endStream: boolean): CodecError | null {
    if (this.error !== null || this.closed) return this.error;
    if (data.length > 0) {
      if (this.parser.isPaused() || this.pendingInput !== null) {
        // A response is pending: keep the input for later and stop reading meanwhile.
        this.pendingInput = this.pendingInput === null ? data : Buffer.concat([this.pendingInput, data]);
        this.pauseReading();
      } else {
        this.parse(data);
      }
    }
    if (endStream && this.error === null) {
      this.peerHalfClosed = true;
      this.checkHalfClose();
    }
    return this.error;
  }

  private parse(data: Buffer): void {
    const consumed = this.parser.execute(data);
    if (consumed < 0) {
      this.dropPendingEvents();
      this.onCodecError(this.parser.error!);
      return;
    }
    this.deliverPendingEvents();
    if (consumed < data.length && !this.closed) {
      this.pendingInput = data.subarray(consumed);
      this.pauseReading();
    }
  }

  private pauseReading(): void {
    if (this.readingPaused || this.closed) return;
    this.readingPaused = true;
    this.connection.readDisable(true);
  }

  private resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    if (!this.closed) this.connection.readDisable(false);
  }

  /** The previous response is complete: parse what was waiting, then read again. */
  private resumeParsing(): void {
    if (this.closed || this.error !== null || this.active !== null) return;
    this.parser.resume();
    const input = this.pendingInput;
    this.pendingInput = null;
    if (input !== null) this.parse(input);
    if (this.pendingInput === null) this.resumeReading();
    this.checkHalfClose();
  }

  // --- Parser events

  onMessageBegin(): void {
    const stream = new ServerStream(this, this.connection);
    this.active = stream;
    stream.decoder = this.callbacks.newStream(stream);
  }

  onHeadersComplete(headers: HeaderMapImpl): number {
    const s = this.active!;
    const p = this.parser;
    s.isHead = p.method === 'HEAD';
    s.isConnect = p.method === 'CONNECT';
    s.upgradeRequest = p.upgrade;
    s.versionMinor = p.versionMinor;
    s.requestKeepAlive =
      p.versionMinor === 1 ? !p.connectionClose : p.connectionKeepAlive && !p.connectionClose;
    this.lastProtocol = p.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0';
    this.pendingHeaders = headers;
    return HEADERS_CONTINUE;
  }

  override onMessageComplete(): void {
    super.onMessageComplete();
    this.active!.remoteComplete = true;
  }

  /** Hands the events of the read just parsed to the stream's decoder. */
  private deliverPendingEvents(): void {
    const s = this.active;
    const headers = this.pendingHeaders;
    const body = this.pendingBody;
    const trailers = this.pendingTrailers;
    const complete = this.pendingComplete;
    this.pendingHeaders = null;
    this.pendingTrailers = null;
    this.pendingComplete = false;
    if (s === null || s.decoder === null) {
      clearArray(body);
      return;
    }
    const decoder = s.decoder;
    let ended = false;
    if (headers !== null && !s.done) {
      ended = complete && body.length === 0 && trailers === null;
      decoder.decodeHeaders(headers, ended);
    }
    const last = body.length - 1;
    for (let i = 0; i <= last && !s.done; i++) {
      const end = complete && trailers === null && i === last;
      decoder.decodeData(body[i]!, end);
      if (end) ended = true;
    }
    clearArray(body);
    if (s.done) return;
    if (trailers !== null) decoder.decodeTrailers(trailers);
    else if (complete && !ended) decoder.decodeData(EMPTY, true);
  }

  private checkHalfClose(): void {
    if (!this.peerHalfClosed || this.closed) return;
    const s = this.active;
    if (s !== null) {
      if (this.parser.isRaw()) {
        // Half-close of a tunnel: the end of the request stream.
        if (!s.remoteComplete) {
          s.remoteComplete = true;
          s.decoder?.decodeData(EMPTY, true);
        }
        if (s.localComplete && !s.done) {
          // Both directions of the tunnel have ended.
          this.endStream(s);
          this.closeConnection(true);
        }
        return;
      }
      // Envoy has no HTTP half-close: the peer's FIN closes the connection, so a request in
      // progress (cut short, or complete and waiting for its response) is reset, and its
      // upstream request cancelled (DC), as Envoy's connection does with half-close disabled.
      this.endStream(s);
      s.runResetCallbacks('ConnectionTermination', 'downstream_remote_disconnect');
      this.closeConnection(false);
      return;
    }
    // Between requests: what was answered is flushed; pipelined requests not yet started are dropped.
    this.pendingInput = null;
    this.closeConnection(true);
  }

  // --- Encoding (called through ServerStream)

  encode1xx(s: ServerStream, headers: HeaderMap): void {
    if (s.done || s.responseStarted || s.versionMinor === 0) return; // no 1xx to an HTTP/1.0 client
    const map = asHeaderMapImpl(headers);
    const status = Number(map.get(':status') ?? '100');
    let head = `HTTP/1.1 ${status} ${map.reasonPhrase || statusText(status)}\r\n`;
    for (let i = 0; i < map.size; i++) {
      if (map.keyAt(i).charCodeAt(0) === 58) continue;
      head += `${this.formatKey(map, i)}: ${map.valueAt(i)}\r\n`;
    }
    this.hold(`${head}\r\n`);
    this.flushHeld();
  }

  encodeResponseHeaders(s: ServerStream, headers: HeaderMap, endStream: boolean): void {
    if (s.done || s.responseStarted) return;
    s.responseStarted = true;
    const map = asHeaderMapImpl(headers);
    const statusValue = map.get(':status') ?? '';
    const status = Number(statusValue) | 0;
    const http10 = s.versionMinor === 0 && this.settings.acceptHttp10;
    let head = `${http10 ? 'HTTP/1.0 ' : 'HTTP/1.1 '}${status} ${
      (this.settings.forwardReasonPhrase && map.reasonPhrase) || statusText(status)
    }\r\n`;
    if (status >= 300) s.isConnect = false; // a refused CONNECT is an ordinary response
    s.raw = (status === 101 && s.upgradeRequest) || (s.isConnect && status >= 200 && status < 300);

    const sawContentLength = map.indexOf('content-length') >= 0;
    const bodilessStatus = status < 200 || status === 204 || status === 304;
    // Chunked framing (or, for HEAD, the informational header) when a body may follow.
    const sendsChunkedHeader =
      !sawContentLength &&
      !bodilessStatus &&
      !(endStream && !s.isHead) &&
      s.versionMinor === 1 &&
      !s.isConnect;
    let teWritten = false;
    let connectionValue: string | null = null;
    for (let i = 0; i < map.size; i++) {
      const key = map.keyAt(i);
      if (key.charCodeAt(0) === 58) continue;
      if (key === 'transfer-encoding') {
        // Framing is the codec's: a received Transfer-Encoding only keeps its place.
        if (sendsChunkedHeader && !teWritten) {
          head += `${this.formatKey(map, i)}: chunked\r\n`;
          teWritten = true;
        }
        continue;
      }
      if (key === 'connection') connectionValue = map.valueAt(i);
      head += `${this.formatKey(map, i)}: ${map.valueAt(i)}\r\n`;
    }

    let chunked = false;
    let hasLength = sawContentLength;
    if (!sawContentLength && !bodilessStatus) {
      if (endStream && !s.isHead) {
        head += `${this.formatName('content-length', map)}: 0\r\n`;
        hasLength = true;
      } else if (s.versionMinor === 1) {
        if (sendsChunkedHeader && !teWritten)
          head += `${this.formatName('transfer-encoding', map)}: chunked\r\n`;
        chunked = !s.raw && !s.isHead && !s.isConnect;
      }
    }
    // HTTP/1.0 has no chunked framing: without a length the body ends with the connection, and
    // Envoy keeps an HTTP/1.0 connection only for responses that carry one.
    const closeDelimited = s.versionMinor === 0 && !hasLength;
    s.chunked = chunked;
    s.bodiless = s.isHead || status === 204 || status === 304 || (status < 200 && status !== 101);

    if (!s.raw) {
      const close =
        !s.requestKeepAlive ||
        this.error !== null ||
        !s.remoteComplete ||
        closeDelimited ||
        (connectionValue !== null && hasToken(connectionValue, 'close'));
      s.closeAfter = close;
      if (connectionValue === null) {
        if (close) head += `${this.formatName('connection', map)}: close\r\n`;
        else if (s.versionMinor === 0) head += `${this.formatName('connection', map)}: keep-alive\r\n`;
      }
    }
    this.hold(`${head}\r\n`);
    if (endStream) this.finishResponse(s, '');
    else this.emit(EMPTY, '', false);
  }

  encodeResponseData(s: ServerStream, data: Buffer, endStream: boolean): void {
    if (s.done || !s.responseStarted || s.localComplete) return;
    if (s.bodiless || data.length === 0) {
      if (endStream) this.finishResponse(s, s.chunked ? '0\r\n\r\n' : '');
      return;
    }
    if (s.chunked) {
      this.hold(`${data.length.toString(16)}\r\n`);
      this.emit(data, endStream ? '\r\n0\r\n\r\n' : CRLF, endStream);
    } else {
      this.emit(data, '', endStream);
    }
    if (endStream) this.finishResponse(s, '');
  }

  encodeResponseTrailers(s: ServerStream, trailers: HeaderMap): void {
    if (s.done || !s.responseStarted || s.localComplete) return;
    this.finishResponse(s, s.chunked && !s.bodiless ? this.trailerBlock(trailers) : '');
  }

  private finishResponse(s: ServerStream, tail: string): void {
    s.localComplete = true;
    if (tail.length > 0) this.hold(tail);
    this.flushHeld();
    if (s.raw) {
      // The end of a tunnel's response stream: a half-close while the client may still send,
      // the end of the connection once it has stopped too.
      if (s.remoteComplete) {
        this.endStream(s);
        this.closeConnection(true);
      } else {
        this.connection.write(EMPTY, true);
      }
      return;
    }
    this.endStream(s);
    if (s.closeAfter || this.error !== null) {
      this.closeConnection(true);
      return;
    }
    this.resumeCallback.scheduleCallbackCurrentIteration();
  }

  private endStream(s: ServerStream): void {
    s.done = true;
    s.releaseReadDisables();
    if (this.active === s) this.active = null;
  }

  resetByOwner(s: ServerStream, _reason: StreamResetReason): void {
    if (s.done) return;
    this.endStream(s);
    this.closeConnection(true);
  }

  // --- Errors

  private onCodecError(error: CodecError): void {
    this.error = error;
    let s = this.active;
    if (s === null) {
      // An error before any request began (a stray line break): make a stream to answer on.
      this.onMessageBegin();
      s = this.active!;
    }
    if (this.parser.method === 'HEAD') s.isHead = true;
    if (s.responseStarted) {
      this.endStream(s);
      s.runResetCallbacks('ProtocolError', error.details);
      this.closeConnection(true);
      return;
    }
    s.decoder?.sendLocalReply?.(error.status, statusText(error.status), error.details);
    if (!s.responseStarted) {
      const body = statusText(error.status);
      const reply = new HeaderMapImpl();
      reply.addLowerCase(':status', String(error.status));
      reply.addLowerCase('content-length', String(body.length));
      reply.addLowerCase('content-type', 'text/plain');
      reply.addLowerCase('connection', 'close');
      this.encodeResponseHeaders(s, reply, false);
      this.encodeResponseData(s, latin1Bytes(body), true);
      s.runResetCallbacks('ProtocolError', error.details);
    }
    // A reply the layer above started and has not finished closes the connection when it ends.
  }

  // --- Connection events

  protected override onConnectionClosed(event: ConnectionEvent): void {
    this.resumeCallback.cancel();
    const s = this.active;
    if (s === null || s.done) return;
    this.endStream(s);
    s.runResetCallbacks(
      'ConnectionTermination',
      event === 'RemoteClose' ? 'downstream_remote_disconnect' : 'downstream_local_disconnect',
    );
  }

  protected override onClosing(): void {
    this.resumeCallback.cancel();
  }

  onAboveWriteBufferHighWatermark(): void {
    this.active?.runHighWatermark();
  }

  onBelowWriteBufferLowWatermark(): void {
    this.active?.runLowWatermark();
  }
}

// ---------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------

/** One upstream request and its response: the router's RequestEncoder. */
class ClientStream extends StreamBase implements RequestEncoder {
  private readonly codec: ClientConnectionImpl;
  readonly decoder: ResponseDecoder;
  requestStarted = false;
  /** The request has been written to its end. */
  localComplete = false;
  /** The whole response has been read. */
  remoteComplete = false;
  isHead = false;
  isConnect = false;
  upgradeRequest = false;
  chunked = false;
  /** The request said `connection: close`. */
  requestClose = false;

  constructor(codec: ClientConnectionImpl, connection: Connection, decoder: ResponseDecoder) {
    super(connection);
    this.codec = codec;
    this.decoder = decoder;
  }

  encodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.codec.encodeRequestHeaders(this, headers, endStream);
  }

  encodeData(data: Buffer, endStream: boolean): void {
    this.codec.encodeRequestData(this, data, endStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    this.codec.encodeRequestTrailers(this, trailers);
  }

  resetStream(reason: StreamResetReason): void {
    this.codec.resetByOwner(this, reason);
  }

  getStream(): Stream {
    return this;
  }
}

/**
 * The client side of an HTTP/1 connection (upstream), one request at a time. Whoever reads the
 * upstream connection hands each read to `dispatch(data, endStream)`.
 */
export class ClientConnectionImpl extends Http1ConnectionBase implements ClientConnection {
  private readonly callbacks: ClientConnectionCallbacks;
  private active: ClientStream | null = null;
  private responseKeepAlive = true;
  private readingUntilClose = false;

  constructor(
    connection: Connection,
    settings: Http1Settings = { ...DEFAULT_HTTP1_SETTINGS, maxHeadersKb: MAX_RESPONSE_HEADERS_KB },
    callbacks: ClientConnectionCallbacks = {},
  ) {
    super(connection, settings, 'response');
    this.callbacks = callbacks;
  }

  protocol(): HttpProtocol {
    return 'HTTP/1.1';
  }

  goAway(): void {}

  /** True when no stream is in progress and the connection can take one. */
  idle(): boolean {
    return this.active === null && !this.closed && this.error === null;
  }

  newStream(decoder: ResponseDecoder): RequestEncoder {
    if (this.active !== null) throw new Error('HTTP/1 client connection already has a stream in progress');
    const stream = new ClientStream(this, this.connection, decoder);
    this.active = stream;
    this.parser.resume();
    return stream;
  }

  dispatch(data: Buffer, endStream: boolean): CodecError | null {
    if (this.error !== null) return this.error;
    if (data.length > 0) {
      const consumed = this.parser.execute(data);
      if (consumed < 0) {
        this.dropPendingEvents();
        this.onCodecError(this.parser.error!);
        return this.error;
      }
      this.deliverPendingEvents();
      if (consumed < data.length && this.error === null) {
        this.onCodecError(
          new Http1CodecError(400, 'http1.codec_error', 'extraneous data after response complete'),
        );
        return this.error;
      }
    }
    if (endStream) this.onPeerClosed();
    return this.error;
  }

  private onPeerClosed(): void {
    const s = this.active;
    const readUntilClose = this.parser.readsUntilClose();
    const ok = this.parser.finish();
    if (readUntilClose) this.readingUntilClose = true;
    if (ok && readUntilClose) this.deliverPendingEvents();
    const current = this.active;
    if (current !== null && current === s && !current.done) {
      if (this.parser.isRaw()) {
        current.decoder.decodeData(EMPTY, true);
        current.remoteComplete = true;
        return;
      }
      if (!ok) {
        // The response was cut short (HPE_INVALID_EOF_STATE): a protocol error, as in Envoy;
        // a close before any response byte is a connection termination.
        this.onCodecError(this.parser.error!);
        return;
      }
      this.endStream(current);
      current.runResetCallbacks('ConnectionTermination', 'upstream_remote_disconnect');
    }
    this.closeConnection(true);
  }

  // --- Parser events

  onMessageBegin(): void {
    if (this.active === null || this.active.done) {
      this.parser.fail(new Http1CodecError(400, 'http1.codec_error', 'response without a request'));
    }
  }

  override onInformational(headers: HeaderMapImpl): void {
    this.active?.decoder.decode1xxHeaders(headers);
  }

  onHeadersComplete(headers: HeaderMapImpl): number {
    const s = this.active!;
    const p = this.parser;
    const status = p.statusCode;
    this.responseKeepAlive =
      p.versionMinor === 1 ? !p.connectionClose : p.connectionKeepAlive && !p.connectionClose;
    this.pendingHeaders = headers;
    if (status === 101) {
      if (!s.upgradeRequest) {
        p.fail(new Http1CodecError(400, 'http1.codec_error', '101 without an upgrade request'));
        return HEADERS_CONTINUE;
      }
      return HEADERS_RAW;
    }
    if (s.isConnect && status >= 200 && status < 300) return HEADERS_RAW;
    if (s.isHead) return HEADERS_NO_BODY;
    return HEADERS_CONTINUE;
  }

  override onMessageComplete(): void {
    super.onMessageComplete();
    if (this.active !== null) this.active.remoteComplete = true;
  }

  private deliverPendingEvents(): void {
    const s = this.active;
    const headers = this.pendingHeaders;
    const body = this.pendingBody;
    const trailers = this.pendingTrailers;
    const complete = this.pendingComplete;
    this.pendingHeaders = null;
    this.pendingTrailers = null;
    this.pendingComplete = false;
    if (headers !== null) this.readingUntilClose = this.parser.readsUntilClose();
    if (s === null || s.done) {
      clearArray(body);
      return;
    }
    const decoder = s.decoder;
    let ended = false;
    if (headers !== null) {
      ended = complete && body.length === 0 && trailers === null;
      decoder.decodeHeaders(headers, ended);
    }
    const last = body.length - 1;
    for (let i = 0; i <= last && !s.done; i++) {
      const end = complete && trailers === null && i === last;
      decoder.decodeData(body[i]!, end);
      if (end) ended = true;
    }
    clearArray(body);
    if (s.done) return;
    if (complete) {
      if (trailers !== null) decoder.decodeTrailers(trailers);
      else if (!ended) decoder.decodeData(EMPTY, true);
      this.onResponseComplete(s);
    }
  }

  private onResponseComplete(s: ClientStream): void {
    if (s.done) return;
    if (!s.localComplete) {
      // The upstream answered before the whole request was sent: this connection cannot be reused.
      this.endStream(s);
      this.callbacks.onStreamComplete?.(false);
      this.closeConnection(true);
      return;
    }
    this.streamComplete(s);
  }

  private streamComplete(s: ClientStream): void {
    this.endStream(s);
    const keepAlive = this.responseKeepAlive && !s.requestClose && !this.readingUntilClose && !this.closed;
    this.callbacks.onStreamComplete?.(keepAlive);
    if (!keepAlive) this.closeConnection(true);
  }

  private endStream(s: ClientStream): void {
    s.done = true;
    s.releaseReadDisables();
    if (this.active === s) this.active = null;
  }

  // --- Encoding (called through ClientStream)

  encodeRequestHeaders(s: ClientStream, headers: HeaderMap, endStream: boolean): void {
    if (s.done || s.requestStarted) return;
    s.requestStarted = true;
    const map = asHeaderMapImpl(headers);
    const method = map.get(':method') ?? 'GET';
    s.isHead = method === 'HEAD';
    s.isConnect = method === 'CONNECT';
    const connection = map.get('connection');
    s.upgradeRequest = connection !== undefined && hasToken(connection, 'upgrade') && map.has('upgrade');
    s.requestClose = connection !== undefined && hasToken(connection, 'close');
    const authorityIndex = map.indexOf(':authority');
    const target = s.isConnect ? (map.get(':authority') ?? '') : (map.get(':path') ?? '/');
    let head = `${method} ${target} HTTP/1.1\r\n`;
    const sawContentLength = map.indexOf('content-length') >= 0;
    const chunked = !sawContentLength && !endStream && !s.isConnect && !s.upgradeRequest;
    let teWritten = false;
    for (let i = 0; i < map.size; i++) {
      const key = map.keyAt(i);
      if (key.charCodeAt(0) === 58) {
        if (i === authorityIndex) head += `${this.hostKey(map, i)}: ${map.valueAt(i)}\r\n`;
        continue;
      }
      if (key === 'transfer-encoding') {
        // Framing is the codec's: a received Transfer-Encoding only keeps its place.
        if (chunked && !teWritten) {
          head += `${this.formatKey(map, i)}: chunked\r\n`;
          teWritten = true;
        }
        continue;
      }
      if (key === 'host' && authorityIndex >= 0) continue;
      head += `${this.formatKey(map, i)}: ${map.valueAt(i)}\r\n`;
    }
    if (chunked && !teWritten) head += `${this.formatName('transfer-encoding', map)}: chunked\r\n`;
    if (!sawContentLength && endStream && !bodilessMethod(method)) {
      head += `${this.formatName('content-length', map)}: 0\r\n`;
    }
    s.chunked = chunked;
    this.hold(`${head}\r\n`);
    if (endStream) this.finishRequest(s, '');
    else this.emit(EMPTY, '', false);
  }

  /** `:authority` goes out as Host, spelled as the formatter spells it. */
  private hostKey(map: HeaderMapImpl, i: number): string {
    switch (this.settings.headerKeyFormat) {
      case 'preserve_case': {
        const raw = map.rawKeyAt(i);
        return raw === ':authority' ? 'host' : raw;
      }
      case 'proper_case':
        return 'Host';
      default:
        return 'host';
    }
  }

  encodeRequestData(s: ClientStream, data: Buffer, endStream: boolean): void {
    if (s.done || !s.requestStarted || s.localComplete) return;
    if (data.length === 0) {
      if (endStream) this.finishRequest(s, s.chunked ? '0\r\n\r\n' : '');
      return;
    }
    if (s.chunked) {
      this.hold(`${data.length.toString(16)}\r\n`);
      this.emit(data, endStream ? '\r\n0\r\n\r\n' : CRLF, endStream);
    } else {
      this.emit(data, '', endStream);
    }
    if (endStream) this.finishRequest(s, '');
  }

  encodeRequestTrailers(s: ClientStream, trailers: HeaderMap): void {
    if (s.done || !s.requestStarted || s.localComplete) return;
    this.finishRequest(s, s.chunked ? this.trailerBlock(trailers) : '');
  }

  private finishRequest(s: ClientStream, tail: string): void {
    s.localComplete = true;
    if (tail.length > 0) this.hold(tail);
    this.flushHeld();
    if (s.isConnect || (s.upgradeRequest && this.parser.isRaw())) {
      // A tunnel's request stream ends with a half-close... which Connection has as write(_, true).
      this.connection.write(EMPTY, true);
    }
    if (s.remoteComplete) this.streamComplete(s);
  }

  resetByOwner(s: ClientStream, _reason: StreamResetReason): void {
    if (s.done) return;
    this.endStream(s);
    this.closeConnection(false);
  }

  // --- Errors and connection events

  private onCodecError(error: CodecError): void {
    this.error = error;
    const s = this.active;
    if (s !== null && !s.done) {
      this.endStream(s);
      s.runResetCallbacks('ProtocolError', error.details);
    }
    this.closeConnection(false);
  }

  protected override onConnectionClosed(event: ConnectionEvent): void {
    const s = this.active;
    if (s === null || s.done) return;
    if (this.parser.readsUntilClose() && this.parser.finish()) {
      this.deliverPendingEvents();
      return;
    }
    if (event === 'RemoteClose' && !this.parser.idle() && this.error === null) {
      // The upstream went away (a reset) in the middle of its response: a protocol error.
      this.parser.finish();
      this.error = this.parser.error;
      this.endStream(s);
      s.runResetCallbacks('ProtocolError', this.error?.details ?? 'http1.codec_error');
      return;
    }
    this.endStream(s);
    s.runResetCallbacks(
      'ConnectionTermination',
      event === 'RemoteClose' ? 'upstream_remote_disconnect' : 'upstream_local_disconnect',
    );
  }

  onAboveWriteBufferHighWatermark(): void {
    this.active?.runHighWatermark();
  }

  onBelowWriteBufferLowWatermark(): void {
    this.active?.runLowWatermark();
  }
}
