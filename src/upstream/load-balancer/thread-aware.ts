/**
 * The base of the consistent-hashing balancers (ring hash, maglev): one lookup structure per
 * priority, built from that level's healthy hosts (all of them in panic) with weights
 * normalized to sum to 1, and a pick that chooses the priority and the host from the same
 * 64-bit hash, so a key keeps its host while the hosts stay the same.
 *
 * Runs on the worker that owns the cluster (Envoy builds the tables once on main and shares
 * them; here each worker builds its own, on priority set changes only). The hash is the
 * context's `computeHashKey()`, or a random one when there is none. Locality-weighted
 * balancing and bounded load (`hash_balance_factor`) are not implemented. Envoy counterpart:
 * `ThreadAwareLoadBalancerBase`
 * (source/extensions/load_balancing_policies/common/thread_aware_lb_impl.cc).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LoadBalancerContext, PrioritySet } from '../types.ts';
import { type LbStats, LoadBalancerBase, type RandomSource, randomU32 } from './base.ts';
import { mod64, split64, splitHi, splitLo } from './hash.ts';

/** A built lookup: the host for a hash (`hi`, `lo` uint32 halves); `attempt` > 0 on re-picks. */
export interface HashingLoadBalancer {
  chooseHost(hi: number, lo: number, attempt: number): Host | undefined;
}

/** Hosts with weight / total weight; `min` starts at 1 and `max` at 0, as in Envoy. */
export interface NormalizedHostWeights {
  readonly hosts: readonly Host[];
  readonly weights: readonly number[];
  readonly min: number;
  readonly max: number;
}

export function normalizeHostWeights(hosts: readonly Host[]): NormalizedHostWeights {
  let sum = 0;
  for (const host of hosts) sum += host.weight;
  const weights: number[] = [];
  let min = 1;
  let max = 0;
  for (const host of hosts) {
    const w = host.weight / sum;
    weights.push(w);
    if (w < min) min = w;
    if (w > max) max = w;
  }
  return { hosts, weights, min, max };
}

interface PerPriorityState {
  readonly panic: boolean;
  readonly lb: HashingLoadBalancer;
}

export abstract class ThreadAwareLoadBalancerBase extends LoadBalancerBase {
  private perPriority: PerPriorityState[] = [];

  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    healthyPanicThreshold: number,
    runtime?: RuntimeSource,
  ) {
    super(prioritySet, stats, random, healthyPanicThreshold, runtime);
  }

  /** Builds the lookup for one priority's hosts. */
  protected abstract createHashingLoadBalancer(
    weights: NormalizedHostWeights,
    priority: number,
  ): HashingLoadBalancer;

  /** Builds every priority's lookup; subclasses call it at the end of their constructor. */
  protected initialize(): void {
    for (let p = 0; p < this.prioritySet.hostSets.length; p++) this.build(p);
  }

  /** Rebuilds the changed level, and any other whose panic state flipped with it. */
  protected override onPriorityUpdate(priority: number): void {
    for (let p = 0; p < this.prioritySet.hostSets.length; p++) {
      const state = this.perPriority[p];
      if (p === priority || state === undefined || state.panic !== this.priorityInPanic(p)) this.build(p);
    }
  }

  /** Rebuilds the levels whose panic state a new threshold flipped (they switch host lists). */
  protected override onPanicThresholdChange(): void {
    this.onPriorityUpdate(-1);
  }

  chooseHost(context: LoadBalancerContext | undefined): Host | undefined {
    let hi: number;
    let lo: number;
    const key = context?.computeHashKey?.();
    if (key === undefined) {
      hi = randomU32(this.random);
      lo = randomU32(this.random);
    } else {
      split64(key);
      hi = splitHi();
      lo = splitLo();
    }
    const priority = this.allLoadOnPriority0() ? 0 : this.choosePriority(mod64(hi, lo, 100)) >> 1;
    const state = this.perPriority[priority];
    if (state === undefined) return undefined;
    if (state.panic) this.stats.lbHealthyPanic.inc();
    let host = state.lb.chooseHost(hi, lo, 0);
    if (host === undefined || context?.shouldSelectAnotherHost === undefined) return host;
    const maxAttempts = (context.hostSelectionRetryCount?.() ?? 1) + 1;
    for (let attempt = 1; attempt < maxAttempts && context.shouldSelectAnotherHost(host); attempt++) {
      host = state.lb.chooseHost(hi, lo, attempt);
      if (host === undefined) return undefined;
    }
    return host;
  }

  private build(priority: number): void {
    const set = this.prioritySet.hostSets[priority];
    if (set === undefined) return;
    const panic = this.priorityInPanic(priority);
    const weights = normalizeHostWeights(panic ? set.hosts : set.healthyHosts);
    this.perPriority[priority] = { panic, lb: this.createHashingLoadBalancer(weights, priority) };
  }
}
