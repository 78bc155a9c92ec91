/**
 * A decoded `envoy.config.cluster.v3.Cluster` -> the settings every worker needs
 * (`ClusterData` without its hosts), with Envoy's defaults applied.
 *
 * Main thread, when a cluster is added. Envoy counterpart: `ClusterInfoImpl`'s constructor
 * (connect timeout 5 s, buffer limit 1 MiB, circuit breakers 1024/1024/1024/3, panic
 * threshold 50 %, overprovisioning factor 1.4, ring 1024..8M, maglev 65537).
 */

import { durationMs } from '../config/durations.ts';
import { boolField, messageField, messageList, numberField, stringField } from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';
import { upstreamHttp1Settings } from '../http/conn-manager/http1-options.ts';
import { RESOURCE_CELLS } from './resource-manager.ts';
import type { CircuitBreakerThresholds, ClusterData, LbConfigData, LbPolicy } from './types.ts';

const DEFAULT_THRESHOLDS: CircuitBreakerThresholds = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  trackRemaining: false,
};

/** Host-stat cells allocated per cluster up front; grown (copied) when hosts outnumber them. */
export const INITIAL_HOST_SLOTS = 256;

function thresholds(cluster: ProtoMessage, priority: 'DEFAULT' | 'HIGH'): CircuitBreakerThresholds {
  const t = messageList(messageField(cluster, 'circuit_breakers'), 'thresholds').find(
    (x) => stringField(x, 'priority', 'DEFAULT') === priority,
  );
  if (t === undefined) return DEFAULT_THRESHOLDS;
  return {
    maxConnections: numberField(t, 'max_connections', 1024),
    maxPendingRequests: numberField(t, 'max_pending_requests', 1024),
    maxRequests: numberField(t, 'max_requests', 1024),
    maxRetries: numberField(t, 'max_retries', 3),
    trackRemaining: boolField(t, 'track_remaining'),
  };
}

function lbConfig(cluster: ProtoMessage): LbConfigData {
  const common = messageField(cluster, 'common_lb_config');
  const panic = messageField(common, 'healthy_panic_threshold');
  const least = messageField(cluster, 'least_request_lb_config');
  const bias = messageField(least, 'active_request_bias');
  const ring = messageField(cluster, 'ring_hash_lb_config');
  const maglev = messageField(cluster, 'maglev_lb_config');
  const policy = messageField(messageField(cluster, 'load_assignment'), 'policy');
  return {
    policy: stringField(cluster, 'lb_policy', 'ROUND_ROBIN') as LbPolicy,
    healthyPanicThreshold: panic === undefined ? 50 : numberField(panic, 'value', 0),
    overprovisioningFactor: numberField(policy, 'overprovisioning_factor', 140),
    leastRequest: {
      choiceCount: numberField(least, 'choice_count', 2),
      activeRequestBias: bias === undefined ? 1 : numberField(bias, 'default_value', 1),
    },
    ringHash: {
      minimumRingSize: numberField(ring, 'minimum_ring_size', 1024),
      maximumRingSize: numberField(ring, 'maximum_ring_size', 8 * 1024 * 1024),
    },
    maglev: { tableSize: numberField(maglev, 'table_size', 65537) },
  };
}

/**
 * Envoy reads these from `typed_extension_protocol_options` (HttpProtocolOptions), falling
 * back to the deprecated cluster-level `common_http_protocol_options` /
 * `max_requests_per_connection`.
 */
function httpSettings(cluster: ProtoMessage): NonNullable<ClusterData['http']> {
  const options = messageField(
    messageField(cluster, 'typed_extension_protocol_options'),
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  );
  const common =
    messageField(options, 'common_http_protocol_options') ??
    messageField(cluster, 'common_http_protocol_options');
  // explicit_http_config, use_downstream_protocol_config or auto_config each carry the HTTP/1
  // options; the cluster-level field is their deprecated predecessor.
  const protocol =
    messageField(options, 'explicit_http_config') ??
    messageField(options, 'use_downstream_protocol_config') ??
    messageField(options, 'auto_config');
  const http1Options =
    messageField(protocol, 'http_protocol_options') ?? messageField(cluster, 'http_protocol_options');
  return {
    http1: upstreamHttp1Settings(http1Options, common),
    idleTimeoutMs: durationMs(common?.['idle_timeout'], 60 * 60 * 1000),
    maxRequestsPerConnection: numberField(
      common,
      'max_requests_per_connection',
      numberField(cluster, 'max_requests_per_connection', 0),
    ),
    maxConnectionDurationMs: durationMs(common?.['max_connection_duration'], 0),
  };
}

/** Everything but the hosts, which the cluster's discovery supplies. */
export function clusterData(cluster: ProtoMessage): Omit<ClusterData, 'hosts'> {
  const name = stringField(cluster, 'name');
  const bindConfig = messageField(cluster, 'upstream_bind_config');
  const source = messageField(bindConfig, 'source_address');
  const bindAddress =
    source === undefined
      ? undefined
      : { address: stringField(source, 'address'), port: numberField(source, 'port_value', 0) };
  const keepalive = messageField(messageField(cluster, 'upstream_connection_options'), 'tcp_keepalive');
  const type = stringField(cluster, 'type', 'STATIC');
  const originalDst = messageField(cluster, 'original_dst_lb_config');
  return {
    name,
    type,
    statName: stringField(cluster, 'alt_stat_name') || name,
    lb: lbConfig(cluster),
    connectTimeoutMs: durationMs(cluster['connect_timeout'], 5000),
    perConnectionBufferLimitBytes: numberField(cluster, 'per_connection_buffer_limit_bytes', 1024 * 1024),
    http: httpSettings(cluster),
    circuitBreakers: { default: thresholds(cluster, 'DEFAULT'), high: thresholds(cluster, 'HIGH') },
    resources: new SharedArrayBuffer(4 * RESOURCE_CELLS),
    hostStats: new SharedArrayBuffer(4 * INITIAL_HOST_SLOTS * 8),
    bindAddress,
    tcpKeepalive:
      keepalive === undefined
        ? undefined
        : {
            probes: numberField(keepalive, 'keepalive_probes', 9),
            timeS: numberField(keepalive, 'keepalive_time', 7200),
            intervalS: numberField(keepalive, 'keepalive_interval', 75),
          },
    originalDst:
      type === 'ORIGINAL_DST'
        ? {
            useHttpHeader: boolField(originalDst, 'use_http_header'),
            httpHeaderName: stringField(originalDst, 'http_header_name') || 'x-envoy-original-dst-host',
            cleanupIntervalMs: durationMs(cluster['cleanup_interval'], 5000),
          }
        : undefined,
  };
}
