/**
 * Contracts of the upstream side: hosts and host sets as data (main -> workers), the
 * worker-side hosts, priority sets and load balancers, and a cluster implementation's
 * life cycle on main.
 *
 * Main thread computes clusters' hosts (static config, DNS answers, original destinations)
 * and posts them to workers as `ClusterData`; each worker rebuilds its own `Host` objects,
 * priority set and load balancer from that data. Envoy counterpart: `envoy/upstream/upstream.h`
 * (Host, HostSet, PrioritySet), `envoy/upstream/load_balancer.h`, `ClusterImplBase`.
 */

import type { Http1Settings } from '../http/http1/settings.ts';

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LocalityData {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** One upstream host, as data. */
export interface HostData {
  /** IP address to connect to. */
  readonly address: string;
  readonly port: number;
  /** The name it was resolved from (DNS clusters), or the configured `hostname`; '' otherwise. */
  readonly hostname: string;
  /** `load_balancing_weight` (1 when unset). */
  readonly weight: number;
  readonly priority: number;
  readonly locality: LocalityData;
  /** The locality's `load_balancing_weight`, when given. */
  readonly localityWeight: number | undefined;
  /** From `health_status` (EDS) or health checking; UNKNOWN and HEALTHY count as healthy. */
  readonly healthStatus: HealthStatus;
  /** Index of this host's cells in its cluster's `hostStats` (set by the cluster manager on main). */
  readonly statsSlot?: number;
}

/** A host on a worker. Identity is kept across host-set updates (same address:port), so counts survive. */
export interface Host {
  /** `address:port` (IPv6 as `[addr]:port`). */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly hostname: string;
  readonly weight: number;
  readonly priority: number;
  readonly locality: LocalityData;
  healthy(): boolean;
  /** Requests (HTTP) or connections (TCP) in flight on this worker to this host. */
  activeRequests: number;
  activeConnections: number;
}

/** The hosts of one priority level on a worker. */
export interface HostSet {
  readonly priority: number;
  readonly hosts: readonly Host[];
  /** UNKNOWN / HEALTHY hosts. */
  readonly healthyHosts: readonly Host[];
  /** DEGRADED hosts: they take only the load the healthy hosts of every priority leave over. */
  readonly degradedHosts: readonly Host[];
  readonly overprovisioningFactor: number;
}

/** Every priority level of a cluster on a worker; `onUpdate` callbacks run after a change. */
export interface PrioritySet {
  readonly hostSets: readonly HostSet[];
  addUpdateCallback(cb: (priority: number, added: readonly Host[], removed: readonly Host[]) => void): void;
}

/** What the caller knows about the request or connection being balanced. */
export interface LoadBalancerContext {
  /** A 64-bit hash for RING_HASH / MAGLEV (e.g. of the downstream address), if the caller has one. */
  computeHashKey?(): bigint | undefined;
  /** Hosts to avoid (retries). */
  shouldSelectAnotherHost?(host: Host): boolean;
  /**
   * How many more picks to try while `shouldSelectAnotherHost` rejects the one made
   * (`retry_policy.host_selection_retry_max_attempts`); 1 when not given, as in Envoy.
   */
  hostSelectionRetryCount?(): number;
  /** ORIGINAL_DST: where the downstream connection was going (or the HTTP header's value). */
  originalDestination?(): { readonly address: string; readonly port: number } | undefined;
}

export interface LoadBalancer {
  /** A host, or undefined when the cluster has none to offer. */
  chooseHost(context: LoadBalancerContext | undefined): Host | undefined;
  /** The worker's runtime has a new snapshot: re-read what depends on it. */
  onRuntimeUpdate?(): void;
}

export type LbPolicy =
  | 'ROUND_ROBIN'
  | 'LEAST_REQUEST'
  | 'RANDOM'
  | 'RING_HASH'
  | 'MAGLEV'
  | 'CLUSTER_PROVIDED'
  | 'LOAD_BALANCING_POLICY_CONFIG';

/** The load-balancing settings a worker needs, with Envoy's defaults applied. */
export interface LbConfigData {
  readonly policy: LbPolicy;
  /** `common_lb_config.healthy_panic_threshold`, percent (default 50). */
  readonly healthyPanicThreshold: number;
  /** Overprovisioning factor in percent (140 = Envoy's 1.4). */
  readonly overprovisioningFactor: number;
  readonly leastRequest: { readonly choiceCount: number; readonly activeRequestBias: number };
  readonly ringHash: { readonly minimumRingSize: number; readonly maximumRingSize: number };
  readonly maglev: { readonly tableSize: number };
}

/** Circuit breaker thresholds of one priority (`DEFAULT` or `HIGH`). */
export interface CircuitBreakerThresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  readonly trackRemaining: boolean;
}

/** A cluster as every worker receives it. */
export interface ClusterData {
  readonly name: string;
  /** `STATIC`, `STRICT_DNS`, `LOGICAL_DNS`, `ORIGINAL_DST`, `EDS`. */
  readonly type: string;
  /** Stats prefix without `cluster.`: `alt_stat_name`, or the name. */
  readonly statName: string;
  readonly lb: LbConfigData;
  readonly connectTimeoutMs: number;
  readonly perConnectionBufferLimitBytes: number;
  readonly circuitBreakers: {
    readonly default: CircuitBreakerThresholds;
    readonly high: CircuitBreakerThresholds;
  };
  /**
   * The cluster-wide resource counts, shared by every worker: Int32 cells
   * [cx, pending, rq, retries] for DEFAULT then HIGH, changed with Atomics.
   */
  readonly resources: SharedArrayBuffer;
  readonly hosts: readonly HostData[];
  /**
   * Per-host counters shared by every worker (Uint32 cells changed with Atomics),
   * `HOST_STATS.length` cells per host at `statsSlot * HOST_STATS.length`: what `/clusters` prints.
   */
  readonly hostStats: SharedArrayBuffer;
  /** `upstream_bind_config.source_address`, if any. */
  readonly bindAddress: { readonly address: string; readonly port: number } | undefined;
  /** `upstream_connection_options.tcp_keepalive`, if any (seconds). */
  readonly tcpKeepalive:
    | { readonly probes: number; readonly timeS: number; readonly intervalS: number }
    | undefined;
  /**
   * HTTP upstream settings from the cluster's HttpProtocolOptions (or the deprecated
   * cluster-level fields): idle timeout (1 h), requests per connection (0: unlimited) and
   * connection duration (0: unlimited). The HTTP/1 client codec's settings stay the pool's.
   */
  readonly http?: {
    readonly idleTimeoutMs: number;
    readonly maxRequestsPerConnection: number;
    readonly maxConnectionDurationMs: number;
    /** The client codec's settings from `http_protocol_options` (plain data). */
    readonly http1: Http1Settings;
  };
  /** ORIGINAL_DST settings. */
  readonly originalDst:
    | { readonly useHttpHeader: boolean; readonly httpHeaderName: string; readonly cleanupIntervalMs: number }
    | undefined;
}

/**
 * A cluster's discovery on main: STATIC knows its hosts at once, DNS clusters after the
 * first answer. Envoy counterpart: `ClusterImplBase::initialize` / `onPreInitComplete`.
 */
export interface ClusterDiscovery {
  /** Starts discovery; `onInitialized` runs once the first host set is known (or the first lookup failed). */
  initialize(onInitialized: () => void): void;
  /** The current hosts, every priority. */
  hosts(): readonly HostData[];
  /** Called with the new hosts whenever they change after initialization. */
  setHostsChangedCallback(cb: (hosts: readonly HostData[]) => void): void;
  /** Stops timers and lookups. */
  destroy(): void;
}

/** The per-host counters of `/clusters`, in cell order. */
export const HOST_STATS = [
  'cx_total',
  'cx_active',
  'cx_connect_fail',
  'rq_total',
  'rq_active',
  'rq_error',
  'rq_success',
  'rq_timeout',
] as const;
export type HostStatName = (typeof HOST_STATS)[number];
