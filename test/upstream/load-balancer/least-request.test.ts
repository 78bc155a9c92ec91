/**
 * LEAST_REQUEST: power of two choices steers away from a busy host when weights are equal
 * (more choices steer harder), and with different weights the EDF schedule uses
 * weight / (active + 1)^bias, so active requests shrink a host's share as Envoy documents.
 * Envoy counterpart: test/common/upstream/least_request_load_balancer_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeastRequestLoadBalancer } from '../../../src/upstream/load-balancer/least-request.ts';
import { PrioritySetImpl } from '../../../src/upstream/priority-set.ts';
import type { HostData } from '../../../src/upstream/types.ts';
import { CountingStat, hostData, hostRange, lbConfig, prng, tally } from './helpers.ts';

function leastRequest(hosts: readonly HostData[], choiceCount = 2, activeRequestBias = 1) {
  const prioritySet = new PrioritySetImpl(hosts);
  const lb = new LeastRequestLoadBalancer(
    prioritySet,
    { lbHealthyPanic: new CountingStat() },
    prng(11),
    lbConfig('LEAST_REQUEST', { leastRequest: { choiceCount, activeRequestBias } }),
  );
  return { lb, prioritySet };
}

describe('LeastRequestLoadBalancer', () => {
  test('equal weights: a host with many active requests is picked only when every choice lands on it', () => {
    const { lb, prioritySet } = leastRequest(hostRange(4));
    prioritySet.host('10.0.0.1:80')!.activeRequests = 50;
    const n = 8000;
    const busy = (tally(lb, n).get('10.0.0.1') ?? 0) / n;
    // Both of 2 choices on it: 1/16, against 1/4 for an idle host.
    assert.ok(Math.abs(busy - 1 / 16) < 0.015, `busy share ${busy}`);
  });

  test('more choices avoid the busy host harder (choice_count 4: 1/256)', () => {
    const { lb, prioritySet } = leastRequest(hostRange(4), 4);
    prioritySet.host('10.0.0.1:80')!.activeRequests = 50;
    const n = 8000;
    assert.ok((tally(lb, n).get('10.0.0.1') ?? 0) / n < 0.01);
  });

  test('with unequal weights, active requests divide the weight: weight 2 with 3 active is half of weight 1 idle', () => {
    const { lb, prioritySet } = leastRequest([
      hostData('10.0.0.1', { weight: 2 }),
      hostData('10.0.0.2', { weight: 1 }),
    ]);
    prioritySet.host('10.0.0.1:80')!.activeRequests = 3; // 2 / (3 + 1) = 0.5
    const counts = tally(lb, 3000);
    const busy = counts.get('10.0.0.1') ?? 0;
    assert.ok(Math.abs(busy - 1000) <= 2, `busy host got ${busy} of 3000`);
  });

  test('active_request_bias 0 ignores active requests (weighted round robin)', () => {
    const { lb, prioritySet } = leastRequest(
      [hostData('10.0.0.1', { weight: 2 }), hostData('10.0.0.2', { weight: 1 })],
      2,
      0,
    );
    prioritySet.host('10.0.0.1:80')!.activeRequests = 100;
    const counts = tally(lb, 3000);
    assert.deepEqual([counts.get('10.0.0.1'), counts.get('10.0.0.2')], [2000, 1000]);
  });

  test('picks follow active requests as they change: a host that drains gets its share back', () => {
    const { lb, prioritySet } = leastRequest(hostRange(4));
    const a = prioritySet.host('10.0.0.1:80')!;
    a.activeRequests = 50;
    const n = 8000;
    assert.ok((tally(lb, n).get('10.0.0.1') ?? 0) / n < 0.08);
    a.activeRequests = 0;
    const drained = (tally(lb, n).get('10.0.0.1') ?? 0) / n;
    assert.ok(Math.abs(drained - 0.25) < 0.02, `drained share ${drained}`);
  });
});
