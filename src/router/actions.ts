/**
 * What a matched route tells the router to do, as data compiled once: forward (`route`:
 * which cluster, rewrites, timeouts, retries, hashing, upgrades, mirrors), answer with a
 * redirect, or answer directly. Plus the retry policy and mirror policies shared with
 * virtual hosts.
 *
 * Any thread: built with the route table, read by the router filter on the worker. The only
 * per-request work here is picking a cluster (`RouteAction.selectCluster`), which allocates
 * nothing unless the cluster comes from a request header. Envoy counterpart:
 * `RouteEntryImplBase` and `WeightedClusterEntry` (source/common/router/config_impl.cc),
 * `RetryPolicyImpl`, `ShadowPolicyImpl`.
 */
import type { ProtoMessage } from '../config/types.ts';
import type { HeaderMap } from '../http/types.ts';
import type { HashPolicy } from './hash-policy.ts';
import type { HeaderParser } from './header-parser.ts';
import type { HeaderMatcher } from './matchers.ts';
import type { Re2Regex, Re2Substitution } from './regex.ts';

/** Envoy's `DEFAULT_ROUTE_TIMEOUT_MS`. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
/** Envoy's default retry back-off base interval; the maximum defaults to ten times the base. */
export const DEFAULT_RETRY_BASE_INTERVAL_MS = 25;

export interface RegexRewrite {
  readonly regex: Re2Regex;
  readonly substitution: Re2Substitution;
}

/** `FractionalPercent`: matches when `random % denominator < numerator`. */
export interface FractionalPercent {
  readonly numerator: number;
  readonly denominator: number;
}

/** A compiled `RetryPolicy` (the route's, else its virtual host's, else the empty default). */
export interface RetryPolicy {
  /** The recognised `retry_on` conditions, e.g. `['5xx', 'reset']`; empty: no retries unless a request header asks. */
  readonly retryOn: readonly string[];
  /** `num_retries`, 1 when unset. */
  readonly numRetries: number;
  /** 0: none. */
  readonly perTryTimeoutMs: number;
  /** 0: none. */
  readonly perTryIdleTimeoutMs: number;
  readonly retriableStatusCodes: readonly number[];
  /** A response matching any of these is retried under `retriable-headers`. */
  readonly retriableHeaders: readonly HeaderMatcher[];
  /** When set, only requests matching one of these are retried. */
  readonly retriableRequestHeaders: readonly HeaderMatcher[];
  /** Extension names of `retry_host_predicate`, e.g. `envoy.retry_host_predicates.previous_hosts`. */
  readonly retryHostPredicates: readonly string[];
  /** `host_selection_retry_max_attempts`, 1 when unset. */
  readonly hostSelectionRetryMaxAttempts: number;
  /** Back-off: 25 ms and 250 ms unless `retry_back_off` says otherwise. */
  readonly baseIntervalMs: number;
  readonly maxIntervalMs: number;
  /** The decoded `rate_limited_retry_back_off`, as is. */
  readonly rateLimitedRetryBackOff: ProtoMessage | undefined;
}

export const EMPTY_RETRY_POLICY: RetryPolicy = {
  retryOn: [],
  numRetries: 1,
  perTryTimeoutMs: 0,
  perTryIdleTimeoutMs: 0,
  retriableStatusCodes: [],
  retriableHeaders: [],
  retriableRequestHeaders: [],
  retryHostPredicates: [],
  hostSelectionRetryMaxAttempts: 1,
  baseIntervalMs: DEFAULT_RETRY_BASE_INTERVAL_MS,
  maxIntervalMs: DEFAULT_RETRY_BASE_INTERVAL_MS * 10,
  rateLimitedRetryBackOff: undefined,
};

/** `RequestMirrorPolicy` (Envoy's shadow policy): exactly one of `cluster` and `clusterHeader` is set. */
export interface MirrorPolicy {
  readonly cluster: string;
  /** Lower-case. */
  readonly clusterHeader: string;
  /** Sampled fraction; 100% when unset. The runtime key is not consulted. */
  readonly fraction: FractionalPercent;
  readonly traceSampled: boolean;
  readonly disableShadowHostSuffixAppend: boolean;
}

/** A route-level `upgrade_configs` entry. */
export interface RouteUpgradeConfig {
  readonly enabled: boolean;
  /** The decoded `connect_config` (CONNECT only), as is. */
  readonly connectConfig: ProtoMessage | undefined;
}

/** The cluster a request goes to: the name, and the weighted cluster entry when there is one. */
export interface SelectedCluster {
  /** '' when it comes from a header the request lacks (the router answers as for an unknown cluster). */
  readonly name: string;
  readonly weighted: WeightedCluster | undefined;
}

/** One entry of `weighted_clusters`, with its own header mutations and host rewrite. */
export class WeightedCluster implements SelectedCluster {
  readonly name: string;
  /** Lower-case; '' unless the cluster name comes from this request header. */
  readonly clusterHeader: string;
  readonly weight: number;
  readonly requestHeaderParser: HeaderParser;
  readonly responseHeaderParser: HeaderParser;
  readonly hostRewriteLiteral: string;
  readonly metadataMatch: ProtoMessage | undefined;
  readonly typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;

  constructor(fields: {
    name: string;
    clusterHeader: string;
    weight: number;
    requestHeaderParser: HeaderParser;
    responseHeaderParser: HeaderParser;
    hostRewriteLiteral: string;
    metadataMatch: ProtoMessage | undefined;
    typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;
  }) {
    this.name = fields.name;
    this.clusterHeader = fields.clusterHeader;
    this.weight = fields.weight;
    this.requestHeaderParser = fields.requestHeaderParser;
    this.responseHeaderParser = fields.responseHeaderParser;
    this.hostRewriteLiteral = fields.hostRewriteLiteral;
    this.metadataMatch = fields.metadataMatch;
    this.typedPerFilterConfig = fields.typedPerFilterConfig;
  }

  get weighted(): WeightedCluster {
    return this;
  }
}

/** `weighted_clusters`. */
export interface WeightedClusters {
  readonly clusters: readonly WeightedCluster[];
  /** The sum of the weights (> 0). */
  readonly totalWeight: number;
  /** Lower-case `header_name`: a single-valued header holding the random value to pick with, or ''. */
  readonly randomValueHeader: string;
}

/** A uint64 in decimal (absl::SimpleAtoi), as a number; undefined when it is not one. */
function parseUint64(s: string): number | bigint | undefined {
  if (s.length === 0 || s.length > 20) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  if (s.length <= 15) return Number(s);
  const n = BigInt(s);
  return n >= 1n << 64n ? undefined : n;
}

/** `route`: forward upstream. */
export class RouteAction {
  readonly kind = 'route' as const;
  /** The static cluster, or '' with `clusterHeader` / `weightedClusters`. */
  readonly clusterName: string;
  /** Lower-case header whose first value names the cluster, or ''. */
  readonly clusterHeader: string;
  readonly weightedClusters: WeightedClusters | undefined;
  /** `cluster_not_found_response_code`: 503 (default), 404 or 500. */
  readonly clusterNotFoundResponseCode: number;
  /** The decoded `metadata_match`, as is. */
  readonly metadataMatch: ProtoMessage | undefined;

  readonly prefixRewrite: string;
  readonly regexRewrite: RegexRewrite | undefined;
  readonly hostRewriteLiteral: string;
  /** The router sets the authority to the chosen host's hostname (`Utility.updateAuthority`). */
  readonly autoHostRewrite: boolean;
  /** Lower-case, or ''. */
  readonly hostRewriteHeader: string;
  readonly hostRewritePathRegex: RegexRewrite | undefined;
  readonly appendXForwardedHost: boolean;

  /** `timeout`: 15000 when unset, 0 disables. */
  readonly timeoutMs: number;
  /** `idle_timeout`: undefined when unset (the connection manager's stream idle timeout applies), 0 disables. */
  readonly idleTimeoutMs: number | undefined;
  /** From `max_stream_duration`; undefined when unset. */
  readonly maxStreamDurationMs: number | undefined;
  readonly grpcTimeoutHeaderMaxMs: number | undefined;
  readonly grpcTimeoutHeaderOffsetMs: number | undefined;
  /** Deprecated `max_grpc_timeout` / `grpc_timeout_offset`; undefined when unset. */
  readonly maxGrpcTimeoutMs: number | undefined;
  readonly grpcTimeoutOffsetMs: number | undefined;

  readonly retryPolicy: RetryPolicy;
  readonly hashPolicy: HashPolicy | undefined;
  /** The route's mirror policies, else its virtual host's, else the route configuration's. */
  readonly requestMirrorPolicies: readonly MirrorPolicy[];
  readonly priority: 'DEFAULT' | 'HIGH';
  /** Route-level `upgrade_configs`, by lower-case upgrade type. */
  readonly upgradeConfigs: ReadonlyMap<string, RouteUpgradeConfig>;

  /** The choice for a static cluster, made once. */
  private readonly staticChoice: SelectedCluster;

  constructor(fields: Omit<RouteAction, 'kind' | 'selectCluster'>) {
    this.clusterName = fields.clusterName;
    this.clusterHeader = fields.clusterHeader;
    this.weightedClusters = fields.weightedClusters;
    this.clusterNotFoundResponseCode = fields.clusterNotFoundResponseCode;
    this.metadataMatch = fields.metadataMatch;
    this.prefixRewrite = fields.prefixRewrite;
    this.regexRewrite = fields.regexRewrite;
    this.hostRewriteLiteral = fields.hostRewriteLiteral;
    this.autoHostRewrite = fields.autoHostRewrite;
    this.hostRewriteHeader = fields.hostRewriteHeader;
    this.hostRewritePathRegex = fields.hostRewritePathRegex;
    this.appendXForwardedHost = fields.appendXForwardedHost;
    this.timeoutMs = fields.timeoutMs;
    this.idleTimeoutMs = fields.idleTimeoutMs;
    this.maxStreamDurationMs = fields.maxStreamDurationMs;
    this.grpcTimeoutHeaderMaxMs = fields.grpcTimeoutHeaderMaxMs;
    this.grpcTimeoutHeaderOffsetMs = fields.grpcTimeoutHeaderOffsetMs;
    this.maxGrpcTimeoutMs = fields.maxGrpcTimeoutMs;
    this.grpcTimeoutOffsetMs = fields.grpcTimeoutOffsetMs;
    this.retryPolicy = fields.retryPolicy;
    this.hashPolicy = fields.hashPolicy;
    this.requestMirrorPolicies = fields.requestMirrorPolicies;
    this.priority = fields.priority;
    this.upgradeConfigs = fields.upgradeConfigs;
    this.staticChoice = { name: fields.clusterName, weighted: undefined };
  }

  /**
   * The cluster for this request. `randomValue` is the stream's random number (any
   * non-negative integer); weighted clusters pick by `randomValue % totalWeight` over the
   * entries' cumulative weights, unless the weighted clusters' `header_name` header holds a
   * single uint64 to pick by instead.
   */
  selectCluster(headers: HeaderMap, randomValue: number | bigint): SelectedCluster {
    const weighted = this.weightedClusters;
    if (weighted === undefined) {
      if (this.clusterHeader === '') return this.staticChoice;
      return { name: headers.get(this.clusterHeader) ?? '', weighted: undefined };
    }
    let random: number | bigint = randomValue;
    if (weighted.randomValueHeader !== '') {
      const values = headers.getAll(weighted.randomValueHeader);
      const fromHeader = values.length === 1 ? parseUint64(values[0]!) : undefined;
      if (fromHeader !== undefined) random = fromHeader;
    }
    const total = weighted.totalWeight;
    const selected = typeof random === 'bigint' ? Number(random % BigInt(total)) : random % total;
    let end = 0;
    const clusters = weighted.clusters;
    for (let i = 0; i < clusters.length; i++) {
      const cluster = clusters[i]!;
      end += cluster.weight;
      if (selected < end) {
        if (cluster.clusterHeader !== '') {
          const name = headers.get(cluster.clusterHeader);
          if (name !== undefined) return { name, weighted: cluster };
        }
        return cluster;
      }
    }
    throw new Error('bug: weighted cluster selection ran past the total weight');
  }
}

/** `redirect`: answer with a 3xx and a Location (see `Route.redirectLocation`). */
export interface RedirectAction {
  readonly kind: 'redirect';
  /** 301, 302, 303, 307 or 308. */
  readonly responseCode: number;
  readonly schemeRedirect: string;
  readonly httpsRedirect: boolean;
  readonly hostRedirect: string;
  /** 0: keep the request's port handling. */
  readonly portRedirect: number;
  readonly pathRedirect: string;
  readonly prefixRewrite: string;
  readonly regexRewrite: RegexRewrite | undefined;
  readonly stripQuery: boolean;
  /** The virtual host's `require_tls` redirect (`https://<host><path>`), not a configured route. */
  readonly sslRedirect: boolean;
}

/** `direct_response`: answer with `status` and `body`. */
export interface DirectResponseAction {
  readonly kind: 'direct_response';
  readonly status: number;
  /** The body, read when the table was compiled (a `filename` too); undefined when none. */
  readonly body: Buffer | undefined;
}

export type Action = RouteAction | RedirectAction | DirectResponseAction;
