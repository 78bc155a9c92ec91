/**
 * LoadBalancerBase: the priority load and panic state as Envoy computes them (the examples
 * of Envoy's "Priority levels" page), degraded hosts taking what healthy hosts leave, total
 * panic by host counts, a disabled panic threshold, and recomputation on host-set changes.
 * Envoy counterpart: test/common/upstream/load_balancer_impl_test.cc (LoadBalancerBaseTest).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LoadBalancerBase, randomU32 } from '../../../src/upstream/load-balancer/base.ts';
import { RoundRobinLoadBalancer } from '../../../src/upstream/load-balancer/round-robin.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type { HostData, LbConfigData } from '../../../src/upstream/types.ts';
import { CountingStat, hostRange, lbConfig, prng, tally } from './helpers.ts';

function build(hosts: readonly HostData[], config: Partial<LbConfigData> = {}) {
  const prioritySet = new PrioritySetImpl(hosts);
  const panic = new CountingStat();
  const lb: LoadBalancerBase = new RoundRobinLoadBalancer(
    prioritySet,
    { lbHealthyPanic: panic },
    prng(3),
    lbConfig('ROUND_ROBIN', config),
  );
  return { lb, prioritySet, panic };
}

/** `healthy` healthy hosts then `total - healthy` unhealthy ones at `priority`. */
function level(priority: number, total: number, healthy: number): HostData[] {
  return [
    ...hostRange(healthy, { priority }),
    ...hostRange(total - healthy, { priority, health: 'UNHEALTHY' }, healthy + 1),
  ];
}

describe('LoadBalancerBase priority load', () => {
  // Envoy's "Priority levels" table: P=1 100% healthy, overprovisioning factor 1.4.
  const table: Array<[number, number, number]> = [
    [100, 100, 0],
    [72, 100, 0],
    [71, 99, 1],
    [50, 70, 30],
    [25, 35, 65],
    [0, 0, 100],
  ];
  for (const [healthyPercent, p0, p1] of table) {
    test(`P0 ${healthyPercent}% healthy, P1 fully healthy: ${p0}% / ${p1}% (Envoy's table)`, () => {
      const { lb } = build([...level(0, 100, healthyPercent), ...level(1, 100, 100)]);
      assert.deepEqual(lb.priorityLoad(), { healthy: [p0, p1], degraded: [0, 0] });
      assert.equal(lb.inPanic(0), false, 'no panic while the cluster is 100% available');
    });
  }

  test('three levels: 20% / 20% / 100% healthy take 28% / 28% / 44%', () => {
    const { lb } = build([...level(0, 10, 2), ...level(1, 10, 2), ...level(2, 10, 10)]);
    assert.deepEqual(lb.priorityLoad().healthy, [28, 28, 44]);
  });

  test('under 100% total availability the load is normalized (panic disabled to see it)', () => {
    // 30% -> 42, 20% -> 28; total 70: 42/70 = 60%, 28/70 = 40%.
    const { lb } = build([...level(0, 10, 3), ...level(1, 10, 2)], { healthyPanicThreshold: 0 });
    assert.deepEqual(lb.priorityLoad().healthy, [60, 40]);
  });

  test('rounding left over goes to the first level with healthy hosts', () => {
    // 10% -> 14, 50% -> 70; total 84: 14*100/84 = 16, 70*100/84 = 83, 1 left -> P0.
    const { lb } = build([...level(0, 10, 1), ...level(1, 10, 5)]);
    assert.deepEqual(lb.priorityLoad().healthy, [17, 83]);
    assert.equal(lb.inPanic(0), true, 'P0: 10% healthy < 50%');
    assert.equal(lb.inPanic(1), false, 'P1: 50% healthy');
  });

  test('a level in panic (but not all) takes its share from all its hosts and counts each such pick', () => {
    const { lb, panic } = build([...level(0, 10, 1), ...level(1, 10, 5)]);
    const n = 5000;
    const counts = tally(lb, n);
    let p0 = 0;
    for (const [address, count] of counts) {
      if (address.startsWith('10.0.0.')) p0 += count;
      else
        assert.ok(Number(address.split('.')[3]) <= 5, `P1 is not in panic: unhealthy ${address} not picked`);
    }
    assert.equal(counts.size, 10 + 5, 'every P0 host, the healthy P1 hosts');
    assert.equal(panic.count, p0);
    assert.ok(Math.abs(p0 / n - 0.17) < 0.02, `P0 share ${p0 / n}`);
  });

  test('degraded hosts take what the healthy ones leave: 5 healthy + 5 degraded = 70% / 30%', () => {
    const { lb } = build([...hostRange(5), ...hostRange(5, { health: 'DEGRADED' }, 6)]);
    assert.deepEqual(lb.priorityLoad(), { healthy: [70], degraded: [30] });
    const n = 5000;
    let degraded = 0;
    for (const [address, count] of tally(lb, n)) if (Number(address.split('.')[3]) > 5) degraded += count;
    assert.ok(Math.abs(degraded / n - 0.3) < 0.02, `degraded share ${degraded / n}`);
  });

  test('total panic: every level in panic, load follows host counts (3 and 2 hosts: 60% / 40%)', () => {
    const { lb } = build([...level(0, 3, 0), ...level(1, 2, 0)]);
    assert.deepEqual(lb.priorityLoad().healthy, [60, 40]);
    assert.equal(lb.inPanic(0), true);
    assert.equal(lb.inPanic(1), true);
  });

  test('panic threshold 0: no host is healthy, no panic, no host', () => {
    const { lb, panic } = build(level(0, 3, 0), { healthyPanicThreshold: 0 });
    assert.deepEqual(lb.priorityLoad().healthy, [100]);
    assert.equal(lb.inPanic(0), false);
    assert.equal(lb.chooseHost(undefined), undefined);
    assert.equal(panic.count, 0);
  });

  test('the state follows host-set updates', () => {
    const { lb, prioritySet } = build([...level(0, 10, 10), ...level(1, 10, 10)]);
    assert.deepEqual(lb.priorityLoad().healthy, [100, 0]);
    prioritySet.update([...level(0, 10, 5), ...level(1, 10, 10)]);
    assert.deepEqual(lb.priorityLoad().healthy, [70, 30]);
    prioritySet.update([...level(0, 10, 10), ...level(1, 10, 10)]);
    assert.deepEqual(lb.priorityLoad().healthy, [100, 0]);
  });

  test('randomU32 covers [0, 2^32)', () => {
    assert.equal(
      randomU32(() => 0),
      0,
    );
    assert.equal(
      randomU32(() => 1 - 2 ** -53),
      4294967295,
    );
  });
});
