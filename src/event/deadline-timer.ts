/**
 * Deadline timers for the per-request timeouts (a stream's idle timeout, the router's
 * request timeout): armed with every request, almost never fired.
 *
 * Runs on its dispatcher's thread. A plain `Timer` per request costs a timer object, a
 * closure and a timer-heap insert and removal on every request. Here a request borrows a
 * `DeadlineTimer` from its dispatcher's pool and gives it back when done; giving it back only
 * forgets the callback and leaves the underlying `IdleTimeout` armed. The next borrower sets
 * its own deadline through `IdleTimeout.restart`, which touches the heap only when that
 * deadline is earlier than the one the timer is armed for (rare: the same timeout, armed
 * later); when it fires for a deadline nobody holds any more, nothing runs. So a busy worker
 * pays a few stores per request, and the heap holds about one entry per concurrent request.
 * libevent's `event_base_init_common_timeout` (Envoy's per-request timers sit on it) solves
 * the same problem with a queue per duration.
 */
import { IdleTimeout } from './idle-timeout.ts';
import type { Dispatcher } from './types.ts';

export class DeadlineTimer {
  private readonly pool: DeadlineTimerPool;
  private readonly timeout: IdleTimeout;
  /** The holder's callback; null while the timer is in the pool, disarmed or fired. */
  private cb: (() => void) | null = null;

  constructor(pool: DeadlineTimerPool, dispatcher: Dispatcher) {
    this.pool = pool;
    this.timeout = new IdleTimeout(dispatcher, this.onTimeout);
  }

  /** Arms (or re-arms) the timeout `ms` from now, replacing any earlier deadline and callback. */
  arm(ms: number, cb: () => void): void {
    this.cb = cb;
    this.timeout.restart(ms);
  }

  /** Pushes the deadline to `ms` from now, keeping the callback (no-op when disarmed). */
  restart(ms: number): void {
    if (this.cb !== null) this.timeout.restart(ms);
  }

  /** The timeout will not fire (the underlying timer may stay armed, harmlessly). */
  disarm(): void {
    this.cb = null;
  }

  armed(): boolean {
    return this.cb !== null;
  }

  /** Disarms and hands the timer back to the pool; the caller must drop its reference. */
  release(): void {
    this.cb = null;
    this.pool.give(this);
  }

  private readonly onTimeout = (): void => {
    const cb = this.cb;
    if (cb === null) return;
    this.cb = null;
    cb();
  };
}

/** One dispatcher's free deadline timers. */
export class DeadlineTimerPool {
  readonly dispatcher: Dispatcher;
  private readonly free: DeadlineTimer[] = [];

  constructor(dispatcher: Dispatcher) {
    this.dispatcher = dispatcher;
  }

  /** A timer armed for `ms` from now that calls `cb`, from the pool when one is free. */
  acquire(ms: number, cb: () => void): DeadlineTimer {
    const t = this.free.pop() ?? new DeadlineTimer(this, this.dispatcher);
    t.arm(ms, cb);
    return t;
  }

  /** @internal `DeadlineTimer.release`. */
  give(t: DeadlineTimer): void {
    this.free.push(t);
  }
}

const pools = new WeakMap<Dispatcher, Map<string, DeadlineTimerPool>>();

/**
 * The pool of `dispatcher` for timeouts of one kind (`purpose`). One pool per kind keeps the
 * durations in a pool alike, so a borrowed timer is nearly always armed no later than needed.
 */
export function deadlineTimerPool(dispatcher: Dispatcher, purpose: string): DeadlineTimerPool {
  let byPurpose = pools.get(dispatcher);
  if (byPurpose === undefined) {
    byPurpose = new Map();
    pools.set(dispatcher, byPurpose);
  }
  let pool = byPurpose.get(purpose);
  if (pool === undefined) {
    pool = new DeadlineTimerPool(dispatcher);
    byPurpose.set(purpose, pool);
  }
  return pool;
}
