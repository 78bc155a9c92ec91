/**
 * ROUND_ROBIN and the EDF scheduler under it: exact weighted counts over whole cycles from
 * any starting offset, plain rotation when weights are equal, a per-instance random start,
 * schedules rebuilt when weights change, and re-picks while the context rejects a host.
 * Envoy counterpart: test/common/upstream/edf_scheduler_test.cc, round_robin_load_balancer_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EdfScheduler } from '../../../src/upstream/load-balancer/edf.ts';
import { RoundRobinLoadBalancer } from '../../../src/upstream/load-balancer/round-robin.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type { HostData } from '../../../src/upstream/types.ts';
import { CountingStat, hostData, hostRange, lbConfig, prng, tally } from './helpers.ts';

function roundRobin(hosts: readonly HostData[], seed = 1) {
  const prioritySet = new PrioritySetImpl(hosts);
  const lb = new RoundRobinLoadBalancer(
    prioritySet,
    { lbHealthyPanic: new CountingStat() },
    prng(seed),
    lbConfig('ROUND_ROBIN'),
  );
  return { lb, prioritySet };
}

const WEIGHTS_123 = [
  hostData('10.0.0.1', { weight: 1 }),
  hostData('10.0.0.2', { weight: 2 }),
  hostData('10.0.0.3', { weight: 3 }),
];

describe('EdfScheduler', () => {
  test('weights 1:2:3 give exactly 1:2:3 in every window of 600 picks, from any number of emulated picks', () => {
    const orders = [
      [1, 2, 3],
      [3, 2, 1],
      [2, 3, 1],
    ];
    for (const weights of orders) {
      for (let picks = 0; picks < 2000; picks += 7) {
        const edf = EdfScheduler.createWithPicks(weights, (w) => w, picks);
        const counts = new Map<number, number>();
        for (let i = 0; i < 600; i++) {
          const w = edf.pickAndAdd((x) => x)!;
          counts.set(w, (counts.get(w) ?? 0) + 1);
        }
        assert.deepEqual(
          [counts.get(1), counts.get(2), counts.get(3)],
          [100, 200, 300],
          `${weights} after ${picks}`,
        );
      }
    }
  });

  test('a schedule made with P emulated picks continues as P picks from an empty one would', () => {
    const weights = [5, 1, 3, 3, 8];
    const reference = EdfScheduler.createWithPicks(weights, (w) => w, 0);
    const sequence: number[] = [];
    for (let i = 0; i < 400; i++) sequence.push(reference.pickAndAdd((w) => w)!);
    for (const picks of [1, 17, 100, 399]) {
      const edf = EdfScheduler.createWithPicks(weights, (w) => w, picks);
      const rest: number[] = [];
      for (let i = picks; i < 400; i++) rest.push(edf.pickAndAdd((w) => w)!);
      // Same weights tie at the same deadlines, so compare weights, not entries.
      assert.deepEqual(rest, sequence.slice(picks), `after ${picks}`);
    }
  });

  test('an empty schedule picks nothing', () => {
    assert.equal(
      EdfScheduler.createWithPicks<number>([], (w) => w, 5).pickAndAdd((w) => w),
      undefined,
    );
  });

  test('a weight taken at re-queue time moves the next deadline (what least request relies on)', () => {
    const weight = new Map([
      ['a', 1],
      ['b', 1],
    ]);
    const edf = EdfScheduler.createWithPicks(['a', 'b'], (x) => weight.get(x)!, 0);
    weight.set('a', 0.25);
    const picks: string[] = [];
    for (let i = 0; i < 10; i++) picks.push(edf.pickAndAdd((x) => weight.get(x)!)!);
    // a is due 4 after its first pick: once every 5 picks from then on.
    assert.equal(picks.join(''), 'abbbbabbbb');
  });
});

describe('RoundRobinLoadBalancer', () => {
  test('weights 1:2:3 over 600 picks give exactly 100 / 200 / 300, whatever the random start', () => {
    for (let seed = 0; seed < 50; seed++) {
      const counts = tally(roundRobin(WEIGHTS_123, seed).lb, 600);
      assert.deepEqual(
        [counts.get('10.0.0.1'), counts.get('10.0.0.2'), counts.get('10.0.0.3')],
        [100, 200, 300],
        `seed ${seed}`,
      );
    }
  });

  test('equal weights: a plain rotation, every host once per round, always in the same order', () => {
    const { lb } = roundRobin(hostRange(4));
    const first = [0, 1, 2, 3].map(() => lb.chooseHost(undefined)!.address);
    assert.equal(new Set(first).size, 4);
    for (let round = 0; round < 10; round++) {
      assert.deepEqual(
        [0, 1, 2, 3].map(() => lb.chooseHost(undefined)!.address),
        first,
      );
    }
  });

  test('each instance starts its rotation at a random offset', () => {
    const starts = new Set<string>();
    for (let seed = 0; seed < 20; seed++)
      starts.add(roundRobin(hostRange(4), seed).lb.chooseHost(undefined)!.address);
    assert.ok(starts.size > 1, `${[...starts]}`);
  });

  test('a weight change rebuilds the schedule', () => {
    const { lb, prioritySet } = roundRobin(hostRange(2));
    assert.deepEqual([...tally(lb, 100).values()], [50, 50]);
    prioritySet.update([hostData('10.0.0.1', { weight: 3 }), hostData('10.0.0.2')]);
    const counts = tally(lb, 400);
    assert.deepEqual([counts.get('10.0.0.1'), counts.get('10.0.0.2')], [300, 100]);
  });

  test('a host the context rejects is replaced by the next pick (one retry by default)', () => {
    const { lb } = roundRobin(hostRange(3));
    const context = { shouldSelectAnotherHost: (h: { address: string }) => h.address === '10.0.0.2' };
    const counts = tally(lb, 300, () => context);
    assert.equal(counts.get('10.0.0.2'), undefined);
    assert.deepEqual([counts.get('10.0.0.1'), counts.get('10.0.0.3')], [150, 150]);
  });

  test('hostSelectionRetryCount bounds the re-picks; the last pick stands', () => {
    const { lb } = roundRobin(hostRange(3));
    let asked = 0;
    const context = {
      shouldSelectAnotherHost: () => {
        asked++;
        return true;
      },
      hostSelectionRetryCount: () => 3,
    };
    assert.ok(lb.chooseHost(context) !== undefined);
    assert.equal(asked, 3, '4 picks, the first 3 rejected');
  });
});
