/**
 * The router filter: the terminal HTTP filter that answers a request from its route (a
 * redirect, a direct response) or forwards it to a host of the route's cluster through the
 * worker's connection pool, with Envoy's timeouts, retries, flow control, local replies,
 * response flags and stats.
 *
 * Worker thread; one filter per stream, made by the `envoy.filters.http.router` runtime. Per
 * request: route and cluster look-up (404 `NR`, `NC`), a host from the load balancer (503
 * `no healthy upstream` `UH`) with the route's hash policy and, on retries, the hosts to
 * avoid; request headers finalized (rewrites, header mutations, `x-envoy-original-path`,
 * `auto_host_rewrite`, `x-envoy-expected-rq-timeout-ms`); the `x-envoy-*` control headers
 * (`retry-on`, `max-retries`, `upstream-rq-timeout-ms`, `upstream-rq-per-try-timeout-ms`,
 * `retriable-status-codes`, `retriable-header-names`, `expected-rq-timeout-ms`) honoured only
 * for internal requests and removed from every request. The body streams to the upstream as
 * it arrives; while a retry is possible it is also kept (references, no copies) up to the
 * buffer limit, past which retries are given up (`retry_or_shadow_abandoned`). Failures
 * before the response starts become Envoy's local replies (503 `upstream connect error or
 * disconnect/reset before headers. reset reason: ...` with `UF`, `UC`, `UO`, `UR`, `LR`; 504
 * `upstream request timeout` `UT`; `URX` when the retries ran out); after it started, an
 * upstream failure resets the downstream stream. A request that hit the keep-alive race (a
 * reused connection the upstream had closed, no response byte) is sent again at once when its
 * method is idempotent and its body is still held. The filter itself is the load-balancer,
 * hash-policy and formatter context, so a request allocates the filter, one upstream request
 * per try and the pool's stream. Envoy counterpart: `Router::Filter`
 * (source/common/router/router.cc).
 */

import type { FormatterContext } from '../access-log/types.ts';
import { type DeadlineTimer, deadlineTimerPool } from '../event/deadline-timer.ts';
import type { Dispatcher, SchedulableCallback } from '../event/types.ts';
import type { WorkerConnPools } from '../http/conn-pool/cluster-pools.ts';
import type { UpstreamConnectionInfo } from '../http/conn-pool/types.ts';
import type {
  DownstreamWatermarkCallbacks,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  LocalReply,
  StreamDecoderFilter,
  StreamDecoderFilterCallbacks,
} from '../http/filter-types.ts';
import type { HeaderMap, StreamResetReason } from '../http/types.ts';
import type { Counter } from '../stats/types.ts';
import type { ResponseFlag, StreamInfo } from '../stream-info/stream-info.ts';
import type {
  ThreadLocalCluster,
  ThreadLocalClusterManager,
} from '../upstream/thread-local-cluster-manager.ts';
import type { Host, LoadBalancerContext } from '../upstream/types.ts';
import type { RouteAction, SelectedCluster } from './actions.ts';
import { codeStatsOf } from './code-stats.ts';
import { Route, updateAuthority } from './config.ts';
import { type CookieAttribute, generatedCookieValue, makeSetCookieValue } from './hash-policy.ts';
import { mayHaveEnvoyHeaders, parseUint, RetryState, type RetryStatus, validRetryOn } from './retry-state.ts';
import { UpstreamRequest, type UpstreamRequestOwner } from './upstream-request.ts';

/** The router's settings (`envoy.extensions.filters.http.router.v3.Router`) the data path uses. */
export interface RouterFilterSettings {
  /** `dynamic_stats` (true): per-code and timing cluster stats. */
  readonly dynamicStats: boolean;
  /** `suppress_envoy_headers`: no `x-envoy-upstream-service-time`, `x-envoy-expected-rq-timeout-ms`, ... */
  readonly suppressEnvoyHeaders: boolean;
  /** `respect_expected_rq_timeout`: a trusted `x-envoy-expected-rq-timeout-ms` is the global timeout. */
  readonly respectExpectedRqTimeout: boolean;
  /** `strict_check_headers`: these x-envoy-* headers, when honoured, must be valid (400 `IH` otherwise). */
  readonly strictCheckHeaders: readonly string[];
}

/** `http.<stat_prefix>.*` counted by the router, Envoy's names. */
export interface RouterStats {
  readonly rqTotal: Counter;
  readonly noRoute: Counter;
  readonly noCluster: Counter;
  readonly rqRedirect: Counter;
  readonly rqDirectResponse: Counter;
  readonly rqResetAfterDownstreamResponseStarted: Counter;
}

/** What every stream of one router config on one worker shares. */
export interface RouterFilterShared {
  readonly settings: RouterFilterSettings;
  readonly stats: RouterStats;
  readonly clusterManager: ThreadLocalClusterManager;
  readonly pools: WorkerConnPools;
  /** In [0, 1), like `Math.random` (weighted clusters, back-off jitter). */
  readonly random: () => number;
}

/** Envoy's `Http::Utility::resetReasonToString`, with Legate's reset reasons. */
export function resetReasonToString(reason: StreamResetReason): string {
  switch (reason) {
    case 'LocalReset':
      return 'local reset';
    case 'RemoteReset':
      return 'remote reset';
    case 'ConnectionFailure':
      return 'connection failure';
    case 'ConnectTimeout':
      return 'connection timeout';
    case 'ConnectionTermination':
      return 'connection termination';
    case 'Overflow':
      return 'overflow';
    case 'ProtocolError':
      return 'protocol error';
  }
}

/** Envoy's `streamResetReasonToResponseFlag`. */
export function resetReasonToResponseFlag(reason: StreamResetReason): ResponseFlag {
  switch (reason) {
    case 'ConnectionFailure':
    case 'ConnectTimeout':
      return 'UpstreamConnectionFailure';
    case 'ConnectionTermination':
      return 'UpstreamConnectionTermination';
    case 'LocalReset':
      return 'LocalReset';
    case 'Overflow':
      return 'UpstreamOverflow';
    case 'RemoteReset':
      return 'UpstreamRemoteReset';
    case 'ProtocolError':
      return 'UpstreamProtocolError';
  }
}

/** Envoy's `StringUtil::replaceAllEmptySpace`, for response code details. */
function replaceSpaces(s: string): string {
  return s.replace(/\s/g, '_');
}

/** Methods whose requests may be sent again when the keep-alive race lost them (RFC 9110 §9.2.2). */
function idempotentMethod(method: string | undefined): boolean {
  return (
    method === 'GET' ||
    method === 'HEAD' ||
    method === 'OPTIONS' ||
    method === 'TRACE' ||
    method === 'PUT' ||
    method === 'DELETE'
  );
}

/** Body an attempt holds before its stream is ready when the connection sets no limit (Envoy's 1 MiB). */
const DEFAULT_PENDING_BODY_LIMIT = 1024 * 1024;

/** How many times one request is sent again after losing the keep-alive race. */
const MAX_SAFE_RESENDS = 3;

/** `ip:port` (`[ip]:port` for IPv6) from the `x-envoy-original-dst-host` style header. */
function parseHostPort(value: string): { address: string; port: number } | undefined {
  const v = value.trim();
  let address: string;
  let portText: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']:');
    if (end < 0) return undefined;
    address = v.slice(1, end);
    portText = v.slice(end + 2);
  } else {
    const colon = v.lastIndexOf(':');
    if (colon <= 0 || v.indexOf(':') !== colon) return undefined;
    address = v.slice(0, colon);
    portText = v.slice(colon + 1);
  }
  const port = parseUint(portText);
  if (port === undefined || port > 65535) return undefined;
  return { address, port };
}

export class RouterFilter
  implements
    StreamDecoderFilter,
    UpstreamRequestOwner,
    LoadBalancerContext,
    DownstreamWatermarkCallbacks,
    FormatterContext
{
  private readonly shared: RouterFilterShared;
  private callbacks!: StreamDecoderFilterCallbacks;
  dispatcher!: Dispatcher;

  private route: Route | undefined;
  private action: RouteAction | undefined;
  private selected: SelectedCluster | undefined;
  private cluster: ThreadLocalCluster | undefined;
  /** The downstream request headers, finalized in place for the upstream. */
  upstreamHeaders!: HeaderMap;
  private downstreamTrailers: HeaderMap | null = null;
  downstreamEndStream = false;
  private downstreamRequestCompleteMs = -1;
  private downstreamResponseStarted = false;
  /** The stream is answered (or reset) by this filter: nothing more to do. */
  private finished = false;
  /** The downstream asked to stop reading the upstream. */
  private downstreamAbove = 0;
  private watermarksRegistered = false;

  private upstreamRequest: UpstreamRequest | null = null;
  private retryState: RetryState | undefined;
  private pendingRetries = 0;
  private isRetry = false;
  private attemptCount = 1;
  private isTimeoutRetry = false;
  /** Sends left after the keep-alive race. */
  private safeResends = 0;
  private safeResendCallback: SchedulableCallback | null = null;
  private upstreamRequestStarted = false;

  /** The request body kept for retries (references to the chunks received). */
  private bufferedBody: Buffer[] | null = null;
  private bufferedBytes = 0;
  private bufferLimit = 0;
  /** The body is kept while a retry or a keep-alive-race resend can need it. */
  private buffering = false;
  private bufferOverflowed = false;

  private globalTimeoutMs = 0;
  perTryTimeoutMs = 0;
  private timeoutResponseCode = 504;
  private responseTimer: DeadlineTimer | null = null;

  private downstreamSetCookies: string[] | null = null;
  /** The connection manager trusts the request (x-envoy-* headers are honoured). */
  private internal = false;
  /** The request says `x-envoy-internal: true`. */
  private envoyInternal = false;
  /** The response headers being finalized (for `%RESP(...)%` in header values). */
  responseHeaders: HeaderMap | undefined = undefined;

  constructor(shared: RouterFilterShared) {
    this.shared = shared;
  }

  // --- StreamDecoderFilter

  setDecoderFilterCallbacks(callbacks: StreamDecoderFilterCallbacks): void {
    this.callbacks = callbacks;
    this.dispatcher = callbacks.dispatcher;
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): FilterHeadersStatus {
    const callbacks = this.callbacks;
    const shared = this.shared;
    this.upstreamHeaders = headers;
    this.internal = callbacks.internalRequest;
    shared.stats.rqTotal.inc();

    const route = callbacks.route();
    if (!(route instanceof Route)) {
      shared.stats.noRoute.inc();
      callbacks.streamInfo.setResponseFlag('NoRouteFound');
      this.localReply({ status: 404, body: '', details: 'route_not_found' });
      return 'StopIteration';
    }
    this.route = route;
    callbacks.streamInfo.routeName = route.name;
    const action = route.action;
    if (action.kind === 'direct_response') {
      shared.stats.rqDirectResponse.inc();
      this.localReply({
        status: action.status,
        body: action.body ?? '',
        details: 'direct_response',
        modifyHeaders: (h) => {
          this.responseHeaders = h;
          route.finalizeResponseHeaders(h, this);
        },
      });
      return 'StopIteration';
    }
    if (action.kind === 'redirect') {
      shared.stats.rqRedirect.inc();
      const location = route.redirectLocation(headers);
      this.localReply({
        status: action.responseCode,
        body: '',
        details: 'direct_response',
        modifyHeaders: (h) => {
          h.set('location', location);
          this.responseHeaders = h;
          route.finalizeResponseHeaders(h, this);
        },
      });
      return 'StopIteration';
    }
    this.action = action;

    const selected = action.selectCluster(headers, Math.floor(shared.random() * 0x100000000));
    this.selected = selected;
    const cluster = selected.name === '' ? undefined : shared.clusterManager.get(selected.name);
    if (cluster === undefined) {
      shared.stats.noCluster.inc();
      callbacks.streamInfo.setResponseFlag('NoClusterFound');
      this.localReply({ status: action.clusterNotFoundResponseCode, body: '', details: 'cluster_not_found' });
      return 'StopIteration';
    }
    this.cluster = cluster;
    callbacks.streamInfo.upstream = {
      hostAddress: '',
      clusterName: cluster.data.name,
      localAddress: '',
      transportFailureReason: '',
    };

    const envoyHeaders = mayHaveEnvoyHeaders(headers);
    this.envoyInternal = envoyHeaders && headers.get('x-envoy-internal') === 'true';
    if (this.internal && envoyHeaders && this.failsStrictCheck(headers)) return 'StopIteration';

    // The first host is chosen on the request as it arrived (hash policies see its headers).
    const host = cluster.chooseHost(this);
    if (host === undefined) {
      cluster.stats.upstreamCxNoneHealthy.inc();
      this.sendNoHealthyUpstream();
      return 'StopIteration';
    }

    const limit = callbacks.decoderBufferLimit();
    const routeLimit = route.perRequestBufferLimitBytes;
    this.bufferLimit = Math.min(
      limit > 0 ? limit : Number.POSITIVE_INFINITY,
      routeLimit ?? Number.POSITIVE_INFINITY,
    );
    this.finalTimeout(headers, envoyHeaders);
    if (route.virtualHost.includeRequestAttemptCount) headers.set('x-envoy-attempt-count', '1');
    route.finalizeRequestHeaders(headers, this, selected, !shared.settings.suppressEnvoyHeaders);
    this.retryState = RetryState.create({
      policy: action.retryPolicy,
      headers,
      trusted: this.internal,
      envoyHeaders,
      stats: cluster.httpStats,
      resources: cluster.resources[action.priority === 'HIGH' ? 'high' : 'default'],
      dispatcher: this.dispatcher,
      callbacks: this,
      random: shared.random,
    });
    this.buffering = this.retryState?.enabled() === true || idempotentMethod(headers.get(':method'));

    callbacks.addDownstreamWatermarkCallbacks(this);
    this.watermarksRegistered = true;
    this.startUpstreamRequest(cluster, host, endStream);
    if (endStream) this.onRequestComplete();
    return 'StopIteration';
  }

  decodeData(data: Buffer, endStream: boolean): FilterDataStatus {
    if (this.finished) return 'StopIterationNoBuffer';
    if (this.buffering && data.length > 0) {
      if (this.bufferedBytes + data.length > this.bufferLimit) {
        this.stopBuffering();
        if (this.upstreamRequest === null) {
          // A retry was waiting for its back-off: it cannot replay the body any more.
          this.cleanup();
          this.localReply({
            status: 507,
            body: 'exceeded request buffer limit while retrying upstream',
            details: 'request_payload_exceeded_retry_buffer_limit',
          });
          return 'StopIterationNoBuffer';
        }
      } else {
        if (this.bufferedBody === null) this.bufferedBody = [];
        this.bufferedBody.push(data);
        this.bufferedBytes += data.length;
      }
    }
    const upstream = this.upstreamRequest;
    if (upstream !== null) {
      upstream.acceptData(data, endStream);
    } else if (!this.buffering) {
      // Nothing to replay the body to a new attempt, and no attempt in flight.
      this.cleanup();
      this.localReply({
        status: 503,
        body: 'upstream is closed prematurely during decoding data from downstream',
        details: 'upstream_reset_before_response_started',
      });
      return 'StopIterationNoBuffer';
    }
    if (endStream) this.onRequestComplete();
    return 'StopIterationNoBuffer';
  }

  decodeTrailers(trailers: HeaderMap): FilterTrailersStatus {
    if (this.finished) return 'StopIteration';
    this.downstreamTrailers = trailers;
    this.upstreamRequest?.acceptTrailers(trailers);
    this.onRequestComplete();
    return 'StopIteration';
  }

  onDestroy(): void {
    const inFlight = this.upstreamRequest !== null || this.pendingRetries > 0;
    if (inFlight && !this.finished) {
      // The stream ends while the router still waits on the upstream: the downstream went away,
      // unless the connection manager answered the request itself (its timeouts).
      const info = this.callbacks.streamInfo;
      const answeredByManager = !this.downstreamResponseStarted && info.responseCode !== undefined;
      if (
        !answeredByManager &&
        !info.hasResponseFlag('StreamIdleTimeout') &&
        !info.hasResponseFlag('DurationTimeout')
      ) {
        info.setResponseFlag('DownstreamConnectionTermination');
      }
    }
    this.finished = true;
    const upstream = this.upstreamRequest;
    this.upstreamRequest = null;
    upstream?.resetStream();
    this.cleanup();
    if (this.watermarksRegistered) {
      this.watermarksRegistered = false;
      this.callbacks.removeDownstreamWatermarkCallbacks(this);
    }
    this.safeResendCallback?.cancel();
    this.bufferedBody = null;
  }

  // --- DownstreamWatermarkCallbacks: the downstream reads the response slowly.

  onAboveWriteBufferHighWatermark(): void {
    if (this.downstreamAbove++ > 0) return;
    this.cluster?.stats.upstreamFlowControlPausedReadingTotal.inc();
    this.upstreamRequest?.readDisable(true);
  }

  onBelowWriteBufferLowWatermark(): void {
    if (this.downstreamAbove === 0 || --this.downstreamAbove > 0) return;
    this.cluster?.stats.upstreamFlowControlResumedReadingTotal.inc();
    this.upstreamRequest?.readDisable(false);
  }

  get downstreamReadDisabled(): boolean {
    return this.downstreamAbove > 0;
  }

  /** What an attempt may hold before its stream is ready: the connection's buffer limit. */
  get pendingBodyLimit(): number {
    const limit = this.callbacks.decoderBufferLimit();
    return limit > 0 ? limit : DEFAULT_PENDING_BODY_LIMIT;
  }

  // --- LoadBalancerContext (and the hash policy's context)

  computeHashKey(): bigint | undefined {
    const policy = this.action?.hashPolicy;
    if (policy === undefined) return undefined;
    return policy.generateHash(this.upstreamHeaders, this);
  }

  shouldSelectAnotherHost(host: Host): boolean {
    return this.retryState?.shouldSelectAnotherHost(host) ?? false;
  }

  hostSelectionRetryCount(): number {
    return this.retryState?.hostSelectionMaxAttempts() ?? 1;
  }

  /**
   * With `use_http_header` the header is the destination, and a request without a valid one
   * has none (503 `UH`): as in Envoy, the connection's local address counts only when a
   * listener filter restored it, and here it is the proxy's own address (a loop back into
   * this listener). Without `use_http_header`: the local address, as for tcp_proxy (see
   * ARCHITECTURE.md on ORIGINAL_DST).
   */
  originalDestination(): { address: string; port: number } | undefined {
    const od = this.cluster?.data.originalDst;
    if (od?.useHttpHeader) {
      const value = this.upstreamHeaders.get(od.httpHeaderName);
      return value === undefined ? undefined : parseHostPort(value);
    }
    const local = this.callbacks.downstreamLocalAddress;
    return {
      address: local.startsWith('::ffff:') ? local.slice(7) : local,
      port: this.callbacks.downstreamLocalPort,
    };
  }

  get downstreamRemoteIp(): string {
    const remote = this.callbacks.downstreamRemoteAddress;
    return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
  }

  /** A hash-policy cookie with a ttl that the request lacks: set it on the response. */
  addCookie(name: string, path: string, ttlSeconds: number, attributes: readonly CookieAttribute[]): string {
    const info = this.callbacks.streamInfo;
    const value = generatedCookieValue(
      `${info.downstreamRemoteAddress}:${info.downstreamRemotePort}`,
      `${info.downstreamLocalAddress}:${info.downstreamLocalPort}`,
    );
    if (this.downstreamSetCookies === null) this.downstreamSetCookies = [];
    this.downstreamSetCookies.push(makeSetCookieValue(name, value, path, ttlSeconds, attributes));
    return value;
  }

  // --- RetryCallbacks

  doRetry(): void {
    if (this.finished) return;
    this.isRetry = true;
    this.attemptCount++;
    if (this.pendingRetries > 0) this.pendingRetries--;
    this.startNextAttempt();
  }

  // --- UpstreamRequestOwner

  onUpstreamHostSelected(_request: UpstreamRequest, host: Host): void {
    this.retryState?.onHostAttempted(host);
    const upstream = this.callbacks.streamInfo.upstream;
    if (upstream !== undefined) upstream.hostAddress = host.key;
  }

  onUpstreamPoolReady(_request: UpstreamRequest, info: UpstreamConnectionInfo): void {
    const upstream = this.callbacks.streamInfo.upstream;
    if (upstream !== undefined) upstream.localAddress = info.localAddress;
    this.upstreamRequestStarted = true;
  }

  onUpstream1xxHeaders(request: UpstreamRequest, headers: HeaderMap): void {
    if (request !== this.upstreamRequest) return;
    const code = Number(headers.get(':status') ?? '0');
    this.chargeUpstreamCode(code, request.host);
    this.downstreamResponseStarted = true;
    // No retry once a 1xx went downstream (Envoy's choice).
    this.dropRetryState();
    this.callbacks.encode1xxHeaders(headers);
  }

  onUpstreamHeaders(request: UpstreamRequest, status: number, headers: HeaderMap, endStream: boolean): void {
    if (request !== this.upstreamRequest) return;
    const callbacks = this.callbacks;
    const cluster = this.cluster!;
    const info = callbacks.streamInfo;
    info.firstUpstreamRxByteReceivedMs ??= this.dispatcher.approximateMonotonicTime();
    if (this.route!.virtualHost.includeAttemptCountInResponse) {
      headers.set('x-envoy-attempt-count', String(this.attemptCount));
    }

    const retryState = this.retryState;
    if (retryState !== undefined) {
      const retryStatus = retryState.shouldRetryHeaders(headers);
      if (retryStatus === 'Yes') {
        this.pendingRetries++;
        cluster.hostStat(request.host, 'rq_error', 1);
        if (this.shared.settings.dynamicStats) codeStatsOf(cluster).chargeRetriedResponse(status);
        this.upstreamRequest = null;
        if (!endStream || !request.encodeComplete) request.resetStream();
        else request.complete();
        return;
      }
      this.noteRetryStatus(retryStatus);
    }
    this.dropRetryState();
    this.buffering = false;
    this.releaseBuffer();

    if (this.downstreamRequestCompleteMs >= 0 && !this.shared.settings.suppressEnvoyHeaders) {
      const ms = Math.floor(this.dispatcher.approximateMonotonicTime() - this.downstreamRequestCompleteMs);
      headers.set('x-envoy-upstream-service-time', String(ms));
    }
    this.chargeUpstreamCode(status, request.host);
    if (status < 500 || status > 599) cluster.hostStat(request.host, 'rq_success', 1);
    const cookies = this.downstreamSetCookies;
    if (cookies !== null) for (const c of cookies) headers.add('set-cookie', c);
    info.responseCodeDetails = 'via_upstream';
    info.responseCode = status;
    this.responseHeaders = headers;
    this.route!.finalizeResponseHeaders(headers, this, this.selected);
    this.downstreamResponseStarted = true;
    request.disablePerTryTimeout();
    if (endStream) this.onUpstreamComplete(request);
    callbacks.encodeHeaders(headers, endStream, 'via_upstream');
  }

  onUpstreamData(request: UpstreamRequest, data: Buffer, endStream: boolean): void {
    if (request !== this.upstreamRequest) return;
    if (endStream) this.onUpstreamComplete(request);
    this.callbacks.encodeData(data, endStream);
  }

  onUpstreamTrailers(request: UpstreamRequest, trailers: HeaderMap): void {
    if (request !== this.upstreamRequest) return;
    this.onUpstreamComplete(request);
    this.callbacks.encodeTrailers(trailers);
  }

  onUpstreamReset(
    request: UpstreamRequest,
    reason: StreamResetReason,
    transportFailureReason: string,
    retrySafe: boolean,
  ): void {
    if (request !== this.upstreamRequest || this.finished) return;
    const info = this.callbacks.streamInfo;
    if (transportFailureReason !== '' && info.upstream !== undefined) {
      info.upstream.transportFailureReason = transportFailureReason;
    }
    this.upstreamRequest = null;
    // The keep-alive race: the request never reached a live upstream; send it again at once.
    if (
      retrySafe &&
      !this.downstreamResponseStarted &&
      this.safeResends < MAX_SAFE_RESENDS &&
      idempotentMethod(this.upstreamHeaders.get(':method')) &&
      !this.bufferOverflowed
    ) {
      this.safeResends++;
      this.pendingRetries++;
      this.safeResendCallback ??= this.dispatcher.createSchedulableCallback(() => this.resendAfterRace());
      this.safeResendCallback.scheduleCallbackCurrentIteration();
      return;
    }
    if (this.maybeRetryReset(reason, request)) return;
    const code = reason === 'ProtocolError' ? 502 : 503;
    const dropped = reason === 'Overflow';
    this.chargeUpstreamAbort(code, request.host);
    if (this.pendingRetries > 0) return;
    const reasonText = resetReasonToString(reason);
    const body =
      'upstream connect error or disconnect/reset before headers. ' +
      (this.isRetry ? 'retried and the latest ' : '') +
      `reset reason: ${reasonText}` +
      (transportFailureReason !== '' ? `, transport failure reason: ${transportFailureReason}` : '');
    const basic = this.downstreamResponseStarted
      ? 'upstream_reset_after_response_started'
      : 'upstream_reset_before_response_started';
    const details = replaceSpaces(
      `${basic}{${reasonText}${transportFailureReason !== '' ? `|${transportFailureReason}` : ''}}`,
    );
    this.onUpstreamAbort(code, resetReasonToResponseFlag(reason), body, dropped, details);
  }

  onPerTryTimeout(request: UpstreamRequest): void {
    if (request !== this.upstreamRequest || this.downstreamResponseStarted) return;
    const cluster = this.cluster!;
    cluster.httpStats.upstreamRqPerTryTimeout.inc();
    cluster.hostStat(request.host, 'rq_timeout', 1);
    this.upstreamRequest = null;
    request.resetStream();
    if (this.maybeRetryReset('LocalReset', request, true)) return;
    this.chargeUpstreamAbort(this.timeoutResponseCode, request.host);
    this.onUpstreamTimeoutAbort('upstream_per_try_timeout');
  }

  disableDownstreamReads(): void {
    this.callbacks.onDecoderFilterAboveWriteBufferHighWatermark();
  }

  enableDownstreamReads(): void {
    this.callbacks.onDecoderFilterBelowWriteBufferLowWatermark();
  }

  // --- Internals

  private startUpstreamRequest(cluster: ThreadLocalCluster, host: Host, endStream: boolean): void {
    const priority = this.action!.priority === 'HIGH' ? 'high' : 'default';
    const pool = this.shared.pools.pool(cluster, host, priority);
    if (this.action!.autoHostRewrite && host.hostname !== '') {
      updateAuthority(this.upstreamHeaders, host.hostname, this.action!.appendXForwardedHost);
    }
    const request = new UpstreamRequest(this, pool);
    this.upstreamRequest = request;
    request.start(endStream);
  }

  /** A retry (or a resend after the keep-alive race): a new attempt with the body kept so far. */
  private startNextAttempt(): void {
    // The cluster may have been removed (CDS) while the retry waited.
    const cluster = this.shared.clusterManager.get(this.selected!.name);
    if (cluster === undefined) {
      this.sendNoHealthyUpstream();
      return;
    }
    this.cluster = cluster;
    const host = cluster.chooseHost(this);
    if (host === undefined) {
      cluster.stats.upstreamCxNoneHealthy.inc();
      this.sendNoHealthyUpstream();
      return;
    }
    const headers = this.upstreamHeaders;
    const route = this.route!;
    if (route.virtualHost.includeRequestAttemptCount) {
      headers.set('x-envoy-attempt-count', String(this.attemptCount));
    }
    if (route.virtualHost.includeIsTimeoutRetryHeader) {
      headers.set('x-envoy-is-timeout-retry', this.isTimeoutRetry ? 'true' : 'false');
    }
    const elapsed =
      this.downstreamRequestCompleteMs < 0
        ? 0
        : Math.floor(this.dispatcher.approximateMonotonicTime() - this.downstreamRequestCompleteMs);
    this.setTimeoutHeaders(elapsed);
    const body = this.bufferedBody;
    const trailers = this.downstreamTrailers;
    const end = this.downstreamEndStream;
    const headersOnly = end && body === null && trailers === null;
    this.startUpstreamRequest(cluster, host, headersOnly);
    const request = this.upstreamRequest;
    if (request === null || request.done) return;
    if (body !== null) {
      const last = body.length - 1;
      for (let i = 0; i <= last; i++) request.acceptData(body[i]!, end && trailers === null && i === last);
    }
    if (trailers !== null) request.acceptTrailers(trailers);
    if (end) request.setupPerTryTimeout();
  }

  private resendAfterRace(): void {
    if (this.pendingRetries > 0) this.pendingRetries--;
    if (this.finished || this.upstreamRequest !== null) return;
    this.startNextAttempt();
  }

  private onRequestComplete(): void {
    if (this.downstreamEndStream) return;
    this.downstreamEndStream = true;
    this.downstreamRequestCompleteMs = this.dispatcher.approximateMonotonicTime();
    const info = this.callbacks.streamInfo;
    info.lastDownstreamRxByteReceivedMs ??= this.downstreamRequestCompleteMs;
    if (this.finished) return;
    if (this.globalTimeoutMs > 0) {
      if (this.responseTimer === null) {
        this.responseTimer = deadlineTimerPool(this.dispatcher, 'router.response').acquire(
          this.globalTimeoutMs,
          this.onResponseTimeout,
        );
      } else {
        this.responseTimer.arm(this.globalTimeoutMs, this.onResponseTimeout);
      }
    }
    this.upstreamRequest?.setupPerTryTimeout();
  }

  private readonly onResponseTimeout = (): void => {
    if (this.finished) return;
    const request = this.upstreamRequest;
    const cluster = this.cluster!;
    if (request !== null) {
      this.upstreamRequest = null;
      cluster.httpStats.upstreamRqTimeout.inc();
      cluster.hostStat(request.host, 'rq_timeout', 1);
      if (request.awaitingHeaders) this.chargeUpstreamAbort(this.timeoutResponseCode, request.host);
      request.resetStream();
    }
    this.onUpstreamTimeoutAbort('upstream_response_timeout');
  };

  private onUpstreamTimeoutAbort(details: string): void {
    const body = this.timeoutResponseCode === 504 ? 'upstream request timeout' : '';
    this.onUpstreamAbort(this.timeoutResponseCode, 'UpstreamRequestTimeout', body, false, details);
  }

  /** Answers (or, once the response started, resets) after the upstream failed. */
  private onUpstreamAbort(
    code: number,
    flag: ResponseFlag,
    body: string,
    dropped: boolean,
    details: string,
  ): void {
    const callbacks = this.callbacks;
    callbacks.streamInfo.setResponseFlag(flag);
    this.cleanup();
    if (this.downstreamResponseStarted) {
      // All that can be done is a reset; the details say why (Envoy's sendLocalReply does so).
      this.finished = true;
      this.shared.stats.rqResetAfterDownstreamResponseStarted.inc();
      callbacks.streamInfo.responseCodeDetails = details;
      callbacks.resetStream('LocalReset', details);
      return;
    }
    const overloaded = dropped && !this.shared.settings.suppressEnvoyHeaders;
    const attempts = this.route?.virtualHost.includeAttemptCountInResponse === true;
    this.localReply({
      status: code,
      body,
      details,
      modifyHeaders:
        overloaded || attempts
          ? (h) => {
              if (overloaded) h.set('x-envoy-overloaded', 'true');
              if (attempts) h.set('x-envoy-attempt-count', String(this.attemptCount));
            }
          : undefined,
    });
  }

  private sendNoHealthyUpstream(): void {
    this.callbacks.streamInfo.setResponseFlag('NoHealthyUpstream');
    this.chargeUpstreamCode(503, undefined);
    this.cleanup();
    this.localReply({ status: 503, body: 'no healthy upstream', details: 'no_healthy_upstream' });
  }

  /** Envoy's `maybeRetryReset`: true when a retry is scheduled. */
  private maybeRetryReset(reason: StreamResetReason, request: UpstreamRequest, timeout = false): boolean {
    const retryState = this.retryState;
    if (this.downstreamResponseStarted || retryState === undefined) return false;
    this.upstreamRequestStarted ||= request.requestStarted;
    const status = retryState.shouldRetryReset(reason, this.upstreamRequestStarted);
    if (status === 'Yes') {
      this.isTimeoutRetry = timeout;
      this.pendingRetries++;
      this.cluster!.hostStat(request.host, 'rq_error', 1);
      return true;
    }
    this.noteRetryStatus(status);
    return false;
  }

  private noteRetryStatus(status: RetryStatus): void {
    if (status === 'NoOverflow') this.callbacks.streamInfo.setResponseFlag('UpstreamOverflow');
    else if (status === 'NoRetryLimitExceeded') {
      this.callbacks.streamInfo.setResponseFlag('UpstreamRetryLimitExceeded');
    }
  }

  private onUpstreamComplete(request: UpstreamRequest): void {
    if (!this.downstreamEndStream) {
      // The response ended before the request: the upstream will not read the rest.
      request.resetStream();
    } else {
      request.complete();
    }
    this.upstreamRequest = null;
    this.finished = true;
    const cluster = this.cluster!;
    if (this.shared.settings.dynamicStats && this.downstreamRequestCompleteMs >= 0) {
      const ms = Math.floor(this.dispatcher.approximateMonotonicTime() - this.downstreamRequestCompleteMs);
      codeStatsOf(cluster).chargeResponseTiming(ms, this.isEnvoyInternal());
    }
    this.cleanup();
  }

  /** Envoy's `chargeUpstreamCode`: per-code stats, and a 5xx is the host's error. */
  private chargeUpstreamCode(code: number, host: Host | undefined): void {
    if (!this.shared.settings.dynamicStats) return;
    const cluster = this.cluster!;
    codeStatsOf(cluster).chargeResponse(code, this.isEnvoyInternal());
    if (host !== undefined && code >= 500 && code <= 599) cluster.hostStat(host, 'rq_error', 1);
  }

  /** Envoy's `chargeUpstreamAbort`: a failure before the response counts as its local reply's code. */
  private chargeUpstreamAbort(code: number, host: Host | undefined): void {
    if (this.downstreamResponseStarted) return;
    this.chargeUpstreamCode(code, host);
    if (host !== undefined && (code < 500 || code > 599)) this.cluster!.hostStat(host, 'rq_error', 1);
  }

  /** `x-envoy-internal: true` on the request (Envoy's `isEnvoyInternalRequest`, for the stats split). */
  private isEnvoyInternal(): boolean {
    return this.envoyInternal;
  }

  /**
   * Envoy's `finalTimeout`: the route's timeout and per-try timeout, overridden by a trusted
   * request's headers, which are removed from every request.
   */
  private finalTimeout(headers: HeaderMap, envoyHeaders: boolean): void {
    const action = this.action!;
    let global = action.timeoutMs;
    let perTry = action.retryPolicy.perTryTimeoutMs;
    if (!envoyHeaders) {
      // Nothing to honour or remove.
    } else if (this.internal) {
      const expected = this.shared.settings.respectExpectedRqTimeout
        ? headers.get('x-envoy-expected-rq-timeout-ms')
        : undefined;
      const fromHeader = expected ?? headers.get('x-envoy-upstream-rq-timeout-ms');
      const g = fromHeader === undefined ? undefined : parseUint(fromHeader);
      if (g !== undefined) global = g;
      const p = headers.get('x-envoy-upstream-rq-per-try-timeout-ms');
      const pt = p === undefined ? undefined : parseUint(p);
      if (pt !== undefined) perTry = pt;
      if (headers.has('x-envoy-upstream-rq-timeout-alt-response')) this.timeoutResponseCode = 204;
    } else {
      headers.remove('x-envoy-expected-rq-timeout-ms');
    }
    if (envoyHeaders) {
      headers.remove('x-envoy-upstream-rq-timeout-ms');
      headers.remove('x-envoy-upstream-rq-per-try-timeout-ms');
      headers.remove('x-envoy-upstream-rq-timeout-alt-response');
      headers.remove('x-envoy-upstream-stream-duration-ms');
    }
    if (perTry >= global && global !== 0) perTry = 0;
    this.globalTimeoutMs = global;
    this.perTryTimeoutMs = perTry;
    this.setTimeoutHeaders(0);
  }

  /** Envoy's `setTimeoutHeaders`: what the upstream may still take, in `x-envoy-expected-rq-timeout-ms`. */
  private setTimeoutHeaders(elapsedMs: number): void {
    const global = this.globalTimeoutMs;
    let expected = this.perTryTimeoutMs === 0 ? global : this.perTryTimeoutMs;
    if (expected <= 0) return;
    if (global > 0) expected = elapsedMs >= global ? 1 : Math.min(expected, global - elapsedMs);
    if (!this.shared.settings.suppressEnvoyHeaders) {
      this.upstreamHeaders.set('x-envoy-expected-rq-timeout-ms', String(expected));
    }
  }

  /** `strict_check_headers`: 400 `IH` for an invalid value of a listed header. */
  private failsStrictCheck(headers: HeaderMap): boolean {
    for (const name of this.shared.settings.strictCheckHeaders) {
      const value = headers.get(name);
      if (value === undefined) continue;
      let valid: boolean;
      if (name === 'x-envoy-retry-on' || name === 'x-envoy-retry-grpc-on') {
        valid = validRetryOn(value, name === 'x-envoy-retry-grpc-on');
      } else {
        valid = parseUint(value) !== undefined;
      }
      if (valid) continue;
      this.callbacks.streamInfo.setResponseFlag('InvalidEnvoyRequestHeaders');
      this.localReply({
        status: 400,
        body: `invalid header '${name}' with value '${value}'`,
        details: `request_headers_failed_strict_check{${replaceSpaces(name)}}`,
      });
      return true;
    }
    return false;
  }

  private stopBuffering(): void {
    if (this.retryState !== undefined) {
      this.cluster?.httpStats.retryOrShadowAbandoned.inc();
      this.dropRetryState();
    }
    this.buffering = false;
    this.bufferOverflowed = true;
    this.releaseBuffer();
  }

  private releaseBuffer(): void {
    this.bufferedBody = null;
    this.bufferedBytes = 0;
  }

  private dropRetryState(): void {
    this.retryState?.destroy();
    this.retryState = undefined;
  }

  /** Releases timers and the retry state (Envoy's `cleanup`). */
  private cleanup(): void {
    this.dropRetryState();
    this.responseTimer?.release();
    this.responseTimer = null;
  }

  private localReply(reply: LocalReply): void {
    this.finished = true;
    this.callbacks.sendLocalReply(reply);
  }

  // --- FormatterContext (header mutations with %VAR% values)

  get streamInfo(): StreamInfo {
    return this.callbacks.streamInfo;
  }

  get requestHeaders(): HeaderMap {
    return this.upstreamHeaders;
  }
}
