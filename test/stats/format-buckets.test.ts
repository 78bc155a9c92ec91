/**
 * `/stats` with `histogram_buckets=cumulative|disjoint|detailed|summary` and `type=`, in
 * text and JSON: Envoy's `B<bound>(interval,cumulative)` lines with `%g` bounds, disjoint
 * counts, the detailed `totals=`/`intervals=`/`summary=` block, the JSON shapes of each
 * mode, and one kind of stat at a time. Expected strings follow Envoy's
 * test/server/admin/stats_handler_test.cc and source/server/admin/stats_render.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatG, quantileSummary, statsAsJson, statsAsText } from '../../src/stats/format.ts';
import type { StatsStore } from '../../src/stats/store.ts';
import type { ThreadStats } from '../../src/stats/thread-stats.ts';
import { storeWith } from './store-fixture.ts';

const BOUNDS = [
  '0.5',
  '1',
  '5',
  '10',
  '25',
  '50',
  '100',
  '250',
  '500',
  '1000',
  '2500',
  '5000',
  '10000',
  '30000',
  '60000',
  '300000',
  '600000',
  '1.8e+06',
  '3.6e+06',
];

function bucketLine(name: string, pairs: Array<[number, number]>): string {
  return `${name}: ${BOUNDS.map((b, i) => `B${b}(${pairs[i]![0]},${pairs[i]![1]})`).join(' ')}\n`;
}

describe('histogram_buckets in text', () => {
  test('cumulative: counts at or below each bound (HandlerStatsPlainTextHistogramBucketsCumulative)', () => {
    const store = storeWith((main) => main.histogram('h1').recordValue(300));
    const pairs = BOUNDS.map((_, i): [number, number] => (i >= 8 ? [1, 1] : [0, 0]));
    assert.equal(statsAsText(store, { histogramBuckets: 'cumulative' }), bucketLine('h1', pairs));
  });

  test('disjoint: counts inside each bound; interval since the last flush (…Disjoint)', () => {
    let main!: ThreadStats;
    const store = storeWith((m, worker) => {
      main = m;
      worker.histogram('h1').recordValue(200);
      m.histogram('h1').recordValue(300);
      m.histogram('h2');
    });
    store.flush();
    main.histogram('h1').recordValue(300);
    const pairs = BOUNDS.map((_, i): [number, number] => (i === 7 ? [0, 1] : i === 8 ? [1, 2] : [0, 0]));
    assert.equal(
      statsAsText(store, { histogramBuckets: 'disjoint' }),
      `${bucketLine('h1', pairs)}h2: No recorded values\n`,
    );
    assert.equal(
      statsAsText(store, { histogramBuckets: 'disjoint', usedOnly: true }),
      bucketLine('h1', pairs),
    );
  });

  test('detailed: every recorded bucket as lower,width:count, then the summary', () => {
    let main!: ThreadStats;
    const store = storeWith((m) => {
      main = m;
      const h = m.histogram('h1');
      h.recordValue(1);
      h.recordValue(2);
      m.histogram('h2');
    });
    store.flush();
    main.histogram('h1').recordValue(2);
    main.histogram('h1').recordValue(1500);
    const [h1] = store.histograms();
    assert.equal(
      statsAsText(store, { histogramBuckets: 'detailed' }),
      'h1:\n' +
        '  totals=1,0.1:1, 2,0.1:2, 1500,100:1\n' +
        '  intervals=2,0.1:1, 1500,100:1\n' +
        `  summary=${quantileSummary(h1!)}\n` +
        'h2: No recorded values\n',
    );
  });

  test('summary (and its old name none) is the default quantile line', () => {
    const store = storeWith((main) => main.histogram('h1').recordValue(300));
    const line = statsAsText(store);
    assert.match(line, /^h1: P0\(300,300\) P25\(302\.5,302\.5\)/);
    assert.equal(statsAsText(store, { histogramBuckets: 'summary' }), line);
  });

  test('bounds print as %g: six significant digits, exponent from 1e6', () => {
    assert.deepEqual(
      [0.5, 1, 300000, 600000, 1800000, 3600000, 1234567, 0.0001, 0.00001].map((v) => formatG(v)),
      ['0.5', '1', '300000', '600000', '1.8e+06', '3.6e+06', '1.23457e+06', '0.0001', '1e-05'],
    );
    assert.deepEqual(
      [1.1, 0.1, 1e12, 1.2345678901234568e17].map((v) => formatG(v, 15)),
      ['1.1', '0.1', '1000000000000', '1.23456789012346e+17'],
    );
  });
});

interface JsonBuckets {
  stats: Array<{
    name?: string;
    value?: number;
    histograms?: Array<{
      name: string;
      buckets: Array<{ upper_bound: number; interval: number; cumulative: number }>;
    }>;
  }>;
}

describe('histogram_buckets in JSON', () => {
  /** h1 with 1 and 2 recorded, flushed, then 2 again; h2 never used; a counter c1. */
  function store(): StatsStore {
    let main!: ThreadStats;
    const s = storeWith((m) => {
      main = m;
      m.counter('c1').add(10);
      m.histogram('h1').recordValue(1);
      m.histogram('h1').recordValue(2);
      m.histogram('h2');
    });
    s.flush();
    main.histogram('h1').recordValue(2);
    return s;
  }

  test('cumulative: {"histograms":[{"name","buckets":[{upper_bound,interval,cumulative}]}]}', () => {
    const parsed = JSON.parse(statsAsJson(store(), { histogramBuckets: 'cumulative' })) as JsonBuckets;
    assert.deepEqual(parsed.stats[0], { name: 'c1', value: 10 });
    const histograms = parsed.stats[1]!.histograms!;
    assert.deepEqual(
      histograms.map((h) => h.name),
      ['h1', 'h2'],
    );
    const h1 = histograms[0]!.buckets;
    assert.deepEqual(
      h1.map((b) => b.upper_bound),
      [
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
        3600000,
      ],
    );
    // 1 and 2 fall in [1, 1.1) and [2, 2.1): counted from the bound 5 on.
    assert.deepEqual(h1[1], { upper_bound: 1, interval: 0, cumulative: 0 });
    assert.deepEqual(h1[2], { upper_bound: 5, interval: 1, cumulative: 3 });
    assert.deepEqual(h1[18], { upper_bound: 3600000, interval: 1, cumulative: 3 });
    assert.ok(histograms[1]!.buckets.every((b) => b.interval === 0 && b.cumulative === 0));
  });

  test('disjoint: the same shape with per-bucket counts', () => {
    const parsed = JSON.parse(statsAsJson(store(), { histogramBuckets: 'disjoint' })) as JsonBuckets;
    const h1 = parsed.stats[1]!.histograms![0]!.buckets;
    assert.deepEqual(h1[2], { upper_bound: 5, interval: 1, cumulative: 3 });
    assert.deepEqual(h1[3], { upper_bound: 10, interval: 0, cumulative: 0 });
  });

  test('detailed: supported_percentiles and details with totals, intervals and percentiles', () => {
    const json = statsAsJson(store(), { histogramBuckets: 'detailed', usedOnly: true, filter: /^h/ });
    const percentiles = (
      JSON.parse(statsAsJson(store())) as { stats: Array<{ histograms?: unknown }> }
    ).stats.at(-1)?.histograms as { computed_quantiles: Array<{ values: unknown }> };
    assert.equal(
      json,
      '{"stats":[{"histograms":{"supported_percentiles":[0,25,50,75,90,95,99,99.5,99.9,100],"details":[' +
        '{"name":"h1","totals":[{"lower_bound":1,"width":0.1,"count":1},{"lower_bound":2,"width":0.1,"count":2}],' +
        '"intervals":[{"lower_bound":2,"width":0.1,"count":1}],' +
        `"percentiles":${JSON.stringify(percentiles.computed_quantiles[0]!.values)}}]}}]}`,
    );
  });

  test('no used histogram: no histograms entry in any mode (HandlerStatsJsonNoHistograms)', () => {
    const s = storeWith((main) => {
      main.counter('c1').add(10);
      main.histogram('h1');
    });
    for (const histogramBuckets of ['unset', 'cumulative', 'disjoint', 'detailed'] as const) {
      assert.equal(
        statsAsJson(s, { usedOnly: true, histogramBuckets }),
        '{"stats":[{"name":"c1","value":10}]}',
      );
    }
  });
});

describe('type=', () => {
  const s = storeWith((main) => {
    main.counter('c').inc();
    main.gauge('g').set(2);
    main.textReadout('t').set('x');
    main.histogram('h').recordValue(1);
  });

  test('one kind of stat at a time, text and JSON', () => {
    assert.equal(statsAsText(s, { type: 'Counters' }), 'c: 1\n');
    assert.equal(statsAsText(s, { type: 'Gauges' }), 'g: 2\n');
    assert.equal(statsAsText(s, { type: 'TextReadouts' }), 't: "x"\n');
    assert.match(statsAsText(s, { type: 'Histograms' }), /^h: P0\(1,1\) .*\n$/);
    assert.equal(statsAsText(s, { type: 'All' }), statsAsText(s));
    assert.equal(statsAsJson(s, { type: 'Gauges' }), '{"stats":[{"name":"g","value":2}]}');
    assert.match(
      statsAsJson(s, { type: 'Histograms' }),
      /^\{"stats":\[\{"histograms":\{"supported_quantiles"/,
    );
  });
});
