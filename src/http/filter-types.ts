/**
 * Contracts of HTTP filters: the decoder (request) and encoder (response) halves, their
 * callbacks into the connection manager's filter chain, and the worker-side factory that
 * builds a filter for each stream.
 *
 * Worker threads; every call for a stream happens on the worker that owns its connection.
 * Filters return `Continue` to pass a frame on or `StopIteration` to hold it until they
 * call `continueDecoding()` / `continueEncoding()`; `StopIterationAndBuffer` holds and
 * buffers the body (bounded by the buffer limit; over it: 413 for requests, 500 for
 * responses, as Envoy). Envoy counterpart: `envoy/http/filter.h` (StreamDecoderFilter,
 * StreamEncoderFilter, StreamDecoderFilterCallbacks, StreamEncoderFilterCallbacks,
 * FilterChainFactoryCallbacks). The worker-side factory contract (`HttpFilterRuntime`) is in
 * `src/server/filter-context.ts`, beside the network one.
 */
import type { AccessLogInstance } from '../access-log/types.ts';
import type { Dispatcher } from '../event/types.ts';
import type { StreamInfo } from '../stream-info/stream-info.ts';
import type { HeaderMap, StreamResetReason } from './types.ts';

export type FilterHeadersStatus = 'Continue' | 'StopIteration' | 'StopAllIterationAndBuffer';
export type FilterDataStatus = 'Continue' | 'StopIterationAndBuffer' | 'StopIterationNoBuffer';
export type FilterTrailersStatus = 'Continue' | 'StopIteration';

/** A local reply: Envoy's `sendLocalReply(code, body, modify_headers, grpc_status, details)`. */
export interface LocalReply {
  readonly status: number;
  /** Text is sent as UTF-8; a Buffer (`direct_response` `inline_bytes`, a file) as it is. */
  readonly body: string | Buffer;
  /** Envoy's response code details, e.g. `route_not_found`, `upstream_reset_before_response_started{connection_failure}`. */
  readonly details: string;
  readonly modifyHeaders?: (headers: HeaderMap) => void;
}

/** What the route table gave this stream (opaque here; the router knows its type). */
export interface StreamRoute {
  readonly name: string;
}

interface FilterCallbacksBase {
  readonly dispatcher: Dispatcher;
  readonly streamInfo: StreamInfo;
  /** The route chosen for the request headers (cached; `clearRouteCache()` re-evaluates). */
  route(): StreamRoute | undefined;
  clearRouteCache(): void;
  /** Resets the stream (both directions); the connection manager cleans up. */
  resetStream(reason: StreamResetReason, details: string): void;
  /** A stable id for logs. */
  readonly streamId: number;
}

export interface StreamDecoderFilterCallbacks extends FilterCallbacksBase {
  continueDecoding(): void;
  /** Sends a local reply instead of (or after) forwarding the request. */
  sendLocalReply(reply: LocalReply): void;
  /** Response headers/data/trailers produced by this filter (the router) go through the encoder chain. */
  encodeHeaders(headers: HeaderMap, endStream: boolean, details: string): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  encode1xxHeaders(headers: HeaderMap): void;
  /** The body buffered so far by StopIterationAndBuffer, if any. */
  decodingBuffer(): Buffer | undefined;
  /**
   * Adds `data` to the buffered request body (it reaches the next filters when iteration
   * continues). Envoy's `addDecodedData`: `streaming` (the router buffering for retries) pauses
   * the downstream above the buffer limit instead of answering 413.
   */
  addDecodedData(data: Buffer, streaming: boolean): void;
  /** Stop / resume reading from the downstream (flow control from upstream watermarks). */
  onDecoderFilterAboveWriteBufferHighWatermark(): void;
  onDecoderFilterBelowWriteBufferLowWatermark(): void;
  /** Registers for downstream watermark events (the downstream is slow to read the response). */
  addDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void;
  removeDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void;
  /** The connection's per-request buffer limit. */
  decoderBufferLimit(): number;
  /** The downstream connection: remote/local addresses, for headers and hashing. */
  readonly downstreamRemoteAddress: string;
  readonly downstreamLocalAddress: string;
  readonly downstreamLocalPort: number;
  /** True when the request came from an internal (trusted) address: x-envoy-* headers are honoured. */
  readonly internalRequest: boolean;
}

export interface DownstreamWatermarkCallbacks {
  onAboveWriteBufferHighWatermark(): void;
  onBelowWriteBufferLowWatermark(): void;
}

export interface StreamEncoderFilterCallbacks extends FilterCallbacksBase {
  continueEncoding(): void;
  encodingBuffer(): Buffer | undefined;
}

export interface StreamDecoderFilter {
  setDecoderFilterCallbacks(callbacks: StreamDecoderFilterCallbacks): void;
  decodeHeaders(headers: HeaderMap, endStream: boolean): FilterHeadersStatus;
  decodeData(data: Buffer, endStream: boolean): FilterDataStatus;
  decodeTrailers(trailers: HeaderMap): FilterTrailersStatus;
  /** The stream is gone (completed or reset): release timers and upstream requests. */
  onDestroy(): void;
}

export interface StreamEncoderFilter {
  setEncoderFilterCallbacks(callbacks: StreamEncoderFilterCallbacks): void;
  encodeHeaders(headers: HeaderMap, endStream: boolean): FilterHeadersStatus;
  encodeData(data: Buffer, endStream: boolean): FilterDataStatus;
  encodeTrailers(trailers: HeaderMap): FilterTrailersStatus;
  onDestroy(): void;
}

/** Where a factory adds its filter(s) for one new stream. */
export interface FilterChainFactoryCallbacks {
  addStreamDecoderFilter(filter: StreamDecoderFilter): void;
  addStreamEncoderFilter(filter: StreamEncoderFilter): void;
  addStreamFilter(filter: StreamDecoderFilter & StreamEncoderFilter): void;
  addAccessLogHandler(log: AccessLogInstance): void;
}

/** Envoy's `Http::FilterFactoryCb`: instantiates the filter for one stream. */
export type HttpFilterFactoryCb = (callbacks: FilterChainFactoryCallbacks) => void;
