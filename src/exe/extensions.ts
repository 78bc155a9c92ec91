/**
 * The compiled-in extensions: the ONE list of every extension this build of Legate has.
 *
 * Main thread, read once at startup to build the `ExtensionRegistry` (look-up by config
 * type URL, then by Envoy extension name); `--disable-extensions` removes entries from
 * that registry, not from this list. Adding an extension means adding its factory here
 * and nowhere else: core code never imports `src/extensions/`. Envoy counterpart: the
 * `extensions_build_config.bzl` list and the `REGISTER_FACTORY` calls it links in.
 */

import type { AccessLogEntry, AccessLogRuntime } from '../access-log/types.ts';
import type { ExtensionFactory } from '../config/types.ts';
import { defaultAccessLogFormat } from '../extensions/access_loggers/common/format.ts';
import { type FileAccessLogConfig, fileAccessLogFactory } from '../extensions/access_loggers/file/config.ts';
import { accessLogRuntimes } from '../extensions/access_loggers/runtimes.ts';
import {
  stderrAccessLogFactory,
  stdoutAccessLogFactory,
} from '../extensions/access_loggers/stream/config.ts';
import { routerFactory } from '../extensions/filters/http/router/config.ts';
import { routerRuntime } from '../extensions/filters/http/router/filter.ts';
import { httpInspectorFactory } from '../extensions/filters/listener/http_inspector/config.ts';
import { originalDstFactory } from '../extensions/filters/listener/original_dst/config.ts';
import { tlsInspectorFactory } from '../extensions/filters/listener/tls_inspector/config.ts';
import { echoFactory } from '../extensions/filters/network/echo/config.ts';
import { echoRuntime } from '../extensions/filters/network/echo/filter.ts';
import type { HttpConnectionManagerConfig } from '../extensions/filters/network/http_connection_manager/config.ts';
import { httpConnectionManagerFactory } from '../extensions/filters/network/http_connection_manager/config.ts';
import {
  createHttpConnectionManagerRuntime,
  unsupportedHttpConnectionManagerFields,
} from '../extensions/filters/network/http_connection_manager/filter.ts';
import { tcpProxyFactory } from '../extensions/filters/network/tcp_proxy/config.ts';
import { tcpProxyRuntime } from '../extensions/filters/network/tcp_proxy/filter.ts';
import { caresDnsResolverFactory } from '../extensions/network/dns_resolver/cares/config.ts';
import { previousHostsPredicateFactory } from '../extensions/retry/host/previous_hosts/config.ts';
import { rawBufferFactory } from '../extensions/transport_sockets/raw_buffer/config.ts';
import { tlsTransportSocketFactory } from '../extensions/transport_sockets/tls/config.ts';
import { httpProtocolOptionsFactory } from '../extensions/upstreams/http/config.ts';
import type { HttpFilterRuntime, NetworkFilterRuntime } from '../server/filter-context.ts';

export const compiledInExtensions: readonly ExtensionFactory[] = [
  // Listener filters
  httpInspectorFactory,
  originalDstFactory,
  tlsInspectorFactory,
  // Network filters
  echoFactory,
  httpConnectionManagerFactory,
  tcpProxyFactory,
  // HTTP filters
  routerFactory,
  // Access loggers
  fileAccessLogFactory,
  stdoutAccessLogFactory,
  stderrAccessLogFactory,
  // Transport sockets
  rawBufferFactory,
  tlsTransportSocketFactory,
  // Upstream protocol options
  httpProtocolOptionsFactory,
  // Retry host predicates
  previousHostsPredicateFactory,
  // DNS resolvers
  caresDnsResolverFactory,
];

/**
 * The data-path halves of the network filters above, which workers instantiate per
 * connection. A filter whose config factory is listed above but whose runtime is not
 * listed here validates, but a server refuses to start with it.
 */
export const compiledInNetworkFilters: readonly NetworkFilterRuntime[] = [
  echoRuntime,
  tcpProxyRuntime,
  createHttpConnectionManagerRuntime(compiledInHttpFilters()),
];

/** The data-path halves of the HTTP filters above. */
function compiledInHttpFilters(): readonly HttpFilterRuntime[] {
  return [routerRuntime];
}

/**
 * Parts of a network filter's config that validate but have no data path in this build:
 * `serve` refuses them by field instead of ignoring them. Keyed by extension name.
 */
export const networkFilterRefusals: Readonly<
  Record<string, (config: unknown) => Array<{ field: string; reason: string }>>
> = {
  'envoy.filters.network.http_connection_manager': (config) =>
    unsupportedHttpConnectionManagerFields(config as HttpConnectionManagerConfig),
};

/** The data-path halves of the access loggers above (file, stdout, stderr). */
export const compiledInAccessLoggers: readonly AccessLogRuntime[] = accessLogRuntimes;

/** A file access log at `path` with Envoy's default format (the admin's deprecated `access_log_path`). */
export function defaultFileAccessLog(path: string): AccessLogEntry {
  const config: FileAccessLogConfig = { path, format: defaultAccessLogFormat() };
  return { extension: fileAccessLogFactory.name, config };
}
