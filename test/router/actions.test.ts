/**
 * Route actions as the router reads them: defaults (timeout 15 s, retry policy), cluster
 * selection (static, cluster_header, weighted clusters by random value and by header),
 * path rewrites (prefix and RE2 regex, with x-envoy-original-path), host rewrites, retry
 * policies, upgrade configs, mirror policies, and direct responses from inline text, bytes and
 * files. Envoy counterpart: the RouteEntry tests of test/common/router/config_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ProtoMessage } from '../../src/config/types.ts';
import type { RouteAction } from '../../src/router/actions.ts';
import type { Route } from '../../src/router/config.ts';
import { formatterContext, oneHost, request, seconds, type TestHeaderMap, table } from './helpers.ts';

/** The single route of a one-route table with this RouteAction, matching prefix '/'. */
function routeWith(
  action: ProtoMessage,
  routeExtra: ProtoMessage = {},
  vhostExtra: ProtoMessage = {},
): Route {
  const t = table(oneHost([{ name: 'r', match: { prefix: '/' }, route: action, ...routeExtra }], vhostExtra));
  const route = t.route(request('example.com', '/'));
  assert.ok(route);
  return route;
}

function actionOf(route: Route): RouteAction {
  assert.equal(route.action.kind, 'route');
  return route.action as RouteAction;
}

describe('route action defaults', () => {
  test('a plain cluster route gets Envoy defaults', () => {
    const a = actionOf(routeWith({ cluster: 'backend' }));
    assert.equal(a.clusterName, 'backend');
    assert.equal(a.timeoutMs, 15_000);
    assert.equal(a.idleTimeoutMs, undefined);
    assert.equal(a.maxStreamDurationMs, undefined);
    assert.equal(a.clusterNotFoundResponseCode, 503);
    assert.equal(a.priority, 'DEFAULT');
    assert.equal(a.hashPolicy, undefined);
    assert.deepEqual(a.retryPolicy.retryOn, []);
    assert.equal(a.retryPolicy.numRetries, 1);
    assert.equal(a.retryPolicy.baseIntervalMs, 25);
    assert.equal(a.retryPolicy.maxIntervalMs, 250);
    assert.equal(a.upgradeConfigs.size, 0);
  });

  test('timeouts: 0 disables the route timeout, durations convert to ms', () => {
    const a = actionOf(
      routeWith({
        cluster: 'c',
        timeout: seconds(0),
        idle_timeout: seconds(2, 500_000_000),
        max_stream_duration: { max_stream_duration: seconds(30), grpc_timeout_header_max: seconds(5) },
      }),
    );
    assert.equal(a.timeoutMs, 0);
    assert.equal(a.idleTimeoutMs, 2500);
    assert.equal(a.maxStreamDurationMs, 30_000);
    assert.equal(a.grpcTimeoutHeaderMaxMs, 5000);
    assert.equal(a.grpcTimeoutHeaderOffsetMs, undefined);
  });

  test('cluster_not_found_response_code and priority', () => {
    const a = actionOf(
      routeWith({ cluster: 'c', cluster_not_found_response_code: 'NOT_FOUND', priority: 'HIGH' }),
    );
    assert.equal(a.clusterNotFoundResponseCode, 404);
    assert.equal(a.priority, 'HIGH');
  });
});

describe('cluster selection', () => {
  test('cluster_header takes the first value of the header, or "" without it', () => {
    const a = actionOf(routeWith({ cluster_header: 'X-Cluster' }));
    const headers = request('x', '/', [
      ['x-cluster', 'blue'],
      ['x-cluster', 'green'],
    ]);
    assert.deepEqual(a.selectCluster(headers, 0), { name: 'blue', weighted: undefined });
    assert.equal(a.selectCluster(request('x', '/'), 0).name, '');
  });

  const weighted = {
    weighted_clusters: {
      clusters: [
        { name: 'a', weight: 10 },
        { name: 'b', weight: 0 },
        { name: 'c', weight: 30 },
        { name: 'd', weight: 60 },
      ],
    },
  };

  test('weighted clusters pick by random % total over cumulative weights', () => {
    const a = actionOf(routeWith(weighted));
    assert.equal(a.weightedClusters?.totalWeight, 100);
    const pick = (r: number | bigint) => a.selectCluster(request('x', '/'), r).name;
    assert.equal(pick(0), 'a');
    assert.equal(pick(9), 'a');
    assert.equal(pick(10), 'c'); // weight 0 is never picked
    assert.equal(pick(39), 'c');
    assert.equal(pick(40), 'd');
    assert.equal(pick(99), 'd');
    assert.equal(pick(100), 'a');
    assert.equal(pick(12_345_678_901n), 'a'); // 01 -> a
  });

  test('weighted clusters spread uniform random values in proportion to weight', () => {
    const a = actionOf(routeWith(weighted));
    const counts = new Map<string, number>();
    for (let r = 0; r < 10_000; r++) {
      const name = a.selectCluster(request('x', '/'), r).name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { a: 1000, c: 3000, d: 6000 });
  });

  test('the weighted entry is returned for its header mutations and host rewrite', () => {
    const a = actionOf(routeWith(weighted));
    const choice = a.selectCluster(request('x', '/'), 50);
    assert.equal(choice.weighted?.name, 'd');
    assert.equal(choice.weighted, choice);
  });

  test('header_name supplies the random value when it holds one uint64', () => {
    const a = actionOf(
      routeWith({ weighted_clusters: { ...weighted.weighted_clusters, header_name: 'x-random' } }),
    );
    assert.equal(a.selectCluster(request('x', '/', [['x-random', '45']]), 0).name, 'd');
    assert.equal(a.selectCluster(request('x', '/', [['x-random', 'nope']]), 0).name, 'a');
    const two = request('x', '/', [
      ['x-random', '45'],
      ['x-random', '46'],
    ]);
    assert.equal(a.selectCluster(two, 0).name, 'a');
    assert.equal(a.selectCluster(request('x', '/', [['x-random', '18446744073709551615']]), 0).name, 'c'); // % 100 = 15
  });

  test('a weighted entry with cluster_header names its cluster from the request', () => {
    const a = actionOf(
      routeWith({ weighted_clusters: { clusters: [{ cluster_header: 'x-c', weight: 1 }] } }),
    );
    const choice = a.selectCluster(request('x', '/', [['x-c', 'from-header']]), 0);
    assert.equal(choice.name, 'from-header');
    assert.equal(choice.weighted?.clusterHeader, 'x-c');
    assert.equal(a.selectCluster(request('x', '/'), 0).name, '');
  });
});

describe('path rewrites', () => {
  function finalize(route: Route, headers: TestHeaderMap, insertOriginalPath = true): TestHeaderMap {
    route.finalizeRequestHeaders(headers, formatterContext(headers), undefined, insertOriginalPath);
    return headers;
  }

  test('prefix_rewrite replaces the matched prefix and keeps the query', () => {
    const t = table(
      oneHost([{ match: { prefix: '/api/' }, route: { cluster: 'c', prefix_rewrite: '/v2/' } }]),
    );
    const headers = request('x', '/api/users?id=1');
    finalize(t.route(headers)!, headers);
    assert.equal(headers.get(':path'), '/v2/users?id=1');
    assert.equal(headers.get('x-envoy-original-path'), '/api/users?id=1');
  });

  test('prefix_rewrite of a case-insensitive prefix replaces as many characters as the prefix has', () => {
    const t = table(
      oneHost([
        { match: { prefix: '/API', case_sensitive: false }, route: { cluster: 'c', prefix_rewrite: '/x' } },
      ]),
    );
    const headers = request('x', '/api/users');
    finalize(t.route(headers)!, headers);
    assert.equal(headers.get(':path'), '/x/users');
  });

  test('prefix_rewrite on an exact path route replaces the whole path', () => {
    const t = table(oneHost([{ match: { path: '/old' }, route: { cluster: 'c', prefix_rewrite: '/new' } }]));
    const headers = request('x', '/old?q');
    finalize(t.route(headers)!, headers);
    assert.equal(headers.get(':path'), '/new?q');
  });

  test('prefix_rewrite on a regex route replaces the whole path but not the query', () => {
    const t = table(
      oneHost([
        { match: { safe_regex: { regex: '/[a-z]+' } }, route: { cluster: 'c', prefix_rewrite: '/fixed' } },
      ]),
    );
    const headers = request('x', '/abc?q=1');
    finalize(t.route(headers)!, headers);
    assert.equal(headers.get(':path'), '/fixed?q=1');
  });

  test('regex_rewrite substitutes RE2 groups in the path and keeps the query', () => {
    const t = table(
      oneHost([
        {
          match: { prefix: '/' },
          route: {
            cluster: 'c',
            regex_rewrite: {
              pattern: { regex: '^/service/([^/]+)(/.*)$' },
              substitution: '\\2/instance/\\1',
            },
          },
        },
      ]),
    );
    const headers = request('x', '/service/foo/v1/api?x=1');
    finalize(t.route(headers)!, headers);
    assert.equal(headers.get(':path'), '/v1/api/instance/foo?x=1');
  });

  test('regex_rewrite replaces every match', () => {
    const t = table(
      oneHost([
        {
          match: { prefix: '/' },
          route: { cluster: 'c', regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' } },
        },
      ]),
    );
    const headers = request('x', '/aaa/a?a');
    finalize(t.route(headers)!, headers);
    assert.equal(headers.get(':path'), '/bbb/b?a');
  });

  test('x-envoy-original-path is left out when the router suppresses Envoy headers', () => {
    const t = table(oneHost([{ match: { prefix: '/a' }, route: { cluster: 'c', prefix_rewrite: '/b' } }]));
    const headers = request('x', '/a');
    finalize(t.route(headers)!, headers, false);
    assert.equal(headers.get(':path'), '/b');
    assert.equal(headers.has('x-envoy-original-path'), false);
  });

  test('a route without rewrites leaves the path and adds no x-envoy-original-path', () => {
    const route = routeWith({ cluster: 'c' });
    const headers = request('x', '/same');
    finalize(route, headers);
    assert.equal(headers.get(':path'), '/same');
    assert.equal(headers.has('x-envoy-original-path'), false);
    assert.equal(route.currentPathAfterRewrite(headers), undefined);
  });
});

describe('host rewrites', () => {
  function finalizeHost(
    action: ProtoMessage,
    extra: ReadonlyArray<readonly [string, string]> = [],
  ): TestHeaderMap {
    const route = routeWith(action);
    const headers = request('original.com', '/svc/foo/bar', extra);
    route.finalizeRequestHeaders(headers, formatterContext(headers), undefined, true);
    return headers;
  }

  test('host_rewrite_literal sets the authority', () => {
    const headers = finalizeHost({ cluster: 'c', host_rewrite_literal: 'upstream.internal' });
    assert.equal(headers.get(':authority'), 'upstream.internal');
    assert.equal(headers.has('x-forwarded-host'), false);
  });

  test('append_x_forwarded_host records the old authority once', () => {
    const headers = finalizeHost(
      { cluster: 'c', host_rewrite_literal: 'new.com', append_x_forwarded_host: true },
      [['x-forwarded-host', 'first.com']],
    );
    assert.equal(headers.get(':authority'), 'new.com');
    assert.equal(headers.get('x-forwarded-host'), 'first.com,original.com');
    const again = finalizeHost(
      { cluster: 'c', host_rewrite_literal: 'new.com', append_x_forwarded_host: true },
      [['x-forwarded-host', 'original.com']],
    );
    assert.equal(again.get('x-forwarded-host'), 'original.com');
  });

  test('host_rewrite_header takes the first value of the header, and ignores an empty one', () => {
    const headers = finalizeHost({ cluster: 'c', host_rewrite_header: 'x-host' }, [
      ['x-host', 'from-header.com'],
      ['x-host', 'second.com'],
    ]);
    assert.equal(headers.get(':authority'), 'from-header.com');
    assert.equal(
      finalizeHost({ cluster: 'c', host_rewrite_header: 'x-host' }, [['x-host', '']]).get(':authority'),
      'original.com',
    );
    assert.equal(
      finalizeHost({ cluster: 'c', host_rewrite_header: 'x-host' }).get(':authority'),
      'original.com',
    );
  });

  test('host_rewrite_path_regex builds the authority from the path', () => {
    const headers = finalizeHost({
      cluster: 'c',
      host_rewrite_path_regex: { pattern: { regex: '^/svc/([^/]+)/.*$' }, substitution: '\\1.svc.local' },
    });
    assert.equal(headers.get(':authority'), 'foo.svc.local');
  });

  test('auto_host_rewrite is left to the router, as a flag', () => {
    const route = routeWith({ cluster: 'c', auto_host_rewrite: true });
    assert.equal(actionOf(route).autoHostRewrite, true);
    const headers = request('original.com', '/');
    route.finalizeRequestHeaders(headers, formatterContext(headers), undefined, true);
    assert.equal(headers.get(':authority'), 'original.com');
  });

  test("a weighted cluster's host_rewrite_literal applies, and the route's own rewrite wins", () => {
    const route = routeWith({
      weighted_clusters: { clusters: [{ name: 'w', weight: 1, host_rewrite_literal: 'weighted.com' }] },
    });
    const headers = request('original.com', '/');
    const choice = actionOf(route).selectCluster(headers, 0);
    route.finalizeRequestHeaders(headers, formatterContext(headers), choice, true);
    assert.equal(headers.get(':authority'), 'weighted.com');

    const both = routeWith({
      weighted_clusters: { clusters: [{ name: 'w', weight: 1, host_rewrite_literal: 'weighted.com' }] },
      host_rewrite_literal: 'route.com',
    });
    const h2 = request('original.com', '/');
    both.finalizeRequestHeaders(h2, formatterContext(h2), actionOf(both).selectCluster(h2, 0), true);
    assert.equal(h2.get(':authority'), 'route.com');
  });
});

describe('retry policy', () => {
  test('a route retry policy is compiled with its defaults filled in', () => {
    const a = actionOf(
      routeWith({
        cluster: 'c',
        retry_policy: {
          retry_on: '5xx, reset,connect-failure,retriable-status-codes',
          per_try_timeout: seconds(1),
          retriable_status_codes: [409, 429],
          retriable_headers: [{ name: 'x-retry', present_match: true }],
          retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
          host_selection_retry_max_attempts: 3,
          retry_back_off: { base_interval: { seconds: 0, nanos: 100_000_000 } },
        },
      }),
    );
    const p = a.retryPolicy;
    assert.deepEqual(p.retryOn, ['5xx', 'reset', 'connect-failure', 'retriable-status-codes']);
    assert.equal(p.numRetries, 1);
    assert.equal(p.perTryTimeoutMs, 1000);
    assert.deepEqual(p.retriableStatusCodes, [409, 429]);
    assert.equal(p.retriableHeaders.length, 1);
    assert.equal(p.retriableHeaders[0]?.matches(request('x', '/', [['x-retry', '1']])), true);
    assert.deepEqual(p.retryHostPredicates, ['envoy.retry_host_predicates.previous_hosts']);
    assert.equal(p.hostSelectionRetryMaxAttempts, 3);
    assert.equal(p.baseIntervalMs, 100);
    assert.equal(p.maxIntervalMs, 1000);
  });

  test('num_retries 0 is kept and max_interval overrides ten times the base', () => {
    const p = actionOf(
      routeWith({
        cluster: 'c',
        retry_policy: {
          retry_on: 'gateway-error',
          num_retries: 0,
          retry_back_off: { base_interval: seconds(1), max_interval: seconds(3) },
        },
      }),
    ).retryPolicy;
    assert.equal(p.numRetries, 0);
    assert.equal(p.baseIntervalMs, 1000);
    assert.equal(p.maxIntervalMs, 3000);
  });

  test("a route without a retry policy uses its virtual host's", () => {
    const a = actionOf(
      routeWith({ cluster: 'c' }, {}, { retry_policy: { retry_on: 'reset', num_retries: 4 } }),
    );
    assert.deepEqual(a.retryPolicy.retryOn, ['reset']);
    assert.equal(a.retryPolicy.numRetries, 4);
  });
});

describe('other route action fields', () => {
  test('upgrade_configs are keyed by lower-case type with enabled defaulting to true', () => {
    const a = actionOf(
      routeWith({
        cluster: 'c',
        upgrade_configs: [{ upgrade_type: 'WebSocket' }, { upgrade_type: 'h2c', enabled: false }],
      }),
    );
    assert.deepEqual(a.upgradeConfigs.get('websocket'), { enabled: true, connectConfig: undefined });
    assert.equal(a.upgradeConfigs.get('h2c')?.enabled, false);
  });

  test("mirror policies: the route's, else the virtual host's, else the table's", () => {
    const own = actionOf(routeWith({ cluster: 'c', request_mirror_policies: [{ cluster: 'shadow' }] }));
    assert.deepEqual(own.requestMirrorPolicies, [
      {
        cluster: 'shadow',
        clusterHeader: '',
        fraction: { numerator: 100, denominator: 100 },
        traceSampled: true,
        disableShadowHostSuffixAppend: false,
      },
    ]);
    const inherited = actionOf(
      routeWith({ cluster: 'c' }, {}, { request_mirror_policies: [{ cluster_header: 'X-Mirror' }] }),
    );
    assert.equal(inherited.requestMirrorPolicies[0]?.clusterHeader, 'x-mirror');
  });
});

describe('direct responses', () => {
  function directRoute(direct: ProtoMessage, config: ProtoMessage = {}): Route {
    const t = table({ ...oneHost([{ match: { prefix: '/' }, direct_response: direct }]), ...config });
    const route = t.route(request('x', '/'));
    assert.ok(route);
    return route;
  }

  test('status alone has no body', () => {
    assert.deepEqual(directRoute({ status: 204 }).action, {
      kind: 'direct_response',
      status: 204,
      body: undefined,
    });
  });

  test('inline_string and inline_bytes become the body', () => {
    const text = directRoute({ status: 200, body: { inline_string: 'NotWebSocket\n' } }).action;
    assert.equal(text.kind === 'direct_response' && text.body?.toString(), 'NotWebSocket\n');
    const bytes = directRoute({ status: 503, body: { inline_bytes: new Uint8Array([0, 255, 1]) } }).action;
    assert.deepEqual(bytes.kind === 'direct_response' && [...(bytes.body ?? [])], [0, 255, 1]);
  });

  test('a filename is read when the table is compiled', () => {
    const dir = mkdtempSync(join(tmpdir(), 'legate-route-'));
    const file = join(dir, 'body.html');
    writeFileSync(file, '<h1>maintenance</h1>');
    const action = directRoute({ status: 503, body: { filename: file } }).action;
    writeFileSync(file, 'changed later');
    assert.equal(action.kind === 'direct_response' && action.body?.toString(), '<h1>maintenance</h1>');
  });

  test('a body up to max_direct_response_body_size_bytes is accepted', () => {
    const action = directRoute(
      { status: 200, body: { inline_string: 'x'.repeat(5000) } },
      { max_direct_response_body_size_bytes: 5000 },
    ).action;
    assert.equal(action.kind === 'direct_response' && action.body?.length, 5000);
  });
});
