/**
 * LEAST_REQUEST: with equal weights, the fewest active requests among `choice_count` hosts
 * drawn at random (power of two choices by default); with different weights, an EDF schedule
 * whose weights shrink with load: weight / (active_requests + 1)^active_request_bias, taken
 * when a host is (re)queued.
 *
 * Runs on the worker that owns the cluster; `Host.activeRequests` counts this worker's
 * requests in flight. FULL_SCAN selection and slow start are not implemented. Envoy
 * counterpart: `LeastRequestLoadBalancer`
 * (source/extensions/load_balancing_policies/least_request/least_request_lb.cc).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LbConfigData, PrioritySet } from '../types.ts';
import { type LbStats, type RandomSource, randomInt31 } from './base.ts';
import { EdfLoadBalancerBase, type HostSource } from './edf.ts';

export class LeastRequestLoadBalancer extends EdfLoadBalancerBase {
  private readonly choiceCount: number;
  private readonly activeRequestBias: number;

  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    config: LbConfigData,
    runtime?: RuntimeSource,
  ) {
    super(prioritySet, stats, random, config.healthyPanicThreshold, runtime);
    this.choiceCount = Math.max(1, config.leastRequest.choiceCount);
    const bias = config.leastRequest.activeRequestBias;
    // Envoy falls back to 1.0 for a negative or NaN bias.
    this.activeRequestBias = bias >= 0 ? bias : 1;
    this.initialize();
  }

  protected hostWeight(host: Host): number {
    const bias = this.activeRequestBias;
    if (bias === 0) return host.weight;
    const active = host.activeRequests + 1;
    return bias === 1 ? host.weight / active : host.weight / active ** bias;
  }

  protected unweightedHostPick(source: HostSource): Host {
    const hosts = source.hosts;
    let candidate = hosts[randomInt31(this.random) % hosts.length]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const sampled = hosts[randomInt31(this.random) % hosts.length]!;
      if (sampled.activeRequests < candidate.activeRequests) candidate = sampled;
    }
    return candidate;
  }
}
