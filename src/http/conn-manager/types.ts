/**
 * Contracts of the HTTP connection manager: its resolved per-worker config, the route
 * configuration it consults (an interface, so `http/` never imports `router/`), the filter
 * chain factory, and the internal-address policy.
 *
 * Worker threads. The network filter's runtime (`extensions/filters/network/
 * http_connection_manager/filter.ts`) builds one `ConnectionManagerConfig` per listener filter
 * chain per worker from the HCM's internal config; every connection of that chain shares it.
 * Envoy counterpart: `Http::ConnectionManagerConfig` (source/common/http/conn_manager_config.h),
 * `Router::Config`, `Http::FilterChainFactory`, `Http::InternalAddressConfig`.
 */
import type { AccessLogInstance } from '../../access-log/types.ts';
import type { Dispatcher } from '../../event/types.ts';
import type { FilterChainFactoryCallbacks, StreamRoute } from '../filter-types.ts';
import type { Http1Settings } from '../http1/settings.ts';
import type { HeaderMap } from '../types.ts';
import type { ConnectionManagerStats } from './stats.ts';

/**
 * The route table as the connection manager sees it: route selection plus the few per-route
 * values the connection manager itself applies. The HCM runtime adapts the compiled
 * `RouteTable` of `src/router/config.ts` to it; the routes it returns are that table's
 * `Route` objects (the router filter reads them through `callbacks.route()`).
 */
export interface RouteConfig {
  /** The route for a request, or undefined (the router answers 404 `NR`). */
  route(headers: HeaderMap, randomValue: number): StreamRoute | undefined;
  /** Lower-case `internal_only_headers`, removed from external requests. */
  readonly internalOnlyHeaders: readonly string[];
  /** The route action's `idle_timeout` in ms (0 disables), or undefined when unset. */
  routeIdleTimeoutMs(route: StreamRoute): number | undefined;
  /** The route action's `max_stream_duration.max_stream_duration` in ms, or undefined when unset. */
  routeMaxStreamDurationMs(route: StreamRoute): number | undefined;
  /**
   * The route-level `upgrade_configs` entry for `upgradeType` (lower-case): true enabled,
   * false disabled, undefined when the route does not name it.
   */
  routeUpgradeEnabled(route: StreamRoute, upgradeType: string): boolean | undefined;
  /**
   * Whether the route's `typed_per_filter_config` (a `config.route.v3.FilterConfig`) disables
   * (true) or enables (false) the named filter; undefined when the route says nothing.
   */
  routeFilterDisabled(route: StreamRoute, filterName: string): boolean | undefined;
}

/** One HTTP filter of a chain, built on this worker. */
export interface HttpFilterChainEntry {
  /** The filter's name in the chain (the key of its per-route configs). */
  readonly name: string;
  readonly factory: (callbacks: FilterChainFactoryCallbacks) => void;
  /** `disabled`: skipped unless the route enables it. */
  readonly disabled: boolean;
}

/** One `upgrade_configs` entry, its filters built on this worker. */
export interface UpgradeFilterChain {
  /** Lower-case upgrade type (`websocket`, `connect`...). */
  readonly upgradeType: string;
  readonly enabled: boolean;
  /** Its own chain, or undefined to use the connection manager's. */
  readonly filters: readonly HttpFilterChainEntry[] | undefined;
}

/** Which addresses are internal (trusted) for `x-envoy-internal` and header sanitation. */
export interface InternalAddressConfig {
  /** `address` as Node prints it (IPv4-mapped IPv6 allowed); '' for a pipe. */
  isInternalAddress(address: string): boolean;
}

export type ServerHeaderTransformation = 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
export type PathWithEscapedSlashesAction =
  | 'KEEP_UNCHANGED'
  | 'REJECT_REQUEST'
  | 'UNESCAPE_AND_REDIRECT'
  | 'UNESCAPE_AND_FORWARD';
export type StripPortMode = 'none' | 'matching' | 'any';

/**
 * Everything a connection manager needs, resolved once per listener filter chain on a worker.
 * Timeouts are in milliseconds; 0 disables.
 */
export interface ConnectionManagerConfig {
  readonly dispatcher: Dispatcher;
  readonly stats: ConnectionManagerStats;
  readonly http1Settings: Http1Settings;
  /** Undefined when routes come from RDS / scoped routes (not on the data path yet): no route matches. */
  readonly routeConfig: RouteConfig | undefined;
  readonly filters: readonly HttpFilterChainEntry[];
  readonly upgrades: readonly UpgradeFilterChain[];
  readonly accessLogs: readonly AccessLogInstance[];

  readonly serverName: string;
  readonly serverHeaderTransformation: ServerHeaderTransformation;
  /** `scheme_header_transformation.scheme_to_overwrite`, or ''. */
  readonly schemeToSet: string;
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  readonly internalAddressConfig: InternalAddressConfig;
  /** Appended to XFF instead of a loopback peer (Envoy's `local_info.address()`). */
  readonly localAddress: string;
  readonly via: string;
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly alwaysSetRequestIdInResponse: boolean;
  readonly proxy100Continue: boolean;
  readonly appendXForwardedPort: boolean;
  /** `SANITIZE` (and every mode, without TLS) removes `x-forwarded-client-cert`. */
  readonly forwardClientCertDetails: string;
  /** False: a 400 local reply closes an HTTP/1 connection (Envoy's default). */
  readonly streamErrorOnInvalidHttpMessage: boolean;

  readonly streamIdleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly requestHeadersTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** The connection idle timeout (`common_http_protocol_options.idle_timeout`). */
  readonly idleTimeoutMs: number;
  readonly maxConnectionDurationMs: number;
  readonly maxStreamDurationMs: number;
  /** 0: no limit. */
  readonly maxRequestsPerConnection: number;
  /** Per-request body buffer limit when the connection tells none (Envoy's 1 MiB listener default). */
  readonly bufferLimitBytes: number;

  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly pathWithEscapedSlashesAction: PathWithEscapedSlashesAction;
  readonly stripPortMode: StripPortMode;
  readonly stripTrailingHostDot: boolean;

  /** The server's drain decision: true while draining (responses carry `connection: close`). */
  readonly drainClose: () => boolean;
}
