/**
 * The data form of a listener, as the main thread's listener manager builds it and every
 * worker's connection handler receives it (through the `listeners` thread-local slot).
 *
 * Plain, structured-cloneable data: each worker rebuilds its own sockets and filter
 * factories from it. Envoy counterpart: the `ListenerImpl` a worker gets in
 * `ConnectionHandlerImpl::addListener`.
 */

export interface NetworkFilterData {
  /** The `name` the config gave the filter. */
  readonly name: string;
  /** Envoy extension name of its factory (`envoy.filters.network.echo`). */
  readonly extension: string;
  /** The internal config its config factory built on main. */
  readonly config: unknown;
}

export interface FilterChainMatchData {
  readonly destinationPort: number | undefined;
  /** CIDR ranges `[address, prefixLength]` the local address must fall in (empty: any). */
  readonly prefixRanges: ReadonlyArray<readonly [string, number]>;
  readonly sourcePorts: readonly number[];
}

export interface FilterChainData {
  readonly name: string;
  readonly match: FilterChainMatchData;
  readonly filters: readonly NetworkFilterData[];
}

export interface ListenerData {
  /** The listener's name (Envoy generates one when the config gives none). */
  readonly name: string;
  /** Stats prefix without the `listener.` part: `stat_prefix`, or the address as `127.0.0.1_10000`. */
  readonly statPrefix: string;
  readonly address: { readonly host: string; readonly port: number } | { readonly pipe: string };
  readonly filterChains: readonly FilterChainData[];
  readonly defaultFilterChain: FilterChainData | undefined;
  /** `per_connection_buffer_limit_bytes` (Envoy's default 1 MiB). */
  readonly bufferLimitBytes: number;
  /** `bind_to_port` (default true). */
  readonly bindToPort: boolean;
  readonly backlog: number;
  /** `ignore_global_conn_limit`: accept past `overload.global_downstream_max_connections` (still counted). */
  readonly ignoreGlobalConnLimit?: boolean;
}
