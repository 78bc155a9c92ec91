/**
 * The listener manager: static listeners from the bootstrap, turned into data every
 * worker binds itself.
 *
 * Main thread. Builds one `ListenerData` per listener (address, stat prefix, filter chains
 * with the internal configs their factories built), refuses listeners whose network
 * filters have no data path in this build, picks a concrete port for `port_value: 0`
 * (every worker must bind the same port), hands the set to the workers through the
 * `listeners` thread-local slot and, once the init manager is done, tells them to start.
 * `/drain_listeners` stops listeners by name (all, or the `traffic_direction: INBOUND`
 * ones). Stats: `listener_manager.listener_added`, `total_listeners_active`,
 * `workers_started`, `listener_create_success`, `listener_create_failure`,
 * `listener_stopped`. Envoy counterpart: `ListenerManagerImpl`.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { PathStep } from '../config/errors.ts';
import {
  at,
  boolField,
  messageField,
  messageList,
  numberField,
  stringField,
} from '../config/proto-fields.ts';
import type { ProtoMessage, ResolvedExtension } from '../config/types.ts';
import type { FilterChainData, FilterChainMatchData, ListenerData } from '../network/listener-config.ts';
import type { Counter, Gauge, Scope } from '../stats/types.ts';
import type { ListenerFailure } from '../thread-local/messages.ts';
import type { Slot } from '../thread-local/thread-local.ts';

const DEFAULT_BUFFER_LIMIT = 1024 * 1024;
const DEFAULT_BACKLOG = 128;

export interface ListenerBuildError {
  readonly step: PathStep | undefined;
  readonly message: string;
}

/** `127.0.0.1:10000` -> `127.0.0.1_10000`, `[::1]:10000` -> `[__1]_10000`: Envoy's listener stat names. */
export function listenerStatPrefix(host: string, port: number): string {
  const address = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return address.replaceAll(':', '_');
}

export class ListenerManager {
  private readonly slot: Slot;
  private readonly stats: {
    readonly added: Counter;
    readonly active: Gauge;
    readonly workersStarted: Gauge;
    readonly createSuccess: Counter;
    readonly createFailure: Counter;
    readonly stopped: Counter;
  };
  private listenersData: ListenerData[] = [];
  /** `traffic_direction` of each listener, by name (for `/drain_listeners?inboundonly`). */
  private readonly directions = new Map<string, string>();
  private readonly stoppedNames = new Set<string>();

  constructor(scope: Scope, slot: Slot) {
    this.slot = slot;
    const s = scope.scope('listener_manager.');
    this.stats = {
      added: s.counter('listener_added'),
      active: s.gauge('total_listeners_active', 'NeverImport'),
      workersStarted: s.gauge('workers_started', 'NeverImport'),
      createSuccess: s.counter('listener_create_success'),
      createFailure: s.counter('listener_create_failure'),
      stopped: s.counter('listener_stopped'),
    };
  }

  listeners(): readonly ListenerData[] {
    return this.listenersData;
  }

  /**
   * Builds the static listeners. `hasRuntime` says whether a network filter has a data path
   * in this build; a listener using one that has not is refused (it would accept and drop).
   */
  addStaticListeners(
    bootstrap: ProtoMessage,
    extensions: ReadonlyMap<ProtoMessage, ResolvedExtension>,
    hasRuntime: (extension: string) => boolean,
    refusals: (extension: string, config: unknown) => Array<{ field: string; reason: string }> = () => [],
  ): ListenerBuildError[] {
    const errors: ListenerBuildError[] = [];
    const listeners = messageList(messageField(bootstrap, 'static_resources'), 'listeners');
    listeners.forEach((l, i) => {
      const step = at(undefined, 'static_resources', 'listeners', i);
      const data = buildListener(l, step, extensions, hasRuntime, refusals, errors);
      if (data !== undefined) {
        this.listenersData.push(data);
        this.directions.set(data.name, stringField(l, 'traffic_direction', 'UNSPECIFIED'));
        this.stats.added.inc();
      }
    });
    return errors;
  }

  /** Replaces `port_value: 0` by a free port, the same for every worker. */
  async resolveEphemeralPorts(): Promise<void> {
    this.listenersData = await Promise.all(
      this.listenersData.map(async (l) => {
        if ('pipe' in l.address || l.address.port !== 0 || !l.bindToPort) return l;
        const port = await freePort(l.address.host);
        return {
          ...l,
          address: { host: l.address.host, port },
          statPrefix:
            l.statPrefix === listenerStatPrefix(l.address.host, 0)
              ? listenerStatPrefix(l.address.host, port)
              : l.statPrefix,
        };
      }),
    );
  }

  /** Gives every worker the listeners (through the slot); `done` runs once all have them. */
  distribute(done: () => void): void {
    this.slot.runOnAllThreads(this.listenersData, done);
  }

  /** A worker reported its listeners bound (or not). */
  onWorkerStarted(failures: readonly ListenerFailure[]): void {
    const failed = new Set(failures.map((f) => f.listener));
    for (const l of this.listenersData) {
      if (!l.bindToPort) continue;
      if (failed.has(l.name)) this.stats.createFailure.inc();
      else this.stats.createSuccess.inc();
    }
  }

  onAllWorkersStarted(): void {
    this.stats.workersStarted.set(1);
    this.stats.active.set(this.listenersData.length);
  }

  onDrainStarted(): void {
    this.stats.active.set(0);
  }

  /**
   * The listeners `/drain_listeners` stops that are not stopped yet: every one, or with
   * `inboundOnly` those whose `traffic_direction` is INBOUND (as Envoy's
   * `StopListenersType::InboundOnly`). Marks them stopped and counts `listener_stopped`.
   */
  stopListeners(inboundOnly: boolean): string[] {
    const names = this.listenersData
      .map((l) => l.name)
      .filter((n) => !this.stoppedNames.has(n) && (!inboundOnly || this.directions.get(n) === 'INBOUND'));
    for (const n of names) {
      this.stoppedNames.add(n);
      this.stats.stopped.inc();
    }
    return names;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function buildListener(
  l: ProtoMessage,
  step: PathStep | undefined,
  extensions: ReadonlyMap<ProtoMessage, ResolvedExtension>,
  hasRuntime: (extension: string) => boolean,
  refusals: (extension: string, config: unknown) => Array<{ field: string; reason: string }>,
  errors: ListenerBuildError[],
): ListenerData | undefined {
  const address = messageField(l, 'address');
  const socketAddress = messageField(address, 'socket_address');
  const pipe = messageField(address, 'pipe');
  let addr: ListenerData['address'];
  let statAddress: string;
  if (socketAddress !== undefined) {
    if (stringField(socketAddress, 'protocol', 'TCP') !== 'TCP') {
      errors.push({
        step: at(step, 'address', 'socket_address', 'protocol'),
        message: 'UDP listeners are not supported by Legate yet',
      });
      return undefined;
    }
    const host = stringField(socketAddress, 'address');
    const port = numberField(socketAddress, 'port_value', 0);
    addr = { host, port };
    statAddress = listenerStatPrefix(host, port);
  } else if (pipe !== undefined) {
    addr = { pipe: stringField(pipe, 'path') };
    statAddress = stringField(pipe, 'path');
  } else {
    errors.push({
      step: at(step, 'address'),
      message: 'Legate listens on socket_address or pipe addresses only',
    });
    return undefined;
  }
  const chain = (
    c: ProtoMessage,
    chainStep: PathStep | undefined,
    index: number,
  ): FilterChainData | undefined => {
    const filters = messageList(c, 'filters').map((f, fi) => {
      const resolved = extensions.get(f);
      if (resolved !== undefined && !hasRuntime(resolved.name)) {
        errors.push({
          step: at(chainStep, 'filters', fi),
          message: `not supported by Legate yet: ${resolved.name} validates, but this build has no data path for it`,
        });
      }
      if (resolved !== undefined) {
        for (const r of refusals(resolved.name, resolved.config)) {
          errors.push({
            step: at(chainStep, 'filters', fi, 'typed_config', r.field),
            message: `not supported by Legate yet: ${r.reason}`,
          });
        }
      }
      return { name: stringField(f, 'name'), extension: resolved?.name ?? '', config: resolved?.config };
    });
    if (c['transport_socket'] !== undefined) {
      errors.push({
        step: at(chainStep, 'transport_socket'),
        message: 'not supported by Legate yet: TLS on listeners',
      });
    }
    return {
      name: stringField(c, 'name') || `chain_${index}`,
      match: chainMatch(messageField(c, 'filter_chain_match')),
      filters,
    };
  };
  const before = errors.length;
  const filterChains = messageList(l, 'filter_chains')
    .map((c, ci) => chain(c, at(step, 'filter_chains', ci), ci))
    .filter((c) => c !== undefined);
  const defaultMessage = messageField(l, 'default_filter_chain');
  const defaultFilterChain = defaultMessage && chain(defaultMessage, at(step, 'default_filter_chain'), -1);
  if (messageList(l, 'listener_filters').length > 0) {
    errors.push({
      step: at(step, 'listener_filters'),
      message: 'not supported by Legate yet: listener filters',
    });
  }
  if (errors.length > before) return undefined;
  return {
    name: stringField(l, 'name') || randomUUID(),
    statPrefix: stringField(l, 'stat_prefix') || statAddress,
    address: addr,
    filterChains,
    defaultFilterChain,
    bufferLimitBytes: numberField(l, 'per_connection_buffer_limit_bytes', DEFAULT_BUFFER_LIMIT),
    bindToPort: boolField(l, 'bind_to_port', true),
    backlog: numberField(l, 'tcp_backlog_size', DEFAULT_BACKLOG),
    ignoreGlobalConnLimit: boolField(l, 'ignore_global_conn_limit'),
  };
}

function chainMatch(m: ProtoMessage | undefined): FilterChainMatchData {
  const port = m?.['destination_port'];
  return {
    destinationPort: typeof port === 'number' ? port : undefined,
    prefixRanges: messageList(m, 'prefix_ranges').map(
      (r) => [stringField(r, 'address_prefix'), numberField(r, 'prefix_len', 0)] as const,
    ),
    sourcePorts: Array.isArray(m?.['source_ports']) ? (m['source_ports'] as number[]) : [],
  };
}
