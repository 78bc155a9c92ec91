/**
 * RING_HASH: a hash key keeps its host, removing a host moves only that host's keys (adding
 * one takes keys only for itself), the ring's size and hashes per host follow
 * minimum_ring_size / maximum_ring_size and the weights, entries sit at xxHash64 of
 * `<address:port>_<i>`, re-picks walk round the ring, and no key means a random host.
 * Envoy counterpart: test/extensions/load_balancing_policies/ring_hash/ring_hash_lb_test.cc.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  initHashing,
  split64,
  splitHi,
  splitLo,
  xxhash64,
} from '../../../src/upstream/load-balancer/hash.ts';
import { type Ring, RingHashLoadBalancer } from '../../../src/upstream/load-balancer/ring-hash.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type { Host, HostData, LoadBalancerContext } from '../../../src/upstream/types.ts';
import { CountingStat, hostData, hostRange, lbConfig, prng, tally } from './helpers.ts';

function ringHash(hosts: readonly HostData[], minimumRingSize = 1024, maximumRingSize = 8 * 1024 * 1024) {
  const prioritySet = new PrioritySetImpl(hosts);
  const lb = new RingHashLoadBalancer(
    prioritySet,
    { lbHealthyPanic: new CountingStat() },
    prng(5),
    lbConfig('RING_HASH', { ringHash: { minimumRingSize, maximumRingSize } }),
  );
  return { lb, prioritySet };
}

function keyed(key: bigint, extra: Partial<LoadBalancerContext> = {}): LoadBalancerContext {
  return { computeHashKey: () => key, ...extra };
}

const KEYS: bigint[] = [];

before(async () => {
  await initHashing();
  for (let i = 0; i < 5000; i++) KEYS.push(xxhash64(`session-${i}`));
});

function assignment(lb: RingHashLoadBalancer): string[] {
  return KEYS.map((k) => lb.chooseHost(keyed(k))!.address);
}

/** The ring entry a key lands on. */
function entryIndex(ring: Ring, key: bigint): number {
  split64(key);
  const hi = splitHi();
  const lo = splitLo();
  for (let i = 0; i < ring.size; i++) {
    if (ring.hashHi[i]! > hi || (ring.hashHi[i] === hi && ring.hashLo[i]! >= lo)) return i;
  }
  return 0;
}

/** Which of its host's entries (the i of `<address:port>_<i>`) a ring entry is. */
function replicaOf(ring: Ring, index: number): number {
  const host = ring.hosts[index]!;
  for (let i = 0; i < 100000; i++) {
    split64(xxhash64(`${host.key}_${i}`));
    if (splitHi() === ring.hashHi[index] && splitLo() === ring.hashLo[index]) return i;
  }
  throw new Error('not an entry of its host');
}

describe('RingHashLoadBalancer', () => {
  test('the same hash key always gets the same host, whatever else is picked in between', () => {
    const { lb } = ringHash(hostRange(5));
    const first = assignment(lb);
    tally(lb, 1000);
    assert.deepEqual(assignment(lb), first);
    assert.equal(new Set(first).size, 5);
  });

  test('removing a host moves its own keys; other keys move only to the entries the re-scaled ring adds', () => {
    const hosts = hostRange(5);
    const { lb, prioritySet } = ringHash(hosts);
    const oldPerHost = lb.ring(0)!.maxHashesPerHost; // 1024 / 5 -> 205
    const before = assignment(lb);
    prioritySet.update(hosts.filter((h) => h.address !== '10.0.0.3'));
    const ring = lb.ring(0)!; // 1024 / 4 -> 256 per host
    const after = assignment(lb);
    let ownMoved = 0;
    let otherMoved = 0;
    before.forEach((host, i) => {
      if (host === '10.0.0.3') {
        assert.notEqual(after[i], '10.0.0.3');
        ownMoved++;
      } else if (after[i] !== host) {
        assert.ok(
          replicaOf(ring, entryIndex(ring, KEYS[i]!)) >= oldPerHost,
          `key ${i} left ${host} for an old entry`,
        );
        otherMoved++;
      }
    });
    assert.ok(ownMoved > 0);
    assert.ok(otherMoved / KEYS.length < 0.25, `${otherMoved} other keys moved`);
  });

  test('with hashes per host unchanged, a removed host moves only the keys that were on it', () => {
    // minimum_ring_size 8: 2 entries per host for 5 hosts and for 4.
    const hosts = hostRange(5);
    const { lb, prioritySet } = ringHash(hosts, 8);
    const before = assignment(lb);
    prioritySet.update(hosts.filter((h) => h.address !== '10.0.0.3'));
    assert.equal(lb.ring(0)!.maxHashesPerHost, 2);
    const after = assignment(lb);
    before.forEach((host, i) => {
      if (host === '10.0.0.3') assert.notEqual(after[i], '10.0.0.3');
      else assert.equal(after[i], host, `key ${i} stays on ${host}`);
    });
  });

  test('adding a host takes keys for itself, and from the entries the re-scaled ring drops', () => {
    const hosts = hostRange(4);
    const { lb, prioritySet } = ringHash(hosts);
    const oldRing = lb.ring(0)!;
    const before = assignment(lb);
    prioritySet.update([...hosts, hostData('10.0.0.9')]);
    const newPerHost = lb.ring(0)!.maxHashesPerHost; // 205
    const after = assignment(lb);
    let taken = 0;
    before.forEach((host, i) => {
      if (after[i] === host) return;
      if (after[i] === '10.0.0.9') taken++;
      else
        assert.ok(
          replicaOf(oldRing, entryIndex(oldRing, KEYS[i]!)) >= newPerHost,
          `key ${i} moved off a kept entry`,
        );
    });
    assert.ok(Math.abs(taken / KEYS.length - 0.2) < 0.06, `new host took ${taken}`);
  });

  test('ring size: the lightest host gets a whole number of at least minimum_ring_size entries, in weight proportion', () => {
    const equal = ringHash(hostRange(3)).lb.ring(0)!;
    // 1024 * 1/3 rounds up to 342 per host.
    assert.equal(equal.size, 1026);
    assert.deepEqual([equal.minHashesPerHost, equal.maxHashesPerHost], [342, 342]);
    const weighted = ringHash([
      hostData('10.0.0.1', { weight: 1 }),
      hostData('10.0.0.2', { weight: 2 }),
    ]).lb.ring(0)!;
    assert.equal(weighted.size, 1026);
    assert.deepEqual([weighted.minHashesPerHost, weighted.maxHashesPerHost], [342, 684]);
  });

  test('maximum_ring_size caps the ring; a minimum above the maximum is refused', () => {
    const ring = ringHash(
      [hostData('10.0.0.1', { weight: 1 }), hostData('10.0.0.2', { weight: 1000 })],
      64,
      100,
    ).lb.ring(0)!;
    assert.ok(ring.size <= 101, `size ${ring.size}`);
    assert.equal(ring.minHashesPerHost, 1);
    assert.throws(
      () => ringHash(hostRange(2), 2048, 1024),
      /minimum_ring_size \(2048\) > maximum_ring_size \(1024\)/,
    );
  });

  test("entries sit at xxHash64 of '<address:port>_<i>' (IPv6 in brackets), sorted", () => {
    const ring = ringHash([hostData('::1', { port: 8080 })], 4, 4).lb.ring(0)!;
    const expected = [0, 1, 2, 3]
      .map((i) => BigInt.asUintN(64, xxhash64(`[::1]:8080_${i}`)))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((h) => {
        split64(h);
        return [splitHi(), splitLo()];
      });
    assert.deepEqual(
      [...ring.hashHi].map((hi, i) => [hi, ring.hashLo[i]]),
      expected,
    );
  });

  test('a key past the last entry wraps to the first', () => {
    const { lb } = ringHash(hostRange(3));
    const ring = lb.ring(0)!;
    assert.equal(lb.chooseHost(keyed(0xffffffffffffffffn)), ring.hosts[0]);
    assert.equal(lb.chooseHost(keyed(0n)), ring.hosts[0]);
  });

  test('a rejected host is re-picked round the ring, so retries almost always avoid it', () => {
    const { lb } = ringHash(hostRange(2));
    const avoidA = (h: Host) => h.address === '10.0.0.1';
    let a = 0;
    for (const key of KEYS)
      if (
        lb.chooseHost(keyed(key, { shouldSelectAnotherHost: avoidA, hostSelectionRetryCount: () => 8 }))!
          .address === '10.0.0.1'
      )
        a++;
    assert.ok(a / KEYS.length < 0.01, `A still got ${a}`);
  });

  test('without a hash key the pick is random across hosts', () => {
    const counts = tally(ringHash(hostRange(4)).lb, 4000);
    assert.equal(counts.size, 4);
    for (const count of counts.values()) assert.ok(Math.abs(count / 4000 - 0.25) < 0.05);
  });
});
