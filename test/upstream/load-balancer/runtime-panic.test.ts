/**
 * `upstream.healthy_panic_threshold` from the runtime: the cluster's
 * `healthy_panic_threshold` is the default, a runtime integer overrides it (at most 100),
 * a value that is not an integer leaves the default, and a new snapshot re-decides panic at
 * once, for the host-list balancers and for the hashing ones (whose tables switch between
 * healthy and all hosts). Every policy is built through the factory. Envoy counterpart:
 * test/common/upstream/load_balancer_impl_test.cc (runtime panic threshold cases).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { entryFromText } from '../../../src/runtime/entry.ts';
import { ThreadLocalRuntime } from '../../../src/runtime/thread-local-runtime.ts';
import {
  HEALTHY_PANIC_THRESHOLD_KEY,
  type LoadBalancerBase,
} from '../../../src/upstream/load-balancer/base.ts';
import { createLoadBalancer } from '../../../src/upstream/load-balancer/factory.ts';
import { initHashing } from '../../../src/upstream/load-balancer/hash.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type { LbPolicy } from '../../../src/upstream/types.ts';
import { CountingStat, hostRange, lbConfig, prng, tally } from './helpers.ts';

before(async () => {
  await initHashing();
});

let version = 0;
function setRuntime(runtime: ThreadLocalRuntime, values: Record<string, string>): void {
  runtime.update({
    version: ++version,
    values: new Map(Object.entries(values).map(([k, v]) => [k, entryFromText(v)])),
  });
}

/** 4 healthy hosts (10.0.0.1-4) and 6 unhealthy ones: 40% healthy. */
function build(policy: LbPolicy, runtime: ThreadLocalRuntime, clusterThreshold = 50) {
  const prioritySet = new PrioritySetImpl([...hostRange(4), ...hostRange(6, { health: 'UNHEALTHY' }, 5)]);
  const panic = new CountingStat();
  const lb = createLoadBalancer(
    lbConfig(policy, { healthyPanicThreshold: clusterThreshold }),
    prioritySet,
    { lbHealthyPanic: panic },
    prng(11),
    runtime,
  );
  const healthy = new Set(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
  /** How many of 400 picks went to unhealthy hosts. */
  const unhealthyPicks = (): number => {
    let n = 0;
    for (const [address, count] of tally(lb, 400)) if (!healthy.has(address)) n += count;
    return n;
  };
  return { lb, panic, unhealthyPicks };
}

const POLICIES: LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'];

describe('healthy panic threshold from the runtime', () => {
  for (const policy of POLICIES) {
    test(`${policy}: the runtime key overrides the cluster's threshold, and a change applies at once`, () => {
      const runtime = new ThreadLocalRuntime();
      const { lb, panic, unhealthyPicks } = build(policy, runtime);
      // 40% healthy < the cluster's 50%: panic, picks spread over every host.
      assert.ok(unhealthyPicks() > 0, 'in panic, unhealthy hosts are picked');
      assert.ok(panic.count > 0);

      setRuntime(runtime, { [HEALTHY_PANIC_THRESHOLD_KEY]: '30' });
      lb.onRuntimeUpdate?.();
      const panicsBefore = panic.count;
      assert.equal(unhealthyPicks(), 0, '40% >= 30%: only healthy hosts');
      assert.equal(panic.count, panicsBefore, 'no pick counted as a panic pick');

      setRuntime(runtime, {});
      lb.onRuntimeUpdate?.();
      assert.ok(unhealthyPicks() > 0, 'the key removed: back to the cluster threshold, in panic');
    });
  }

  test("without the key the cluster's threshold applies; 0 disables panic", () => {
    const runtime = new ThreadLocalRuntime();
    assert.equal(build('ROUND_ROBIN', runtime, 30).unhealthyPicks(), 0);
    setRuntime(runtime, { [HEALTHY_PANIC_THRESHOLD_KEY]: '0' });
    assert.equal(build('ROUND_ROBIN', runtime).unhealthyPicks(), 0, 'a balancer built later reads it too');
  });

  test('a runtime value past 100 counts as 100; one that is not an integer leaves the default', () => {
    const runtime = new ThreadLocalRuntime();
    setRuntime(runtime, { [HEALTHY_PANIC_THRESHOLD_KEY]: '250' });
    const lb = build('ROUND_ROBIN', runtime, 0).lb as LoadBalancerBase;
    assert.equal(lb.healthyPanicThreshold(), 100);
    setRuntime(runtime, { [HEALTHY_PANIC_THRESHOLD_KEY]: 'lots' });
    lb.onRuntimeUpdate();
    assert.equal(lb.healthyPanicThreshold(), 0);
    setRuntime(runtime, { [HEALTHY_PANIC_THRESHOLD_KEY]: '45.9' });
    lb.onRuntimeUpdate?.();
    assert.equal(lb.healthyPanicThreshold(), 45, 'a double is rounded down');
  });
});
