/**
 * Virtual host selection by `:authority`: Envoy's precedence (exact, longest suffix wildcard,
 * longest prefix wildcard, `*`), case-insensitive hosts, ports, `ignore_port_in_host_matching`,
 * a missing authority, and `require_tls`. Envoy counterpart: the RouteMatcher tests in
 * test/common/router/config_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProtoMessage } from '../../src/config/types.ts';
import { portStart } from '../../src/router/config.ts';
import { request, TestHeaderMap, table } from './helpers.ts';

/** One virtual host per entry, named after its domains, each with a catch-all route. */
function hosts(domainLists: string[][], extra: ProtoMessage = {}): ProtoMessage {
  return {
    name: 'rc',
    ...extra,
    virtual_hosts: domainLists.map((domains) => ({
      name: domains.join('|'),
      domains,
      routes: [{ match: { prefix: '/' }, route: { cluster: domains.join('|') } }],
    })),
  };
}

function vhostFor(config: ProtoMessage, authority: string): string | undefined {
  return table(config).findVirtualHost(request(authority, '/'))?.name;
}

describe('domain precedence', () => {
  const config = hosts([
    ['*'],
    ['example.com'],
    ['*.example.com'],
    ['*-bar.example.com'],
    ['*.com'],
    ['www.*'],
    ['www.example.*'],
    ['api*'],
    ['*ample.org'],
    ['exact.example.com:8080'],
  ]);
  const cases: Array<[string, string]> = [
    ['example.com', 'example.com'],
    ['foo.example.com', '*.example.com'],
    ['foo-bar.example.com', '*-bar.example.com'],
    ['a.b.example.com', '*.example.com'],
    ['other.com', '*.com'],
    ['www.example.com', '*.example.com'], // a suffix wildcard beats any prefix wildcard
    ['www.example.net', 'www.example.*'], // the longest prefix wildcard wins
    ['www.other.net', 'www.*'],
    ['api.internal', 'api*'],
    ['apiserver', 'api*'],
    ['example.org', '*ample.org'], // '*suffix' without a dot
    ['nothing.net', '*'],
    ['exact.example.com:8080', 'exact.example.com:8080'],
    ['EXAMPLE.COM', 'example.com'],
    ['Foo.Example.Com', '*.example.com'],
  ];
  for (const [authority, expected] of cases) {
    test(`${authority} selects ${expected}`, () => {
      assert.equal(vhostFor(config, authority), expected);
    });
  }

  test('a suffix wildcard needs at least one character before the suffix', () => {
    // '*.example.com' does not match '.example.com'; 'example.com'-less table falls to '*'.
    const t = table(hosts([['*'], ['*.example.com']]));
    assert.equal(t.findVirtualHost(request('.example.com', '/'))?.name, '*');
    assert.equal(t.findVirtualHost(request('x.example.com', '/'))?.name, '*.example.com');
  });

  test('a prefix wildcard needs at least one character after the prefix', () => {
    const t = table(hosts([['*'], ['www.*']]));
    assert.equal(t.findVirtualHost(request('www.', '/'))?.name, '*');
    assert.equal(t.findVirtualHost(request('www.x', '/'))?.name, 'www.*');
  });

  test('no match and no default virtual host finds nothing', () => {
    const t = table(hosts([['example.com']]));
    assert.equal(t.findVirtualHost(request('other.com', '/')), undefined);
    assert.equal(t.route(request('other.com', '/')), undefined);
  });

  test('a configured domain with upper-case letters matches case-insensitively', () => {
    assert.equal(vhostFor(hosts([['Example.COM']]), 'example.com'), 'Example.COM');
  });
});

describe('ports', () => {
  test('an authority with a port does not match the domain without it by default', () => {
    const t = table(hosts([['*'], ['example.com']]));
    assert.equal(t.findVirtualHost(request('example.com:8080', '/'))?.name, '*');
  });

  test('an authority with a port matches a domain with that port', () => {
    const t = table(hosts([['example.com'], ['example.com:8080']]));
    assert.equal(t.findVirtualHost(request('example.com:8080', '/'))?.name, 'example.com:8080');
    assert.equal(t.findVirtualHost(request('example.com:9090', '/')), undefined);
  });

  test('suffix wildcards see the port as part of the host', () => {
    const t = table(hosts([['*.example.com'], ['*.example.com:8080']]));
    assert.equal(t.findVirtualHost(request('a.example.com:8080', '/'))?.name, '*.example.com:8080');
    assert.equal(t.findVirtualHost(request('a.example.com:9090', '/')), undefined);
  });

  test('ignore_port_in_host_matching drops the port before matching', () => {
    const t = table(hosts([['example.com'], ['*.example.com']], { ignore_port_in_host_matching: true }));
    assert.equal(t.findVirtualHost(request('example.com:8080', '/'))?.name, 'example.com');
    assert.equal(t.findVirtualHost(request('a.example.com:1', '/'))?.name, '*.example.com');
  });

  test('ignore_port_in_host_matching keeps IPv6 literals intact', () => {
    const t = table(hosts([['[::1]'], ['*']], { ignore_port_in_host_matching: true }));
    assert.equal(t.findVirtualHost(request('[::1]:8080', '/'))?.name, '[::1]');
    assert.equal(t.findVirtualHost(request('[::1]', '/'))?.name, '[::1]');
  });

  test('portStart finds the port of names, IPv4 and bracketed IPv6, and nothing else', () => {
    assert.equal(portStart('example.com:80'), 11);
    assert.equal(portStart('example.com'), -1);
    assert.equal(portStart('1.2.3.4:5'), 7);
    assert.equal(portStart('[::1]:443'), 5);
    assert.equal(portStart('[::1]'), -1);
  });
});

describe('requests without an authority', () => {
  test('only a lone default virtual host routes them', () => {
    const headers = TestHeaderMap.of([
      [':method', 'GET'],
      [':path', '/'],
      ['x-forwarded-proto', 'http'],
    ]);
    assert.equal(table(hosts([['*']])).findVirtualHost(headers)?.name, '*');
    assert.equal(table(hosts([['*'], ['example.com']])).findVirtualHost(headers), undefined);
  });
});

describe('require_tls', () => {
  function tlsTable(requireTls: string) {
    return table({
      name: 'rc',
      virtual_hosts: [
        {
          name: 'secure',
          domains: ['*'],
          require_tls: requireTls,
          routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }],
        },
      ],
    });
  }

  test('ALL redirects plain HTTP to https with a 301 and keeps https requests', () => {
    const t = tlsTable('ALL');
    const plain = request('example.com:8080', '/a?b=1');
    const route = t.route(plain);
    assert.equal(route?.action.kind, 'redirect');
    assert.equal(route?.action.kind === 'redirect' && route.action.responseCode, 301);
    assert.equal(route?.redirectLocation(plain), 'https://example.com:8080/a?b=1');
    const secure = request('example.com', '/a');
    secure.set('x-forwarded-proto', 'https');
    assert.equal(t.route(secure)?.action.kind, 'route');
  });

  test('EXTERNAL_ONLY lets internal plain-HTTP requests through', () => {
    const t = tlsTable('EXTERNAL_ONLY');
    assert.equal(t.route(request('example.com', '/'))?.action.kind, 'redirect');
    const internal = request('example.com', '/', [['x-envoy-internal', 'true']]);
    assert.equal(t.route(internal)?.action.kind, 'route');
  });
});
