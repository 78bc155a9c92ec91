/**
 * Time sources: the real clocks, and simulated time for tests.
 *
 * `realTimeSource` is the only place in the project that reads the clocks
 * (`performance.now()` for monotonic time, `Date.now()` for wall-clock time); everything
 * else asks its Dispatcher. `SimulatedTimeSource` is a clock that moves only when a test
 * moves it, and the driver of every dispatcher built on it (through their simulated
 * backends, see `simulated-backend.ts`): `advanceTimeAndRun(ms)` fires their timers in
 * deadline order, `runUntilIdle()` runs their pending work. Any thread; a simulated source
 * and its dispatchers belong to one thread. Envoy counterpart: `RealTimeSource`
 * (source/common/common/utility.h) and `SimulatedTimeSystem`
 * (test/test_common/simulated_time_system.cc).
 */
import { performance } from 'node:perf_hooks';
import type { TimeSource } from './types.ts';

/**
 * The process clocks. Monotonic time is `performance.now()`: fractional ms since *this thread*
 * started (a worker has its own origin), so monotonic stamps are never compared across threads.
 */
export const realTimeSource: TimeSource = {
  monotonicNow: () => performance.now(),
  systemNow: () => Date.now(),
};

/** 2024-01-01T00:00:00Z: the wall-clock time a simulated source starts at unless told otherwise. */
export const DEFAULT_SIMULATED_EPOCH_MS = Date.UTC(2024, 0, 1);

/**
 * One dispatcher's scheduler as simulated time sees it. Implemented by `SimulatedScheduler`;
 * a test never calls these directly.
 */
export interface SimulatedClockClient {
  /** Deadline (monotonic ms) of the earliest armed timer; `Infinity` when none is armed. */
  nextDeadline(): number;
  /**
   * Runs one loop pass at the current time: callbacks queued outside any batch, timers due
   * now, then next-iteration callbacks. Returns false when there was nothing to run.
   */
  runOnePass(): boolean;
}

/** Passes `runUntilIdle` allows before it decides a callback re-schedules itself forever. */
const MAX_IDLE_PASSES = 1_000_000;

/** Simulated monotonic and wall-clock time; they move together, only when the test says so. */
export class SimulatedTimeSource implements TimeSource {
  private monotonicMs: number;
  private readonly epochMs: number;
  private readonly clients: SimulatedClockClient[];
  private running: boolean;

  /** Monotonic time starts at 0; wall-clock time at `epochMs`. */
  constructor(epochMs: number = DEFAULT_SIMULATED_EPOCH_MS) {
    this.monotonicMs = 0;
    this.epochMs = epochMs;
    this.clients = [];
    this.running = false;
  }

  monotonicNow(): number {
    return this.monotonicMs;
  }

  systemNow(): number {
    return this.epochMs + this.monotonicMs;
  }

  /**
   * Moves both clocks forward by `ms` and runs nothing. A callback may call this to
   * simulate work that takes time (it shows up in `loop_duration_us`).
   */
  advance(ms: number): void {
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) {
      throw new RangeError(`simulated time moves forward by a finite amount, got ${ms}`);
    }
    this.monotonicMs += ms;
  }

  /**
   * Moves time forward by `ms`, stopping at each armed timer's deadline on the way to fire
   * the timers due there (in deadline order, first armed first on equal deadlines), and runs
   * every dispatcher until idle at each stop. Timers armed by callbacks fire too when their
   * deadline falls within the window.
   */
  advanceTimeAndRun(ms: number): void {
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) {
      throw new RangeError(`simulated time moves forward by a finite amount, got ${ms}`);
    }
    const target = this.monotonicMs + ms;
    this.runUntilIdle();
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const c of this.clients) next = Math.min(next, c.nextDeadline());
      if (next > target) break;
      if (next > this.monotonicMs) this.monotonicMs = next;
      this.runUntilIdle();
    }
    // A callback may have advanced time past the target itself; time never moves back.
    if (target > this.monotonicMs) this.monotonicMs = target;
  }

  /**
   * Runs every dispatcher on this clock, at the current time, until none has anything left:
   * posts, schedulable callbacks (both iterations), deferred deletions and timers already due.
   */
  runUntilIdle(): void {
    if (this.running) throw new Error('bug: simulated time driven from inside a dispatcher callback');
    this.running = true;
    try {
      for (let pass = 0; ; pass++) {
        if (pass === MAX_IDLE_PASSES) {
          throw new Error(`not idle after ${MAX_IDLE_PASSES} passes: a callback re-schedules itself forever`);
        }
        let ran = false;
        // Index loop: a callback may create a dispatcher (and register it) while we iterate.
        for (let i = 0; i < this.clients.length; i++) {
          if (this.clients[i]!.runOnePass()) ran = true;
        }
        if (!ran) return;
      }
    } finally {
      this.running = false;
    }
  }

  /** Adds a dispatcher's scheduler; returns the function that removes it (on `exit()`). */
  register(client: SimulatedClockClient): () => void {
    this.clients.push(client);
    return () => {
      const i = this.clients.indexOf(client);
      if (i >= 0) this.clients.splice(i, 1);
    };
  }
}
