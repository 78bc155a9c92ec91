/**
 * Contracts of the upstream HTTP connection pools: how the router asks a pool for a stream
 * to a host, how the pool answers (ready with an encoder, or failed with a reason), what the
 * router hears about the stream afterwards, and the cluster settings a pool runs with.
 *
 * Worker threads: a pool belongs to one (cluster, host, priority) on one worker, and every
 * call below happens on that worker. HTTP/1 (`http1-pool.ts`) implements it now; HTTP/2 will
 * present the same interface. Envoy counterpart: `envoy/http/conn_pool.h`
 * (`ConnectionPool::Instance`, `Callbacks`, `Cancellable`, `PoolFailureReason`) and
 * `envoy/common/conn_pool.h`.
 */
import type { Host } from '../../upstream/types.ts';
import type { Http1Settings } from '../http1/settings.ts';
import type { RequestEncoder, ResponseDecoder, StreamResetReason } from '../types.ts';

/**
 * Why a pool could not give a stream: a circuit breaker was full (`Overflow`), the
 * connection attempt failed (`ConnectionFailure`), or it did not complete within the
 * cluster's `connect_timeout` (`Timeout`).
 */
export type PoolFailureReason = 'Overflow' | 'ConnectionFailure' | 'Timeout';

/** What the pool tells the router about one stream request. Envoy's `ConnectionPool::Callbacks`. */
export interface ConnectionPoolCallbacks {
  /**
   * No stream can be had. `transportFailureReason` is Envoy's text for the socket error
   * (`delayed connect error: 111`), or ''. `host` is the host the pool serves.
   */
  onPoolFailure(reason: PoolFailureReason, transportFailureReason: string, host: Host): void;
  /**
   * A stream is ready: send the request through `encoder`. `info` says which connection
   * carries it (for logs and the keep-alive race).
   */
  onPoolReady(encoder: RequestEncoder, host: Host, info: UpstreamConnectionInfo): void;
}

/** The connection a stream was given. */
export interface UpstreamConnectionInfo {
  /** `ip:port` of the local end of the upstream connection. */
  readonly localAddress: string;
  /** Streams this connection carried before this one (0: a fresh connection). */
  readonly previousStreams: number;
}

/** A stream request waiting for a connection; `cancel()` withdraws it (no callback follows). */
export interface Cancellable {
  cancel(): void;
}

/**
 * What the router hears about a stream once the pool gave it: the response (the
 * `ResponseDecoder` half), and the abnormal end and write-buffer pressure of the stream (the
 * part of Envoy's `StreamCallbacks` that reaches the router).
 */
export interface UpstreamStreamDecoder extends ResponseDecoder {
  /**
   * The stream ended abnormally (not for a reset the router asked for). `retrySafe`: the
   * request went out on a reused keep-alive connection that the upstream closed before a
   * single response byte arrived — the keep-alive race, where the upstream closed the idle
   * connection as the request was sent, so it never saw the request; sending it again on
   * another connection is safe (envoy#1979, #14981).
   */
  onUpstreamReset(reason: StreamResetReason, transportFailureReason: string, retrySafe: boolean): void;
  /** The upstream connection's write buffer is above its limit: stop sending request body. */
  onUpstreamAboveWriteBufferHighWatermark(): void;
  onUpstreamBelowWriteBufferLowWatermark(): void;
}

/** One pool: streams to one host of a cluster at one priority. Envoy's `Http::ConnectionPool::Instance`. */
export interface HttpConnectionPool {
  readonly host: Host;
  /**
   * Asks for a stream whose response goes to `decoder`. The callbacks may run before this
   * returns (a ready connection, or an overflow); then it returns null. Otherwise it returns
   * the pending request, which `callbacks` hear about later unless it is cancelled.
   */
  newStream(decoder: UpstreamStreamDecoder, callbacks: ConnectionPoolCallbacks): Cancellable | null;
  /** Connections open or opening, and streams waiting. */
  hasActiveConnections(): boolean;
  /** Closes idle connections now and the others once their stream ends; new streams still work. */
  drainConnections(): void;
  /** Closes every connection now (pending streams fail with `ConnectionFailure`). */
  closeConnections(): void;
}

/**
 * A cluster's HTTP settings for its pools, from `typed_extension_protocol_options`
 * (`envoy.extensions.upstreams.http.v3.HttpProtocolOptions`), with Envoy's defaults.
 */
export interface ClusterHttpSettings {
  /** `common_http_protocol_options.idle_timeout`: 1 h; 0 disables. */
  readonly idleTimeoutMs: number;
  /** `common_http_protocol_options.max_requests_per_connection`: 0 is unlimited. */
  readonly maxRequestsPerConnection: number;
  /** `common_http_protocol_options.max_connection_duration`: 0 is unlimited. */
  readonly maxConnectionDurationMs: number;
  /** The client codec's settings (`http_protocol_options`). */
  readonly http1: Http1Settings;
}
