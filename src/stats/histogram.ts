/**
 * Log-linear histogram buckets and the statistics computed from them: the bucket layout
 * every thread writes into its slots, and the quantiles and bucket counts main reports.
 *
 * Any thread uses `bucketIndex` (hot path, in `Histogram.recordValue`); main uses
 * `histogramStatistics` when it merges. Envoy counterpart: libcircllhist (the histogram
 * Envoy records into, `hist_insert`, `hist_approx_quantile`, `hist_approx_count_below`) and
 * `HistogramStatisticsImpl` in `source/common/stats/histogram_impl.cc`.
 *
 * A bucket holds the values that share a decimal exponent and their first two significant
 * digits: bucket (e, d) for d in 10..99 covers [d/10 · 10^e, (d+1)/10 · 10^e). The index
 * range is fixed, so a thread's histogram is a flat block of slots: one zero bucket (0,
 * negative values, and values below 10^MIN_EXPONENT) then 90 buckets per decade from
 * 10^MIN_EXPONENT up to 10^(MAX_EXPONENT+1); larger values land in the last bucket.
 * Bounds and interpolation are computed with circllhist's exact floating-point operations,
 * so the quantiles equal Envoy's for the same samples.
 */
import { type HistogramDetailBucket, type HistogramStatistics, QUANTILES } from './types.ts';

/** Lowest decimal exponent with its own buckets; smaller positive values count as 0. */
export const MIN_EXPONENT = -3;
/** Highest decimal exponent with its own buckets (values up to 10^13). */
export const MAX_EXPONENT = 12;
const BUCKETS_PER_DECADE = 90;
/** Buckets per histogram: the zero bucket, then 90 per decade. */
export const BUCKET_COUNT = 1 + (MAX_EXPONENT - MIN_EXPONENT + 1) * BUCKETS_PER_DECADE;
/** Largest value kept as is; larger ones are recorded as this. */
export const MAX_RECORDED_VALUE = 9.9e12;

/** Envoy's default `supportedBuckets()` (histogram_impl.cc), the bounds of reported bucket counts. */
export const SUPPORTED_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** circllhist's `power_of_ten` table: decimal literals, not computed powers. */
const POW10 = new Float64Array(MAX_EXPONENT - MIN_EXPONENT + 2);
for (let e = MIN_EXPONENT; e <= MAX_EXPONENT + 1; e++) POW10[e - MIN_EXPONENT] = Number(`1e${e}`);

/** Lower bound and width of every bucket, as circllhist computes them. */
const LOWER = new Float64Array(BUCKET_COUNT);
const WIDTH = new Float64Array(BUCKET_COUNT);
for (let i = 1; i < BUCKET_COUNT; i++) {
  const k = i - 1;
  const pow = POW10[Math.floor(k / BUCKETS_PER_DECADE)]!;
  LOWER[i] = ((10 + (k % BUCKETS_PER_DECADE)) / 10.0) * pow;
  WIDTH[i] = pow / 10.0;
}

/** For each supported bucket bound, how many leading buckets lie entirely at or below it. */
const SUPPORTED_CUTS: readonly number[] = SUPPORTED_BUCKETS.map((bound) => {
  let n = 0;
  while (n < BUCKET_COUNT && LOWER[n]! + WIDTH[n]! <= bound) n++;
  return n;
});

/**
 * Values below SMALL_LIMIT take their bucket from a table: integers directly, and any value
 * from 10 up by its integer part (from 10 on, bucket bounds are whole numbers).
 */
const SMALL_LIMIT = 4096;
const SMALL_INDEX = new Uint16Array(SMALL_LIMIT);

/**
 * The bucket of `v` (already clamped to [0, MAX_RECORDED_VALUE]). Mirrors circllhist's
 * `double_to_hist_bucket`, including its 1e-13 margin at bucket boundaries.
 */
function computeBucketIndex(v: number): number {
  if (!(v >= 1e-3)) return 0;
  let e: number;
  if (v >= 1) {
    // Counting digits is cheaper than log10 for the values histograms see.
    e = 0;
    while (e < MAX_EXPONENT && v >= POW10[e + 1 - MIN_EXPONENT]!) e++;
  } else {
    e = Math.floor(Math.log10(v));
  }
  let d = Math.floor((v / POW10[e - MIN_EXPONENT]!) * 10 + 1e-13);
  // log10 may land one off next to a power of ten: renormalise to two significant digits.
  if (d >= 100) {
    d = Math.floor(d / 10);
    e++;
  } else if (d < 10 && e > MIN_EXPONENT) {
    e--;
    d = Math.floor((v / POW10[e - MIN_EXPONENT]!) * 10 + 1e-13);
  }
  if (e > MAX_EXPONENT) return BUCKET_COUNT - 1;
  if (d < 10) return 0;
  return 1 + (e - MIN_EXPONENT) * BUCKETS_PER_DECADE + (d - 10);
}

for (let i = 0; i < SMALL_LIMIT; i++) SMALL_INDEX[i] = computeBucketIndex(i);

/** Index of the bucket holding `v`, for `v` in [0, MAX_RECORDED_VALUE]. */
export function bucketIndex(v: number): number {
  if (v < SMALL_LIMIT) {
    const i = v | 0;
    if (i === v || v >= 10) return SMALL_INDEX[i]!;
  }
  return computeBucketIndex(v);
}

/** The smallest value in bucket `i` (0 for the zero bucket). */
export function bucketLowerBound(i: number): number {
  return LOWER[i] ?? Number.NaN;
}

/** The width of bucket `i` (0 for the zero bucket). */
export function bucketWidth(i: number): number {
  return WIDTH[i] ?? Number.NaN;
}

/**
 * Quantiles (`QUANTILES`) and cumulative counts at `SUPPORTED_BUCKETS` of one set of bucket
 * counts, and with `detailed` every non-empty bucket. The quantile walk is circllhist's
 * `hist_approx_quantile`: the quantile's rank is located in a bucket and interpolated
 * linearly inside it (the bucket's left edge for rank equal to the counts below, its right
 * edge for rank equal to the counts up to it).
 */
export function histogramStatistics(
  counts: Float64Array,
  sum: number,
  detailed = false,
): HistogramStatistics {
  const n = counts.length;
  let total = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const c = counts[i]!;
    if (c > 0) {
      total += c;
      if (first < 0) first = i;
    }
  }
  const quantiles: number[] = [];
  if (total === 0) {
    for (let q = 0; q < QUANTILES.length; q++) quantiles.push(Number.NaN);
  } else {
    // The bucket under consideration, and the counts below it and up to it.
    let at = first;
    let lowerCnt = 0;
    let upperCnt = counts[at]!;
    for (const q of QUANTILES) {
      const rank = total * q;
      while (upperCnt < rank) {
        let next = at + 1;
        while (next < n && !(counts[next]! > 0)) next++;
        if (next >= n) break;
        at = next;
        lowerCnt = upperCnt;
        upperCnt = lowerCnt + counts[at]!;
      }
      const left = LOWER[at]!;
      const width = WIDTH[at]!;
      if (lowerCnt === rank) quantiles.push(left);
      else if (upperCnt === rank) quantiles.push(left + width);
      else if (width === 0) quantiles.push(left);
      else quantiles.push(left + ((rank - lowerCnt) / (upperCnt - lowerCnt)) * width);
    }
  }
  const buckets: { upperBound: number; cumulativeCount: number }[] = [];
  let running = 0;
  let i = 0;
  for (let b = 0; b < SUPPORTED_BUCKETS.length; b++) {
    const cut = SUPPORTED_CUTS[b]!;
    for (; i < cut; i++) running += counts[i]!;
    buckets.push({ upperBound: SUPPORTED_BUCKETS[b]!, cumulativeCount: running });
  }
  if (!detailed) return { count: total, sum, quantiles, buckets };
  const recorded: HistogramDetailBucket[] = [];
  for (let k = first < 0 ? n : first; k < n; k++) {
    const c = counts[k]!;
    if (c > 0) recorded.push({ lowerBound: LOWER[k]!, width: WIDTH[k]!, count: c });
  }
  return { count: total, sum, quantiles, buckets, detailed: recorded };
}
