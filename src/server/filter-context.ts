/**
 * What a network filter's data-path half gets on the worker that builds it, and the
 * contract of that half.
 *
 * Worker threads. The context carries the worker's Dispatcher, its stats, its
 * thread-local cluster manager and its access-log environment; `createFilterFactory` runs
 * once per listener filter chain and returns Envoy's `FilterFactoryCb`, which instantiates
 * the filter for each new connection. Envoy counterpart:
 * `Server::Configuration::FactoryContext` and
 * `NamedNetworkFilterConfigFactory::createFilterFactoryFromProto`.
 */

import type { AccessLogManager } from '../access-log/types.ts';
import type { Dispatcher } from '../event/types.ts';
import type { HttpFilterFactoryCb } from '../http/filter-types.ts';
import type { FilterFactoryCb } from '../network/types.ts';
import type { RuntimeSource } from '../runtime/types.ts';
import type { Scope } from '../stats/types.ts';
import type { ThreadLocalClusterManager } from '../upstream/thread-local-cluster-manager.ts';

export interface NetworkFilterContext {
  readonly dispatcher: Dispatcher;
  /** The worker's stats root (a filter scopes it with its stat_prefix). */
  readonly scope: Scope;
  readonly workerIndex: number;
  readonly clusterManager: ThreadLocalClusterManager;
  /** Builds a filter's access logs (`create` throws if one cannot be built on this worker). */
  readonly accessLogs: AccessLogManager;
  /**
   * The server's drain decision (Envoy's `DrainDecision::drainClose()`): true while the
   * listener drains, so HTTP/1 responses carry `connection: close`. Unset: never draining.
   */
  readonly draining?: () => boolean;
  /** The worker's runtime (the latest snapshot of the layered runtime); unset in unit tests. */
  readonly runtime?: RuntimeSource;
}

export interface NetworkFilterRuntime {
  /** Envoy's extension name (the same as the config factory's). */
  readonly name: string;
  createFilterFactory(config: unknown, context: NetworkFilterContext): FilterFactoryCb;
}

/** What an HTTP filter's data-path half gets on the worker that builds it. */
export interface HttpFilterContext {
  readonly dispatcher: Dispatcher;
  readonly scope: Scope;
  readonly workerIndex: number;
  /** The connection manager's stat prefix (`http.<prefix>.`). */
  readonly statPrefix: string;
  readonly clusterManager: ThreadLocalClusterManager;
  readonly accessLogs: AccessLogManager;
}

/** The worker-side half of an HTTP filter extension (`envoy.filters.http.router`, ...). */
export interface HttpFilterRuntime {
  readonly name: string;
  /** Once per connection manager config on this worker: returns the per-stream factory. */
  createFilterFactory(config: unknown, context: HttpFilterContext): HttpFilterFactoryCb;
}
