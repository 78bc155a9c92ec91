/**
 * Builds a cluster's load balancer on a worker from its `LbConfigData` and priority set.
 *
 * Runs on the worker that owns the cluster, once per cluster (the balancer follows the
 * priority set's updates by itself). RING_HASH and MAGLEV need `await initHashing()` on the
 * thread beforehand. Envoy counterpart: the `TypedLoadBalancerFactory` of each
 * load_balancing_policies extension and `ClusterInfoImpl`'s choice among them.
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { LbConfigData, LoadBalancer, PrioritySet } from '../types.ts';
import type { LbStats, RandomSource } from './base.ts';
import { LeastRequestLoadBalancer } from './least-request.ts';
import { MaglevLoadBalancer } from './maglev.ts';
import { RandomLoadBalancer } from './random.ts';
import { RingHashLoadBalancer } from './ring-hash.ts';
import { RoundRobinLoadBalancer } from './round-robin.ts';

/**
 * @param random uniform in [0, 1) (`Math.random` in production; a seeded generator in tests).
 * @param runtime the worker's runtime, for `upstream.healthy_panic_threshold` (none: the cluster's threshold).
 * @throws Error for CLUSTER_PROVIDED (the cluster type brings its own balancer) and for an
 *   unresolved LOAD_BALANCING_POLICY_CONFIG, and for invalid ring / table sizes.
 */
export function createLoadBalancer(
  config: LbConfigData,
  prioritySet: PrioritySet,
  stats: LbStats,
  random: RandomSource,
  runtime?: RuntimeSource,
): LoadBalancer {
  switch (config.policy) {
    case 'ROUND_ROBIN':
      return new RoundRobinLoadBalancer(prioritySet, stats, random, config, runtime);
    case 'LEAST_REQUEST':
      return new LeastRequestLoadBalancer(prioritySet, stats, random, config, runtime);
    case 'RANDOM':
      return new RandomLoadBalancer(prioritySet, stats, random, config, runtime);
    case 'RING_HASH':
      return new RingHashLoadBalancer(prioritySet, stats, random, config, runtime);
    case 'MAGLEV':
      return new MaglevLoadBalancer(prioritySet, stats, random, config, runtime);
    case 'CLUSTER_PROVIDED':
      throw new Error(
        'lb_policy CLUSTER_PROVIDED has no load balancer of its own: the cluster type (e.g. ORIGINAL_DST) supplies it',
      );
    case 'LOAD_BALANCING_POLICY_CONFIG':
      throw new Error(
        'lb_policy LOAD_BALANCING_POLICY_CONFIG must be resolved to the policy its load_balancing_policy names before a load balancer is built',
      );
  }
}
