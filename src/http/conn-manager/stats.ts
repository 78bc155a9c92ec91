/**
 * The connection manager's stats, `http.<stat_prefix>.*`, with Envoy's names, declared in one
 * block.
 *
 * Worker threads: created once per HCM config per worker (the scope caches stat objects, so
 * every connection of the chain shares them). The router filter keeps its own stats
 * (`rq_reset_after_downstream_response_started`, ...) under the same prefix. Envoy
 * counterpart: `ALL_HTTP_CONN_MAN_STATS` (source/common/http/conn_manager_config.h).
 */
import type { Counter, Gauge, Histogram, Scope } from '../../stats/types.ts';

export interface ConnectionManagerStats {
  readonly downstreamCxTotal: Counter;
  readonly downstreamCxHttp1Total: Counter;
  readonly downstreamCxUpgradesTotal: Counter;
  readonly downstreamCxDestroy: Counter;
  readonly downstreamCxDestroyRemote: Counter;
  readonly downstreamCxDestroyLocal: Counter;
  readonly downstreamCxDestroyActiveRq: Counter;
  readonly downstreamCxDestroyLocalActiveRq: Counter;
  readonly downstreamCxDestroyRemoteActiveRq: Counter;
  readonly downstreamCxActive: Gauge;
  readonly downstreamCxHttp1Active: Gauge;
  readonly downstreamCxUpgradesActive: Gauge;
  readonly downstreamCxRxBytesTotal: Counter;
  readonly downstreamCxTxBytesTotal: Counter;
  readonly downstreamCxProtocolError: Counter;
  readonly downstreamCxLengthMs: Histogram;
  readonly downstreamCxIdleTimeout: Counter;
  readonly downstreamCxMaxDurationReached: Counter;
  readonly downstreamCxMaxRequestsReached: Counter;
  readonly downstreamCxDrainClose: Counter;
  readonly downstreamFlowControlPausedReadingTotal: Counter;
  readonly downstreamFlowControlResumedReadingTotal: Counter;
  readonly downstreamRqTotal: Counter;
  readonly downstreamRqHttp1Total: Counter;
  readonly downstreamRqActive: Gauge;
  readonly downstreamRqCompleted: Counter;
  readonly downstreamRq1xx: Counter;
  readonly downstreamRq2xx: Counter;
  readonly downstreamRq3xx: Counter;
  readonly downstreamRq4xx: Counter;
  readonly downstreamRq5xx: Counter;
  readonly downstreamRqTime: Histogram;
  readonly downstreamRqIdleTimeout: Counter;
  readonly downstreamRqTimeout: Counter;
  readonly downstreamRqHeaderTimeout: Counter;
  readonly downstreamRqMaxDurationReached: Counter;
  readonly downstreamRqTooLarge: Counter;
  readonly downstreamRqWsOnNonWsRoute: Counter;
  readonly downstreamRqRxReset: Counter;
  readonly downstreamRqTxReset: Counter;
  readonly downstreamRqNonRelativePath: Counter;
  readonly downstreamRqResponseBeforeRqComplete: Counter;
  readonly downstreamRqFailedPathNormalization: Counter;
  readonly downstreamRqRedirectedWithNormalizedPath: Counter;
  readonly rsTooLarge: Counter;
}

/** The stats of `http.<statPrefix>.` in `scope`. */
export function connectionManagerStats(scope: Scope, statPrefix: string): ConnectionManagerStats {
  const s = scope.scope(`http.${statPrefix}.`);
  return {
    downstreamCxTotal: s.counter('downstream_cx_total'),
    downstreamCxHttp1Total: s.counter('downstream_cx_http1_total'),
    downstreamCxUpgradesTotal: s.counter('downstream_cx_upgrades_total'),
    downstreamCxDestroy: s.counter('downstream_cx_destroy'),
    downstreamCxDestroyRemote: s.counter('downstream_cx_destroy_remote'),
    downstreamCxDestroyLocal: s.counter('downstream_cx_destroy_local'),
    downstreamCxDestroyActiveRq: s.counter('downstream_cx_destroy_active_rq'),
    downstreamCxDestroyLocalActiveRq: s.counter('downstream_cx_destroy_local_active_rq'),
    downstreamCxDestroyRemoteActiveRq: s.counter('downstream_cx_destroy_remote_active_rq'),
    downstreamCxActive: s.gauge('downstream_cx_active'),
    downstreamCxHttp1Active: s.gauge('downstream_cx_http1_active'),
    downstreamCxUpgradesActive: s.gauge('downstream_cx_upgrades_active'),
    downstreamCxRxBytesTotal: s.counter('downstream_cx_rx_bytes_total'),
    downstreamCxTxBytesTotal: s.counter('downstream_cx_tx_bytes_total'),
    downstreamCxProtocolError: s.counter('downstream_cx_protocol_error'),
    downstreamCxLengthMs: s.histogram('downstream_cx_length_ms', 'Milliseconds'),
    downstreamCxIdleTimeout: s.counter('downstream_cx_idle_timeout'),
    downstreamCxMaxDurationReached: s.counter('downstream_cx_max_duration_reached'),
    downstreamCxMaxRequestsReached: s.counter('downstream_cx_max_requests_reached'),
    downstreamCxDrainClose: s.counter('downstream_cx_drain_close'),
    downstreamFlowControlPausedReadingTotal: s.counter('downstream_flow_control_paused_reading_total'),
    downstreamFlowControlResumedReadingTotal: s.counter('downstream_flow_control_resumed_reading_total'),
    downstreamRqTotal: s.counter('downstream_rq_total'),
    downstreamRqHttp1Total: s.counter('downstream_rq_http1_total'),
    downstreamRqActive: s.gauge('downstream_rq_active'),
    downstreamRqCompleted: s.counter('downstream_rq_completed'),
    downstreamRq1xx: s.counter('downstream_rq_1xx'),
    downstreamRq2xx: s.counter('downstream_rq_2xx'),
    downstreamRq3xx: s.counter('downstream_rq_3xx'),
    downstreamRq4xx: s.counter('downstream_rq_4xx'),
    downstreamRq5xx: s.counter('downstream_rq_5xx'),
    downstreamRqTime: s.histogram('downstream_rq_time', 'Milliseconds'),
    downstreamRqIdleTimeout: s.counter('downstream_rq_idle_timeout'),
    downstreamRqTimeout: s.counter('downstream_rq_timeout'),
    downstreamRqHeaderTimeout: s.counter('downstream_rq_header_timeout'),
    downstreamRqMaxDurationReached: s.counter('downstream_rq_max_duration_reached'),
    downstreamRqTooLarge: s.counter('downstream_rq_too_large'),
    downstreamRqWsOnNonWsRoute: s.counter('downstream_rq_ws_on_non_ws_route'),
    downstreamRqRxReset: s.counter('downstream_rq_rx_reset'),
    downstreamRqTxReset: s.counter('downstream_rq_tx_reset'),
    downstreamRqNonRelativePath: s.counter('downstream_rq_non_relative_path'),
    downstreamRqResponseBeforeRqComplete: s.counter('downstream_rq_response_before_rq_complete'),
    downstreamRqFailedPathNormalization: s.counter('downstream_rq_failed_path_normalization'),
    downstreamRqRedirectedWithNormalizedPath: s.counter('downstream_rq_redirected_with_normalized_path'),
    rsTooLarge: s.counter('rs_too_large'),
  };
}
