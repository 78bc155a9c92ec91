/**
 * `envoy.filters.network.http_connection_manager` on the data path: the worker-side half that
 * turns the HCM's internal config into a `ConnectionManagerConfig` (route table compiled, HTTP
 * filter factories built, codec settings, stats, access logs) and gives every new connection of
 * the filter chain its own `ConnectionManagerImpl`.
 *
 * Worker threads. `createFilterFactory` runs once per listener filter chain on each worker
 * (so the route table is compiled once per worker per HCM config); the factory it returns runs
 * per connection and allocates only the connection manager. The HTTP filters' data-path halves
 * are given to `createHttpConnectionManagerRuntime` (the one list of them is in `src/exe`).
 * Envoy counterpart: `HttpConnectionManagerFilterConfigFactory::createFilterFactoryFromProto`
 * and `HttpConnectionManagerConfig` (source/extensions/filters/network/
 * http_connection_manager/config.cc).
 */
import os from 'node:os';
import { boolField, messageList, numberField, stringField } from '../../../../config/proto-fields.ts';
import type { ProtoMessage } from '../../../../config/types.ts';
import { ConnectionManagerImpl } from '../../../../http/conn-manager/conn-manager.ts';
import {
  http1SettingsFromOptions,
  streamErrorOnInvalidHttpMessage,
} from '../../../../http/conn-manager/http1-options.ts';
import { connectionManagerStats } from '../../../../http/conn-manager/stats.ts';
import type {
  ConnectionManagerConfig,
  HttpFilterChainEntry,
  RouteConfig,
  UpgradeFilterChain,
} from '../../../../http/conn-manager/types.ts';
import { internalAddressConfig } from '../../../../http/conn-manager/utility.ts';
import type { StreamRoute } from '../../../../http/filter-types.ts';
import type { HeaderMap } from '../../../../http/types.ts';
import { compileRouteTable, type Route, type RouteTable } from '../../../../router/config.ts';
import type {
  HttpFilterContext,
  HttpFilterRuntime,
  NetworkFilterContext,
  NetworkFilterRuntime,
} from '../../../../server/filter-context.ts';
import type { HttpConnectionManagerConfig, HttpFilterConfig } from './config.ts';

/** Envoy's default `per_connection_buffer_limit_bytes`, when the connection tells none. */
const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

const FILTER_CONFIG_TYPE = 'envoy.config.route.v3.FilterConfig';

/** The compiled route table as the connection manager consults it. */
class RouteTableConfig implements RouteConfig {
  private readonly table: RouteTable;
  readonly internalOnlyHeaders: readonly string[];

  constructor(table: RouteTable) {
    this.table = table;
    this.internalOnlyHeaders = table.internalOnlyHeaders;
  }

  route(headers: HeaderMap, randomValue: number): StreamRoute | undefined {
    return this.table.route(headers, randomValue);
  }

  routeIdleTimeoutMs(route: StreamRoute): number | undefined {
    const action = (route as Route).action;
    return action.kind === 'route' ? action.idleTimeoutMs : undefined;
  }

  routeMaxStreamDurationMs(route: StreamRoute): number | undefined {
    const action = (route as Route).action;
    return action.kind === 'route' ? action.maxStreamDurationMs : undefined;
  }

  routeUpgradeEnabled(route: StreamRoute, upgradeType: string): boolean | undefined {
    const action = (route as Route).action;
    return action.kind === 'route' ? action.upgradeConfigs.get(upgradeType)?.enabled : undefined;
  }

  routeFilterDisabled(route: StreamRoute, filterName: string): boolean | undefined {
    const config = (route as Route).perFilterConfig(filterName);
    if (config === undefined) return undefined;
    // A config.route.v3.FilterConfig says; any other per-route config enables the filter.
    if (String(config['@type'] ?? '').endsWith(FILTER_CONFIG_TYPE)) return boolField(config, 'disabled');
    return false;
  }
}

let cachedLocalAddress: string | undefined;

/**
 * The address appended to XFF for a loopback peer: the host's first non-loopback IPv4 address,
 * else 127.0.0.1 (Envoy's `Network::Utility::getLocalAddress`).
 */
function localAddress(): string {
  if (cachedLocalAddress !== undefined) return cachedLocalAddress;
  cachedLocalAddress = '127.0.0.1';
  for (const list of Object.values(os.networkInterfaces())) {
    const found = list?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found !== undefined) {
      cachedLocalAddress = found.address;
      break;
    }
  }
  return cachedLocalAddress;
}

/** `internal_address_config`: its CIDR ranges and `unix_sockets`. */
function internalAddresses(message: ProtoMessage | undefined) {
  const ranges = messageList(message, 'cidr_ranges').map((r) => ({
    address: stringField(r, 'address_prefix'),
    prefixLength: numberField(r, 'prefix_len', 0),
  }));
  return internalAddressConfig(ranges, boolField(message, 'unix_sockets'));
}

/** Builds one chain's HTTP filter factories on this worker. */
function buildFilters(
  filters: readonly HttpFilterConfig[],
  runtimes: ReadonlyMap<string, HttpFilterRuntime>,
  context: HttpFilterContext,
): HttpFilterChainEntry[] {
  const chain: HttpFilterChainEntry[] = [];
  for (const filter of filters) {
    const runtime = runtimes.get(filter.extension);
    if (runtime === undefined) {
      // An optional filter this build lacks is skipped, as Envoy skips it.
      if (filter.isOptional) continue;
      throw new Error(`HTTP filter ${filter.extension} has no data path in this build of Legate`);
    }
    chain.push({
      name: filter.name,
      factory: runtime.createFilterFactory(filter.config, context),
      disabled: filter.disabled,
    });
  }
  return chain;
}

/** The connection manager's config on this worker, from the HCM's internal config. */
export function buildConnectionManagerConfig(
  config: HttpConnectionManagerConfig,
  context: NetworkFilterContext,
  runtimes: ReadonlyMap<string, HttpFilterRuntime>,
): ConnectionManagerConfig {
  const httpContext: HttpFilterContext = {
    dispatcher: context.dispatcher,
    scope: context.scope,
    workerIndex: context.workerIndex,
    statPrefix: config.statPrefix,
    clusterManager: context.clusterManager,
    accessLogs: context.accessLogs,
  };
  const filters = buildFilters(config.httpFilters, runtimes, httpContext);
  const upgrades: UpgradeFilterChain[] = config.upgradeConfigs.map((u) => ({
    upgradeType: u.upgradeType.toLowerCase(),
    enabled: u.enabled,
    filters: u.filters === undefined ? undefined : buildFilters(u.filters, runtimes, httpContext),
  }));
  const routeConfig =
    config.routeConfig === undefined
      ? undefined
      : new RouteTableConfig(compileRouteTable(config.routeConfig.config, context.runtime));
  const options = config.http1ProtocolOptions;
  const scheme = config.schemeHeaderTransformation;
  return {
    dispatcher: context.dispatcher,
    stats: connectionManagerStats(context.scope, config.statPrefix),
    http1Settings: http1SettingsFromOptions(options, {
      maxRequestHeadersKb: config.maxRequestHeadersKb,
      maxHeadersCount: config.maxHeadersCount,
      headersWithUnderscoresAction: config.headersWithUnderscoresAction,
      scheme: 'http',
      // Envoy validates the scheme of absolute-form targets at the edge only.
      validateScheme: config.useRemoteAddress && config.xffNumTrustedHops === 0,
    }),
    routeConfig,
    filters,
    upgrades,
    accessLogs: config.accessLogs.map((l) => context.accessLogs.create(l)),
    serverName: config.serverName,
    serverHeaderTransformation: config.serverHeaderTransformation,
    schemeToSet: stringField(scheme, 'scheme_to_overwrite'),
    useRemoteAddress: config.useRemoteAddress,
    xffNumTrustedHops: config.xffNumTrustedHops,
    skipXffAppend: config.skipXffAppend,
    internalAddressConfig: internalAddresses(config.internalAddressConfig),
    localAddress: localAddress(),
    via: config.via,
    generateRequestId: config.generateRequestId,
    preserveExternalRequestId: config.preserveExternalRequestId,
    alwaysSetRequestIdInResponse: config.alwaysSetRequestIdInResponse,
    proxy100Continue: config.proxy100Continue,
    appendXForwardedPort: config.appendXForwardedPort,
    forwardClientCertDetails: config.forwardClientCertDetails,
    streamErrorOnInvalidHttpMessage: streamErrorOnInvalidHttpMessage(
      options,
      config.streamErrorOnInvalidHttpMessage,
    ),
    streamIdleTimeoutMs: config.streamIdleTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    requestHeadersTimeoutMs: config.requestHeadersTimeoutMs,
    drainTimeoutMs: config.drainTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxConnectionDurationMs: config.maxConnectionDurationMs,
    maxStreamDurationMs: config.maxStreamDurationMs,
    maxRequestsPerConnection: config.maxRequestsPerConnection,
    bufferLimitBytes: DEFAULT_BUFFER_LIMIT_BYTES,
    normalizePath: config.normalizePath,
    mergeSlashes: config.mergeSlashes,
    pathWithEscapedSlashesAction: config.pathWithEscapedSlashesAction,
    stripPortMode: config.stripPortMode,
    stripTrailingHostDot: config.stripTrailingHostDot,
    drainClose: context.draining ?? neverDraining,
  };
}

function neverDraining(): boolean {
  return false;
}

/**
 * The fields of a valid HCM config this data path does not implement, with the reason: what
 * `serve` should refuse (naming the field) rather than silently ignore. Empty when the config
 * runs as Envoy would run it.
 */
export function unsupportedHttpConnectionManagerFields(
  config: HttpConnectionManagerConfig,
): Array<{ field: string; reason: string }> {
  const out: Array<{ field: string; reason: string }> = [];
  if (config.codecType === 'HTTP2' || config.codecType === 'HTTP3') {
    out.push({ field: 'codec_type', reason: `${config.codecType} has no data path yet (HTTP/1 only)` });
  }
  if (config.rds !== undefined) out.push({ field: 'rds', reason: 'RDS is not supported yet' });
  if (config.scopedRoutes !== undefined) {
    out.push({ field: 'scoped_routes', reason: 'scoped routes are not supported yet' });
  }
  if (config.localReplyConfig !== undefined) {
    out.push({ field: 'local_reply_config', reason: 'local reply mappers are not supported yet' });
  }
  if (config.tracing !== undefined) out.push({ field: 'tracing', reason: 'tracing is not supported yet' });
  if (config.addUserAgent) {
    out.push({ field: 'add_user_agent', reason: 'the service cluster is not known to the data path yet' });
  }
  if (config.accessLogFlushIntervalMs > 0) {
    out.push({ field: 'access_log_flush_interval', reason: 'periodic access logs are not supported yet' });
  }
  if (config.flushAccessLogOnNewRequest) {
    out.push({ field: 'flush_access_log_on_new_request', reason: 'not supported yet' });
  }
  if (config.flushLogOnTunnelSuccessfullyEstablished) {
    out.push({
      field: 'access_log_options.flush_log_on_tunnel_successfully_established',
      reason: 'not supported yet',
    });
  }
  if (config.schemeHeaderTransformation?.['match_upstream'] === true) {
    out.push({ field: 'scheme_header_transformation.match_upstream', reason: 'not supported yet' });
  }
  return out;
}

/**
 * The HCM's data-path half, given the HTTP filters' data-path halves of this build (the router
 * and any other). A filter the config names that is not among them makes `createFilterFactory`
 * throw (a failed config update), unless the filter is `is_optional`.
 */
export function createHttpConnectionManagerRuntime(
  httpFilterRuntimes: readonly HttpFilterRuntime[],
): NetworkFilterRuntime {
  const runtimes = new Map(httpFilterRuntimes.map((r) => [r.name, r]));
  return {
    name: 'envoy.filters.network.http_connection_manager',
    createFilterFactory: (rawConfig, context) => {
      const config = buildConnectionManagerConfig(
        rawConfig as HttpConnectionManagerConfig,
        context,
        runtimes,
      );
      return (filterManager) => filterManager.addFilter(new ConnectionManagerImpl(config));
    },
  };
}
