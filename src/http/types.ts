/**
 * Contracts of the HTTP layer: header maps, and the codec interface between a connection's
 * bytes and HTTP streams (the connection manager above, the router's upstream requests).
 *
 * Worker threads. A codec parses bytes once into a `HeaderMap` and raises stream events;
 * the layer above answers through the stream's encoder. HTTP/1 and (later) HTTP/2 present
 * the same small interface. Envoy counterpart: `envoy/http/header_map.h`,
 * `envoy/http/codec.h` (ServerConnection, ClientConnection, RequestDecoder,
 * ResponseEncoder, StreamCallbacks).
 */

/**
 * HTTP headers in arrival order. Keys are lower-case (unless the preserve_case formatter
 * keeps the original spelling for output); pseudo-headers (`:method`, `:path`,
 * `:authority`, `:scheme`, `:status`, `:protocol`) come first, as in Envoy.
 *
 * Values are byte strings: one character per octet on the wire (Latin-1), so any byte a peer
 * sent (obs-text included) is forwarded unchanged. Text from elsewhere (config, UTF-8) is added
 * as its UTF-8 bytes: `Buffer.from(text, 'utf8').toString('latin1')`.
 */
export interface HeaderMap {
  get(key: string): string | undefined;
  /** Every value of a repeated header, in order. */
  getAll(key: string): string[];
  has(key: string): boolean;
  /** Appends a header (a repeated one keeps both). */
  add(key: string, value: string): void;
  /** Replaces every value of `key` with one. */
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Visits every header in order; `key` is lower-case. */
  forEach(fn: (key: string, value: string) => void): void;
  readonly size: number;
  /** Total bytes of keys and values (for `max_request_headers_kb`). */
  byteSize(): number;
}

export type StreamResetReason =
  | 'LocalReset'
  | 'RemoteReset'
  | 'ConnectionFailure'
  | 'ConnectionTermination'
  | 'Overflow'
  | 'ProtocolError'
  | 'ConnectTimeout';

/** The protocol of a connection or stream, spelled as Envoy's `%PROTOCOL%` spells it. */
export type HttpProtocol = 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';

/**
 * What the owner of a stream (the connection manager downstream, the router upstream) hears
 * about it from the codec. Envoy counterpart: `Http::StreamCallbacks`.
 */
export interface StreamCallbacks {
  /**
   * The stream ended abnormally: the peer went away, or the codec found a protocol error. Not
   * called for a reset the owner asked for itself (`resetStream`).
   */
  onResetStream(reason: StreamResetReason, details: string): void;
  /** The connection's write buffer is above its limit: stop producing into this stream. */
  onAboveWriteBufferHighWatermark?(): void;
  onBelowWriteBufferLowWatermark?(): void;
}

/** The parts of a stream common to both directions. Envoy counterpart: `Http::Stream`. */
export interface Stream {
  addCallbacks(callbacks: StreamCallbacks): void;
  removeCallbacks(callbacks: StreamCallbacks): void;
  /** Reference-counted pause of reading from the peer (HTTP/1: the whole connection). */
  readDisable(disable: boolean): void;
}

/** Why a codec rejected a message: the local reply status and Envoy's response code details. */
export interface CodecError {
  /** 400, 413, 431, 501... */
  readonly status: number;
  /** Envoy's details string, e.g. `http1.codec_error` or a more precise one. */
  readonly details: string;
  readonly message: string;
}

/** What a server codec tells the layer above about one request (one stream). */
export interface RequestDecoder {
  /** Headers complete; `endStream` when the request has no body. */
  decodeHeaders(headers: HeaderMap, endStream: boolean): void;
  decodeData(data: Buffer, endStream: boolean): void;
  decodeTrailers(trailers: HeaderMap): void;
  /**
   * The codec rejected the request (a protocol error, a limit): the layer above answers with
   * its local reply (`status`, `body`, Envoy's `details`) through the stream's encoder, as
   * Envoy's `RequestDecoder::sendLocalReply`. Optional: without it, or when it does not start
   * a response, the codec writes Envoy's default reply itself and then resets the stream with
   * `ProtocolError`. Either way the connection closes once the reply is written.
   */
  sendLocalReply?(status: number, body: string, details: string): void;
}

/** How the layer above answers one request. */
export interface ResponseEncoder {
  encode1xxHeaders(headers: HeaderMap): void;
  encodeHeaders(headers: HeaderMap, endStream: boolean): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  /** Abandons the response (the connection is closed for HTTP/1). */
  resetStream(reason: StreamResetReason): void;
  getStream(): Stream;
}

/** What a client codec tells the router about one upstream response. */
export interface ResponseDecoder {
  decode1xxHeaders(headers: HeaderMap): void;
  decodeHeaders(headers: HeaderMap, endStream: boolean): void;
  decodeData(data: Buffer, endStream: boolean): void;
  decodeTrailers(trailers: HeaderMap): void;
}

/** How the router sends one upstream request. */
export interface RequestEncoder {
  encodeHeaders(headers: HeaderMap, endStream: boolean): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  resetStream(reason: StreamResetReason): void;
  getStream(): Stream;
}

/**
 * A codec on one network connection. Bytes read from the connection go in through
 * `dispatch`; the codec writes to the connection itself. Envoy counterpart: `Http::Connection`.
 */
export interface HttpConnection {
  /**
   * Parses bytes read from the connection; `endStream` when the peer half-closed. Returns the
   * protocol error that stopped the codec (it has already answered and closed, or reset the
   * stream), or null.
   */
  dispatch(data: Buffer, endStream: boolean): CodecError | null;
  /** The protocol of the current (or last) stream. */
  protocol(): HttpProtocol;
  /** Starts draining: HTTP/2 sends GOAWAY; HTTP/1 has nothing to send (`connection: close` is the connection manager's). */
  goAway(): void;
}

/** What a server codec asks of the connection manager. Envoy counterpart: `ServerConnectionCallbacks`. */
export interface ServerConnectionCallbacks {
  /**
   * A new request began (its first byte arrived): returns the decoder its events go to.
   * `encoder` answers it. HTTP/1 calls this for the next pipelined request only once the
   * previous response is complete.
   */
  newStream(encoder: ResponseEncoder): RequestDecoder;
}

export interface ServerConnection extends HttpConnection {}

/** What a client codec tells its owner (the connection pool). */
export interface ClientConnectionCallbacks {
  /**
   * The stream's request and response are both complete. `keepAlive`: the connection stays
   * open for another stream; when false the codec closes it.
   */
  onStreamComplete?(keepAlive: boolean): void;
}

export interface ClientConnection extends HttpConnection {
  /** Starts a request whose response goes to `decoder` (HTTP/1: one at a time per connection). */
  newStream(decoder: ResponseDecoder): RequestEncoder;
}
