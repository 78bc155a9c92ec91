/**
 * Earliest-deadline-first scheduling for weighted round robin and weighted least request,
 * and the balancer base that keeps one schedule (or one round-robin index) per host list.
 *
 * Runs on the worker that owns the cluster. Each entry is due 1/weight after its last pick;
 * a pick takes the earliest deadline (ties: the entry queued first) and re-queues it with its
 * weight at that moment, so a pick is O(log n) and allocates nothing. Deadlines are computed
 * as anchor + k / weight while an entry's weight stays the same, rather than by adding 1/weight
 * each time: equal deadlines then stay exactly equal, so integer weights give exact counts over
 * any whole cycle (1:2:3 over 600 picks is exactly 100:200:300), where repeated float additions
 * drift. Schedules are rebuilt when a priority's hosts change, starting from a random number of
 * emulated picks so workers do not march in step. Envoy counterpart: `EdfScheduler`
 * (source/common/upstream/edf_scheduler.h) and `EdfLoadBalancerBase` (load_balancer_impl.cc).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LoadBalancerContext, PrioritySet } from '../types.ts';
import {
  ALL_HOSTS,
  DEGRADED_HOSTS,
  HEALTHY_HOSTS,
  HostSourceLoadBalancerBase,
  type LbStats,
  type RandomSource,
  randomInt31,
  SOURCES_PER_PRIORITY,
} from './base.ts';

interface EdfEntry<T> {
  readonly item: T;
  deadline: number;
  /** Tie-breaker: queue order. */
  order: number;
  /** The weight the current deadline was computed with. */
  weight: number;
  /** deadline = anchor + k / weight. */
  anchor: number;
  k: number;
}

/** Envoy's cap on emulated picks (UINT32_MAX / 10). */
const MAX_EMULATED_PICKS = 429496729;

export class EdfScheduler<T> {
  private readonly heap: EdfEntry<T>[];
  private order: number;

  private constructor(heap: EdfEntry<T>[], order: number) {
    this.heap = heap;
    this.order = order;
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /**
   * A schedule over `items` in the state it would reach after `picks` picks with these
   * weights (all > 0): each entry gets floor(picks × w / W) emulated picks at once, the few
   * left over are made one by one. Envoy: `EdfScheduler::createWithPicks`.
   */
  static createWithPicks<T>(
    items: readonly T[],
    weightOf: (item: T) => number,
    picks: number,
  ): EdfScheduler<T> {
    const n = items.length;
    const p = picks % MAX_EMULATED_PICKS;
    const weights = items.map(weightOf);
    let sum = 0;
    for (const w of weights) sum += w;
    // Ties go to the lower weight, then the earlier item: the order picks from an empty
    // schedule settle into (the entry picked longest ago is queued first).
    const rank = new Array<number>(n);
    const byWeight = weights.map((_, i) => i).sort((a, b) => weights[a]! - weights[b]! || a - b);
    for (let r = 0; r < n; r++) rank[byWeight[r]!] = r;
    const heap: EdfEntry<T>[] = [];
    let emulated = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      let floorPicks = Math.floor((w * p) / sum);
      // Float rounding can overshoot the true floor; an entry must not look picked after the last pick.
      if (floorPicks > 0 && floorPicks / w >= p / sum) floorPicks--;
      heap.push({
        item: items[i]!,
        deadline: (floorPicks + 1) / w,
        order: rank[i]!,
        weight: w,
        anchor: 0,
        k: floorPicks + 1,
      });
      emulated += floorPicks;
    }
    const scheduler = new EdfScheduler(heap, n);
    for (; emulated < p; emulated++) scheduler.pickAndAdd(weightOf);
    return scheduler;
  }

  get size(): number {
    return this.heap.length;
  }

  /** The entry with the earliest deadline, re-queued 1 / weightOf(it) later; undefined when empty. */
  pickAndAdd(weightOf: (item: T) => number): T | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const w = weightOf(top.item);
    if (w === top.weight) {
      top.k++;
      top.deadline = top.anchor + top.k / w;
    } else {
      top.anchor = top.deadline;
      top.weight = w;
      top.k = 1;
      top.deadline = top.anchor + 1 / w;
    }
    top.order = this.order++;
    this.siftDown(0);
    return top.item;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = index;
    const entry = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && earlier(heap[right]!, heap[left]!)) child = right;
      const c = heap[child]!;
      if (!earlier(c, entry)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = entry;
  }
}

function earlier<T>(a: EdfEntry<T>, b: EdfEntry<T>): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
}

/** One host list of one priority: an EDF schedule when weights differ, else a rotation index. */
export interface HostSource {
  readonly hosts: readonly Host[];
  readonly edf: EdfScheduler<Host> | undefined;
  rrIndex: number;
}

function hostWeightsAreEqual(hosts: readonly Host[]): boolean {
  if (hosts.length <= 1) return true;
  const w = hosts[0]!.weight;
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== w) return false;
  return true;
}

/**
 * Round robin and least request: EDF over a host list whose weights differ, the policy's
 * unweighted pick otherwise. Subclasses call `initialize()` at the end of their constructor.
 */
export abstract class EdfLoadBalancerBase extends HostSourceLoadBalancerBase {
  /** Per instance: where rotations start and how many picks a new schedule emulates. */
  protected readonly seed: number;
  private sources: HostSource[] = [];
  private readonly weightOf: (host: Host) => number;

  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    healthyPanicThreshold: number,
    runtime?: RuntimeSource,
  ) {
    super(prioritySet, stats, random, healthyPanicThreshold, runtime);
    this.seed = randomInt31(random);
    this.weightOf = (host) => this.hostWeight(host);
  }

  /** The weight a host is scheduled with at this moment. */
  protected abstract hostWeight(host: Host): number;

  /** A pick from a list whose weights are all equal (non-empty). */
  protected abstract unweightedHostPick(source: HostSource): Host;

  protected initialize(): void {
    for (let p = 0; p < this.prioritySet.hostSets.length; p++) this.refresh(p);
  }

  protected override onPriorityUpdate(priority: number): void {
    this.refresh(priority);
  }

  protected chooseHostOnce(_context: LoadBalancerContext | undefined): Host | undefined {
    const source = this.sources[this.hostSourceToUse(this.priorityHash())];
    if (source === undefined) return undefined;
    if (source.edf !== undefined) return source.edf.pickAndAdd(this.weightOf);
    if (source.hosts.length === 0) return undefined;
    return this.unweightedHostPick(source);
  }

  private refresh(priority: number): void {
    const set = this.prioritySet.hostSets[priority];
    if (set === undefined) return;
    const base = priority * SOURCES_PER_PRIORITY;
    this.addHostSource(base + ALL_HOSTS, set.hosts);
    this.addHostSource(base + HEALTHY_HOSTS, set.healthyHosts);
    this.addHostSource(base + DEGRADED_HOSTS, set.degradedHosts);
  }

  private addHostSource(index: number, hosts: readonly Host[]): void {
    // A rotation keeps its index across refreshes, as Envoy's rr_indexes_ does.
    const rrIndex = this.sources[index]?.rrIndex ?? this.seed;
    const weighted = hosts.length > 1 && !hostWeightsAreEqual(hosts);
    const edf = weighted ? EdfScheduler.createWithPicks(hosts, this.weightOf, this.seed) : undefined;
    this.sources[index] = { hosts, edf, rrIndex };
  }
}
