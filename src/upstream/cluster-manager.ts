/**
 * The cluster manager: every cluster's settings and hosts on the main thread, pushed to
 * the workers as data.
 *
 * Main thread. For each cluster it builds the worker settings (`cluster-data.ts`) and
 * starts its discovery (static hosts, DNS answers); each cluster is an init-manager target
 * that is ready once its first host set is known, so workers start only after, as in
 * Envoy. Whenever a cluster's hosts change, the whole cluster set goes to every worker
 * through the `clusters` thread-local slot. Host stat cells are assigned here (stable per
 * `address:port`) so `/clusters` can print per-host counters the workers keep. Stats:
 * `cluster_manager.*`, `cluster.<name>.membership_*`, `update_*`, circuit breaker gauges.
 * Envoy counterpart: `ClusterManagerImpl` (main-thread side).
 */
import type { PathStep } from '../config/errors.ts';
import { at, messageField, messageList } from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';
import type { InitManager } from '../server/init-manager.ts';
import type { Counter, Gauge, Scope } from '../stats/types.ts';
import type { Slot } from '../thread-local/thread-local.ts';
import { clusterData } from './cluster-data.ts';
import { ResourceManager } from './resource-manager.ts';
import { type ClusterData, type ClusterDiscovery, HOST_STATS, type HostData } from './types.ts';

export interface ClusterBuildError {
  readonly step: PathStep | undefined;
  readonly message: string;
}

/** Makes a cluster's discovery, or says why this build cannot. */
export type DiscoveryFactory = (
  cluster: ProtoMessage,
  step: PathStep | undefined,
) => ClusterDiscovery | string;

interface ClusterStats {
  readonly membershipTotal: Gauge;
  readonly membershipHealthy: Gauge;
  readonly membershipDegraded: Gauge;
  readonly maxHostWeight: Gauge;
  readonly updateSuccess: Counter;
  readonly updateNoRebuild: Counter;
  /** circuit_breakers.<priority>.<x>_open and remaining_<x>. */
  readonly breakers: ReadonlyArray<{
    readonly manager: ResourceManager;
    readonly gauges: ReadonlyArray<readonly [Gauge, () => number]>;
  }>;
}

interface ManagedCluster {
  readonly settings: Omit<ClusterData, 'hosts' | 'hostStats'>;
  hostStats: SharedArrayBuffer;
  readonly discovery: ClusterDiscovery;
  readonly slots: Map<string, number>;
  hosts: HostData[];
  readonly stats: ClusterStats;
}

const HOST_CELLS = HOST_STATS.length;

export class ClusterManager {
  private readonly scope: Scope;
  private readonly slot: Slot;
  private readonly clusters = new Map<string, ManagedCluster>();
  private readonly managerStats: { readonly added: Counter; readonly active: Gauge; readonly warming: Gauge };
  private initialized = false;

  constructor(scope: Scope, slot: Slot) {
    this.scope = scope;
    this.slot = slot;
    const s = scope.scope('cluster_manager.');
    this.managerStats = {
      added: s.counter('cluster_added'),
      active: s.gauge('active_clusters', 'NeverImport'),
      warming: s.gauge('warming_clusters', 'NeverImport'),
    };
  }

  /** Builds the static clusters (their discovery starts with `initialize`). */
  addStaticClusters(bootstrap: ProtoMessage, createDiscovery: DiscoveryFactory): ClusterBuildError[] {
    const errors: ClusterBuildError[] = [];
    messageList(messageField(bootstrap, 'static_resources'), 'clusters').forEach((c, i) => {
      const step = at(undefined, 'static_resources', 'clusters', i);
      const refusal = notServable(c);
      if (refusal !== undefined) {
        errors.push({ step: at(step, refusal.field), message: refusal.message });
        return;
      }
      const discovery = createDiscovery(c, step);
      if (typeof discovery === 'string') {
        errors.push({ step, message: discovery });
        return;
      }
      const data = clusterData(c);
      const { hostStats, ...settings } = data;
      this.clusters.set(data.name, {
        settings,
        hostStats,
        discovery,
        slots: new Map(),
        hosts: [],
        stats: this.clusterStats(data),
      });
      this.managerStats.added.inc();
    });
    this.managerStats.warming.set(this.clusters.size);
    return errors;
  }

  /**
   * Adds an init target per cluster, ready once its first host set is known. When the last
   * one is, the cluster set goes to the workers (before any listener does: slot updates are
   * applied in order).
   */
  initialize(initManager: InitManager): void {
    let pending = this.clusters.size;
    const onClusterReady = (): void => {
      if (--pending > 0) return;
      this.initialized = true;
      this.publish();
    };
    if (pending === 0) {
      this.initialized = true;
      this.publish();
    }
    for (const [name, cluster] of this.clusters) {
      initManager.add(`Cluster ${name}`, (target) => {
        cluster.discovery.setHostsChangedCallback((hosts) => this.onHosts(cluster, hosts));
        cluster.discovery.initialize(() => {
          this.onHosts(cluster, cluster.discovery.hosts());
          this.managerStats.warming.dec();
          this.managerStats.active.inc();
          onClusterReady();
          target.ready();
        });
      });
    }
  }

  names(): string[] {
    return [...this.clusters.keys()];
  }

  has(name: string): boolean {
    return this.clusters.has(name);
  }

  /** What `/clusters` prints: settings, hosts and their counters (summed over workers). */
  snapshot(): Array<{
    data: Omit<ClusterData, 'hostStats'>;
    hostCounters: (h: HostData) => Record<string, number>;
  }> {
    return [...this.clusters.values()].map((c) => {
      const cells = new Uint32Array(c.hostStats);
      return {
        data: { ...c.settings, hosts: c.hosts },
        hostCounters: (h: HostData) => {
          const out: Record<string, number> = {};
          const base = (h.statsSlot ?? -1) * HOST_CELLS;
          HOST_STATS.forEach((name, i) => {
            out[name] = base < 0 ? 0 : Atomics.load(cells, base + i);
          });
          return out;
        },
      };
    });
  }

  /** Refreshes the gauges read from shared cells (circuit breakers); called before stats are read. */
  updateStats(): void {
    for (const c of this.clusters.values()) {
      for (const b of c.stats.breakers) for (const [gauge, read] of b.gauges) gauge.set(read());
    }
  }

  destroy(): void {
    for (const c of this.clusters.values()) c.discovery.destroy();
  }

  private onHosts(cluster: ManagedCluster, hosts: readonly HostData[]): void {
    // Stable cells per address:port, so counters follow a host across updates.
    let next = cluster.slots.size;
    const withSlots = hosts.map((h) => {
      const key = `${h.address}:${h.port}`;
      let slot = cluster.slots.get(key);
      if (slot === undefined) {
        slot = next++;
        cluster.slots.set(key, slot);
      }
      return { ...h, statsSlot: slot };
    });
    const needed = next * HOST_CELLS * 4;
    if (needed > cluster.hostStats.byteLength) {
      const grown = new SharedArrayBuffer(Math.max(needed, cluster.hostStats.byteLength * 2));
      new Uint32Array(grown).set(new Uint32Array(cluster.hostStats));
      cluster.hostStats = grown;
    }
    const changed = JSON.stringify(withSlots) !== JSON.stringify(cluster.hosts);
    cluster.hosts = withSlots;
    const s = cluster.stats;
    s.membershipTotal.set(withSlots.length);
    s.membershipHealthy.set(
      withSlots.filter((h) => h.healthStatus === 'HEALTHY' || h.healthStatus === 'UNKNOWN').length,
    );
    s.membershipDegraded.set(withSlots.filter((h) => h.healthStatus === 'DEGRADED').length);
    s.maxHostWeight.set(Math.max(0, ...withSlots.map((h) => h.weight)));
    if (!changed) {
      s.updateNoRebuild.inc();
      return;
    }
    s.updateSuccess.inc();
    if (this.initialized) this.publish();
  }

  private publish(): void {
    const data: ClusterData[] = [...this.clusters.values()].map((c) => ({
      ...c.settings,
      hostStats: c.hostStats,
      hosts: c.hosts,
    }));
    this.slot.runOnAllThreads(data);
  }

  private clusterStats(data: Omit<ClusterData, 'hosts'>): ClusterStats {
    const s = this.scope.scope(`cluster.${data.statName}.`);
    const breakers = (['default', 'high'] as const).map((priority) => {
      const manager = new ResourceManager(data.resources, priority, data.circuitBreakers[priority]);
      const b = s.scope(`circuit_breakers.${priority}.`);
      const gauges: Array<readonly [Gauge, () => number]> = [
        [b.gauge('cx_open', 'NeverImport'), () => (manager.connections.canCreate() ? 0 : 1)],
        [b.gauge('cx_pool_open', 'NeverImport'), () => (manager.connections.canCreate() ? 0 : 1)],
        [b.gauge('rq_pending_open', 'NeverImport'), () => (manager.pendingRequests.canCreate() ? 0 : 1)],
        [b.gauge('rq_open', 'NeverImport'), () => (manager.requests.canCreate() ? 0 : 1)],
        [b.gauge('rq_retry_open', 'NeverImport'), () => (manager.retries.canCreate() ? 0 : 1)],
      ];
      if (manager.trackRemaining) {
        gauges.push(
          [b.gauge('remaining_cx', 'NeverImport'), () => manager.connections.remaining()],
          [b.gauge('remaining_pending', 'NeverImport'), () => manager.pendingRequests.remaining()],
          [b.gauge('remaining_rq', 'NeverImport'), () => manager.requests.remaining()],
          [b.gauge('remaining_retries', 'NeverImport'), () => manager.retries.remaining()],
        );
      }
      return { manager, gauges };
    });
    return {
      membershipTotal: s.gauge('membership_total', 'NeverImport'),
      membershipHealthy: s.gauge('membership_healthy', 'NeverImport'),
      membershipDegraded: s.gauge('membership_degraded', 'NeverImport'),
      maxHostWeight: s.gauge('max_host_weight', 'NeverImport'),
      updateSuccess: s.counter('update_success'),
      updateNoRebuild: s.counter('update_no_rebuild'),
      breakers,
    };
  }
}

/**
 * Cluster features that validate but have no data path in this build yet: refused at start-up
 * rather than silently ignored (a TLS upstream spoken to in plain text would be worse than
 * no start).
 */
function notServable(cluster: ProtoMessage): { field: string; message: string } | undefined {
  const socket = messageField(cluster, 'transport_socket');
  if (socket !== undefined && socket['name'] !== 'envoy.transport_sockets.raw_buffer') {
    return {
      field: 'transport_socket',
      message: 'not supported by Legate yet: TLS to upstreams (transport_socket)',
    };
  }
  const protocolOptions = messageField(cluster, 'typed_extension_protocol_options');
  const httpOptions = messageField(protocolOptions, 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
  const explicit = messageField(httpOptions, 'explicit_http_config');
  if (
    cluster['http2_protocol_options'] !== undefined ||
    messageField(explicit, 'http2_protocol_options') !== undefined
  ) {
    return {
      field: 'typed_extension_protocol_options',
      message: 'not supported by Legate yet: HTTP/2 to upstreams',
    };
  }
  for (const field of ['health_checks', 'outlier_detection', 'lb_subset_config'] as const) {
    const v = cluster[field];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) {
      return { field, message: `not supported by Legate yet: ${field}` };
    }
  }
  return undefined;
}
