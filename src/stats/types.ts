/**
 * Contracts of the stats layer: counters, gauges, histograms and text readouts with
 * Envoy's names, in scopes.
 *
 * A thread holds a `ThreadStats` whose values live in SharedArrayBuffer slots that only
 * that thread writes (no locks, no atomics on the hot path); the main thread's `StatsStore`
 * reads every thread's slots and sums them by name. Envoy counterpart: `envoy/stats/stats.h`,
 * `envoy/stats/scope.h`, `ThreadLocalStoreImpl`.
 */

export interface Counter {
  readonly name: string;
  inc(): void;
  add(n: number): void;
  /** This thread's value (the process-wide value is the main thread's merged read). */
  value(): number;
}

export interface Gauge {
  readonly name: string;
  inc(): void;
  dec(): void;
  add(n: number): void;
  sub(n: number): void;
  set(n: number): void;
  /** This thread's value. */
  value(): number;
}

export interface Histogram {
  readonly name: string;
  /** Records one observation, in the histogram's unit (µs, ms, bytes...). */
  recordValue(v: number): void;
}

export interface TextReadout {
  readonly name: string;
  set(value: string): void;
  value(): string;
}

export type HistogramUnit = 'Unspecified' | 'Bytes' | 'Microseconds' | 'Milliseconds' | 'Percent';

/**
 * How a merged gauge is combined across threads. `Accumulate`: summed (connections
 * active on each worker); `NeverImport`/`Main`: only the main thread's value counts.
 */
export type GaugeImportMode = 'Accumulate' | 'NeverImport';

/** A name prefix; stats created through it are `<prefix><name>`. */
export interface Scope {
  readonly prefix: string;
  counter(name: string): Counter;
  gauge(name: string, mode?: GaugeImportMode): Gauge;
  histogram(name: string, unit?: HistogramUnit): Histogram;
  textReadout(name: string): TextReadout;
  /** A child scope: `scope('listener.').scope('127.0.0.1_10000.')`. */
  scope(prefix: string): Scope;
}

/** Envoy's reported quantiles, in order. */
export const QUANTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1] as const;

/** A histogram's merged view on main: quantiles over the whole run and since the last flush. */
export interface HistogramSnapshot {
  readonly name: string;
  readonly unit: HistogramUnit;
  readonly cumulative: HistogramStatistics;
  readonly interval: HistogramStatistics;
}

export interface HistogramStatistics {
  readonly count: number;
  readonly sum: number;
  /** One value per entry of QUANTILES, NaN when there are no samples. */
  readonly quantiles: readonly number[];
  /** Cumulative bucket counts at Envoy's default bucket bounds (`supportedBuckets`). */
  readonly buckets: readonly { upperBound: number; cumulativeCount: number }[];
  /**
   * Every recorded bucket (non-zero count) in ascending order, when asked for: Envoy's
   * `detailedTotalBuckets` / `detailedIntervalBuckets` (`?histogram_buckets=detailed`).
   */
  readonly detailed?: readonly HistogramDetailBucket[];
}

/** One recorded bucket of the histogram's own layout. */
export interface HistogramDetailBucket {
  readonly lowerBound: number;
  readonly width: number;
  readonly count: number;
}
