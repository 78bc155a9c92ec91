/**
 * Cost of finding a request's route (`RouteTable.route`): 50 prefix routes hit at the first,
 * middle and last route and missed; virtual host choice among exact and wildcard domains;
 * a route chosen by header matchers (10 routes on one prefix, told apart by a header); an RE2
 * path regex; and `finalizeRequestHeaders` for a route with a prefix rewrite and two added
 * headers (one a %VAR% substitution).
 *
 * Headers are the codec's `HeaderMapImpl`, built once; each figure is the best of several
 * rounds after a warm-up. Run alone: `node bench/micro/route-match.ts [filter]`.
 */
import type { ProtoMessage } from '../../src/config/types.ts';
import { HeaderMapImpl } from '../../src/http/header-map.ts';
import { compileRouteTable, type RouteTable } from '../../src/router/config.ts';
import { StreamInfo } from '../../src/stream-info/stream-info.ts';

/** Best ns/op over `rounds` runs of `n` operations. */
function measure(n: number, rounds: number, body: (n: number) => void): number {
  body(n); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    body(n);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return best;
}

function requestHeaders(authority: string, path: string, extra: Array<[string, string]> = []): HeaderMapImpl {
  const h = new HeaderMapImpl();
  h.add(':method', 'GET');
  h.add(':scheme', 'http');
  h.add(':authority', authority);
  h.add(':path', path);
  h.add('user-agent', 'curl/8.5.0');
  h.add('accept', '*/*');
  h.add('x-forwarded-proto', 'http');
  h.add('x-request-id', '1b4e28ba-2fa1-11d2-883f-0016d3cca427');
  for (const [k, v] of extra) h.add(k, v);
  return h;
}

const prefixTable = compileRouteTable({
  name: 'bench',
  virtual_hosts: [
    {
      name: 'all',
      domains: ['*'],
      routes: Array.from({ length: 50 }, (_, i) => ({
        match: { prefix: `/service/${i}/` },
        route: { cluster: `service-${i}` },
      })),
    },
  ],
});

const domainTable = compileRouteTable({
  name: 'bench',
  virtual_hosts: [
    ...Array.from({ length: 20 }, (_, i) => ({
      name: `exact-${i}`,
      domains: [`host-${i}.example.com`],
      routes: [{ match: { prefix: '/' }, route: { cluster: `c${i}` } }],
    })),
    {
      name: 'suffix',
      domains: ['*.internal.example.com'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 's' } }],
    },
    { name: 'prefix', domains: ['api.*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'p' } }] },
    { name: 'default', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'd' } }] },
  ],
});

const headerTable = compileRouteTable({
  name: 'bench',
  virtual_hosts: [
    {
      name: 'all',
      domains: ['*'],
      routes: Array.from({ length: 10 }, (_, i) => ({
        match: {
          prefix: '/api/',
          headers: [
            { name: 'x-tenant', string_match: { exact: `tenant-${i}` } },
            { name: 'x-canary', present_match: false },
          ],
        },
        route: { cluster: `tenant-${i}` },
      })),
    },
  ],
});

const regexTable = compileRouteTable({
  name: 'bench',
  virtual_hosts: [
    {
      name: 'all',
      domains: ['*'],
      routes: [
        { match: { safe_regex: { regex: '/users/[0-9]+/orders/[a-f0-9-]+' } }, route: { cluster: 'orders' } },
      ],
    },
  ],
});

const rewriteConfig: ProtoMessage = {
  name: 'bench',
  virtual_hosts: [
    {
      name: 'all',
      domains: ['*'],
      request_headers_to_add: [
        { header: { key: 'x-client-ip', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' } },
      ],
      routes: [
        {
          match: { prefix: '/api/' },
          route: { cluster: 'api', prefix_rewrite: '/' },
          request_headers_to_add: [{ header: { key: 'x-route', value: 'api' } }],
        },
      ],
    },
  ],
};
const rewriteTable = compileRouteTable(rewriteConfig);

let sink = 0;
function routeLoop(table: RouteTable, headers: HeaderMapImpl): (n: number) => void {
  return (n) => {
    for (let i = 0; i < n; i++) {
      if (table.route(headers, i) !== undefined) sink++;
    }
  };
}

const N = 1_000_000;
const cases: Array<[string, RouteTable, HeaderMapImpl]> = [
  ['50 prefix routes, first matches', prefixTable, requestHeaders('example.com', '/service/0/items?id=1')],
  ['50 prefix routes, 25th matches', prefixTable, requestHeaders('example.com', '/service/24/items?id=1')],
  ['50 prefix routes, last matches', prefixTable, requestHeaders('example.com', '/service/49/items?id=1')],
  ['50 prefix routes, none matches', prefixTable, requestHeaders('example.com', '/other/items')],
  ['virtual host: exact domain', domainTable, requestHeaders('host-7.example.com', '/')],
  ['virtual host: suffix wildcard', domainTable, requestHeaders('a.internal.example.com', '/')],
  ['virtual host: prefix wildcard', domainTable, requestHeaders('api.example.org', '/')],
  ['virtual host: default', domainTable, requestHeaders('unknown.example.net', '/')],
  [
    'header matchers, 10th of 10 routes',
    headerTable,
    requestHeaders('example.com', '/api/x', [['x-tenant', 'tenant-9']]),
  ],
  ['RE2 path regex', regexTable, requestHeaders('example.com', '/users/42/orders/3f2a-11d2-883f')],
];

const only = process.argv[2];
for (const [label, table, headers] of cases) {
  if (only !== undefined && !label.includes(only)) continue;
  if (table.route(headers) === undefined && !label.includes('none'))
    throw new Error(`bug: ${label} found no route`);
  console.log(`route: ${label}  ${measure(N, 5, routeLoop(table, headers)).toFixed(1)} ns/op`);
}

if (only === undefined || 'finalize'.includes(only)) {
  const si = new StreamInfo(Date.now(), 0);
  si.downstreamRemoteAddress = '10.0.0.1';
  si.downstreamRemotePort = 40000;
  const base = requestHeaders('example.com', '/api/users?id=1');
  const route = rewriteTable.route(base);
  if (route === undefined) throw new Error('bug: no route to finalize');
  // A fresh map per request, as each stream has its own; the copy is measured separately.
  const copies = Array.from({ length: 1024 }, () => new HeaderMapImpl());
  const copyNs = measure(N, 5, (n) => {
    for (let i = 0; i < n; i++) {
      const h = new HeaderMapImpl();
      base.forEach((k, v) => {
        h.add(k, v);
      });
      copies[i & 1023] = h;
    }
  });
  const totalNs = measure(N, 5, (n) => {
    for (let i = 0; i < n; i++) {
      const h = new HeaderMapImpl();
      base.forEach((k, v) => {
        h.add(k, v);
      });
      route.finalizeRequestHeaders(h, { streamInfo: si, requestHeaders: h }, undefined, true);
      copies[i & 1023] = h;
    }
  });
  console.log(
    `route: finalizeRequestHeaders (prefix rewrite, 2 headers added)  ${(totalNs - copyNs).toFixed(1)} ns/op`,
  );
}
if (sink === 0) throw new Error('no route was found');
