/**
 * Header manipulation: append actions, keep_empty_value, removal before addition, every entry
 * formatted before any is applied, %VAR% substitutions from the stream, and the order of the
 * weighted cluster, route, virtual host and route configuration levels with and without
 * most_specific_header_mutations_wins, for requests and responses. Envoy counterpart:
 * test/common/router/header_parser_test.cc and the header tests of config_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import type { ProtoMessage } from '../../src/config/types.ts';
import type { RouteAction } from '../../src/router/actions.ts';
import { compileHeaderParser, type HeaderParser } from '../../src/router/header-parser.ts';
import { ProblemSink } from '../../src/router/problems.ts';
import { formatterContext, request, TestHeaderMap, table } from './helpers.ts';

function parser(add: ProtoMessage[], remove: string[] = []): HeaderParser {
  const sink = new ProblemSink();
  const p = compileHeaderParser(
    { request_headers_to_add: add, request_headers_to_remove: remove },
    'request_headers_to_add',
    'request_headers_to_remove',
    [],
    sink,
  );
  assert.deepEqual(sink.problems, []);
  return p;
}

function header(key: string, value: string, extra: ProtoMessage = {}): ProtoMessage {
  return { header: { key, value }, ...extra };
}

function apply(p: HeaderParser, headers: TestHeaderMap): Array<[string, string]> {
  p.evaluate(headers, formatterContext(headers));
  return headers.pairs.filter(([k]) => !k.startsWith(':') && k !== 'x-forwarded-proto');
}

describe('append actions', () => {
  test('APPEND_IF_EXISTS_OR_ADD (the default) adds another value', () => {
    assert.deepEqual(apply(parser([header('x-a', 'new')]), request('h', '/', [['x-a', 'old']])), [
      ['x-a', 'old'],
      ['x-a', 'new'],
    ]);
    assert.deepEqual(apply(parser([header('x-a', 'new')]), request('h', '/')), [['x-a', 'new']]);
  });

  test('ADD_IF_ABSENT adds only when the header is missing', () => {
    const p = parser([header('x-a', 'new', { append_action: 'ADD_IF_ABSENT' })]);
    assert.deepEqual(apply(p, request('h', '/', [['x-a', 'old']])), [['x-a', 'old']]);
    assert.deepEqual(apply(p, request('h', '/')), [['x-a', 'new']]);
  });

  test('OVERWRITE_IF_EXISTS_OR_ADD replaces every value, or adds', () => {
    const p = parser([header('x-a', 'new', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })]);
    assert.deepEqual(
      apply(
        p,
        request('h', '/', [
          ['x-a', 'old1'],
          ['x-a', 'old2'],
        ]),
      ),
      [['x-a', 'new']],
    );
    assert.deepEqual(apply(p, request('h', '/')), [['x-a', 'new']]);
  });

  test('OVERWRITE_IF_EXISTS replaces only an existing header', () => {
    const p = parser([header('x-a', 'new', { append_action: 'OVERWRITE_IF_EXISTS' })]);
    assert.deepEqual(apply(p, request('h', '/', [['x-a', 'old']])), [['x-a', 'new']]);
    assert.deepEqual(apply(p, request('h', '/')), []);
  });

  test('the deprecated append: false overwrites, append: true appends', () => {
    const overwrite = parser([header('x-a', 'new', { append: false })]);
    assert.deepEqual(apply(overwrite, request('h', '/', [['x-a', 'old']])), [['x-a', 'new']]);
    const append = parser([header('x-a', 'new', { append: true })]);
    assert.deepEqual(apply(append, request('h', '/', [['x-a', 'old']])), [
      ['x-a', 'old'],
      ['x-a', 'new'],
    ]);
  });

  test('keys are lower-cased', () => {
    assert.deepEqual(apply(parser([header('X-Mixed', 'v')]), request('h', '/')), [['x-mixed', 'v']]);
  });
});

describe('evaluation order', () => {
  test('removals happen before additions, so a header can be replaced by remove + add', () => {
    const p = parser([header('x-a', 'new')], ['x-a']);
    assert.deepEqual(apply(p, request('h', '/', [['x-a', 'old']])), [['x-a', 'new']]);
  });

  test('every value is formatted from the headers before any is applied', () => {
    const p = parser([
      header('x-a', 'set', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
      header('x-copy', '%REQ(x-a)%'),
    ]);
    assert.deepEqual(apply(p, request('h', '/', [['x-a', 'orig']])), [
      ['x-a', 'set'],
      ['x-copy', 'orig'],
    ]);
  });

  test('overwrites are applied before additions', () => {
    const p = parser([
      header('x-a', 'appended'),
      header('x-a', 'overwritten', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
    ]);
    assert.deepEqual(apply(p, request('h', '/', [['x-a', 'old']])), [
      ['x-a', 'overwritten'],
      ['x-a', 'appended'],
    ]);
  });
});

describe('empty values', () => {
  test('a value that formats to nothing is not added', () => {
    assert.deepEqual(apply(parser([header('x-a', '%REQ(x-missing)%')]), request('h', '/')), []);
    assert.deepEqual(apply(parser([header('x-a', '')]), request('h', '/')), []);
  });

  test('keep_empty_value adds it anyway', () => {
    const p = parser([header('x-a', '%REQ(x-missing)%', { keep_empty_value: true })]);
    assert.deepEqual(apply(p, request('h', '/')), [['x-a', '']]);
  });

  test('a missing value inside text formats as nothing, not "-"', () => {
    assert.deepEqual(apply(parser([header('x-a', 'v=%REQ(x-missing)%;')]), request('h', '/')), [
      ['x-a', 'v=;'],
    ]);
  });
});

describe('substitutions', () => {
  const cases: Array<[string, string]> = [
    ['%DOWNSTREAM_REMOTE_ADDRESS%', '10.0.0.1:5000'],
    ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '10.0.0.1'],
    ['%DOWNSTREAM_LOCAL_ADDRESS%', '10.0.0.2:10000'],
    ['%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%', '10.0.0.2'],
    ['%PROTOCOL%', 'HTTP/1.1'],
    ['%HOSTNAME%', hostname()],
    ['%START_TIME%', '2026-01-02T03:04:05.678Z'],
    ['%START_TIME(%s)%', '1767323045'],
    ['%REQ(:path)%', '/p?q=1'],
    ['%REQ(x-in)%', 'in-value'],
    ['%REQ(x-missing?x-in)%', 'in-value'],
    ['%REQ(x-in):2%', 'in'],
    ['100%%', '100%'],
    ['a %PROTOCOL% b', 'a HTTP/1.1 b'],
  ];
  for (const [format, expected] of cases) {
    test(`${format} formats as ${expected}`, () => {
      const headers = request('h', '/p?q=1', [['x-in', 'in-value']]);
      assert.deepEqual(apply(parser([header('x-out', format)]), headers).at(-1), ['x-out', expected]);
    });
  }

  test('%UPSTREAM_HOST% is empty until the router has chosen a host', () => {
    const p = parser([header('x-up', '%UPSTREAM_HOST%', { keep_empty_value: true })]);
    const headers = request('h', '/');
    const ctx = formatterContext(headers);
    p.evaluate(headers, ctx);
    assert.equal(headers.get('x-up'), '');
    const later = request('h', '/');
    ctx.streamInfo.upstream = {
      hostAddress: '10.1.1.1:80',
      clusterName: 'c',
      localAddress: '',
      transportFailureReason: '',
    };
    p.evaluate(later, { ...ctx, requestHeaders: later });
    assert.equal(later.get('x-up'), '10.1.1.1:80');
  });
});

describe('levels', () => {
  /** A table whose route config, virtual host, route and weighted cluster each set x-level and add x-trace. */
  function levels(mostSpecificWins: boolean): ProtoMessage {
    const level = (name: string) => ({
      request_headers_to_add: [
        header('x-level', name, { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
        header('x-trace', name),
      ],
      response_headers_to_add: [
        header('x-level', name, { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
        header('x-trace', name),
      ],
    });
    return {
      name: 'rc',
      most_specific_header_mutations_wins: mostSpecificWins,
      ...level('config'),
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          ...level('vhost'),
          routes: [
            {
              match: { prefix: '/' },
              route: { weighted_clusters: { clusters: [{ name: 'w', weight: 1, ...level('weighted') }] } },
              ...level('route'),
            },
          ],
        },
      ],
    };
  }

  function run(mostSpecificWins: boolean, response: boolean): TestHeaderMap {
    const t = table(levels(mostSpecificWins));
    const req = request('h', '/');
    const route = t.route(req)!;
    const choice = (route.action as RouteAction).selectCluster(req, 0);
    if (!response) {
      route.finalizeRequestHeaders(req, formatterContext(req), choice, true);
      return req;
    }
    const resp = TestHeaderMap.of([[':status', '200']]);
    route.finalizeResponseHeaders(resp, formatterContext(req, resp), choice);
    return resp;
  }

  test('by default the weighted cluster, route, virtual host, then route configuration apply: the least specific wins', () => {
    for (const response of [false, true]) {
      const h = run(false, response);
      assert.deepEqual(h.getAll('x-trace'), ['weighted', 'route', 'vhost', 'config']);
      assert.equal(h.get('x-level'), 'config');
    }
  });

  test('most_specific_header_mutations_wins applies the route configuration first: the most specific wins', () => {
    for (const response of [false, true]) {
      const h = run(true, response);
      assert.deepEqual(h.getAll('x-trace'), ['weighted', 'config', 'vhost', 'route']);
      assert.equal(h.get('x-level'), 'route');
    }
  });

  test('response header mutations apply to direct responses and see the request headers', () => {
    const t = table({
      name: 'rc',
      response_headers_to_add: [header('x-echo', '%REQ(x-id)%')],
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/' },
              direct_response: { status: 200 },
              response_headers_to_add: [header('x-route', 'direct')],
              response_headers_to_remove: ['server'],
            },
          ],
        },
      ],
    });
    const req = request('h', '/', [['x-id', '42']]);
    const resp = TestHeaderMap.of([
      [':status', '200'],
      ['server', 'envoy'],
    ]);
    t.route(req)!.finalizeResponseHeaders(resp, formatterContext(req, resp));
    assert.deepEqual(resp.pairs, [
      [':status', '200'],
      ['x-route', 'direct'],
      ['x-echo', '42'],
    ]);
  });
});
