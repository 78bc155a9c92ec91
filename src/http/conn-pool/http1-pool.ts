/**
 * The HTTP/1 connection pool of one upstream host (at one priority) on one worker: it keeps
 * connections open between requests (keep-alive), gives each request a connection of its own
 * (HTTP/1 carries one stream at a time), queues requests while connections are being opened,
 * and closes connections that stay idle, reach `max_requests_per_connection` or
 * `max_connection_duration`.
 *
 * Worker thread; owns its connections, their codecs and the queue of pending requests. The
 * cluster's circuit breakers bound it: `max_pending_requests` (a request that would have to
 * queue beyond it fails with `Overflow` and counts `upstream_rq_pending_overflow`),
 * `max_connections` (no new connection beyond it, `upstream_cx_overflow`, and the request
 * waits for a connection to free up — except that a host with no connection at all always
 * gets one, as in Envoy), `max_requests` (checked when a request gets its connection). A
 * connection that fails or times out (`connect_timeout`) fails every queued request, whose
 * routers then retry or answer. A request sent on a reused connection that the upstream had
 * closed (the keep-alive race) is reported to the router as a `ConnectionTermination` reset
 * with `retrySafe` when no response byte arrived. Per request the pool allocates one small
 * stream object (and a queue entry only when it has to wait); per connection a few timers.
 * Stats: `cluster.<name>.upstream_cx_*`, `upstream_rq_pending_*`, `upstream_rq_total` /
 * `_active` / `_cancelled` / `_rx_reset` / `_tx_reset`, and the host's `/clusters` counters.
 * Envoy counterpart: `source/common/http/http1/conn_pool.cc`,
 * `source/common/conn_pool/conn_pool_base.cc` and `source/common/http/conn_pool_base.cc`.
 */

import { constants } from 'node:os';
import { removeIndex } from '../../common/array.ts';
import { MutableFields } from '../../common/mutable-fields.ts';
import { IdleTimeout } from '../../event/idle-timeout.ts';
import type { Dispatcher, SchedulableCallback, Timer } from '../../event/types.ts';
import type { ConnectionImpl } from '../../network/connection.ts';
import type {
  ConnectionCallbacks,
  ConnectionEvent,
  FilterStatus,
  ReadFilter,
  WriteFilter,
} from '../../network/types.ts';
import type { ResourceManager } from '../../upstream/resource-manager.ts';
import type { ThreadLocalCluster } from '../../upstream/thread-local-cluster-manager.ts';
import type { Host } from '../../upstream/types.ts';
import { hasToken } from '../http1/chars.ts';
import { ClientConnectionImpl } from '../http1/codec.ts';
import type {
  ClientConnectionCallbacks,
  HeaderMap,
  RequestEncoder,
  ResponseDecoder,
  Stream,
  StreamCallbacks,
  StreamResetReason,
} from '../types.ts';
import type {
  Cancellable,
  ClusterHttpSettings,
  ConnectionPoolCallbacks,
  HttpConnectionPool,
  UpstreamConnectionInfo,
  UpstreamStreamDecoder,
} from './types.ts';

/** What a pool needs of its cluster: the worker's `ThreadLocalCluster`. */
export type PoolCluster = Pick<
  ThreadLocalCluster,
  'data' | 'stats' | 'httpStats' | 'connect' | 'hostStat' | 'resources'
>;

const ERRNO: Readonly<Record<string, number>> = constants.errno;

/** Envoy's transport failure reason for a failed connect: `delayed connect error: 111`. */
export function connectFailureReason(code: string): string {
  if (code === '') return '';
  const n = ERRNO[code];
  return n === undefined ? code : `delayed connect error: ${n}`;
}

const CONNECTING = 0;
const READY = 1;
const BUSY = 2;
const CLOSED = 3;
type ClientState = typeof CONNECTING | typeof READY | typeof BUSY | typeof CLOSED;

/** Fields only a reset, a close or a timeout changes (see `src/common/mutable-fields.ts`). */
const STREAM_RESET_FIELDS = new MutableFields({ detached: true });
const CLIENT_CLOSE_FIELDS = new MutableFields({
  draining: true,
  timedOut: true,
  remoteHalfClosed: true,
  closedWithActiveStream: true,
});

/**
 * One request's stream on a connection: the router's encoder, the codec's decoder and the
 * codec stream's callbacks, so the pool sees how the stream ends and the router gets
 * Envoy's reset semantics. Dead once `done`: later calls are ignored.
 */
class ActiveStream
  implements RequestEncoder, Stream, ResponseDecoder, StreamCallbacks, UpstreamConnectionInfo
{
  readonly client: ActiveClient;
  readonly decoder: UpstreamStreamDecoder;
  readonly localAddress: string;
  readonly previousStreams: number;
  codecStream: RequestEncoder | null = null;
  /** The pool has released the stream. */
  done = false;
  /** The router reset it: no more events go to the router. */
  detached = false;
  responseStarted = false;
  private requestComplete = false;
  private responseComplete = false;
  private extraCallbacks: StreamCallbacks[] | null = null;

  constructor(client: ActiveClient, decoder: UpstreamStreamDecoder) {
    this.client = client;
    this.decoder = decoder;
    this.localAddress = client.localAddress;
    this.previousStreams = client.streamsServed;
    STREAM_RESET_FIELDS.mark(this);
  }

  // --- RequestEncoder (the router)

  encodeHeaders(headers: HeaderMap, endStream: boolean): void {
    if (this.done || this.detached) return;
    if (endStream) this.requestComplete = true;
    this.codecStream!.encodeHeaders(headers, endStream);
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (this.done || this.detached) return;
    if (endStream) this.requestComplete = true;
    this.codecStream!.encodeData(data, endStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.done || this.detached) return;
    this.requestComplete = true;
    this.codecStream!.encodeTrailers(trailers);
  }

  /** The router abandons the stream: HTTP/1 closes the connection. */
  resetStream(reason: StreamResetReason): void {
    if (this.done || this.detached) return;
    this.detached = true;
    if (this.requestComplete && this.responseComplete) {
      // Both directions are over; the codec reports completion once its current event returns.
      return;
    }
    this.done = true;
    this.client.pool.cluster.httpStats.upstreamRqTxReset.inc();
    this.client.closedWithActiveStream = true;
    this.codecStream!.resetStream(reason);
    this.client.pool.onStreamEnded(this.client, false);
  }

  getStream(): Stream {
    return this;
  }

  // --- Stream

  addCallbacks(callbacks: StreamCallbacks): void {
    if (this.extraCallbacks === null) this.extraCallbacks = [];
    this.extraCallbacks.push(callbacks);
  }

  removeCallbacks(callbacks: StreamCallbacks): void {
    const i = this.extraCallbacks?.indexOf(callbacks) ?? -1;
    if (i >= 0) removeIndex(this.extraCallbacks!, i);
  }

  readDisable(disable: boolean): void {
    if (!this.done && !this.detached) this.codecStream!.getStream().readDisable(disable);
  }

  // --- ResponseDecoder (the codec)

  decode1xxHeaders(headers: HeaderMap): void {
    if (this.done || this.detached) return;
    this.responseStarted = true;
    this.decoder.decode1xxHeaders(headers);
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    if (this.done || this.detached) return;
    this.responseStarted = true;
    const connection = headers.get('connection');
    if (connection !== undefined && hasToken(connection, 'close')) {
      this.client.pool.cluster.httpStats.upstreamCxCloseNotify.inc();
    }
    if (endStream) this.responseComplete = true;
    this.decoder.decodeHeaders(headers, endStream);
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.done || this.detached) return;
    this.responseStarted = true;
    if (endStream) this.responseComplete = true;
    this.decoder.decodeData(data, endStream);
  }

  decodeTrailers(trailers: HeaderMap): void {
    if (this.done || this.detached) return;
    this.responseComplete = true;
    this.decoder.decodeTrailers(trailers);
  }

  // --- StreamCallbacks (the codec's stream)

  onResetStream(reason: StreamResetReason, details: string): void {
    if (this.done) return;
    this.done = true;
    const client = this.client;
    client.pool.cluster.httpStats.upstreamRqRxReset.inc();
    client.closedWithActiveStream = true;
    if (reason === 'ProtocolError') client.pool.cluster.httpStats.upstreamCxProtocolError.inc();
    const retrySafe = reason === 'ConnectionTermination' && this.previousStreams > 0 && !this.responseStarted;
    client.pool.onStreamEnded(client, false);
    if (this.detached) return;
    const extra = this.extraCallbacks;
    if (extra !== null) for (let i = 0; i < extra.length; i++) extra[i]!.onResetStream(reason, details);
    this.decoder.onUpstreamReset(reason, '', retrySafe);
  }

  onAboveWriteBufferHighWatermark(): void {
    if (!this.done && !this.detached) this.decoder.onUpstreamAboveWriteBufferHighWatermark();
  }

  onBelowWriteBufferLowWatermark(): void {
    if (!this.done && !this.detached) this.decoder.onUpstreamBelowWriteBufferLowWatermark();
  }

  /** The codec finished the exchange (request written, response read). */
  complete(keepAlive: boolean): void {
    if (this.done) return;
    this.done = true;
    this.client.pool.onStreamEnded(this.client, keepAlive);
  }
}

/** A request waiting for a connection. */
class PendingStream implements Cancellable {
  readonly pool: Http1ConnPool;
  readonly decoder: UpstreamStreamDecoder;
  readonly callbacks: ConnectionPoolCallbacks;

  constructor(pool: Http1ConnPool, decoder: UpstreamStreamDecoder, callbacks: ConnectionPoolCallbacks) {
    this.pool = pool;
    this.decoder = decoder;
    this.callbacks = callbacks;
  }

  cancel(): void {
    this.pool.cancelPending(this);
  }
}

/** One upstream connection and its codec. */
class ActiveClient implements ReadFilter, WriteFilter, ConnectionCallbacks, ClientConnectionCallbacks {
  readonly pool: Http1ConnPool;
  readonly connection: ConnectionImpl;
  readonly codec: ClientConnectionImpl;
  state: ClientState = CONNECTING;
  stream: ActiveStream | null = null;
  /** Streams completed on this connection. */
  streamsServed = 0;
  /** Streams started on this connection. */
  private streamsStarted = 0;
  /** Close once the current stream ends (max requests, max duration, pool draining). */
  draining = false;
  timedOut = false;
  remoteHalfClosed = false;
  closedWithActiveStream = false;
  localAddress = '';
  readonly connectStartMs: number;
  connectedAtMs = 0;
  private connectTimer: Timer | null = null;
  /** Runs while the connection is ready and unused (it does nothing while a stream is attached). */
  private idleTimer: IdleTimeout | null = null;
  private durationTimer: Timer | null = null;

  constructor(pool: Http1ConnPool, connection: ConnectionImpl) {
    this.pool = pool;
    this.connection = connection;
    // The codec registers its connection callbacks first, so it reports a stream's reset
    // before this client hears the connection closed.
    this.codec = new ClientConnectionImpl(connection, pool.settings.http1, this);
    connection.addReadFilter(this);
    connection.addWriteFilter(this);
    connection.addConnectionCallbacks(this);
    this.connectStartMs = pool.dispatcher.updateApproximateMonotonicTime();
    this.connectTimer = pool.dispatcher.createTimer(() => this.onConnectTimeout());
    this.connectTimer.enableTimer(pool.cluster.data.connectTimeoutMs);
    CLIENT_CLOSE_FIELDS.mark(this);
  }

  /** Counts a new stream; true when it is the last one `max_requests_per_connection` allows. */
  startStream(): boolean {
    this.streamsStarted++;
    const max = this.pool.settings.maxRequestsPerConnection;
    return max > 0 && this.streamsStarted >= max;
  }

  close(): void {
    if (this.state === CLOSED) return;
    this.connection.close('NoFlush');
  }

  /** The connection became ready and unused: the idle timeout starts (again). */
  restartIdleTimer(): void {
    const ms = this.pool.settings.idleTimeoutMs;
    if (ms <= 0) return;
    this.idleTimer ??= new IdleTimeout(this.pool.dispatcher, () => this.onIdleTimeout());
    this.idleTimer.restart(ms);
  }

  disarmTimers(): void {
    this.connectTimer?.disableTimer();
    this.idleTimer?.cancel();
    this.durationTimer?.disableTimer();
  }

  // --- ReadFilter / WriteFilter: the codec reads the connection; bytes are counted both ways.

  onData(data: Buffer, endStream: boolean): FilterStatus {
    if (data.length > 0) this.pool.cluster.stats.upstreamCxRxBytesTotal.add(data.length);
    if (endStream) this.remoteHalfClosed = true;
    this.codec.dispatch(data, endStream);
    return 'StopIteration';
  }

  onWrite(data: Buffer, _endStream: boolean): FilterStatus {
    if (data.length > 0) this.pool.cluster.stats.upstreamCxTxBytesTotal.add(data.length);
    return 'Continue';
  }

  // --- ConnectionCallbacks

  onEvent(event: ConnectionEvent): void {
    if (event === 'Connected') {
      this.connectTimer?.disableTimer();
      this.connectedAtMs = this.pool.dispatcher.updateApproximateMonotonicTime();
      this.localAddress = `${this.connection.localAddress}:${this.connection.localPort}`;
      const ms = this.pool.settings.maxConnectionDurationMs;
      if (ms > 0) {
        this.durationTimer = this.pool.dispatcher.createTimer(() => this.onMaxDuration());
        this.durationTimer.enableTimer(ms);
      }
      this.pool.onClientConnected(this);
      return;
    }
    this.pool.onClientClosed(this, event === 'RemoteClose' || this.remoteHalfClosed);
  }

  onAboveWriteBufferHighWatermark(): void {
    this.pool.cluster.stats.upstreamFlowControlBackedUpTotal.inc();
  }

  onBelowWriteBufferLowWatermark(): void {
    this.pool.cluster.stats.upstreamFlowControlDrainedTotal.inc();
  }

  // --- ClientConnectionCallbacks

  onStreamComplete(keepAlive: boolean): void {
    this.stream?.complete(keepAlive);
  }

  // --- Timers

  private onConnectTimeout(): void {
    if (this.state !== CONNECTING) return;
    this.timedOut = true;
    this.pool.cluster.stats.upstreamCxConnectTimeout.inc();
    this.close();
  }

  private onIdleTimeout(): void {
    if (this.state !== READY) return;
    this.pool.cluster.httpStats.upstreamCxIdleTimeout.inc();
    this.close();
  }

  private onMaxDuration(): void {
    this.pool.cluster.httpStats.upstreamCxMaxDurationReached.inc();
    if (this.state === BUSY) this.draining = true;
    else this.close();
  }
}

/**
 * The pool. `onEmpty` runs when it holds no connection and no pending request any more (its
 * owner may forget it).
 */
export class Http1ConnPool implements HttpConnectionPool {
  readonly host: Host;
  readonly cluster: PoolCluster;
  readonly dispatcher: Dispatcher;
  settings: ClusterHttpSettings;
  private readonly resources: ResourceManager;
  private readonly nextConnectionId: () => number;
  private readonly onEmpty: ((pool: Http1ConnPool) => void) | undefined;
  /** Idle connections, the most recently used last (reused first, as Envoy does). */
  private readonly ready: ActiveClient[] = [];
  private readonly busy: ActiveClient[] = [];
  private readonly connecting: ActiveClient[] = [];
  private readonly pending: PendingStream[] = [];
  private readonly upstreamReady: SchedulableCallback;
  private draining = false;
  private closing = false;

  constructor(fields: {
    host: Host;
    cluster: PoolCluster;
    dispatcher: Dispatcher;
    settings: ClusterHttpSettings;
    priority: 'default' | 'high';
    nextConnectionId: () => number;
    onEmpty?: (pool: Http1ConnPool) => void;
  }) {
    this.host = fields.host;
    this.cluster = fields.cluster;
    this.dispatcher = fields.dispatcher;
    this.settings = fields.settings;
    this.resources = fields.cluster.resources[fields.priority];
    this.nextConnectionId = fields.nextConnectionId;
    this.onEmpty = fields.onEmpty;
    this.upstreamReady = fields.dispatcher.createSchedulableCallback(() => this.onUpstreamReady());
  }

  newStream(decoder: UpstreamStreamDecoder, callbacks: ConnectionPoolCallbacks): Cancellable | null {
    const client = this.takeReadyClient();
    if (client !== undefined) {
      this.attach(client, decoder, callbacks);
      return null;
    }
    if (!this.resources.pendingRequests.canCreate()) {
      this.cluster.httpStats.upstreamRqPendingOverflow.inc();
      callbacks.onPoolFailure('Overflow', '', this.host);
      return null;
    }
    const pending = new PendingStream(this, decoder, callbacks);
    this.resources.pendingRequests.inc();
    this.cluster.httpStats.upstreamRqPendingTotal.inc();
    this.cluster.httpStats.upstreamRqPendingActive.inc();
    this.pending.push(pending);
    this.tryCreateConnection();
    return pending;
  }

  hasActiveConnections(): boolean {
    return (
      this.pending.length > 0 || this.ready.length > 0 || this.busy.length > 0 || this.connecting.length > 0
    );
  }

  drainConnections(): void {
    this.draining = true;
    for (const c of this.busy) c.draining = true;
    for (const c of this.connecting) c.draining = true;
    const idle = this.ready.splice(0);
    for (const c of idle) c.close();
  }

  closeConnections(): void {
    this.closing = true;
    const pending = this.pending.splice(0);
    for (const p of pending) this.releasePending(p);
    for (const c of [...this.ready, ...this.busy, ...this.connecting]) c.close();
    for (const p of pending) p.callbacks.onPoolFailure('ConnectionFailure', '', this.host);
    this.closing = false;
    this.checkEmpty();
  }

  /** Connections by state, for tests and admin. */
  connectionCounts(): { ready: number; busy: number; connecting: number; pending: number } {
    return {
      ready: this.ready.length,
      busy: this.busy.length,
      connecting: this.connecting.length,
      pending: this.pending.length,
    };
  }

  // --- Called by the clients and streams above

  cancelPending(p: PendingStream): void {
    const i = this.pending.indexOf(p);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.releasePending(p);
    this.cluster.httpStats.upstreamRqCancelled.inc();
    this.checkEmpty();
  }

  onClientConnected(client: ActiveClient): void {
    const cluster = this.cluster;
    cluster.stats.upstreamCxConnectMs.recordValue(client.connectedAtMs - client.connectStartMs);
    removeFrom(this.connecting, client);
    const next = this.pending.shift();
    if (next !== undefined) {
      this.releasePending(next);
      this.attach(client, next.decoder, next.callbacks);
      return;
    }
    if (client.draining || this.closing) {
      client.state = BUSY; // counted until the close event
      this.busy.push(client);
      client.close();
      return;
    }
    this.becomeReady(client);
  }

  onClientClosed(client: ActiveClient, remote: boolean): void {
    if (client.state === CLOSED) return;
    const wasConnecting = client.state === CONNECTING;
    client.state = CLOSED;
    client.disarmTimers();
    if (!removeFrom(this.connecting, client) && !removeFrom(this.ready, client))
      removeFrom(this.busy, client);
    const cluster = this.cluster;
    const host = this.host;
    this.resources.connections.dec();
    host.activeConnections--;
    cluster.hostStat(host, 'cx_active', -1);
    cluster.stats.upstreamCxActive.dec();
    cluster.stats.upstreamCxDestroy.inc();
    if (remote) cluster.stats.upstreamCxDestroyRemote.inc();
    else cluster.stats.upstreamCxDestroyLocal.inc();
    if (client.closedWithActiveStream) {
      cluster.httpStats.upstreamCxDestroyWithActiveRq.inc();
      if (remote) cluster.httpStats.upstreamCxDestroyRemoteWithActiveRq.inc();
      else cluster.httpStats.upstreamCxDestroyLocalWithActiveRq.inc();
    }
    // A stream the codec did not report (it should have): account for it and tell the router.
    const orphan = client.stream;
    if (orphan !== null && !orphan.done) orphan.onResetStream('ConnectionTermination', 'upstream_disconnect');

    if (wasConnecting) {
      cluster.stats.upstreamCxConnectFail.inc();
      cluster.hostStat(host, 'cx_connect_fail', 1);
      const reason = client.timedOut ? 'Timeout' : 'ConnectionFailure';
      const transport = client.timedOut
        ? ''
        : connectFailureReason(client.connection.transportFailureReason());
      // Every queued request fails (Envoy's purgePendingStreams); requests their routers queue
      // again while being told (retries) stay queued.
      const failed = this.pending.splice(0);
      for (const p of failed) {
        this.releasePending(p);
        cluster.httpStats.upstreamRqPendingFailureEject.inc();
      }
      for (const p of failed) p.callbacks.onPoolFailure(reason, transport, host);
    } else {
      cluster.stats.upstreamCxLengthMs.recordValue(
        this.dispatcher.updateApproximateMonotonicTime() - client.connectedAtMs,
      );
    }
    if (this.pending.length > 0) this.tryCreateConnection();
    this.checkEmpty();
  }

  /** A stream ended (completed, or reset either way). */
  onStreamEnded(client: ActiveClient, keepAlive: boolean): void {
    const cluster = this.cluster;
    const host = this.host;
    client.stream = null;
    client.streamsServed++;
    this.resources.requests.dec();
    cluster.httpStats.upstreamRqActive.dec();
    cluster.hostStat(host, 'rq_active', -1);
    host.activeRequests--;
    if (client.state !== BUSY) return;
    if (keepAlive && !client.draining && !this.draining && !this.closing && client.codec.idle()) {
      removeFrom(this.busy, client);
      this.becomeReady(client);
      if (this.pending.length > 0) this.upstreamReady.scheduleCallbackCurrentIteration();
      return;
    }
    if (keepAlive && client.codec.idle()) {
      // Draining: nothing more on this connection.
      client.close();
    }
    // Otherwise the codec is closing it (not keep-alive) or it was reset: the close event follows.
  }

  // --- Internals

  /**
   * The most recently used idle connection that can still carry a request. One whose codec
   * already closed it (the upstream's FIN was read, the close event is still to come) waits
   * among the busy ones for that event instead.
   */
  private takeReadyClient(): ActiveClient | undefined {
    for (;;) {
      const client = this.ready.pop();
      if (client === undefined || client.codec.idle()) return client;
      client.state = BUSY;
      this.busy.push(client);
    }
  }

  private becomeReady(client: ActiveClient): void {
    client.state = READY;
    this.ready.push(client);
    client.restartIdleTimer();
  }

  /** Serves queued requests with connections that became idle. */
  private onUpstreamReady(): void {
    while (this.pending.length > 0) {
      const client = this.takeReadyClient();
      if (client === undefined) return;
      const p = this.pending.shift()!;
      this.releasePending(p);
      this.attach(client, p.decoder, p.callbacks);
    }
  }

  private attach(
    client: ActiveClient,
    decoder: UpstreamStreamDecoder,
    callbacks: ConnectionPoolCallbacks,
  ): void {
    const cluster = this.cluster;
    const host = this.host;
    if (!this.resources.requests.canCreate()) {
      // `max_requests`: the connection stays for someone else.
      if (client.state === READY || client.state === CONNECTING) this.becomeReady(client);
      cluster.httpStats.upstreamRqPendingOverflow.inc();
      callbacks.onPoolFailure('Overflow', '', host);
      return;
    }
    this.resources.requests.inc();
    cluster.httpStats.upstreamRqTotal.inc();
    cluster.httpStats.upstreamRqActive.inc();
    cluster.hostStat(host, 'rq_total', 1);
    cluster.hostStat(host, 'rq_active', 1);
    host.activeRequests++;
    // The idle timer stays armed: it ignores a busy connection and restarts when it is ready again.
    client.state = BUSY;
    this.busy.push(client);
    if (client.startStream()) {
      cluster.httpStats.upstreamCxMaxRequests.inc();
      client.draining = true;
    }
    const stream = new ActiveStream(client, decoder);
    client.stream = stream;
    const codecStream = client.codec.newStream(stream);
    stream.codecStream = codecStream;
    codecStream.getStream().addCallbacks(stream);
    callbacks.onPoolReady(stream, host, stream);
  }

  private tryCreateConnection(): void {
    if (this.closing || this.connecting.length >= this.pending.length) return;
    const canCreate = this.resources.connections.canCreate();
    if (!canCreate) this.cluster.stats.upstreamCxOverflow.inc();
    const none = this.ready.length === 0 && this.busy.length === 0 && this.connecting.length === 0;
    if (!canCreate && !none) return;
    this.createClient();
  }

  private createClient(): void {
    const cluster = this.cluster;
    const host = this.host;
    const connection = cluster.connect(host, this.nextConnectionId());
    const client = new ActiveClient(this, connection);
    this.connecting.push(client);
    this.resources.connections.inc();
    host.activeConnections++;
    cluster.hostStat(host, 'cx_total', 1);
    cluster.hostStat(host, 'cx_active', 1);
    cluster.stats.upstreamCxTotal.inc();
    cluster.stats.upstreamCxActive.inc();
    cluster.httpStats.upstreamCxHttp1Total.inc();
  }

  private releasePending(_p: PendingStream): void {
    this.resources.pendingRequests.dec();
    this.cluster.httpStats.upstreamRqPendingActive.dec();
  }

  private checkEmpty(): void {
    if (this.onEmpty !== undefined && !this.hasActiveConnections()) this.onEmpty(this);
  }
}

function removeFrom(list: ActiveClient[], client: ActiveClient): boolean {
  const i = list.lastIndexOf(client);
  if (i < 0) return false;
  removeIndex(list, i);
  return true;
}
