/**
 * StreamInfo: what is known about one downstream connection or request, for access logs
 * and stats: times, addresses, bytes, the upstream chosen, response flags and details.
 *
 * Worker thread that owns the connection. Filled by the network filters (tcp_proxy) and,
 * later, the HTTP connection manager and router; read by the access-log formatter.
 * Envoy counterpart: `StreamInfo::StreamInfoImpl` and `ResponseFlag` (envoy/stream_info).
 */
import { MutableFields } from '../common/mutable-fields.ts';

/** Envoy's response flags, long name -> the short letters access logs print. */
export const RESPONSE_FLAGS = {
  FailedLocalHealthCheck: 'LH',
  NoHealthyUpstream: 'UH',
  UpstreamRequestTimeout: 'UT',
  LocalReset: 'LR',
  UpstreamRemoteReset: 'UR',
  UpstreamConnectionFailure: 'UF',
  UpstreamConnectionTermination: 'UC',
  UpstreamOverflow: 'UO',
  NoRouteFound: 'NR',
  DelayInjected: 'DI',
  FaultInjected: 'FI',
  RateLimited: 'RL',
  UnauthorizedExternalService: 'UAEX',
  RateLimitServiceError: 'RLSE',
  DownstreamConnectionTermination: 'DC',
  UpstreamRetryLimitExceeded: 'URX',
  StreamIdleTimeout: 'SI',
  InvalidEnvoyRequestHeaders: 'IH',
  DownstreamProtocolError: 'DPE',
  UpstreamMaxStreamDurationReached: 'UMSDR',
  ResponseFromCacheFilter: 'RFCF',
  NoFilterConfigFound: 'NFCF',
  DurationTimeout: 'DT',
  UpstreamProtocolError: 'UPE',
  NoClusterFound: 'NC',
  OverloadManager: 'OM',
  DnsResolutionFailed: 'DF',
  DropOverLoad: 'DO',
  DownstreamRemoteReset: 'DR',
  UnconditionalDropOverload: 'UDO',
} as const;

export type ResponseFlag = keyof typeof RESPONSE_FLAGS;

export interface UpstreamInfo {
  /** `address:port` of the upstream host. */
  hostAddress: string;
  /** The cluster's name. */
  clusterName: string;
  localAddress: string;
  transportFailureReason: string;
}

const NO_FLAGS: ReadonlySet<ResponseFlag> = new Set();

/** Fields only a failure changes (see `src/common/mutable-fields.ts`). */
const FAILURE_FIELDS = new MutableFields({ flags: NO_FLAGS, connectionTerminationDetails: '-' });

export class StreamInfo {
  /** Wall-clock start, ms since the epoch (for %START_TIME%). */
  readonly startTimeMs: number;
  /** Monotonic start, ms (for durations). */
  readonly startMonotonicMs: number;
  /** Monotonic end, set when the stream or connection completes. */
  endMonotonicMs: number | undefined;
  /** Monotonic time the last request byte came from downstream (HTTP; %REQUEST_DURATION%). */
  lastDownstreamRxByteReceivedMs: number | undefined;
  /** Monotonic time the first response byte came from upstream (HTTP; %RESPONSE_DURATION%). */
  firstUpstreamRxByteReceivedMs: number | undefined;
  /** Monotonic time the response headers went to the downstream codec (HTTP). */
  firstDownstreamTxByteSentMs: number | undefined;
  /** Monotonic time the end of the response went to the downstream codec (HTTP). */
  lastDownstreamTxByteSentMs: number | undefined;
  downstreamRemoteAddress = '';
  downstreamRemotePort = 0;
  downstreamLocalAddress = '';
  downstreamLocalPort = 0;
  bytesReceived = 0;
  bytesSent = 0;
  upstream: UpstreamInfo | undefined;
  /** Set flags, in the order they were set; created with the first (most requests set none). */
  private flags: Set<ResponseFlag> | null = null;
  responseCode: number | undefined;
  responseCodeDetails = '';
  connectionTerminationDetails = '';
  /** The route's name (HTTP), the filter chain's name... */
  routeName = '';
  protocol = '';

  constructor(startTimeMs: number, startMonotonicMs: number) {
    this.startTimeMs = startTimeMs;
    this.startMonotonicMs = startMonotonicMs;
    FAILURE_FIELDS.mark(this);
  }

  /** The flags set, in the order they were set. */
  get responseFlags(): ReadonlySet<ResponseFlag> {
    return this.flags ?? NO_FLAGS;
  }

  setResponseFlag(flag: ResponseFlag): void {
    this.flags ??= new Set();
    this.flags.add(flag);
  }

  hasResponseFlag(flag: ResponseFlag): boolean {
    return this.flags?.has(flag) === true;
  }

  /** Total duration in ms, once ended. */
  durationMs(): number | undefined {
    return this.endMonotonicMs === undefined ? undefined : this.endMonotonicMs - this.startMonotonicMs;
  }

  /** `UF,UO`-style short flags in Envoy's order, or '-' when none is set. */
  responseFlagsShort(): string {
    const flags = this.flags;
    if (flags === null || flags.size === 0) return '-';
    return (Object.keys(RESPONSE_FLAGS) as ResponseFlag[])
      .filter((f) => flags.has(f))
      .map((f) => RESPONSE_FLAGS[f])
      .join(',');
  }
}
