/**
 * The simulated scheduler backend: drives one Dispatcher on a `SimulatedTimeSource`, for
 * tests. Nothing runs on its own; time moves and work runs only when the test calls
 * `sim.advanceTimeAndRun(ms)` or `sim.runUntilIdle()` (or the same methods here, which
 * drive every dispatcher sharing the clock, as Envoy's simulated time system does).
 *
 * One loop pass, as `runOnePass()` runs it, mirrors a turn of Node's loop: work queued
 * outside any batch (the microtask the real backend would use), then the timers due now,
 * then next-iteration callbacks. The timer heap and every ordering rule are the
 * dispatcher's own, shared with the real backend. Test thread only. Envoy counterpart:
 * test/test_common/simulated_time_system.cc (`SimulatedScheduler`).
 */
import type { SchedulerBackend, SchedulerHost } from './dispatcher.ts';
import type { SimulatedClockClient, SimulatedTimeSource } from './time-source.ts';

export class SimulatedScheduler implements SchedulerBackend, SimulatedClockClient {
  readonly timeSource: SimulatedTimeSource;
  private host: SchedulerHost | null;
  private drainWanted: boolean;
  private nextIterationWanted: boolean;
  private unregister: (() => void) | null;

  constructor(sim: SimulatedTimeSource) {
    this.timeSource = sim;
    this.host = null;
    this.drainWanted = false;
    this.nextIterationWanted = false;
    this.unregister = null;
  }

  attach(host: SchedulerHost): void {
    if (this.host !== null) throw new Error('bug: a scheduler backend serves one dispatcher');
    this.host = host;
    this.unregister = this.timeSource.register(this);
  }

  /** The earliest deadline is read from the dispatcher when time moves; nothing to hold. */
  setWake(_deadline: number): void {}

  requestNextIteration(): void {
    this.nextIterationWanted = true;
  }

  requestDrain(): void {
    this.drainWanted = true;
  }

  close(): void {
    this.drainWanted = false;
    this.nextIterationWanted = false;
    this.unregister?.();
    this.unregister = null;
  }

  nextDeadline(): number {
    return this.host?.nextDeadline() ?? Number.POSITIVE_INFINITY;
  }

  runOnePass(): boolean {
    const host = this.host;
    if (host === null) return false;
    let ran = false;
    if (this.drainWanted) {
      this.drainWanted = false;
      host.drain();
      ran = true;
    }
    if (host.nextDeadline() <= this.timeSource.monotonicNow()) {
      host.runTimerPass();
      ran = true;
    }
    if (this.nextIterationWanted) {
      this.nextIterationWanted = false;
      host.runNextIteration();
      ran = true;
    }
    return ran;
  }

  /** `sim.advanceTimeAndRun(ms)`: moves the shared clock and runs every dispatcher on it. */
  advanceTimeAndRun(ms: number): void {
    this.timeSource.advanceTimeAndRun(ms);
  }

  /** `sim.runUntilIdle()`: runs every dispatcher on the shared clock until none has work. */
  runUntilIdle(): void {
    this.timeSource.runUntilIdle();
  }
}

/** A backend on simulated time; create one per dispatcher, any number per `sim`. */
export function simulatedBackend(sim: SimulatedTimeSource): SimulatedScheduler {
  return new SimulatedScheduler(sim);
}
