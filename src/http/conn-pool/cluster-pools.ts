/**
 * A worker's HTTP connection pools: one pool per (cluster, host, priority), made on first use
 * and forgotten once empty; the pools of a host that leaves its cluster are drained.
 *
 * Worker thread. One `WorkerConnPools` per thread-local cluster manager (so every listener and
 * connection manager on the worker shares the pools, as in Envoy); it keeps, per cluster, the
 * cluster's HTTP settings (resolved from its `ClusterData`) and the pools by host key. Envoy
 * counterpart: `ThreadLocalClusterManagerImpl::ClusterEntry::httpConnPool` and its
 * `ConnPoolMap` (source/common/upstream/cluster_manager_impl.cc, conn_pool_map.h).
 */
import type { Dispatcher } from '../../event/types.ts';
import type {
  ThreadLocalCluster,
  ThreadLocalClusterManager,
} from '../../upstream/thread-local-cluster-manager.ts';
import type { ClusterData, Host } from '../../upstream/types.ts';
import { http1Settings, MAX_RESPONSE_HEADERS_KB } from '../http1/settings.ts';
import { Http1ConnPool } from './http1-pool.ts';
import type { ClusterHttpSettings } from './types.ts';

/** Envoy's upstream defaults: a one-hour idle timeout, no request or duration limit. */
export const DEFAULT_CLUSTER_HTTP_SETTINGS: ClusterHttpSettings = Object.freeze({
  idleTimeoutMs: 60 * 60 * 1000,
  maxRequestsPerConnection: 0,
  maxConnectionDurationMs: 0,
  http1: http1Settings({ maxHeadersKb: MAX_RESPONSE_HEADERS_KB }),
});

/**
 * The HTTP settings of a cluster: `ClusterData.http` when the cluster manager supplies it
 * (resolved from `typed_extension_protocol_options`), Envoy's defaults otherwise.
 */
export function clusterHttpSettings(data: ClusterData): ClusterHttpSettings {
  return data.http === undefined
    ? DEFAULT_CLUSTER_HTTP_SETTINGS
    : { ...DEFAULT_CLUSTER_HTTP_SETTINGS, ...data.http };
}

type Priority = 'default' | 'high';

/** The pools of one cluster on this worker. */
export class ClusterConnPools {
  readonly cluster: ThreadLocalCluster;
  private readonly dispatcher: Dispatcher;
  private readonly nextConnectionId: () => number;
  private readonly pools = [new Map<string, Http1ConnPool>(), new Map<string, Http1ConnPool>()];
  private settingsFor: ClusterData | undefined;
  private settings: ClusterHttpSettings = DEFAULT_CLUSTER_HTTP_SETTINGS;
  private readonly forget: (pool: Http1ConnPool) => void;

  constructor(cluster: ThreadLocalCluster, dispatcher: Dispatcher, nextConnectionId: () => number) {
    this.cluster = cluster;
    this.dispatcher = dispatcher;
    this.nextConnectionId = nextConnectionId;
    this.forget = (pool) => {
      for (const map of this.pools) if (map.get(pool.host.key) === pool) map.delete(pool.host.key);
    };
    // Envoy drains the pools of hosts removed from the cluster.
    cluster.prioritySet.addUpdateCallback((_priority, _added, removed) => {
      for (const host of removed) {
        if (cluster.prioritySet.host(host.key) !== undefined) continue; // moved to another priority
        for (const map of this.pools) {
          const pool = map.get(host.key);
          if (pool === undefined) continue;
          map.delete(host.key);
          pool.drainConnections();
        }
      }
    });
  }

  /** The pool for `host` at `priority`, made on first use. */
  pool(host: Host, priority: Priority): Http1ConnPool {
    const map = this.pools[priority === 'high' ? 1 : 0]!;
    const data = this.cluster.data;
    if (data !== this.settingsFor) {
      this.settingsFor = data;
      this.settings = clusterHttpSettings(data);
    }
    let pool = map.get(host.key);
    if (pool === undefined || pool.host !== host) {
      pool = new Http1ConnPool({
        host,
        cluster: this.cluster,
        dispatcher: this.dispatcher,
        settings: this.settings,
        priority,
        nextConnectionId: this.nextConnectionId,
        onEmpty: this.forget,
      });
      map.set(host.key, pool);
    } else {
      pool.settings = this.settings;
    }
    return pool;
  }

  /** Every pool (tests, admin). */
  allPools(): Http1ConnPool[] {
    return [...this.pools[0]!.values(), ...this.pools[1]!.values()];
  }

  drainAll(): void {
    for (const pool of this.allPools()) pool.drainConnections();
  }

  closeAll(): void {
    for (const pool of this.allPools()) pool.closeConnections();
  }
}

/** Every cluster's pools on one worker. */
export class WorkerConnPools {
  private readonly clusterManager: ThreadLocalClusterManager;
  private readonly dispatcher: Dispatcher;
  private readonly byCluster = new Map<ThreadLocalCluster, ClusterConnPools>();
  private readonly nextConnectionId: () => number;

  constructor(clusterManager: ThreadLocalClusterManager, dispatcher: Dispatcher) {
    this.clusterManager = clusterManager;
    this.dispatcher = dispatcher;
    this.nextConnectionId = () => clusterManager.nextConnectionId();
  }

  forCluster(cluster: ThreadLocalCluster): ClusterConnPools {
    let pools = this.byCluster.get(cluster);
    if (pools === undefined) {
      this.forgetRemovedClusters();
      pools = new ClusterConnPools(cluster, this.dispatcher, this.nextConnectionId);
      this.byCluster.set(cluster, pools);
    }
    return pools;
  }

  /** The pool for `host` of `cluster` at `priority`. */
  pool(cluster: ThreadLocalCluster, host: Host, priority: Priority): Http1ConnPool {
    return this.forCluster(cluster).pool(host, priority);
  }

  /** Closes every connection (worker shutdown, tests). */
  closeAll(): void {
    for (const pools of this.byCluster.values()) pools.closeAll();
  }

  /** Clusters no longer in the cluster manager: their pools drain and are forgotten. */
  private forgetRemovedClusters(): void {
    for (const [cluster, pools] of this.byCluster) {
      if (this.clusterManager.get(cluster.data.name) === cluster) continue;
      pools.drainAll();
      this.byCluster.delete(cluster);
    }
  }
}

const perWorker = new WeakMap<ThreadLocalClusterManager, WorkerConnPools>();

/** The pools of the worker that owns `clusterManager` (one set per worker thread). */
export function workerConnPools(
  clusterManager: ThreadLocalClusterManager,
  dispatcher: Dispatcher,
): WorkerConnPools {
  let pools = perWorker.get(clusterManager);
  if (pools === undefined) {
    pools = new WorkerConnPools(clusterManager, dispatcher);
    perWorker.set(clusterManager, pools);
  }
  return pools;
}
