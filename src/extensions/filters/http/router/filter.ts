/**
 * `envoy.filters.http.router` on the data path: the worker-side factory that gives every
 * stream of a connection manager its router filter.
 *
 * Worker thread. `createFilterFactory` runs once per connection manager config on a worker:
 * it makes the router's stats (`http.<stat_prefix>.rq_total`, `no_route`, `no_cluster`,
 * `rq_redirect`, `rq_direct_response`, `rq_reset_after_downstream_response_started`) and
 * finds the worker's connection pools; the returned callback adds one `RouterFilter` per
 * stream. Envoy counterpart: `RouterFilterConfig::createFilterFactoryFromProtoTyped`
 * (source/extensions/filters/http/router/config.cc).
 */
import { workerConnPools } from '../../../../http/conn-pool/cluster-pools.ts';
import type { HttpFilterFactoryCb } from '../../../../http/filter-types.ts';
import { RouterFilter, type RouterFilterShared, type RouterStats } from '../../../../router/router-filter.ts';
import type { HttpFilterContext, HttpFilterRuntime } from '../../../../server/filter-context.ts';
import type { Scope } from '../../../../stats/types.ts';
import type { RouterConfig } from './config.ts';

function routerStats(scope: Scope): RouterStats {
  return {
    rqTotal: scope.counter('rq_total'),
    noRoute: scope.counter('no_route'),
    noCluster: scope.counter('no_cluster'),
    rqRedirect: scope.counter('rq_redirect'),
    rqDirectResponse: scope.counter('rq_direct_response'),
    rqResetAfterDownstreamResponseStarted: scope.counter('rq_reset_after_downstream_response_started'),
  };
}

/** `http.<prefix>.` from the connection manager's stat prefix (given with or without `http.`). */
function httpScope(context: HttpFilterContext): Scope {
  const prefix = context.statPrefix;
  if (prefix.startsWith('http.')) return context.scope.scope(prefix.endsWith('.') ? prefix : `${prefix}.`);
  return context.scope.scope(`http.${prefix}.`);
}

export const routerRuntime: HttpFilterRuntime = {
  name: 'envoy.filters.http.router',
  createFilterFactory(config: unknown, context: HttpFilterContext): HttpFilterFactoryCb {
    const c = config as RouterConfig;
    const shared: RouterFilterShared = {
      settings: {
        dynamicStats: c.dynamicStats,
        suppressEnvoyHeaders: c.suppressEnvoyHeaders,
        respectExpectedRqTimeout: c.respectExpectedRqTimeout,
        strictCheckHeaders: c.strictCheckHeaders,
      },
      stats: routerStats(httpScope(context)),
      clusterManager: context.clusterManager,
      pools: workerConnPools(context.clusterManager, context.dispatcher),
      random: Math.random,
    };
    return (callbacks) => callbacks.addStreamDecoderFilter(new RouterFilter(shared));
  },
};
