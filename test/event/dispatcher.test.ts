/**
 * DispatcherImpl on simulated time: timer order, re-arming and disabling from callbacks,
 * the pass rule for zero-delay timers, deferred deletion, current / next iteration and post
 * ordering, the cached time, stats, exceptions and exit(). The real backend has its own
 * tests in real-backend.test.ts. Envoy counterpart: test/common/event/dispatcher_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DispatcherImpl, simulatedBackend } from '../../src/event/dispatcher.ts';
import { SimulatedTimeSource } from '../../src/event/time-source.ts';
import type { DeferredDeletable, DispatcherStats } from '../../src/event/types.ts';

function setup(name = 'worker_0'): { sim: SimulatedTimeSource; d: DispatcherImpl } {
  const sim = new SimulatedTimeSource();
  return { sim, d: new DispatcherImpl(name, simulatedBackend(sim)) };
}

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Deletable implements DeferredDeletable {
  readonly name: string;
  readonly log: string[];
  readonly onDestroy: () => void;
  pending: boolean;

  constructor(name: string, log: string[], onDestroy: () => void = () => {}) {
    this.name = name;
    this.log = log;
    this.onDestroy = onDestroy;
    this.pending = false;
  }

  deleteIsPending(): void {
    this.pending = true;
  }

  destroy(): void {
    this.log.push(`destroy ${this.name}`);
    this.onDestroy();
  }
}

describe('timers on simulated time', () => {
  test('10,000 timers with random delays fire in deadline order, ties in arming order, each at its deadline', () => {
    const { sim, d } = setup();
    const rand = prng(42);
    const fired: { deadline: number; order: number }[] = [];
    const expected: { deadline: number; order: number }[] = [];
    const timers = [];
    for (let i = 0; i < 10_000; i++) {
      // Integer delays in [0, 1000): many ties.
      const delay = Math.floor(rand() * 1000);
      const entry = { deadline: delay, order: i };
      expected.push(entry);
      const t = d.createTimer(() => {
        assert.equal(sim.monotonicNow(), entry.deadline, 'time is at the deadline when the timer fires');
        assert.equal(d.approximateMonotonicTime(), entry.deadline);
        fired.push(entry);
      });
      t.enableTimer(delay);
      timers.push(t);
    }
    // Re-arm every third timer: it moves to its new deadline and behind the timers armed before.
    for (let i = 0; i < timers.length; i += 3) {
      const delay = Math.floor(rand() * 1000);
      timers[i]!.enableTimer(delay);
      expected[i]!.deadline = delay;
      expected[i]!.order = 10_000 + i;
    }
    expected.sort((a, b) => a.deadline - b.deadline || a.order - b.order);
    sim.advanceTimeAndRun(1000);
    assert.equal(fired.length, 10_000);
    assert.deepEqual(fired, expected);
    assert.ok(timers.every((t) => !t.enabled()));
  });

  test('a timer re-armed inside its own callback fires again at the new deadline', () => {
    const { sim, d } = setup();
    const at: number[] = [];
    const t = d.createTimer(() => {
      at.push(sim.monotonicNow());
      assert.equal(t.enabled(), false, 'a firing timer is no longer armed');
      if (at.length < 3) t.enableTimer(10);
    });
    t.enableTimer(10);
    sim.advanceTimeAndRun(100);
    assert.deepEqual(at, [10, 20, 30]);
    assert.equal(t.enabled(), false);
  });

  test('a timer re-armed in another timer callback fires at its new deadline, not the old one', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const b = d.createTimer(() => log.push(`b@${sim.monotonicNow()}`));
    const a = d.createTimer(() => {
      log.push(`a@${sim.monotonicNow()}`);
      b.enableTimer(20);
    });
    a.enableTimer(10);
    b.enableTimer(15);
    sim.advanceTimeAndRun(100);
    assert.deepEqual(log, ['a@10', 'b@30']);
  });

  test('a due timer re-armed by an earlier timer of the same pass waits for its new deadline', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const b = d.createTimer(() => log.push(`b@${sim.monotonicNow()}`));
    const a = d.createTimer(() => {
      log.push(`a@${sim.monotonicNow()}`);
      b.enableTimer(5);
    });
    a.enableTimer(10);
    b.enableTimer(10);
    sim.advanceTimeAndRun(100);
    assert.deepEqual(log, ['a@10', 'b@15']);
  });

  test('a timer disabled by another callback of the same pass does not fire', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const b = d.createTimer(() => log.push('b'));
    const c = d.createTimer(() => log.push('c'));
    const a = d.createTimer(() => {
      log.push('a');
      b.disableTimer();
      assert.equal(b.enabled(), false);
    });
    a.enableTimer(10);
    b.enableTimer(10);
    c.enableTimer(10);
    sim.advanceTimeAndRun(100);
    assert.deepEqual(log, ['a', 'c']);
    b.disableTimer(); // disabling a disarmed timer is a no-op
  });

  test('enableTimer(0) fires on the next loop pass, after the already-due timers armed earlier', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const c = d.createTimer(() => log.push(`c@${sim.monotonicNow()}`));
    const a = d.createTimer(() => {
      log.push(`a@${sim.monotonicNow()}`);
      if (log.length === 1) {
        c.enableTimer(0);
        a.enableTimer(0);
      }
    });
    const b = d.createTimer(() => log.push(`b@${sim.monotonicNow()}`));
    a.enableTimer(10);
    b.enableTimer(10);
    sim.advanceTimeAndRun(10);
    assert.deepEqual(log, ['a@10', 'b@10', 'c@10', 'a@10']);
  });

  test('enableTimer(0) armed outside a pass fires after a timer that became due earlier', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const late = d.createTimer(() => log.push('due earlier'));
    const zero = d.createTimer(() => log.push('zero'));
    late.enableTimer(5);
    sim.advance(10); // time moves, nothing runs
    zero.enableTimer(0);
    assert.deepEqual(log, []);
    sim.runUntilIdle();
    assert.deepEqual(log, ['due earlier', 'zero']);
  });

  test('timers of two dispatchers on one clock fire in global deadline order', () => {
    const sim = new SimulatedTimeSource();
    const main = new DispatcherImpl('main_thread', simulatedBackend(sim));
    const worker = new DispatcherImpl('worker_0', simulatedBackend(sim));
    const log: string[] = [];
    main.createTimer(() => log.push(`main@${sim.monotonicNow()}`)).enableTimer(20);
    worker.createTimer(() => log.push(`worker@${sim.monotonicNow()}`)).enableTimer(10);
    main.createTimer(() => log.push(`main@${sim.monotonicNow()}`)).enableTimer(5);
    sim.advanceTimeAndRun(30);
    assert.deepEqual(log, ['main@5', 'worker@10', 'main@20']);
    assert.equal(sim.monotonicNow(), 30);
  });

  test('advanceTimeAndRun stops short of timers beyond the window and fires them on a later advance', () => {
    const { sim, d } = setup();
    let fired = 0;
    const t = d.createTimer(() => fired++);
    t.enableTimer(50);
    sim.advanceTimeAndRun(49);
    assert.equal(fired, 0);
    assert.equal(t.enabled(), true);
    sim.advanceTimeAndRun(1);
    assert.equal(fired, 1);
  });

  test('a callback that advances time past the window does not make time go back', () => {
    const { sim, d } = setup();
    d.createTimer(() => sim.advance(100)).enableTimer(10);
    sim.advanceTimeAndRun(20);
    assert.equal(sim.monotonicNow(), 110);
  });

  test('a negative, NaN or infinite duration is a bug and throws', () => {
    const { d } = setup();
    const t = d.createTimer(() => {});
    assert.throws(() => t.enableTimer(-1), RangeError);
    assert.throws(() => t.enableTimer(Number.NaN), RangeError);
    assert.throws(() => t.enableTimer(Number.POSITIVE_INFINITY), RangeError);
    assert.equal(t.enabled(), false);
  });
});

describe('deferred deletion', () => {
  test('objects are destroyed after the callback returns, in order, and deleteIsPending is immediate', () => {
    const { d } = setup();
    const log: string[] = [];
    const x = new Deletable('x', log);
    const y = new Deletable('y', log);
    d.run(() => {
      d.deferredDelete(x);
      assert.equal(x.pending, true);
      d.deferredDelete(y);
      log.push('callback returns');
    });
    assert.deepEqual(log, ['callback returns', 'destroy x', 'destroy y']);
  });

  test('an object deferred while the list is cleared is destroyed in the same pass', () => {
    const { d } = setup();
    const log: string[] = [];
    const z = new Deletable('z', log);
    const y = new Deletable('y', log, () => d.deferredDelete(z));
    const x = new Deletable('x', log);
    d.run(() => {
      d.deferredDelete(y);
      d.deferredDelete(x);
    });
    assert.deepEqual(log, ['destroy y', 'destroy x', 'destroy z']);
  });

  test('a timer callback defers deletion; the object survives until the callback returns', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const x = new Deletable('x', log);
    d.createTimer(() => {
      d.deferredDelete(x);
      log.push('still using x');
    }).enableTimer(1);
    sim.advanceTimeAndRun(1);
    assert.deepEqual(log, ['still using x', 'destroy x']);
  });

  test('deferred deletion runs after the current-iteration callbacks and posts of the batch', () => {
    const { d } = setup();
    const log: string[] = [];
    d.run(() => {
      d.deferredDelete(new Deletable('x', log));
      d.post(() => log.push('post'));
      d.createSchedulableCallback(() => log.push('current')).scheduleCallbackCurrentIteration();
    });
    assert.deepEqual(log, ['post', 'current', 'destroy x']);
  });

  test('a deletion deferred outside any batch happens when the dispatcher next runs', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    d.deferredDelete(new Deletable('x', log));
    assert.deepEqual(log, []);
    sim.runUntilIdle();
    assert.deepEqual(log, ['destroy x']);
  });
});

describe('schedulable callbacks and posts', () => {
  test('current-iteration callbacks run when the batch returns; next-iteration ones on the next pass', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const next = d.createSchedulableCallback(() => {
      log.push('next');
      current2.scheduleCallbackCurrentIteration();
    });
    const current = d.createSchedulableCallback(() => log.push('current'));
    const current2 = d.createSchedulableCallback(() => log.push('current from next'));
    const next2 = d.createSchedulableCallback(() => log.push('next 2'));
    d.run(() => {
      next.scheduleCallbackNextIteration();
      current.scheduleCallbackCurrentIteration();
      next2.scheduleCallbackNextIteration();
      assert.equal(next.enabled(), true);
      assert.equal(current.enabled(), true);
      log.push('batch');
    });
    assert.deepEqual(log, ['batch', 'current']);
    assert.equal(current.enabled(), false);
    assert.equal(next.enabled(), true);
    sim.runUntilIdle();
    assert.deepEqual(log, ['batch', 'current', 'next', 'current from next', 'next 2']);
    assert.equal(next.enabled(), false);
  });

  test('a next-iteration callback scheduled during the next iteration waits for the one after', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    let passes = 0;
    const s = d.createSchedulableCallback(() => {
      log.push(`s${++passes}`);
      if (passes < 3) s.scheduleCallbackNextIteration();
    });
    const t = d.createTimer(() => log.push('timer'));
    s.scheduleCallbackNextIteration();
    t.enableTimer(0);
    sim.runUntilIdle();
    // Pass 1: timer (due), then s1; pass 2: s2; pass 3: s3.
    assert.deepEqual(log, ['timer', 's1', 's2', 's3']);
  });

  test('scheduling an already scheduled callback again is a no-op; cancel stops it', () => {
    const { sim, d } = setup();
    let runs = 0;
    const s = d.createSchedulableCallback(() => runs++);
    s.scheduleCallbackNextIteration();
    s.scheduleCallbackNextIteration();
    s.scheduleCallbackCurrentIteration(); // already scheduled: Envoy ignores it too
    sim.runUntilIdle();
    assert.equal(runs, 1);
    s.scheduleCallbackNextIteration();
    s.cancel();
    assert.equal(s.enabled(), false);
    sim.runUntilIdle();
    assert.equal(runs, 1);
    d.run(() => {
      s.scheduleCallbackCurrentIteration();
      s.cancel();
      s.scheduleCallbackCurrentIteration(); // re-scheduled after a cancel: runs once
    });
    assert.equal(runs, 2);
  });

  test('a next-iteration callback cancelled by an earlier one of the same iteration does not run', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const b = d.createSchedulableCallback(() => log.push('b'));
    const a = d.createSchedulableCallback(() => {
      log.push('a');
      b.cancel();
      c.scheduleCallbackNextIteration();
    });
    const c = d.createSchedulableCallback(() => log.push('c'));
    a.scheduleCallbackNextIteration();
    b.scheduleCallbackNextIteration();
    sim.runUntilIdle();
    assert.deepEqual(log, ['a', 'c']);
  });

  test('posts run in FIFO order after the batch, interleaved with current-iteration callbacks as queued', () => {
    const { d } = setup();
    const log: string[] = [];
    const s = d.createSchedulableCallback(() => log.push('current'));
    d.run(() => {
      d.post(() => {
        log.push('p1');
        d.post(() => log.push('p1.1'));
      });
      s.scheduleCallbackCurrentIteration();
      d.post(() => log.push('p2'));
      log.push('batch');
    });
    assert.deepEqual(log, ['batch', 'p1', 'current', 'p2', 'p1.1']);
  });

  test('posts made outside any batch run when the dispatcher next runs, in order', () => {
    const { sim, d } = setup();
    const log: number[] = [];
    for (let i = 0; i < 5; i++) d.post(() => log.push(i));
    assert.deepEqual(log, []);
    sim.runUntilIdle();
    assert.deepEqual(log, [0, 1, 2, 3, 4]);
  });

  test('posts and current-iteration callbacks from a timer run before the next timer of the pass', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    d.createTimer(() => {
      log.push('t1');
      d.post(() => log.push('post from t1'));
    }).enableTimer(5);
    d.createTimer(() => log.push('t2')).enableTimer(5);
    sim.advanceTimeAndRun(5);
    assert.deepEqual(log, ['t1', 'post from t1', 't2']);
  });
});

describe('cached time and stats', () => {
  test('the cached time stays constant within a batch and moves between batches', () => {
    const { sim, d } = setup();
    assert.equal(d.approximateMonotonicTime(), 0);
    sim.advance(7);
    d.run(() => {
      assert.equal(d.approximateMonotonicTime(), 7);
      sim.advance(3); // the callback "takes" 3 ms
      assert.equal(d.approximateMonotonicTime(), 7, 'constant within the batch');
      d.post(() => assert.equal(d.approximateMonotonicTime(), 7, 'posts drained in the same batch'));
    });
    const seen: number[] = [];
    d.createTimer(() => seen.push(d.approximateMonotonicTime())).enableTimer(5);
    d.createTimer(() => seen.push(d.approximateMonotonicTime())).enableTimer(8);
    sim.advanceTimeAndRun(20);
    assert.deepEqual(seen, [15, 18]);
    sim.advance(1);
    assert.equal(d.approximateMonotonicTime(), 18);
    assert.equal(d.updateApproximateMonotonicTime(), 31);
    assert.equal(d.approximateMonotonicTime(), 31);
  });

  test('a timer armed inside a batch counts from the batch cached time', () => {
    const { sim, d } = setup();
    const at: number[] = [];
    const t = d.createTimer(() => at.push(sim.monotonicNow()));
    d.run(() => {
      sim.advance(4);
      t.enableTimer(10); // deadline = 0 (batch start) + 10, as libevent's cached time gives
    });
    sim.advanceTimeAndRun(20);
    assert.deepEqual(at, [10]);
  });

  test('system time starts at the given epoch and moves with monotonic time', () => {
    const sim = new SimulatedTimeSource(1_000_000);
    const d = new DispatcherImpl('main_thread', simulatedBackend(sim));
    assert.equal(d.systemTime(), 1_000_000);
    sim.advanceTimeAndRun(250);
    assert.equal(d.systemTime(), 1_000_250);
    assert.equal(d.name, 'main_thread');
    assert.equal(d.timeSource, sim);
  });

  test('loop duration is recorded per batch and poll delay per timer, in microseconds', () => {
    const { sim, d } = setup();
    const loop: number[] = [];
    const poll: number[] = [];
    const stats: DispatcherStats = {
      recordLoopDurationUs: (us) => loop.push(us),
      recordPollDelayUs: (us) => poll.push(us),
    };
    d.setStats(stats);
    d.run(() => sim.advance(2));
    assert.deepEqual(loop, [2000]);
    d.createTimer(() => sim.advance(0.5)).enableTimer(10);
    sim.advance(13); // the loop was busy: the timer runs 3 ms late
    sim.runUntilIdle();
    assert.deepEqual(poll, [3000]);
    assert.deepEqual(loop, [2000, 500]);
    d.createTimer(() => {}).enableTimer(1);
    sim.advanceTimeAndRun(1);
    assert.deepEqual(poll, [3000, 0], 'on time');
  });
});

describe('exceptions', () => {
  test('a throwing timer callback propagates; the other timers still fire later', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    d.createTimer(() => {
      log.push('boom');
      throw new Error('bug in a timer');
    }).enableTimer(1);
    const t2 = d.createTimer(() => log.push('t2'));
    t2.enableTimer(1);
    d.createTimer(() => log.push('t3')).enableTimer(2);
    assert.throws(() => sim.advanceTimeAndRun(5), /bug in a timer/);
    assert.deepEqual(log, ['boom']);
    assert.equal(t2.enabled(), true);
    sim.advanceTimeAndRun(5);
    assert.deepEqual(log, ['boom', 't2', 't3']);
  });

  test('a throwing post propagates out of run(); the posts and deletions queued after it run next', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    assert.throws(
      () =>
        d.run(() => {
          d.post(() => {
            throw new Error('bug in a post');
          });
          d.post(() => log.push('p2'));
          d.deferredDelete(new Deletable('x', log));
        }),
      /bug in a post/,
    );
    assert.equal(log.length, 0);
    // The dispatcher is not stuck "inside a batch": a new batch drains as usual.
    d.run(() => d.post(() => log.push('p3')));
    assert.deepEqual(log, ['p2', 'p3', 'destroy x']);
    sim.runUntilIdle();
    assert.deepEqual(log, ['p2', 'p3', 'destroy x']);
  });

  test('a throwing next-iteration callback keeps the rest of its iteration scheduled, first', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const a = d.createSchedulableCallback(() => {
      c.scheduleCallbackNextIteration();
      throw new Error('bug in a');
    });
    const b = d.createSchedulableCallback(() => log.push('b'));
    const c = d.createSchedulableCallback(() => log.push('c'));
    a.scheduleCallbackNextIteration();
    b.scheduleCallbackNextIteration();
    assert.throws(() => sim.runUntilIdle(), /bug in a/);
    assert.equal(b.enabled(), true);
    sim.runUntilIdle();
    assert.deepEqual(log, ['b', 'c']);
  });

  test('a callback that re-schedules itself forever makes runUntilIdle fail instead of hang', () => {
    const { sim, d } = setup();
    const t = d.createTimer(() => t.enableTimer(0));
    t.enableTimer(0);
    assert.throws(() => sim.runUntilIdle(), /re-schedules itself forever/);
    d.exit();
  });
});

describe('exit()', () => {
  test('nothing fires after exit: timers, schedulable callbacks and posts are dropped', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const t = d.createTimer(() => log.push('timer'));
    const s = d.createSchedulableCallback(() => log.push('next'));
    t.enableTimer(10);
    s.scheduleCallbackNextIteration();
    d.post(() => log.push('post'));
    d.exit();
    assert.equal(t.enabled(), false);
    assert.equal(s.enabled(), false);
    t.enableTimer(1);
    s.scheduleCallbackCurrentIteration();
    d.post(() => log.push('post after exit'));
    assert.equal(t.enabled(), false);
    sim.advanceTimeAndRun(100);
    assert.deepEqual(log, []);
    d.exit(); // idempotent
  });

  test('exit from a timer callback stops the rest of the pass; deferred deletions still complete', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const s = d.createSchedulableCallback(() => log.push('next'));
    d.createTimer(() => {
      log.push('a');
      s.scheduleCallbackNextIteration();
      d.post(() => log.push('post'));
      d.deferredDelete(new Deletable('x', log));
      d.exit();
      log.push('a returns');
    }).enableTimer(1);
    d.createTimer(() => log.push('b')).enableTimer(1);
    sim.advanceTimeAndRun(10);
    assert.deepEqual(log, ['a', 'a returns', 'destroy x']);
  });

  test('exit from a next-iteration callback cancels the rest of that iteration', () => {
    const { sim, d } = setup();
    const log: string[] = [];
    const b = d.createSchedulableCallback(() => log.push('b'));
    const a = d.createSchedulableCallback(() => {
      log.push('a');
      d.exit();
      assert.equal(b.enabled(), false);
    });
    a.scheduleCallbackNextIteration();
    b.scheduleCallbackNextIteration();
    sim.runUntilIdle();
    assert.deepEqual(log, ['a']);
  });
});
