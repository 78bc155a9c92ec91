/**
 * What every load balancer shares: the per-priority load and panic state, and the choice of
 * which priority and which of its host lists (healthy, degraded, or all in panic) a pick
 * draws from.
 *
 * Runs on the worker that owns the cluster. The state is recomputed when the priority set
 * changes, never per pick: a level's health is min(100, overprovisioning factor × healthy /
 * total) in integer percent; load goes to healthy hosts level by level, what is left to
 * degraded hosts, rounding to the first level with any; a level is in panic when its healthy
 * plus degraded share of hosts is below `healthy_panic_threshold` (never while the cluster as a
 * whole is 100% available), and when every level is, load follows host counts. The threshold
 * is the runtime key `upstream.healthy_panic_threshold` when set, else the cluster's own; a
 * runtime change re-decides panic at once (Envoy waits for the next host change). Zone-aware
 * routing (a local cluster) and locality-weighted balancing are not implemented.
 * Envoy counterpart: `LoadBalancerBase` and the non-locality half of `ZoneAwareLoadBalancerBase`
 * (source/extensions/load_balancing_policies/common/load_balancer_impl.cc).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LoadBalancer, LoadBalancerContext, PrioritySet } from '../types.ts';

/** The runtime key that overrides every cluster's `common_lb_config.healthy_panic_threshold` (percent). */
export const HEALTHY_PANIC_THRESHOLD_KEY = 'upstream.healthy_panic_threshold';

/** The cluster stats a load balancer counts. */
export interface LbStats {
  /** `cluster.<name>.lb_healthy_panic`: picks made from all hosts of a level in panic. */
  readonly lbHealthyPanic: { inc(): void };
}

/** A uniform number in [0, 1), like `Math.random` (injected so tests are deterministic). */
export type RandomSource = () => number;

/** A uniform uint32 from `random` (half of a 64-bit hash). */
export function randomU32(random: RandomSource): number {
  return (random() * 4294967296) >>> 0;
}

/** A uniform integer in [0, 2^31) from `random`: `%` on it stays integer arithmetic. */
export function randomInt31(random: RandomSource): number {
  return (random() * 2147483648) | 0;
}

/** Which list of a priority's hosts a pick draws from; a host source is `priority * 3 + list`. */
export const ALL_HOSTS = 0;
export const HEALTHY_HOSTS = 1;
export const DEGRADED_HOSTS = 2;
export const SOURCES_PER_PRIORITY = 3;

/** The percent of load each priority takes, healthy then degraded; together they sum to 100. */
export interface PriorityLoad {
  readonly healthy: readonly number[];
  readonly degraded: readonly number[];
}

export abstract class LoadBalancerBase implements LoadBalancer {
  protected readonly prioritySet: PrioritySet;
  protected readonly stats: LbStats;
  protected readonly random: RandomSource;
  private readonly defaultPanicThreshold: number;
  private readonly runtime: RuntimeSource | undefined;
  private panicThreshold: number;
  private healthyLoad: number[] = [100];
  private degradedLoad: number[] = [0];
  private panic: boolean[] = [false];

  /**
   * @param healthyPanicThreshold the cluster's percent, rounded (Envoy's default is 50; 0 disables panic).
   * @param runtime where `upstream.healthy_panic_threshold` overrides it, when given.
   */
  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    healthyPanicThreshold: number,
    runtime?: RuntimeSource,
  ) {
    this.prioritySet = prioritySet;
    this.stats = stats;
    this.random = random;
    this.defaultPanicThreshold = Math.round(Math.min(100, Math.max(0, healthyPanicThreshold)));
    this.runtime = runtime;
    this.panicThreshold = this.readPanicThreshold();
    this.recalculatePriorityState();
    prioritySet.addUpdateCallback((priority, added, removed) => {
      this.recalculatePriorityState();
      this.onPriorityUpdate(priority, added, removed);
    });
  }

  abstract chooseHost(context: LoadBalancerContext | undefined): Host | undefined;

  /** The current load split (for tests and admin). */
  priorityLoad(): PriorityLoad {
    return { healthy: [...this.healthyLoad], degraded: [...this.degradedLoad] };
  }

  /** Whether picks at `priority` use all of its hosts. */
  inPanic(priority: number): boolean {
    return this.panic[priority] ?? false;
  }

  /** The panic threshold in force: the runtime's integer value (at most 100), else the cluster's. */
  healthyPanicThreshold(): number {
    return this.panicThreshold;
  }

  /** The runtime has a new snapshot: a changed panic threshold re-decides which levels are in panic. */
  onRuntimeUpdate(): void {
    if (this.readPanicThreshold() === this.panicThreshold) return;
    this.recalculatePriorityState();
    this.onPanicThresholdChange();
  }

  /** Runs after the shared state is recomputed for a change at `priority`. */
  protected onPriorityUpdate(_priority: number, _added: readonly Host[], _removed: readonly Host[]): void {}

  /** Runs after a new panic threshold was applied (levels may have entered or left panic). */
  protected onPanicThresholdChange(): void {}

  /**
   * The priority for a pick whose hash is `hash100` (0..99), encoded as `priority * 2`, plus 1
   * when it was chosen for its degraded hosts.
   */
  protected choosePriority(hash100: number): number {
    const h = hash100 + 1;
    let aggregate = 0;
    const healthy = this.healthyLoad;
    for (let p = 0; p < healthy.length; p++) {
      aggregate += healthy[p]!;
      if (h <= aggregate) return p * 2;
    }
    const degraded = this.degradedLoad;
    for (let p = 0; p < degraded.length; p++) {
      aggregate += degraded[p]!;
      if (h <= aggregate) return p * 2 + 1;
    }
    return 0;
  }

  /** A hash for `choosePriority`: 0 (no random draw) when priority 0 takes all the load. */
  protected priorityHash(): number {
    return this.healthyLoad[0] === 100 ? 0 : randomInt31(this.random);
  }

  /** Whether priority 0's healthy hosts take all the load (every hash chooses it). */
  protected allLoadOnPriority0(): boolean {
    return this.healthyLoad[0] === 100;
  }

  /** Whether `priority` was in panic at the last recomputation (no bounds surprises). */
  protected priorityInPanic(priority: number): boolean {
    return this.panic[priority] === true;
  }

  private readPanicThreshold(): number {
    if (this.runtime === undefined) return this.defaultPanicThreshold;
    return Math.min(
      100,
      this.runtime.snapshot().getInteger(HEALTHY_PANIC_THRESHOLD_KEY, this.defaultPanicThreshold),
    );
  }

  private recalculatePriorityState(): void {
    this.panicThreshold = this.readPanicThreshold();
    const sets = this.prioritySet.hostSets;
    const n = sets.length;
    const health = new Array<number>(n).fill(0);
    const degradedHealth = new Array<number>(n).fill(0);
    let sum = 0;
    for (let p = 0; p < n; p++) {
      const set = sets[p]!;
      const count = set.hosts.length;
      if (count === 0) continue;
      const factor = set.overprovisioningFactor;
      health[p] = Math.min(100, Math.floor((factor * set.healthyHosts.length) / count));
      degradedHealth[p] = Math.min(100, Math.floor((factor * set.degradedHosts.length) / count));
      sum += health[p]! + degradedHealth[p]!;
    }
    const totalAvailability = Math.min(100, sum);
    const healthyLoad = new Array<number>(n).fill(0);
    const degradedLoad = new Array<number>(n).fill(0);
    this.healthyLoad = healthyLoad;
    this.degradedLoad = degradedLoad;
    this.panic = new Array<boolean>(n).fill(false);

    if (totalAvailability > 0) {
      const healthyResult = distributeLoad(healthyLoad, health, 100, totalAvailability);
      const degradedResult = distributeLoad(
        degradedLoad,
        degradedHealth,
        healthyResult.remaining,
        totalAvailability,
      );
      const remaining = degradedResult.remaining;
      if (remaining > 0) {
        if (healthyResult.first >= 0) healthyLoad[healthyResult.first]! += remaining;
        else degradedLoad[degradedResult.first]! += remaining;
      }
    } else if (this.panicThreshold === 0) {
      // No host to offer and panic disabled: the load must still add up, to a level with none.
      healthyLoad[0] = 100;
      return;
    }

    let totalPanic = true;
    for (let p = 0; p < n; p++) {
      const inPanic = totalAvailability === 100 ? false : this.isHostSetInPanic(p);
      this.panic[p] = inPanic;
      totalPanic &&= inPanic;
    }
    if (totalPanic) {
      this.recalculateLoadInTotalPanic();
    } else if (totalAvailability === 0) {
      healthyLoad[0] = 100;
    }
  }

  private isHostSetInPanic(priority: number): boolean {
    const set = this.prioritySet.hostSets[priority]!;
    const count = set.hosts.length;
    const healthyPercent = count === 0 ? 0 : (100 * set.healthyHosts.length) / count;
    const degradedPercent = count === 0 ? 0 : (100 * set.degradedHosts.length) / count;
    return healthyPercent + degradedPercent < this.panicThreshold;
  }

  /** Every level in panic: load follows the number of hosts per level, whatever their health. */
  private recalculateLoadInTotalPanic(): void {
    const sets = this.prioritySet.hostSets;
    let total = 0;
    for (const set of sets) total += set.hosts.length;
    this.degradedLoad.fill(0);
    if (total === 0) {
      this.healthyLoad.fill(0);
      this.healthyLoad[0] = 100;
      return;
    }
    let remaining = 100;
    let firstNonEmpty = -1;
    for (let p = 0; p < sets.length; p++) {
      const count = sets[p]!.hosts.length;
      if (firstNonEmpty < 0 && count > 0) firstNonEmpty = p;
      const load = Math.floor((100 * count) / total);
      this.healthyLoad[p] = load;
      remaining -= load;
    }
    this.healthyLoad[firstNonEmpty]! += remaining;
  }
}

/** Gives each level as much of `total` as its availability allows, highest priority first. */
function distributeLoad(
  load: number[],
  availability: readonly number[],
  total: number,
  normalizedTotalAvailability: number,
): { first: number; remaining: number } {
  let first = -1;
  let remaining = total;
  for (let p = 0; p < availability.length; p++) {
    const a = availability[p]!;
    if (first < 0 && a > 0) first = p;
    const share = Math.min(remaining, Math.floor((a * 100) / normalizedTotalAvailability));
    load[p] = share;
    remaining -= share;
  }
  return { first, remaining };
}

/**
 * A balancer that picks from one host list of the chosen priority (round robin, least
 * request, random), retrying while the context rejects the host. Envoy counterpart:
 * `ZoneAwareLoadBalancerBase::chooseHost` / `hostSourceToUse` / `hostSourceToHosts`.
 */
export abstract class HostSourceLoadBalancerBase extends LoadBalancerBase {
  chooseHost(context: LoadBalancerContext | undefined): Host | undefined {
    let host = this.chooseHostOnce(context);
    if (host === undefined || context?.shouldSelectAnotherHost === undefined) return host;
    const maxAttempts = (context.hostSelectionRetryCount?.() ?? 1) + 1;
    for (let attempt = 1; attempt < maxAttempts && context.shouldSelectAnotherHost(host); attempt++) {
      host = this.chooseHostOnce(context);
      if (host === undefined) return undefined;
    }
    return host;
  }

  protected abstract chooseHostOnce(context: LoadBalancerContext | undefined): Host | undefined;

  /**
   * The host source (`priority * 3 + list`) for a pick whose priority hash is `hash` (>= 0):
   * all hosts when that priority is in panic (counted), else its healthy or degraded hosts.
   */
  protected hostSourceToUse(hash: number): number {
    const chosen = this.choosePriority(hash % 100);
    const priority = chosen >> 1;
    if (this.priorityInPanic(priority)) {
      this.stats.lbHealthyPanic.inc();
      return priority * SOURCES_PER_PRIORITY + ALL_HOSTS;
    }
    return priority * SOURCES_PER_PRIORITY + ((chosen & 1) === 1 ? DEGRADED_HOSTS : HEALTHY_HOSTS);
  }

  protected hostSourceToHosts(source: number): readonly Host[] {
    const set = this.prioritySet.hostSets[Math.floor(source / SOURCES_PER_PRIORITY)];
    if (set === undefined) return [];
    switch (source % SOURCES_PER_PRIORITY) {
      case ALL_HOSTS:
        return set.hosts;
      case HEALTHY_HOSTS:
        return set.healthyHosts;
      default:
        return set.degradedHosts;
    }
  }
}
