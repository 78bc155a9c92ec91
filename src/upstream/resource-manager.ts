/**
 * Circuit breakers: a cluster's connection, pending-request, request and retry budgets,
 * per priority, shared by every worker.
 *
 * Any thread. The counts live in Int32 cells of a SharedArrayBuffer the main thread
 * allocates per cluster (`ClusterData.resources`); workers change them with Atomics, so the
 * limits are cluster-wide as in Envoy, not per worker. Envoy counterpart:
 * `ResourceManagerImpl`, `ManagedResourceImpl` (source/common/upstream/resource_manager_impl.h).
 */
import type { CircuitBreakerThresholds } from './types.ts';

export type ResourceKind = 'connections' | 'pendingRequests' | 'requests' | 'retries';
export type ResourcePriority = 'default' | 'high';

const KIND_INDEX: Readonly<Record<ResourceKind, number>> = {
  connections: 0,
  pendingRequests: 1,
  requests: 2,
  retries: 3,
};
export const RESOURCE_CELLS = 8;

/** One budget: `canCreate()` before taking it, `inc()` when taken, `dec()` when given back. */
export class Resource {
  private readonly cells: Int32Array;
  private readonly index: number;
  readonly max: number;

  constructor(cells: Int32Array, index: number, max: number) {
    this.cells = cells;
    this.index = index;
    this.max = max;
  }

  canCreate(): boolean {
    return Atomics.load(this.cells, this.index) < this.max;
  }

  inc(): void {
    Atomics.add(this.cells, this.index, 1);
  }

  dec(): void {
    Atomics.sub(this.cells, this.index, 1);
  }

  count(): number {
    return Atomics.load(this.cells, this.index);
  }

  remaining(): number {
    return Math.max(0, this.max - this.count());
  }
}

export class ResourceManager {
  readonly connections: Resource;
  readonly pendingRequests: Resource;
  readonly requests: Resource;
  readonly retries: Resource;
  readonly trackRemaining: boolean;

  constructor(shared: SharedArrayBuffer, priority: ResourcePriority, thresholds: CircuitBreakerThresholds) {
    const cells = new Int32Array(shared);
    const base = priority === 'default' ? 0 : 4;
    this.connections = new Resource(cells, base + KIND_INDEX.connections, thresholds.maxConnections);
    this.pendingRequests = new Resource(
      cells,
      base + KIND_INDEX.pendingRequests,
      thresholds.maxPendingRequests,
    );
    this.requests = new Resource(cells, base + KIND_INDEX.requests, thresholds.maxRequests);
    this.retries = new Resource(cells, base + KIND_INDEX.retries, thresholds.maxRetries);
    this.trackRemaining = thresholds.trackRemaining;
  }
}
