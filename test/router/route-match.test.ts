/**
 * Route matching within a virtual host: every path specifier (prefix, path, safe_regex with
 * RE2, path_separated_prefix, connect_matcher), case sensitivity, the query and fragment left
 * out of path matching, header matchers of every kind, query parameter matchers, grpc,
 * runtime_fraction's default, and first match wins. Envoy counterpart: the RouteMatcher and
 * HeaderUtility tests in test/common/router/config_impl_test.cc and
 * test/common/http/header_utility_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProtoMessage } from '../../src/config/types.ts';
import { compileRouteTable } from '../../src/router/config.ts';
import { entryFromText, entryFromValue } from '../../src/runtime/entry.ts';
import { SnapshotImpl } from '../../src/runtime/snapshot.ts';
import { clusterFor, oneHost, request, routeTo, table } from './helpers.ts';

function matches(
  match: ProtoMessage,
  path: string,
  extra: ReadonlyArray<readonly [string, string]> = [],
): boolean {
  const t = table(oneHost([routeTo('hit', match)]));
  return clusterFor(t, request('example.com', path, extra)) === 'hit';
}

describe('path specifiers', () => {
  test('prefix matches the start of the path', () => {
    assert.equal(matches({ prefix: '/api' }, '/api'), true);
    assert.equal(matches({ prefix: '/api' }, '/api/v1'), true);
    assert.equal(matches({ prefix: '/api' }, '/apis'), true);
    assert.equal(matches({ prefix: '/api' }, '/ap'), false);
    assert.equal(matches({ prefix: '' }, '/anything'), true);
  });

  test('path matches the whole path only', () => {
    assert.equal(matches({ path: '/exact' }, '/exact'), true);
    assert.equal(matches({ path: '/exact' }, '/exact/'), false);
    assert.equal(matches({ path: '/exact' }, '/exac'), false);
  });

  test('the query string and fragment are not part of the matched path', () => {
    assert.equal(matches({ path: '/exact' }, '/exact?x=1'), true);
    assert.equal(matches({ path: '/exact' }, '/exact#frag'), true);
    assert.equal(matches({ safe_regex: { regex: '/[a-z]+' } }, '/abc?x=1'), true);
    assert.equal(matches({ prefix: '/a?' }, '/a?b'), false);
  });

  test('path_separated_prefix matches the prefix followed by / or the end', () => {
    const m = { path_separated_prefix: '/api' };
    assert.equal(matches(m, '/api'), true);
    assert.equal(matches(m, '/api/'), true);
    assert.equal(matches(m, '/api/v1'), true);
    assert.equal(matches(m, '/api?x=1'), true);
    assert.equal(matches(m, '/apis'), false);
    assert.equal(matches(m, '/ap'), false);
  });

  test('safe_regex must match the whole path', () => {
    const m = { safe_regex: { regex: '/users/[0-9]+' } };
    assert.equal(matches(m, '/users/42'), true);
    assert.equal(matches(m, '/users/42/posts'), false);
    assert.equal(matches(m, '/x/users/42'), false);
  });

  test('safe_regex uses RE2 syntax', () => {
    assert.equal(matches({ safe_regex: { regex: '/(?P<id>\\d+)' } }, '/123'), true);
    assert.equal(matches({ safe_regex: { regex: '/[[:alpha:]]+' } }, '/abc'), true);
  });

  test('a pathological backtracking pattern answers quickly and correctly with RE2', () => {
    const t = table(oneHost([routeTo('hit', { safe_regex: { regex: '/(a+)+$' } })]));
    const path = `/${'a'.repeat(100_000)}b`;
    // A backtracking engine would not return from this; RE2 is linear in the input.
    assert.equal(clusterFor(t, request('example.com', path)), undefined);
    assert.equal(clusterFor(t, request('example.com', `/${'a'.repeat(100_000)}`)), 'hit');
  });

  test('connect_matcher matches CONNECT requests, which have no path', () => {
    const t = table(oneHost([routeTo('tunnel', { connect_matcher: {} }), routeTo('web', { prefix: '' })]));
    const connect = request('example.com:443', '/');
    connect.set(':method', 'CONNECT');
    connect.remove(':path');
    assert.equal(clusterFor(t, connect), 'tunnel');
    assert.equal(clusterFor(t, request('example.com', '/')), 'web');
  });

  test('routes other than CONNECT routes skip requests without a path', () => {
    const t = table(oneHost([routeTo('web', { prefix: '' })]));
    const headers = request('example.com', '/');
    headers.remove(':path');
    assert.equal(t.route(headers), undefined);
  });

  test('ignore_path_parameters_in_path_matching drops ;params before matching', () => {
    const config = {
      ...oneHost([routeTo('hit', { path: '/a/b' })]),
      ignore_path_parameters_in_path_matching: true,
    };
    const t = table(config);
    assert.equal(clusterFor(t, request('example.com', '/a/b;jsessionid=1')), 'hit');
    assert.equal(
      clusterFor(table(oneHost([routeTo('hit', { path: '/a/b' })])), request('x', '/a/b;p=1')),
      undefined,
    );
  });
});

describe('prefix filtering by hash', () => {
  test('prefixes and paths longer than 256 characters match', () => {
    const long = `/${'x'.repeat(300)}`;
    const t = table(
      oneHost([
        routeTo('other', { prefix: `${long}y` }),
        routeTo('long', { prefix: long }),
        routeTo('exact', { path: `/${'e'.repeat(400)}` }),
      ]),
    );
    assert.equal(clusterFor(t, request('x', `${long}/tail`)), 'long');
    assert.equal(clusterFor(t, request('x', `/${'e'.repeat(400)}`)), 'exact');
  });

  test('consecutive requests with different paths of the same length are hashed afresh', () => {
    const t = table(
      oneHost([routeTo('a', { prefix: '/aaa' }), routeTo('b', { prefix: '/bbb', case_sensitive: false })]),
    );
    assert.equal(clusterFor(t, request('x', '/aaa')), 'a');
    assert.equal(clusterFor(t, request('x', '/BBB')), 'b');
    assert.equal(clusterFor(t, request('x', '/aaa')), 'a');
    assert.equal(clusterFor(t, request('x', '/ccc')), undefined);
  });

  test('prefixes that collide on their hash are still told apart by their characters', () => {
    // 'Aa' and 'BB' have the same 31-polynomial hash.
    const t = table(oneHost([routeTo('aa', { prefix: '/Aa' }), routeTo('bb', { prefix: '/BB' })]));
    assert.equal(clusterFor(t, request('x', '/BB')), 'bb');
    assert.equal(clusterFor(t, request('x', '/Aa')), 'aa');
  });
});

describe('case sensitivity', () => {
  test('prefix, path and path_separated_prefix are case-sensitive by default', () => {
    assert.equal(matches({ prefix: '/API' }, '/api'), false);
    assert.equal(matches({ path: '/API' }, '/api'), false);
    assert.equal(matches({ path_separated_prefix: '/API' }, '/api'), false);
  });

  test('case_sensitive false compares ASCII case-insensitively', () => {
    assert.equal(matches({ prefix: '/API', case_sensitive: false }, '/api/x'), true);
    assert.equal(matches({ path: '/Exact', case_sensitive: false }, '/EXACT'), true);
    assert.equal(matches({ path_separated_prefix: '/Api', case_sensitive: false }, '/aPI/x'), true);
    assert.equal(matches({ path_separated_prefix: '/Api', case_sensitive: false }, '/apix'), false);
  });

  test('case_sensitive does not apply to safe_regex', () => {
    assert.equal(matches({ safe_regex: { regex: '/abc' }, case_sensitive: false }, '/ABC'), false);
    assert.equal(matches({ safe_regex: { regex: '(?i)/abc' } }, '/ABC'), true);
  });
});

describe('first match wins', () => {
  test('the first route that matches is taken, in config order', () => {
    const t = table(
      oneHost([
        routeTo('exact', { path: '/a/b' }),
        routeTo('prefix-ab', { prefix: '/a/b' }),
        routeTo('prefix-a', { prefix: '/a' }),
        routeTo('catch-all', { prefix: '/' }),
      ]),
    );
    assert.equal(clusterFor(t, request('x', '/a/b')), 'exact');
    assert.equal(clusterFor(t, request('x', '/a/bc')), 'prefix-ab');
    assert.equal(clusterFor(t, request('x', '/a/c')), 'prefix-a');
    assert.equal(clusterFor(t, request('x', '/z')), 'catch-all');
  });

  test('a broader route listed first shadows the narrower ones after it', () => {
    const t = table(oneHost([routeTo('catch-all', { prefix: '/' }), routeTo('api', { prefix: '/api' })]));
    assert.equal(clusterFor(t, request('x', '/api')), 'catch-all');
  });

  test('a route whose header matcher fails lets the next route match', () => {
    const t = table(
      oneHost([
        routeTo('canary', { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: '1' } }] }),
        routeTo('stable', { prefix: '/' }),
      ]),
    );
    assert.equal(clusterFor(t, request('x', '/', [['x-canary', '1']])), 'canary');
    assert.equal(clusterFor(t, request('x', '/', [['x-canary', '0']])), 'stable');
    assert.equal(clusterFor(t, request('x', '/')), 'stable');
  });

  test('no matching route gives no route', () => {
    const t = table(oneHost([routeTo('api', { prefix: '/api' })]));
    assert.equal(t.route(request('x', '/other')), undefined);
  });
});

describe('header matchers', () => {
  function headerMatch(matcher: ProtoMessage, headers: ReadonlyArray<readonly [string, string]>): boolean {
    return matches({ prefix: '/', headers: [{ name: 'x-h', ...matcher }] }, '/', headers);
  }

  test('string_match exact, prefix, suffix, contains and safe_regex', () => {
    assert.equal(headerMatch({ string_match: { exact: 'abc' } }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ string_match: { exact: 'abc' } }, [['x-h', 'abcd']]), false);
    assert.equal(headerMatch({ string_match: { prefix: 'ab' } }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ string_match: { prefix: 'bc' } }, [['x-h', 'abc']]), false);
    assert.equal(headerMatch({ string_match: { suffix: 'bc' } }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ string_match: { suffix: 'ab' } }, [['x-h', 'abc']]), false);
    assert.equal(headerMatch({ string_match: { contains: 'b' } }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ string_match: { contains: 'x' } }, [['x-h', 'abc']]), false);
    assert.equal(headerMatch({ string_match: { safe_regex: { regex: 'a.c' } } }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ string_match: { safe_regex: { regex: 'a.' } } }, [['x-h', 'abc']]), false);
  });

  test('string_match ignore_case applies to every kind but safe_regex', () => {
    const v: Array<[string, string]> = [['x-h', 'AbC']];
    assert.equal(headerMatch({ string_match: { exact: 'abc', ignore_case: true } }, v), true);
    assert.equal(headerMatch({ string_match: { prefix: 'aB', ignore_case: true } }, v), true);
    assert.equal(headerMatch({ string_match: { suffix: 'BC', ignore_case: true } }, v), true);
    assert.equal(headerMatch({ string_match: { contains: 'b', ignore_case: true } }, v), true);
    assert.equal(headerMatch({ string_match: { exact: 'abc' } }, v), false);
    assert.equal(
      headerMatch({ string_match: { safe_regex: { regex: 'abc' }, ignore_case: true } }, v),
      false,
    );
  });

  test('a missing header fails value matchers, inverted or not', () => {
    assert.equal(headerMatch({ string_match: { exact: 'abc' } }, []), false);
    assert.equal(headerMatch({ string_match: { exact: 'abc' }, invert_match: true }, []), false);
    assert.equal(headerMatch({ range_match: { start: 0, end: 10 }, invert_match: true }, []), false);
  });

  test('invert_match negates the result for a present header', () => {
    assert.equal(
      headerMatch({ string_match: { exact: 'abc' }, invert_match: true }, [['x-h', 'abc']]),
      false,
    );
    assert.equal(headerMatch({ string_match: { exact: 'abc' }, invert_match: true }, [['x-h', 'xyz']]), true);
  });

  test('treat_missing_header_as_empty matches a missing header as the empty value', () => {
    const m = { string_match: { exact: '' }, treat_missing_header_as_empty: true };
    assert.equal(headerMatch(m, []), true);
    const inverted = {
      range_match: { start: 0, end: 10 },
      invert_match: true,
      treat_missing_header_as_empty: true,
    };
    assert.equal(headerMatch(inverted, []), true);
  });

  test('present_match true and false, and inverted', () => {
    assert.equal(headerMatch({ present_match: true }, [['x-h', '']]), true);
    assert.equal(headerMatch({ present_match: true }, []), false);
    assert.equal(headerMatch({ present_match: false }, []), true);
    assert.equal(headerMatch({ present_match: false }, [['x-h', 'v']]), false);
    assert.equal(headerMatch({ present_match: true, invert_match: true }, []), true);
    assert.equal(headerMatch({ present_match: true, invert_match: true }, [['x-h', 'v']]), false);
  });

  test('a header matcher with only a name checks presence', () => {
    assert.equal(headerMatch({}, [['x-h', 'anything']]), true);
    assert.equal(headerMatch({}, []), false);
  });

  test('range_match is start-inclusive, end-exclusive, on signed 64-bit integers', () => {
    const r = { range_match: { start: -10, end: 10 } };
    assert.equal(headerMatch(r, [['x-h', '-10']]), true);
    assert.equal(headerMatch(r, [['x-h', '9']]), true);
    assert.equal(headerMatch(r, [['x-h', '10']]), false);
    assert.equal(headerMatch(r, [['x-h', ' 5 ']]), true);
    assert.equal(headerMatch(r, [['x-h', '+5']]), true);
    assert.equal(headerMatch(r, [['x-h', '5.0']]), false);
    assert.equal(headerMatch(r, [['x-h', 'five']]), false);
    assert.equal(headerMatch(r, [['x-h', '']]), false);
    const big = { range_match: { start: 9007199254740993n, end: 9007199254740995n } };
    assert.equal(headerMatch(big, [['x-h', '9007199254740993']]), true);
    assert.equal(headerMatch(big, [['x-h', '9007199254740992']]), false);
  });

  test('the deprecated matchers keep their meaning, exact_match "" matching any value', () => {
    assert.equal(headerMatch({ exact_match: 'v' }, [['x-h', 'v']]), true);
    assert.equal(headerMatch({ exact_match: 'v' }, [['x-h', 'w']]), false);
    assert.equal(headerMatch({ exact_match: '' }, [['x-h', 'w']]), true);
    assert.equal(headerMatch({ prefix_match: 'ab' }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ suffix_match: 'bc' }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ contains_match: 'b' }, [['x-h', 'abc']]), true);
    assert.equal(headerMatch({ safe_regex_match: { regex: 'a+' } }, [['x-h', 'aaa']]), true);
  });

  test('repeated header values are matched joined with a comma', () => {
    const repeated: Array<[string, string]> = [
      ['x-h', 'a'],
      ['x-h', 'b'],
    ];
    assert.equal(headerMatch({ string_match: { exact: 'a,b' } }, repeated), true);
    assert.equal(headerMatch({ string_match: { exact: 'a' } }, repeated), false);
  });

  test('header names match case-insensitively, pseudo-headers too', () => {
    assert.equal(
      matches({ prefix: '/', headers: [{ name: 'X-Upper', string_match: { exact: 'v' } }] }, '/', [
        ['x-upper', 'v'],
      ]),
      true,
    );
    assert.equal(
      matches({ prefix: '/', headers: [{ name: ':method', string_match: { exact: 'GET' } }] }, '/'),
      true,
    );
  });

  test('every header matcher of a route must match', () => {
    const m = {
      prefix: '/',
      headers: [
        { name: 'a', present_match: true },
        { name: 'b', string_match: { exact: '2' } },
      ],
    };
    assert.equal(
      matches(m, '/', [
        ['a', '1'],
        ['b', '2'],
      ]),
      true,
    );
    assert.equal(matches(m, '/', [['a', '1']]), false);
  });
});

describe('query parameter matchers', () => {
  function queryMatch(matcher: ProtoMessage, path: string): boolean {
    return matches({ prefix: '/', query_parameters: [{ name: 'q', ...matcher }] }, path);
  }

  test('string_match compares the first value of the parameter', () => {
    assert.equal(queryMatch({ string_match: { exact: 'x' } }, '/?q=x'), true);
    assert.equal(queryMatch({ string_match: { exact: 'x' } }, '/?a=1&q=x&b=2'), true);
    assert.equal(queryMatch({ string_match: { exact: 'x' } }, '/?q=y&q=x'), false);
    assert.equal(queryMatch({ string_match: { prefix: 'ab' } }, '/?q=abc'), true);
    assert.equal(queryMatch({ string_match: { exact: 'x' } }, '/?qq=x'), false);
  });

  test('values are compared undecoded', () => {
    assert.equal(queryMatch({ string_match: { exact: 'a%20b' } }, '/?q=a%20b'), true);
    assert.equal(queryMatch({ string_match: { exact: 'a b' } }, '/?q=a%20b'), false);
  });

  test('present_match needs the parameter, with or without a value', () => {
    assert.equal(queryMatch({ present_match: true }, '/?q'), true);
    assert.equal(queryMatch({ present_match: true }, '/?q='), true);
    assert.equal(queryMatch({ present_match: true }, '/?r=1'), false);
    assert.equal(queryMatch({ present_match: true }, '/'), false);
  });

  test('a parameter without = has the empty value', () => {
    assert.equal(queryMatch({ string_match: { exact: '' } }, '/?q&r=1'), true);
  });
});

describe('other match conditions', () => {
  test('grpc matches only gRPC content types', () => {
    const m = { prefix: '/', grpc: {} };
    assert.equal(matches(m, '/', [['content-type', 'application/grpc']]), true);
    assert.equal(matches(m, '/', [['content-type', 'application/grpc+proto']]), true);
    assert.equal(matches(m, '/', [['content-type', 'application/grpc-web']]), false);
    assert.equal(matches(m, '/'), false);
  });

  test('runtime_fraction uses its default value against the random value', () => {
    const t = table(
      oneHost([
        routeTo('sampled', {
          prefix: '/',
          runtime_fraction: { default_value: { numerator: 30, denominator: 'HUNDRED' }, runtime_key: 'k' },
        }),
        routeTo('rest', { prefix: '/' }),
      ]),
    );
    assert.equal(clusterFor(t, request('x', '/'), 29), 'sampled');
    assert.equal(clusterFor(t, request('x', '/'), 30), 'rest');
    assert.equal(clusterFor(t, request('x', '/'), 129), 'sampled');
  });

  test('runtime_fraction reads its runtime_key from the runtime: a percent or a FractionalPercent overrides the default', () => {
    const config = oneHost([
      routeTo('canary', {
        prefix: '/',
        runtime_fraction: {
          default_value: { numerator: 0, denominator: 'HUNDRED' },
          runtime_key: 'routing.canary',
        },
      }),
      routeTo('stable', { prefix: '/' }),
    ]);
    let snapshot = new SnapshotImpl(new Map());
    const t = compileRouteTable(config, { snapshot: () => snapshot });
    // No value in the runtime: the default (0 %).
    assert.equal(clusterFor(t, request('x', '/'), 0), 'stable');
    // An integer is a percent.
    snapshot = new SnapshotImpl(new Map([['routing.canary', entryFromText('25')]]));
    assert.equal(clusterFor(t, request('x', '/'), 24), 'canary');
    assert.equal(clusterFor(t, request('x', '/'), 25), 'stable');
    // A FractionalPercent (as a static layer gives it) with its own denominator.
    snapshot = new SnapshotImpl(
      new Map([['routing.canary', entryFromValue({ numerator: 1, denominator: 'TEN_THOUSAND' })]]),
    );
    assert.equal(clusterFor(t, request('x', '/'), 10000), 'canary');
    assert.equal(clusterFor(t, request('x', '/'), 10001), 'stable');
  });
});
