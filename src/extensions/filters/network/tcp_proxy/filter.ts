/**
 * `envoy.filters.network.tcp_proxy` on the data path: each downstream connection gets an
 * upstream connection to a host of its cluster, and bytes flow both ways until both sides
 * have closed.
 *
 * Worker thread, one filter per downstream connection. Downstream reads stay disabled until
 * the upstream connects (so nothing is buffered unbounded); connect failures retry up to
 * `max_connect_attempts` and then close the downstream with `UF`; a full `max_connections`
 * budget gives `UO`, no host `UH`, no cluster `NC`. Half-closes pass through in both
 * directions. Each side's write buffer above its limit pauses reading on the other side
 * (watermarks), so a slow reader bounds memory. `idle_timeout` (1 h) closes both; access logs
 * are written when the connection ends. Stats `tcp.<stat_prefix>.*` and `cluster.<name>.*`.
 * Envoy counterpart: `TcpProxy::Filter` (source/common/tcp_proxy/tcp_proxy.cc).
 */
import type { AccessLogInstance } from '../../../../access-log/types.ts';
import type { Timer } from '../../../../event/types.ts';
import type { ConnectionImpl } from '../../../../network/connection.ts';
import type {
  Connection,
  ConnectionCallbacks,
  ConnectionEvent,
  FilterStatus,
  ReadFilter,
  ReadFilterCallbacks,
} from '../../../../network/types.ts';
import type { NetworkFilterContext, NetworkFilterRuntime } from '../../../../server/filter-context.ts';
import type { Counter, Gauge } from '../../../../stats/types.ts';
import { StreamInfo } from '../../../../stream-info/stream-info.ts';
import { xxhash64 } from '../../../../upstream/load-balancer/hash.ts';
import type { ThreadLocalCluster } from '../../../../upstream/thread-local-cluster-manager.ts';
import type { Host, LoadBalancerContext } from '../../../../upstream/types.ts';
import type { TcpProxyConfig } from './config.ts';

/** `tcp.<stat_prefix>.*`, Envoy's names. */
interface TcpProxyStats {
  readonly downstreamCxTotal: Counter;
  readonly downstreamCxNoRoute: Counter;
  readonly downstreamCxTxBytesTotal: Counter;
  readonly downstreamCxRxBytesTotal: Counter;
  readonly downstreamFlowControlPausedReadingTotal: Counter;
  readonly downstreamFlowControlResumedReadingTotal: Counter;
  readonly idleTimeout: Counter;
  readonly maxDownstreamConnectionDuration: Counter;
  readonly upstreamFlushTotal: Counter;
  readonly upstreamFlushActive: Gauge;
}

/** What every connection of one filter chain shares: the config, stats and access logs. */
interface Shared {
  readonly config: TcpProxyConfig;
  readonly context: NetworkFilterContext;
  readonly stats: TcpProxyStats;
  readonly accessLogs: readonly AccessLogInstance[];
  readonly totalWeight: number;
  readonly hashSourceIp: boolean;
}

class TcpProxyFilter implements ReadFilter, LoadBalancerContext {
  private readonly shared: Shared;
  private downstream: Connection | undefined;
  private upstream: ConnectionImpl | undefined;
  private cluster: ThreadLocalCluster | undefined;
  private host: Host | undefined;
  private streamInfo: StreamInfo | undefined;
  private connectTimer: Timer | undefined;
  private idleTimer: Timer | undefined;
  private durationTimer: Timer | undefined;
  private connectStartMs = 0;
  /** When bytes last moved either way (the dispatcher's approximate monotonic time). */
  private lastActivityMs = 0;
  private connectedAtMs = 0;
  private connectAttempts = 0;
  private upstreamConnected = false;
  private downstreamClosed = false;
  private upstreamClosed = true;
  private holdsConnectionBudget = false;
  private timedOut = false;
  private finished = false;

  constructor(shared: Shared) {
    this.shared = shared;
  }

  // ReadFilter
  initializeReadFilterCallbacks(callbacks: ReadFilterCallbacks): void {
    this.downstream = callbacks.connection();
    this.downstream.addConnectionCallbacks(this.downstreamCallbacks);
  }

  onNewConnection(): FilterStatus {
    const downstream = this.downstream;
    if (downstream === undefined) return 'StopIteration';
    const { dispatcher } = this.shared.context;
    const info = new StreamInfo(dispatcher.systemTime(), dispatcher.updateApproximateMonotonicTime());
    info.downstreamRemoteAddress = downstream.remoteAddress;
    info.downstreamRemotePort = downstream.remotePort;
    info.downstreamLocalAddress = downstream.localAddress;
    info.downstreamLocalPort = downstream.localPort;
    this.streamInfo = info;
    this.shared.stats.downstreamCxTotal.inc();
    // Nothing is read from downstream until the upstream is there.
    downstream.readDisable(true);

    const name = this.pickClusterName();
    const cluster = name === undefined ? undefined : this.shared.context.clusterManager.get(name);
    if (cluster === undefined) {
      this.shared.stats.downstreamCxNoRoute.inc();
      info.setResponseFlag(name === undefined ? 'NoRouteFound' : 'NoClusterFound');
      this.closeDownstream('FlushWrite');
      return 'StopIteration';
    }
    this.cluster = cluster;
    info.upstream = {
      hostAddress: '',
      clusterName: cluster.data.name,
      localAddress: '',
      transportFailureReason: '',
    };
    this.armDurationTimer();
    this.connectUpstream();
    return 'StopIteration';
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    const info = this.streamInfo;
    const upstream = this.upstream;
    if (info === undefined || upstream === undefined) return 'StopIteration';
    info.bytesReceived += data.length;
    this.shared.stats.downstreamCxRxBytesTotal.add(data.length);
    this.cluster?.stats.upstreamCxTxBytesTotal.add(data.length);
    upstream.write(data, endStream);
    this.resetIdleTimer();
    return 'StopIteration';
  }

  // LoadBalancerContext
  computeHashKey(): bigint | undefined {
    if (!this.shared.hashSourceIp || this.downstream === undefined) return undefined;
    return xxhash64(this.downstream.remoteAddress);
  }

  originalDestination(): { address: string; port: number } | undefined {
    const d = this.downstream;
    return d === undefined ? undefined : { address: stripV4Mapped(d.localAddress), port: d.localPort };
  }

  private pickClusterName(): string | undefined {
    const { config, totalWeight } = this.shared;
    if (config.cluster !== undefined) return config.cluster;
    const weighted = config.weightedClusters ?? [];
    if (totalWeight <= 0) return undefined;
    let r = Math.floor(Math.random() * totalWeight);
    for (const c of weighted) {
      if (r < c.weight) return c.name;
      r -= c.weight;
    }
    return undefined;
  }

  private connectUpstream(): void {
    const cluster = this.cluster;
    const info = this.streamInfo;
    if (cluster === undefined || info === undefined) return;
    const budget = cluster.resources.default.connections;
    if (!budget.canCreate()) {
      cluster.stats.upstreamCxOverflow.inc();
      info.setResponseFlag('UpstreamOverflow');
      this.closeDownstream('FlushWrite');
      return;
    }
    const host = cluster.chooseHost(this);
    if (host === undefined) {
      cluster.stats.upstreamCxNoneHealthy.inc();
      info.setResponseFlag('NoHealthyUpstream');
      this.closeDownstream('FlushWrite');
      return;
    }
    this.connectAttempts++;
    this.timedOut = false;
    budget.inc();
    this.holdsConnectionBudget = true;
    this.host = host;
    // For least-request balancing a TCP connection is the request.
    host.activeConnections++;
    host.activeRequests++;
    cluster.hostStat(host, 'cx_total', 1);
    cluster.hostStat(host, 'cx_active', 1);
    cluster.stats.upstreamCxTotal.inc();
    cluster.stats.upstreamCxActive.inc();
    if (info.upstream !== undefined) info.upstream.hostAddress = host.key;

    const { dispatcher } = this.shared.context;
    const upstream = cluster.connect(host, this.shared.context.clusterManager.nextConnectionId());
    this.upstream = upstream;
    this.upstreamConnected = false;
    this.upstreamClosed = false;
    this.connectStartMs = dispatcher.updateApproximateMonotonicTime();
    upstream.addReadFilter(this.upstreamReader);
    upstream.addConnectionCallbacks(this.upstreamCallbacks);
    this.connectTimer ??= dispatcher.createTimer(this.onConnectTimeout);
    this.connectTimer.enableTimer(cluster.data.connectTimeoutMs);
  }

  private readonly onConnectTimeout = (): void => {
    this.timedOut = true;
    this.cluster?.stats.upstreamCxConnectTimeout.inc();
    if (this.streamInfo?.upstream !== undefined)
      this.streamInfo.upstream.transportFailureReason = 'connect timeout';
    this.upstream?.close('NoFlush');
  };

  private onUpstreamConnected(): void {
    const cluster = this.cluster;
    const upstream = this.upstream;
    const downstream = this.downstream;
    if (cluster === undefined || upstream === undefined || downstream === undefined) return;
    this.connectTimer?.disableTimer();
    this.upstreamConnected = true;
    const now = this.shared.context.dispatcher.updateApproximateMonotonicTime();
    this.connectedAtMs = now;
    cluster.stats.upstreamCxConnectMs.recordValue(now - this.connectStartMs);
    if (this.streamInfo?.upstream !== undefined)
      this.streamInfo.upstream.localAddress = `${upstream.localAddress}:${upstream.localPort}`;
    if (this.downstreamClosed) {
      upstream.close('NoFlush');
      return;
    }
    downstream.readDisable(false);
    this.resetIdleTimer();
  }

  /** The upstream closed: before connecting it is a failed attempt, afterwards the end of the stream. */
  private onUpstreamClosed(event: ConnectionEvent): void {
    const cluster = this.cluster;
    const info = this.streamInfo;
    if (cluster === undefined || info === undefined) return;
    this.connectTimer?.disableTimer();
    this.upstreamClosed = true;
    this.releaseUpstream();
    if (!this.upstreamConnected && this.downstreamClosed && !this.timedOut) {
      // The downstream left while we were connecting: a cancel, not a connect failure.
      this.maybeFinish();
      return;
    }
    if (!this.upstreamConnected) {
      cluster.stats.upstreamCxConnectFail.inc();
      if (this.host !== undefined) cluster.hostStat(this.host, 'cx_connect_fail', 1);
      if (info.upstream !== undefined && info.upstream.transportFailureReason === '') {
        info.upstream.transportFailureReason =
          this.upstream?.transportFailureReason() ?? 'connection failure';
      }
      if (!this.downstreamClosed && this.connectAttempts < this.shared.config.maxConnectAttempts) {
        this.connectUpstream();
        return;
      }
      if (
        this.connectAttempts >= this.shared.config.maxConnectAttempts &&
        this.shared.config.maxConnectAttempts > 1
      ) {
        cluster.stats.upstreamCxConnectAttemptsExceeded.inc();
      }
      info.setResponseFlag('UpstreamConnectionFailure');
      this.closeDownstream('FlushWrite');
      return;
    }
    cluster.stats.upstreamCxLengthMs.recordValue(
      this.shared.context.dispatcher.updateApproximateMonotonicTime() - this.connectedAtMs,
    );
    if (event === 'RemoteClose') cluster.stats.upstreamCxDestroyRemote.inc();
    else cluster.stats.upstreamCxDestroyLocal.inc();
    cluster.stats.upstreamCxDestroy.inc();
    if (!this.downstreamClosed) {
      info.connectionTerminationDetails ||= 'upstream closed';
      this.closeDownstream('FlushWrite');
    }
    this.maybeFinish();
  }

  private onDownstreamClosed(): void {
    this.downstreamClosed = true;
    this.idleTimer?.disableTimer();
    this.durationTimer?.disableTimer();
    const upstream = this.upstream;
    if (upstream !== undefined && !this.upstreamClosed) {
      if (!this.upstreamConnected) {
        upstream.close('NoFlush');
      } else if (upstream.bufferedBytes() > 0) {
        // Envoy keeps flushing what the downstream sent before it went away.
        this.shared.stats.upstreamFlushTotal.inc();
        upstream.close('FlushWrite');
      } else {
        upstream.close('NoFlush');
      }
    }
    this.maybeFinish();
  }

  private releaseUpstream(): void {
    const cluster = this.cluster;
    const host = this.host;
    if (cluster === undefined || !this.holdsConnectionBudget) return;
    this.holdsConnectionBudget = false;
    cluster.resources.default.connections.dec();
    cluster.stats.upstreamCxActive.dec();
    if (host !== undefined) {
      host.activeConnections--;
      host.activeRequests--;
      cluster.hostStat(host, 'cx_active', -1);
    }
  }

  private maybeFinish(): void {
    if (this.finished || !this.downstreamClosed || !this.upstreamClosed) return;
    this.finished = true;
    this.connectTimer?.disableTimer();
    const info = this.streamInfo;
    if (info === undefined) return;
    info.endMonotonicMs = this.shared.context.dispatcher.updateApproximateMonotonicTime();
    for (const log of this.shared.accessLogs) log.log({ streamInfo: info });
  }

  private closeDownstream(type: 'FlushWrite' | 'NoFlush'): void {
    this.downstream?.close(type);
  }

  /**
   * Notes activity for the idle timeout. The timer is armed once and, when it fires, re-armed
   * for whatever is left since the last activity, so a busy connection costs one time store
   * per chunk instead of a timer-heap update (Envoy re-arms a libevent timer per event).
   */
  private resetIdleTimer(): void {
    const ms = this.shared.config.idleTimeoutMs;
    if (ms <= 0) return;
    const { dispatcher } = this.shared.context;
    this.lastActivityMs = dispatcher.approximateMonotonicTime();
    if (this.idleTimer === undefined) this.idleTimer = dispatcher.createTimer(this.onIdleTimer);
    if (!this.idleTimer.enabled()) this.idleTimer.enableTimer(ms);
  }

  private readonly onIdleTimer = (): void => {
    const ms = this.shared.config.idleTimeoutMs;
    const idleFor = this.shared.context.dispatcher.updateApproximateMonotonicTime() - this.lastActivityMs;
    if (idleFor < ms) {
      this.idleTimer?.enableTimer(ms - idleFor);
      return;
    }
    this.shared.stats.idleTimeout.inc();
    if (this.streamInfo !== undefined) this.streamInfo.connectionTerminationDetails = 'idle timeout';
    this.upstream?.close('NoFlush');
    this.closeDownstream('NoFlush');
  };

  private armDurationTimer(): void {
    const ms = this.shared.config.maxDownstreamConnectionDurationMs;
    if (ms <= 0) return;
    this.durationTimer = this.shared.context.dispatcher.createTimer(() => {
      this.shared.stats.maxDownstreamConnectionDuration.inc();
      if (this.streamInfo !== undefined)
        this.streamInfo.connectionTerminationDetails = 'max downstream connection duration';
      this.upstream?.close('NoFlush');
      this.closeDownstream('NoFlush');
    });
    this.durationTimer.enableTimer(ms);
  }

  // Upstream -> downstream bytes, and both sides' events: one object each, per connection.
  private readonly upstreamReader: ReadFilter = {
    onData: (data: Buffer, endStream: boolean): FilterStatus => {
      const info = this.streamInfo;
      if (info !== undefined) info.bytesSent += data.length;
      this.shared.stats.downstreamCxTxBytesTotal.add(data.length);
      this.cluster?.stats.upstreamCxRxBytesTotal.add(data.length);
      this.downstream?.write(data, endStream);
      this.resetIdleTimer();
      return 'StopIteration';
    },
  };

  private readonly upstreamCallbacks: ConnectionCallbacks = {
    onEvent: (event) => {
      if (event === 'Connected') this.onUpstreamConnected();
      else this.onUpstreamClosed(event);
    },
    // The upstream cannot take more: stop reading the downstream.
    onAboveWriteBufferHighWatermark: () => {
      this.cluster?.stats.upstreamFlowControlBackedUpTotal.inc();
      this.shared.stats.downstreamFlowControlPausedReadingTotal.inc();
      this.downstream?.readDisable(true);
    },
    onBelowWriteBufferLowWatermark: () => {
      this.cluster?.stats.upstreamFlowControlDrainedTotal.inc();
      this.shared.stats.downstreamFlowControlResumedReadingTotal.inc();
      this.downstream?.readDisable(false);
    },
  };

  private readonly downstreamCallbacks: ConnectionCallbacks = {
    onEvent: (event) => {
      if (event !== 'Connected') this.onDownstreamClosed();
    },
    // The downstream reads slowly: stop reading the upstream.
    onAboveWriteBufferHighWatermark: () => {
      this.cluster?.stats.upstreamFlowControlPausedReadingTotal.inc();
      this.upstream?.readDisable(true);
    },
    onBelowWriteBufferLowWatermark: () => {
      this.cluster?.stats.upstreamFlowControlResumedReadingTotal.inc();
      this.upstream?.readDisable(false);
    },
  };
}

function stripV4Mapped(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function tcpProxyStats(context: NetworkFilterContext, statPrefix: string): TcpProxyStats {
  const s = context.scope.scope(`tcp.${statPrefix}.`);
  return {
    downstreamCxTotal: s.counter('downstream_cx_total'),
    downstreamCxNoRoute: s.counter('downstream_cx_no_route'),
    downstreamCxTxBytesTotal: s.counter('downstream_cx_tx_bytes_total'),
    downstreamCxRxBytesTotal: s.counter('downstream_cx_rx_bytes_total'),
    downstreamFlowControlPausedReadingTotal: s.counter('downstream_flow_control_paused_reading_total'),
    downstreamFlowControlResumedReadingTotal: s.counter('downstream_flow_control_resumed_reading_total'),
    idleTimeout: s.counter('idle_timeout'),
    maxDownstreamConnectionDuration: s.counter('max_downstream_connection_duration'),
    upstreamFlushTotal: s.counter('upstream_flush_total'),
    upstreamFlushActive: s.gauge('upstream_flush_active'),
  };
}

export const tcpProxyRuntime: NetworkFilterRuntime = {
  name: 'envoy.filters.network.tcp_proxy',
  createFilterFactory: (rawConfig, context) => {
    const config = rawConfig as TcpProxyConfig;
    const policy = config.hashPolicy;
    const shared: Shared = {
      config,
      context,
      stats: tcpProxyStats(context, config.statPrefix),
      accessLogs: config.accessLogs.map((l) => context.accessLogs.create(l)),
      totalWeight: (config.weightedClusters ?? []).reduce((sum, c) => sum + c.weight, 0),
      hashSourceIp: policy !== undefined && policy['source_ip'] !== undefined,
    };
    return (filterManager) => filterManager.addReadFilter(new TcpProxyFilter(shared));
  },
};
