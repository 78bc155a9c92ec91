/**
 * `envoy.network.dns_resolver.cares`: the c-ares DNS resolver, configured under a
 * cluster's or the bootstrap's `typed_dns_resolver_config`.
 *
 * Main thread (config load). Validates the resolvers (IP socket addresses) and builds the
 * resolver settings the DNS clusters use (`src/upstream/discovery/resolver.ts`, which
 * also reads this message from the cluster when it builds the resolver). Legate's resolver
 * is `node:dns` (c-ares) over UDP and its own DNS-over-TCP client for
 * `use_tcp_for_dns_lookups`; `udp_max_queries` has no counterpart there and is ignored with
 * a warning. Envoy counterpart: `CaresDnsResolverFactory`
 * (source/extensions/network/dns_resolver/cares/dns_impl.cc).
 */
import { at } from '../../../../config/proto-fields.ts';
import type { ExtensionFactory } from '../../../../config/types.ts';
import {
  CARES_RESOLVER_NAME,
  CARES_RESOLVER_TYPE,
  caresResolverSettings,
  SYSTEM_DNS_RESOLVER,
} from '../../../../upstream/discovery/resolver.ts';
import type { DnsResolverSettings } from '../../../../upstream/discovery/types.ts';

export const caresDnsResolverFactory: ExtensionFactory<DnsResolverSettings> = {
  name: CARES_RESOLVER_NAME,
  category: 'envoy.network.dns_resolver',
  configTypes: [CARES_RESOLVER_TYPE],
  createConfig(m, ctx) {
    const settings = caresResolverSettings(m);
    if (typeof settings === 'string') {
      ctx.error(at(ctx.step, 'resolvers'), settings);
      return SYSTEM_DNS_RESOLVER;
    }
    if (m['udp_max_queries'] !== undefined) {
      ctx.warn(
        at(ctx.step, 'udp_max_queries'),
        'udp_max_queries is not supported by Legate (node:dns has no such c-ares option) and is ignored',
      );
    }
    return settings;
  },
};
