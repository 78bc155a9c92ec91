/**
 * Back-off strategies: how long to wait before the next try after a failure.
 *
 * Pure objects, any thread; the caller arms its own Dispatcher timer with the result. The
 * DNS clusters use them for `dns_failure_refresh_rate`, the router for retries. Envoy counterpart:
 * source/common/common/backoff_strategy.cc (`JitteredExponentialBackOffStrategy`,
 * `FixedBackOffStrategy`).
 */

export interface BackOffStrategy {
  /** Milliseconds to wait before the next try; each call counts as one more failure. */
  nextBackOffMs(): number;
  /** Forgets the failures (after a success). */
  reset(): void;
}

/** The same interval every time. */
export class FixedBackOff implements BackOffStrategy {
  private readonly intervalMs: number;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  nextBackOffMs(): number {
    return this.intervalMs;
  }

  reset(): void {}
}

/**
 * Full jitter over a doubling ceiling: the n-th wait is uniform in [0, min(base * 2^(n-1), max)),
 * as Envoy's `JitteredExponentialBackOffStrategy` computes it (`random() % interval`).
 */
export class JitteredExponentialBackOff implements BackOffStrategy {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private nextIntervalMs: number;

  /** `random` returns a number in [0, 1), like `Math.random`. */
  constructor(baseMs: number, maxMs: number, random: () => number) {
    if (!(baseMs > 0 && maxMs >= baseMs)) {
      throw new RangeError(`bug: back-off needs 0 < base <= max, got base ${baseMs} ms, max ${maxMs} ms`);
    }
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.random = random;
    this.nextIntervalMs = baseMs;
  }

  nextBackOffMs(): number {
    const interval = this.nextIntervalMs;
    this.nextIntervalMs = interval > this.maxMs / 2 ? this.maxMs : interval * 2;
    return Math.min(Math.floor(this.random() * interval), this.maxMs);
  }

  reset(): void {
    this.nextIntervalMs = this.baseMs;
  }
}
