/**
 * `validateRouteConfig` and `compileRouteTable` on broken and unsupported configurations: each
 * problem carries its kind, a path below the RouteConfiguration and Envoy's message where Envoy
 * has one; `compileRouteTable` throws for errors but not for warnings. Also the RE2 helpers:
 * substitutions and RE2's global replace on empty matches.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProtoMessage } from '../../src/config/types.ts';
import { compileRouteTable, validateRouteConfig } from '../../src/router/config.ts';
import { formatRouteConfigProblem, RouteConfigError } from '../../src/router/problems.ts';
import { Re2Regex, Re2Substitution } from '../../src/router/regex.ts';
import { oneHost } from './helpers.ts';

/** `kind path: message` lines for a config. */
function problems(config: ProtoMessage): string[] {
  return validateRouteConfig(config).map((p) => `${p.kind} ${formatRouteConfigProblem(p)}`);
}

function routeProblems(route: ProtoMessage): string[] {
  return problems(oneHost([route]));
}

const MATCH = { prefix: '/' };

describe('invalid configurations', () => {
  test('a safe_regex that RE2 cannot parse names the regex field', () => {
    const [p] = routeProblems({ match: { safe_regex: { regex: '(a)\\1' } }, route: { cluster: 'c' } });
    assert.match(
      p ?? '',
      /^invalid virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid RE2 regex/,
    );
  });

  test('lookarounds are not RE2', () => {
    const [p] = routeProblems({ match: { safe_regex: { regex: '/(?=a)' } }, route: { cluster: 'c' } });
    assert.match(p ?? '', /invalid RE2 regex/);
  });

  test('a header matcher regex is checked too', () => {
    const [p] = routeProblems({
      match: { prefix: '/', headers: [{ name: 'x', string_match: { safe_regex: { regex: '[' } } }] },
      route: { cluster: 'c' },
    });
    assert.match(
      p ?? '',
      /^invalid virtual_hosts\[0\]\.routes\[0\]\.match\.headers\[0\]\.string_match\.safe_regex\.regex: /,
    );
  });

  test('a substitution naming a group the pattern lacks is rejected', () => {
    const [p] = routeProblems({
      match: MATCH,
      route: { cluster: 'c', regex_rewrite: { pattern: { regex: '/(a)' }, substitution: '\\2' } },
    });
    assert.match(
      p ?? '',
      /routes\[0\]\.route\.regex_rewrite\.substitution: rewrite '\\2' requests 2 matches/,
    );
  });

  test('prefix_rewrite and regex_rewrite together are rejected', () => {
    assert.deepEqual(
      routeProblems({
        match: MATCH,
        route: {
          cluster: 'c',
          prefix_rewrite: '/x',
          regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' },
        },
      }),
      [
        'invalid virtual_hosts[0].routes[0].route.regex_rewrite: Specify only one of prefix_rewrite, regex_rewrite or path_rewrite_policy',
      ],
    );
  });

  test('weighted clusters whose weights sum to zero, or with both or neither name and cluster_header', () => {
    assert.deepEqual(
      routeProblems({
        match: MATCH,
        route: {
          weighted_clusters: {
            clusters: [
              { name: 'a', weight: 0 },
              { name: 'b', cluster_header: 'x', weight: 0 },
              { weight: 0 },
            ],
          },
        },
      }),
      [
        'invalid virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1]: Only one of name or cluster_header can be specified',
        'invalid virtual_hosts[0].routes[0].route.weighted_clusters.clusters[2]: At least one of name or cluster_header need to be specified',
        'invalid virtual_hosts[0].routes[0].route.weighted_clusters: Sum of weights in the weighted_cluster must be greater than 0.',
      ],
    );
  });

  test('pseudo-headers and host may not be added or removed', () => {
    assert.deepEqual(
      routeProblems({
        match: MATCH,
        route: { cluster: 'c' },
        request_headers_to_add: [
          { header: { key: ':path', value: '/x' } },
          { header: { key: 'Host', value: 'h' } },
        ],
        request_headers_to_remove: [':authority', 'host'],
      }),
      [
        'invalid virtual_hosts[0].routes[0].request_headers_to_add[0].header.key: :-prefixed or host headers may not be modified',
        'invalid virtual_hosts[0].routes[0].request_headers_to_add[1].header.key: :-prefixed or host headers may not be modified',
        'invalid virtual_hosts[0].routes[0].request_headers_to_remove[0]: :-prefixed or host headers may not be removed',
        'invalid virtual_hosts[0].routes[0].request_headers_to_remove[1]: :-prefixed or host headers may not be removed',
      ],
    );
  });

  test('append together with a non-default append_action is rejected', () => {
    assert.deepEqual(
      problems({
        name: 'rc',
        response_headers_to_add: [
          { header: { key: 'x', value: 'v' }, append: true, append_action: 'ADD_IF_ABSENT' },
        ],
        virtual_hosts: [],
      }),
      [
        "invalid response_headers_to_add[0].append: Both append and append_action are set and it's not allowed",
      ],
    );
  });

  test('a bad header value format is invalid, an operator Legate lacks is unsupported', () => {
    assert.deepEqual(
      problems({
        name: 'rc',
        request_headers_to_add: [
          { header: { key: 'a', value: '50%' } },
          { header: { key: 'b', value: '%NOT_AN_OPERATOR%' } },
          { header: { key: 'c', value: '%UPSTREAM_METADATA(["ns", "key"])%' } },
        ],
        virtual_hosts: [],
      }),
      [
        "invalid request_headers_to_add[0].header.value: Incorrect configuration: 50%. Couldn't find valid command at position 2",
        'invalid request_headers_to_add[1].header.value: Not supported field in StreamInfo: NOT_AN_OPERATOR',
        'unsupported request_headers_to_add[2].header.value: UPSTREAM_METADATA is not supported by Legate',
      ],
    );
  });

  test('duplicate domains, a second * and duplicate virtual host names', () => {
    assert.deepEqual(
      problems({
        name: 'rc',
        virtual_hosts: [
          { name: 'a', domains: ['*', 'Example.com', '*.x.com'] },
          { name: 'a', domains: ['*', 'example.com', '*.x.com', 'www.*'] },
        ],
      }),
      [
        "invalid virtual_hosts[1].name: only unique values for virtual host names are permitted; duplicate 'a'",
        'invalid virtual_hosts[1].domains[0]: Only a single wildcard domain is permitted in route rc',
        'invalid virtual_hosts[1].domains[1]: Only unique values for domains are permitted. Duplicate entry of domain example.com in route rc',
        'invalid virtual_hosts[1].domains[2]: Only unique values for domains are permitted. Duplicate entry of domain *.x.com in route rc',
      ],
    );
  });

  test('a direct response file that cannot be read, or a body over the limit', () => {
    const [missing] = routeProblems({
      match: MATCH,
      direct_response: { status: 200, body: { filename: '/nonexistent/legate-body' } },
    });
    assert.match(
      missing ?? '',
      /^invalid virtual_hosts\[0\]\.routes\[0\]\.direct_response\.body\.filename: unable to read file: \/nonexistent\/legate-body/,
    );
    assert.deepEqual(
      routeProblems({
        match: MATCH,
        direct_response: { status: 200, body: { inline_string: 'x'.repeat(4097) } },
      }),
      [
        'invalid virtual_hosts[0].routes[0].direct_response.body: response body size is 4097 bytes; maximum is 4096',
      ],
    );
  });

  test('retry back-off max_interval below base_interval', () => {
    assert.deepEqual(
      routeProblems({
        match: MATCH,
        route: {
          cluster: 'c',
          retry_policy: {
            retry_back_off: {
              base_interval: { seconds: 2, nanos: 0 },
              max_interval: { seconds: 1, nanos: 0 },
            },
          },
        },
      }),
      [
        'invalid virtual_hosts[0].routes[0].route.retry_policy.retry_back_off.max_interval: retry_policy.max_interval must greater than or equal to the base_interval',
      ],
    );
  });

  test('mirror policies need exactly one of cluster and cluster_header', () => {
    assert.deepEqual(
      routeProblems({
        match: MATCH,
        route: { cluster: 'c', request_mirror_policies: [{}, { cluster: 'a', cluster_header: 'b' }] },
      }),
      [
        'invalid virtual_hosts[0].routes[0].route.request_mirror_policies[0]: Exactly one of cluster or cluster_header in request mirror policy need to be specified',
        "invalid virtual_hosts[0].routes[0].route.request_mirror_policies[1]: Only one of cluster 'a' or cluster_header 'b' in request mirror policy can be specified",
      ],
    );
  });

  test('duplicate route upgrade types and a connect_config on a non-CONNECT upgrade', () => {
    assert.deepEqual(
      routeProblems({
        match: MATCH,
        route: {
          cluster: 'c',
          upgrade_configs: [
            { upgrade_type: 'websocket' },
            { upgrade_type: 'WebSocket' },
            { upgrade_type: 'h2c', connect_config: {} },
          ],
        },
      }),
      [
        'invalid virtual_hosts[0].routes[0].route.upgrade_configs[1].upgrade_type: Duplicate upgrade WebSocket',
        'invalid virtual_hosts[0].routes[0].route.upgrade_configs[2].connect_config: Non-CONNECT upgrade type h2c has ConnectConfig',
      ],
    );
  });

  test('compileRouteTable throws a RouteConfigError carrying the problems', () => {
    assert.throws(
      () => compileRouteTable(oneHost([{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'c' } }])),
      (e: unknown) =>
        e instanceof RouteConfigError && e.problems.length === 1 && e.problems[0]?.kind === 'invalid',
    );
  });
});

describe('unsupported configuration', () => {
  test('fields that would change routing but Legate lacks are reported at their path', () => {
    assert.deepEqual(
      problems({
        name: 'rc',
        vhds: { config_source: {} },
        virtual_hosts: [
          {
            name: 'vh',
            domains: ['*'],
            hedge_policy: {},
            routes: [
              {
                match: { prefix: '/', tls_context: { presented: true } },
                route: {
                  cluster: 'c',
                  internal_redirect_policy: {},
                  hash_policy: [{ filter_state: { key: 'k' } }],
                },
              },
              { match: { path_match_policy: { name: 'x' } }, route: { cluster: 'c' } },
              { match: MATCH, filter_action: {} },
            ],
          },
        ],
      }),
      [
        'unsupported vhds: route_config.vhds is not supported by Legate',
        'unsupported virtual_hosts[0].hedge_policy: virtual_host.hedge_policy is not supported by Legate',
        'unsupported virtual_hosts[0].routes[0].match.tls_context: match.tls_context is not supported by Legate',
        'unsupported virtual_hosts[0].routes[0].route.internal_redirect_policy: route.internal_redirect_policy is not supported by Legate',
        'unsupported virtual_hosts[0].routes[0].route.hash_policy[0].filter_state: hash_policy.filter_state is not supported by Legate',
        'unsupported virtual_hosts[0].routes[1].match.path_match_policy: match.path_match_policy is not supported by Legate',
        'unsupported virtual_hosts[0].routes[2].filter_action: route.filter_action is not supported by Legate',
      ],
    );
  });

  test('settings only other filters use are accepted: cors, rate_limits, virtual_clusters', () => {
    assert.deepEqual(
      problems(
        oneHost([{ match: MATCH, route: { cluster: 'c', rate_limits: [{}], cors: {} } }], {
          cors: {},
          rate_limits: [{}],
          virtual_clusters: [{ name: 'v', headers: [{ name: 'x' }] }],
        }),
      ),
      [],
    );
  });
});

describe('warnings', () => {
  test('unknown retry_on values are ignored with a warning, and the table still compiles', () => {
    const config = oneHost([
      { match: MATCH, route: { cluster: 'c', retry_policy: { retry_on: '5xx,bogus' } } },
    ]);
    assert.deepEqual(problems(config), [
      "warning warning: virtual_hosts[0].routes[0].route.retry_policy.retry_on: unknown retry_on value 'bogus' is ignored",
    ]);
    assert.doesNotThrow(() => compileRouteTable(config));
  });

  test('strip_query with a query in path_redirect warns that it will not strip it', () => {
    assert.equal(
      routeProblems({ match: MATCH, redirect: { path_redirect: '/a?b', strip_query: true } })[0]?.startsWith(
        'warning',
      ),
      true,
    );
  });
});

describe('RE2 helpers', () => {
  function replace(pattern: string, input: string, substitution: string): string {
    const re = Re2Regex.compile(pattern);
    assert.ok(re instanceof Re2Regex);
    const sub = Re2Substitution.parse(substitution, re.groupCount);
    assert.ok(sub instanceof Re2Substitution);
    return re.replaceAll(input, sub);
  }

  test('substitutions expand \\0 to the match, \\N to groups and \\\\ to a backslash', () => {
    assert.equal(replace('(\\w+)@(\\w+)', 'me@host', '\\2/\\1 [\\0] \\\\'), 'host/me [me@host] \\');
  });

  test('an unmatched optional group expands to nothing', () => {
    assert.equal(replace('a(x)?b', 'ab', '[\\1]'), '[]');
  });

  test('global replace follows RE2 on empty matches', () => {
    assert.equal(replace('x*', 'abc', '-'), '-a-b-c-');
    assert.equal(replace('a*', 'baaac', '-'), '-b-c-');
  });

  test('replacement works across astral characters', () => {
    assert.equal(replace('o', 'f😀oo', '0'), 'f😀00');
    assert.equal(replace('', '😀', '-'), '-😀-');
  });

  test('a substitution with a backslash before a non-digit is refused', () => {
    assert.match(String(Re2Substitution.parse('\\n', 0)), /invalid rewrite pattern/);
  });
});
