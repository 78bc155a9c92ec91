/**
 * Envoy's Prometheus text output, byte for byte: `# TYPE` per family, `envoy_` names from
 * the tag-extracted names, tags as labels in extraction order, `{}` for a stat without
 * tags, counters then gauges then text readouts then histograms, families and their
 * members in Envoy's token-wise order, histogram buckets at Envoy's bounds with `+Inf`,
 * `_sum` and `_count`, summaries from the interval, escaping, and `%.32g` numbers. The
 * output is also read back with a Prometheus text-format parser from npm. Expected text
 * follows Envoy's source/server/admin/prometheus_stats.cc and its tests.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import {
  compareStatNames,
  formatTags,
  metricName,
  sanitizeName,
  sanitizeValue,
  statsAsPrometheus,
} from '../../src/stats/format-prometheus.ts';
import { StatsStore } from '../../src/stats/store.ts';
import { TagProducer } from '../../src/stats/tag-extractor.ts';
import { PROMETHEUS_BUCKET_BOUNDS, storeWith } from './store-fixture.ts';

/** Bucket lines of one histogram series: `counts[i]` at PROMETHEUS_BUCKET_BOUNDS[i], then +Inf, sum, count. */
function histogramLines(
  family: string,
  labels: string,
  counts: number[],
  sum: string,
  count: number,
): string[] {
  const prefix = labels === '' ? '' : `${labels},`;
  return [
    ...PROMETHEUS_BUCKET_BOUNDS.map((le, i) => `${family}_bucket{${prefix}le="${le}"} ${counts[i]}`),
    `${family}_bucket{${prefix}le="+Inf"} ${count}`,
    `${family}_sum{${labels}} ${sum}`,
    `${family}_count{${labels}} ${count}`,
  ];
}

/** A proxy-like store: two clusters, an HTTP connection manager, a listener, server stats. */
function sampleStore(): StatsStore {
  return storeWith((main, worker) => {
    worker.counter('cluster.b.upstream_rq_2xx').add(1);
    worker.counter('cluster.a.upstream_rq_2xx').add(5);
    main.counter('cluster.a.upstream_rq_2xx').add(2);
    worker.counter('cluster.a.upstream_rq_503').inc();
    worker.counter('http.ingress_http.downstream_rq_2xx').add(3);
    main.counter('server.watchdog_miss');
    main.gauge('server.live', 'NeverImport').set(1);
    worker.gauge('listener.127.0.0.1_10000.downstream_cx_active').set(2);
    main.textReadout('server.version').set('1.0 "blue"\nback\\slash');
    const h = worker.histogram('cluster.a.upstream_rq_time', 'Milliseconds');
    for (const v of [200, 300, 300]) h.recordValue(v);
    main.histogram('http.ingress_http.downstream_rq_time', 'Milliseconds');
  });
}

describe('statsAsPrometheus', () => {
  test('the whole exposition, as Envoy writes it', () => {
    const out = statsAsPrometheus(sampleStore(), new TagProducer(), { textReadouts: true });
    const expected = [
      '# TYPE envoy_cluster_upstream_rq counter',
      'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="a"} 1',
      '# TYPE envoy_cluster_upstream_rq_xx counter',
      'envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="a"} 7',
      'envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="b"} 1',
      '# TYPE envoy_http_downstream_rq_xx counter',
      'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"} 3',
      '# TYPE envoy_server_watchdog_miss counter',
      'envoy_server_watchdog_miss{} 0',
      '# TYPE envoy_listener_downstream_cx_active gauge',
      'envoy_listener_downstream_cx_active{envoy_listener_address="127.0.0.1_10000"} 2',
      '# TYPE envoy_server_live gauge',
      'envoy_server_live{} 1',
      '# TYPE envoy_server_version gauge',
      'envoy_server_version{text_value="1.0 \\"blue\\"\\nback\\\\slash"} 0',
      '# TYPE envoy_cluster_upstream_rq_time histogram',
      ...histogramLines(
        'envoy_cluster_upstream_rq_time',
        'envoy_cluster_name="a"',
        [0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
        '800',
        3,
      ),
      '# TYPE envoy_http_downstream_rq_time histogram',
      ...histogramLines(
        'envoy_http_downstream_rq_time',
        'envoy_http_conn_manager_prefix="ingress_http"',
        Array(19).fill(0),
        '0',
        0,
      ),
      '',
    ].join('\n');
    assert.equal(out, expected);
  });

  test('text readouts only with text_readouts; usedonly and filter (on the full name) as in /stats', () => {
    const store = sampleStore();
    const producer = new TagProducer();
    assert.ok(!statsAsPrometheus(store, producer).includes('text_value'));
    const used = statsAsPrometheus(store, producer, { usedOnly: true });
    assert.ok(!used.includes('envoy_server_watchdog_miss'));
    assert.ok(!used.includes('envoy_http_downstream_rq_time'));
    assert.ok(used.includes('envoy_cluster_upstream_rq_time_count{envoy_cluster_name="a"} 3'));
    assert.equal(
      statsAsPrometheus(store, producer, { filter: /^cluster\.b\./ }),
      '# TYPE envoy_cluster_upstream_rq_xx counter\n' +
        'envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",envoy_cluster_name="b"} 1\n',
    );
    assert.equal(statsAsPrometheus(store, producer, { filter: /nothing/ }), '');
    assert.equal(statsAsPrometheus(new StatsStore(), producer), '');
  });

  test('histogram_buckets=summary: the interval’s quantiles, sum and count', () => {
    const store = storeWith((main) => {
      const h = main.histogram('cluster.a.upstream_rq_time', 'Milliseconds');
      for (const v of [200, 300, 300]) h.recordValue(v);
    });
    const labels = 'envoy_cluster_name="a"';
    const family = 'envoy_cluster_upstream_rq_time';
    const quantiles = [
      ['0', '200'],
      ['0.25', '207.5'],
      ['0.5', '302.5'],
      ['0.75', '306.25'],
      ['0.9', '308.5'],
      ['0.95', '309.25'],
      ['0.99', '309.85000000000002273736754432321'],
      ['0.995', '309.9250000000000113686837721616'],
      ['0.999', '309.98500000000001364242052659392'],
      ['1', '310'],
    ];
    assert.equal(
      statsAsPrometheus(store, new TagProducer(), { histogramBuckets: 'summary' }),
      [
        `# TYPE ${family} summary`,
        ...quantiles.map(([q, v]) => `${family}{${labels},quantile="${q}"} ${v}`),
        `${family}_sum{${labels}} 800`,
        `${family}_count{${labels}} 3`,
        '',
      ].join('\n'),
    );
    store.flush();
    const afterFlush = statsAsPrometheus(store, new TagProducer(), { histogramBuckets: 'summary' });
    assert.ok(afterFlush.includes(`${family}{${labels},quantile="0.5"} nan\n`));
    assert.ok(afterFlush.endsWith(`${family}_sum{${labels}} 0\n${family}_count{${labels}} 0\n`));
  });

  test('sums print with %.32g, as Envoy’s {:.32g}', () => {
    const store = storeWith((main) => {
      const h = main.histogram('h');
      h.recordValue(0.1);
      h.recordValue(0.2);
    });
    assert.ok(
      statsAsPrometheus(store, new TagProducer()).includes(
        'envoy_h_sum{} 0.30000000000000004440892098500626\n',
      ),
    );
  });

  test('families and members are ordered token by token, not by raw string', () => {
    const store = storeWith((main) => {
      main.counter('x-y.z').inc();
      main.counter('x.y').inc();
    });
    // "x" < "x-y" token-wise, although "x-y.z" < "x.y" as strings.
    assert.equal(
      statsAsPrometheus(store, new TagProducer()),
      '# TYPE envoy_x_y counter\nenvoy_x_y{} 1\n# TYPE envoy_x_y_z counter\nenvoy_x_y_z{} 1\n',
    );
    assert.ok(compareStatNames('a.b', 'a-b.c') < 0);
    assert.ok(compareStatNames('a.b.c', 'a.b') > 0);
    assert.equal(compareStatNames('a.b', 'a.b'), 0);
  });

  test('names and labels are sanitized, values escaped; custom tags become labels', () => {
    assert.equal(sanitizeName('cluster.my-svc:x'), 'cluster_my_svc_x');
    assert.equal(metricName('http.downstream_rq_xx'), 'envoy_http_downstream_rq_xx');
    assert.equal(sanitizeValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(
      formatTags([
        { name: 'envoy.cluster_name', value: 'my-svc' },
        { name: 'team', value: 'a b' },
      ]),
      'envoy_cluster_name="my-svc",team="a b"',
    );
    const store = storeWith((main) => main.counter('cluster.my-svc.upstream_cx_total').add(4));
    const producer = new TagProducer({ fixedTags: [{ name: 'region', value: 'eu-1' }] });
    assert.equal(
      statsAsPrometheus(store, producer),
      '# TYPE envoy_cluster_upstream_cx_total counter\n' +
        'envoy_cluster_upstream_cx_total{region="eu-1",envoy_cluster_name="my-svc"} 4\n',
    );
  });

  test('a Prometheus text-format parser reads every family back with its type, labels and values', () => {
    const out = statsAsPrometheus(sampleStore(), new TagProducer(), { textReadouts: true });
    const families = parsePrometheusTextFormat(out);
    const byName = new Map(families.map((f) => [f.name, f]));
    assert.equal(families.length, byName.size, 'each family once');
    assert.deepEqual(
      families.map((f) => [f.name, f.type]),
      [
        ['envoy_cluster_upstream_rq', 'COUNTER'],
        ['envoy_cluster_upstream_rq_xx', 'COUNTER'],
        ['envoy_http_downstream_rq_xx', 'COUNTER'],
        ['envoy_server_watchdog_miss', 'COUNTER'],
        ['envoy_listener_downstream_cx_active', 'GAUGE'],
        ['envoy_server_live', 'GAUGE'],
        ['envoy_server_version', 'GAUGE'],
        ['envoy_cluster_upstream_rq_time', 'HISTOGRAM'],
        ['envoy_http_downstream_rq_time', 'HISTOGRAM'],
      ],
    );
    assert.deepEqual(byName.get('envoy_cluster_upstream_rq_xx')?.metrics, [
      { value: '7', labels: { envoy_response_code_class: '2', envoy_cluster_name: 'a' } },
      { value: '1', labels: { envoy_response_code_class: '2', envoy_cluster_name: 'b' } },
    ]);
    assert.deepEqual(byName.get('envoy_server_version')?.metrics, [
      { value: '0', labels: { text_value: '1.0 "blue"\nback\\slash' } },
    ]);
  });
});
