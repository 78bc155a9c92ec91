/**
 * Envoy's admin /stats output, text and `?format=json`, byte for byte: text readouts, then
 * counters and gauges together, then histograms, each sorted by name; histogram summaries
 * `P0(interval,cumulative) ...` with `nan` for an empty interval and `No recorded values`
 * for a histogram never used; JSON with `supported_quantiles` / `computed_quantiles` and
 * null for NaN; filter and usedonly. Expected strings follow Envoy's
 * test/server/admin/stats_render_test.cc and source/server/admin/stats_render.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDouble, statsAsJson, statsAsText } from '../../src/stats/format.ts';
import { StatsStore } from '../../src/stats/store.ts';
import { storeWith } from './store-fixture.ts';

const ENVOY_H1 =
  'h1: P0(200,200) P25(207.5,207.5) P50(302.5,302.5) P75(306.25,306.25) ' +
  'P90(308.5,308.5) P95(309.25,309.25) P99(309.85,309.85) P99.5(309.925,309.925) ' +
  'P99.9(309.985,309.985) P100(310,310)\n';

/** A store like a small proxy's, with a histogram flushed once (its interval is empty). */
function sampleStore(): StatsStore {
  const store = storeWith((main, worker) => {
    const cluster = worker.scope('cluster.a.');
    cluster.counter('upstream_rq_total').add(5);
    cluster.gauge('upstream_cx_active').set(2);
    main.scope('listener.x.').counter('downstream_cx_total');
    main.gauge('server.live', 'NeverImport').set(1);
    main.textReadout('server.version').set('v1 "q"');
    const h = cluster.histogram('upstream_rq_time', 'Milliseconds');
    for (const v of [200, 300, 300]) h.recordValue(v);
    main.histogram('http.ingress.downstream_rq_time', 'Milliseconds');
  });
  store.flush();
  return store;
}

describe('admin /stats text', () => {
  test('a histogram of {200, 300, 300} prints exactly Envoy’s line', () => {
    const store = storeWith((main) => {
      const h = main.histogram('h1');
      for (const v of [200, 300, 300]) h.recordValue(v);
    });
    assert.equal(statsAsText(store), ENVOY_H1);
  });

  test('text readouts, then counters and gauges by name, then histograms', () => {
    assert.equal(
      statsAsText(sampleStore()),
      [
        'server.version: "v1 "q""',
        'cluster.a.upstream_cx_active: 2',
        'cluster.a.upstream_rq_total: 5',
        'listener.x.downstream_cx_total: 0',
        'server.live: 1',
        'cluster.a.upstream_rq_time: P0(nan,200) P25(nan,207.5) P50(nan,302.5) P75(nan,306.25) ' +
          'P90(nan,308.5) P95(nan,309.25) P99(nan,309.85) P99.5(nan,309.925) P99.9(nan,309.985) P100(nan,310)',
        'http.ingress.downstream_rq_time: No recorded values',
        '',
      ].join('\n'),
    );
  });

  test('usedonly drops stats never written; filter keeps names the regex finds anywhere', () => {
    const store = sampleStore();
    assert.equal(
      statsAsText(store, { usedOnly: true }),
      [
        'server.version: "v1 "q""',
        'cluster.a.upstream_cx_active: 2',
        'cluster.a.upstream_rq_total: 5',
        'server.live: 1',
        'cluster.a.upstream_rq_time: P0(nan,200) P25(nan,207.5) P50(nan,302.5) P75(nan,306.25) ' +
          'P90(nan,308.5) P95(nan,309.25) P99(nan,309.85) P99.5(nan,309.925) P99.9(nan,309.985) P100(nan,310)',
        '',
      ].join('\n'),
    );
    assert.equal(
      statsAsText(store, { filter: /upstream_(rq_total|cx)/ }),
      'cluster.a.upstream_cx_active: 2\ncluster.a.upstream_rq_total: 5\n',
    );
    assert.equal(
      statsAsText(store, { filter: /^server\./g }),
      'server.version: "v1 "q""\nserver.live: 1\n',
      'a global regex matches every name, not every other one',
    );
    assert.equal(statsAsText(store, { filter: /nothing/ }), '');
  });

  test('an empty store prints nothing', () => {
    assert.equal(statsAsText(new StatsStore()), '');
  });
});

describe('admin /stats?format=json', () => {
  test('the whole document, as Envoy streams it', () => {
    const nulls = (cumulative: readonly number[]): string =>
      cumulative.map((c) => `{"cumulative":${c},"interval":null}`).join(',');
    const expected =
      '{"stats":[' +
      '{"name":"server.version","value":"v1 \\"q\\""},' +
      '{"name":"cluster.a.upstream_cx_active","value":2},' +
      '{"name":"cluster.a.upstream_rq_total","value":5},' +
      '{"name":"listener.x.downstream_cx_total","value":0},' +
      '{"name":"server.live","value":1},' +
      '{"histograms":{"supported_quantiles":[0,25,50,75,90,95,99,99.5,99.9,100],"computed_quantiles":[' +
      `{"name":"cluster.a.upstream_rq_time","values":[${nulls([200, 207.5, 302.5, 306.25, 308.5, 309.25, 309.85, 309.925, 309.985, 310])}]},` +
      `{"name":"http.ingress.downstream_rq_time","values":[${Array(10).fill('{"cumulative":null,"interval":null}').join(',')}]}` +
      ']}}]}';
    const json = statsAsJson(sampleStore());
    assert.equal(json, expected);
    assert.doesNotThrow(() => JSON.parse(json));
  });

  test('{200, 300, 300} gives Envoy’s computed_quantiles (JsonHistogramNoBuckets)', () => {
    const store = storeWith((main) => {
      const h = main.histogram('h1');
      for (const v of [200, 300, 300]) h.recordValue(v);
    });
    const parsed = JSON.parse(statsAsJson(store)) as {
      stats: Array<{
        histograms: {
          supported_quantiles: number[];
          computed_quantiles: Array<{
            name: string;
            values: Array<{ cumulative: number; interval: number }>;
          }>;
        };
      }>;
    };
    const histograms = parsed.stats[0]!.histograms;
    assert.deepEqual(histograms.supported_quantiles, [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    assert.equal(histograms.computed_quantiles[0]?.name, 'h1');
    assert.deepEqual(
      histograms.computed_quantiles[0]?.values.map((v) => [v.cumulative, v.interval]),
      [200, 207.5, 302.5, 306.25, 308.5, 309.25, 309.85, 309.925, 309.985, 310].map((q) => [q, q]),
    );
  });

  test('names and text values are JSON-escaped; no histograms means no histograms entry', () => {
    const store = storeWith((main) => {
      main.textReadout('t').set('abc 123 ~!@#$%^&*()-_=+;:\'",<.>/?\n\u0001');
      main.counter('c').inc();
    });
    assert.equal(
      statsAsJson(store),
      '{"stats":[{"name":"t","value":"abc 123 ~!@#$%^&*()-_=+;:\'\\",<.>/?\\n\\u0001"},{"name":"c","value":1}]}',
    );
    assert.equal(statsAsJson(new StatsStore()), '{"stats":[]}');
  });

  test('usedonly and filter apply to JSON too', () => {
    const json = statsAsJson(sampleStore(), { usedOnly: true, filter: /cluster/ });
    const names = (JSON.parse(json) as { stats: Array<{ name?: string }> }).stats.map((s) => s.name);
    assert.deepEqual(names, ['cluster.a.upstream_cx_active', 'cluster.a.upstream_rq_total', undefined]);
    assert.ok(!json.includes('http.ingress'));
  });
});

describe('number formatting', () => {
  test('doubles print as fmt’s {}: shortest digits, exponent below 1e-4 and from 1e16, nan', () => {
    for (const [n, s] of [
      [0, '0'],
      [310, '310'],
      [309.925, '309.925'],
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1234567, '1234567'],
      [1e15, '1000000000000000'],
      [1e16, '1e+16'],
      [1.5e20, '1.5e+20'],
      [1e100, '1e+100'],
      [-2.5, '-2.5'],
      [Number.NaN, 'nan'],
      [Number.POSITIVE_INFINITY, 'inf'],
    ] as const) {
      assert.equal(formatDouble(n), s, String(n));
    }
  });
});
