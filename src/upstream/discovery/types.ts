/**
 * Contracts of cluster discovery on the main thread: the DNS resolver the DNS clusters
 * query, its settings, and the DNS cluster settings read from a cluster.
 *
 * Type-only. The discoveries themselves implement `ClusterDiscovery` from
 * `../types.ts`. Envoy counterpart: `envoy/network/dns.h` (`DnsResolver`,
 * `DnsLookupFamily`) and the DNS fields of `envoy.config.cluster.v3.Cluster`.
 */

/** 4: A records; 6: AAAA records. */
export type AddressFamily = 4 | 6;

/** The answer to one query. */
export interface DnsAnswer {
  /** The addresses of the answer's A or AAAA records, in answer order; empty when the name has none. */
  readonly addresses: readonly string[];
  /** The lowest TTL of those records, in seconds; 0 when there are none. */
  readonly ttlS: number;
}

/** Resolves names for the DNS clusters. Main thread only. */
export interface DnsResolver {
  /**
   * One query for `name`'s A (4) or AAAA (6) records. NXDOMAIN and NODATA resolve to an
   * answer with no addresses; any other failure rejects with a `DnsQueryError`.
   */
  resolve(name: string, family: AddressFamily): Promise<DnsAnswer>;
  /** Cancels the queries in flight (they reject with ECANCELLED) and every later one. */
  close(): void;
}

export interface DnsServerAddress {
  readonly address: string;
  readonly port: number;
}

/** Where and how a resolver queries. */
export interface DnsResolverSettings {
  /** Name servers in order; empty: the system's. */
  readonly servers: readonly DnsServerAddress[];
  /** `use_tcp_for_dns_lookups`: every query over TCP. */
  readonly useTcp: boolean;
  /** `use_resolvers_as_fallback`: `servers` only when the system has none but c-ares' default. */
  readonly useResolversAsFallback: boolean;
  /** `filter_unroutable_families`: no query for a family no non-loopback interface has. */
  readonly filterUnroutableFamilies: boolean;
}

/** `dns_lookup_family`: which records a name resolves to, and in which order. */
export type DnsLookupFamily = 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';

/** The DNS settings of a STRICT_DNS or LOGICAL_DNS cluster, with Envoy's defaults applied. */
export interface DnsClusterSettings {
  /** `dns_refresh_rate` (default 5000 ms): the wait after a successful resolution. */
  readonly refreshRateMs: number;
  /** `respect_dns_ttl`: wait the answer's TTL instead, when it is not 0. */
  readonly respectDnsTtl: boolean;
  /** `dns_lookup_family` (default AUTO). */
  readonly lookupFamily: DnsLookupFamily;
  /**
   * `dns_failure_refresh_rate`: jittered exponential back-off after a failure, from
   * `base_interval` up to `max_interval` (default 10 x base); undefined: `refreshRateMs`.
   */
  readonly failureRefresh: { readonly baseMs: number; readonly maxMs: number } | undefined;
}
