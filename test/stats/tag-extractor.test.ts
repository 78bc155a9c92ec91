/**
 * Envoy's tag extraction: the default extractors on the stat names Legate emits (cluster,
 * listener, HTTP, TCP, server, listener manager, worker stats) and on the other
 * well-known families; the order of the tags; token patterns; `stats_config.stats_tags`
 * (regex, fixed_value, a default by name), `use_all_default_tags` and `--stats-tag`, read
 * from a real decoded bootstrap; and Envoy's errors for bad specifiers. Expected names
 * and tags follow Envoy's test/common/stats/tag_extractor_impl_test.cc and the Prometheus
 * names Envoy serves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';
import {
  createTagExtractor,
  RemovedRanges,
  regexPrefixToken,
  TagExtractionContext,
  TagProducer,
  tagProducerFromConfig,
} from '../../src/stats/tag-extractor.ts';

/** `[extracted name, 'tag=value', ...]` of one name. */
function tagged(producer: TagProducer, name: string): string[] {
  const { tagExtractedName, tags } = producer.produceTags(name);
  return [tagExtractedName, ...tags.map((t) => `${t.name}=${t.value}`)];
}

describe('default tag extractors', () => {
  const producer = new TagProducer();

  const cases: Array<[string, string[]]> = [
    // Cluster stats.
    ['cluster.backend.upstream_rq_total', ['cluster.upstream_rq_total', 'envoy.cluster_name=backend']],
    [
      'cluster.backend.upstream_rq_2xx',
      ['cluster.upstream_rq_xx', 'envoy.response_code_class=2', 'envoy.cluster_name=backend'],
    ],
    [
      'cluster.backend.upstream_rq_503',
      ['cluster.upstream_rq', 'envoy.response_code=503', 'envoy.cluster_name=backend'],
    ],
    [
      'cluster.backend.external.upstream_rq_200',
      ['cluster.external.upstream_rq', 'envoy.response_code=200', 'envoy.cluster_name=backend'],
    ],
    [
      'cluster.backend.circuit_breakers.default.rq_open',
      ['cluster.circuit_breakers.default.rq_open', 'envoy.cluster_name=backend'],
    ],
    ['cluster.backend.upstream_rq_time', ['cluster.upstream_rq_time', 'envoy.cluster_name=backend']],
    [
      'cluster.backend.grpc.svc.Method.success',
      [
        'cluster.grpc.success',
        'envoy.grpc_bridge_method=Method',
        'envoy.grpc_bridge_service=svc',
        'envoy.cluster_name=backend',
      ],
    ],
    [
      'cluster.backend.ssl.ciphers.ECDHE-RSA-AES128-GCM-SHA256',
      ['cluster.ssl.ciphers', 'cipher_suite=ECDHE-RSA-AES128-GCM-SHA256', 'envoy.cluster_name=backend'],
    ],
    // Listener stats: IPv4, IPv6 and named listeners; per worker; the admin listener.
    [
      'listener.127.0.0.1_10000.downstream_cx_total',
      ['listener.downstream_cx_total', 'envoy.listener_address=127.0.0.1_10000'],
    ],
    [
      'listener.[__1]_10000.downstream_cx_active',
      ['listener.downstream_cx_active', 'envoy.listener_address=[__1]_10000'],
    ],
    [
      'listener.my_prefix.downstream_cx_total',
      ['listener.downstream_cx_total', 'envoy.listener_address=my_prefix'],
    ],
    [
      'listener.127.0.0.1_10000.worker_3.downstream_cx_total',
      ['listener.worker_downstream_cx_total', 'envoy.worker_id=3', 'envoy.listener_address=127.0.0.1_10000'],
    ],
    ['listener.admin.downstream_cx_total', ['listener.admin.downstream_cx_total']],
    [
      'listener.127.0.0.1_10000.http.ingress_http.downstream_rq_2xx',
      [
        'listener.http.downstream_rq_xx',
        'envoy.response_code_class=2',
        'envoy.http_conn_manager_prefix=ingress_http',
        'envoy.listener_address=127.0.0.1_10000',
      ],
    ],
    [
      'listener.0.0.0.0_443.ssl.ciphers.TLS_AES_128_GCM_SHA256',
      [
        'listener.ssl.ciphers',
        'envoy.ssl_cipher=TLS_AES_128_GCM_SHA256',
        'envoy.listener_address=0.0.0.0_443',
      ],
    ],
    [
      'listener.0.0.0.0_443.ssl.versions.TLSv1.3',
      ['listener.ssl.versions', 'envoy.ssl_version=TLSv1.3', 'envoy.listener_address=0.0.0.0_443'],
    ],
    // HTTP connection manager stats.
    [
      'http.ingress_http.downstream_rq_2xx',
      ['http.downstream_rq_xx', 'envoy.response_code_class=2', 'envoy.http_conn_manager_prefix=ingress_http'],
    ],
    [
      'http.ingress_http.downstream_cx_total',
      ['http.downstream_cx_total', 'envoy.http_conn_manager_prefix=ingress_http'],
    ],
    [
      'http.ingress_http.rds.my.route-config.update_success',
      [
        'http.rds.update_success',
        'envoy.rds_route_config=my.route-config',
        'envoy.http_conn_manager_prefix=ingress_http',
      ],
    ],
    [
      'http.ingress_http.user_agent.ios.downstream_cx_total',
      [
        'http.user_agent.downstream_cx_total',
        'envoy.http_user_agent=ios',
        'envoy.http_conn_manager_prefix=ingress_http',
      ],
    ],
    [
      'http.ingress_http.fault.service_a.aborts_injected',
      [
        'http.fault.aborts_injected',
        'envoy.fault_downstream_cluster=service_a',
        'envoy.http_conn_manager_prefix=ingress_http',
      ],
    ],
    [
      'http.ingress_http.dynamodb.operation.Query.upstream_rq_time',
      [
        'http.dynamodb.operation.upstream_rq_time',
        'envoy.dynamo_operation=Query',
        'envoy.http_conn_manager_prefix=ingress_http',
      ],
    ],
    // TCP proxy, virtual hosts and clusters, server, listener manager.
    ['tcp.tcp_stats.downstream_cx_total', ['tcp.downstream_cx_total', 'envoy.tcp_prefix=tcp_stats']],
    [
      'vhost.vh.vcluster.vc.upstream_rq_200',
      [
        'vhost.vcluster.upstream_rq',
        'envoy.response_code=200',
        'envoy.virtual_cluster=vc',
        'envoy.virtual_host=vh',
      ],
    ],
    [
      'vhost.vh.route.r1.upstream_rq_total',
      ['vhost.route.upstream_rq_total', 'envoy.virtual_host=vh', 'envoy.route=r1'],
    ],
    ['server.live', ['server.live']],
    ['server.main_thread.watchdog_miss', ['server.main_thread.watchdog_miss']],
    ['server.worker_1.watchdog_miss', ['server.worker_watchdog_miss', 'envoy.worker_id=1']],
    [
      'server.worker_0.dispatcher.loop_duration_us',
      ['server.worker_dispatcher.loop_duration_us', 'envoy.worker_id=0'],
    ],
    ['listener_manager.listener_added', ['listener_manager.listener_added']],
    [
      'listener_manager.worker_2.dispatcher.loop_duration_us',
      ['listener_manager.worker_dispatcher.loop_duration_us', 'envoy.worker_id=2'],
    ],
    ['cluster_manager.active_clusters', ['cluster_manager.active_clusters']],
    // Other well-known families.
    [
      'mongo.mongo_filter.collection.test.callsite.c1.query.total',
      [
        'mongo.collection.callsite.query.total',
        'envoy.mongo_callsite=c1',
        'envoy.mongo_collection=test',
        'envoy.mongo_prefix=mongo_filter',
      ],
    ],
    ['ratelimit.rl.ok', ['ratelimit.ok', 'envoy.ratelimit_prefix=rl']],
    ['auth.clientssl.cssl.allowed', ['auth.clientssl.allowed', 'envoy.clientssl_prefix=cssl']],
    ['dns_filter.dns.queries', ['dns_filter.queries', 'envoy.dns_filter_prefix=dns']],
    [
      'my_prefix.http_local_rate_limit.rate_limited',
      ['http_local_rate_limit.rate_limited', 'envoy.local_http_ratelimit_prefix=my_prefix'],
    ],
    ['udp.udp_stats.downstream_sess_total', ['udp.downstream_sess_total', 'envoy.udp_prefix=udp_stats']],
  ];
  for (const [name, expected] of cases) {
    test(`${name} -> ${expected.join(' ')}`, () => {
      assert.deepEqual(tagged(producer, name), expected);
    });
  }

  test('a name is tagged once and the result is kept', () => {
    const first = producer.produceTags('cluster.x.upstream_rq_total');
    assert.equal(producer.produceTags('cluster.x.upstream_rq_total'), first);
  });

  test('a cluster name is one token; a name with no extractor keeps its name and has no tags', () => {
    assert.deepEqual(tagged(producer, 'cluster.a.b.upstream_rq_total'), [
      'cluster.b.upstream_rq_total',
      'envoy.cluster_name=a',
    ]);
    assert.deepEqual(tagged(producer, 'cluster'), ['cluster']);
    assert.deepEqual(tagged(producer, 'foo.bar'), ['foo.bar']);
  });
});

describe('token patterns', () => {
  test('`**` at the end takes at least one token', () => {
    const p = new TagProducer({ useAllDefaultTags: false, specifiers: [{ name: 'envoy.tcp_prefix' }] });
    assert.deepEqual(tagged(p, 'tcp.a.b'), ['tcp.b', 'envoy.tcp_prefix=a']);
    assert.deepEqual(tagged(p, 'tcp.a'), ['tcp.a']);
  });

  test('`**` in the middle matches any number of tokens, and `$` last drops the dot before it', () => {
    const p = new TagProducer({ useAllDefaultTags: false, specifiers: [{ name: 'envoy.mongo_collection' }] });
    assert.deepEqual(tagged(p, 'mongo.p.collection.c.x.y.query.total'), [
      'mongo.p.collection.x.y.query.total',
      'envoy.mongo_collection=c',
    ]);
    assert.deepEqual(tagged(p, 'mongo.p.collection.c.query.total'), [
      'mongo.p.collection.query.total',
      'envoy.mongo_collection=c',
    ]);
    assert.deepEqual(tagged(p, 'mongo.p.collection.c.query'), ['mongo.p.collection.c.query']);
  });

  test('removed ranges merge when two extractors claim overlapping text', () => {
    const removed = new RemovedRanges();
    removed.add(4, 8);
    removed.add(6, 10);
    removed.add(0, 0);
    assert.equal(removed.apply('abcd123456efgh'), 'abcdefgh');
    const context = new TagExtractionContext('a.b.c');
    assert.deepEqual(context.tokens(), ['a', 'b', 'c']);
  });
});

describe('regex extractors', () => {
  test('the prefix token of a regex: literal first token before \\. or (?=\\.)', () => {
    assert.equal(regexPrefixToken('^cluster\\.((.*?)\\.)'), 'cluster');
    assert.equal(regexPrefixToken('^http(?=\\.).*?\\.((.*?)\\.)'), 'http');
    assert.equal(regexPrefixToken('^server$'), 'server');
    assert.equal(regexPrefixToken('^(?:listener|server)\\.'), '');
    assert.equal(regexPrefixToken('_rq(_(\\d{3}))$'), '');
    assert.equal(regexPrefixToken('^cluster_x'), '');
  });

  test('a configured regex: the first group is removed, the second is the value (ECMAScript)', () => {
    const e = createTagExtractor('my_tag', '^cluster\\.(?:[^.]+\\.)(?<=\\.)((\\w+)_suffix\\.)');
    const p = new TagProducer({ useAllDefaultTags: false });
    p.addExtractor(e);
    assert.deepEqual(tagged(p, 'cluster.c.abc_suffix.rq'), ['cluster.c.rq', 'my_tag=abc']);
    assert.equal(e.prefixToken, 'cluster');
  });

  test('one group: it is both the removed text and the value; no group: no tag', () => {
    const p = new TagProducer({ useAllDefaultTags: false });
    p.addExtractor(createTagExtractor('one', '\\.(v\\d+)$'));
    p.addExtractor(createTagExtractor('none', 'stat'));
    assert.deepEqual(tagged(p, 'my.stat.v2'), ['my.stat.', 'one=v2']);
  });

  test('Envoy’s messages for bad extractors', () => {
    assert.throws(() => createTagExtractor('', 'x'), { message: 'tag_name cannot be empty' });
    assert.throws(() => createTagExtractor('t', ''), {
      message: "No regex specified for tag specifier and no default regex for name: 't'",
    });
    assert.throws(() => createTagExtractor('t', '(unclosed'), /^Error: Invalid regex '\(unclosed': /);
    assert.throws(() => new TagProducer({ specifiers: [{ name: 'no_such_default' }] }), {
      message: "No regex specified for tag specifier and no default regex for name: 'no_such_default'",
    });
  });
});

describe('the producer’s configuration', () => {
  test('without the defaults, only the configured extractors run', () => {
    const p = new TagProducer({ useAllDefaultTags: false });
    assert.deepEqual(tagged(p, 'cluster.a.upstream_rq_2xx'), ['cluster.a.upstream_rq_2xx']);
  });

  test('fixed tags come first, after the defaults that see every name, in configuration order', () => {
    const p = new TagProducer({
      fixedTags: [{ name: 'region', value: 'eu' }],
      specifiers: [{ name: 'zone', fixedValue: 'a' }],
    });
    assert.deepEqual(tagged(p, 'cluster.x.upstream_rq_2xx'), [
      'cluster.upstream_rq_xx',
      'envoy.response_code_class=2',
      'region=eu',
      'zone=a',
      'envoy.cluster_name=x',
    ]);
    assert.deepEqual(tagged(p, 'server.live'), ['server.live', 'region=eu', 'zone=a']);
  });

  test('two extractors with one tag name: the first that matches wins', () => {
    const p = new TagProducer({
      useAllDefaultTags: false,
      specifiers: [
        { name: 'envoy.cluster_name', regex: '^cluster\\.((\\w+)_v\\d\\.)' },
        { name: 'envoy.cluster_name' },
      ],
    });
    assert.deepEqual(tagged(p, 'cluster.svc_v2.rq'), ['cluster.rq', 'envoy.cluster_name=svc']);
    assert.deepEqual(tagged(p, 'cluster.plain.rq'), ['cluster.rq', 'envoy.cluster_name=plain']);
  });

  function bootstrap(statsConfig: string): ReturnType<typeof loadConfig> {
    return loadConfig(
      { configYaml: `${statsConfig}\nstatic_resources: {}\n` },
      { registry: new ExtensionRegistry(compiledInExtensions) },
    );
  }

  test('stats_config.stats_tags and use_all_default_tags from a decoded bootstrap, and --stats-tag', () => {
    const loaded = bootstrap(`stats_config:
  use_all_default_tags: false
  stats_tags:
  - tag_name: envoy.cluster_name
  - tag_name: team
    fixed_value: payments
  - tag_name: version
    regex: "\\\\.(v(\\\\d+)\\\\.)"`);
    assert.deepEqual(loaded.errors, []);
    const stats = loaded.message?.['stats_config'] as Parameters<typeof tagProducerFromConfig>[0];
    const p = tagProducerFromConfig(stats, [{ name: 'host', value: 'h1' }]);
    assert.deepEqual(tagged(p, 'cluster.c.v7.upstream_rq_2xx'), [
      'cluster.upstream_rq_2xx',
      'host=h1',
      'team=payments',
      'version=7',
      'envoy.cluster_name=c',
    ]);
  });

  test('a bootstrap without stats_config gets every default extractor', () => {
    const p = tagProducerFromConfig(undefined);
    assert.deepEqual(tagged(p, 'http.h.downstream_rq_5xx'), [
      'http.downstream_rq_xx',
      'envoy.response_code_class=5',
      'envoy.http_conn_manager_prefix=h',
    ]);
  });

  test('a bad stats_tags entry is an error naming its field', () => {
    const loaded = bootstrap(`stats_config:
  stats_tags:
  - tag_name: fine
    fixed_value: x
  - tag_name: broken
    regex: "(unclosed"`);
    const stats = loaded.message?.['stats_config'] as Parameters<typeof tagProducerFromConfig>[0];
    assert.throws(
      () => tagProducerFromConfig(stats),
      /^Error: stats_config\.stats_tags\[1\]\.regex: Invalid regex/,
    );
    const unknown = bootstrap(`stats_config:
  stats_tags:
  - tag_name: nope`);
    assert.throws(
      () =>
        tagProducerFromConfig(
          unknown.message?.['stats_config'] as Parameters<typeof tagProducerFromConfig>[0],
        ),
      {
        message:
          "stats_config.stats_tags[0].tag_name: No regex specified for tag specifier and no default regex for name: 'nope'",
      },
    );
  });
});
