/**
 * The admin stats endpoints over real HTTP against a real legate process that has proxied
 * HTTP requests (2xx, 404, 503) and a TCP connection: `/stats/prometheus` read by a
 * Prometheus text-format parser from npm and by a strict line-by-line check, with Envoy's
 * metric names and labels for cluster, listener, HTTP, TCP, server and worker stats;
 * `/stats` with `filter` (RE2), `type`, `usedonly`, `histogram_buckets` and `format`,
 * and Envoy's 400 answers; `/stats/recentlookups` disabled, enabled, cleared; POST-only
 * `/reset_counters`; and `stats_config.stats_tags` / `--stats-tag` labels, or a bad
 * `stats_tags` regex stopping the server.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import {
  eventually,
  freePort,
  httpProxyConfig,
  httpUpstream,
  type Legate,
  startLegate,
  stat,
} from '../integration/harness.ts';
import { PROMETHEUS_BUCKET_BOUNDS } from '../stats/store-fixture.ts';

/** The upstream: 503 for /fail, 404 for /missing, 418 for /teapot, 200 otherwise. */
function upstream(): ReturnType<typeof httpUpstream> {
  return httpUpstream((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode =
        req.url === '/fail' ? 503 : req.url === '/missing' ? 404 : req.url === '/teapot' ? 418 : 200;
      res.end('upstream');
    });
  });
}

/** The HTTP proxy plus a tcp_proxy listener (`tcp_stats`) to the same cluster, with dispatcher stats. */
function proxyConfig(httpPort: number, tcpPort: number, upstreamPort: number): string {
  return `enable_dispatcher_stats: true\n${httpProxyConfig(httpPort, upstreamPort, {
    listeners: `  - name: tcp
    address: { socket_address: { address: 127.0.0.1, port_value: ${tcpPort} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: tcp_stats
          cluster: backend`,
  })}`;
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function admin(
  base: string,
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(`${base}${path}`, { method });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: string;
}

interface Family {
  readonly type: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN|nan)$/;

/**
 * Checks the exposition line by line as the text format defines it: `# TYPE` before its
 * samples, each family once and contiguous, valid names, labels and values; histograms
 * with ascending `le`, non-decreasing counts and `+Inf` equal to `_count`.
 */
function checkExposition(body: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: string | undefined;
  assert.ok(body.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of body.slice(0, -1).split('\n')) {
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (counter|gauge|histogram|summary)$/.exec(line);
      assert.ok(m !== null, `bad comment line: ${line}`);
      const name = m[1]!;
      assert.match(name, METRIC_NAME);
      assert.ok(!families.has(name), `family ${name} declared twice`);
      families.set(name, { type: m[2]!, samples: [] });
      current = name;
      continue;
    }
    const m = /^([^{ ]+)\{(.*)\} (\S+)$/.exec(line);
    assert.ok(m !== null, `bad sample line: ${line}`);
    const [, name, labelText, value] = m as unknown as [string, string, string, string];
    assert.match(name, METRIC_NAME);
    assert.match(value, FLOAT, line);
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
    while (labelRe.lastIndex < labelText.length) {
      const l = labelRe.exec(labelText);
      assert.ok(l !== null, `bad labels in: ${line}`);
      assert.ok(!(l[1]! in labels), `label ${l[1]} twice in: ${line}`);
      labels[l[1]!] = l[2]!;
    }
    assert.ok(current !== undefined, `sample before any # TYPE: ${line}`);
    const family = families.get(current)!;
    const allowed =
      family.type === 'histogram'
        ? [`${current}_bucket`, `${current}_sum`, `${current}_count`]
        : family.type === 'summary'
          ? [current, `${current}_sum`, `${current}_count`]
          : [current];
    assert.ok(allowed.includes(name), `${name} outside its family ${current}`);
    family.samples.push({ name, labels, value });
  }
  for (const [name, family] of families) {
    if (family.type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of family.samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const les = buckets.map((b) => b.labels['le']!);
      assert.deepEqual(les, [...PROMETHEUS_BUCKET_BOUNDS, '+Inf'], `${name} ${key} buckets`);
      const counts = buckets.map((b) => Number(b.value));
      for (let i = 1; i < counts.length; i++)
        assert.ok(counts[i]! >= counts[i - 1]!, `${name} ${key} cumulative`);
      const count = family.samples.find(
        (s) => s.name === `${name}_count` && JSON.stringify(s.labels) === key,
      );
      assert.equal(count?.value, String(counts.at(-1)), `${name} ${key}: +Inf equals _count`);
    }
  }
  return families;
}

/** The value of the one sample named `sample` (default: the family's name) of `family` with exactly `labels`. */
function sampleValue(
  families: Map<string, Family>,
  family: string,
  labels: Record<string, string>,
  sample = family,
): string {
  const f = families.get(family);
  assert.ok(f !== undefined, `no family ${family}`);
  const found = f.samples.filter(
    (s) =>
      s.name === sample &&
      JSON.stringify(Object.entries(s.labels)) === JSON.stringify(Object.entries(labels)),
  );
  assert.equal(found.length, 1, `${family}${JSON.stringify(labels)} in ${JSON.stringify(f.samples)}`);
  return found[0]!.value;
}

const OK = 4;
const FAILED = 2;
const NOT_FOUND = 1;
const TOTAL = OK + FAILED + NOT_FOUND;

describe('admin stats endpoints on a proxy that has served traffic', { timeout: 120_000 }, () => {
  let legate: Legate;
  let up: Awaited<ReturnType<typeof upstream>>;
  let httpPort: number;
  let tcpPort: number;

  before(async () => {
    up = await upstream();
    httpPort = await freePort();
    tcpPort = await freePort();
    legate = await startLegate(proxyConfig(httpPort, tcpPort, up.port), ['--concurrency', '2']);
    for (let i = 0; i < OK; i++) assert.equal(await get(httpPort, `/ok/${i}`), 200);
    for (let i = 0; i < FAILED; i++) assert.equal(await get(httpPort, '/fail'), 503);
    assert.equal(await get(httpPort, '/missing'), 404);
    const socket = net.connect(tcpPort, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.end();
    await new Promise((r) => socket.once('close', r));
    // Workers update their counters as the exchanges finish: wait until every one is counted.
    const settled = await eventually(
      async () =>
        (await stat(legate.admin, 'http.ingress_http.downstream_rq_completed')) === TOTAL &&
        (await stat(legate.admin, 'cluster.backend.upstream_rq_completed')) === TOTAL &&
        (await stat(legate.admin, 'tcp.tcp_stats.downstream_cx_total')) === 1 &&
        (await stat(legate.admin, 'http.ingress_http.downstream_cx_destroy')) !== undefined,
    );
    assert.ok(settled, 'the traffic is counted');
  });

  after(async () => {
    await legate?.stop();
    await up?.close();
  });

  test('/stats/prometheus parses cleanly, with Envoy’s names, labels and types', async () => {
    const r = await admin(legate.admin, '/stats/prometheus');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; charset=UTF-8');
    const families = checkExposition(r.body);

    // The npm parser reads the same families with the same types.
    const parsed = parsePrometheusTextFormat(r.body);
    assert.deepEqual(
      parsed.map((f) => [f.name, f.type.toLowerCase()]),
      [...families].map(([name, f]) => [name, f.type]),
    );

    const cluster = { envoy_cluster_name: 'backend' };
    const hcm = { envoy_http_conn_manager_prefix: 'ingress_http' };
    const listener = { envoy_listener_address: `127.0.0.1_${httpPort}` };
    assert.equal(families.get('envoy_cluster_upstream_rq_total')?.type, 'counter');
    assert.equal(sampleValue(families, 'envoy_cluster_upstream_rq_total', cluster), String(TOTAL));
    assert.equal(
      sampleValue(families, 'envoy_cluster_upstream_rq_xx', { envoy_response_code_class: '2', ...cluster }),
      String(OK),
    );
    assert.equal(
      sampleValue(families, 'envoy_cluster_upstream_rq_xx', { envoy_response_code_class: '5', ...cluster }),
      String(FAILED),
    );
    assert.equal(
      sampleValue(families, 'envoy_cluster_upstream_rq', { envoy_response_code: '503', ...cluster }),
      String(FAILED),
    );
    assert.equal(
      sampleValue(families, 'envoy_cluster_upstream_rq', { envoy_response_code: '404', ...cluster }),
      String(NOT_FOUND),
    );
    assert.equal(families.get('envoy_cluster_upstream_cx_active')?.type, 'gauge');
    assert.equal(sampleValue(families, 'envoy_cluster_membership_healthy', cluster), '1');
    assert.equal(
      sampleValue(families, 'envoy_cluster_circuit_breakers_default_rq_open', cluster),
      '0',
      'circuit breaker gauges keep their priority in the name',
    );
    assert.equal(
      sampleValue(families, 'envoy_http_downstream_rq_xx', { envoy_response_code_class: '2', ...hcm }),
      String(OK),
    );
    assert.equal(
      sampleValue(families, 'envoy_http_downstream_rq_xx', { envoy_response_code_class: '4', ...hcm }),
      String(NOT_FOUND),
    );
    assert.equal(sampleValue(families, 'envoy_http_downstream_rq_total', hcm), String(TOTAL));
    const cxTotal = Number(sampleValue(families, 'envoy_listener_downstream_cx_total', listener));
    assert.equal(cxTotal, TOTAL, 'one connection per request (no keep-alive)');
    const perWorker = ['0', '1'].map((w) =>
      Number(
        sampleValue(families, 'envoy_listener_worker_downstream_cx_total', {
          envoy_worker_id: w,
          ...listener,
        }),
      ),
    );
    assert.equal(perWorker[0]! + perWorker[1]!, cxTotal, 'the per-worker counters add up');
    assert.equal(
      sampleValue(families, 'envoy_tcp_downstream_cx_total', { envoy_tcp_prefix: 'tcp_stats' }),
      '1',
    );
    assert.equal(sampleValue(families, 'envoy_server_live', {}), '1');
    assert.equal(sampleValue(families, 'envoy_server_concurrency', {}), '2');
    assert.equal(sampleValue(families, 'envoy_cluster_manager_active_clusters', {}), '1');
    assert.equal(sampleValue(families, 'envoy_listener_manager_listener_added', {}), '2');
    assert.equal(families.get('envoy_server_worker_watchdog_miss')?.type, 'counter');
    sampleValue(families, 'envoy_server_worker_watchdog_miss', { envoy_worker_id: '1' });
    sampleValue(
      families,
      'envoy_server_worker_dispatcher_loop_duration_us',
      { envoy_worker_id: '0' },
      'envoy_server_worker_dispatcher_loop_duration_us_count',
    );

    const rqTime = families.get('envoy_cluster_upstream_rq_time');
    assert.equal(rqTime?.type, 'histogram');
    assert.equal(
      sampleValue(
        families,
        'envoy_cluster_upstream_rq_time',
        cluster,
        'envoy_cluster_upstream_rq_time_count',
      ),
      String(TOTAL),
    );
    assert.equal(
      sampleValue(
        families,
        'envoy_cluster_upstream_rq_time',
        { ...cluster, le: '+Inf' },
        'envoy_cluster_upstream_rq_time_bucket',
      ),
      String(TOTAL),
    );
    assert.equal(families.get('envoy_http_downstream_rq_time')?.type, 'histogram');

    // The same document through /stats?format=prometheus (values of live gauges may move).
    const viaStats = checkExposition((await admin(legate.admin, '/stats?format=prometheus')).body);
    assert.deepEqual(
      [...viaStats].map(([n, f]) => [n, f.type]),
      [...families].map(([n, f]) => [n, f.type]),
    );
  });

  test('/stats/prometheus with filter, usedonly, histogram_buckets', async () => {
    const filtered = checkExposition(
      (await admin(legate.admin, `/stats/prometheus?filter=${encodeURIComponent('^cluster\\.backend\\.')}`))
        .body,
    );
    assert.ok(filtered.size > 10);
    for (const [name, f] of filtered) {
      assert.match(name, /^envoy_cluster_/);
      for (const s of f.samples) assert.equal(s.labels['envoy_cluster_name'], 'backend');
    }
    const all = checkExposition((await admin(legate.admin, '/stats/prometheus')).body);
    const used = checkExposition((await admin(legate.admin, '/stats/prometheus?usedonly')).body);
    assert.ok(all.has('envoy_cluster_upstream_rq_retry'), 'an unused counter is listed by default');
    assert.ok(!used.has('envoy_cluster_upstream_rq_retry'), 'but not with usedonly');
    assert.ok(used.has('envoy_cluster_upstream_rq_total'));

    const summary = checkExposition(
      (await admin(legate.admin, '/stats/prometheus?histogram_buckets=summary')).body,
    );
    assert.equal(summary.get('envoy_cluster_upstream_rq_time')?.type, 'summary');
    const quantiles = summary
      .get('envoy_cluster_upstream_rq_time')!
      .samples.filter((s) => s.labels['quantile'] !== undefined)
      .map((s) => s.labels['quantile']);
    assert.deepEqual(quantiles, ['0', '0.25', '0.5', '0.75', '0.9', '0.95', '0.99', '0.995', '0.999', '1']);

    for (const mode of ['disjoint', 'detailed']) {
      const r = await admin(legate.admin, `/stats/prometheus?histogram_buckets=${mode}`);
      assert.deepEqual([r.status, r.body], [400, 'unsupported prometheus histogram bucket mode']);
    }
  });

  test('/stats: RE2 filter, type, histogram_buckets and JSON', async () => {
    // An unencoded '+' in the query is the regex's '+', as in Envoy.
    const codes = await admin(legate.admin, '/stats?filter=^cluster\\.backend\\.upstream_rq_[0-9]+$');
    assert.equal(codes.status, 200);
    assert.equal(
      codes.body,
      `cluster.backend.upstream_rq_200: ${OK}\ncluster.backend.upstream_rq_404: ${NOT_FOUND}\n` +
        `cluster.backend.upstream_rq_503: ${FAILED}\n`,
    );
    for (const bad of ['(unclosed', 'upstream(?=_rq)', '(a)\\1']) {
      const r = await admin(legate.admin, `/stats?filter=${encodeURIComponent(bad)}`);
      assert.deepEqual([r.status, r.body], [400, 'Invalid re2 regex'], bad);
    }

    const counters = (await admin(legate.admin, '/stats?type=Counters&filter=^server\\.')).body;
    assert.match(counters, /^server\.watchdog_miss: \d+$/m);
    assert.doesNotMatch(counters, /^server\.live:/m);
    const gauges = (await admin(legate.admin, '/stats?type=Gauges&filter=^server\\.')).body;
    assert.match(gauges, /^server\.live: 1$/m);
    assert.doesNotMatch(gauges, /watchdog_miss/);
    const histograms = (await admin(legate.admin, '/stats?type=Histograms&filter=^cluster\\.backend\\.'))
      .body;
    assert.match(histograms, /^cluster\.backend\.upstream_rq_time: P0\(/m);
    assert.doesNotMatch(histograms, /upstream_rq_total/);

    const cumulative = (
      await admin(
        legate.admin,
        '/stats?histogram_buckets=cumulative&filter=^cluster\\.backend\\.upstream_rq_time$',
      )
    ).body;
    assert.match(
      cumulative,
      new RegExp(
        `^cluster\\.backend\\.upstream_rq_time: B0\\.5\\(\\d+,\\d+\\) B1\\(\\d+,\\d+\\)( B[0-9.e+]+\\(\\d+,\\d+\\)){16} B3\\.6e\\+06\\(\\d+,${TOTAL}\\)\\n$`,
      ),
    );
    const detailed = (
      await admin(
        legate.admin,
        '/stats?histogram_buckets=detailed&filter=^cluster\\.backend\\.upstream_rq_time$',
      )
    ).body;
    assert.match(
      detailed,
      /^cluster\.backend\.upstream_rq_time:\n {2}totals=.*\n {2}intervals=.*\n {2}summary=P0\(/,
    );
    const total = [...detailed.split('\n')[1]!.matchAll(/:(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(total, TOTAL, 'the detailed buckets hold every request');

    const json = await admin(
      legate.admin,
      '/stats?format=json&histogram_buckets=disjoint&filter=^cluster\\.backend\\.upstream_rq_(time|total)$',
    );
    assert.equal(json.type, 'application/json');
    const doc = JSON.parse(json.body) as {
      stats: Array<{
        name?: string;
        value?: number;
        histograms?: Array<{ name: string; buckets: unknown[] }>;
      }>;
    };
    assert.deepEqual(doc.stats[0], { name: 'cluster.backend.upstream_rq_total', value: TOTAL });
    assert.equal(doc.stats[1]?.histograms?.[0]?.name, 'cluster.backend.upstream_rq_time');
    assert.equal(doc.stats[1]?.histograms?.[0]?.buckets.length, 19);

    const errors: Array<[string, string]> = [
      ['/stats?type=Bogus', 'invalid &type= param'],
      [
        '/stats?histogram_buckets=bogus',
        'usage: /stats?histogram_buckets=(cumulative|disjoint|detailed|summary)\n',
      ],
      ['/stats?format=bogus', 'usage: /stats?format=(html|active-html|json|prometheus|text)\n\n'],
      ['/stats?hidden=bogus', 'usage: /stats?hidden=(include|only|exclude)\n\n'],
    ];
    for (const [path, message] of errors) {
      const r = await admin(legate.admin, path);
      assert.deepEqual([r.status, r.body], [400, message], path);
    }
    assert.equal((await admin(legate.admin, '/stats?hidden=only')).body, '');
  });

  test('/stats/recentlookups: disabled by default, then the names looked up, cleared, disabled', async () => {
    const disabled = await admin(legate.admin, '/stats/recentlookups');
    assert.equal(disabled.status, 200);
    assert.match(
      disabled.body,
      /^Lookup tracking is not enabled\. Use \/stats\/recentlookups\/enable to enable\.\n\ntotal: \d+\n$/,
    );
    assert.ok(Number(/total: (\d+)/.exec(disabled.body)?.[1]) > 0, 'lookups are counted while disabled');

    const notPost = await admin(legate.admin, '/stats/recentlookups/enable');
    assert.equal(notPost.status, 405);
    assert.deepEqual(await admin(legate.admin, '/stats/recentlookups/enable', 'POST'), {
      status: 200,
      type: 'text/plain; charset=UTF-8',
      body: 'OK\n',
    });
    // A status never seen before: the router looks its counters up by name.
    assert.equal(await get(httpPort, '/teapot'), 418);
    let table = '';
    assert.ok(
      await eventually(async () => {
        table = (await admin(legate.admin, '/stats/recentlookups')).body;
        return /^ +1 cluster\.backend\.upstream_rq_418$/m.test(table);
      }),
      table,
    );
    assert.match(table, /^ {3}Count Lookup\n( {0,7}\d+ \S+\n)+\ntotal: \d+\n$/);

    assert.equal((await admin(legate.admin, '/stats/recentlookups/clear', 'POST')).body, 'OK\n');
    const cleared = (await admin(legate.admin, '/stats/recentlookups')).body;
    assert.doesNotMatch(cleared, /upstream_rq_418/);
    assert.ok(Number(/total: (\d+)/.exec(cleared)?.[1]) < Number(/total: (\d+)/.exec(table)?.[1]));

    assert.equal((await admin(legate.admin, '/stats/recentlookups/disable', 'POST')).body, 'OK\n');
    assert.match(
      (await admin(legate.admin, '/stats/recentlookups')).body,
      /^Lookup tracking is not enabled\./,
    );
  });

  test('/reset_counters: POST only; counters read 0, then count again', async () => {
    assert.equal((await admin(legate.admin, '/reset_counters')).status, 405);
    assert.ok(((await stat(legate.admin, 'cluster.backend.upstream_rq_total')) ?? 0) > 0);
    assert.equal((await admin(legate.admin, '/reset_counters', 'POST')).body, 'OK\n');
    assert.equal(await stat(legate.admin, 'cluster.backend.upstream_rq_total'), 0);
    assert.equal(await stat(legate.admin, 'http.ingress_http.downstream_rq_2xx'), 0);
    assert.equal(await stat(legate.admin, 'server.live'), 1, 'gauges are not counters');
    const used = (await admin(legate.admin, '/stats?usedonly&filter=^cluster\\.backend\\.upstream_rq_total$'))
      .body;
    assert.equal(used, 'cluster.backend.upstream_rq_total: 0\n', 'a reset counter is still "used"');
    assert.equal(await get(httpPort, '/ok'), 200);
    assert.ok(
      await eventually(async () => (await stat(legate.admin, 'cluster.backend.upstream_rq_total')) === 1),
      'counts from zero again',
    );
  });
});

describe('stats_config tags', { timeout: 60_000 }, () => {
  test('stats_tags (regex, fixed_value), use_all_default_tags: false and --stats-tag become labels', async () => {
    const port = await freePort();
    const config = `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
stats_config:
  use_all_default_tags: false
  stats_tags:
  - tag_name: port
    regex: "^listener\\\\.127\\\\.0\\\\.0\\\\.1_((\\\\d+)\\\\.)"
  - tag_name: team
    fixed_value: edge
static_resources:
  listeners:
  - name: echo
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.echo
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo }
`;
    const legate = await startLegate(config, ['--stats-tag', 'region:eu1']);
    try {
      const families = checkExposition((await admin(legate.admin, '/stats/prometheus')).body);
      assert.equal(sampleValue(families, 'envoy_server_live', { region: 'eu1', team: 'edge' }), '1');
      // Without the defaults the address stays in the name but for the part the regex took.
      sampleValue(families, 'envoy_listener_127_0_0_1_downstream_cx_total', {
        region: 'eu1',
        team: 'edge',
        port: String(port),
      });
      sampleValue(families, 'envoy_server_worker_0_watchdog_miss', { region: 'eu1', team: 'edge' });
    } finally {
      await legate.stop();
    }
  });

  test('a stats_tags regex that does not compile stops the server with the field named', async () => {
    const legate = await startLegate(
      `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
stats_config:
  stats_tags:
  - tag_name: broken
    regex: "(unclosed"
static_resources: {}
`,
      [],
      {},
      false,
    );
    try {
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        legate.exited,
        new Promise<string>((r) => {
          timer = setTimeout(() => r('timeout'), 20_000);
        }),
      ]);
      clearTimeout(timer);
      assert.equal(code, 1, legate.stderr());
      assert.match(legate.stderr(), /stats_config\.stats_tags\[0\]\.regex: Invalid regex '\(unclosed'/);
    } finally {
      await legate.stop();
    }
  });
});
