/**
 * `envoy.filters.http.router`: the terminal HTTP filter that forwards a request to the
 * cluster its route names, with retries, timeouts and shadowing.
 *
 * Main thread (config load). It is the terminal filter of an HTTP filter chain, so the
 * connection manager's factory requires it last. Envoy counterpart: `RouterFilterConfig`
 * (`source/extensions/filters/http/router/config.cc`) and `Router::FilterConfig`.
 */

import { durationMs } from '../../../../config/durations.ts';
import { boolField, messageField, stringList } from '../../../../config/proto-fields.ts';
import type { ExtensionFactory } from '../../../../config/types.ts';
import type { AccessLogConfig } from '../../../access_loggers/common/access-log.ts';
import { accessLogsOf } from '../../../access_loggers/common/access-log.ts';
import type { NestedExtension } from '../../../common/nested-extensions.ts';
import { nestedExtensionsOf } from '../../../common/nested-extensions.ts';

export interface RouterConfig {
  readonly dynamicStats: boolean;
  readonly startChildSpan: boolean;
  readonly suppressEnvoyHeaders: boolean;
  readonly strictCheckHeaders: readonly string[];
  readonly respectExpectedRqTimeout: boolean;
  readonly suppressGrpcRequestFailureCodeStats: boolean;
  readonly upstreamLogs: readonly AccessLogConfig[];
  /** 0: upstream logs are written only when the upstream stream ends. */
  readonly upstreamLogFlushIntervalMs: number;
  readonly flushUpstreamLogOnUpstreamStream: boolean;
  /** Upstream HTTP filters the resolver could build, in order. */
  readonly upstreamHttpFilters: readonly NestedExtension[];
}

export const routerFactory: ExtensionFactory<RouterConfig> = {
  name: 'envoy.filters.http.router',
  category: 'envoy.filters.http',
  configTypes: ['envoy.extensions.filters.http.router.v3.Router'],
  terminal: true,
  createConfig(m, ctx) {
    const logOptions = messageField(m, 'upstream_log_options');
    return {
      dynamicStats: boolField(m, 'dynamic_stats', true),
      startChildSpan: boolField(m, 'start_child_span'),
      suppressEnvoyHeaders: boolField(m, 'suppress_envoy_headers'),
      strictCheckHeaders: stringList(m, 'strict_check_headers'),
      respectExpectedRqTimeout: boolField(m, 'respect_expected_rq_timeout'),
      suppressGrpcRequestFailureCodeStats: boolField(m, 'suppress_grpc_request_failure_code_stats'),
      upstreamLogs: accessLogsOf(m, 'upstream_log', ctx),
      upstreamLogFlushIntervalMs: durationMs(logOptions?.['upstream_log_flush_interval'], 0),
      flushUpstreamLogOnUpstreamStream: boolField(logOptions, 'flush_upstream_log_on_upstream_stream'),
      upstreamHttpFilters: nestedExtensionsOf(m, 'upstream_http_filters', ctx),
    };
  },
};
