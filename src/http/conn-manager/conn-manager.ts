/**
 * `ConnectionManagerImpl`: the HTTP connection manager on one downstream connection — the
 * network read filter that feeds the HTTP/1 codec, makes an `ActiveStream` for each request,
 * applies Envoy's request and response header rules, runs the stream's HTTP filter chain
 * (`FilterManager`), keeps the per-stream and per-connection timeouts, drains, counts
 * `http.<stat_prefix>.*` and writes the access logs when a stream ends.
 *
 * Worker thread that owns the connection. One object per connection; one `ActiveStream` per
 * request (HTTP/1: one at a time, the next pipelined request starts once the previous response
 * is complete). Timers are made once per stream or connection and re-armed, never re-created per
 * chunk. Envoy counterpart: `ConnectionManagerImpl` and `ConnectionManagerImpl::ActiveStream`
 * (source/common/http/conn_manager_impl.cc).
 *
 * Decisions:
 * - The codec is created on the first bytes (Envoy creates it there too, for protocol
 *   detection); a connection that never sends anything is closed at once by the idle timeout,
 *   one with a codec drains first (`drain_timeout`), as in Envoy.
 * - Timeouts answer 504 when the request was fully received and 408 otherwise (Envoy's
 *   `maybeRequestTimeoutCode`), or reset the stream once its response has started.
 * - A codec error is answered by the codec asking this stream for a local reply: the reply
 *   goes through the encoder filters and is logged with `DPE` (not for `low_version` and
 *   `missing_host_header`, which Envoy's connection manager answers itself).
 * - A stream ended by the downstream going away (its close, or its half-close, which Envoy's
 *   HTTP/1 does not have) is logged `DC` with `downstream_remote_disconnect`, as Envoy's
 *   `completeRequest` does; nothing else sets `DC` here.
 */

import type { AccessLogInstance, FormatterContext } from '../../access-log/types.ts';
import { removeIndex } from '../../common/array.ts';
import { MutableFields } from '../../common/mutable-fields.ts';
import { type DeadlineTimer, type DeadlineTimerPool, deadlineTimerPool } from '../../event/deadline-timer.ts';
import { IdleTimeout } from '../../event/idle-timeout.ts';
import type { Dispatcher, Timer } from '../../event/types.ts';
import type {
  Connection,
  ConnectionCallbacks,
  ConnectionEvent,
  FilterStatus,
  ReadFilter,
  ReadFilterCallbacks,
  WriteFilter,
} from '../../network/types.ts';
import { StreamInfo } from '../../stream-info/stream-info.ts';
import type { FilterChainFactoryCallbacks, StreamRoute } from '../filter-types.ts';
import { HeaderMapImpl } from '../header-map.ts';
import { equalsIgnoreCase, hasToken } from '../http1/chars.ts';
import { ServerConnectionImpl } from '../http1/codec.ts';
import type {
  HeaderMap,
  HttpProtocol,
  RequestDecoder,
  ResponseEncoder,
  ServerConnectionCallbacks,
  StreamCallbacks,
  StreamResetReason,
} from '../types.ts';
import { type DateProvider, dateProviderFor } from './date-provider.ts';
import { FilterManager, type FilterManagerCallbacks } from './filter-manager.ts';
import type { ConnectionManagerConfig, HttpFilterChainEntry } from './types.ts';
import {
  type DownstreamConnectionInfo,
  isUpgrade,
  maybeNormalizeHost,
  maybeNormalizePath,
  mutateRequestHeaders,
  mutateResponseHeaders,
  NORMALIZE_REDIRECT,
  NORMALIZE_REJECT,
} from './utility.ts';

const NOT_DRAINING = 0;
/** Responses carry `connection: close`; the connection closes after the drain timeout. */
const DRAINING = 1;
/** The connection closes once no stream is left. */
const CLOSING = 2;

/** Details the connection manager itself would have answered with: no `DPE` for them. */
const NON_PROTOCOL_ERROR_DETAILS = new Set(['low_version', 'missing_host_header']);

/** Envoy's `Utility::maybeRequestTimeoutCode`. */
function requestTimeoutCode(remoteComplete: boolean): number {
  return remoteComplete ? 504 : 408;
}

/** Envoy's `HeaderUtility::shouldCloseConnection`. */
function shouldCloseConnection(protocol: HttpProtocol, headers: HeaderMap): boolean {
  const connection = headers.get('connection');
  if (protocol === 'HTTP/1.0' && (connection === undefined || !hasToken(connection, 'keep-alive')))
    return true;
  if (protocol === 'HTTP/1.1' && connection !== undefined && hasToken(connection, 'close')) return true;
  const proxyConnection = headers.get('proxy-connection');
  return protocol !== 'HTTP/2' && proxyConnection !== undefined && hasToken(proxyConnection, 'close');
}

/** The connection's per-request buffer limit, when the connection knows one (Envoy's `bufferLimit()`). */
function connectionBufferLimit(connection: Connection, fallback: number): number {
  const limit = (connection as Connection & { bufferLimit?: () => number }).bufferLimit?.();
  return limit !== undefined && limit > 0 ? limit : fallback;
}

function randomStreamId(): number {
  return Math.floor(Math.random() * 0x20000000000000);
}

const NONE: readonly string[] = [];

const CONTINUE_HEADERS = HeaderMapImpl.of([[':status', '100']]);

/** Fields only a close, a reset or an error changes (see `src/common/mutable-fields.ts`). */
const STREAM_CLOSE_FIELDS = new MutableFields({ peerDisconnected: true, sawConnectionClose: true });
const CONNECTION_CLOSE_FIELDS = new MutableFields({
  remoteClose: true,
  peerHalfClosed: true,
  streamCutByClose: true,
  closed: true,
  closing: true,
  codecFailed: true,
});
/** Header fields that hold a map on nearly every request and none on a reset. */
const LOG_CONTEXT_FIELDS = new MutableFields({
  requestHeaders: undefined,
  responseHeaders: undefined,
  responseTrailers: undefined,
});

/** One request and its response. */
export class ActiveStream implements RequestDecoder, StreamCallbacks, FilterManagerCallbacks {
  private readonly cm: ConnectionManagerImpl;
  private readonly config: ConnectionManagerConfig;
  readonly encoder: ResponseEncoder;
  readonly filterManager: FilterManager;
  readonly streamInfo: StreamInfo;
  readonly streamId: number;
  readonly downstreamLocalAddress: string;
  readonly downstreamLocalPort: number;
  internalRequest = false;
  destroyed = false;
  /** The codec was given the end of the response. */
  codecSawLocalComplete = false;
  private sawConnectionClose = false;
  private successfulUpgrade = false;
  /** The codec reset this stream because the peer ended its input. */
  private peerDisconnected = false;
  private cachedRoute: StreamRoute | undefined;
  private routeCached = false;
  private idleTimeoutMs: number;
  private idleTimer: DeadlineTimer | null = null;
  private requestTimer: Timer | null = null;
  private requestHeadersTimer: Timer | null = null;
  private maxDurationTimer: Timer | null = null;

  constructor(cm: ConnectionManagerImpl, encoder: ResponseEncoder) {
    this.cm = cm;
    const config = cm.config;
    this.config = config;
    this.encoder = encoder;
    const connection = cm.connection!;
    const dispatcher = config.dispatcher;
    this.streamId = randomStreamId();
    const info = new StreamInfo(dispatcher.systemTime(), dispatcher.approximateMonotonicTime());
    info.downstreamRemoteAddress = connection.remoteAddress;
    info.downstreamRemotePort = connection.remotePort;
    info.downstreamLocalAddress = connection.localAddress;
    info.downstreamLocalPort = connection.localPort;
    this.streamInfo = info;
    this.downstreamLocalAddress = connection.localAddress;
    this.downstreamLocalPort = connection.localPort;
    this.filterManager = new FilterManager(this, cm.bufferLimit);
    encoder.getStream().addCallbacks(this);
    STREAM_CLOSE_FIELDS.mark(this);

    const stats = config.stats;
    stats.downstreamRqTotal.inc();
    stats.downstreamRqActive.inc();
    stats.downstreamRqHttp1Total.inc();

    this.idleTimeoutMs = config.streamIdleTimeoutMs;
    if (this.idleTimeoutMs > 0) {
      this.idleTimer = cm.streamIdleTimers.acquire(this.idleTimeoutMs, this.onIdleTimeout);
    }
    if (config.requestTimeoutMs > 0) {
      this.requestTimer = dispatcher.createTimer(() => this.onRequestTimeout());
      this.requestTimer.enableTimer(config.requestTimeoutMs);
    }
    if (config.requestHeadersTimeoutMs > 0) {
      this.requestHeadersTimer = dispatcher.createTimer(() => this.onRequestHeadersTimeout());
      this.requestHeadersTimer.enableTimer(config.requestHeadersTimeoutMs);
    }
    if (config.maxStreamDurationMs > 0) {
      this.maxDurationTimer = dispatcher.createTimer(() => this.onStreamMaxDurationReached());
      this.maxDurationTimer.enableTimer(config.maxStreamDurationMs);
    }
  }

  get dispatcher(): Dispatcher {
    return this.config.dispatcher;
  }

  /** True when the stream asked to close the connection after its response. */
  get closesConnection(): boolean {
    return this.sawConnectionClose;
  }

  set closesConnection(value: boolean) {
    this.sawConnectionClose = value;
  }

  // --- RequestDecoder (from the codec)

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    const fm = this.filterManager;
    const config = this.config;
    fm.requestHeaders = headers;
    if (this.requestHeadersTimer !== null) this.requestHeadersTimer.disableTimer();
    const protocol = this.cm.protocol();
    this.streamInfo.protocol = protocol;
    this.sawConnectionClose = shouldCloseConnection(protocol, headers);
    fm.isHeadRequest = headers.get(':method') === 'HEAD';
    this.maybeEndDecode(endStream);

    if (!config.proxy100Continue) {
      const expect = headers.get('expect');
      if (expect !== undefined && equalsIgnoreCase(expect, '100-continue')) {
        // Envoy answers 100-continue itself, past the filters, and does not forward the Expect.
        this.chargeStats(CONTINUE_HEADERS);
        this.encoder.encode1xxHeaders(CONTINUE_HEADERS);
        headers.remove('expect');
      }
    }

    if (!headers.has(':authority')) {
      this.localReply(400, '', undefined, 'missing_host_header');
      return;
    }
    const isConnect = headers.get(':method') === 'CONNECT';
    const path = headers.get(':path');
    if ((!isConnect || path !== undefined) && (path === undefined || path === '')) {
      this.localReply(404, '', undefined, 'missing_path_rejected');
      return;
    }
    if (path !== undefined && path.charCodeAt(0) !== 0x2f /* / */) {
      config.stats.downstreamRqNonRelativePath.inc();
      this.localReply(404, '', undefined, 'absolute_path_rejected');
      return;
    }
    const action = maybeNormalizePath(headers, config);
    if (action === NORMALIZE_REJECT) {
      config.stats.downstreamRqFailedPathNormalization.inc();
      this.localReply(400, '', undefined, 'path_normalization_failed');
      return;
    }
    if (action === NORMALIZE_REDIRECT) {
      config.stats.downstreamRqRedirectedWithNormalizedPath.inc();
      const location = headers.get(':path') ?? '/';
      this.localReply(307, '', (h) => h.add('location', location), 'path_normalization_failed');
      return;
    }
    const downstream = this.cm.downstream;
    maybeNormalizeHost(headers, config, downstream.localPort);

    const result = mutateRequestHeaders(
      headers,
      downstream,
      config,
      config.routeConfig?.internalOnlyHeaders ?? NONE,
    );
    this.streamInfo.downstreamRemoteAddress = result.remoteAddress;
    this.streamInfo.downstreamRemotePort = result.remotePort;
    this.internalRequest = result.internalRequest;

    this.refreshCachedRoute();
    const upgradeRejected = !fm.createFilterChain();
    if (this.cachedRoute !== undefined && upgradeRejected) {
      // Refuse further requests on this connection too: an upgrade payload may smuggle one.
      this.sawConnectionClose = true;
      config.stats.downstreamRqWsOnNonWsRoute.inc();
      this.localReply(403, '', undefined, 'upgrade_failed');
      return;
    }
    fm.decodeHeaders(null, headers, endStream);
    this.resetIdleTimer();
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.destroyed) return;
    this.maybeEndDecode(endStream);
    this.streamInfo.bytesReceived += data.length;
    this.filterManager.decodeData(null, data, endStream, false);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.destroyed) return;
    this.resetIdleTimer();
    this.filterManager.requestTrailers = trailers;
    this.maybeEndDecode(true);
    this.filterManager.decodeTrailers(null, trailers);
  }

  /** The codec rejected the request: answer as the connection manager would. */
  sendLocalReply(status: number, body: string, details: string): void {
    if (this.destroyed) return;
    if (this.streamInfo.protocol === '') this.streamInfo.protocol = this.cm.protocol();
    this.sawConnectionClose = true;
    if (NON_PROTOCOL_ERROR_DETAILS.has(details)) {
      // Envoy's connection manager answers these itself, with an empty body.
      this.filterManager.sendLocalReply(status, '', undefined, details);
      return;
    }
    this.streamInfo.setResponseFlag('DownstreamProtocolError');
    this.filterManager.sendLocalReply(status, body, undefined, details);
  }

  /** A local reply of the connection manager's own (timeouts, rejected requests). */
  private localReply(
    status: number,
    body: string,
    modifyHeaders: ((h: HeaderMap) => void) | undefined,
    details: string,
  ): void {
    if (this.destroyed) return;
    this.filterManager.sendLocalReply(status, body, modifyHeaders, details);
  }

  private maybeEndDecode(endStream: boolean): void {
    if (!endStream || this.filterManager.remoteComplete) return;
    this.filterManager.remoteComplete = true;
    this.streamInfo.lastDownstreamRxByteReceivedMs = this.config.dispatcher.approximateMonotonicTime();
  }

  // --- StreamCallbacks (from the codec)

  onResetStream(reason: StreamResetReason, details: string): void {
    if (this.destroyed) return;
    this.config.stats.downstreamRqRxReset.inc();
    if (reason === 'ConnectionTermination') this.cm.onStreamCutByConnection();
    // The peer went away (its half-close, which HTTP/1 has not): logged as a remote close.
    if (details === 'downstream_remote_disconnect') this.peerDisconnected = true;
    if (details !== '') this.streamInfo.responseCodeDetails = details;
    if (reason === 'ProtocolError') this.streamInfo.setResponseFlag('DownstreamProtocolError');
    this.cm.doDeferredStreamDestroy(this);
  }

  onAboveWriteBufferHighWatermark(): void {
    this.filterManager.callHighWatermarkCallbacks();
  }

  onBelowWriteBufferLowWatermark(): void {
    this.filterManager.callLowWatermarkCallbacks();
  }

  // --- FilterManagerCallbacks

  /** Response headers past the encoder filters: Envoy's `ActiveStream::encodeHeaders`. */
  encodeHeaders(headers: HeaderMap, endStream: boolean): void {
    const cm = this.cm;
    const config = this.config;
    if (!headers.has('date')) headers.set('date', cm.dateProvider.date());
    const transformation = config.serverHeaderTransformation;
    if (transformation === 'OVERWRITE' || (transformation === 'APPEND_IF_ABSENT' && !headers.has('server'))) {
      headers.set('server', config.serverName);
    }
    mutateResponseHeaders(headers, this.filterManager.requestHeaders, config, config.via);

    if (cm.drainState === NOT_DRAINING && config.drainClose()) {
      cm.startDrainSequence();
      config.stats.downstreamCxDrainClose.inc();
    }
    if (cm.protocol() === 'HTTP/1.0') {
      // HTTP/1.0 has no chunking: without a length the body ends with the connection.
      if (!headers.has('content-length')) this.sawConnectionClose = true;
      if (!this.sawConnectionClose) headers.set('connection', 'keep-alive');
    }
    if (cm.drainState === NOT_DRAINING && this.sawConnectionClose) cm.drainState = CLOSING;
    if (!this.filterManager.remoteComplete) {
      // HTTP/1 cannot read the rest of this request after answering it.
      cm.drainState = CLOSING;
      config.stats.downstreamRqResponseBeforeRqComplete.inc();
    }
    const tunneling = isUpgrade(headers) || this.isConnectResponse(headers);
    if (cm.drainState !== NOT_DRAINING && !tunneling) headers.set('connection', 'close');

    this.chargeStats(headers);
    this.streamInfo.firstDownstreamTxByteSentMs = config.dispatcher.approximateMonotonicTime();
    if (endStream) this.onCodecLocalComplete();
    this.encoder.encodeHeaders(headers, endStream);
  }

  encode1xxHeaders(headers: HeaderMap): void {
    mutateResponseHeaders(headers, this.filterManager.requestHeaders, this.config, '');
    this.chargeStats(headers);
    this.encoder.encode1xxHeaders(headers);
  }

  encodeData(data: Buffer, endStream: boolean): void {
    this.streamInfo.bytesSent += data.length;
    if (endStream) this.onCodecLocalComplete();
    this.encoder.encodeData(data, endStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    this.onCodecLocalComplete();
    this.encoder.encodeTrailers(trailers);
  }

  private onCodecLocalComplete(): void {
    this.codecSawLocalComplete = true;
    this.streamInfo.lastDownstreamTxByteSentMs = this.config.dispatcher.approximateMonotonicTime();
  }

  endStream(): void {
    if (this.destroyed) return;
    // The response is complete: the request-response time is known.
    this.config.stats.downstreamRqTime.recordValue(
      this.config.dispatcher.approximateMonotonicTime() - this.streamInfo.startMonotonicMs,
    );
    this.cm.doEndStream(this);
  }

  resetStream(_reason: StreamResetReason, _details: string): void {
    if (this.destroyed) return;
    this.config.stats.downstreamRqTxReset.inc();
    this.cm.doEndStream(this);
  }

  onLocalReply(status: number): void {
    // A 400 means the request was malformed: do not read another one from this connection.
    if (status === 400 && !this.config.streamErrorOnInvalidHttpMessage) this.sawConnectionClose = true;
  }

  onRequestDataTooLarge(): void {
    this.config.stats.downstreamRqTooLarge.inc();
  }

  onResponseDataTooLarge(): void {
    this.config.stats.rsTooLarge.inc();
  }

  route(): StreamRoute | undefined {
    if (!this.routeCached) this.refreshCachedRoute();
    return this.cachedRoute;
  }

  clearRouteCache(): void {
    this.cachedRoute = undefined;
    this.routeCached = false;
  }

  resetIdleTimer(): void {
    if (this.idleTimer !== null && !this.destroyed)
      this.idleTimer.arm(this.idleTimeoutMs, this.onIdleTimeout);
  }

  disarmRequestTimeout(): void {
    if (this.requestTimer !== null) this.requestTimer.disableTimer();
  }

  onDecoderFilterAboveWriteBufferHighWatermark(): void {
    this.encoder.getStream().readDisable(true);
    this.config.stats.downstreamFlowControlPausedReadingTotal.inc();
  }

  onDecoderFilterBelowWriteBufferLowWatermark(): void {
    if (!this.destroyed) this.encoder.getStream().readDisable(false);
    this.config.stats.downstreamFlowControlResumedReadingTotal.inc();
  }

  createUpgradeFilterChain(upgradeType: string, callbacks: FilterChainFactoryCallbacks): boolean {
    const type = upgradeType.toLowerCase();
    const route = this.route();
    const routeConfig = this.config.routeConfig;
    let routeEnabled = false;
    if (route !== undefined && routeConfig !== undefined) {
      const enabled = routeConfig.routeUpgradeEnabled(route, type);
      if (enabled === false) return false;
      if (enabled === true) routeEnabled = true;
    }
    let upgrade: (typeof this.config.upgrades)[number] | undefined;
    for (const u of this.config.upgrades) {
      if (u.upgradeType === type) {
        upgrade = u;
        break;
      }
    }
    if ((upgrade === undefined || !upgrade.enabled) && !routeEnabled) return false;
    this.addFilters(upgrade?.filters ?? this.config.filters, callbacks);
    return true;
  }

  createDefaultFilterChain(callbacks: FilterChainFactoryCallbacks): void {
    this.addFilters(this.config.filters, callbacks);
  }

  upgradeFilterChainCreated(): void {
    this.config.stats.downstreamCxUpgradesTotal.inc();
    this.config.stats.downstreamCxUpgradesActive.inc();
    this.successfulUpgrade = true;
  }

  private addFilters(filters: readonly HttpFilterChainEntry[], callbacks: FilterChainFactoryCallbacks): void {
    const routeConfig = this.config.routeConfig;
    const route = this.routeCached ? this.cachedRoute : undefined;
    for (let i = 0; i < filters.length; i++) {
      const entry = filters[i]!;
      let disabled = entry.disabled;
      if (route !== undefined && routeConfig !== undefined) {
        disabled = routeConfig.routeFilterDisabled(route, entry.name) ?? disabled;
      }
      if (!disabled) entry.factory(callbacks);
    }
  }

  // --- Routes and timeouts

  private refreshCachedRoute(): void {
    const headers = this.filterManager.requestHeaders;
    const routeConfig = this.config.routeConfig;
    this.cachedRoute =
      headers !== null && routeConfig !== undefined ? routeConfig.route(headers, this.streamId) : undefined;
    this.routeCached = true;
    this.streamInfo.routeName = this.cachedRoute?.name ?? '';
    this.refreshDurationTimeout();
    this.refreshIdleTimeout();
  }

  /** A route's `idle_timeout` replaces the stream idle timeout (0 turns it off). */
  private refreshIdleTimeout(): void {
    const route = this.cachedRoute;
    const routeConfig = this.config.routeConfig;
    if (route === undefined || routeConfig === undefined) return;
    const ms = routeConfig.routeIdleTimeoutMs(route);
    if (ms === undefined) return;
    this.idleTimeoutMs = ms;
    if (ms > 0) {
      this.idleTimer ??= this.cm.streamIdleTimers.acquire(ms, this.onIdleTimeout);
    } else if (this.idleTimer !== null) {
      this.idleTimer.release();
      this.idleTimer = null;
    }
  }

  /** The route's `max_stream_duration`, else the connection manager's, counted from the stream's start. */
  private refreshDurationTimeout(): void {
    const route = this.cachedRoute;
    const routeConfig = this.config.routeConfig;
    if (route === undefined || routeConfig === undefined) return;
    let timeout = routeConfig.routeMaxStreamDurationMs(route);
    if (timeout === undefined) timeout = this.config.maxStreamDurationMs;
    if (timeout <= 0) {
      this.maxDurationTimer?.disableTimer();
      return;
    }
    const used = this.config.dispatcher.approximateMonotonicTime() - this.streamInfo.startMonotonicMs;
    this.maxDurationTimer ??= this.config.dispatcher.createTimer(() => this.onStreamMaxDurationReached());
    this.maxDurationTimer.enableTimer(Math.max(0, timeout - used));
  }

  private readonly onIdleTimeout = (): void => {
    if (this.destroyed) return;
    this.config.stats.downstreamRqIdleTimeout.inc();
    this.streamInfo.setResponseFlag('StreamIdleTimeout');
    this.localReply(
      requestTimeoutCode(this.filterManager.remoteComplete),
      'stream timeout',
      undefined,
      'stream_idle_timeout',
    );
  };

  private onRequestTimeout(): void {
    if (this.destroyed) return;
    this.config.stats.downstreamRqTimeout.inc();
    this.localReply(
      requestTimeoutCode(this.filterManager.remoteComplete),
      'request timeout',
      undefined,
      'request_overall_timeout',
    );
  }

  private onRequestHeadersTimeout(): void {
    if (this.destroyed) return;
    this.config.stats.downstreamRqHeaderTimeout.inc();
    this.localReply(
      requestTimeoutCode(this.filterManager.remoteComplete),
      'request header timeout',
      undefined,
      'request_header_timeout',
    );
  }

  private onStreamMaxDurationReached(): void {
    if (this.destroyed) return;
    this.config.stats.downstreamRqMaxDurationReached.inc();
    this.localReply(
      requestTimeoutCode(this.filterManager.remoteComplete),
      'downstream duration timeout',
      undefined,
      'max_duration_timeout',
    );
  }

  // --- Stats and the end of the stream

  private isConnectResponse(headers: HeaderMap): boolean {
    const request = this.filterManager.requestHeaders;
    if (request === null || request.get(':method') !== 'CONNECT') return false;
    const status = Number(headers.get(':status'));
    return status >= 200 && status < 300;
  }

  private chargeStats(headers: HeaderMap): void {
    const status = Number(headers.get(':status')) | 0;
    this.streamInfo.responseCode = status;
    const stats = this.config.stats;
    stats.downstreamRqCompleted.inc();
    if (status >= 500) stats.downstreamRq5xx.inc();
    else if (status >= 400) stats.downstreamRq4xx.inc();
    else if (status >= 300) stats.downstreamRq3xx.inc();
    else if (status >= 200) stats.downstreamRq2xx.inc();
    else if (status >= 100) stats.downstreamRq1xx.inc();
  }

  /** Timers off, stream info completed, access logs written, filters destroyed. */
  complete(remoteClose: boolean): void {
    this.destroyed = true;
    this.idleTimer?.release();
    this.idleTimer = null;
    this.requestTimer?.disableTimer();
    this.requestHeadersTimer?.disableTimer();
    this.maxDurationTimer?.disableTimer();
    this.encoder.getStream().removeCallbacks(this);
    const info = this.streamInfo;
    info.endMonotonicMs = this.config.dispatcher.updateApproximateMonotonicTime();
    if (remoteClose || this.peerDisconnected) {
      // Envoy's `completeRequest`: a stream ended by the downstream going away is `DC`.
      info.responseCodeDetails = 'downstream_remote_disconnect';
      info.setResponseFlag('DownstreamConnectionTermination');
    }
    const stats = this.config.stats;
    stats.downstreamRqActive.dec();
    if (this.successfulUpgrade) stats.downstreamCxUpgradesActive.dec();

    const fm = this.filterManager;
    const ctx = new StreamLogContext(info, fm.requestHeaders, fm.responseHeaders, fm.responseTrailers);
    writeLogs(this.config.accessLogs, ctx);
    const filterLogs = fm.filterAccessLogs();
    if (filterLogs !== null) writeLogs(filterLogs, ctx);
    fm.destroyFilters();
  }
}

/**
 * What a finished stream's access logs read. A class rather than a literal so that its header
 * fields can be marked (`src/common/mutable-fields.ts`): they hold header maps on nearly every
 * request, and the first stream to end without response headers (a reset) would otherwise
 * widen the fields' type and throw away the optimized read path that builds this object.
 */
class StreamLogContext implements FormatterContext {
  readonly streamInfo: StreamInfo;
  readonly requestHeaders: HeaderMap | undefined;
  readonly responseHeaders: HeaderMap | undefined;
  readonly responseTrailers: HeaderMap | undefined;

  constructor(
    streamInfo: StreamInfo,
    requestHeaders: HeaderMap | null,
    responseHeaders: HeaderMap | null,
    responseTrailers: HeaderMap | null,
  ) {
    this.streamInfo = streamInfo;
    this.requestHeaders = requestHeaders ?? undefined;
    this.responseHeaders = responseHeaders ?? undefined;
    this.responseTrailers = responseTrailers ?? undefined;
    LOG_CONTEXT_FIELDS.mark(this);
  }
}

function writeLogs(logs: readonly AccessLogInstance[], ctx: FormatterContext): void {
  for (let i = 0; i < logs.length; i++) logs[i]!.log(ctx);
}

/**
 * The connection manager of one downstream connection: a read filter (bytes to the codec) and a
 * write filter (counts what is sent), the codec's `ServerConnectionCallbacks`, and the
 * connection's callbacks.
 */
export class ConnectionManagerImpl
  implements ReadFilter, WriteFilter, ServerConnectionCallbacks, ConnectionCallbacks
{
  readonly config: ConnectionManagerConfig;
  readonly dateProvider: DateProvider;
  /** The worker's stream idle timers, lent to each stream (see `DeadlineTimer`). */
  readonly streamIdleTimers: DeadlineTimerPool;
  connection: Connection | undefined;
  /** The connection's addresses as the header rules need them. */
  downstream: DownstreamConnectionInfo = { remoteAddress: '', remotePort: 0, localPort: 0, scheme: 'http' };
  bufferLimit: number;
  drainState = NOT_DRAINING;
  private codec: ServerConnectionImpl | null = null;
  /** The active streams (HTTP/1: one at most; an array, cheaper than a Set for so few). */
  private readonly streams: ActiveStream[] = [];
  /** Runs while no stream is active; restarted when the last stream ends. */
  private idleTimer: IdleTimeout | null = null;
  private durationTimer: Timer | null = null;
  private drainTimer: Timer | null = null;
  private startMs = 0;
  private remoteClose = false;
  /** The peer half-closed: the close that follows is the peer's doing. */
  private peerHalfClosed = false;
  /** A stream was cut by the connection ending (counted as a close with an active request). */
  private streamCutByClose = false;
  private closed = false;
  /** The connection is going away: no timer is armed again. */
  private closing = false;
  private codecFailed = false;
  private accumulatedRequests = 0;

  constructor(config: ConnectionManagerConfig) {
    this.config = config;
    this.dateProvider = dateProviderFor(config.dispatcher);
    this.streamIdleTimers = deadlineTimerPool(config.dispatcher, 'http.stream_idle');
    this.bufferLimit = config.bufferLimitBytes;
    CONNECTION_CLOSE_FIELDS.mark(this);
  }

  // --- ReadFilter

  initializeReadFilterCallbacks(callbacks: ReadFilterCallbacks): void {
    const connection = callbacks.connection();
    this.connection = connection;
    this.bufferLimit = connectionBufferLimit(connection, this.config.bufferLimitBytes);
    this.downstream = {
      remoteAddress: connection.remoteAddress,
      remotePort: connection.remotePort,
      localPort: connection.localPort,
      scheme: this.config.http1Settings.scheme,
    };
    const { stats, dispatcher } = this.config;
    this.startMs = dispatcher.approximateMonotonicTime();
    stats.downstreamCxTotal.inc();
    stats.downstreamCxActive.inc();
    connection.addConnectionCallbacks(this);
    if (this.config.idleTimeoutMs > 0) {
      this.idleTimer = new IdleTimeout(dispatcher, this.onIdleTimeout);
      this.idleTimer.restart(this.config.idleTimeoutMs);
    }
    if (this.config.maxConnectionDurationMs > 0) {
      this.durationTimer = dispatcher.createTimer(this.onConnectionDurationTimeout);
      this.durationTimer.enableTimer(this.config.maxConnectionDurationMs);
    }
  }

  onNewConnection(): FilterStatus {
    return 'Continue';
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    if (this.closed || this.codecFailed) return 'StopIteration';
    if (this.codec === null) this.createCodec();
    if (endStream) this.peerHalfClosed = true;
    this.config.stats.downstreamCxRxBytesTotal.add(data.length);
    const error = this.codec!.dispatch(data, endStream);
    if (error !== null) {
      // The codec has answered (or reset) and is closing the connection.
      this.codecFailed = true;
      this.config.stats.downstreamCxProtocolError.inc();
      this.doConnectionClose(true);
      return 'StopIteration';
    }
    this.checkForDeferredClose();
    return 'StopIteration';
  }

  // --- WriteFilter

  onWrite(data: Buffer, _endStream: boolean): FilterStatus {
    this.config.stats.downstreamCxTxBytesTotal.add(data.length);
    return 'Continue';
  }

  private createCodec(): void {
    this.codec = new ServerConnectionImpl(this.connection!, this, this.config.http1Settings);
    this.config.stats.downstreamCxHttp1Total.inc();
    this.config.stats.downstreamCxHttp1Active.inc();
  }

  /** The protocol of the current request. */
  protocol(): HttpProtocol {
    return this.codec === null ? 'HTTP/1.1' : this.codec.protocol();
  }

  // --- ServerConnectionCallbacks

  newStream(encoder: ResponseEncoder): RequestDecoder {
    // The idle timer stays armed: it does nothing while a stream is active, and the last stream
    // to end restarts it (no timer-heap update per keep-alive request).
    const stream = new ActiveStream(this, encoder);
    const max = this.config.maxRequestsPerConnection;
    if (max > 0 && ++this.accumulatedRequests >= max) {
      stream.closesConnection = true;
      this.drainState = CLOSING;
      this.config.stats.downstreamCxMaxRequestsReached.inc();
    }
    this.streams.push(stream);
    return stream;
  }

  // --- Streams ending

  /** The stream's response is complete, or the stream is abandoned: reset what is unfinished. */
  doEndStream(stream: ActiveStream): void {
    let reset = false;
    if (!stream.filterManager.remoteComplete || !stream.codecSawLocalComplete) {
      stream.filterManager.localComplete = true;
      stream.codecSawLocalComplete = true;
      stream.encoder.resetStream('LocalReset');
      reset = true;
    }
    this.doDeferredStreamDestroy(stream);
    if (reset) this.drainState = CLOSING;
    this.checkForDeferredClose();
  }

  doDeferredStreamDestroy(stream: ActiveStream): void {
    if (stream.destroyed) return;
    const i = this.streams.indexOf(stream);
    if (i >= 0) removeIndex(this.streams, i);
    if (this.idleTimer !== null && this.streams.length === 0 && !this.closing) {
      this.idleTimer.restart(this.config.idleTimeoutMs);
    }
    stream.complete(this.remoteClose);
  }

  private checkForDeferredClose(): void {
    if (this.drainState === CLOSING && this.streams.length === 0 && !this.closing) {
      this.closing = true;
      this.idleTimer?.cancel();
      this.connection?.close('FlushWrite');
    }
  }

  // --- Connection lifetime

  startDrainSequence(): void {
    this.drainState = DRAINING;
    this.codec?.goAway();
    this.drainTimer = this.config.dispatcher.createTimer(this.onDrainTimeout);
    this.drainTimer.enableTimer(this.config.drainTimeoutMs);
  }

  private readonly onDrainTimeout = (): void => {
    this.codec?.goAway();
    this.drainState = CLOSING;
    this.checkForDeferredClose();
  };

  private readonly onIdleTimeout = (): void => {
    if (this.streams.length > 0) return;
    this.config.stats.downstreamCxIdleTimeout.inc();
    if (this.codec === null) {
      this.connection?.close('FlushWrite');
    } else if (this.drainState === NOT_DRAINING) {
      this.startDrainSequence();
    }
  };

  private readonly onConnectionDurationTimeout = (): void => {
    this.config.stats.downstreamCxMaxDurationReached.inc();
    if (this.codec === null) {
      this.connection?.close('FlushWrite');
    } else if (this.drainState === NOT_DRAINING) {
      this.startDrainSequence();
    }
  };

  /** The codec ended a stream because the connection is ending (the peer left mid-request). */
  onStreamCutByConnection(): void {
    this.streamCutByClose = true;
  }

  onEvent(event: ConnectionEvent): void {
    if (event === 'Connected' || this.closed) return;
    const stats = this.config.stats;
    // A close that follows the peer's half-close is the peer's (Envoy has no HTTP half-close).
    if (event === 'RemoteClose' || this.peerHalfClosed) {
      this.remoteClose = true;
      stats.downstreamCxDestroyRemote.inc();
    } else {
      stats.downstreamCxDestroyLocal.inc();
    }
    this.doConnectionClose(false);
    this.closed = true;
    stats.downstreamCxDestroy.inc();
    stats.downstreamCxActive.dec();
    if (this.codec !== null) stats.downstreamCxHttp1Active.dec();
    stats.downstreamCxLengthMs.recordValue(
      this.config.dispatcher.updateApproximateMonotonicTime() - this.startMs,
    );
  }

  /** Timers off, the streams still open reset; `closeConnection` closes the connection after its writes. */
  private doConnectionClose(closeConnection: boolean): void {
    this.closing = true;
    if (this.streams.length > 0 || this.streamCutByClose) {
      const stats = this.config.stats;
      stats.downstreamCxDestroyActiveRq.inc();
      if (closeConnection || !this.remoteClose) stats.downstreamCxDestroyLocalActiveRq.inc();
      else stats.downstreamCxDestroyRemoteActiveRq.inc();
      for (const stream of this.streams.slice()) {
        if (closeConnection) stream.streamInfo.setResponseFlag('DownstreamProtocolError');
        stream.onResetStream('ConnectionTermination', '');
      }
      this.streamCutByClose = false;
    }
    this.idleTimer?.cancel();
    this.durationTimer?.disableTimer();
    this.drainTimer?.disableTimer();
    if (closeConnection) this.connection?.close('FlushWrite');
  }
}
