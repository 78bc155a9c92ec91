/**
 * Builds the discovery of a STATIC, STRICT_DNS or LOGICAL_DNS cluster from its decoded
 * config, with the resolver its DNS settings ask for.
 *
 * Main thread, called by the cluster manager once per cluster. A DNS cluster gets its own
 * resolver: from its own resolver config when it has one, else from the server's
 * (bootstrap) resolver settings. Envoy counterpart: `ClusterFactoryImplBase::create` and
 * `selectDnsResolver` (source/common/upstream/cluster_factory_impl.cc) with the
 * static / strict_dns / logical_dns cluster factories.
 */
import { stringField } from '../../config/proto-fields.ts';
import type { ProtoMessage } from '../../config/types.ts';
import type { Dispatcher } from '../../event/types.ts';
import type { ClusterDiscovery } from '../types.ts';
import { dnsClusterSettings } from './dns-target.ts';
import { configuredEndpoints } from './endpoints.ts';
import { LogicalDnsDiscovery } from './logical-dns.ts';
import { clusterDnsResolverSettings, createDnsResolver, SYSTEM_DNS_RESOLVER } from './resolver.ts';
import { StaticDiscovery } from './static.ts';
import { StrictDnsDiscovery } from './strict-dns.ts';
import type { DnsResolver, DnsResolverSettings } from './types.ts';

export interface DiscoveryContext {
  readonly dispatcher: Dispatcher;
  /** The server's resolver settings (`serverDnsResolverSettings(bootstrap)`); the system's when unset. */
  readonly serverResolver?: DnsResolverSettings;
  /** Makes a DNS cluster's resolver; `createDnsResolver` on `dispatcher` when unset (tests inject their own). */
  readonly createResolver?: (settings: DnsResolverSettings) => DnsResolver;
  /** Jitter source in [0, 1) for the DNS failure back-off; `Math.random` when unset. */
  readonly random?: () => number;
}

/** The cluster types built here. */
export const DISCOVERY_TYPES = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS'] as const;

/**
 * The discovery of a STATIC, STRICT_DNS or LOGICAL_DNS cluster (`type`, STATIC when unset),
 * or why it cannot be built. Nothing starts before `initialize`.
 */
export function createClusterDiscovery(
  cluster: ProtoMessage,
  ctx: DiscoveryContext,
): ClusterDiscovery | string {
  if (cluster['cluster_type'] !== undefined)
    return 'a custom cluster_type is not built by this discovery factory';
  const type = stringField(cluster, 'type', 'STATIC');
  const endpoints = configuredEndpoints(cluster);
  if (typeof endpoints === 'string') return endpoints;
  if (type === 'STATIC') return new StaticDiscovery(endpoints);
  if (type !== 'STRICT_DNS' && type !== 'LOGICAL_DNS')
    return `cluster type ${type} is not built by this discovery factory`;

  if (type === 'LOGICAL_DNS' && endpoints.length !== 1) {
    return 'LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint';
  }
  const settings = dnsClusterSettings(cluster);
  if (typeof settings === 'string') return settings;
  const own = clusterDnsResolverSettings(cluster);
  if (typeof own === 'string') return own;
  const resolverSettings = own ?? ctx.serverResolver ?? SYSTEM_DNS_RESOLVER;
  const resolver = (ctx.createResolver ?? ((s) => createDnsResolver(s, ctx.dispatcher)))(resolverSettings);
  const deps = {
    dispatcher: ctx.dispatcher,
    resolver,
    ...(ctx.random === undefined ? {} : { random: ctx.random }),
  };
  return type === 'STRICT_DNS'
    ? new StrictDnsDiscovery(endpoints, settings, deps)
    : new LogicalDnsDiscovery(endpoints, settings, deps);
}
