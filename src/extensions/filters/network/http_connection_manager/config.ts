/**
 * `envoy.filters.network.http_connection_manager`: the terminal network filter that
 * turns a connection into HTTP streams, runs each through the HTTP filter chain and
 * routes it.
 *
 * Main thread (config load). Builds the internal config with Envoy's defaults and makes
 * the checks Envoy's factory makes when it builds the filter: the terminal HTTP filter
 * (the router) last and only it last, also in upgrade filter chains; the last filter not
 * disabled; unique upgrade types; original IP detection not mixed with XFF settings; and,
 * for an inline `route_config`, Envoy's route table checks: unique virtual host names,
 * unique domains, and (with `validate_clusters`, on by default for an inline table) every
 * route's cluster recorded with `ctx.requireCluster`. Its HTTP filters are already built
 * (the resolver builds inner extensions first). Envoy counterpart:
 * `HttpConnectionManagerFilterConfigFactory` and `HttpConnectionManagerConfig`
 * (`source/extensions/filters/network/http_connection_manager/config.cc`),
 * `Http::FilterChainHelper` and `Router::RouteMatcher` / `RouteEntryImplBase::validateClusters`.
 */

import { durationMs } from '../../../../config/durations.ts';
import type { PathStep } from '../../../../config/errors.ts';
import {
  at,
  boolField,
  enumField,
  messageField,
  messageList,
  numberField,
  stringField,
} from '../../../../config/proto-fields.ts';
import { type ChainedFilter, validateTerminalFilters } from '../../../../config/terminal-filters.ts';
import type { ExtensionContext, ExtensionFactory, ProtoMessage } from '../../../../config/types.ts';
import { validateRouteConfig } from '../../../../router/config.ts';
import type { AccessLogConfig } from '../../../access_loggers/common/access-log.ts';
import { accessLogsOf } from '../../../access_loggers/common/access-log.ts';
import type { NestedExtension } from '../../../common/nested-extensions.ts';

export const CODEC_TYPES = ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'] as const;
export type CodecType = (typeof CODEC_TYPES)[number];

export const SERVER_HEADER_TRANSFORMATIONS = ['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'] as const;
export type ServerHeaderTransformation = (typeof SERVER_HEADER_TRANSFORMATIONS)[number];

export const FORWARD_CLIENT_CERT_DETAILS = [
  'SANITIZE',
  'FORWARD_ONLY',
  'APPEND_FORWARD',
  'SANITIZE_SET',
  'ALWAYS_FORWARD_ONLY',
] as const;
export type ForwardClientCertDetails = (typeof FORWARD_CLIENT_CERT_DETAILS)[number];

export const HEADERS_WITH_UNDERSCORES_ACTIONS = ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'] as const;
export type HeadersWithUnderscoresAction = (typeof HEADERS_WITH_UNDERSCORES_ACTIONS)[number];

const PATH_WITH_ESCAPED_SLASHES_ACTIONS = [
  'IMPLEMENTATION_SPECIFIC_DEFAULT',
  'KEEP_UNCHANGED',
  'REJECT_REQUEST',
  'UNESCAPE_AND_REDIRECT',
  'UNESCAPE_AND_FORWARD',
] as const;
/** The effective action: Envoy's implementation-specific default is `KEEP_UNCHANGED`. */
export type PathWithEscapedSlashesAction = Exclude<
  (typeof PATH_WITH_ESCAPED_SLASHES_ACTIONS)[number],
  'IMPLEMENTATION_SPECIFIC_DEFAULT'
>;

/** Envoy's `Http::DefaultServerString`. */
export const DEFAULT_SERVER_NAME = 'envoy';
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 5 * 60 * 1000;
const DEFAULT_DRAIN_TIMEOUT_MS = 5000;
const DEFAULT_DELAYED_CLOSE_TIMEOUT_MS = 1000;
const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60 * 1000;
const DEFAULT_MAX_HEADERS_COUNT = 100;
const DEFAULT_MAX_REQUEST_HEADERS_KB = 60;

/** `name` is the filter's name in the chain, the key of its per-route configs. */
export interface HttpFilterConfig extends NestedExtension {
  /** Skipped unless a route enables it. */
  readonly disabled: boolean;
  readonly isOptional: boolean;
}

export interface UpgradeConfig {
  readonly upgradeType: string;
  readonly enabled: boolean;
  /** Its own filter chain, or undefined to use the connection manager's. */
  readonly filters: readonly HttpFilterConfig[] | undefined;
}

export interface StaticRouteConfig {
  /** The decoded `RouteConfiguration`, as is. */
  readonly config: ProtoMessage;
  /** Effective `validate_clusters`: true unless set false. */
  readonly validateClusters: boolean;
}

export interface RdsConfig {
  readonly routeConfigName: string;
  /** The decoded `ConfigSource`, as is. */
  readonly configSource: ProtoMessage;
}

export interface HttpConnectionManagerConfig {
  readonly statPrefix: string;
  readonly codecType: CodecType;
  /** Exactly one of `routeConfig`, `rds` and `scopedRoutes` is set. */
  readonly routeConfig: StaticRouteConfig | undefined;
  readonly rds: RdsConfig | undefined;
  /** The decoded `ScopedRoutes`, as is. */
  readonly scopedRoutes: ProtoMessage | undefined;
  readonly httpFilters: readonly HttpFilterConfig[];
  readonly upgradeConfigs: readonly UpgradeConfig[];
  readonly accessLogs: readonly AccessLogConfig[];
  /** 0: logs are written only when a stream ends. */
  readonly accessLogFlushIntervalMs: number;
  readonly flushAccessLogOnNewRequest: boolean;
  readonly flushLogOnTunnelSuccessfullyEstablished: boolean;

  readonly serverName: string;
  readonly serverHeaderTransformation: ServerHeaderTransformation;
  readonly schemeHeaderTransformation: ProtoMessage | undefined;
  readonly addUserAgent: boolean;
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  readonly internalAddressConfig: ProtoMessage | undefined;
  readonly via: string;
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly alwaysSetRequestIdInResponse: boolean;
  readonly forwardClientCertDetails: ForwardClientCertDetails;
  readonly setCurrentClientCertDetails: ProtoMessage | undefined;
  readonly proxy100Continue: boolean;
  readonly appendXForwardedPort: boolean;
  readonly appendLocalOverload: boolean;

  /** Timeouts in milliseconds; 0 disables. */
  readonly streamIdleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly requestHeadersTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly delayedCloseTimeoutMs: number;
  /** From `common_http_protocol_options`; the connection idle timeout. */
  readonly idleTimeoutMs: number;
  readonly maxConnectionDurationMs: number;
  readonly maxStreamDurationMs: number;
  /** 0: no limit. */
  readonly maxRequestsPerConnection: number;
  readonly maxHeadersCount: number;
  readonly maxRequestHeadersKb: number;
  readonly headersWithUnderscoresAction: HeadersWithUnderscoresAction;

  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly pathWithEscapedSlashesAction: PathWithEscapedSlashesAction;
  readonly stripPortMode: 'none' | 'matching' | 'any';
  readonly stripTrailingHostDot: boolean;

  /** Decoded protocol options, as is. */
  readonly http1ProtocolOptions: ProtoMessage | undefined;
  readonly http2ProtocolOptions: ProtoMessage | undefined;
  /** Unset: the codecs' own default (from their protocol options). */
  readonly streamErrorOnInvalidHttpMessage: boolean | undefined;
  readonly localReplyConfig: ProtoMessage | undefined;
  readonly tracing: ProtoMessage | undefined;
}

/** One HTTP filter chain, as `Http::FilterChainHelper::processFilters` builds it. */
function httpFilterChain(
  filters: readonly ProtoMessage[],
  listStep: PathStep | undefined,
  chainType: string,
  ctx: ExtensionContext,
): HttpFilterConfig[] {
  const chain: HttpFilterConfig[] = [];
  const chained: ChainedFilter[] = [];
  filters.forEach((filter, i) => {
    const step = at(listStep, i);
    const name = stringField(filter, 'name');
    const last = i === filters.length - 1;
    const disabled = boolField(filter, 'disabled');
    if (last && disabled) {
      ctx.error(
        at(step, 'disabled'),
        `the last (terminal) filter (${name}) in the chain cannot be disabled by default`,
      );
    }
    // Unresolved: an optional filter Legate lacks is skipped, as Envoy skips one it lacks;
    // anything else (ECDS included) has been reported by the resolver.
    const resolved = ctx.extensionOf(filter);
    chained.push({ name, step, resolved });
    if (resolved === undefined) return;
    chain.push({
      name,
      extension: resolved.name,
      typeUrl: resolved.typeUrl,
      config: resolved.config,
      disabled,
      isOptional: boolField(filter, 'is_optional'),
    });
  });
  validateTerminalFilters(chained, chainType, (step, message) => ctx.error(step, message));
  return chain;
}

function upgradeConfigsOf(m: ProtoMessage, ctx: ExtensionContext): UpgradeConfig[] {
  const seen = new Set<string>();
  return messageList(m, 'upgrade_configs').map((u, i) => {
    const step = at(ctx.step, 'upgrade_configs', i);
    const upgradeType = stringField(u, 'upgrade_type');
    // Envoy compares upgrade types case-insensitively.
    if (seen.has(upgradeType.toLowerCase())) {
      ctx.error(at(step, 'upgrade_type'), `multiple upgrade configs with the same name: '${upgradeType}'`);
    }
    seen.add(upgradeType.toLowerCase());
    const filters = messageList(u, 'filters');
    return {
      upgradeType,
      enabled: boolField(u, 'enabled', true),
      filters:
        filters.length === 0 ? undefined : httpFilterChain(filters, at(step, 'filters'), 'http upgrade', ctx),
    };
  });
}

/**
 * The checks Envoy's route table makes when it is built (`Router::RouteMatcher`,
 * `RouteEntryImplBase::validateClusters`). Domains compare lowercased; `*` has its own
 * message, as in Envoy.
 */
function checkRouteConfig(
  routeConfig: ProtoMessage,
  step: PathStep | undefined,
  ctx: ExtensionContext,
): boolean {
  const validateClusters = boolField(routeConfig, 'validate_clusters', true);
  // The route table's own compiler is the one judge of the table (duplicate names and
  // domains, matchers, RE2 programs, rewrites, direct_response files): what would stop a
  // worker from building it is reported here, at load, under the field's path.
  for (const problem of validateRouteConfig(routeConfig)) {
    if (problem.schema === true) continue; // the schema validation has reported it
    const problemStep = at(step, ...problem.path);
    if (problem.kind === 'invalid') ctx.error(problemStep, problem.message);
    else if (problem.kind === 'unsupported') ctx.unsupported(problemStep, problem.message);
    else ctx.warn(problemStep, problem.message);
  }
  messageList(routeConfig, 'virtual_hosts').forEach((vhost, v) => {
    const vhostStep = at(step, 'virtual_hosts', v);
    if (!validateClusters) return;
    messageList(vhost, 'routes').forEach((route, r) => {
      const action = messageField(route, 'route');
      if (action === undefined) return; // redirect, direct_response, filter_action
      const actionStep = at(vhostStep, 'routes', r, 'route');
      const cluster = stringField(action, 'cluster');
      if (cluster !== '') ctx.requireCluster(cluster, at(actionStep, 'cluster'));
      messageList(messageField(action, 'weighted_clusters'), 'clusters').forEach((wc, c) => {
        // A weighted cluster may name a cluster_header instead; only names are checked.
        const name = stringField(wc, 'name');
        if (name !== '') ctx.requireCluster(name, at(actionStep, 'weighted_clusters', 'clusters', c, 'name'));
      });
    });
  });
  return validateClusters;
}

function checkMutuallyExclusive(m: ProtoMessage, ctx: ExtensionContext): void {
  if (messageList(m, 'original_ip_detection_extensions').length > 0) {
    if (boolField(m, 'use_remote_address')) {
      ctx.error(
        at(ctx.step, 'original_ip_detection_extensions'),
        'original IP detection extensions and use_remote_address may not be mixed',
      );
    }
    if (numberField(m, 'xff_num_trusted_hops', 0) > 0) {
      ctx.error(
        at(ctx.step, 'original_ip_detection_extensions'),
        'original IP detection extensions and xff_num_trusted_hops may not be mixed',
      );
    }
  }
  if (boolField(m, 'strip_matching_host_port') && boolField(m, 'strip_any_host_port')) {
    ctx.error(
      at(ctx.step, 'strip_any_host_port'),
      'only one of strip_matching_host_port or strip_any_host_port can be set',
    );
  }
  if (m['access_log_options'] !== undefined) {
    if (boolField(m, 'flush_access_log_on_new_request')) {
      ctx.error(
        at(ctx.step, 'flush_access_log_on_new_request'),
        'only one of flush_access_log_on_new_request or access_log_options can be specified',
      );
    }
    if (m['access_log_flush_interval'] !== undefined) {
      ctx.error(
        at(ctx.step, 'access_log_flush_interval'),
        'only one of access_log_flush_interval or access_log_options can be specified',
      );
    }
  }
}

export const httpConnectionManagerFactory: ExtensionFactory<HttpConnectionManagerConfig> = {
  name: 'envoy.filters.network.http_connection_manager',
  category: 'envoy.filters.network',
  configTypes: ['envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'],
  terminal: true,
  createConfig(m, ctx) {
    checkMutuallyExclusive(m, ctx);

    const inlineRoutes = messageField(m, 'route_config');
    const routeConfig = inlineRoutes && {
      config: inlineRoutes,
      validateClusters: checkRouteConfig(inlineRoutes, at(ctx.step, 'route_config'), ctx),
    };
    const rdsMessage = messageField(m, 'rds');
    const rds = rdsMessage && {
      routeConfigName: stringField(rdsMessage, 'route_config_name'),
      configSource: messageField(rdsMessage, 'config_source') ?? {},
    };

    const filters = messageList(m, 'http_filters');
    if (filters.length === 0) {
      // Envoy accepts an empty chain (the proto sets no minimum and the factory makes no
      // check); every request then hangs until stream_idle_timeout.
      ctx.warn(
        at(ctx.step, 'http_filters'),
        'no HTTP filters: without a terminal filter such as envoy.filters.http.router, no request is ever answered',
      );
    }
    const httpFilters = httpFilterChain(filters, at(ctx.step, 'http_filters'), 'http', ctx);

    const common = messageField(m, 'common_http_protocol_options');
    const logOptions = messageField(m, 'access_log_options');
    const logSettings = logOptions ?? m;
    const escapedSlashes = enumField(
      m,
      'path_with_escaped_slashes_action',
      PATH_WITH_ESCAPED_SLASHES_ACTIONS,
      'IMPLEMENTATION_SPECIFIC_DEFAULT',
    );
    const streamError = m['stream_error_on_invalid_http_message'];

    return {
      statPrefix: stringField(m, 'stat_prefix'),
      codecType: enumField(m, 'codec_type', CODEC_TYPES, 'AUTO'),
      routeConfig,
      rds,
      scopedRoutes: messageField(m, 'scoped_routes'),
      httpFilters,
      upgradeConfigs: upgradeConfigsOf(m, ctx),
      accessLogs: accessLogsOf(m, 'access_log', ctx),
      accessLogFlushIntervalMs: durationMs(logSettings['access_log_flush_interval'], 0),
      flushAccessLogOnNewRequest: boolField(logSettings, 'flush_access_log_on_new_request'),
      flushLogOnTunnelSuccessfullyEstablished: boolField(
        logOptions,
        'flush_log_on_tunnel_successfully_established',
      ),

      serverName: stringField(m, 'server_name') || DEFAULT_SERVER_NAME,
      serverHeaderTransformation: enumField(
        m,
        'server_header_transformation',
        SERVER_HEADER_TRANSFORMATIONS,
        'OVERWRITE',
      ),
      schemeHeaderTransformation: messageField(m, 'scheme_header_transformation'),
      addUserAgent: boolField(m, 'add_user_agent'),
      useRemoteAddress: boolField(m, 'use_remote_address'),
      xffNumTrustedHops: numberField(m, 'xff_num_trusted_hops', 0),
      skipXffAppend: boolField(m, 'skip_xff_append'),
      internalAddressConfig: messageField(m, 'internal_address_config'),
      via: stringField(m, 'via'),
      generateRequestId: boolField(m, 'generate_request_id', true),
      preserveExternalRequestId: boolField(m, 'preserve_external_request_id'),
      alwaysSetRequestIdInResponse: boolField(m, 'always_set_request_id_in_response'),
      forwardClientCertDetails: enumField(
        m,
        'forward_client_cert_details',
        FORWARD_CLIENT_CERT_DETAILS,
        'SANITIZE',
      ),
      setCurrentClientCertDetails: messageField(m, 'set_current_client_cert_details'),
      proxy100Continue: boolField(m, 'proxy_100_continue'),
      appendXForwardedPort: boolField(m, 'append_x_forwarded_port'),
      appendLocalOverload: boolField(m, 'append_local_overload'),

      streamIdleTimeoutMs: durationMs(m['stream_idle_timeout'], DEFAULT_STREAM_IDLE_TIMEOUT_MS),
      requestTimeoutMs: durationMs(m['request_timeout'], 0),
      requestHeadersTimeoutMs: durationMs(m['request_headers_timeout'], 0),
      drainTimeoutMs: durationMs(m['drain_timeout'], DEFAULT_DRAIN_TIMEOUT_MS),
      delayedCloseTimeoutMs: durationMs(m['delayed_close_timeout'], DEFAULT_DELAYED_CLOSE_TIMEOUT_MS),
      idleTimeoutMs: durationMs(common?.['idle_timeout'], DEFAULT_IDLE_TIMEOUT_MS),
      maxConnectionDurationMs: durationMs(common?.['max_connection_duration'], 0),
      maxStreamDurationMs: durationMs(common?.['max_stream_duration'], 0),
      maxRequestsPerConnection: numberField(common, 'max_requests_per_connection', 0),
      maxHeadersCount: numberField(common, 'max_headers_count', DEFAULT_MAX_HEADERS_COUNT),
      maxRequestHeadersKb: numberField(m, 'max_request_headers_kb', DEFAULT_MAX_REQUEST_HEADERS_KB),
      headersWithUnderscoresAction: enumField(
        common,
        'headers_with_underscores_action',
        HEADERS_WITH_UNDERSCORES_ACTIONS,
        'ALLOW',
      ),

      // normalize_path's default is Envoy's runtime key http_connection_manager.normalize_path (false).
      normalizePath: boolField(m, 'normalize_path'),
      mergeSlashes: boolField(m, 'merge_slashes'),
      pathWithEscapedSlashesAction:
        escapedSlashes === 'IMPLEMENTATION_SPECIFIC_DEFAULT' ? 'KEEP_UNCHANGED' : escapedSlashes,
      stripPortMode: boolField(m, 'strip_any_host_port')
        ? 'any'
        : boolField(m, 'strip_matching_host_port')
          ? 'matching'
          : 'none',
      stripTrailingHostDot: boolField(m, 'strip_trailing_host_dot'),

      http1ProtocolOptions: messageField(m, 'http_protocol_options'),
      http2ProtocolOptions: messageField(m, 'http2_protocol_options'),
      streamErrorOnInvalidHttpMessage: typeof streamError === 'boolean' ? streamError : undefined,
      localReplyConfig: messageField(m, 'local_reply_config'),
      tracing: messageField(m, 'tracing'),
    };
  },
};
