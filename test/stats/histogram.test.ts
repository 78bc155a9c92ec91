/**
 * Log-linear buckets (two significant digits per decade, as circllhist) and the statistics
 * main computes from them: Envoy's own expected quantiles for known samples, known
 * distributions within bucket precision, and bucket counts at Envoy's supported bounds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BUCKET_COUNT,
  bucketIndex,
  bucketLowerBound,
  bucketWidth,
  histogramStatistics,
  MAX_RECORDED_VALUE,
  SUPPORTED_BUCKETS,
} from '../../src/stats/histogram.ts';

function statsOf(values: readonly number[]): ReturnType<typeof histogramStatistics> {
  const counts = new Float64Array(BUCKET_COUNT);
  let sum = 0;
  for (const v of values) {
    const clamped = v > 0 ? Math.min(v, MAX_RECORDED_VALUE) : 0;
    counts[bucketIndex(clamped)]! += 1;
    sum += clamped;
  }
  return histogramStatistics(counts, sum);
}

describe('histogram buckets', () => {
  test('every value lands in the bucket whose bounds contain it', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20000; i++) {
      const v = 10 ** (random() * 15 - 3); // 1e-3 .. 1e12, integers and fractions
      const candidates = [v, Math.floor(v)];
      for (const x of candidates) {
        if (x < 1e-3) continue;
        const b = bucketIndex(x);
        const lo = bucketLowerBound(b);
        const hi = lo + bucketWidth(b);
        // circllhist's 1e-13 margin may move a value a hair below a bound into the next bucket.
        assert.ok(lo <= x * (1 + 1e-12) && x < hi, `${x} in [${lo}, ${hi})`);
        assert.ok(bucketWidth(b) <= lo / 10 + 1e-15, `two significant digits for ${x}`);
      }
    }
  });

  test('bucket bounds are two significant digits: 200 is [200, 210), 5 is [5, 5.1), 0.25 is [0.25, 0.26)', () => {
    for (const [v, lo, width] of [
      [200, 200, 10],
      [209.99, 200, 10],
      [5, 5, 0.1],
      [1000, 1000, 100],
      [99, 99, 1],
      [12345, 12000, 1000],
    ] as const) {
      const b = bucketIndex(v);
      assert.equal(bucketLowerBound(b), lo, `lower bound of ${v}`);
      assert.equal(bucketWidth(b), width, `width of ${v}`);
    }
    const quarter = bucketIndex(0.25);
    assert.ok(Math.abs(bucketLowerBound(quarter) - 0.25) < 1e-15);
  });

  test('0, negative values and values below 1e-3 share the zero bucket', () => {
    assert.equal(bucketIndex(0), 0);
    assert.equal(bucketIndex(0.0009), 0);
    assert.equal(bucketLowerBound(0), 0);
    assert.equal(bucketWidth(0), 0);
    const s = statsOf([-5, 0, 0]);
    assert.deepEqual(s.quantiles, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(s.count, 3);
  });

  test('values above the range are counted in the last bucket', () => {
    assert.equal(bucketIndex(MAX_RECORDED_VALUE), BUCKET_COUNT - 1);
    assert.equal(statsOf([1e20]).count, 1);
  });
});

describe('histogram statistics', () => {
  test('quantiles of {200, 300, 300} are exactly Envoy’s (stats_render_test.cc)', () => {
    const s = statsOf([200, 300, 300]);
    assert.deepEqual(s.quantiles, [200, 207.5, 302.5, 306.25, 308.5, 309.25, 309.85, 309.925, 309.985, 310]);
    assert.equal(s.count, 3);
    assert.equal(s.sum, 800);
  });

  test('bucket counts of {200, 300, 300} at the supported bounds are Envoy’s (B250: 1, B500: 3)', () => {
    const s = statsOf([200, 300, 300]);
    assert.deepEqual(
      s.buckets.map((b) => b.upperBound),
      SUPPORTED_BUCKETS,
    );
    assert.deepEqual(
      s.buckets.map((b) => b.cumulativeCount),
      [0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
    );
  });

  test('uniform 1..1000: every quantile within one bucket of the true value', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const s = statsOf(values);
    const truth = [1, 250, 500, 750, 900, 950, 990, 995, 999, 1000];
    s.quantiles.forEach((q, i) => {
      const t = truth[i]!;
      // One bucket is 1% to 10% of the value (two significant digits).
      assert.ok(Math.abs(q - t) <= t * 0.1 + 0.1, `P${i}: ${q} vs ${t}`);
    });
    assert.ok(Math.abs(s.quantiles[2]! - 500) <= 10, `P50 ${s.quantiles[2]}`);
    assert.equal(s.sum, 500500);
  });

  test('exponential-ish latencies: P99 within bucket precision of the sorted sample', () => {
    const values: number[] = [];
    let seed = 7;
    for (let i = 0; i < 10000; i++) {
      seed = (seed * 48271) % 2147483647;
      values.push(Math.round(-Math.log(seed / 2147483647) * 100));
    }
    const sorted = [...values].sort((a, b) => a - b);
    const s = statsOf(values);
    for (const [i, q] of [
      [2, 0.5],
      [6, 0.99],
    ] as const) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      assert.ok(Math.abs(s.quantiles[i]! - exact) <= exact * 0.1 + 1, `q${q}: ${s.quantiles[i]} vs ${exact}`);
    }
  });

  test('no samples: quantiles are NaN, counts 0', () => {
    const s = statsOf([]);
    assert.equal(s.count, 0);
    assert.ok(s.quantiles.every(Number.isNaN));
    assert.ok(s.buckets.every((b) => b.cumulativeCount === 0));
  });
});
