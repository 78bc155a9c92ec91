/**
 * DeadlineTimer and its pool on simulated time: a borrowed timer fires at its holder's
 * deadline and never for a holder that gave it back; a timer given back while armed is lent
 * again without a second timer, and still fires at the new holder's deadline (later or
 * earlier than the one it was armed for); restart pushes the deadline; pools are per
 * dispatcher and per purpose.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeadlineTimerPool, deadlineTimerPool } from '../../src/event/deadline-timer.ts';
import { DispatcherImpl, simulatedBackend } from '../../src/event/dispatcher.ts';
import { SimulatedTimeSource } from '../../src/event/time-source.ts';

function setup(): { sim: SimulatedTimeSource; d: DispatcherImpl; pool: DeadlineTimerPool; fired: string[] } {
  const sim = new SimulatedTimeSource();
  const d = new DispatcherImpl('worker_0', simulatedBackend(sim));
  return { sim, d, pool: new DeadlineTimerPool(d), fired: [] };
}

/** `f()` run as a dispatcher event (timers count from the batch's time), its result returned. */
function inRun<T>(d: DispatcherImpl, f: () => T): T {
  let out: T | undefined;
  d.run(() => {
    out = f();
  });
  return out as T;
}

describe('DeadlineTimer', () => {
  test('fires once at its deadline', () => {
    const { sim, d, pool, fired } = setup();
    const t = inRun(d, () => pool.acquire(100, () => fired.push(`a@${sim.monotonicNow()}`)));
    sim.advanceTimeAndRun(99);
    assert.deepEqual(fired, []);
    assert.equal(t.armed(), true);
    sim.advanceTimeAndRun(1);
    assert.deepEqual(fired, ['a@100']);
    assert.equal(t.armed(), false);
    sim.advanceTimeAndRun(1000);
    assert.deepEqual(fired, ['a@100']);
  });

  test('a released timer never calls its former holder, and is lent again', () => {
    const { sim, d, pool, fired } = setup();
    const a = inRun(d, () => pool.acquire(100, () => fired.push('a')));
    sim.advanceTimeAndRun(10);
    d.run(() => a.release());
    const b = inRun(d, () => pool.acquire(100, () => fired.push(`b@${sim.monotonicNow()}`)));
    assert.equal(b, a, 'the free timer is reused');
    // Armed for 100 by a; b's deadline is 110: the timer fires at 100 and re-arms for 10 more.
    sim.advanceTimeAndRun(90);
    assert.deepEqual(fired, []);
    sim.advanceTimeAndRun(10);
    assert.deepEqual(fired, ['b@110']);
  });

  test('a new holder with an earlier deadline than the timer is armed for fires on time', () => {
    const { sim, d, pool, fired } = setup();
    const a = inRun(d, () => pool.acquire(1000, () => fired.push('a')));
    d.run(() => a.release());
    d.run(() => pool.acquire(50, () => fired.push(`b@${sim.monotonicNow()}`)));
    sim.advanceTimeAndRun(50);
    assert.deepEqual(fired, ['b@50']);
    sim.advanceTimeAndRun(2000);
    assert.deepEqual(fired, ['b@50']);
  });

  test('restart pushes the deadline back; disarm stops it', () => {
    const { sim, d, pool, fired } = setup();
    const note = (what: string): void => {
      fired.push(what);
    };
    const t = inRun(d, () => pool.acquire(100, () => note(`t@${sim.monotonicNow()}`)));
    for (let i = 0; i < 4; i++) {
      sim.advanceTimeAndRun(60);
      d.run(() => t.restart(100));
    }
    // Last restart at 240.
    sim.advanceTimeAndRun(99);
    assert.deepEqual(fired, []);
    sim.advanceTimeAndRun(1);
    assert.deepEqual(fired, ['t@340']);
    d.run(() => t.restart(100));
    sim.advanceTimeAndRun(500);
    assert.deepEqual(fired, ['t@340'], 'restart after firing does nothing: the callback is gone');
    d.run(() => t.arm(10, () => note('again')));
    d.run(() => t.disarm());
    sim.advanceTimeAndRun(100);
    assert.deepEqual(fired, ['t@340']);
  });

  test('concurrent holders each get their own timer', () => {
    const { sim, d, pool, fired } = setup();
    const a = inRun(d, () => pool.acquire(30, () => fired.push(`a@${sim.monotonicNow()}`)));
    const b = inRun(d, () => pool.acquire(20, () => fired.push(`b@${sim.monotonicNow()}`)));
    assert.notEqual(a, b);
    sim.advanceTimeAndRun(30);
    assert.deepEqual(fired, ['b@20', 'a@30']);
  });

  test('pools are per dispatcher and per purpose', () => {
    const { d } = setup();
    const other = new DispatcherImpl('worker_1', simulatedBackend(new SimulatedTimeSource()));
    assert.equal(deadlineTimerPool(d, 'x'), deadlineTimerPool(d, 'x'));
    assert.notEqual(deadlineTimerPool(d, 'x'), deadlineTimerPool(d, 'y'));
    assert.notEqual(deadlineTimerPool(d, 'x'), deadlineTimerPool(other, 'x'));
  });
});
