/**
 * The command operators of access log formats (`%BYTES_SENT%`, `%REQ(X?Y):Z%`, ...): each
 * parsed once into a `Command`, then evaluated per log line to a string, a number, or
 * `undefined` when the value is missing (`-` in text, `null` in JSON).
 *
 * Any thread: parsing runs on main (config validation) and on workers (logger creation);
 * evaluation runs on the worker that owns the stream. Evaluation is one `switch` over an
 * integer operator code: no closure, no regular expression, no allocation beyond the value
 * itself. Semantics (types, `-` cases, whitespace rules, syntax checks and their messages)
 * follow Envoy's tables. Envoy counterpart: `stream_info_formatter.cc` (the StreamInfo
 * operators), `http_specific_formatter.cc` (REQ / RESP / TRAILER),
 * `substitution_format_utility.cc` (`CommandSyntaxChecker`) and the `req_without_query`
 * formatter extension.
 */
import { hostname } from 'node:os';
import { RESPONSE_FLAGS, type ResponseFlag } from '../stream-info/stream-info.ts';
import { compileDateFormat, type DateFormatter } from './date-formatter.ts';
import type { FormatterContext, HeaderLookup } from './types.ts';

/** A command's value: a string, a number (kept a number in JSON), or missing. */
export type CommandValue = string | number | undefined;

// Operator codes, the `switch` labels of `evaluate`.
const START_TIME = 1;
const DOWNSTREAM_REMOTE_ADDRESS = 2;
const DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT = 3;
const DOWNSTREAM_REMOTE_PORT = 4;
const DOWNSTREAM_LOCAL_ADDRESS = 5;
const DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT = 6;
const DOWNSTREAM_LOCAL_PORT = 7;
const UPSTREAM_HOST = 8;
const UPSTREAM_CLUSTER = 9;
const UPSTREAM_LOCAL_ADDRESS = 10;
const UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT = 11;
const UPSTREAM_LOCAL_PORT = 12;
const UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT = 13;
const UPSTREAM_REMOTE_PORT = 14;
const UPSTREAM_TRANSPORT_FAILURE_REASON = 15;
const BYTES_RECEIVED = 16;
const BYTES_SENT = 17;
const DURATION = 18;
const REQUEST_DURATION = 19;
const RESPONSE_DURATION = 20;
const RESPONSE_FLAGS_SHORT = 21;
const RESPONSE_FLAGS_LONG = 22;
const CONNECTION_TERMINATION_DETAILS = 23;
const CONSTANT = 24;
const PROTOCOL = 25;
const RESPONSE_CODE = 26;
const RESPONSE_CODE_DETAILS = 27;
const ROUTE_NAME = 28;
const REQ = 29;
const RESP = 30;
const TRAILER = 31;
const REQ_WITHOUT_QUERY = 32;
const UPSTREAM_SERVICE_TIME = 33;

// Envoy's CommandSyntaxChecker flags.
const COMMAND_ONLY = 0;
const PARAMS_REQUIRED = 1;
const PARAMS_OPTIONAL = 2;
const LENGTH_ALLOWED = 4;

/** name -> [operator code, syntax flags]. */
const OPERATORS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['START_TIME', [START_TIME, PARAMS_OPTIONAL]],
  ['DOWNSTREAM_REMOTE_ADDRESS', [DOWNSTREAM_REMOTE_ADDRESS, COMMAND_ONLY]],
  ['DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', [DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, COMMAND_ONLY]],
  ['DOWNSTREAM_REMOTE_PORT', [DOWNSTREAM_REMOTE_PORT, COMMAND_ONLY]],
  ['DOWNSTREAM_LOCAL_ADDRESS', [DOWNSTREAM_LOCAL_ADDRESS, COMMAND_ONLY]],
  ['DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT', [DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT, COMMAND_ONLY]],
  ['DOWNSTREAM_LOCAL_PORT', [DOWNSTREAM_LOCAL_PORT, COMMAND_ONLY]],
  ['UPSTREAM_HOST', [UPSTREAM_HOST, COMMAND_ONLY]],
  // The connected upstream address is the host's address: the same value.
  ['UPSTREAM_REMOTE_ADDRESS', [UPSTREAM_HOST, COMMAND_ONLY]],
  ['UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', [UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, COMMAND_ONLY]],
  ['UPSTREAM_REMOTE_PORT', [UPSTREAM_REMOTE_PORT, COMMAND_ONLY]],
  ['UPSTREAM_CLUSTER', [UPSTREAM_CLUSTER, COMMAND_ONLY]],
  ['UPSTREAM_CLUSTER_RAW', [UPSTREAM_CLUSTER, COMMAND_ONLY]],
  ['UPSTREAM_LOCAL_ADDRESS', [UPSTREAM_LOCAL_ADDRESS, COMMAND_ONLY]],
  ['UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT', [UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT, COMMAND_ONLY]],
  ['UPSTREAM_LOCAL_PORT', [UPSTREAM_LOCAL_PORT, COMMAND_ONLY]],
  ['UPSTREAM_TRANSPORT_FAILURE_REASON', [UPSTREAM_TRANSPORT_FAILURE_REASON, COMMAND_ONLY]],
  ['BYTES_RECEIVED', [BYTES_RECEIVED, COMMAND_ONLY]],
  ['BYTES_SENT', [BYTES_SENT, COMMAND_ONLY]],
  ['DURATION', [DURATION, COMMAND_ONLY]],
  ['REQUEST_DURATION', [REQUEST_DURATION, COMMAND_ONLY]],
  ['RESPONSE_DURATION', [RESPONSE_DURATION, COMMAND_ONLY]],
  ['RESPONSE_FLAGS', [RESPONSE_FLAGS_SHORT, COMMAND_ONLY]],
  ['RESPONSE_FLAGS_LONG', [RESPONSE_FLAGS_LONG, COMMAND_ONLY]],
  ['CONNECTION_TERMINATION_DETAILS', [CONNECTION_TERMINATION_DETAILS, COMMAND_ONLY]],
  ['HOSTNAME', [CONSTANT, COMMAND_ONLY]],
  ['ENVIRONMENT', [CONSTANT, PARAMS_REQUIRED | LENGTH_ALLOWED]],
  ['PROTOCOL', [PROTOCOL, COMMAND_ONLY]],
  ['RESPONSE_CODE', [RESPONSE_CODE, COMMAND_ONLY]],
  ['RESPONSE_CODE_DETAILS', [RESPONSE_CODE_DETAILS, PARAMS_OPTIONAL]],
  ['ROUTE_NAME', [ROUTE_NAME, COMMAND_ONLY]],
  ['REQ', [REQ, PARAMS_REQUIRED | LENGTH_ALLOWED]],
  ['RESP', [RESP, PARAMS_REQUIRED | LENGTH_ALLOWED]],
  ['TRAILER', [TRAILER, PARAMS_REQUIRED | LENGTH_ALLOWED]],
  // Envoy's `envoy.formatter.req_without_query` extension, built in here.
  ['REQ_WITHOUT_QUERY', [REQ_WITHOUT_QUERY, PARAMS_REQUIRED | LENGTH_ALLOWED]],
  // Legate's: RESP(X-ENVOY-UPSTREAM-SERVICE-TIME) as a number.
  ['UPSTREAM_SERVICE_TIME', [UPSTREAM_SERVICE_TIME, COMMAND_ONLY]],
]);

/**
 * Operators Envoy knows that Legate does not implement yet: valid Envoy config, reported
 * as unsupported rather than invalid.
 */
const ENVOY_ONLY_OPERATORS = new Set([
  'REQUEST_TX_DURATION',
  'RESPONSE_TX_DURATION',
  'DOWNSTREAM_HANDSHAKE_DURATION',
  'ROUNDTRIP_DURATION',
  'BYTES_RETRANSMITTED',
  'PACKETS_RETRANSMITTED',
  'UPSTREAM_WIRE_BYTES_RECEIVED',
  'UPSTREAM_HEADER_BYTES_RECEIVED',
  'DOWNSTREAM_WIRE_BYTES_RECEIVED',
  'DOWNSTREAM_HEADER_BYTES_RECEIVED',
  'UPSTREAM_WIRE_BYTES_SENT',
  'UPSTREAM_HEADER_BYTES_SENT',
  'DOWNSTREAM_WIRE_BYTES_SENT',
  'DOWNSTREAM_HEADER_BYTES_SENT',
  'UPSTREAM_PROTOCOL',
  'COMMON_DURATION',
  'CUSTOM_FLAGS',
  'UPSTREAM_HOST_NAME',
  'UPSTREAM_HOST_NAME_WITHOUT_PORT',
  'UPSTREAM_CONNECTION_ID',
  'UPSTREAM_REQUEST_ATTEMPT_COUNT',
  'UPSTREAM_TLS_CIPHER',
  'UPSTREAM_TLS_VERSION',
  'UPSTREAM_TLS_SESSION_ID',
  'UPSTREAM_PEER_ISSUER',
  'UPSTREAM_PEER_CERT',
  'UPSTREAM_PEER_SUBJECT',
  'UPSTREAM_PEER_URI_SAN',
  'UPSTREAM_PEER_DNS_SAN',
  'UPSTREAM_PEER_IP_SAN',
  'UPSTREAM_LOCAL_URI_SAN',
  'UPSTREAM_LOCAL_DNS_SAN',
  'UPSTREAM_LOCAL_IP_SAN',
  'UPSTREAM_PEER_CERT_V_START',
  'UPSTREAM_PEER_CERT_V_END',
  'UPSTREAM_FILTER_STATE',
  'UPSTREAM_METADATA',
  'UPSTREAM_CONNECTION_POOL_READY_DURATION',
  'DOWNSTREAM_DIRECT_LOCAL_ADDRESS',
  'DOWNSTREAM_DIRECT_LOCAL_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_DIRECT_LOCAL_PORT',
  'DOWNSTREAM_DIRECT_REMOTE_ADDRESS',
  'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_DIRECT_REMOTE_PORT',
  'DOWNSTREAM_PEER_URI_SAN',
  'DOWNSTREAM_PEER_DNS_SAN',
  'DOWNSTREAM_PEER_IP_SAN',
  'DOWNSTREAM_PEER_EMAIL_SAN',
  'DOWNSTREAM_PEER_OTHERNAME_SAN',
  'DOWNSTREAM_LOCAL_URI_SAN',
  'DOWNSTREAM_LOCAL_DNS_SAN',
  'DOWNSTREAM_LOCAL_IP_SAN',
  'DOWNSTREAM_LOCAL_EMAIL_SAN',
  'DOWNSTREAM_LOCAL_OTHERNAME_SAN',
  'DOWNSTREAM_PEER_SUBJECT',
  'DOWNSTREAM_LOCAL_SUBJECT',
  'DOWNSTREAM_TLS_SESSION_ID',
  'DOWNSTREAM_TLS_CIPHER',
  'DOWNSTREAM_TLS_VERSION',
  'DOWNSTREAM_PEER_FINGERPRINT_256',
  'DOWNSTREAM_PEER_FINGERPRINT_1',
  'DOWNSTREAM_PEER_SERIAL',
  'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_256',
  'DOWNSTREAM_PEER_CHAIN_FINGERPRINTS_1',
  'DOWNSTREAM_PEER_CHAIN_SERIALS',
  'DOWNSTREAM_PEER_ISSUER',
  'DOWNSTREAM_PEER_CERT',
  'DOWNSTREAM_PEER_CERT_V_START',
  'DOWNSTREAM_PEER_CERT_V_END',
  'DOWNSTREAM_TRANSPORT_FAILURE_REASON',
  'CONNECTION_ID',
  'REQUESTED_SERVER_NAME',
  'FILTER_CHAIN_NAME',
  'VIRTUAL_CLUSTER_NAME',
  'TLS_JA3_FINGERPRINT',
  'TLS_JA4_FINGERPRINT',
  'UNIQUE_ID',
  'STREAM_ID',
  'START_TIME_LOCAL',
  'EMIT_TIME',
  'EMIT_TIME_LOCAL',
  'DYNAMIC_METADATA',
  'CLUSTER_METADATA',
  'FILTER_STATE',
  'LOCAL_REPLY_BODY',
  'ACCESS_LOG_TYPE',
  'GRPC_STATUS',
  'GRPC_STATUS_NUMBER',
  'REQUEST_HEADERS_BYTES',
  'RESPONSE_HEADERS_BYTES',
  'RESPONSE_TRAILERS_BYTES',
  'STREAM_INFO_REQ',
  'TRACE_ID',
  'QUERY_PARAM',
  'PATH',
  'CEL',
  'METADATA',
]);

/** Envoy's long response flag names (`%RESPONSE_FLAGS_LONG%`), in Envoy's flag order. */
const LONG_FLAG_NAMES: Readonly<Record<ResponseFlag, string>> = {
  FailedLocalHealthCheck: 'FailedLocalHealthCheck',
  NoHealthyUpstream: 'NoHealthyUpstream',
  UpstreamRequestTimeout: 'UpstreamRequestTimeout',
  LocalReset: 'LocalReset',
  UpstreamRemoteReset: 'UpstreamRemoteReset',
  UpstreamConnectionFailure: 'UpstreamConnectionFailure',
  UpstreamConnectionTermination: 'UpstreamConnectionTermination',
  UpstreamOverflow: 'UpstreamOverflow',
  NoRouteFound: 'NoRouteFound',
  DelayInjected: 'DelayInjected',
  FaultInjected: 'FaultInjected',
  RateLimited: 'RateLimited',
  UnauthorizedExternalService: 'UnauthorizedExternalService',
  RateLimitServiceError: 'RateLimitServiceError',
  DownstreamConnectionTermination: 'DownstreamConnectionTermination',
  UpstreamRetryLimitExceeded: 'UpstreamRetryLimitExceeded',
  StreamIdleTimeout: 'StreamIdleTimeout',
  InvalidEnvoyRequestHeaders: 'InvalidEnvoyRequestHeaders',
  DownstreamProtocolError: 'DownstreamProtocolError',
  UpstreamMaxStreamDurationReached: 'UpstreamMaxStreamDurationReached',
  ResponseFromCacheFilter: 'ResponseFromCacheFilter',
  NoFilterConfigFound: 'NoFilterConfigFound',
  DurationTimeout: 'DurationTimeout',
  UpstreamProtocolError: 'UpstreamProtocolError',
  NoClusterFound: 'NoClusterFound',
  OverloadManager: 'OverloadManagerTerminated',
  DnsResolutionFailed: 'DnsResolutionFailed',
  DropOverLoad: 'DropOverload',
  DownstreamRemoteReset: 'DownstreamRemoteReset',
  UnconditionalDropOverload: 'UnconditionalDropOverload',
};
const FLAG_ORDER = Object.keys(RESPONSE_FLAGS) as ResponseFlag[];

const UPSTREAM_SERVICE_TIME_HEADER = 'x-envoy-upstream-service-time';

/** What a command may need beyond the stream: the thread's monotonic clock. */
export interface CommandOptions {
  /** Monotonic ms, for `%DURATION%` of a stream that has not ended; without it that is `-`. */
  readonly monotonicNow?: () => number;
}

const NO_DATE: DateFormatter = { format: () => '' };

/** One parsed command operator. All commands have the same shape (one hidden class). */
export class Command {
  readonly op: number;
  /** Lower-case header name (REQ, RESP, TRAILER, REQ_WITHOUT_QUERY). */
  readonly header: string;
  /** Lower-case alternative header, or ''. */
  readonly altHeader: string;
  /** `:Z`, or -1 when not given. */
  readonly maxLength: number;
  /** RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES). */
  readonly allowWhitespace: boolean;
  /** HOSTNAME, ENVIRONMENT: fixed when parsed. */
  readonly constant: string | undefined;
  readonly date: DateFormatter;
  readonly monotonicNow: (() => number) | undefined;

  constructor(
    op: number,
    fields: {
      header?: string;
      altHeader?: string;
      maxLength?: number;
      allowWhitespace?: boolean;
      constant?: string | undefined;
      date?: DateFormatter;
      monotonicNow?: (() => number) | undefined;
    },
  ) {
    this.op = op;
    this.header = fields.header ?? '';
    this.altHeader = fields.altHeader ?? '';
    this.maxLength = fields.maxLength ?? -1;
    this.allowWhitespace = fields.allowWhitespace ?? false;
    this.constant = fields.constant;
    this.date = fields.date ?? NO_DATE;
    this.monotonicNow = fields.monotonicNow;
  }
}

export type ParseCommandResult =
  | { readonly ok: true; readonly command: Command }
  /** `unsupported`: Envoy knows the operator, Legate does not implement it. */
  | { readonly ok: false; readonly error: string; readonly unsupported: boolean };

function fail(error: string, unsupported = false): ParseCommandResult {
  return { ok: false, error, unsupported };
}

/** RFC 9110 token characters, and a leading ':' for pseudo-headers. */
function validHeaderName(name: string): boolean {
  const start = name.startsWith(':') ? 1 : 0;
  if (name.length <= start) return false;
  for (let i = start; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (!alnum && !"!#$%&'*+-.^_`|~".includes(name[i] ?? '')) return false;
  }
  return true;
}

/** `X?Y` of a header operator, lower-cased (Envoy's `parseSubcommandHeaders`). */
function parseHeaders(param: string): { main: string; alt: string } | string {
  const parts = param.split('?');
  if (parts.length > 2) return `More than 1 alternative header specified in token: ${param}`;
  const main = (parts[0] ?? '').toLowerCase();
  const alt = (parts[1] ?? '').toLowerCase();
  if (!validHeaderName(main) || (alt !== '' && !validHeaderName(alt))) {
    return 'Invalid header configuration. Format string contains invalid characters.';
  }
  return { main, alt };
}

/**
 * Parses one command: its name, its `(param)` ('' when absent) and its `:length`
 * (undefined when absent). Errors carry Envoy's messages.
 */
export function parseCommand(
  name: string,
  param: string,
  maxLength: number | undefined,
  options: CommandOptions,
): ParseCommandResult {
  const entry = OPERATORS.get(name);
  if (entry === undefined) {
    return ENVOY_ONLY_OPERATORS.has(name)
      ? fail(`${name} is not supported by Legate`, true)
      : fail(`Not supported field in StreamInfo: ${name}`);
  }
  const [op, flags] = entry;
  if (flags === COMMAND_ONLY && (param !== '' || maxLength !== undefined)) {
    return fail(`${name} does not take any parameters or length`);
  }
  if ((flags & PARAMS_REQUIRED) !== 0 && param === '') return fail(`${name} requires parameters`);
  if ((flags & LENGTH_ALLOWED) === 0 && maxLength !== undefined) {
    return fail(`${name} does not allow length to be specified.`);
  }
  const length = maxLength ?? -1;
  switch (op) {
    case START_TIME: {
      const date = compileDateFormat(param);
      if (!date.ok) return fail(date.error);
      return { ok: true, command: new Command(op, { date: date.formatter }) };
    }
    case REQ:
    case RESP:
    case TRAILER:
    case REQ_WITHOUT_QUERY: {
      const headers = parseHeaders(param);
      if (typeof headers === 'string') return fail(headers);
      return {
        ok: true,
        command: new Command(op, { header: headers.main, altHeader: headers.alt, maxLength: length }),
      };
    }
    case CONSTANT: {
      // Both are read once, as Envoy does: HOSTNAME when parsed, ENVIRONMENT likewise
      // (a missing variable prints `-`, in JSON too).
      const value = name === 'HOSTNAME' ? hostname() : truncate(process.env[param] ?? '-', length);
      return { ok: true, command: new Command(op, { constant: value }) };
    }
    case RESPONSE_CODE_DETAILS:
      return { ok: true, command: new Command(op, { allowWhitespace: param === 'ALLOW_WHITESPACES' }) };
    case DURATION:
      return { ok: true, command: new Command(op, { monotonicNow: options.monotonicNow }) };
    default:
      return { ok: true, command: new Command(op, {}) };
  }
}

function truncate(value: string, maxLength: number): string {
  return maxLength >= 0 && value.length > maxLength ? value.slice(0, maxLength) : value;
}

function headerValue(headers: HeaderLookup | undefined, c: Command): string | undefined {
  if (headers === undefined) return undefined;
  const value = headers.get(c.header);
  if (value !== undefined || c.altHeader === '') return value;
  return headers.get(c.altHeader);
}

/** `ip:port`, with IPv6 in brackets (Envoy's `Address::Instance::asString`). */
function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The address part of `ip:port` / `[ip6]:port`; other forms (a pipe path) as they are. */
function hostOf(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end < 0 ? address : address.slice(1, end);
  }
  const colon = address.indexOf(':');
  return colon >= 0 && colon === address.lastIndexOf(':') ? address.slice(0, colon) : address;
}

/** The port of `ip:port` / `[ip6]:port`, or undefined. */
function portOf(address: string): number | undefined {
  let portStart: number;
  if (address.startsWith('[')) {
    const end = address.indexOf(']:');
    if (end < 0) return undefined;
    portStart = end + 2;
  } else {
    const colon = address.indexOf(':');
    if (colon < 0 || colon !== address.lastIndexOf(':')) return undefined;
    portStart = colon + 1;
  }
  if (portStart >= address.length) return undefined;
  const port = Number(address.slice(portStart));
  return Number.isInteger(port) ? port : undefined;
}

function durationSince(start: number, end: number | undefined): number | undefined {
  if (end === undefined || end < start) return undefined;
  return Math.floor(end - start);
}

function isWhitespace(c: number): boolean {
  // ' ', \t, \n, \v, \f, \r: Envoy's StringUtil::hasEmptySpace.
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Envoy's `replaceAllEmptySpace`: every whitespace character becomes '_'. */
function underscoreWhitespace(value: string): string {
  let i = 0;
  while (i < value.length && !isWhitespace(value.charCodeAt(i))) i++;
  if (i === value.length) return value;
  let out = value.slice(0, i);
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    out += isWhitespace(c) ? '_' : value[i];
  }
  return out;
}

function longResponseFlags(flags: ReadonlySet<ResponseFlag>): string {
  if (flags.size === 0) return '-';
  let out = '';
  for (const flag of FLAG_ORDER) {
    if (flags.has(flag)) out += out === '' ? LONG_FLAG_NAMES[flag] : `,${LONG_FLAG_NAMES[flag]}`;
  }
  return out;
}

/** A header value that is a whole number of ms, as a number; anything else as it is. */
function numberOrString(value: string): number | string {
  if (value.length === 0 || value.length > 15) return value;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return value;
  }
  return Number(value);
}

/** The command's value for one log line. */
export function evaluate(c: Command, ctx: FormatterContext): CommandValue {
  const si = ctx.streamInfo;
  switch (c.op) {
    case START_TIME:
      return c.date.format(si.startTimeMs);
    case DOWNSTREAM_REMOTE_ADDRESS:
      return si.downstreamRemoteAddress === ''
        ? undefined
        : joinHostPort(si.downstreamRemoteAddress, si.downstreamRemotePort);
    case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT:
      return si.downstreamRemoteAddress === '' ? undefined : si.downstreamRemoteAddress;
    case DOWNSTREAM_REMOTE_PORT:
      return si.downstreamRemoteAddress === '' ? undefined : si.downstreamRemotePort;
    case DOWNSTREAM_LOCAL_ADDRESS:
      return si.downstreamLocalAddress === ''
        ? undefined
        : joinHostPort(si.downstreamLocalAddress, si.downstreamLocalPort);
    case DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT:
      return si.downstreamLocalAddress === '' ? undefined : si.downstreamLocalAddress;
    case DOWNSTREAM_LOCAL_PORT:
      return si.downstreamLocalAddress === '' ? undefined : si.downstreamLocalPort;
    case UPSTREAM_HOST:
      return si.upstream?.hostAddress || undefined;
    case UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT:
      return si.upstream?.hostAddress ? hostOf(si.upstream.hostAddress) : undefined;
    case UPSTREAM_REMOTE_PORT:
      return si.upstream?.hostAddress ? portOf(si.upstream.hostAddress) : undefined;
    case UPSTREAM_CLUSTER:
      return si.upstream?.clusterName || undefined;
    case UPSTREAM_LOCAL_ADDRESS:
      return si.upstream?.localAddress || undefined;
    case UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT:
      return si.upstream?.localAddress ? hostOf(si.upstream.localAddress) : undefined;
    case UPSTREAM_LOCAL_PORT:
      return si.upstream?.localAddress ? portOf(si.upstream.localAddress) : undefined;
    case UPSTREAM_TRANSPORT_FAILURE_REASON: {
      const reason = si.upstream?.transportFailureReason;
      return reason ? reason.replaceAll(' ', '_') : undefined;
    }
    case BYTES_RECEIVED:
      return si.bytesReceived;
    case BYTES_SENT:
      return si.bytesSent;
    case DURATION:
      return durationSince(si.startMonotonicMs, si.endMonotonicMs ?? c.monotonicNow?.());
    case REQUEST_DURATION:
      return durationSince(si.startMonotonicMs, si.lastDownstreamRxByteReceivedMs);
    case RESPONSE_DURATION:
      return durationSince(si.startMonotonicMs, si.firstUpstreamRxByteReceivedMs);
    case RESPONSE_FLAGS_SHORT:
      return si.responseFlagsShort();
    case RESPONSE_FLAGS_LONG:
      return longResponseFlags(si.responseFlags);
    case CONNECTION_TERMINATION_DETAILS:
      return si.connectionTerminationDetails || undefined;
    case CONSTANT:
      return c.constant;
    case PROTOCOL:
      return si.protocol || undefined;
    case RESPONSE_CODE:
      return si.responseCode ?? 0;
    case RESPONSE_CODE_DETAILS: {
      const details = si.responseCodeDetails;
      if (details === '') return undefined;
      return c.allowWhitespace ? details : underscoreWhitespace(details);
    }
    case ROUTE_NAME:
      return si.routeName || undefined;
    case REQ: {
      const value = headerValue(ctx.requestHeaders, c);
      return value === undefined ? undefined : truncate(value, c.maxLength);
    }
    case RESP: {
      const value = headerValue(ctx.responseHeaders, c);
      return value === undefined ? undefined : truncate(value, c.maxLength);
    }
    case TRAILER: {
      const value = headerValue(ctx.responseTrailers, c);
      return value === undefined ? undefined : truncate(value, c.maxLength);
    }
    case REQ_WITHOUT_QUERY: {
      const value = headerValue(ctx.requestHeaders, c);
      if (value === undefined) return undefined;
      const query = value.indexOf('?');
      return truncate(query < 0 ? value : value.slice(0, query), c.maxLength);
    }
    case UPSTREAM_SERVICE_TIME: {
      const value = ctx.responseHeaders?.get(UPSTREAM_SERVICE_TIME_HEADER);
      return value === undefined ? undefined : numberOrString(value);
    }
    default:
      throw new Error(`bug: unknown access log operator code ${c.op}`);
  }
}
