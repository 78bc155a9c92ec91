/**
 * Redirect routes: the response code for each enum value, and the Location Envoy computes from
 * scheme_redirect / https_redirect, host_redirect, port_redirect, path_redirect, prefix_rewrite,
 * regex_rewrite and strip_query, with the request's port kept or dropped as Envoy does.
 * Envoy counterpart: the RedirectRoute tests of test/common/router/config_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProtoMessage } from '../../src/config/types.ts';
import { request, table } from './helpers.ts';

/** The Location for a request to `authority` + `path` on a route `{ match, redirect }`. */
function location(
  redirect: ProtoMessage,
  authority: string,
  path: string,
  options: { match?: ProtoMessage; scheme?: string; xfp?: string } = {},
): string {
  const t = table({
    name: 'rc',
    virtual_hosts: [
      { name: 'vh', domains: ['*'], routes: [{ match: options.match ?? { prefix: '/' }, redirect }] },
    ],
  });
  const headers = request(authority, path);
  headers.set(':scheme', options.scheme ?? 'http');
  headers.set('x-forwarded-proto', options.xfp ?? options.scheme ?? 'http');
  const route = t.route(headers);
  assert.ok(route);
  return route.redirectLocation(headers);
}

describe('response codes', () => {
  const codes: Array<[string | undefined, number]> = [
    [undefined, 301],
    ['MOVED_PERMANENTLY', 301],
    ['FOUND', 302],
    ['SEE_OTHER', 303],
    ['TEMPORARY_REDIRECT', 307],
    ['PERMANENT_REDIRECT', 308],
  ];
  for (const [name, code] of codes) {
    test(`response_code ${name ?? 'unset'} is ${code}`, () => {
      const t = table({
        name: 'rc',
        virtual_hosts: [
          {
            name: 'vh',
            domains: ['*'],
            routes: [{ match: { prefix: '/' }, redirect: name === undefined ? {} : { response_code: name } }],
          },
        ],
      });
      const action = t.route(request('x', '/'))?.action;
      assert.equal(action?.kind === 'redirect' && action.responseCode, code);
    });
  }
});

describe('scheme, host and port', () => {
  test('an empty redirect points at the same URL', () => {
    assert.equal(location({}, 'example.com', '/a?b=1'), 'http://example.com/a?b=1');
  });

  test('https_redirect switches the scheme and drops the default http port', () => {
    assert.equal(location({ https_redirect: true }, 'example.com', '/a'), 'https://example.com/a');
    assert.equal(location({ https_redirect: true }, 'example.com:80', '/a'), 'https://example.com/a');
    assert.equal(location({ https_redirect: true }, 'example.com:8080', '/a'), 'https://example.com:8080/a');
  });

  test('scheme_redirect to http drops the default https port', () => {
    assert.equal(
      location({ scheme_redirect: 'http' }, 'example.com:443', '/a', { scheme: 'https' }),
      'http://example.com/a',
    );
  });

  test('the scheme of the request is kept when nothing changes it, and so is its port', () => {
    assert.equal(location({}, 'example.com:443', '/a', { scheme: 'https' }), 'https://example.com:443/a');
  });

  test('the port comparison follows x-forwarded-proto, not :scheme', () => {
    // An http URL over TLS: :80 is not the default port of https, so it stays.
    assert.equal(
      location({ https_redirect: true }, 'example.com:80', '/', { scheme: 'http', xfp: 'https' }),
      'https://example.com:80/',
    );
  });

  test('host_redirect replaces the host and its port', () => {
    assert.equal(location({ host_redirect: 'new.com' }, 'old.com:8080', '/a'), 'http://new.com/a');
  });

  test('port_redirect replaces the port of the request host', () => {
    assert.equal(location({ port_redirect: 8443 }, 'example.com:8080', '/a'), 'http://example.com:8443/a');
    assert.equal(location({ port_redirect: 8443 }, 'example.com', '/a'), 'http://example.com:8443/a');
    assert.equal(location({ port_redirect: 8443 }, '[::1]:8080', '/a'), 'http://[::1]:8443/a');
  });

  test('host_redirect and port_redirect together', () => {
    assert.equal(
      location({ host_redirect: 'new.com', port_redirect: 9000, https_redirect: true }, 'old.com', '/p'),
      'https://new.com:9000/p',
    );
  });

  test('an IPv6 host keeps its brackets when its port is dropped', () => {
    assert.equal(location({ https_redirect: true }, '[::1]:80', '/'), 'https://[::1]/');
  });
});

describe('path', () => {
  test("path_redirect replaces the path and keeps the request's query", () => {
    assert.equal(location({ path_redirect: '/new' }, 'x.com', '/old?q=1'), 'http://x.com/new?q=1');
    assert.equal(location({ path_redirect: '/new' }, 'x.com', '/old'), 'http://x.com/new');
  });

  test('a path_redirect with its own query replaces the query too, even with strip_query', () => {
    assert.equal(location({ path_redirect: '/new?a=b' }, 'x.com', '/old?q=1'), 'http://x.com/new?a=b');
  });

  test('strip_query removes the query', () => {
    assert.equal(location({ strip_query: true }, 'x.com', '/p?q=1'), 'http://x.com/p');
    assert.equal(
      location({ path_redirect: '/new', strip_query: true }, 'x.com', '/old?q=1'),
      'http://x.com/new',
    );
  });

  test('a path_redirect without a leading slash gets one', () => {
    assert.equal(location({ path_redirect: 'relative' }, 'x.com', '/old'), 'http://x.com/relative');
  });

  test('prefix_rewrite replaces the matched prefix', () => {
    assert.equal(
      location({ prefix_rewrite: '/new/' }, 'x.com', '/old/page?q=1', { match: { prefix: '/old/' } }),
      'http://x.com/new/page?q=1',
    );
    assert.equal(
      location({ prefix_rewrite: '/new', strip_query: true }, 'x.com', '/old/page?q=1', {
        match: { prefix: '/old' },
      }),
      'http://x.com/new/page',
    );
  });

  test('regex_rewrite rewrites the whole path and keeps the query', () => {
    assert.equal(
      location(
        {
          regex_rewrite: { pattern: { regex: '^/v1/(.*)$' }, substitution: '/v2/\\1' },
          https_redirect: true,
        },
        'x.com',
        '/v1/items/7?full=1',
      ),
      'https://x.com/v2/items/7?full=1',
    );
  });
});
