/**
 * `envoy.filters.network.tcp_proxy`: the terminal network filter that proxies a
 * connection's bytes to one upstream host of a cluster (or of one of several weighted
 * clusters).
 *
 * Main thread (config load). Applies Envoy's defaults: a one-hour idle timeout (an
 * explicit `0s` disables it, kept as 0), one connect attempt. The clusters are not
 * checked here: Envoy resolves them per connection, so a missing one is a runtime
 * failure, not a config error. Envoy counterpart: `TcpProxy::ConfigFactory` and
 * `TcpProxy::Config` (`source/common/tcp_proxy/tcp_proxy.cc`).
 */
import { durationMs } from '../../../../config/durations.ts';
import {
  at,
  boolField,
  messageField,
  messageList,
  numberField,
  stringField,
} from '../../../../config/proto-fields.ts';
import type { ExtensionFactory, ProtoMessage } from '../../../../config/types.ts';
import type { AccessLogConfig } from '../../../access_loggers/common/access-log.ts';
import { accessLogsOf } from '../../../access_loggers/common/access-log.ts';

const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60 * 1000;

export interface TcpProxyWeightedCluster {
  readonly name: string;
  readonly weight: number;
  readonly metadataMatch: ProtoMessage | undefined;
}

export interface TcpProxyConfig {
  readonly statPrefix: string;
  /** Set when the route is one cluster; otherwise `weightedClusters` is. */
  readonly cluster: string | undefined;
  readonly weightedClusters: readonly TcpProxyWeightedCluster[] | undefined;
  readonly metadataMatch: ProtoMessage | undefined;
  /** 0 disables the idle timeout. */
  readonly idleTimeoutMs: number;
  readonly maxConnectAttempts: number;
  /** 0: no limit. */
  readonly maxDownstreamConnectionDurationMs: number;
  readonly accessLogs: readonly AccessLogConfig[];
  /** 0: log only when the connection ends. */
  readonly accessLogFlushIntervalMs: number;
  readonly flushAccessLogOnConnected: boolean;
  /** The one `type.v3.HashPolicy` (source IP or filter state), as decoded. */
  readonly hashPolicy: ProtoMessage | undefined;
  /** HTTP CONNECT/POST tunneling to the upstream, as decoded. */
  readonly tunnelingConfig: ProtoMessage | undefined;
  /** On-demand CDS, as decoded. */
  readonly onDemand: ProtoMessage | undefined;
}

export const tcpProxyFactory: ExtensionFactory<TcpProxyConfig> = {
  name: 'envoy.filters.network.tcp_proxy',
  category: 'envoy.filters.network',
  configTypes: ['envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'],
  terminal: true,
  createConfig(m, ctx) {
    const weighted = messageField(m, 'weighted_clusters');
    const weightedClusters = weighted
      ? messageList(weighted, 'clusters').map((c) => ({
          name: stringField(c, 'name'),
          weight: numberField(c, 'weight', 0),
          metadataMatch: messageField(c, 'metadata_match'),
        }))
      : undefined;

    // Envoy's TcpProxy::Config: the access log options replace two deprecated fields.
    const logOptions = messageField(m, 'access_log_options');
    if (logOptions !== undefined) {
      if (m['flush_access_log_on_connected'] === true) {
        ctx.error(
          at(ctx.step, 'flush_access_log_on_connected'),
          'only one of flush_access_log_on_connected or access_log_options can be specified',
        );
      }
      if (m['access_log_flush_interval'] !== undefined) {
        ctx.error(
          at(ctx.step, 'access_log_flush_interval'),
          'only one of access_log_flush_interval or access_log_options can be specified',
        );
      }
    }
    const logSettings = logOptions ?? m;

    // Valid Envoy that this data path does not implement yet: refuse rather than ignore.
    for (const field of ['tunneling_config', 'on_demand', 'metadata_match'] as const) {
      if (m[field] !== undefined)
        ctx.unsupported(at(ctx.step, field), `not supported by Legate yet: tcp_proxy ${field}`);
    }
    messageList(m, 'hash_policy').forEach((policy, i) => {
      if (policy['source_ip'] === undefined) {
        ctx.unsupported(
          at(ctx.step, 'hash_policy', i),
          'not supported by Legate yet: tcp_proxy hash_policy other than source_ip',
        );
      }
    });
    weightedClusters?.forEach((c, i) => {
      if (c.metadataMatch !== undefined) {
        ctx.unsupported(
          at(ctx.step, 'weighted_clusters', 'clusters', i, 'metadata_match'),
          'not supported by Legate yet: metadata_match (subset load balancing)',
        );
      }
    });

    return {
      statPrefix: stringField(m, 'stat_prefix'),
      cluster: weighted === undefined ? stringField(m, 'cluster') : undefined,
      weightedClusters,
      metadataMatch: messageField(m, 'metadata_match'),
      idleTimeoutMs: durationMs(m['idle_timeout'], DEFAULT_IDLE_TIMEOUT_MS),
      maxConnectAttempts: numberField(m, 'max_connect_attempts', 1),
      maxDownstreamConnectionDurationMs: durationMs(m['max_downstream_connection_duration'], 0),
      accessLogs: accessLogsOf(m, 'access_log', ctx),
      accessLogFlushIntervalMs: durationMs(logSettings['access_log_flush_interval'], 0),
      flushAccessLogOnConnected: boolField(logSettings, 'flush_access_log_on_connected'),
      hashPolicy: messageList(m, 'hash_policy')[0],
      tunnelingConfig: messageField(m, 'tunneling_config'),
      onDemand: messageField(m, 'on_demand'),
    };
  },
};
