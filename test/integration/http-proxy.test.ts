/**
 * HTTP/1.1 through a real legate process: the connection manager and router on the data
 * path in front of real node:http upstreams. First end-to-end proofs of the HTTP path;
 * the deeper per-feature tests live beside the codec, connection manager and router.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, httpUpstream, type Legate, startLegate, stat } from './harness.ts';

/** Answers `<name> <method> <url> <sha256 of the body>`. */
function upstream(name: string): ReturnType<typeof httpUpstream> {
  return httpUpstream((req, res) => {
    const h = createHash('sha256');
    req.on('data', (d: Buffer) => h.update(d));
    req.on('end', () => res.end(`${name} ${req.method} ${req.url} ${h.digest('hex')}`));
  });
}

function config(port: number, one: number, two: number, dead: number): string {
  const cluster = (name: string, p: number): string => `  - name: ${name}
    load_assignment:
      cluster_name: ${name}
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${p} } } } }] }]`;
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: /service/1 }
                route: { cluster: one }
              - match: { prefix: /service/2 }
                route: { cluster: two }
              - match: { prefix: /dead }
                route: { cluster: dead }
              - match: { path: /healthz }
                direct_response: { status: 200, body: { inline_string: "ok" } }
          http_filters:
          - name: envoy.filters.http.router
  clusters:
${cluster('one', one)}
${cluster('two', two)}
${cluster('dead', dead)}
`;
}

async function withHttpProxy(body: (l: Legate, port: number) => Promise<void>): Promise<void> {
  const [one, two] = await Promise.all([upstream('one'), upstream('two')]);
  const dead = await freePort();
  const port = await freePort();
  const legate = await startLegate(config(port, one.port, two.port, dead), ['--concurrency', '2']);
  try {
    await body(legate, port);
  } finally {
    await legate.stop();
    await Promise.all([one.close(), two.close()]);
  }
}

/** One request on a keep-alive agent; resolves with status, headers and body. */
function request(
  port: number,
  path: string,
  options: { method?: string; body?: Buffer; agent?: http.Agent } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const EMPTY_SHA = createHash('sha256').digest('hex');

test('HTTP: routes by prefix to the right upstream, reuses the upstream connection, answers direct responses', async () => {
  await withHttpProxy(async ({ admin }, port) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const r1 = await request(port, `/service/1/x?i=${i}`, { agent });
        assert.equal(r1.status, 200);
        assert.equal(r1.body, `one GET /service/1/x?i=${i} ${EMPTY_SHA}`);
        assert.match(String(r1.headers['x-envoy-upstream-service-time']), /^\d+$/);
        const r2 = await request(port, '/service/2', { agent });
        assert.equal(r2.body, `two GET /service/2 ${EMPTY_SHA}`);
      }
      const healthz = await request(port, '/healthz', { agent });
      assert.equal(healthz.status, 200);
      assert.equal(healthz.body, 'ok');
    } finally {
      agent.destroy();
    }
    assert.equal(await stat(admin, 'http.ingress_http.downstream_rq_2xx'), 11);
    assert.equal(await stat(admin, 'cluster.one.upstream_rq_200'), 5);
    // One downstream connection on one worker: every request reused one upstream connection.
    assert.equal(await stat(admin, 'cluster.one.upstream_cx_total'), 1);
  });
});

test('HTTP: a 16 MiB upload arrives intact (sha256)', async () => {
  await withHttpProxy(async (_legate, port) => {
    const body = randomBytes(16 * 1024 * 1024);
    const digest = createHash('sha256').update(body).digest('hex');
    const r = await request(port, '/service/1/upload', { method: 'POST', body });
    assert.equal(r.status, 200);
    assert.equal(r.body, `one POST /service/1/upload ${digest}`);
  });
});

test("HTTP: no route is 404 NR, a refusing upstream is 503 UF with Envoy's body", async () => {
  await withHttpProxy(async ({ admin }, port) => {
    const missing = await request(port, '/nowhere');
    assert.equal(missing.status, 404);
    const dead = await request(port, '/dead');
    assert.equal(dead.status, 503);
    assert.match(
      dead.body,
      /^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/,
    );
    assert.equal(await stat(admin, 'http.ingress_http.no_route'), 1);
    assert.equal(await stat(admin, 'cluster.dead.upstream_cx_connect_fail'), 1);
  });
});

test('HTTP: a smuggling attempt (Content-Length with Transfer-Encoding) gets 400 and reaches no upstream', async () => {
  await withHttpProxy(async ({ admin }, port) => {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
      socket.on('connect', () =>
        socket.write(
          'POST /service/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /service/2 HTTP/1.1\r\nHost: x\r\n\r\n',
        ),
      );
    });
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(reply, /\r\nconnection: close\r\n/i);
    assert.equal((await stat(admin, 'cluster.one.upstream_rq_total')) ?? 0, 0);
    assert.equal((await stat(admin, 'cluster.two.upstream_rq_total')) ?? 0, 0);
  });
});

test('HTTP: max_requests_per_connection from the cluster HttpProtocolOptions opens a new upstream connection after N requests', async () => {
  const one = await upstream('one');
  const port = await freePort();
  const base = config(port, one.port, one.port, await freePort());
  const withLimit = base.replace(
    '  - name: one\n',
    `  - name: one
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        common_http_protocol_options: { max_requests_per_connection: 2 }
        explicit_http_config: { http_protocol_options: {} }
`,
  );
  const legate = await startLegate(withLimit, ['--concurrency', '1']);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 6; i++) assert.equal((await request(port, '/service/1', { agent })).status, 200);
    assert.equal(await stat(legate.admin, 'cluster.one.upstream_cx_total'), 3);
  } finally {
    agent.destroy();
    await legate.stop();
    await one.close();
  }
});

test("HTTP: the cluster's http_protocol_options reach the upstream codec (proper_case_words header keys)", async () => {
  // An upstream that answers with the header names exactly as they arrived on the wire.
  const rawNames = http.createServer((req, res) => {
    const names = req.rawHeaders.filter((_, i) => i % 2 === 0);
    res.end(names.join(','));
  });
  await new Promise<void>((r) => rawNames.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const upstreamPort = (rawNames.address() as net.AddressInfo).port;
  const port = await freePort();
  const base = config(port, upstreamPort, upstreamPort, await freePort());
  const properCase = base.replace(
    '  - name: one\n',
    `  - name: one
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http_protocol_options: { header_key_format: { proper_case_words: {} } }
`,
  );
  const legate = await startLegate(properCase, ['--concurrency', '1']);
  try {
    const one = await request(port, '/service/1');
    assert.equal(one.status, 200);
    const names = one.body.split(',');
    assert.ok(names.includes('Host'), one.body);
    assert.ok(names.includes('X-Forwarded-Proto'), one.body);
    assert.ok(names.includes('X-Request-Id'), one.body);
    assert.ok(
      !names.some((n) => n !== n.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase())),
      one.body,
    );
    // The other cluster keeps Envoy's default: lower-case keys.
    const two = await request(port, '/service/2');
    assert.ok(two.body.split(',').includes('x-forwarded-proto'), two.body);
  } finally {
    await legate.stop();
    rawNames.closeAllConnections();
    await new Promise<void>((r) => rawNames.close(() => r()));
  }
});

test('HTTP: an ORIGINAL_DST cluster with use_http_header sends each request to its x-envoy-original-dst-host', async () => {
  const a = await upstream('a');
  const b = await upstream('b');
  const port = await freePort();
  const base = config(port, a.port, b.port, await freePort());
  const withOriginalDst = base
    .replace('route: { cluster: one }', 'route: { cluster: passthrough }')
    .concat(`  - name: passthrough
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    original_dst_lb_config: { use_http_header: true }
`);
  const legate = await startLegate(withOriginalDst, ['--concurrency', '1']);
  const to = (target: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/service/1',
          agent: false,
          headers: target === '' ? {} : { 'x-envoy-original-dst-host': target },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  try {
    assert.match((await to(`127.0.0.1:${a.port}`)).body, /^a GET \/service\/1 /);
    assert.match((await to(`127.0.0.1:${b.port}`)).body, /^b GET \/service\/1 /);
    // No header, or one that is not an address: no host to send to (Envoy: 503, no healthy upstream).
    const none = await to('');
    assert.equal(none.status, 503);
    assert.equal(none.body, 'no healthy upstream');
    assert.equal((await to('not-an-address')).status, 503);
    assert.equal(await stat(legate.admin, 'cluster.passthrough.upstream_rq_total'), 2);
  } finally {
    await legate.stop();
    await a.close();
    await b.close();
  }
});

test('HTTP: a route runtime_fraction follows the runtime: /runtime_modify moves traffic to the canary on every worker', async () => {
  const stable = await upstream('stable');
  const canary = await upstream('canary');
  const port = await freePort();
  const base = config(port, stable.port, canary.port, await freePort());
  const withCanary = base.replace(
    '              - match: { prefix: /service/1 }\n',
    `              - match:
                  prefix: /service/1
                  runtime_fraction: { default_value: { numerator: 0 }, runtime_key: routing.canary }
                route: { cluster: two }
              - match: { prefix: /service/1 }
`,
  );
  const legate = await startLegate(withCanary, ['--concurrency', '2']);
  const upstreamsOf = async (n: number): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add((await request(port, '/service/1')).body.split(' ')[0] ?? '');
    return seen;
  };
  try {
    assert.deepEqual(await upstreamsOf(20), new Set(['stable']));
    const set = await fetch(`${legate.admin}/runtime_modify?routing.canary=100`, { method: 'POST' });
    assert.equal(set.status, 200);
    assert.deepEqual(await upstreamsOf(20), new Set(['canary']));
    await fetch(`${legate.admin}/runtime_modify?routing.canary=`, { method: 'POST' });
    assert.deepEqual(await upstreamsOf(20), new Set(['stable']));
  } finally {
    await legate.stop();
    await stable.close();
    await canary.close();
  }
});
