/**
 * One worker's view of the clusters: host sets, load balancers, circuit breakers,
 * upstream connections and the cluster traffic stats.
 *
 * Worker thread. Rebuilt from the `clusters` thread-local slot whenever main publishes:
 * host objects keep their identity (and counts) across updates, each cluster gets its own
 * load balancer instance on this worker, and circuit breakers use the cluster-wide shared
 * cells. ORIGINAL_DST clusters make their hosts here, from where each downstream connection
 * was going, and forget them after `cleanup_interval` unused. Envoy counterpart:
 * `ClusterManagerImpl::ThreadLocalClusterManagerImpl`, `ClusterEntry`, `OriginalDstCluster`'s LB.
 */
import net from 'node:net';
import type { Dispatcher, Timer } from '../event/types.ts';
import { ConnectionImpl } from '../network/connection.ts';
import { SocketReader } from '../network/socket-reader.ts';
import type { RuntimeSource } from '../runtime/types.ts';
import type { Counter, Gauge, Histogram, Scope } from '../stats/types.ts';
import { createLoadBalancer } from './load-balancer/factory.ts';
import { hostKey, PrioritySetImpl } from './priority-set.ts';
import { ResourceManager } from './resource-manager.ts';
import {
  type ClusterData,
  HOST_STATS,
  type Host,
  type HostStatName,
  type LoadBalancer,
  type LoadBalancerContext,
} from './types.ts';

/** `cluster.<name>.*` counted on the worker, with Envoy's names. */
export interface ClusterTrafficStats {
  readonly upstreamCxTotal: Counter;
  readonly upstreamCxActive: Gauge;
  readonly upstreamCxConnectFail: Counter;
  readonly upstreamCxConnectTimeout: Counter;
  readonly upstreamCxConnectAttemptsExceeded: Counter;
  readonly upstreamCxOverflow: Counter;
  readonly upstreamCxNoneHealthy: Counter;
  readonly upstreamCxConnectMs: Histogram;
  readonly upstreamCxLengthMs: Histogram;
  readonly upstreamCxRxBytesTotal: Counter;
  readonly upstreamCxTxBytesTotal: Counter;
  readonly upstreamCxDestroy: Counter;
  readonly upstreamCxDestroyLocal: Counter;
  readonly upstreamCxDestroyRemote: Counter;
  readonly upstreamFlowControlPausedReadingTotal: Counter;
  readonly upstreamFlowControlResumedReadingTotal: Counter;
  readonly upstreamFlowControlBackedUpTotal: Counter;
  readonly upstreamFlowControlDrainedTotal: Counter;
  readonly lbHealthyPanic: Counter;
}

function trafficStats(scope: Scope): ClusterTrafficStats {
  return {
    upstreamCxTotal: scope.counter('upstream_cx_total'),
    upstreamCxActive: scope.gauge('upstream_cx_active'),
    upstreamCxConnectFail: scope.counter('upstream_cx_connect_fail'),
    upstreamCxConnectTimeout: scope.counter('upstream_cx_connect_timeout'),
    upstreamCxConnectAttemptsExceeded: scope.counter('upstream_cx_connect_attempts_exceeded'),
    upstreamCxOverflow: scope.counter('upstream_cx_overflow'),
    upstreamCxNoneHealthy: scope.counter('upstream_cx_none_healthy'),
    upstreamCxConnectMs: scope.histogram('upstream_cx_connect_ms', 'Milliseconds'),
    upstreamCxLengthMs: scope.histogram('upstream_cx_length_ms', 'Milliseconds'),
    upstreamCxRxBytesTotal: scope.counter('upstream_cx_rx_bytes_total'),
    upstreamCxTxBytesTotal: scope.counter('upstream_cx_tx_bytes_total'),
    upstreamCxDestroy: scope.counter('upstream_cx_destroy'),
    upstreamCxDestroyLocal: scope.counter('upstream_cx_destroy_local'),
    upstreamCxDestroyRemote: scope.counter('upstream_cx_destroy_remote'),
    upstreamFlowControlPausedReadingTotal: scope.counter('upstream_flow_control_paused_reading_total'),
    upstreamFlowControlResumedReadingTotal: scope.counter('upstream_flow_control_resumed_reading_total'),
    upstreamFlowControlBackedUpTotal: scope.counter('upstream_flow_control_backed_up_total'),
    upstreamFlowControlDrainedTotal: scope.counter('upstream_flow_control_drained_total'),
    lbHealthyPanic: scope.counter('lb_healthy_panic'),
  };
}

/**
 * `cluster.<name>.*` counted on the worker by the HTTP connection pools and the router, with
 * Envoy's names (`ALL_CLUSTER_TRAFFIC_STATS`). The per-code stats (`upstream_rq_200`,
 * `upstream_rq_2xx`, `upstream_rq_completed`, `upstream_rq_time`...) are made on demand from
 * the cluster's `scope` by the router.
 */
export interface ClusterHttpStats {
  readonly upstreamCxHttp1Total: Counter;
  readonly upstreamCxDestroyWithActiveRq: Counter;
  readonly upstreamCxDestroyLocalWithActiveRq: Counter;
  readonly upstreamCxDestroyRemoteWithActiveRq: Counter;
  readonly upstreamCxMaxRequests: Counter;
  readonly upstreamCxIdleTimeout: Counter;
  readonly upstreamCxMaxDurationReached: Counter;
  readonly upstreamCxProtocolError: Counter;
  readonly upstreamCxCloseNotify: Counter;
  readonly upstreamRqTotal: Counter;
  readonly upstreamRqActive: Gauge;
  readonly upstreamRqPendingTotal: Counter;
  readonly upstreamRqPendingOverflow: Counter;
  readonly upstreamRqPendingFailureEject: Counter;
  readonly upstreamRqPendingActive: Gauge;
  readonly upstreamRqCancelled: Counter;
  readonly upstreamRqTimeout: Counter;
  readonly upstreamRqPerTryTimeout: Counter;
  readonly upstreamRqRxReset: Counter;
  readonly upstreamRqTxReset: Counter;
  readonly upstreamRqRetry: Counter;
  readonly upstreamRqRetrySuccess: Counter;
  readonly upstreamRqRetryOverflow: Counter;
  readonly upstreamRqRetryLimitExceeded: Counter;
  readonly upstreamRqRetryBackoffExponential: Counter;
  readonly retryOrShadowAbandoned: Counter;
}

function httpStats(scope: Scope): ClusterHttpStats {
  return {
    upstreamCxHttp1Total: scope.counter('upstream_cx_http1_total'),
    upstreamCxDestroyWithActiveRq: scope.counter('upstream_cx_destroy_with_active_rq'),
    upstreamCxDestroyLocalWithActiveRq: scope.counter('upstream_cx_destroy_local_with_active_rq'),
    upstreamCxDestroyRemoteWithActiveRq: scope.counter('upstream_cx_destroy_remote_with_active_rq'),
    upstreamCxMaxRequests: scope.counter('upstream_cx_max_requests'),
    upstreamCxIdleTimeout: scope.counter('upstream_cx_idle_timeout'),
    upstreamCxMaxDurationReached: scope.counter('upstream_cx_max_duration_reached'),
    upstreamCxProtocolError: scope.counter('upstream_cx_protocol_error'),
    upstreamCxCloseNotify: scope.counter('upstream_cx_close_notify'),
    upstreamRqTotal: scope.counter('upstream_rq_total'),
    upstreamRqActive: scope.gauge('upstream_rq_active'),
    upstreamRqPendingTotal: scope.counter('upstream_rq_pending_total'),
    upstreamRqPendingOverflow: scope.counter('upstream_rq_pending_overflow'),
    upstreamRqPendingFailureEject: scope.counter('upstream_rq_pending_failure_eject'),
    upstreamRqPendingActive: scope.gauge('upstream_rq_pending_active'),
    upstreamRqCancelled: scope.counter('upstream_rq_cancelled'),
    upstreamRqTimeout: scope.counter('upstream_rq_timeout'),
    upstreamRqPerTryTimeout: scope.counter('upstream_rq_per_try_timeout'),
    upstreamRqRxReset: scope.counter('upstream_rq_rx_reset'),
    upstreamRqTxReset: scope.counter('upstream_rq_tx_reset'),
    upstreamRqRetry: scope.counter('upstream_rq_retry'),
    upstreamRqRetrySuccess: scope.counter('upstream_rq_retry_success'),
    upstreamRqRetryOverflow: scope.counter('upstream_rq_retry_overflow'),
    upstreamRqRetryLimitExceeded: scope.counter('upstream_rq_retry_limit_exceeded'),
    upstreamRqRetryBackoffExponential: scope.counter('upstream_rq_retry_backoff_exponential'),
    retryOrShadowAbandoned: scope.counter('retry_or_shadow_abandoned'),
  };
}

const HOST_CELLS = HOST_STATS.length;
/** Each counter's cell within a host's cells (looked up per request: no search by name). */
const HOST_STAT_CELL = Object.fromEntries(HOST_STATS.map((name, i) => [name, i])) as Record<
  HostStatName,
  number
>;

/** An ORIGINAL_DST host: made on this worker for one destination. */
interface DynamicHost extends Host {
  usedSinceSweep: boolean;
}

export class ThreadLocalCluster {
  data: ClusterData;
  readonly stats: ClusterTrafficStats;
  readonly httpStats: ClusterHttpStats;
  /** `cluster.<stat name>.`: for the stats made on demand (per response code). */
  readonly scope: Scope;
  readonly prioritySet: PrioritySetImpl;
  readonly resources: { readonly default: ResourceManager; readonly high: ResourceManager };
  private lb: LoadBalancer | undefined;
  private hostCells: Uint32Array;
  private readonly dynamicHosts = new Map<string, DynamicHost>();
  private sweepTimer: Timer | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly random: () => number;
  private readonly runtime: RuntimeSource | undefined;

  constructor(
    data: ClusterData,
    scope: Scope,
    dispatcher: Dispatcher,
    random: () => number,
    runtime?: RuntimeSource,
  ) {
    this.data = data;
    this.dispatcher = dispatcher;
    this.random = random;
    this.runtime = runtime;
    this.scope = scope.scope(`cluster.${data.statName}.`);
    this.stats = trafficStats(this.scope);
    this.httpStats = httpStats(this.scope);
    this.resources = {
      default: new ResourceManager(data.resources, 'default', data.circuitBreakers.default),
      high: new ResourceManager(data.resources, 'high', data.circuitBreakers.high),
    };
    this.hostCells = new Uint32Array(data.hostStats);
    this.prioritySet = new PrioritySetImpl([], data.lb.overprovisioningFactor);
    this.update(data);
  }

  update(data: ClusterData): void {
    const policyChanged =
      JSON.stringify(data.lb) !== JSON.stringify(this.data.lb) || data.type !== this.data.type;
    this.data = data;
    this.hostCells = new Uint32Array(data.hostStats);
    this.prioritySet.update(data.hosts, data.lb.overprovisioningFactor);
    if (data.type === 'ORIGINAL_DST') {
      this.lb = undefined;
      this.startSweeping();
    } else if (this.lb === undefined || policyChanged) {
      // The balancer follows host changes through the priority set's callbacks; a new policy needs a new one.
      this.lb = createLoadBalancer(
        data.lb,
        this.prioritySet,
        { lbHealthyPanic: this.stats.lbHealthyPanic },
        this.random,
        this.runtime,
      );
    }
  }

  /** The worker's runtime has a new snapshot (the panic threshold may have changed). */
  onRuntimeUpdate(): void {
    this.lb?.onRuntimeUpdate?.();
  }

  /** A host for a new connection or request, or undefined (no healthy upstream). */
  chooseHost(context: LoadBalancerContext | undefined): Host | undefined {
    if (this.data.type === 'ORIGINAL_DST') return this.originalDstHost(context);
    return this.lb?.chooseHost(context);
  }

  /** Adds `delta` to one of a host's shared `/clusters` counters. */
  hostStat(host: Host, stat: HostStatName, delta: number): void {
    const slot = (host as { statsSlot?: number }).statsSlot;
    if (slot === undefined) return;
    const index = slot * HOST_CELLS + HOST_STAT_CELL[stat];
    if (index < this.hostCells.length) Atomics.add(this.hostCells, index, delta >>> 0);
  }

  /**
   * Opens a TCP connection to `host` with the cluster's socket options (bind address,
   * keepalive, buffer limit). The caller arms the connect timeout.
   */
  connect(host: Host, id: number): ConnectionImpl {
    const d = this.data;
    const reader = new SocketReader();
    const socket = net.connect({
      host: host.address,
      port: host.port,
      localAddress: d.bindAddress?.address,
      localPort: d.bindAddress?.port || undefined,
      noDelay: true,
      keepAlive: d.tcpKeepalive !== undefined,
      keepAliveInitialDelay: (d.tcpKeepalive?.timeS ?? 0) * 1000,
      allowHalfOpen: true,
      writableHighWaterMark: d.perConnectionBufferLimitBytes,
      onread: reader.onread,
    } as net.NetConnectOpts);
    return new ConnectionImpl(id, socket, this.dispatcher, reader);
  }

  destroy(): void {
    this.sweepTimer?.disableTimer();
  }

  private originalDstHost(context: LoadBalancerContext | undefined): Host | undefined {
    const destination = context?.originalDestination?.();
    if (destination === undefined) return undefined;
    const key = hostKey(destination.address, destination.port);
    let host = this.dynamicHosts.get(key);
    if (host === undefined) {
      host = {
        key,
        address: destination.address,
        port: destination.port,
        hostname: '',
        weight: 1,
        priority: 0,
        locality: { region: '', zone: '', subZone: '' },
        healthy: () => true,
        activeRequests: 0,
        activeConnections: 0,
        usedSinceSweep: true,
      };
      this.dynamicHosts.set(key, host);
    }
    host.usedSinceSweep = true;
    return host;
  }

  /** Envoy's cleanup: a host unused for a whole `cleanup_interval` and idle is forgotten. */
  private startSweeping(): void {
    if (this.sweepTimer !== undefined || this.data.originalDst === undefined) return;
    const interval = this.data.originalDst.cleanupIntervalMs;
    this.sweepTimer = this.dispatcher.createTimer(() => {
      for (const [key, host] of this.dynamicHosts) {
        if (!host.usedSinceSweep && host.activeConnections === 0 && host.activeRequests === 0)
          this.dynamicHosts.delete(key);
        else host.usedSinceSweep = false;
      }
      this.sweepTimer?.enableTimer(interval);
    });
    this.sweepTimer.enableTimer(interval);
  }

  /** Hosts an ORIGINAL_DST cluster currently knows on this worker (for tests and admin). */
  dynamicHostKeys(): string[] {
    return [...this.dynamicHosts.keys()];
  }
}

export class ThreadLocalClusterManager {
  private readonly clusters = new Map<string, ThreadLocalCluster>();
  private readonly scope: Scope;
  private readonly dispatcher: Dispatcher;
  private readonly random: () => number;
  private readonly runtime: RuntimeSource | undefined;
  private connectionIds = 0;

  /** @param runtime the worker's runtime (`upstream.healthy_panic_threshold`); none: cluster settings only. */
  constructor(
    dispatcher: Dispatcher,
    scope: Scope,
    random: () => number = Math.random,
    runtime?: RuntimeSource,
  ) {
    this.dispatcher = dispatcher;
    this.scope = scope;
    this.random = random;
    this.runtime = runtime;
  }

  /** Applies a `clusters` slot update: adds, updates and removes clusters. */
  update(data: readonly ClusterData[]): void {
    const seen = new Set<string>();
    for (const d of data) {
      seen.add(d.name);
      const existing = this.clusters.get(d.name);
      if (existing === undefined)
        this.clusters.set(
          d.name,
          new ThreadLocalCluster(d, this.scope, this.dispatcher, this.random, this.runtime),
        );
      else existing.update(d);
    }
    for (const [name, cluster] of this.clusters) {
      if (seen.has(name)) continue;
      cluster.destroy();
      this.clusters.delete(name);
    }
  }

  /** Applies a `runtime` slot update to every cluster's load balancer. */
  onRuntimeUpdate(): void {
    for (const c of this.clusters.values()) c.onRuntimeUpdate();
  }

  get(name: string): ThreadLocalCluster | undefined {
    return this.clusters.get(name);
  }

  nextConnectionId(): number {
    return ++this.connectionIds;
  }

  shutdown(): void {
    for (const c of this.clusters.values()) c.destroy();
  }
}
