/**
 * Retry state of one downstream request: which failures it retries (`retry_on`, merged with
 * `x-envoy-retry-on` from trusted requests), how many times (`num_retries` or
 * `x-envoy-max-retries`), when (jittered exponential back-off from 25 ms), whether the
 * cluster's retry budget (`max_retries` circuit breaker) allows it, and which hosts the next
 * attempt should avoid (`envoy.retry_host_predicates.previous_hosts`).
 *
 * Worker thread; made by the router for a request whose policy can retry, dropped once the
 * response starts or the stream ends. It holds the cluster's `retries` budget from the moment
 * a retry is scheduled until the next decision (or its end), as Envoy does, and counts
 * `upstream_rq_retry`, `upstream_rq_retry_success`, `upstream_rq_retry_overflow`,
 * `upstream_rq_retry_limit_exceeded` and `upstream_rq_retry_backoff_exponential`. Envoy
 * counterpart: `RetryStateImpl` (source/common/router/retry_state_impl.cc).
 */

import { JitteredExponentialBackOff } from '../common/backoff.ts';
import type { Dispatcher, Timer } from '../event/types.ts';
import { HeaderMapImpl } from '../http/header-map.ts';
import type { HeaderMap, StreamResetReason } from '../http/types.ts';
import type { ResourceManager } from '../upstream/resource-manager.ts';
import type { ClusterHttpStats } from '../upstream/thread-local-cluster-manager.ts';
import type { Host } from '../upstream/types.ts';
import type { RetryPolicy } from './actions.ts';

export const RETRY_ON_5XX = 1 << 0;
export const RETRY_ON_GATEWAY_ERROR = 1 << 1;
export const RETRY_ON_CONNECT_FAILURE = 1 << 2;
export const RETRY_ON_RETRIABLE_4XX = 1 << 3;
export const RETRY_ON_REFUSED_STREAM = 1 << 4;
export const RETRY_ON_RETRIABLE_STATUS_CODES = 1 << 5;
export const RETRY_ON_RESET = 1 << 6;
export const RETRY_ON_RETRIABLE_HEADERS = 1 << 7;
export const RETRY_ON_ENVOY_RATE_LIMITED = 1 << 8;
export const RETRY_ON_RESET_BEFORE_REQUEST = 1 << 9;

const RETRY_ON_BITS: Readonly<Record<string, number>> = {
  '5xx': RETRY_ON_5XX,
  'gateway-error': RETRY_ON_GATEWAY_ERROR,
  'connect-failure': RETRY_ON_CONNECT_FAILURE,
  'retriable-4xx': RETRY_ON_RETRIABLE_4XX,
  'refused-stream': RETRY_ON_REFUSED_STREAM,
  'retriable-status-codes': RETRY_ON_RETRIABLE_STATUS_CODES,
  reset: RETRY_ON_RESET,
  'retriable-headers': RETRY_ON_RETRIABLE_HEADERS,
  'envoy-ratelimited': RETRY_ON_ENVOY_RATE_LIMITED,
  'reset-before-request': RETRY_ON_RESET_BEFORE_REQUEST,
};

/** The `retry_on` bits of a comma-separated list; unknown (and gRPC) values count for nothing. */
export function parseRetryOn(values: readonly string[] | string): number {
  const list = typeof values === 'string' ? values.split(',') : values;
  let bits = 0;
  for (const v of list) bits |= RETRY_ON_BITS[v.trim()] ?? 0;
  return bits;
}

const GRPC_RETRY_ON = new Set([
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

/**
 * Every comma-separated value is a known `retry_on` (or, for `x-envoy-retry-grpc-on`, gRPC)
 * condition: Envoy's `strict_check_headers` test.
 */
export function validRetryOn(value: string, grpc: boolean): boolean {
  for (const v of value.split(',')) {
    const t = v.trim();
    if (grpc ? !GRPC_RETRY_ON.has(t) : RETRY_ON_BITS[t] === undefined && t !== 'http3-post-connect-failure') {
      return false;
    }
  }
  return true;
}

/** What a retry decision says. Envoy's `RetryStatus`. */
export type RetryStatus = 'No' | 'NoOverflow' | 'NoRetryLimitExceeded' | 'Yes';

type RetryDecision = 'NoRetry' | 'RetryWithBackoff' | 'RetryImmediately';

/** The router, which runs a retry when its time comes. */
export interface RetryCallbacks {
  doRetry(): void;
}

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';

/** Non-negative decimal integer (absl::SimpleAtoi for uint), or undefined. */
export function parseUint(value: string): number | undefined {
  const s = value.trim();
  if (s.length === 0 || s.length > 15) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(s);
}

/**
 * False when `headers` certainly has no `x-envoy-*` header, so the router can skip looking for
 * (and removing) each control header one by one: one pass over the keys instead of a dozen.
 */
export function mayHaveEnvoyHeaders(headers: HeaderMap): boolean {
  if (!(headers instanceof HeaderMapImpl)) return true;
  for (let i = 0; i < headers.size; i++) {
    const key = headers.keyAt(i);
    if (key.length > 8 && key.charCodeAt(0) === 0x78 /* x */ && key.startsWith('x-envoy-')) return true;
  }
  return false;
}

/** The x-envoy-* request headers a retry state reads (and removes, trusted or not). */
const RETRY_HEADERS = [
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-hedge-on-per-try-timeout',
] as const;

export class RetryState {
  private retryOn: number;
  private retriesRemaining: number;
  private readonly policy: RetryPolicy;
  private readonly retriableStatusCodes: number[];
  /** Header names from `x-envoy-retriable-header-names`: a response with any of them is retriable. */
  private readonly retriableHeaderNames: string[];
  private readonly stats: ClusterHttpStats;
  private readonly resources: ResourceManager;
  private readonly dispatcher: Dispatcher;
  private readonly callbacks: RetryCallbacks;
  private readonly backOff: JitteredExponentialBackOff;
  private readonly avoidPreviousHosts: boolean;
  private attemptedHosts: Host[] | null = null;
  private timer: Timer | null = null;
  /** A retry is scheduled or running and holds the retry budget. */
  private retryPending = false;

  private constructor(fields: {
    policy: RetryPolicy;
    retryOn: number;
    retriesRemaining: number;
    retriableStatusCodes: number[];
    retriableHeaderNames: string[];
    stats: ClusterHttpStats;
    resources: ResourceManager;
    dispatcher: Dispatcher;
    callbacks: RetryCallbacks;
    random: () => number;
  }) {
    this.policy = fields.policy;
    this.retryOn = fields.retryOn;
    this.retriesRemaining = fields.retriesRemaining;
    this.retriableStatusCodes = fields.retriableStatusCodes;
    this.retriableHeaderNames = fields.retriableHeaderNames;
    this.stats = fields.stats;
    this.resources = fields.resources;
    this.dispatcher = fields.dispatcher;
    this.callbacks = fields.callbacks;
    this.backOff = new JitteredExponentialBackOff(
      fields.policy.baseIntervalMs,
      Math.max(fields.policy.maxIntervalMs, fields.policy.baseIntervalMs),
      fields.random,
    );
    this.avoidPreviousHosts = fields.policy.retryHostPredicates.includes(PREVIOUS_HOSTS);
  }

  /**
   * The retry state for a request, or undefined when nothing can make it retry. Removes the
   * retry headers from `headers` either way; reads them only when `trusted` (an internal
   * request). Envoy's `RetryStateImpl::create`.
   */
  static create(fields: {
    policy: RetryPolicy;
    headers: HeaderMap;
    trusted: boolean;
    /** False when the request has no `x-envoy-*` header at all (see `mayHaveEnvoyHeaders`). */
    envoyHeaders: boolean;
    stats: ClusterHttpStats;
    resources: ResourceManager;
    dispatcher: Dispatcher;
    callbacks: RetryCallbacks;
    random: () => number;
  }): RetryState | undefined {
    const { policy, headers } = fields;
    const readHeaders = fields.trusted && fields.envoyHeaders;
    const headerRetryOn = readHeaders ? headers.get('x-envoy-retry-on') : undefined;
    const maxRetries = readHeaders ? headers.get('x-envoy-max-retries') : undefined;
    const codes = readHeaders ? headers.get('x-envoy-retriable-status-codes') : undefined;
    const names = readHeaders ? headers.get('x-envoy-retriable-header-names') : undefined;
    // Consumed here so they never reach the upstream (Envoy removes them whoever sent them).
    if (fields.envoyHeaders) for (const h of RETRY_HEADERS) headers.remove(h);
    let retryOn = parseRetryOn(policy.retryOn);
    if (headerRetryOn !== undefined) retryOn |= parseRetryOn(headerRetryOn);
    // Nothing turns retries on (the usual route): no state is built.
    if (retryOn === 0) return undefined;
    let retriesRemaining = policy.numRetries;
    const retriableStatusCodes = [...policy.retriableStatusCodes];
    if (codes !== undefined) {
      for (const c of codes.split(',')) {
        const n = parseUint(c);
        if (n !== undefined) retriableStatusCodes.push(n);
      }
    }
    const retriableHeaderNames: string[] = [];
    if (names !== undefined) {
      for (const n of names.split(',')) {
        const name = n.trim().toLowerCase();
        if (name !== '') retriableHeaderNames.push(name);
      }
    }
    if (policy.retriableRequestHeaders.length > 0) {
      // The route retries only requests matching one of these.
      let match = false;
      for (const m of policy.retriableRequestHeaders) {
        if (m.matches(headers)) {
          match = true;
          break;
        }
      }
      if (!match) return undefined;
    }
    if (maxRetries !== undefined) {
      const n = parseUint(maxRetries);
      if (n !== undefined) retriesRemaining = n;
    }
    return new RetryState({
      policy,
      retryOn,
      retriesRemaining,
      retriableStatusCodes,
      retriableHeaderNames,
      stats: fields.stats,
      resources: fields.resources,
      dispatcher: fields.dispatcher,
      callbacks: fields.callbacks,
      random: fields.random,
    });
  }

  enabled(): boolean {
    return this.retryOn !== 0;
  }

  /** Whether this response would be retried, budgets aside. */
  wouldRetryFromHeaders(headers: HeaderMap): boolean {
    return this.decideFromHeaders(headers) !== 'NoRetry';
  }

  /** Decides on a response; on `Yes` the retry is scheduled. */
  shouldRetryHeaders(headers: HeaderMap): RetryStatus {
    return this.shouldRetry(this.decideFromHeaders(headers));
  }

  /**
   * Decides on a reset (or a connection failure, or a per-try timeout as `LocalReset`).
   * `requestStarted`: bytes of the request reached the upstream (for `reset-before-request`).
   */
  shouldRetryReset(reason: StreamResetReason, requestStarted: boolean): RetryStatus {
    return this.shouldRetry(this.decideFromReset(reason, requestStarted));
  }

  onHostAttempted(host: Host): void {
    if (!this.avoidPreviousHosts) return;
    if (this.attemptedHosts === null) this.attemptedHosts = [];
    this.attemptedHosts.push(host);
  }

  /** The `previous_hosts` predicate: avoid the hosts already tried. */
  shouldSelectAnotherHost(host: Host): boolean {
    return this.attemptedHosts?.includes(host) === true;
  }

  hostSelectionMaxAttempts(): number {
    return this.policy.hostSelectionRetryMaxAttempts;
  }

  /** The stream is done with retries: gives the budget back and stops the timer. */
  destroy(): void {
    this.releaseBudget();
    this.timer?.disableTimer();
  }

  private decideFromHeaders(headers: HeaderMap): RetryDecision {
    const on = this.retryOn;
    if (headers.has('x-envoy-ratelimited')) {
      return on & RETRY_ON_ENVOY_RATE_LIMITED ? 'RetryWithBackoff' : 'NoRetry';
    }
    const status = Number(headers.get(':status') ?? '0');
    if (on & RETRY_ON_5XX && status >= 500 && status < 600) return 'RetryWithBackoff';
    if (on & RETRY_ON_GATEWAY_ERROR && status >= 502 && status <= 504) return 'RetryWithBackoff';
    if (on & RETRY_ON_RETRIABLE_4XX && status === 409) return 'RetryWithBackoff';
    if (on & RETRY_ON_RETRIABLE_STATUS_CODES && this.retriableStatusCodes.includes(status)) {
      return 'RetryWithBackoff';
    }
    if (on & RETRY_ON_RETRIABLE_HEADERS) {
      for (const m of this.policy.retriableHeaders) if (m.matches(headers)) return 'RetryWithBackoff';
      for (const name of this.retriableHeaderNames) if (headers.has(name)) return 'RetryWithBackoff';
    }
    return 'NoRetry';
  }

  private decideFromReset(reason: StreamResetReason, requestStarted: boolean): RetryDecision {
    const on = this.retryOn;
    // An overflow is the cluster's, not the host's: never retried.
    if (reason === 'Overflow') return 'NoRetry';
    if (reason === 'ConnectionFailure' || reason === 'ConnectTimeout') {
      if (on & RETRY_ON_CONNECT_FAILURE) return 'RetryWithBackoff';
    }
    if (on & (RETRY_ON_5XX | RETRY_ON_GATEWAY_ERROR | RETRY_ON_RESET)) return 'RetryWithBackoff';
    if (on & RETRY_ON_RESET_BEFORE_REQUEST && !requestStarted) return 'RetryWithBackoff';
    return 'NoRetry';
  }

  private shouldRetry(decision: RetryDecision): RetryStatus {
    const stats = this.stats;
    // A retry ran before and this attempt needs none: that retry worked.
    if (this.retryPending && decision === 'NoRetry') stats.upstreamRqRetrySuccess.inc();
    this.releaseBudget();
    if (decision === 'NoRetry') return 'No';
    if (this.retriesRemaining === 0) {
      stats.upstreamRqRetryLimitExceeded.inc();
      return 'NoRetryLimitExceeded';
    }
    this.retriesRemaining--;
    const budget = this.resources.retries;
    if (!budget.canCreate()) {
      stats.upstreamRqRetryOverflow.inc();
      return 'NoOverflow';
    }
    budget.inc();
    this.retryPending = true;
    stats.upstreamRqRetry.inc();
    this.timer ??= this.dispatcher.createTimer(() => this.callbacks.doRetry());
    if (decision === 'RetryWithBackoff') {
      stats.upstreamRqRetryBackoffExponential.inc();
      this.timer.enableTimer(this.backOff.nextBackOffMs());
    } else {
      this.timer.enableTimer(0);
    }
    return 'Yes';
  }

  private releaseBudget(): void {
    if (!this.retryPending) return;
    this.retryPending = false;
    this.resources.retries.dec();
  }
}
