/**
 * One worker's listeners and connections.
 *
 * Worker thread. For every listener in the `listeners` slot it binds its own socket with
 * SO_REUSEPORT (the kernel spreads accepts over the workers), picks a filter chain for
 * each accepted connection, builds the chain's network filters from their factories, and
 * keeps the connection until it closes: a connection never leaves this thread. Listener
 * stats carry Envoy's names (`listener.<address>.downstream_cx_total`, per worker
 * `listener.<address>.worker_<n>.downstream_cx_active`, ...). The runtime key
 * `overload.global_downstream_max_connections` caps the sockets open across every worker and
 * listener: past it a new connection is closed at once and counted in
 * `listener.<address>.downstream_global_cx_overflow` (a listener with
 * `ignore_global_conn_limit` still accepts, and its sockets still count). Envoy counterpart:
 * `ConnectionHandlerImpl`, `ActiveTcpListener`, `FilterChainManagerImpl` (matching),
 * `TcpListenerImpl::rejectCxOverGlobalLimit` with `AcceptedSocketImpl`'s global count.
 */
import net from 'node:net';
import { getLogger } from '../common/logger.ts';
import type { Dispatcher } from '../event/types.ts';
import type { RuntimeSource } from '../runtime/types.ts';
import type { Counter, Gauge, Histogram, Scope } from '../stats/types.ts';
import { ConnectionImpl } from './connection.ts';
import type { FilterChainData, ListenerData, NetworkFilterData } from './listener-config.ts';
import { adoptAcceptedSocket, SocketReader } from './socket-reader.ts';
import type { FilterFactoryCb } from './types.ts';

/** Builds a filter's per-connection factory from its data (the worker knows the runtimes). */
export type FilterBuilder = (filter: NetworkFilterData) => FilterFactoryCb;

const log = getLogger('conn_handler');

/** The runtime key capping downstream connections across every worker and listener. */
export const GLOBAL_MAX_CX_RUNTIME_KEY = 'overload.global_downstream_max_connections';

/** What the global connection limit reads: the runtime, and the process-wide socket count. */
export interface GlobalConnectionLimit {
  readonly runtime: RuntimeSource;
  /** Cell 0: sockets accepted and not yet closed, across every worker (changed with Atomics). */
  readonly acceptedSockets: Int32Array;
}

/** The shared cell of `GlobalConnectionLimit.acceptedSockets`: main allocates one and gives it to every worker. */
export function createAcceptedSocketCount(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
}

interface ListenerStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxDestroy: Counter;
  readonly cxLengthMs: Histogram;
  readonly noFilterChainMatch: Counter;
  readonly globalCxOverflow: Counter;
  readonly workerCxTotal: Counter;
  readonly workerCxActive: Gauge;
}

interface BuiltChain {
  readonly data: FilterChainData;
  readonly factories: readonly FilterFactoryCb[];
}

interface Tracked {
  readonly connection: ConnectionImpl;
  readonly startMs: number;
}

class ActiveListener {
  readonly data: ListenerData;
  readonly server: net.Server;
  readonly connections = new Set<Tracked>();
  private readonly stats: ListenerStats;
  private readonly chains: readonly BuiltChain[];
  private readonly defaultChain: BuiltChain | undefined;
  private readonly handler: ConnectionHandler;

  constructor(
    handler: ConnectionHandler,
    data: ListenerData,
    chains: BuiltChain[],
    defaultChain: BuiltChain | undefined,
  ) {
    this.handler = handler;
    this.data = data;
    this.chains = chains;
    this.defaultChain = defaultChain;
    const scope = handler.scope.scope(`listener.${data.statPrefix}.`);
    const worker = scope.scope(`worker_${handler.workerIndex}.`);
    this.stats = {
      cxTotal: scope.counter('downstream_cx_total'),
      cxActive: scope.gauge('downstream_cx_active'),
      cxDestroy: scope.counter('downstream_cx_destroy'),
      cxLengthMs: scope.histogram('downstream_cx_length_ms', 'Milliseconds'),
      noFilterChainMatch: scope.counter('no_filter_chain_match'),
      globalCxOverflow: scope.counter('downstream_global_cx_overflow'),
      workerCxTotal: worker.counter('downstream_cx_total'),
      workerCxActive: worker.gauge('downstream_cx_active'),
    };
    this.server = net.createServer(
      // Paused: the connection adopts the handle into a socket that reads through a SocketReader.
      { allowHalfOpen: true, highWaterMark: data.bufferLimitBytes, noDelay: true, pauseOnConnect: true },
      this.onAccept,
    );
  }

  private readonly onAccept = (socket: net.Socket): void => {
    this.handler.dispatcher.run(() => this.accept(socket));
  };

  private accept(socket: net.Socket): void {
    if (!this.handler.countAcceptedSocket(this.data.ignoreGlobalConnLimit === true)) {
      log.trace(`closing connection from ${socket.remoteAddress}: global connection limit reached`);
      this.stats.globalCxOverflow.inc();
      socket.destroy();
      return;
    }
    const chain = this.findFilterChain(socket);
    if (chain === undefined) {
      this.stats.noFilterChainMatch.inc();
      socket.destroy();
      this.handler.releaseAcceptedSocket();
      return;
    }
    const reader = new SocketReader();
    const connection = new ConnectionImpl(
      this.handler.nextConnectionId(),
      adoptAcceptedSocket(socket, reader, this.data.bufferLimitBytes),
      this.handler.dispatcher,
      reader,
    );
    const tracked: Tracked = { connection, startMs: this.handler.dispatcher.approximateMonotonicTime() };
    this.connections.add(tracked);
    this.stats.cxTotal.inc();
    this.stats.cxActive.inc();
    this.stats.workerCxTotal.inc();
    this.stats.workerCxActive.inc();
    connection.addConnectionCallbacks({
      onEvent: (event) => {
        if (event === 'Connected') return;
        this.connections.delete(tracked);
        this.stats.cxActive.dec();
        this.stats.workerCxActive.dec();
        this.stats.cxDestroy.inc();
        this.stats.cxLengthMs.recordValue(
          this.handler.dispatcher.updateApproximateMonotonicTime() - tracked.startMs,
        );
        this.handler.onConnectionClosed();
      },
    });
    for (const factory of chain.factories) factory(connection);
    if (!connection.initializeReadFilters()) connection.close('NoFlush'); // an empty chain: nothing would serve it
  }

  /**
   * Envoy's filter chain match order: destination port (exact beats unset), then the
   * longest destination IP prefix, then source port; nothing matching -> the default chain.
   */
  private findFilterChain(socket: net.Socket): BuiltChain | undefined {
    const localPort = socket.localPort ?? 0;
    const localAddress = normalizeAddress(socket.localAddress ?? '');
    const remotePort = socket.remotePort ?? 0;
    let candidates = this.chains.filter((c) => c.data.match.destinationPort === localPort);
    if (candidates.length === 0)
      candidates = this.chains.filter((c) => c.data.match.destinationPort === undefined);
    let bestLength = -1;
    let byIp: BuiltChain[] = [];
    for (const c of candidates) {
      const ranges = c.data.match.prefixRanges;
      const length =
        ranges.length === 0
          ? 0
          : Math.max(-1, ...ranges.map(([ip, len]) => (inCidr(localAddress, ip, len) ? len : -1)));
      if (length < 0) continue;
      if (length > bestLength) {
        bestLength = length;
        byIp = [c];
      } else if (length === bestLength) {
        byIp.push(c);
      }
    }
    const bySource = byIp.filter((c) => c.data.match.sourcePorts.includes(remotePort));
    const chosen = bySource[0] ?? byIp.find((c) => c.data.match.sourcePorts.length === 0);
    return chosen ?? this.defaultChain;
  }
}

function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function inCidr(address: string, network: string, prefixLength: number): boolean {
  const family = net.isIPv4(network) ? 'ipv4' : 'ipv6';
  if ((family === 'ipv4') !== net.isIPv4(address)) return false;
  const list = new net.BlockList();
  list.addSubnet(network, prefixLength, family);
  return list.check(address, family);
}

export class ConnectionHandler {
  readonly dispatcher: Dispatcher;
  readonly scope: Scope;
  readonly workerIndex: number;
  private readonly buildFilter: FilterBuilder;
  private readonly globalLimit: GlobalConnectionLimit | undefined;
  private listeners: ActiveListener[] = [];
  private connectionIds = 0;
  private draining = false;
  private onDrained: (() => void) | undefined;

  /** @param globalLimit the runtime and shared count for the global connection limit (none: no limit). */
  constructor(
    dispatcher: Dispatcher,
    scope: Scope,
    workerIndex: number,
    buildFilter: FilterBuilder,
    globalLimit?: GlobalConnectionLimit,
  ) {
    this.dispatcher = dispatcher;
    this.scope = scope;
    this.workerIndex = workerIndex;
    this.buildFilter = buildFilter;
    this.globalLimit = globalLimit;
  }

  /**
   * Counts a newly accepted socket in the process-wide total, unless that would pass
   * `overload.global_downstream_max_connections` (then false, and nothing is counted).
   */
  countAcceptedSocket(ignoreLimit: boolean): boolean {
    const g = this.globalLimit;
    if (g === undefined) return true;
    const before = Atomics.add(g.acceptedSockets, 0, 1);
    if (ignoreLimit) return true;
    const limit = g.runtime.snapshot().getInteger(GLOBAL_MAX_CX_RUNTIME_KEY, Number.POSITIVE_INFINITY);
    if (before < limit) return true;
    Atomics.sub(g.acceptedSockets, 0, 1);
    return false;
  }

  /** A socket counted by `countAcceptedSocket` has closed. */
  releaseAcceptedSocket(): void {
    if (this.globalLimit !== undefined) Atomics.sub(this.globalLimit.acceptedSockets, 0, 1);
  }

  nextConnectionId(): number {
    return ++this.connectionIds;
  }

  /** Replaces the listener set (the `listeners` slot). Binding waits for `startListeners`. */
  setListeners(data: readonly ListenerData[]): void {
    const build = (chain: FilterChainData): BuiltChain => ({
      data: chain,
      factories: chain.filters.map((f) => this.buildFilter(f)),
    });
    this.listeners = data.map(
      (l) =>
        new ActiveListener(
          this,
          l,
          l.filterChains.map(build),
          l.defaultFilterChain && build(l.defaultFilterChain),
        ),
    );
  }

  /** Binds every listener (SO_REUSEPORT); `done` gets the failures, one per listener that could not bind. */
  startListeners(done: (failures: Array<{ listener: string; error: string }>) => void): void {
    const failures: Array<{ listener: string; error: string }> = [];
    let pending = 0;
    const finish = (): void => {
      if (--pending === 0) done(failures);
    };
    pending++;
    for (const l of this.listeners) {
      if (!l.data.bindToPort) continue;
      pending++;
      const onError = (err: Error): void => {
        failures.push({ listener: l.data.name, error: err.message });
        this.dispatcher.run(finish);
      };
      l.server.once('error', onError);
      const address = l.data.address;
      const options =
        'pipe' in address
          ? { path: address.pipe }
          : { host: address.host, port: address.port, reusePort: true, backlog: l.data.backlog };
      l.server.listen(options, () => {
        l.server.off('error', onError);
        l.server.on('error', (err: Error) => log.error(`listener '${l.data.name}': ${err.message}`));
        this.dispatcher.run(finish);
      });
    }
    finish();
  }

  /** True once the listeners stopped accepting for a drain (HTTP answers with `connection: close`). */
  isDraining(): boolean {
    return this.draining;
  }

  numConnections(): number {
    let n = 0;
    for (const l of this.listeners) n += l.connections.size;
    return n;
  }

  /** Stops accepting on every listener; open connections carry on. `onDrained` runs once none is left. */
  startDrain(onDrained: () => void): void {
    this.draining = true;
    this.onDrained = onDrained;
    for (const l of this.listeners) if (l.server.listening) l.server.close();
    this.checkDrained();
  }

  onConnectionClosed(): void {
    this.releaseAcceptedSocket();
    if (this.draining) this.checkDrained();
  }

  /** Stops accepting on the named listeners (admin `/drain_listeners`); their connections carry on. */
  stopListeners(names: ReadonlySet<string>): void {
    for (const l of this.listeners) if (names.has(l.data.name) && l.server.listening) l.server.close();
  }

  /** Closes every listener and connection at once. */
  shutdown(): void {
    for (const l of this.listeners) {
      if (l.server.listening) l.server.close();
      for (const t of [...l.connections]) t.connection.close('NoFlush');
    }
  }

  private checkDrained(): void {
    if (this.numConnections() > 0 || this.onDrained === undefined) return;
    const cb = this.onDrained;
    this.onDrained = undefined;
    cb();
  }
}
