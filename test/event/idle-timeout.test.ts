/**
 * IdleTimeout on simulated time: it fires `ms` after the last restart however many restarts
 * came before, a restart with an earlier deadline moves the timer earlier, cancel() stops it,
 * and a restart after it fired arms it again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DispatcherImpl, simulatedBackend } from '../../src/event/dispatcher.ts';
import { IdleTimeout } from '../../src/event/idle-timeout.ts';
import { SimulatedTimeSource } from '../../src/event/time-source.ts';

function setup(): { sim: SimulatedTimeSource; d: DispatcherImpl; fired: number[]; t: IdleTimeout } {
  const sim = new SimulatedTimeSource();
  const d = new DispatcherImpl('worker_0', simulatedBackend(sim));
  const fired: number[] = [];
  const t = new IdleTimeout(d, () => fired.push(sim.monotonicNow()));
  return { sim, d, fired, t };
}

describe('IdleTimeout', () => {
  test('fires ms after the last restart, not after the first', () => {
    const { sim, d, fired, t } = setup();
    d.run(() => t.restart(100));
    for (let i = 0; i < 5; i++) {
      sim.advanceTimeAndRun(30);
      d.run(() => t.restart(100));
    }
    // Last restart at 150: nothing before 250.
    sim.advanceTimeAndRun(99);
    assert.deepEqual(fired, []);
    assert.equal(t.enabled(), true);
    sim.advanceTimeAndRun(1);
    assert.deepEqual(fired, [250]);
    assert.equal(t.enabled(), false);
  });

  test('a restart with an earlier deadline fires at that deadline', () => {
    const { sim, d, fired, t } = setup();
    d.run(() => t.restart(1000));
    sim.advanceTimeAndRun(10);
    d.run(() => t.restart(50));
    sim.advanceTimeAndRun(50);
    assert.deepEqual(fired, [60]);
  });

  test('cancel stops it; a restart after firing or cancelling arms it again', () => {
    const { sim, d, fired, t } = setup();
    d.run(() => t.restart(20));
    sim.advanceTimeAndRun(10);
    t.cancel();
    assert.equal(t.enabled(), false);
    sim.advanceTimeAndRun(100);
    assert.deepEqual(fired, []);
    d.run(() => t.restart(20));
    sim.advanceTimeAndRun(20);
    assert.deepEqual(fired, [130]);
    d.run(() => t.restart(5));
    sim.advanceTimeAndRun(5);
    assert.deepEqual(fired, [130, 135]);
  });
});
