/**
 * One behavioural suite run over every load-balancing policy: weights, host-set changes in
 * the middle of traffic, the empty cluster, panic, and priority failover with the
 * overprovisioning factor. Each policy row says how weights show in its picks (exact for round
 * robin, proportional for least request and the hashing policies, ignored by random as in
 * Envoy) and what context a request carries (a distinct hash key for the hashing policies).
 * Policy-specific behaviour has its own file beside this one.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { LoadBalancerBase } from '../../../src/upstream/load-balancer/base.ts';
import { createLoadBalancer } from '../../../src/upstream/load-balancer/factory.ts';
import { initHashing, xxhash64 } from '../../../src/upstream/load-balancer/hash.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type {
  HostData,
  LbConfigData,
  LbPolicy,
  LoadBalancer,
  LoadBalancerContext,
} from '../../../src/upstream/types.ts';
import { CountingStat, hostData, hostRange, lbConfig, prng, tally } from './helpers.ts';

interface PolicyCase {
  readonly policy: LbPolicy;
  /** How `load_balancing_weight` shows in the share of picks. */
  readonly weights: 'exact' | 'proportional' | 'ignored';
  /** Largest accepted distance between a host's share of picks and its expected share. */
  readonly tolerance: number;
  /** Whether requests carry a hash key (one per request). */
  readonly hashing: boolean;
}

const POLICIES: readonly PolicyCase[] = [
  { policy: 'ROUND_ROBIN', weights: 'exact', tolerance: 0, hashing: false },
  { policy: 'LEAST_REQUEST', weights: 'proportional', tolerance: 0.01, hashing: false },
  { policy: 'RANDOM', weights: 'ignored', tolerance: 0.02, hashing: false },
  { policy: 'RING_HASH', weights: 'proportional', tolerance: 0.04, hashing: true },
  { policy: 'MAGLEV', weights: 'proportional', tolerance: 0.02, hashing: true },
];

const keys: bigint[] = [];
/** A request context: the hashing policies get xxHash64 of `request-<i>` as the hash key. */
function requestContext(c: PolicyCase): (i: number) => LoadBalancerContext | undefined {
  if (!c.hashing) return () => undefined;
  return (i) => {
    while (keys.length <= i) keys.push(xxhash64(`request-${keys.length}`));
    const key = keys[i]!;
    return { computeHashKey: () => key };
  };
}

interface Built {
  readonly lb: LoadBalancer;
  readonly prioritySet: PrioritySetImpl;
  readonly panic: CountingStat;
}

function build(
  c: PolicyCase,
  hosts: readonly HostData[],
  config: Partial<LbConfigData> = {},
  seed = 7,
): Built {
  const prioritySet = new PrioritySetImpl(hosts, config.overprovisioningFactor ?? 140);
  const panic = new CountingStat();
  const lb = createLoadBalancer(
    lbConfig(c.policy, config),
    prioritySet,
    { lbHealthyPanic: panic },
    prng(seed),
  );
  return { lb, prioritySet, panic };
}

function share(counts: Map<string, number>, address: string, n: number): number {
  return (counts.get(address) ?? 0) / n;
}

before(async () => {
  await initHashing();
});

for (const c of POLICIES) {
  const context = requestContext(c);

  describe(`${c.policy} (shared load balancer suite)`, () => {
    test(`weights 1:2:3 are ${c.weights === 'ignored' ? 'ignored, as in Envoy' : `respected (${c.weights})`}`, () => {
      const { lb } = build(c, [
        hostData('10.0.0.1', { weight: 1 }),
        hostData('10.0.0.2', { weight: 2 }),
        hostData('10.0.0.3', { weight: 3 }),
      ]);
      const n = 6000;
      const counts = tally(lb, n, context);
      const expected = c.weights === 'ignored' ? [1 / 3, 1 / 3, 1 / 3] : [1 / 6, 2 / 6, 3 / 6];
      ['10.0.0.1', '10.0.0.2', '10.0.0.3'].forEach((address, i) => {
        const got = share(counts, address, n);
        if (c.weights === 'exact') assert.equal(counts.get(address), expected[i]! * n, address);
        else assert.ok(Math.abs(got - expected[i]!) <= c.tolerance, `${address}: ${got} vs ${expected[i]}`);
      });
    });

    test('a host added mid-traffic gets picked; a removed host is never picked again', () => {
      const hosts = hostRange(3);
      const { lb, prioritySet } = build(c, hosts);
      const before = tally(lb, 300, context);
      assert.equal(before.size, 3);
      const kept = prioritySet.host('10.0.0.2:80');

      prioritySet.update([...hosts, hostData('10.0.0.4')]);
      const afterAdd = tally(lb, 2000, (i) => context(300 + i));
      assert.ok((afterAdd.get('10.0.0.4') ?? 0) > 0, 'the added host is picked');

      prioritySet.update([hosts[1]!, hosts[2]!, hostData('10.0.0.4')]);
      const afterRemove = tally(lb, 2000, (i) => context(2300 + i));
      assert.equal(afterRemove.get('10.0.0.1'), undefined, 'the removed host is never picked');
      assert.equal(afterRemove.size, 3);
      assert.equal(prioritySet.host('10.0.0.2:80'), kept, 'a host keeps its identity across updates');
    });

    test('an empty cluster, or one emptied by an update, gives undefined', () => {
      const { lb, prioritySet } = build(c, []);
      assert.equal(lb.chooseHost(context(0)), undefined);
      prioritySet.update(hostRange(2));
      assert.ok(lb.chooseHost(context(1)) !== undefined);
      prioritySet.update([]);
      for (let i = 0; i < 10; i++) assert.equal(lb.chooseHost(context(i)), undefined);
    });

    test('all hosts unhealthy: panic picks among all of them and counts lb_healthy_panic', () => {
      const { lb, panic } = build(c, hostRange(3, { health: 'UNHEALTHY' }));
      const n = 600;
      const counts = tally(lb, n, context);
      assert.deepEqual([...counts.keys()].sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
      assert.equal(panic.count, n);
    });

    test('one healthy host of three is still panic (33% < 50%), and it lifts when health returns', () => {
      const hosts = [hostData('10.0.0.1'), ...hostRange(2, { health: 'UNHEALTHY' }, 2)];
      const { lb, prioritySet, panic } = build(c, hosts);
      const counts = tally(lb, 600, context);
      assert.equal(counts.size, 3, 'picks go to all hosts');
      prioritySet.update(hostRange(3));
      panic.count = 0;
      tally(lb, 100, context);
      assert.equal(panic.count, 0);
    });

    test('priority failover: with P0 all unhealthy, P1 takes all traffic without panic', () => {
      const { lb, panic } = build(c, [
        ...hostRange(2, { priority: 0, health: 'UNHEALTHY' }),
        ...hostRange(2, { priority: 1 }),
      ]);
      const counts = tally(lb, 1000, context);
      assert.deepEqual([...counts.keys()].sort(), ['10.0.1.1', '10.0.1.2']);
      assert.equal(panic.count, 0);
    });

    test('P0 half healthy with overprovisioning 1.4 takes 70% of traffic, P1 the other 30%', () => {
      const { lb } = build(c, [
        ...hostRange(5, { priority: 0 }),
        ...hostRange(5, { priority: 0, health: 'UNHEALTHY' }, 6),
        ...hostRange(10, { priority: 1 }),
      ]);
      assert.ok(lb instanceof LoadBalancerBase);
      assert.deepEqual(lb.priorityLoad(), { healthy: [70, 30], degraded: [0, 0] });
      const n = 10000;
      const counts = tally(lb, n, context);
      let p0 = 0;
      let p1 = 0;
      for (const [address, count] of counts) {
        if (address.startsWith('10.0.0.')) {
          assert.ok(Number(address.split('.')[3]) <= 5, `unhealthy ${address} is not picked`);
          p0 += count;
        } else {
          p1 += count;
        }
      }
      assert.ok(Math.abs(p0 / n - 0.7) <= 0.02, `P0 share ${p0 / n}`);
      assert.ok(Math.abs(p1 / n - 0.3) <= 0.02, `P1 share ${p1 / n}`);
    });
  });
}
