/**
 * One attempt of a routed request: it asks the host's connection pool for a stream, sends the
 * request (headers, the body as it arrives, trailers) once the pool is ready, holds what
 * arrives before then, runs the per-try timeout, passes the response to the router, and
 * carries flow control both ways (upstream write buffer full -> the router stops reading the
 * downstream; downstream slow -> the upstream connection stops being read).
 *
 * Worker thread; owned by the router filter, one per try (retries make new ones). It holds
 * the pool's pending handle or its encoder, never both. Envoy counterpart: `UpstreamRequest`
 * (source/common/router/upstream_request.cc) with the HTTP generic pool of
 * source/extensions/upstreams/http/http/upstream_request.cc.
 */
import type { Dispatcher, Timer } from '../event/types.ts';
import type {
  Cancellable,
  ConnectionPoolCallbacks,
  HttpConnectionPool,
  PoolFailureReason,
  UpstreamConnectionInfo,
  UpstreamStreamDecoder,
} from '../http/conn-pool/types.ts';
import type { HeaderMap, RequestEncoder, StreamResetReason } from '../http/types.ts';
import type { Host } from '../upstream/types.ts';

/** What an upstream request tells the router. Envoy's `RouterFilterInterface`. */
export interface UpstreamRequestOwner {
  readonly dispatcher: Dispatcher;
  /** The downstream request headers (finalized for upstream). */
  readonly upstreamHeaders: HeaderMap;
  /** The whole downstream request has arrived. */
  readonly downstreamEndStream: boolean;
  /** Bytes waiting before the pool is ready above this: stop reading the downstream. */
  readonly pendingBodyLimit: number;
  /** The downstream asked to stop reading the upstream (its write buffer is full). */
  readonly downstreamReadDisabled: boolean;
  readonly perTryTimeoutMs: number;
  onUpstreamHostSelected(request: UpstreamRequest, host: Host): void;
  onUpstreamPoolReady(request: UpstreamRequest, info: UpstreamConnectionInfo): void;
  onUpstream1xxHeaders(request: UpstreamRequest, headers: HeaderMap): void;
  onUpstreamHeaders(request: UpstreamRequest, status: number, headers: HeaderMap, endStream: boolean): void;
  onUpstreamData(request: UpstreamRequest, data: Buffer, endStream: boolean): void;
  onUpstreamTrailers(request: UpstreamRequest, trailers: HeaderMap): void;
  onUpstreamReset(
    request: UpstreamRequest,
    reason: StreamResetReason,
    transportFailureReason: string,
    retrySafe: boolean,
  ): void;
  onPerTryTimeout(request: UpstreamRequest): void;
  /** Flow control toward the downstream's reads. */
  disableDownstreamReads(): void;
  enableDownstreamReads(): void;
}

const POOL_FAILURE_RESET: Readonly<Record<PoolFailureReason, StreamResetReason>> = {
  Overflow: 'Overflow',
  ConnectionFailure: 'ConnectionFailure',
  Timeout: 'ConnectTimeout',
};

export class UpstreamRequest implements UpstreamStreamDecoder, ConnectionPoolCallbacks {
  readonly owner: UpstreamRequestOwner;
  readonly host: Host;
  private readonly pool: HttpConnectionPool;
  private handle: Cancellable | null = null;
  private encoder: RequestEncoder | null = null;
  /** Held until the pool is ready: body chunks, trailers, and whether the request ended. */
  private pendingBody: Buffer[] | null = null;
  private pendingBytes = 0;
  private pendingTrailers: HeaderMap | null = null;
  private pendingEnd = false;
  private pendingAboveLimit = false;
  private headersSent = false;
  /** The request has been handed to the encoder to its end. */
  encodeComplete = false;
  /** Bytes of the request went to the upstream connection. */
  requestStarted = false;
  awaitingHeaders = true;
  /** Over: completed, reset or failed. */
  done = false;
  /** Upstream write-buffer high watermarks not yet matched by a low one. */
  private upstreamAbove = 0;
  private readDisabled = false;
  private perTryTimer: Timer | null = null;
  private perTryArmed = false;

  constructor(owner: UpstreamRequestOwner, pool: HttpConnectionPool) {
    this.owner = owner;
    this.pool = pool;
    this.host = pool.host;
  }

  /** Asks the pool for a stream; the headers go when it is ready. */
  start(endStream: boolean): void {
    this.pendingEnd = endStream;
    this.owner.onUpstreamHostSelected(this, this.host);
    const handle = this.pool.newStream(this, this);
    if (!this.done && this.encoder === null) this.handle = handle;
  }

  /** Queues (before the pool is ready) or sends a body chunk. */
  acceptData(data: Buffer, endStream: boolean): void {
    if (this.done) return;
    const encoder = this.encoder;
    if (encoder !== null) {
      if (endStream) this.encodeComplete = true;
      encoder.encodeData(data, endStream);
      return;
    }
    if (data.length > 0) {
      if (this.pendingBody === null) this.pendingBody = [];
      this.pendingBody.push(data);
      this.pendingBytes += data.length;
      if (!this.pendingAboveLimit && this.pendingBytes > this.owner.pendingBodyLimit) {
        this.pendingAboveLimit = true;
        this.owner.disableDownstreamReads();
      }
    }
    if (endStream) this.pendingEnd = true;
  }

  acceptTrailers(trailers: HeaderMap): void {
    if (this.done) return;
    const encoder = this.encoder;
    if (encoder !== null) {
      this.encodeComplete = true;
      encoder.encodeTrailers(trailers);
      return;
    }
    this.pendingTrailers = trailers;
    this.pendingEnd = true;
  }

  /** Arms the per-try timeout once the request is complete and a stream is sending it. */
  setupPerTryTimeout(): void {
    const ms = this.owner.perTryTimeoutMs;
    if (ms <= 0 || this.done || this.perTryArmed || this.encoder === null) return;
    this.perTryArmed = true;
    this.perTryTimer ??= this.owner.dispatcher.createTimer(() => {
      if (!this.done) this.owner.onPerTryTimeout(this);
    });
    this.perTryTimer.enableTimer(ms);
  }

  disablePerTryTimeout(): void {
    this.perTryTimer?.disableTimer();
  }

  /** Reads from the upstream connection stop / resume (downstream flow control). */
  readDisable(disable: boolean): void {
    if (this.readDisabled === disable) return;
    this.readDisabled = disable;
    this.encoder?.getStream().readDisable(disable);
  }

  /** Abandons the attempt: withdraws the pending request or resets the stream. */
  resetStream(): void {
    if (this.done) return;
    this.finish();
    if (this.handle !== null) {
      this.handle.cancel();
      this.handle = null;
    }
    const encoder = this.encoder;
    this.encoder = null;
    encoder?.resetStream('LocalReset');
  }

  /** The response ended: stop timers and release flow control; the stream stays the pool's. */
  complete(): void {
    if (this.done) return;
    this.finish();
    this.encoder = null;
  }

  // --- ConnectionPoolCallbacks

  onPoolFailure(reason: PoolFailureReason, transportFailureReason: string, _host: Host): void {
    if (this.done) return;
    this.handle = null;
    this.finish();
    this.owner.onUpstreamReset(this, POOL_FAILURE_RESET[reason], transportFailureReason, false);
  }

  onPoolReady(encoder: RequestEncoder, _host: Host, info: UpstreamConnectionInfo): void {
    if (this.done) {
      encoder.resetStream('LocalReset');
      return;
    }
    this.handle = null;
    this.encoder = encoder;
    this.owner.onUpstreamPoolReady(this, info);
    if (this.owner.downstreamReadDisabled) this.readDisable(true);
    this.sendPending();
    if (this.owner.downstreamEndStream) this.setupPerTryTimeout();
  }

  // --- UpstreamStreamDecoder

  decode1xxHeaders(headers: HeaderMap): void {
    if (!this.done) this.owner.onUpstream1xxHeaders(this, headers);
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    if (this.done) return;
    this.awaitingHeaders = false;
    const status = Number(headers.get(':status') ?? '0');
    this.owner.onUpstreamHeaders(this, status, headers, endStream);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (!this.done) this.owner.onUpstreamData(this, data, endStream);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (!this.done) this.owner.onUpstreamTrailers(this, trailers);
  }

  onUpstreamReset(reason: StreamResetReason, transportFailureReason: string, retrySafe: boolean): void {
    if (this.done) return;
    this.finish();
    this.encoder = null;
    this.owner.onUpstreamReset(this, reason, transportFailureReason, retrySafe);
  }

  onUpstreamAboveWriteBufferHighWatermark(): void {
    if (this.done) return;
    if (this.upstreamAbove++ === 0) this.owner.disableDownstreamReads();
  }

  onUpstreamBelowWriteBufferLowWatermark(): void {
    if (this.done || this.upstreamAbove === 0) return;
    if (--this.upstreamAbove === 0) this.owner.enableDownstreamReads();
  }

  // --- Internals

  private sendPending(): void {
    const encoder = this.encoder!;
    const body = this.pendingBody;
    const trailers = this.pendingTrailers;
    const end = this.pendingEnd;
    this.pendingBody = null;
    this.pendingTrailers = null;
    const headersOnly = end && body === null && trailers === null;
    this.headersSent = true;
    this.requestStarted = true;
    if (headersOnly) this.encodeComplete = true;
    encoder.encodeHeaders(this.owner.upstreamHeaders, headersOnly);
    if (body !== null) {
      const last = body.length - 1;
      for (let i = 0; i <= last && this.encoder !== null; i++) {
        const endHere = end && trailers === null && i === last;
        if (endHere) this.encodeComplete = true;
        encoder.encodeData(body[i]!, endHere);
      }
    }
    if (trailers !== null && this.encoder !== null) {
      this.encodeComplete = true;
      encoder.encodeTrailers(trailers);
    }
    this.releasePendingLimit();
  }

  private releasePendingLimit(): void {
    this.pendingBytes = 0;
    if (!this.pendingAboveLimit) return;
    this.pendingAboveLimit = false;
    this.owner.enableDownstreamReads();
  }

  /** Stops timers and gives back every flow-control hold this attempt placed on the downstream. */
  private finish(): void {
    this.done = true;
    this.perTryTimer?.disableTimer();
    this.pendingBody = null;
    this.pendingTrailers = null;
    this.releasePendingLimit();
    while (this.upstreamAbove > 0) {
      this.upstreamAbove--;
      if (this.upstreamAbove === 0) this.owner.enableDownstreamReads();
    }
  }

  /** True once headers went out (for tests and logs). */
  headersWereSent(): boolean {
    return this.headersSent;
  }
}
