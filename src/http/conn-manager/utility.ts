/**
 * The connection manager's header rules: request sanitation and forwarding headers
 * (x-forwarded-for / -proto / -port, x-envoy-internal, x-envoy-external-address,
 * x-request-id, via, the x-envoy-* headers only trusted peers may send), response hop-by-hop
 * cleanup, path and host normalization, and the internal-address policy.
 *
 * Any thread; stateless functions over a stream's header maps, called once per request or
 * response. Envoy counterpart: `ConnectionManagerUtility` (source/common/http/
 * conn_manager_utility.cc), `Http::Utility::getLastAddressFromXFF` / `appendXff` /
 * `appendVia` / `isUpgrade`, `HeaderUtility::stripPortFromHost`, `Network::Utility::
 * isInternalAddress` / `isLoopbackAddress`, `InternalAddressConfig`.
 */
import net from 'node:net';
import { uuid4 } from '../../common/uuid.ts';
import { HeaderMapImpl } from '../header-map.ts';
import { equalsIgnoreCase, hasToken } from '../http1/chars.ts';
import type { HeaderMap } from '../types.ts';
import { canonicalPath, mergeSlashes, unescapeSlashes } from './path-utility.ts';
import type { ConnectionManagerConfig, InternalAddressConfig } from './types.ts';

/** `::ffff:a.b.c.d` as `a.b.c.d`; anything else unchanged. */
export function unmapV4(address: string): string {
  return address.length > 7 && address.startsWith('::ffff:') && address.includes('.')
    ? address.slice(7)
    : address;
}

/** Envoy's `isLoopbackAddress`: 127.0.0.0/8 and ::1. */
export function isLoopbackAddress(address: string): boolean {
  const a = unmapV4(address);
  return a.startsWith('127.') || a === '::1';
}

/** Envoy's default `isInternalAddress`: RFC 1918, 127.0.0.1, fd00::/8 (RFC 4193) and ::1. */
export function isDefaultInternalAddress(address: string): boolean {
  const a = unmapV4(address);
  const family = net.isIP(a);
  if (family === 4) {
    const dot = a.indexOf('.');
    const first = Number(a.slice(0, dot));
    if (first === 10) return true;
    const second = Number(a.slice(dot + 1, a.indexOf('.', dot + 1)));
    if (first === 192 && second === 168) return true;
    if (first === 172 && second >= 16 && second <= 31) return true;
    return a === '127.0.0.1';
  }
  if (family === 6) {
    const lower = a.toLowerCase();
    if (lower === '::1') return true;
    // fd00::/8: the first 16-bit group is fdXX (a full group of four hex digits).
    const colon = lower.indexOf(':');
    return colon === 4 && lower.startsWith('fd');
  }
  return false;
}

/**
 * The internal-address policy of `internal_address_config`: its CIDR ranges when it has some,
 * Envoy's default ranges otherwise; pipes are internal only with `unix_sockets`.
 */
export function internalAddressConfig(
  cidrRanges: ReadonlyArray<{ readonly address: string; readonly prefixLength: number }>,
  unixSockets: boolean,
): InternalAddressConfig {
  if (cidrRanges.length === 0) {
    return {
      isInternalAddress: (address) => (address === '' ? unixSockets : isDefaultInternalAddress(address)),
    };
  }
  const list = new net.BlockList();
  for (const range of cidrRanges) {
    const family = net.isIPv4(range.address) ? 'ipv4' : 'ipv6';
    list.addSubnet(range.address, range.prefixLength, family);
  }
  return {
    isInternalAddress: (address) => {
      if (address === '') return unixSockets;
      const a = unmapV4(address);
      const family = net.isIP(a);
      return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** Envoy's `Utility::isUpgrade`: `connection` names `upgrade` and an `upgrade` header is present. */
export function isUpgrade(headers: HeaderMap): boolean {
  const upgrade = headers.get('upgrade');
  if (upgrade === undefined) return false;
  const connection = headers.get('connection');
  return connection !== undefined && hasToken(connection, 'upgrade');
}

/** All `x-forwarded-for` values joined as one list (repeated headers are one list, as in Envoy). */
function forwardedFor(headers: HeaderMap): string | undefined {
  const values = headers.getAll('x-forwarded-for');
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values.join(',');
}

/**
 * The address `numToSkip` entries from the end of XFF, and whether it was the only one
 * (Envoy's `getLastAddressFromXFF`); null address when XFF is missing or that entry is not an
 * IP address.
 */
export function lastAddressFromXff(
  headers: HeaderMap,
  numToSkip: number,
): { address: string | null; single: boolean } {
  let xff = forwardedFor(headers);
  if (xff === undefined) return { address: null, single: false };
  for (let i = 0; i < numToSkip; i++) {
    const comma = xff.lastIndexOf(',');
    if (comma < 0) return { address: null, single: false };
    xff = xff.slice(0, comma);
  }
  const comma = xff.lastIndexOf(',');
  const entry = (comma >= 0 && comma + 1 < xff.length ? xff.slice(comma + 1) : xff).trim();
  if (net.isIP(entry) === 0) return { address: null, single: false };
  return { address: entry, single: comma < 0 && numToSkip === 0 };
}

/** Appends `address` to `x-forwarded-for` (`a,b`, no space, as Envoy writes it). */
function appendXff(headers: HeaderMap, address: string): void {
  const xff = forwardedFor(headers);
  headers.set('x-forwarded-for', xff === undefined || xff === '' ? address : `${xff},${address}`);
}

/** Appends `via` to the `via` header (`a, b`). Envoy's `Utility::appendVia`. */
export function appendVia(headers: HeaderMap, via: string): void {
  const existing = headers.getAll('via');
  if (existing.length === 0) {
    headers.set('via', via);
    return;
  }
  headers.set('via', `${existing.join(', ')}, ${via}`);
}

/** Envoy's `Utility::schemeIsValid`: http or https, in any case. */
function validScheme(scheme: string | undefined): scheme is string {
  return scheme !== undefined && (equalsIgnoreCase(scheme, 'http') || equalsIgnoreCase(scheme, 'https'));
}

/** Headers only an internal (trusted) peer may send. Envoy's `cleanInternalHeaders`. */
const ENVOY_INTERNAL_ONLY_HEADERS = [
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-alt-stat-name',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
  'x-envoy-original-url',
  'x-envoy-hedge-on-per-try-timeout',
] as const;

const EDGE_ONLY_REMOVED_HEADERS = [
  'x-envoy-decorator-operation',
  'x-envoy-downstream-service-cluster',
  'x-envoy-downstream-service-node',
] as const;

/** The other hop-by-hop headers; Connection and Upgrade are stripped unless the message upgrades. */
const HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'transfer-encoding'];
/** What a request loses before routing (and `x-envoy-internal`, which only we set). */
const REQUEST_STRIPPED_ON_UPGRADE: ReadonlySet<string> = new Set(['x-envoy-internal', ...HOP_BY_HOP]);
const REQUEST_STRIPPED: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  ...REQUEST_STRIPPED_ON_UPGRADE,
]);
/** What a response loses (an upgrade's 101 keeps Connection and Upgrade). */
const RESPONSE_STRIPPED_ON_UPGRADE: ReadonlySet<string> = new Set(HOP_BY_HOP);
const RESPONSE_STRIPPED: ReadonlySet<string> = new Set(['connection', 'upgrade', ...HOP_BY_HOP]);

/**
 * Removes every header named in `names` (lower-case): one pass over the codec's map, where a
 * `remove` per name would scan it once each.
 */
function removeHeaders(headers: HeaderMap, names: ReadonlySet<string>): void {
  if (headers instanceof HeaderMapImpl) {
    for (let i = headers.size - 1; i >= 0; i--) if (names.has(headers.keyAt(i))) headers.removeAt(i);
  } else {
    for (const name of names) headers.remove(name);
  }
}

/** How many headers are named `key` (lower-case). */
function countOf(headers: HeaderMap, key: string): number {
  if (!(headers instanceof HeaderMapImpl)) return headers.getAll(key).length;
  let n = 0;
  for (let i = 0; i < headers.size; i++) if (headers.keyAt(i) === key) n++;
  return n;
}

/** True when the map may hold an `x-envoy-*` header (a scan of the codec's map; any other map: true). */
function hasEnvoyHeaders(headers: HeaderMap): boolean {
  if (!(headers instanceof HeaderMapImpl)) return true;
  for (let i = 0; i < headers.size; i++) if (headers.keyAt(i).startsWith('x-envoy-')) return true;
  return false;
}

export interface MutateRequestResult {
  /** The trusted client address: from XFF when configured so, else the peer's. */
  readonly remoteAddress: string;
  /** The peer's port, or 0 when the address came from XFF. */
  readonly remotePort: number;
  /** The request came from an internal address (x-envoy-* headers are trusted). */
  readonly internalRequest: boolean;
}

export interface DownstreamConnectionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** `http`, or `https` on a TLS listener. */
  readonly scheme: string;
}

/**
 * Sanitizes and completes a request's headers before routing, in Envoy's order. Envoy's
 * `ConnectionManagerUtility::mutateRequestHeaders`.
 */
export function mutateRequestHeaders(
  headers: HeaderMap,
  connection: DownstreamConnectionInfo,
  config: ConnectionManagerConfig,
  internalOnlyHeaders: readonly string[],
): MutateRequestResult {
  // Upgrade requests keep their Connection and Upgrade headers: they go upstream verbatim.
  removeHeaders(headers, isUpgrade(headers) ? REQUEST_STRIPPED_ON_UPGRADE : REQUEST_STRIPPED);
  // A request has one Referer at most.
  if (countOf(headers, 'referer') > 1) headers.remove('referer');

  const peer = unmapV4(connection.remoteAddress);
  let remoteAddress: string | null = null;
  let remotePort = 0;
  let allowTrustedAddressChecks = false;
  const hops = config.xffNumTrustedHops;
  if (config.useRemoteAddress) {
    allowTrustedAddressChecks = !headers.has('x-forwarded-for');
    if (hops > 0) remoteAddress = lastAddressFromXff(headers, hops - 1).address;
    if (remoteAddress === null) {
      remoteAddress = peer;
      remotePort = connection.remotePort;
    }
    if (!config.skipXffAppend) appendXff(headers, isLoopbackAddress(peer) ? config.localAddress : peer);
    // An untrusted previous hop's x-forwarded-proto / -port are overwritten.
    if (hops === 0 || !headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', connection.scheme);
    if (config.appendXForwardedPort && (hops === 0 || !headers.has('x-forwarded-port'))) {
      headers.set('x-forwarded-port', String(connection.localPort));
    }
  } else {
    const xff = lastAddressFromXff(headers, hops);
    remoteAddress = xff.address;
    allowTrustedAddressChecks = xff.single;
  }

  if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', connection.scheme);
  if (config.appendXForwardedPort && !headers.has('x-forwarded-port')) {
    headers.set('x-forwarded-port', String(connection.localPort));
  }
  if (config.schemeToSet !== '') {
    headers.set(':scheme', config.schemeToSet);
    headers.set('x-forwarded-proto', config.schemeToSet);
  } else if (!headers.has(':scheme')) {
    // An origin-form request has no :scheme from the codec: Envoy takes the (sanitized)
    // x-forwarded-proto when it names a valid scheme, else the connection's. An absolute-form
    // target's scheme is kept, even when x-forwarded-proto differs (as in Envoy).
    const forwardedProto = headers.get('x-forwarded-proto');
    headers.set(':scheme', validScheme(forwardedProto) ? forwardedProto : connection.scheme);
  }

  const internalRequest =
    allowTrustedAddressChecks &&
    remoteAddress !== null &&
    config.internalAddressConfig.isInternalAddress(remoteAddress);
  if (remoteAddress === null) {
    remoteAddress = peer;
    remotePort = connection.remotePort;
  }
  const edgeRequest = !internalRequest && config.useRemoteAddress;

  if (internalRequest) {
    headers.set('x-envoy-internal', 'true');
  } else {
    if (hasEnvoyHeaders(headers)) {
      if (edgeRequest) for (const name of EDGE_ONLY_REMOVED_HEADERS) headers.remove(name);
      for (const name of ENVOY_INTERNAL_ONLY_HEADERS) headers.remove(name);
    }
    for (let i = 0; i < internalOnlyHeaders.length; i++) headers.remove(internalOnlyHeaders[i]!);
  }

  if (config.via !== '') appendVia(headers, config.via);
  if (edgeRequest) headers.set('x-envoy-external-address', remoteAddress);

  if (config.generateRequestId) {
    const forceSet = !config.preserveExternalRequestId && edgeRequest;
    const existing = headers.get('x-request-id');
    if (forceSet || existing === undefined || existing === '') headers.set('x-request-id', uuid4());
  }

  // Without TLS there is no client certificate: only ALWAYS_FORWARD_ONLY keeps the header.
  if (config.forwardClientCertDetails !== 'ALWAYS_FORWARD_ONLY') headers.remove('x-forwarded-client-cert');

  return { remoteAddress, remotePort, internalRequest };
}

/**
 * Cleans a response's hop-by-hop headers and adds `via` and the request id. Envoy's
 * `ConnectionManagerUtility::mutateResponseHeaders`.
 */
export function mutateResponseHeaders(
  headers: HeaderMap,
  requestHeaders: HeaderMap | null,
  config: ConnectionManagerConfig,
  via: string,
): void {
  if (requestHeaders !== null && isUpgrade(requestHeaders) && isUpgrade(headers)) {
    const status = Number(headers.get(':status'));
    if (
      !headers.has('transfer-encoding') &&
      !headers.has('content-length') &&
      !(status >= 100 && status < 200)
    ) {
      headers.set('content-length', '0');
    }
    removeHeaders(headers, RESPONSE_STRIPPED_ON_UPGRADE);
  } else {
    removeHeaders(headers, RESPONSE_STRIPPED);
  }
  if (
    requestHeaders !== null &&
    (config.alwaysSetRequestIdInResponse || requestHeaders.has('x-envoy-force-trace'))
  ) {
    const id = requestHeaders.get('x-request-id');
    if (id !== undefined) headers.set('x-request-id', id);
  }
  if (via !== '') appendVia(headers, via);
}

export const NORMALIZE_CONTINUE = 0;
export const NORMALIZE_REJECT = 1;
export const NORMALIZE_REDIRECT = 2;
export type NormalizePathAction =
  | typeof NORMALIZE_CONTINUE
  | typeof NORMALIZE_REJECT
  | typeof NORMALIZE_REDIRECT;

/**
 * Rejects a path with a fragment, applies `path_with_escaped_slashes_action`, `normalize_path`
 * and `merge_slashes`, in Envoy's order. Envoy's `ConnectionManagerUtility::maybeNormalizePath`.
 */
export function maybeNormalizePath(headers: HeaderMap, config: ConnectionManagerConfig): NormalizePathAction {
  let path = headers.get(':path');
  if (path === undefined) return NORMALIZE_CONTINUE;
  // Envoy's default (http_reject_path_with_fragment): a #fragment is not part of a request URI.
  if (path.includes('#')) return NORMALIZE_REJECT;

  let action: NormalizePathAction = NORMALIZE_CONTINUE;
  const escaped = config.pathWithEscapedSlashesAction;
  if (escaped !== 'KEEP_UNCHANGED') {
    const unescaped = unescapeSlashes(path);
    if (unescaped !== null) {
      if (escaped === 'REJECT_REQUEST') return NORMALIZE_REJECT;
      if (escaped === 'UNESCAPE_AND_REDIRECT') action = NORMALIZE_REDIRECT;
      path = unescaped;
      headers.set(':path', path);
    }
  }
  if (config.normalizePath) {
    const canonical = canonicalPath(path);
    if (canonical === null) return NORMALIZE_REJECT;
    if (canonical !== path) {
      path = canonical;
      headers.set(':path', path);
    }
  }
  if (config.mergeSlashes) {
    const merged = mergeSlashes(path);
    if (merged !== path) headers.set(':path', merged);
  }
  return action;
}

/** Where the port of `host` starts (its ':'), or -1 (an IPv6 literal's colons do not count). */
function portStart(host: string): number {
  const colon = host.lastIndexOf(':');
  if (colon < 0) return -1;
  const bracket = host.lastIndexOf(']');
  return bracket >= 0 && bracket > colon ? -1 : colon;
}

/**
 * `strip_trailing_host_dot` and `strip_matching_host_port` / `strip_any_host_port` on
 * `:authority`. Envoy's `ConnectionManagerUtility::maybeNormalizeHost`.
 */
export function maybeNormalizeHost(
  headers: HeaderMap,
  config: ConnectionManagerConfig,
  localPort: number,
): void {
  if (config.stripTrailingHostDot) {
    const host = headers.get(':authority');
    if (host !== undefined) {
      const port = portStart(host);
      const name = port < 0 ? host : host.slice(0, port);
      if (name.endsWith('.'))
        headers.set(':authority', name.slice(0, -1) + (port < 0 ? '' : host.slice(port)));
    }
  }
  if (config.stripPortMode === 'none' || headers.get(':method') === 'CONNECT') return;
  const host = headers.get(':authority');
  if (host === undefined) return;
  const port = portStart(host);
  if (port < 0) return;
  const text = host.slice(port + 1);
  if (!/^[0-9]{1,5}$/.test(text)) return;
  if (config.stripPortMode === 'matching' && Number(text) !== localPort) return;
  headers.set(':authority', host.slice(0, port));
}
