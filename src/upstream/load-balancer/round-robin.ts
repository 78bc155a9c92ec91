/**
 * ROUND_ROBIN: each pick takes the next host of the chosen list in turn; when weights differ,
 * an EDF schedule makes a host of weight w come up w times per cycle of the total weight.
 *
 * Runs on the worker that owns the cluster. Each instance starts its rotation (and its
 * schedules) at a random offset so workers do not send their first requests to the same host.
 * Slow start is not implemented. Envoy counterpart: `RoundRobinLoadBalancer`
 * (source/extensions/load_balancing_policies/round_robin/round_robin_lb.h).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LbConfigData, PrioritySet } from '../types.ts';
import type { LbStats, RandomSource } from './base.ts';
import { EdfLoadBalancerBase, type HostSource } from './edf.ts';

export class RoundRobinLoadBalancer extends EdfLoadBalancerBase {
  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    config: LbConfigData,
    runtime?: RuntimeSource,
  ) {
    super(prioritySet, stats, random, config.healthyPanicThreshold, runtime);
    this.initialize();
  }

  protected hostWeight(host: Host): number {
    return host.weight;
  }

  protected unweightedHostPick(source: HostSource): Host {
    // Wrapped on every pick, so the index stays a small integer.
    const i = source.rrIndex % source.hosts.length;
    source.rrIndex = i + 1;
    return source.hosts[i]!;
  }
}
