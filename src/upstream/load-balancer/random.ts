/**
 * RANDOM: a uniformly random host of the chosen list. As in Envoy, endpoint weights are not
 * used (one random number picks both the priority and the host).
 *
 * Runs on the worker that owns the cluster. Envoy counterpart: `RandomLoadBalancer`
 * (source/extensions/load_balancing_policies/random/random_lb.cc).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LbConfigData, LoadBalancerContext, PrioritySet } from '../types.ts';
import { HostSourceLoadBalancerBase, type LbStats, type RandomSource, randomInt31 } from './base.ts';

export class RandomLoadBalancer extends HostSourceLoadBalancerBase {
  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    config: LbConfigData,
    runtime?: RuntimeSource,
  ) {
    super(prioritySet, stats, random, config.healthyPanicThreshold, runtime);
  }

  protected chooseHostOnce(_context: LoadBalancerContext | undefined): Host | undefined {
    const hash = randomInt31(this.random);
    const hosts = this.hostSourceToHosts(this.hostSourceToUse(hash));
    if (hosts.length === 0) return undefined;
    return hosts[hash % hosts.length];
  }
}
