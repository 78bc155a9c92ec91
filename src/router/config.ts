/**
 * The route table: a decoded `envoy.config.route.v3.RouteConfiguration` compiled once into
 * virtual hosts and routes that find, for a request's headers, the route and its action.
 *
 * Any thread: compiled on main to validate a configuration (`validateRouteConfig`) and on
 * each worker from the same decoded data to run it (`compileRouteTable`); the result holds
 * class instances and compiled RE2 programs, so it never crosses threads. After
 * compilation it is immutable. Per request (`RouteTable.route`): the virtual host by the
 * `:authority` (exact domain, then the longest `*suffix` wildcard, then the longest
 * `prefix*` wildcard, then `*`; compared lower-cased; a port is part of the host unless
 * `ignore_port_in_host_matching`, so `example.com:8080` matches a `example.com:8080` or
 * wildcard domain, not `example.com` — stripping ports is the connection manager's
 * `strip_matching_host_port` / `strip_any_host_port`), then the first of its routes that
 * matches. Path matchers see `:path` without its query and fragment (and without `;params`
 * under `ignore_path_parameters_in_path_matching`). Prefix and path routes are filtered by
 * a hash of the path's prefixes, computed once per request, so a table of many prefix routes
 * costs an array read per route; the only allocation is the path without its query. Envoy
 * counterpart: `ConfigImpl`, `RouteMatcher`, `VirtualHostImpl`,
 * `RouteEntryImplBase` and its Prefix/Path/Regex/Connect/PathSeparatedPrefix subclasses
 * (source/common/router/config_impl.cc), `Http::Utility::newUri` for redirects.
 *
 * `runtime_fraction` reads its key from the worker's runtime snapshot when the table was
 * compiled with one (`compileRouteTable(config, runtime)`), as Envoy's
 * `featureEnabled(runtime_key, default_value, stream random)`.
 *
 * Differences from Envoy: mirror fractions use their default value; without `x-forwarded-proto` Envoy matches no route at all, Legate
 * skips only the `require_tls` check (the connection manager always sets the header).
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { FormatterContext } from '../access-log/types.ts';
import { durationMs } from '../config/durations.ts';
import {
  boolField,
  bytesField,
  enumField,
  isMessage,
  messageField,
  messageList,
  numberField,
  stringField,
  stringList,
} from '../config/proto-fields.ts';
import type { ProtoMessage, ProtoValue } from '../config/types.ts';
import type { HeaderMap } from '../http/types.ts';
import type { FractionalDenominator, RuntimeSource } from '../runtime/types.ts';
import {
  type Action,
  DEFAULT_RETRY_BASE_INTERVAL_MS,
  DEFAULT_ROUTE_TIMEOUT_MS,
  type DirectResponseAction,
  EMPTY_RETRY_POLICY,
  type FractionalPercent,
  type MirrorPolicy,
  type RedirectAction,
  type RetryPolicy,
  RouteAction,
  type RouteUpgradeConfig,
  type SelectedCluster,
  WeightedCluster,
  type WeightedClusters,
} from './actions.ts';
import { compileHashPolicy, compileRegexRewrite } from './hash-policy.ts';
import { compileHeaderParser, HeaderParser } from './header-parser.ts';
import {
  asciiLower,
  compileHeaderMatchers,
  compileQueryParameterMatcher,
  compileRegexMatcher,
  equalsIgnoreCase,
  type HeaderMatcher,
  matchAllHeaders,
  type QueryParameterMatcher,
  startsWithIgnoreCase,
} from './matchers.ts';
import { type ProblemPath, ProblemSink, RouteConfigError, type RouteConfigProblem } from './problems.ts';
import type { Re2Regex } from './regex.ts';

export type { Action, DirectResponseAction, RedirectAction, SelectedCluster } from './actions.ts';
export { RouteAction, WeightedCluster } from './actions.ts';

/** Envoy's `DEFAULT_MAX_DIRECT_RESPONSE_BODY_SIZE_BYTES`. */
const DEFAULT_MAX_DIRECT_RESPONSE_BODY_SIZE_BYTES = 4096;

const RETRY_ON_VALUES = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  // gRPC
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

// ---------------------------------------------------------------------------------------
// Host and path helpers

/**
 * Where the port of a host starts (the ':'), or -1: the last ':' unless it sits inside an
 * IPv6 literal's brackets (Envoy's `HeaderUtility::getPortStart`).
 */
export function portStart(host: string): number {
  const colon = host.lastIndexOf(':');
  if (colon < 0) return -1;
  const v6End = host.lastIndexOf(']');
  if (v6End < 0 || v6End < colon) return colon + 1 > host.length ? -1 : colon;
  return -1;
}

/** `:path` without its query and fragment (Envoy's `PathUtil::removeQueryAndFragment`). */
export function pathWithoutQuery(path: string): string {
  let end = path.length;
  for (let i = 0; i < end; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) end = i;
  }
  return end === path.length ? path : path.slice(0, end);
}

/**
 * Sets the authority to `host`, first appending the old one to `x-forwarded-host` when
 * `appendXfh` (unless it is already its last value). For the router's `auto_host_rewrite`
 * too. Envoy counterpart: `Http::Utility::updateAuthority`.
 */
export function updateAuthority(headers: HeaderMap, host: string, appendXfh: boolean): void {
  const old = headers.get(':authority') ?? '';
  if (appendXfh && old !== '') {
    const values = headers.getAll('x-forwarded-host');
    const xfh = values.join(',');
    if (xfh === '') {
      headers.set('x-forwarded-host', old);
    } else {
      const last = xfh.slice(xfh.lastIndexOf(',') + 1).trim();
      if (last !== old) headers.set('x-forwarded-host', `${xfh},${old}`);
    }
  }
  headers.set(':authority', host);
}

/** `application/grpc` or `application/grpc+...` (Envoy's `Grpc::Common::hasGrpcContentType`). */
function isGrpcRequest(headers: HeaderMap): boolean {
  const ct = headers.get('content-type');
  if (ct === undefined || !ct.startsWith('application/grpc')) return false;
  return ct.length === 16 || ct.charCodeAt(16) === 0x2b; /* + */
}

const RUNTIME_DENOMINATORS: Readonly<Record<number, FractionalDenominator>> = {
  100: 'HUNDRED',
  10000: 'TEN_THOUSAND',
  1000000: 'MILLION',
};

/** A route's `runtime_fraction`: the runtime's value for its key when it has one, else the default. */
function runtimeFractionMatches(
  spec: RouteMatchSpec,
  f: FractionalPercent,
  random: number | bigint,
): boolean {
  if (spec.runtime === undefined || spec.runtimeKey === '') return fractionMatches(f, random);
  const defaultValue = {
    numerator: f.numerator,
    denominator: RUNTIME_DENOMINATORS[f.denominator] ?? 'HUNDRED',
  };
  // Every denominator divides 10^6, so the remainder keeps the draw uniform for each.
  const draw = typeof random === 'bigint' ? Number(random % 1000000n) : random;
  return spec.runtime.snapshot().featureEnabled(spec.runtimeKey, defaultValue, draw);
}

function fractionMatches(f: FractionalPercent, random: number | bigint): boolean {
  if (f.numerator >= f.denominator) return true;
  const r = typeof random === 'bigint' ? Number(random % BigInt(f.denominator)) : random % f.denominator;
  return r < f.numerator;
}

// ---------------------------------------------------------------------------------------
// Routes

const PATH_PREFIX = 0;
const PATH_EXACT = 1;
const PATH_REGEX = 2;
const PATH_SEPARATED_PREFIX = 3;
const PATH_CONNECT = 4;

/** What a route matches on, compiled. */
interface RouteMatchSpec {
  readonly pathKind: number;
  /** The prefix or path (lower-cased when not case-sensitive). */
  readonly pathValue: string;
  readonly caseSensitive: boolean;
  readonly regex: Re2Regex | undefined;
  readonly headers: readonly HeaderMatcher[];
  readonly queryParameters: readonly QueryParameterMatcher[];
  readonly grpc: boolean;
  readonly runtimeFraction: FractionalPercent | undefined;
  /** `runtime_fraction.runtime_key` ('' for none) and where its value is read. */
  readonly runtimeKey: string;
  readonly runtime: RuntimeSource | undefined;
  /** `prefixHash(pathValue)`: prefix routes compare it first (see `PrefixHasher`). */
  readonly prefixHash: number;
}

/** The 32-bit polynomial hash that prefix routes are filtered by; `lower` folds ASCII case. */
export function prefixHash(s: string, lower: boolean): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h = (Math.imul(h, 31) + (lower && c >= 0x41 && c <= 0x5a ? c + 32 : c)) | 0;
  }
  return h;
}

/**
 * The hashes of every prefix of one path, computed once per request and extended lazily, so
 * that each prefix route costs one array read instead of a string comparison (V8's
 * `startsWith` costs tens of ns a call). A route whose hash matches is then compared for
 * real. One per thread: matching is synchronous, and a new path starts it afresh.
 */
class PrefixHasher {
  private path = '';
  private readonly exact = { hashes: new Int32Array(256), done: 0 };
  private readonly lower = { hashes: new Int32Array(256), done: 0 };

  /**
   * Starts on a request's path. Strings are not compared to find out whether the path is
   * new: V8 compares two sliced strings by content even when they are the same string.
   */
  begin(path: string): void {
    this.path = path;
    this.exact.done = 0;
    this.lower.done = 0;
  }

  /** `prefixHash(path.slice(0, length), lower)` of the path given to `begin`; `length <= path.length`. */
  hashAt(length: number, lower: boolean): number {
    const table = lower ? this.lower : this.exact;
    if (length > table.done) {
      if (length >= table.hashes.length) {
        const grown = new Int32Array(Math.max(length + 1, table.hashes.length * 2));
        grown.set(table.hashes);
        table.hashes = grown;
      }
      const path = this.path;
      const hashes = table.hashes;
      let h = hashes[table.done]!;
      for (let i = table.done; i < length; i++) {
        const c = path.charCodeAt(i);
        h = (Math.imul(h, 31) + (lower && c >= 0x41 && c <= 0x5a ? c + 32 : c)) | 0;
        hashes[i + 1] = h;
      }
      table.done = length;
    }
    return table.hashes[length]!;
  }
}

const prefixHasher = new PrefixHasher();

/** Whether `path` starts with `spec.pathValue`: the hash first, then the characters. */
function hasPrefix(path: string, spec: RouteMatchSpec): boolean {
  const value = spec.pathValue;
  const n = value.length;
  if (path.length < n) return false;
  if (n === 0) return true;
  if (prefixHasher.hashAt(n, !spec.caseSensitive) !== spec.prefixHash) return false;
  return spec.caseSensitive ? path.startsWith(value) : startsWithIgnoreCase(path, value);
}

export class Route {
  readonly name: string;
  readonly virtualHost: VirtualHost;
  readonly action: Action;
  readonly requestHeaderParser: HeaderParser;
  readonly responseHeaderParser: HeaderParser;
  /** The decoded `typed_per_filter_config` values, by filter name. */
  readonly typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;
  /** The decoded `metadata`, as is. */
  readonly metadata: ProtoMessage | undefined;
  /** `decorator.operation`, or ''. */
  readonly decoratorOperation: string;
  /** `per_request_buffer_limit_bytes`, the virtual host's when unset; undefined when neither. */
  readonly perRequestBufferLimitBytes: number | undefined;
  readonly statPrefix: string;

  private readonly spec: RouteMatchSpec;
  /** The configured prefix / path, as written: the part a prefix rewrite replaces. */
  private readonly matchedPathConfig: string;

  constructor(fields: {
    name: string;
    virtualHost: VirtualHost;
    action: Action;
    requestHeaderParser: HeaderParser;
    responseHeaderParser: HeaderParser;
    typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;
    metadata: ProtoMessage | undefined;
    decoratorOperation: string;
    perRequestBufferLimitBytes: number | undefined;
    statPrefix: string;
    spec: RouteMatchSpec;
    matchedPathConfig: string;
  }) {
    this.name = fields.name;
    this.virtualHost = fields.virtualHost;
    this.action = fields.action;
    this.requestHeaderParser = fields.requestHeaderParser;
    this.responseHeaderParser = fields.responseHeaderParser;
    this.typedPerFilterConfig = fields.typedPerFilterConfig;
    this.metadata = fields.metadata;
    this.decoratorOperation = fields.decoratorOperation;
    this.perRequestBufferLimitBytes = fields.perRequestBufferLimitBytes;
    this.statPrefix = fields.statPrefix;
    this.spec = fields.spec;
    this.matchedPathConfig = fields.matchedPathConfig;
  }

  /** Only CONNECT routes match requests without `:path`. */
  get supportsPathlessHeaders(): boolean {
    return this.spec.pathKind === PATH_CONNECT;
  }

  /**
   * Whether this route matches. `path` is the path used for matching (no query, fragment or
   * ignored parameters), `rawPath` the `:path` as received (for query parameters).
   * `VirtualHost.route` calls it, having started the prefix hasher on `path`.
   */
  matches(headers: HeaderMap, path: string, rawPath: string, randomValue: number | bigint): boolean {
    const spec = this.spec;
    const value = spec.pathValue;
    switch (spec.pathKind) {
      case PATH_PREFIX:
        if (!hasPrefix(path, spec)) return false;
        break;
      case PATH_EXACT:
        if (path.length !== value.length) return false;
        if (
          value.length !== 0 &&
          prefixHasher.hashAt(value.length, !spec.caseSensitive) !== spec.prefixHash
        ) {
          return false;
        }
        if (spec.caseSensitive ? path !== value : !equalsIgnoreCase(path, value)) return false;
        break;
      case PATH_REGEX:
        if (!spec.regex!.fullMatch(path)) return false;
        break;
      case PATH_SEPARATED_PREFIX: {
        if (!hasPrefix(path, spec)) return false;
        if (path.length !== value.length && path.charCodeAt(value.length) !== 0x2f /* / */) return false;
        break;
      }
      default:
        if (headers.get(':method') !== 'CONNECT') return false;
    }
    if (
      spec.runtimeFraction !== undefined &&
      !runtimeFractionMatches(spec, spec.runtimeFraction, randomValue)
    )
      return false;
    if (spec.grpc && !isGrpcRequest(headers)) return false;
    if (spec.headers.length !== 0 && !matchAllHeaders(headers, spec.headers)) return false;
    const query = spec.queryParameters;
    for (let i = 0; i < query.length; i++) {
      if (!query[i]!.matches(rawPath)) return false;
    }
    return true;
  }

  /** The part of the path a prefix rewrite replaces: the configured prefix or path, or the whole path. */
  private matchedPath(pathNoQuery: string): string {
    const kind = this.spec.pathKind;
    return kind === PATH_PREFIX || kind === PATH_EXACT || kind === PATH_SEPARATED_PREFIX
      ? this.matchedPathConfig
      : pathNoQuery;
  }

  /**
   * `:path` after this route's `prefix_rewrite` / `regex_rewrite` (a redirect's own for
   * redirects), query kept; undefined when the route rewrites nothing. Envoy's
   * `currentUrlPathAfterRewrite`.
   */
  currentPathAfterRewrite(headers: HeaderMap): string | undefined {
    const action = this.action;
    if (action.kind === 'direct_response') return undefined;
    const prefixRewrite = action.prefixRewrite;
    const regexRewrite = action.regexRewrite;
    if (prefixRewrite === '' && regexRewrite === undefined) return undefined;
    const path = headers.get(':path') ?? '';
    const justPath = pathWithoutQuery(path);
    if (regexRewrite !== undefined) {
      return regexRewrite.regex.replaceAll(justPath, regexRewrite.substitution) + path.slice(justPath.length);
    }
    return prefixRewrite + path.slice(this.matchedPath(justPath).length);
  }

  /**
   * Applies the request header mutations and rewrites, in Envoy's order: the weighted
   * cluster's mutations and host rewrite, then the route's, virtual host's and route
   * configuration's mutations (the reverse with `most_specific_header_mutations_wins`), then
   * the host rewrite (literal, header or path regex), then the path rewrite, which records
   * the old path in `x-envoy-original-path` when `insertEnvoyOriginalPath` (the router's
   * `!suppress_envoy_headers`). `auto_host_rewrite` is the router's, once it has a host.
   * Envoy's `finalizeRequestHeaders`.
   */
  finalizeRequestHeaders(
    headers: HeaderMap,
    ctx: FormatterContext,
    selected: SelectedCluster | undefined,
    insertEnvoyOriginalPath: boolean,
  ): void {
    const weighted = selected?.weighted;
    if (weighted !== undefined) {
      weighted.requestHeaderParser.evaluate(headers, ctx);
      if (weighted.hostRewriteLiteral !== '') headers.set(':authority', weighted.hostRewriteLiteral);
    }
    const vhost = this.virtualHost;
    const table = vhost.table;
    if (table.mostSpecificHeaderMutationsWins) {
      table.requestHeaderParser.evaluate(headers, ctx);
      vhost.requestHeaderParser.evaluate(headers, ctx);
      this.requestHeaderParser.evaluate(headers, ctx);
    } else {
      this.requestHeaderParser.evaluate(headers, ctx);
      vhost.requestHeaderParser.evaluate(headers, ctx);
      table.requestHeaderParser.evaluate(headers, ctx);
    }
    const action = this.action;
    if (action.kind !== 'route') return;
    if (action.hostRewriteLiteral !== '') {
      updateAuthority(headers, action.hostRewriteLiteral, action.appendXForwardedHost);
    } else if (action.hostRewriteHeader !== '') {
      // An untrusted header: only its first value counts.
      const host = headers.get(action.hostRewriteHeader);
      if (host !== undefined && host !== '') updateAuthority(headers, host, action.appendXForwardedHost);
    } else if (action.hostRewritePathRegex !== undefined) {
      const rewrite = action.hostRewritePathRegex;
      const justPath = pathWithoutQuery(headers.get(':path') ?? '');
      updateAuthority(
        headers,
        rewrite.regex.replaceAll(justPath, rewrite.substitution),
        action.appendXForwardedHost,
      );
    }
    const newPath = this.currentPathAfterRewrite(headers);
    if (newPath !== undefined) {
      if (insertEnvoyOriginalPath) headers.set('x-envoy-original-path', headers.get(':path') ?? '');
      headers.set(':path', newPath);
    }
  }

  /**
   * Applies the response header mutations: the weighted cluster's, then the route's, virtual
   * host's and route configuration's (reversed with `most_specific_header_mutations_wins`).
   * Also for redirects and direct responses. Envoy's `finalizeResponseHeaders`.
   */
  finalizeResponseHeaders(headers: HeaderMap, ctx: FormatterContext, selected?: SelectedCluster): void {
    selected?.weighted?.responseHeaderParser.evaluate(headers, ctx);
    const vhost = this.virtualHost;
    const table = vhost.table;
    if (table.mostSpecificHeaderMutationsWins) {
      table.responseHeaderParser.evaluate(headers, ctx);
      vhost.responseHeaderParser.evaluate(headers, ctx);
      this.responseHeaderParser.evaluate(headers, ctx);
    } else {
      this.responseHeaderParser.evaluate(headers, ctx);
      vhost.responseHeaderParser.evaluate(headers, ctx);
      table.responseHeaderParser.evaluate(headers, ctx);
    }
  }

  /**
   * The `Location` of a redirect route for this request (Envoy's `newUri`): scheme from
   * `scheme_redirect`, `https_redirect` or `:scheme`; host from `host_redirect` or the
   * request's authority (its port dropped when `port_redirect` is set, or when the scheme
   * changes away from the one `x-forwarded-proto` names and the port is that scheme's
   * default); the path from `path_redirect` (the request's query kept unless it has its own
   * or `strip_query`), else the request's path after the redirect's prefix or regex rewrite.
   */
  redirectLocation(headers: HeaderMap): string {
    const action = this.action;
    if (action.kind !== 'redirect') throw new Error(`bug: route '${this.name}' is not a redirect`);
    const authority = headers.get(':authority') ?? '';
    const requestPath = headers.get(':path') ?? '';
    if (action.sslRedirect) return `https://${authority}${requestPath}`;

    const scheme =
      action.schemeRedirect !== ''
        ? action.schemeRedirect
        : action.httpsRedirect
          ? 'https'
          : (headers.get(':scheme') ?? '');
    const port = action.portRedirect !== 0 ? `:${action.portRedirect}` : '';
    const host =
      action.hostRedirect !== ''
        ? action.hostRedirect
        : requestHostForRedirect(headers, authority, scheme, port);

    const pathRedirect = action.pathRedirect;
    const pathRedirectHasQuery = pathRedirect.includes('?');
    let path: string;
    if (pathRedirect !== '') {
      const q = requestPath.indexOf('?');
      path = pathRedirectHasQuery || q < 0 ? pathRedirect : pathRedirect + requestPath.slice(q);
    } else {
      path = this.currentPathAfterRewrite(headers) ?? requestPath;
    }
    if (!path.startsWith('/')) path = `/${path}`;
    if (!pathRedirectHasQuery && action.stripQuery) {
      const q = path.indexOf('?');
      if (q >= 0) path = path.slice(0, q);
    }
    return `${scheme}://${host}${port}${path}`;
  }

  /**
   * The most specific `typed_per_filter_config` for a filter: the weighted cluster's, the
   * route's, the virtual host's, then the route configuration's.
   */
  perFilterConfig(filterName: string, selected?: SelectedCluster): ProtoMessage | undefined {
    return (
      selected?.weighted?.typedPerFilterConfig[filterName] ??
      this.typedPerFilterConfig[filterName] ??
      this.virtualHost.typedPerFilterConfig[filterName] ??
      this.virtualHost.table.typedPerFilterConfig[filterName]
    );
  }
}

/** The request's host for a redirect, its port dropped as Envoy's `processRequestHost` does. */
function requestHostForRedirect(
  headers: HeaderMap,
  host: string,
  newScheme: string,
  newPort: string,
): string {
  if (host === '') return host;
  let hostEnd: number;
  if (host.startsWith('[')) {
    hostEnd = host.lastIndexOf(']:');
    if (hostEnd >= 0) hostEnd += 1;
  } else {
    hostEnd = host.lastIndexOf(':');
  }
  if (hostEnd < 0) return host;
  const requestPort = host.slice(hostEnd);
  const requestProtocol = headers.get('x-forwarded-proto') ?? '';
  let removePort = newPort !== '';
  if (newScheme !== requestProtocol) {
    removePort ||= requestProtocol === 'https' && requestPort === ':443';
    removePort ||= requestProtocol === 'http' && requestPort === ':80';
  }
  return removePort ? host.slice(0, hostEnd) : host;
}

// ---------------------------------------------------------------------------------------
// Virtual hosts

export type RequireTls = 'NONE' | 'EXTERNAL_ONLY' | 'ALL';

export class VirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly table: RouteTable;
  readonly routes: Route[] = [];
  readonly requireTls: RequireTls;
  readonly requestHeaderParser: HeaderParser;
  readonly responseHeaderParser: HeaderParser;
  readonly typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;
  /** Its `retry_policy`, for routes without one; undefined when unset. */
  readonly retryPolicy: RetryPolicy | undefined;
  readonly requestMirrorPolicies: readonly MirrorPolicy[];
  readonly includeRequestAttemptCount: boolean;
  readonly includeAttemptCountInResponse: boolean;
  readonly includeIsTimeoutRetryHeader: boolean;
  readonly perRequestBufferLimitBytes: number | undefined;
  readonly metadata: ProtoMessage | undefined;
  /** The route answering requests that break `require_tls`. */
  readonly sslRedirectRoute: Route;

  constructor(fields: {
    name: string;
    domains: readonly string[];
    table: RouteTable;
    requireTls: RequireTls;
    requestHeaderParser: HeaderParser;
    responseHeaderParser: HeaderParser;
    typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;
    retryPolicy: RetryPolicy | undefined;
    requestMirrorPolicies: readonly MirrorPolicy[];
    includeRequestAttemptCount: boolean;
    includeAttemptCountInResponse: boolean;
    includeIsTimeoutRetryHeader: boolean;
    perRequestBufferLimitBytes: number | undefined;
    metadata: ProtoMessage | undefined;
  }) {
    this.name = fields.name;
    this.domains = fields.domains;
    this.table = fields.table;
    this.requireTls = fields.requireTls;
    this.requestHeaderParser = fields.requestHeaderParser;
    this.responseHeaderParser = fields.responseHeaderParser;
    this.typedPerFilterConfig = fields.typedPerFilterConfig;
    this.retryPolicy = fields.retryPolicy;
    this.requestMirrorPolicies = fields.requestMirrorPolicies;
    this.includeRequestAttemptCount = fields.includeRequestAttemptCount;
    this.includeAttemptCountInResponse = fields.includeAttemptCountInResponse;
    this.includeIsTimeoutRetryHeader = fields.includeIsTimeoutRetryHeader;
    this.perRequestBufferLimitBytes = fields.perRequestBufferLimitBytes;
    this.metadata = fields.metadata;
    this.sslRedirectRoute = new Route({
      name: '',
      virtualHost: this,
      action: SSL_REDIRECT_ACTION,
      requestHeaderParser: HeaderParser.EMPTY,
      responseHeaderParser: HeaderParser.EMPTY,
      typedPerFilterConfig: {},
      metadata: undefined,
      decoratorOperation: '',
      perRequestBufferLimitBytes: undefined,
      statPrefix: '',
      spec: NO_MATCH_SPEC,
      matchedPathConfig: '',
    });
  }

  /** The first route that matches, the TLS redirect when `require_tls` demands it, or undefined. */
  route(headers: HeaderMap, randomValue: number | bigint): Route | undefined {
    if (this.requireTls !== 'NONE') {
      const proto = headers.get('x-forwarded-proto');
      if (proto !== undefined && proto !== 'https') {
        if (this.requireTls === 'ALL' || headers.get('x-envoy-internal') !== 'true')
          return this.sslRedirectRoute;
      }
    }
    const rawPath = headers.get(':path');
    const path = rawPath === undefined ? '' : this.table.pathForMatching(rawPath);
    prefixHasher.begin(path);
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const route = routes[i]!;
      if (rawPath === undefined && !route.supportsPathlessHeaders) continue;
      if (route.matches(headers, path, rawPath ?? '', randomValue)) return route;
    }
    return undefined;
  }
}

const SSL_REDIRECT_ACTION: RedirectAction = {
  kind: 'redirect',
  responseCode: 301,
  schemeRedirect: '',
  httpsRedirect: true,
  hostRedirect: '',
  portRedirect: 0,
  pathRedirect: '',
  prefixRewrite: '',
  regexRewrite: undefined,
  stripQuery: false,
  sslRedirect: true,
};

const NO_MATCH_SPEC: RouteMatchSpec = {
  pathKind: PATH_REGEX,
  pathValue: '',
  caseSensitive: true,
  regex: undefined,
  headers: [],
  queryParameters: [],
  grpc: false,
  runtimeFraction: undefined,
  runtimeKey: '',
  runtime: undefined,
  prefixHash: 0,
};

// ---------------------------------------------------------------------------------------
// The table

/** Wildcard domains of one kind: by length, longest first. */
interface WildcardDomains {
  readonly lengths: number[];
  readonly byLength: Map<string, VirtualHost>[];
}

function addWildcard(w: WildcardDomains, key: string, vhost: VirtualHost): boolean {
  let i = w.lengths.indexOf(key.length);
  if (i < 0) {
    // Keep lengths in descending order.
    i = 0;
    while (i < w.lengths.length && w.lengths[i]! > key.length) i++;
    w.lengths.splice(i, 0, key.length);
    w.byLength.splice(i, 0, new Map());
  }
  const map = w.byLength[i]!;
  if (map.has(key)) return false;
  map.set(key, vhost);
  return true;
}

export class RouteTable {
  readonly name: string;
  readonly virtualHosts: VirtualHost[] = [];
  readonly requestHeaderParser: HeaderParser;
  readonly responseHeaderParser: HeaderParser;
  readonly mostSpecificHeaderMutationsWins: boolean;
  readonly ignorePortInHostMatching: boolean;
  readonly ignorePathParametersInPathMatching: boolean;
  /** Lower-case; the connection manager removes these from external requests. */
  readonly internalOnlyHeaders: readonly string[];
  readonly typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;
  readonly requestMirrorPolicies: readonly MirrorPolicy[];
  readonly maxDirectResponseBodySizeBytes: number;
  /** Where routes' `runtime_fraction` keys are read; undefined: their default values. */
  readonly runtime: RuntimeSource | undefined;

  private readonly exact = new Map<string, VirtualHost>();
  private readonly suffixes: WildcardDomains = { lengths: [], byLength: [] };
  private readonly prefixes: WildcardDomains = { lengths: [], byLength: [] };
  private defaultVirtualHost: VirtualHost | undefined;

  constructor(fields: {
    name: string;
    requestHeaderParser: HeaderParser;
    responseHeaderParser: HeaderParser;
    mostSpecificHeaderMutationsWins: boolean;
    ignorePortInHostMatching: boolean;
    ignorePathParametersInPathMatching: boolean;
    internalOnlyHeaders: readonly string[];
    typedPerFilterConfig: Readonly<Record<string, ProtoMessage>>;
    requestMirrorPolicies: readonly MirrorPolicy[];
    maxDirectResponseBodySizeBytes: number;
    runtime?: RuntimeSource;
  }) {
    this.name = fields.name;
    this.requestHeaderParser = fields.requestHeaderParser;
    this.responseHeaderParser = fields.responseHeaderParser;
    this.mostSpecificHeaderMutationsWins = fields.mostSpecificHeaderMutationsWins;
    this.ignorePortInHostMatching = fields.ignorePortInHostMatching;
    this.ignorePathParametersInPathMatching = fields.ignorePathParametersInPathMatching;
    this.internalOnlyHeaders = fields.internalOnlyHeaders;
    this.typedPerFilterConfig = fields.typedPerFilterConfig;
    this.requestMirrorPolicies = fields.requestMirrorPolicies;
    this.maxDirectResponseBodySizeBytes = fields.maxDirectResponseBodySizeBytes;
    this.runtime = fields.runtime;
  }

  /**
   * Registers a domain of `vhost` (compile time). Returns the problem, if any: a second `*`,
   * or a domain (lower-cased) another virtual host has.
   */
  addDomain(domain: string, vhost: VirtualHost): string | undefined {
    const d = asciiLower(domain);
    let added: boolean;
    if (d === '*') {
      if (this.defaultVirtualHost !== undefined)
        return `Only a single wildcard domain is permitted in route ${this.name}`;
      this.defaultVirtualHost = vhost;
      return undefined;
    }
    if (d.startsWith('*')) added = addWildcard(this.suffixes, d.slice(1), vhost);
    else if (d.endsWith('*')) added = addWildcard(this.prefixes, d.slice(0, -1), vhost);
    else if (this.exact.has(d)) added = false;
    else {
      this.exact.set(d, vhost);
      added = true;
    }
    return added
      ? undefined
      : `Only unique values for domains are permitted. Duplicate entry of domain ${d} in route ${this.name}`;
  }

  /** The `:path` as route path matchers see it. */
  pathForMatching(rawPath: string): string {
    const path = pathWithoutQuery(rawPath);
    if (!this.ignorePathParametersInPathMatching) return path;
    const semicolon = path.indexOf(';');
    return semicolon < 0 ? path : path.slice(0, semicolon);
  }

  /** The virtual host for the request's `:authority`, or undefined. */
  findVirtualHost(headers: HeaderMap): VirtualHost | undefined {
    if (this.exact.size === 0 && this.suffixes.lengths.length === 0 && this.prefixes.lengths.length === 0) {
      return this.defaultVirtualHost;
    }
    let host = headers.get(':authority');
    if (host === undefined) return undefined;
    if (this.ignorePortInHostMatching) {
      const port = portStart(host);
      if (port >= 0) host = host.slice(0, port);
    }
    host = asciiLower(host);
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    const suffixes = this.suffixes;
    for (let i = 0; i < suffixes.lengths.length; i++) {
      const length = suffixes.lengths[i]!;
      // '>=' because '*.foo.com' must not match '.foo.com'.
      if (length >= host.length) continue;
      const vhost = suffixes.byLength[i]!.get(host.slice(host.length - length));
      if (vhost !== undefined) return vhost;
    }
    const prefixes = this.prefixes;
    for (let i = 0; i < prefixes.lengths.length; i++) {
      const length = prefixes.lengths[i]!;
      if (length >= host.length) continue;
      const vhost = prefixes.byLength[i]!.get(host.slice(0, length));
      if (vhost !== undefined) return vhost;
    }
    return this.defaultVirtualHost;
  }

  /**
   * The route for a request: its virtual host's first matching route (or that host's
   * `require_tls` redirect), undefined when nothing matches (404 `NR`). `randomValue` is
   * the stream's random number, used by `runtime_fraction`.
   */
  route(headers: HeaderMap, randomValue: number | bigint = 0): Route | undefined {
    const vhost = this.findVirtualHost(headers);
    return vhost === undefined ? undefined : vhost.route(headers, randomValue);
  }
}

// ---------------------------------------------------------------------------------------
// Compilation

const ROUTE_CONFIG_FIELDS = new Set([
  'name',
  'virtual_hosts',
  'internal_only_headers',
  'response_headers_to_add',
  'response_headers_to_remove',
  'request_headers_to_add',
  'request_headers_to_remove',
  'most_specific_header_mutations_wins',
  'validate_clusters',
  'max_direct_response_body_size_bytes',
  'request_mirror_policies',
  'ignore_port_in_host_matching',
  'ignore_path_parameters_in_path_matching',
  'typed_per_filter_config',
  'metadata',
]);

const VIRTUAL_HOST_FIELDS = new Set([
  'name',
  'domains',
  'routes',
  'require_tls',
  'request_headers_to_add',
  'request_headers_to_remove',
  'response_headers_to_add',
  'response_headers_to_remove',
  'typed_per_filter_config',
  'include_request_attempt_count',
  'include_attempt_count_in_response',
  'include_is_timeout_retry_header',
  'retry_policy',
  'per_request_buffer_limit_bytes',
  'request_mirror_policies',
  'metadata',
  // Only used by filters and stats Legate does not have: accepted and ignored.
  'virtual_clusters',
  'rate_limits',
  'cors',
]);

const ROUTE_FIELDS = new Set([
  'name',
  'match',
  'route',
  'redirect',
  'direct_response',
  'metadata',
  'decorator',
  'typed_per_filter_config',
  'request_headers_to_add',
  'request_headers_to_remove',
  'response_headers_to_add',
  'response_headers_to_remove',
  'per_request_buffer_limit_bytes',
  'stat_prefix',
  // Tracing is not implemented; a route's tracing settings change nothing else.
  'tracing',
]);

const ROUTE_MATCH_FIELDS = new Set([
  'prefix',
  'path',
  'safe_regex',
  'connect_matcher',
  'path_separated_prefix',
  'case_sensitive',
  'runtime_fraction',
  'headers',
  'query_parameters',
  'grpc',
]);

const ROUTE_ACTION_FIELDS = new Set([
  'cluster',
  'cluster_header',
  'weighted_clusters',
  'cluster_not_found_response_code',
  'metadata_match',
  'prefix_rewrite',
  'regex_rewrite',
  'host_rewrite_literal',
  'auto_host_rewrite',
  'host_rewrite_header',
  'host_rewrite_path_regex',
  'append_x_forwarded_host',
  'timeout',
  'idle_timeout',
  'retry_policy',
  'request_mirror_policies',
  'priority',
  'hash_policy',
  'max_grpc_timeout',
  'grpc_timeout_offset',
  'upgrade_configs',
  'max_stream_duration',
  // HTTP/3 early data; rate limits and CORS need filters Legate does not have.
  'early_data_policy',
  'rate_limits',
  'include_vh_rate_limits',
  'cors',
  // Checked below: only the pass-through default is accepted.
  'internal_redirect_action',
  'max_internal_redirects',
]);

const RETRY_POLICY_FIELDS = new Set([
  'retry_on',
  'num_retries',
  'per_try_timeout',
  'per_try_idle_timeout',
  'retry_host_predicate',
  'host_selection_retry_max_attempts',
  'retriable_status_codes',
  'retry_back_off',
  'rate_limited_retry_back_off',
  'retriable_headers',
  'retriable_request_headers',
]);

function optionalMs(v: ProtoValue | undefined): number | undefined {
  return v === undefined ? undefined : durationMs(v, 0);
}

function typedPerFilterConfigOf(m: ProtoMessage): Readonly<Record<string, ProtoMessage>> {
  const map = messageField(m, 'typed_per_filter_config');
  if (map === undefined) return {};
  const out: Record<string, ProtoMessage> = {};
  for (const [name, value] of Object.entries(map)) if (isMessage(value)) out[name] = value;
  return out;
}

const DENOMINATORS: Readonly<Record<string, number>> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
};

function fractionOf(m: ProtoMessage | undefined): FractionalPercent | undefined {
  if (m === undefined) return undefined;
  const denominator = DENOMINATORS[stringField(m, 'denominator', 'HUNDRED')] ?? 100;
  return { numerator: numberField(m, 'numerator', 0), denominator };
}

function compileRetryPolicy(m: ProtoMessage, path: ProblemPath, sink: ProblemSink): RetryPolicy {
  sink.unknownFields(m, path, RETRY_POLICY_FIELDS, 'retry_policy');
  const retryOn: string[] = [];
  for (const token of stringField(m, 'retry_on').split(',')) {
    const t = token.trim();
    if (t === '') continue;
    if (RETRY_ON_VALUES.has(t)) retryOn.push(t);
    else sink.warn([...path, 'retry_on'], `unknown retry_on value '${t}' is ignored`);
  }
  let baseIntervalMs = DEFAULT_RETRY_BASE_INTERVAL_MS;
  let maxIntervalMs = DEFAULT_RETRY_BASE_INTERVAL_MS * 10;
  const backOff = messageField(m, 'retry_back_off');
  if (backOff !== undefined) {
    baseIntervalMs = Math.max(1, durationMs(backOff['base_interval'], 0));
    maxIntervalMs = baseIntervalMs * 10;
    if (backOff['max_interval'] !== undefined) {
      maxIntervalMs = Math.max(1, durationMs(backOff['max_interval'], 0));
      if (maxIntervalMs < baseIntervalMs) {
        sink.invalid(
          [...path, 'retry_back_off', 'max_interval'],
          'retry_policy.max_interval must greater than or equal to the base_interval',
        );
      }
    }
  }
  const codes = m['retriable_status_codes'];
  return {
    retryOn,
    numRetries: numberField(m, 'num_retries', 1),
    perTryTimeoutMs: durationMs(m['per_try_timeout'], 0),
    perTryIdleTimeoutMs: durationMs(m['per_try_idle_timeout'], 0),
    retriableStatusCodes: Array.isArray(codes) ? codes.filter((c) => typeof c === 'number') : [],
    retriableHeaders: compileHeaderMatchers(
      asList(m['retriable_headers']),
      [...path, 'retriable_headers'],
      sink,
    ),
    retriableRequestHeaders: compileHeaderMatchers(
      asList(m['retriable_request_headers']),
      [...path, 'retriable_request_headers'],
      sink,
    ),
    retryHostPredicates: messageList(m, 'retry_host_predicate').map((p) => stringField(p, 'name')),
    hostSelectionRetryMaxAttempts: numberField(m, 'host_selection_retry_max_attempts', 0) || 1,
    baseIntervalMs,
    maxIntervalMs,
    rateLimitedRetryBackOff: messageField(m, 'rate_limited_retry_back_off'),
  };
}

function asList(v: ProtoValue | undefined): ProtoValue[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

function compileMirrorPolicies(m: ProtoMessage, path: ProblemPath, sink: ProblemSink): MirrorPolicy[] {
  const out: MirrorPolicy[] = [];
  messageList(m, 'request_mirror_policies').forEach((p, i) => {
    const cluster = stringField(p, 'cluster');
    const clusterHeader = stringField(p, 'cluster_header');
    const at = [...path, 'request_mirror_policies', i];
    if (cluster !== '' && clusterHeader !== '') {
      sink.invalid(
        at,
        `Only one of cluster '${cluster}' or cluster_header '${clusterHeader}' in request mirror policy can be specified`,
      );
      return;
    }
    if (cluster === '' && clusterHeader === '') {
      sink.invalid(
        at,
        'Exactly one of cluster or cluster_header in request mirror policy need to be specified',
      );
      return;
    }
    out.push({
      cluster,
      clusterHeader: asciiLower(clusterHeader),
      fraction: fractionOf(messageField(messageField(p, 'runtime_fraction'), 'default_value')) ?? {
        numerator: 100,
        denominator: 100,
      },
      traceSampled: boolField(p, 'trace_sampled', true),
      disableShadowHostSuffixAppend: boolField(p, 'disable_shadow_host_suffix_append'),
    });
  });
  return out;
}

const CLUSTER_NOT_FOUND_CODES = {
  SERVICE_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  INTERNAL_SERVER_ERROR: 500,
} as const;
const REDIRECT_CODES = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
} as const;

function compileWeightedClusters(
  m: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
): WeightedClusters | undefined {
  const clusters: WeightedCluster[] = [];
  let total = 0;
  messageList(m, 'clusters').forEach((c, i) => {
    const at = [...path, 'clusters', i];
    const name = stringField(c, 'name');
    const clusterHeader = stringField(c, 'cluster_header');
    if (name !== '' && clusterHeader !== '') {
      sink.invalid(at, 'Only one of name or cluster_header can be specified');
      return;
    }
    if (name === '' && clusterHeader === '') {
      sink.invalid(at, 'At least one of name or cluster_header need to be specified');
      return;
    }
    const weight = numberField(c, 'weight', 0);
    total += weight;
    clusters.push(
      new WeightedCluster({
        name,
        clusterHeader: asciiLower(clusterHeader),
        weight,
        requestHeaderParser: compileHeaderParser(
          c,
          'request_headers_to_add',
          'request_headers_to_remove',
          at,
          sink,
        ),
        responseHeaderParser: compileHeaderParser(
          c,
          'response_headers_to_add',
          'response_headers_to_remove',
          at,
          sink,
        ),
        hostRewriteLiteral: stringField(c, 'host_rewrite_literal'),
        metadataMatch: messageField(c, 'metadata_match'),
        typedPerFilterConfig: typedPerFilterConfigOf(c),
      }),
    );
  });
  if (total === 0) {
    sink.invalid(path, 'Sum of weights in the weighted_cluster must be greater than 0.');
    return undefined;
  }
  return { clusters, totalWeight: total, randomValueHeader: asciiLower(stringField(m, 'header_name')) };
}

function compileRouteAction(
  m: ProtoMessage,
  path: ProblemPath,
  vhost: VirtualHost,
  sink: ProblemSink,
): RouteAction | undefined {
  sink.unknownFields(m, path, ROUTE_ACTION_FIELDS, 'route');
  const internalRedirect = m['internal_redirect_action'];
  if (internalRedirect !== undefined && internalRedirect !== 'PASS_THROUGH_INTERNAL_REDIRECT') {
    sink.unsupported([...path, 'internal_redirect_action'], 'internal redirects are not supported by Legate');
  }
  const weightedMessage = messageField(m, 'weighted_clusters');
  const weightedClusters =
    weightedMessage === undefined
      ? undefined
      : compileWeightedClusters(weightedMessage, [...path, 'weighted_clusters'], sink);
  const clusterName = stringField(m, 'cluster');
  const clusterHeader = asciiLower(stringField(m, 'cluster_header'));
  const plugin =
    m['cluster_specifier_plugin'] !== undefined || m['inline_cluster_specifier_plugin'] !== undefined;
  if (clusterName === '' && clusterHeader === '' && weightedMessage === undefined && !plugin) {
    sink.invalid(path, 'a route action needs one of cluster, cluster_header or weighted_clusters');
  }

  const prefixRewrite = stringField(m, 'prefix_rewrite');
  const regexRewriteMessage = messageField(m, 'regex_rewrite');
  if (prefixRewrite !== '' && regexRewriteMessage !== undefined) {
    sink.invalid(
      [...path, 'regex_rewrite'],
      'Specify only one of prefix_rewrite, regex_rewrite or path_rewrite_policy',
    );
  }
  const regexRewrite =
    regexRewriteMessage && compileRegexRewrite(regexRewriteMessage, [...path, 'regex_rewrite'], sink);
  const hostPathRegexMessage = messageField(m, 'host_rewrite_path_regex');
  const hostRewritePathRegex =
    hostPathRegexMessage &&
    compileRegexRewrite(hostPathRegexMessage, [...path, 'host_rewrite_path_regex'], sink);

  const upgradeConfigs = new Map<string, RouteUpgradeConfig>();
  messageList(m, 'upgrade_configs').forEach((u, i) => {
    const type = stringField(u, 'upgrade_type');
    const key = asciiLower(type);
    const at = [...path, 'upgrade_configs', i];
    if (upgradeConfigs.has(key)) sink.invalid([...at, 'upgrade_type'], `Duplicate upgrade ${type}`);
    const connectConfig = messageField(u, 'connect_config');
    if (connectConfig !== undefined && type !== 'CONNECT') {
      sink.invalid([...at, 'connect_config'], `Non-CONNECT upgrade type ${type} has ConnectConfig`);
    }
    upgradeConfigs.set(key, { enabled: boolField(u, 'enabled', true), connectConfig });
  });

  const retryMessage = messageField(m, 'retry_policy');
  const retryPolicy =
    retryMessage !== undefined
      ? compileRetryPolicy(retryMessage, [...path, 'retry_policy'], sink)
      : (vhost.retryPolicy ?? EMPTY_RETRY_POLICY);
  const mirrors = compileMirrorPolicies(m, path, sink);
  const maxStreamDuration = messageField(m, 'max_stream_duration');

  return new RouteAction({
    clusterName,
    clusterHeader,
    weightedClusters,
    clusterNotFoundResponseCode:
      CLUSTER_NOT_FOUND_CODES[
        enumField(
          m,
          'cluster_not_found_response_code',
          ['SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'],
          'SERVICE_UNAVAILABLE',
        )
      ],
    metadataMatch: messageField(m, 'metadata_match'),
    prefixRewrite,
    regexRewrite,
    hostRewriteLiteral: stringField(m, 'host_rewrite_literal'),
    autoHostRewrite: boolField(m, 'auto_host_rewrite'),
    hostRewriteHeader: asciiLower(stringField(m, 'host_rewrite_header')),
    hostRewritePathRegex,
    appendXForwardedHost: boolField(m, 'append_x_forwarded_host'),
    timeoutMs: durationMs(m['timeout'], DEFAULT_ROUTE_TIMEOUT_MS),
    idleTimeoutMs: optionalMs(m['idle_timeout']),
    maxStreamDurationMs: optionalMs(maxStreamDuration?.['max_stream_duration']),
    grpcTimeoutHeaderMaxMs: optionalMs(maxStreamDuration?.['grpc_timeout_header_max']),
    grpcTimeoutHeaderOffsetMs: optionalMs(maxStreamDuration?.['grpc_timeout_header_offset']),
    maxGrpcTimeoutMs: optionalMs(m['max_grpc_timeout']),
    grpcTimeoutOffsetMs: optionalMs(m['grpc_timeout_offset']),
    retryPolicy,
    hashPolicy: compileHashPolicy(messageList(m, 'hash_policy'), [...path, 'hash_policy'], sink),
    requestMirrorPolicies: mirrors.length > 0 ? mirrors : vhost.requestMirrorPolicies,
    priority: enumField(m, 'priority', ['DEFAULT', 'HIGH'], 'DEFAULT'),
    upgradeConfigs,
  });
}

function compileRedirect(m: ProtoMessage, path: ProblemPath, sink: ProblemSink): RedirectAction {
  const regexRewriteMessage = messageField(m, 'regex_rewrite');
  const pathRedirect = stringField(m, 'path_redirect');
  const stripQuery = boolField(m, 'strip_query');
  if (stripQuery && pathRedirect.includes('?')) {
    sink.warn(
      [...path, 'strip_query'],
      `\`strip_query\` is set to true, but \`path_redirect\` contains query string and it will not be stripped: ${pathRedirect}`,
    );
  }
  return {
    kind: 'redirect',
    responseCode:
      REDIRECT_CODES[
        enumField(
          m,
          'response_code',
          ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'],
          'MOVED_PERMANENTLY',
        )
      ],
    schemeRedirect: stringField(m, 'scheme_redirect'),
    httpsRedirect: boolField(m, 'https_redirect'),
    hostRedirect: stringField(m, 'host_redirect'),
    portRedirect: numberField(m, 'port_redirect', 0),
    pathRedirect,
    prefixRewrite: stringField(m, 'prefix_rewrite'),
    regexRewrite:
      regexRewriteMessage && compileRegexRewrite(regexRewriteMessage, [...path, 'regex_rewrite'], sink),
    stripQuery,
    sslRedirect: false,
  };
}

function compileDirectResponse(
  m: ProtoMessage,
  path: ProblemPath,
  maxBodyBytes: number,
  sink: ProblemSink,
): DirectResponseAction {
  const status = numberField(m, 'status', 200);
  const source = messageField(m, 'body');
  if (source === undefined) return { kind: 'direct_response', status, body: undefined };
  const bodyPath = [...path, 'body'];
  let body: Buffer | undefined;
  if (source['filename'] !== undefined) {
    const filename = stringField(source, 'filename');
    try {
      body = readFileSync(filename);
    } catch (e) {
      sink.invalid(
        [...bodyPath, 'filename'],
        `unable to read file: ${filename}: ${e instanceof Error ? e.message : e}`,
      );
      return { kind: 'direct_response', status, body: undefined };
    }
  } else if (source['inline_string'] !== undefined) {
    body = Buffer.from(stringField(source, 'inline_string'));
  } else if (source['inline_bytes'] !== undefined) {
    body = Buffer.from(bytesField(source, 'inline_bytes') ?? new Uint8Array());
  } else if (source['environment_variable'] !== undefined) {
    const name = stringField(source, 'environment_variable');
    const value = process.env[name];
    if (value === undefined) {
      sink.invalid([...bodyPath, 'environment_variable'], `Environment variable doesn't exist: ${name}`);
      return { kind: 'direct_response', status, body: undefined };
    }
    body = Buffer.from(value);
  }
  if (body !== undefined && body.length > maxBodyBytes) {
    sink.invalid(bodyPath, `response body size is ${body.length} bytes; maximum is ${maxBodyBytes}`);
  }
  return { kind: 'direct_response', status, body };
}

function compileMatch(
  m: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
  runtime: RuntimeSource | undefined,
): { spec: RouteMatchSpec; matched: string } | undefined {
  sink.unknownFields(m, path, ROUTE_MATCH_FIELDS, 'match');
  const caseSensitive = boolField(m, 'case_sensitive', true);
  const headers = compileHeaderMatchers(asList(m['headers']), [...path, 'headers'], sink);
  const queryParameters: QueryParameterMatcher[] = [];
  messageList(m, 'query_parameters').forEach((q, i) => {
    const matcher = compileQueryParameterMatcher(q, [...path, 'query_parameters', i], sink);
    if (matcher !== undefined) queryParameters.push(matcher);
  });
  const runtimeFraction = messageField(m, 'runtime_fraction');
  const base = {
    caseSensitive,
    headers,
    queryParameters,
    grpc: m['grpc'] !== undefined,
    runtimeFraction: fractionOf(messageField(runtimeFraction, 'default_value')),
    runtimeKey: stringField(runtimeFraction, 'runtime_key'),
    runtime,
  };
  const spec = (pathKind: number, pathValue: string, regex?: Re2Regex): RouteMatchSpec => ({
    ...base,
    pathKind,
    pathValue,
    regex,
    prefixHash: prefixHash(pathValue, false),
  });
  const lowerIfInsensitive = (s: string): string => (caseSensitive ? s : asciiLower(s));
  if (m['prefix'] !== undefined) {
    const prefix = stringField(m, 'prefix');
    return {
      spec: spec(PATH_PREFIX, lowerIfInsensitive(prefix)),
      matched: prefix,
    };
  }
  if (m['path'] !== undefined) {
    const p = stringField(m, 'path');
    return { spec: spec(PATH_EXACT, lowerIfInsensitive(p)), matched: p };
  }
  const safeRegex = messageField(m, 'safe_regex');
  if (safeRegex !== undefined) {
    const regex = compileRegexMatcher(safeRegex, [...path, 'safe_regex'], sink);
    if (regex === undefined) return undefined;
    return { spec: spec(PATH_REGEX, '', regex), matched: '' };
  }
  if (m['path_separated_prefix'] !== undefined) {
    const prefix = stringField(m, 'path_separated_prefix');
    return {
      spec: spec(PATH_SEPARATED_PREFIX, lowerIfInsensitive(prefix)),
      matched: prefix,
    };
  }
  if (m['connect_matcher'] !== undefined) {
    return { spec: spec(PATH_CONNECT, ''), matched: '' };
  }
  if (m['path_match_policy'] !== undefined) return undefined; // reported as an unknown field
  sink.invalidBySchema(
    path,
    'Invalid route config: a route match needs one of prefix, path, safe_regex, connect_matcher or path_separated_prefix',
  );
  return undefined;
}

function compileRoute(
  m: ProtoMessage,
  path: ProblemPath,
  vhost: VirtualHost,
  sink: ProblemSink,
): Route | undefined {
  sink.unknownFields(m, path, ROUTE_FIELDS, 'route');
  const match = compileMatch(messageField(m, 'match') ?? {}, [...path, 'match'], sink, vhost.table.runtime);
  let action: Action | undefined;
  const routeAction = messageField(m, 'route');
  const redirect = messageField(m, 'redirect');
  const direct = messageField(m, 'direct_response');
  if (routeAction !== undefined) action = compileRouteAction(routeAction, [...path, 'route'], vhost, sink);
  else if (redirect !== undefined) action = compileRedirect(redirect, [...path, 'redirect'], sink);
  else if (direct !== undefined) {
    action = compileDirectResponse(
      direct,
      [...path, 'direct_response'],
      vhost.table.maxDirectResponseBodySizeBytes,
      sink,
    );
  } else if (m['filter_action'] === undefined && m['non_forwarding_action'] === undefined) {
    sink.invalidBySchema(path, 'a route needs one of route, redirect or direct_response');
  }
  const requestHeaderParser = compileHeaderParser(
    m,
    'request_headers_to_add',
    'request_headers_to_remove',
    path,
    sink,
  );
  const responseHeaderParser = compileHeaderParser(
    m,
    'response_headers_to_add',
    'response_headers_to_remove',
    path,
    sink,
  );
  if (match === undefined || action === undefined) return undefined;
  const limit = m['per_request_buffer_limit_bytes'];
  return new Route({
    name: stringField(m, 'name'),
    virtualHost: vhost,
    action,
    requestHeaderParser,
    responseHeaderParser,
    typedPerFilterConfig: typedPerFilterConfigOf(m),
    metadata: messageField(m, 'metadata'),
    decoratorOperation: stringField(messageField(m, 'decorator'), 'operation'),
    perRequestBufferLimitBytes: typeof limit === 'number' ? limit : vhost.perRequestBufferLimitBytes,
    statPrefix: stringField(m, 'stat_prefix'),
    spec: match.spec,
    matchedPathConfig: match.matched,
  });
}

function compileVirtualHost(
  m: ProtoMessage,
  path: ProblemPath,
  table: RouteTable,
  sink: ProblemSink,
): VirtualHost {
  sink.unknownFields(m, path, VIRTUAL_HOST_FIELDS, 'virtual_host');
  const retryMessage = messageField(m, 'retry_policy');
  const mirrors = compileMirrorPolicies(m, path, sink);
  const limit = m['per_request_buffer_limit_bytes'];
  const vhost = new VirtualHost({
    name: stringField(m, 'name'),
    domains: stringList(m, 'domains'),
    table,
    requireTls: enumField(m, 'require_tls', ['NONE', 'EXTERNAL_ONLY', 'ALL'], 'NONE'),
    requestHeaderParser: compileHeaderParser(
      m,
      'request_headers_to_add',
      'request_headers_to_remove',
      path,
      sink,
    ),
    responseHeaderParser: compileHeaderParser(
      m,
      'response_headers_to_add',
      'response_headers_to_remove',
      path,
      sink,
    ),
    typedPerFilterConfig: typedPerFilterConfigOf(m),
    retryPolicy: retryMessage && compileRetryPolicy(retryMessage, [...path, 'retry_policy'], sink),
    requestMirrorPolicies: mirrors.length > 0 ? mirrors : table.requestMirrorPolicies,
    includeRequestAttemptCount: boolField(m, 'include_request_attempt_count'),
    includeAttemptCountInResponse: boolField(m, 'include_attempt_count_in_response'),
    includeIsTimeoutRetryHeader: boolField(m, 'include_is_timeout_retry_header'),
    perRequestBufferLimitBytes: typeof limit === 'number' ? limit : undefined,
    metadata: messageField(m, 'metadata'),
  });
  messageList(m, 'routes').forEach((r, i) => {
    const route = compileRoute(r, [...path, 'routes', i], vhost, sink);
    if (route !== undefined) vhost.routes.push(route);
  });
  return vhost;
}

function compile(config: ProtoMessage, sink: ProblemSink, runtime?: RuntimeSource): RouteTable {
  sink.unknownFields(config, [], ROUTE_CONFIG_FIELDS, 'route_config');
  const table = new RouteTable({
    name: stringField(config, 'name'),
    runtime,
    requestHeaderParser: compileHeaderParser(
      config,
      'request_headers_to_add',
      'request_headers_to_remove',
      [],
      sink,
    ),
    responseHeaderParser: compileHeaderParser(
      config,
      'response_headers_to_add',
      'response_headers_to_remove',
      [],
      sink,
    ),
    mostSpecificHeaderMutationsWins: boolField(config, 'most_specific_header_mutations_wins'),
    ignorePortInHostMatching: boolField(config, 'ignore_port_in_host_matching'),
    ignorePathParametersInPathMatching: boolField(config, 'ignore_path_parameters_in_path_matching'),
    internalOnlyHeaders: stringList(config, 'internal_only_headers').map(asciiLower),
    typedPerFilterConfig: typedPerFilterConfigOf(config),
    requestMirrorPolicies: compileMirrorPolicies(config, [], sink),
    maxDirectResponseBodySizeBytes: numberField(
      config,
      'max_direct_response_body_size_bytes',
      DEFAULT_MAX_DIRECT_RESPONSE_BODY_SIZE_BYTES,
    ),
  });
  const names = new Set<string>();
  messageList(config, 'virtual_hosts').forEach((v, i) => {
    const path = ['virtual_hosts', i];
    const vhost = compileVirtualHost(v, path, table, sink);
    if (names.has(vhost.name)) {
      sink.invalid(
        [...path, 'name'],
        `only unique values for virtual host names are permitted; duplicate '${vhost.name}'`,
      );
    }
    names.add(vhost.name);
    vhost.domains.forEach((domain, d) => {
      const problem = table.addDomain(domain, vhost);
      if (problem !== undefined) sink.invalid([...path, 'domains', d], problem);
    });
    table.virtualHosts.push(vhost);
  });
  return table;
}

/**
 * Every problem of a decoded RouteConfiguration, with paths below it: invalid config (as
 * Envoy would reject it, including duplicate domains and virtual host names), config Legate
 * does not implement, and warnings. Compiles the table (RE2 programs, files of
 * `direct_response` bodies) and throws it away.
 */
export function validateRouteConfig(routeConfig: ProtoMessage): RouteConfigProblem[] {
  const sink = new ProblemSink();
  compile(routeConfig, sink);
  return sink.problems;
}

/** Compiles a decoded RouteConfiguration; throws `RouteConfigError` unless it is free of errors. */
export function compileRouteTable(routeConfig: ProtoMessage, runtime?: RuntimeSource): RouteTable {
  const sink = new ProblemSink();
  const table = compile(routeConfig, sink, runtime);
  if (sink.failed) throw new RouteConfigError(sink.problems.filter((p) => p.kind !== 'warning'));
  return table;
}
