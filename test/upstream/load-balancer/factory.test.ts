/**
 * createLoadBalancer: one class per policy, clear refusals for CLUSTER_PROVIDED and an
 * unresolved LOAD_BALANCING_POLICY_CONFIG, and the hashing policies refused until
 * `initHashing()` has run on the thread (this file runs in its own process, so hashing starts
 * uninitialized here).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLoadBalancer } from '../../../src/upstream/load-balancer/factory.ts';
import { hashingReady, initHashing, xxhash64 } from '../../../src/upstream/load-balancer/hash.ts';
import { LeastRequestLoadBalancer } from '../../../src/upstream/load-balancer/least-request.ts';
import { MaglevLoadBalancer } from '../../../src/upstream/load-balancer/maglev.ts';
import { RandomLoadBalancer } from '../../../src/upstream/load-balancer/random.ts';
import { RingHashLoadBalancer } from '../../../src/upstream/load-balancer/ring-hash.ts';
import { RoundRobinLoadBalancer } from '../../../src/upstream/load-balancer/round-robin.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type { LbPolicy } from '../../../src/upstream/types.ts';
import { CountingStat, hostRange, lbConfig, prng } from './helpers.ts';

function create(policy: LbPolicy) {
  return createLoadBalancer(
    lbConfig(policy),
    new PrioritySetImpl(hostRange(3)),
    { lbHealthyPanic: new CountingStat() },
    prng(1),
  );
}

describe('createLoadBalancer', () => {
  test('RING_HASH and MAGLEV are refused before initHashing(); xxhash64 too', () => {
    assert.equal(hashingReady(), false);
    assert.throws(() => create('RING_HASH'), /initHashing/);
    assert.throws(() => create('MAGLEV'), /initHashing/);
    assert.throws(() => xxhash64('x'), /initHashing/);
  });

  test('each policy gets its class', async () => {
    await initHashing();
    assert.ok(create('ROUND_ROBIN') instanceof RoundRobinLoadBalancer);
    assert.ok(create('LEAST_REQUEST') instanceof LeastRequestLoadBalancer);
    assert.ok(create('RANDOM') instanceof RandomLoadBalancer);
    assert.ok(create('RING_HASH') instanceof RingHashLoadBalancer);
    assert.ok(create('MAGLEV') instanceof MaglevLoadBalancer);
  });

  test('CLUSTER_PROVIDED is refused: the cluster type supplies its own balancer', () => {
    assert.throws(() => create('CLUSTER_PROVIDED'), /CLUSTER_PROVIDED.*cluster type/);
  });

  test('LOAD_BALANCING_POLICY_CONFIG must be resolved to a policy first', () => {
    assert.throws(() => create('LOAD_BALANCING_POLICY_CONFIG'), /must be resolved/);
  });
});
