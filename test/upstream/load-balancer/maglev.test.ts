/**
 * MAGLEV: an even spread over many keys with equal weights (within 5%), table entries in
 * weight proportion (Envoy's documented 21,846 / 43,691 for weights 1:2), stable keys,
 * little disruption when a host goes, the prime table size rule, and re-picks that move the
 * hash. Envoy counterpart: test/extensions/load_balancing_policies/maglev/maglev_lb_test.cc.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initHashing, xxhash64 } from '../../../src/upstream/load-balancer/hash.ts';
import { MaglevLoadBalancer } from '../../../src/upstream/load-balancer/maglev.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type { Host, HostData, LoadBalancerContext } from '../../../src/upstream/types.ts';
import { CountingStat, hostData, hostRange, lbConfig, prng } from './helpers.ts';

function maglev(hosts: readonly HostData[], tableSize = 65537) {
  const prioritySet = new PrioritySetImpl(hosts);
  const lb = new MaglevLoadBalancer(
    prioritySet,
    { lbHealthyPanic: new CountingStat() },
    prng(9),
    lbConfig('MAGLEV', { maglev: { tableSize } }),
  );
  return { lb, prioritySet };
}

function keyed(key: bigint, extra: Partial<LoadBalancerContext> = {}): LoadBalancerContext {
  return { computeHashKey: () => key, ...extra };
}

const KEYS: bigint[] = [];

before(async () => {
  await initHashing();
  for (let i = 0; i < 100000; i++) KEYS.push(xxhash64(`client-${i}`));
});

describe('MaglevLoadBalancer', () => {
  test('equal weights: 100,000 keys spread over 10 hosts within 5% of even', () => {
    const { lb } = maglev(hostRange(10));
    const counts = new Map<string, number>();
    for (const key of KEYS) {
      const address = lb.chooseHost(keyed(key))!.address;
      counts.set(address, (counts.get(address) ?? 0) + 1);
    }
    assert.equal(counts.size, 10);
    for (const [address, count] of counts)
      assert.ok(Math.abs(count / 10000 - 1) <= 0.05, `${address}: ${count}`);
    const table = lb.table(0)!;
    assert.deepEqual([table.minEntriesPerHost, table.maxEntriesPerHost], [6553, 6554]);
  });

  test('weights 1:2 fill 21,846 and 43,691 of the 65,537 entries, as Envoy documents', () => {
    const table = maglev([hostData('10.0.0.1', { weight: 1 }), hostData('10.0.0.2', { weight: 2 })]).lb.table(
      0,
    )!;
    assert.deepEqual([table.minEntriesPerHost, table.maxEntriesPerHost], [21846, 43691]);
  });

  test('the same key always gets the same host', () => {
    const { lb } = maglev(hostRange(5));
    const first = KEYS.slice(0, 2000).map((k) => lb.chooseHost(keyed(k)));
    for (let i = 0; i < 100; i++) lb.chooseHost(undefined);
    assert.deepEqual(
      KEYS.slice(0, 2000).map((k) => lb.chooseHost(keyed(k))),
      first,
    );
  });

  test('removing a host moves its keys and hardly any other (under 1% of the rest)', () => {
    const hosts = hostRange(5);
    const { lb, prioritySet } = maglev(hosts);
    const keys = KEYS.slice(0, 20000);
    const before = keys.map((k) => lb.chooseHost(keyed(k))!.address);
    prioritySet.update(hosts.filter((h) => h.address !== '10.0.0.3'));
    let others = 0;
    let othersMoved = 0;
    keys.forEach((k, i) => {
      const after = lb.chooseHost(keyed(k))!.address;
      if (before[i] === '10.0.0.3') {
        assert.notEqual(after, '10.0.0.3');
      } else {
        others++;
        if (after !== before[i]) othersMoved++;
      }
    });
    assert.ok(othersMoved / others < 0.01, `${othersMoved} of ${others}`);
  });

  test('the table size must be prime', () => {
    assert.throws(() => maglev(hostRange(2), 65536), /must be prime/);
    const { lb } = maglev(hostRange(2), 7);
    assert.equal(lb.table(0)!.table.length, 7);
  });

  test('a rejected host is re-picked from a flipped hash', () => {
    const { lb } = maglev(hostRange(2));
    const avoidA = (h: Host) => h.address === '10.0.0.1';
    let a = 0;
    const keys = KEYS.slice(0, 4000);
    for (const key of keys)
      if (lb.chooseHost(keyed(key, { shouldSelectAnotherHost: avoidA }))!.address === '10.0.0.1') a++;
    // One retry: A is kept only when both the hash and the flipped hash land on it.
    assert.ok(Math.abs(a / keys.length - 0.25) < 0.03, `A got ${a}`);
  });

  test('an empty host list has no table to pick from', () => {
    const { lb } = maglev([]);
    assert.equal(lb.chooseHost(keyed(1n)), undefined);
  });
});
