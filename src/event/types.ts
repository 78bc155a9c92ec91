/**
 * Contracts of the event layer: the Dispatcher (one per thread), its timers and
 * schedulable callbacks, and the time source behind them.
 *
 * Every module that needs time or the loop goes through these; nothing outside
 * `src/event/` calls `setTimeout`, `setImmediate`, `Date.now()` or `performance.now()`,
 * so tests drive the same code on simulated time. Envoy counterpart:
 * `envoy/event/dispatcher.h`, `envoy/event/timer.h`, `envoy/common/time.h`.
 */

/** Monotonic and wall-clock time. Real, or simulated in tests. */
export interface TimeSource {
  /** Monotonic milliseconds (fractional), for durations and deadlines. */
  monotonicNow(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps (logs, access logs). */
  systemNow(): number;
}

/** A timer owned by one Dispatcher. Created once, re-armed any number of times without allocating. */
export interface Timer {
  /** Arms (or re-arms) the timer to fire once after `ms` milliseconds; 0 means on the next loop pass. */
  enableTimer(ms: number): void;
  /** Disarms the timer; a no-op when it is not armed. */
  disableTimer(): void;
  /** True while armed and not yet fired. */
  enabled(): boolean;
}

/** A callback run later on its Dispatcher, in this loop iteration or the next. */
export interface SchedulableCallback {
  /** Runs the callback once the current callback returns, before the loop polls for I/O again. */
  scheduleCallbackCurrentIteration(): void;
  /** Runs the callback on the loop's next iteration, after pending I/O has been polled. */
  scheduleCallbackNextIteration(): void;
  cancel(): void;
  enabled(): boolean;
}

/** An object destroyed by the Dispatcher after the callback that released it has returned. */
export interface DeferredDeletable {
  /** Called at once by `deferredDelete()`: the object is doomed and should stop acting. */
  deleteIsPending?(): void;
  /** Releases what the object holds; called exactly once, after the current callback returned. */
  destroy(): void;
}

/** Loop-time observations, recorded by the Dispatcher into its thread's stats. */
export interface DispatcherStats {
  /** `server.<thread>.dispatcher.loop_duration_us`: time spent running one batch of callbacks. */
  recordLoopDurationUs(us: number): void;
  /** `server.<thread>.dispatcher.poll_delay_us`: how late a due timer ran (the loop was busy). */
  recordPollDelayUs(us: number): void;
}

/**
 * The event loop of one thread. Every method is called on the Dispatcher's own thread;
 * other threads reach it only by message (see `src/thread-local/messages.ts`).
 */
export interface Dispatcher {
  /** `main_thread` or `worker_<n>`: the thread name used in stats and logs. */
  readonly name: string;
  readonly timeSource: TimeSource;
  createTimer(cb: () => void): Timer;
  createSchedulableCallback(cb: () => void): SchedulableCallback;
  /** Runs `cb` on this thread after the current callback (a same-thread hand-off). */
  post(cb: () => void): void;
  /** Destroys `obj` after the current callback returns. */
  deferredDelete(obj: DeferredDeletable): void;
  /** Monotonic milliseconds, cached at the start of the current callback batch. */
  approximateMonotonicTime(): number;
  /** Refreshes the cached time and returns it. */
  updateApproximateMonotonicTime(): number;
  /** Wall-clock milliseconds (not cached). */
  systemTime(): number;
  /**
   * Runs `cb` as a dispatcher event: refreshes the cached time, measures the batch for
   * `loop_duration_us`, and then clears the deferred-delete list. Socket and message
   * handlers enter through here so their work counts as loop time.
   */
  run(cb: () => void): void;
  /** Sets the stats sink for loop-time observations (once the thread's stats exist). */
  setStats(stats: DispatcherStats): void;
  /** Stops every timer and callback of this dispatcher; nothing it owns fires afterwards. */
  exit(): void;
}
