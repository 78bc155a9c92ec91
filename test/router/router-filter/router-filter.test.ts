/**
 * The router filter against real upstreams on 127.0.0.1, through a stand-in for the
 * connection manager: proxying with Envoy's headers and stats, and every local reply and
 * response flag (NR, NC, UH, UF, UO, UT, URX, UC, DC) produced by an upstream that
 * misbehaves for real (refuses, stalls, answers 5xx, closes a pooled connection, resets
 * mid-body). Every wait is bounded; nothing asserts on time.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { constants } from 'node:os';
import { before, test } from 'node:test';
import { initHashing } from '../../../src/upstream/load-balancer/hash.ts';
import { HOST_STATS } from '../../../src/upstream/types.ts';
import {
  closedPort,
  hostData,
  httpUpstream,
  rawUpstream,
  response,
  staticCluster,
} from '../../http/conn-pool/helpers.ts';
import { RouterHarness, routeAll, seconds, waitFor, within } from './harness.ts';

before(async () => {
  await initHashing();
});

/** An upstream that answers `<method> <url>` and records each request's headers. */
async function echoUpstream(seen: http.IncomingHttpHeaders[] = []) {
  return httpUpstream((req, res) => {
    seen.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).length}`));
  });
}

test('a routed request reaches the upstream and its response comes back with Envoy’s headers and stats', async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  const up = await echoUpstream(seen);
  const backend = staticCluster('backend', [up.port]);
  const h = new RouterHarness(routeAll('backend'), [backend]);
  try {
    const s = await h.request({ path: '/hello?x=1' });
    assert.equal(s.status, 200);
    assert.equal(s.body, 'GET /hello?x=1 0');
    assert.match(s.header('x-envoy-upstream-service-time') ?? '', /^\d+$/);
    assert.equal(s.streamInfo.responseCodeDetails, 'via_upstream');
    assert.equal(s.streamInfo.upstream?.hostAddress, `127.0.0.1:${up.port}`);
    assert.equal(s.streamInfo.upstream?.clusterName, 'backend');
    assert.equal(s.flags(), '-');
    assert.equal(seen[0]?.['x-envoy-expected-rq-timeout-ms'], '15000', 'the route’s default 15 s');
    assert.equal(seen[0]?.['x-forwarded-proto'], 'http', 'x-forwarded-proto is kept');
    assert.equal(seen[0]?.host, 'example.com');
    assert.equal(h.counter('http.ingress.rq_total'), 1);
    for (const name of [
      'upstream_rq_total',
      'upstream_rq_200',
      'upstream_rq_2xx',
      'upstream_rq_completed',
      'external.upstream_rq_200',
    ]) {
      assert.equal(h.counter(`cluster.backend.${name}`), 1, name);
    }
    // The host's /clusters counters (its cells in the cluster's shared array, slot 0).
    const cells = new Uint32Array(backend.hostStats);
    const hostStat = (name: (typeof HOST_STATS)[number]) => cells[HOST_STATS.indexOf(name)];
    assert.equal(hostStat('rq_total'), 1);
    assert.equal(hostStat('rq_success'), 1);
    assert.equal(hostStat('rq_error'), 0);
    assert.equal(hostStat('rq_active'), 0);
    assert.equal(hostStat('cx_total'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('prefix_rewrite sends the rewritten path and keeps the original in x-envoy-original-path', async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  const up = await echoUpstream(seen);
  const h = new RouterHarness(routeAll('backend', { prefix_rewrite: '/v2/' }), [
    staticCluster('backend', [up.port]),
  ]);
  try {
    const s = await h.request({ path: '/thing' });
    assert.equal(s.body, 'GET /v2/thing 0');
    assert.equal(seen[0]?.['x-envoy-original-path'], '/thing');
  } finally {
    h.close();
    await up.close();
  }
});

test('no route: 404 with NR and route_not_found', async () => {
  const h = new RouterHarness(
    {
      name: 'rc',
      virtual_hosts: [
        { name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/api' }, route: { cluster: 'c' } }] },
      ],
    },
    [],
  );
  try {
    const s = await h.request({ path: '/other' });
    assert.equal(s.status, 404);
    assert.equal(s.body, '');
    assert.equal(s.localReply?.details, 'route_not_found');
    assert.equal(s.flags(), 'NR');
    assert.equal(h.counter('http.ingress.no_route'), 1);
  } finally {
    h.close();
  }
});

test('an unknown cluster: cluster_not_found_response_code (503 by default) with NC', async () => {
  const h = new RouterHarness(
    {
      name: 'rc',
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/404' },
              route: { cluster: 'gone', cluster_not_found_response_code: 'NOT_FOUND' },
            },
            { match: { prefix: '/' }, route: { cluster: 'gone' } },
          ],
        },
      ],
    },
    [],
  );
  try {
    const s = await h.request({ path: '/x' });
    assert.equal(s.status, 503);
    assert.equal(s.localReply?.details, 'cluster_not_found');
    assert.equal(s.flags(), 'NC');
    const t = await h.request({ path: '/404' });
    assert.equal(t.status, 404);
    assert.equal(h.counter('http.ingress.no_cluster'), 2);
  } finally {
    h.close();
  }
});

test('direct_response and redirect routes are answered by the router itself', async () => {
  const h = new RouterHarness(
    {
      name: 'rc',
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/direct' },
              direct_response: { status: 418, body: { inline_string: 'teapot' } },
            },
            { match: { prefix: '/old' }, redirect: { path_redirect: '/new' } },
          ],
        },
      ],
    },
    [],
  );
  try {
    const d = await h.request({ path: '/direct' });
    assert.equal(d.status, 418);
    assert.equal(d.body, 'teapot');
    assert.equal(d.localReply?.details, 'direct_response');
    const r = await h.request({ path: '/old' });
    assert.equal(r.status, 301);
    assert.equal(r.header('location'), 'http://example.com/new');
    assert.equal(h.counter('http.ingress.rq_direct_response'), 1);
    assert.equal(h.counter('http.ingress.rq_redirect'), 1);
  } finally {
    h.close();
  }
});

test('a cluster without hosts: 503 no healthy upstream with UH', async () => {
  const h = new RouterHarness(routeAll('empty'), [staticCluster('empty', [])]);
  try {
    const s = await h.request();
    assert.equal(s.status, 503);
    assert.equal(s.body, 'no healthy upstream');
    assert.equal(s.localReply?.details, 'no_healthy_upstream');
    assert.equal(s.flags(), 'UH');
    assert.equal(h.counter('cluster.empty.upstream_cx_none_healthy'), 1);
    assert.equal(h.counter('cluster.empty.upstream_rq_503'), 1);
  } finally {
    h.close();
  }
});

test('a refused connection: 503 with Envoy’s reset body and UF', async () => {
  const port = await closedPort();
  const h = new RouterHarness(routeAll('down'), [staticCluster('down', [port])]);
  try {
    const s = await h.request();
    const errno = constants.errno.ECONNREFUSED;
    assert.equal(s.status, 503);
    assert.equal(
      s.body,
      `upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: ${errno}`,
    );
    assert.equal(
      s.localReply?.details,
      `upstream_reset_before_response_started{connection_failure|delayed_connect_error:_${errno}}`,
    );
    assert.equal(s.flags(), 'UF');
    assert.equal(s.streamInfo.upstream?.transportFailureReason, `delayed connect error: ${errno}`);
  } finally {
    h.close();
  }
});

test('a full pending queue: 503 overflow with UO and x-envoy-overloaded', async () => {
  const up = await echoUpstream();
  const h = new RouterHarness(routeAll('tight'), [
    staticCluster('tight', [up.port], { circuit_breakers: { thresholds: [{ max_pending_requests: 0 }] } }),
  ]);
  try {
    const s = await h.request();
    assert.equal(s.status, 503);
    assert.equal(s.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
    assert.equal(s.flags(), 'UO');
    assert.equal(s.header('x-envoy-overloaded'), 'true');
    assert.equal(h.counter('cluster.tight.upstream_rq_pending_overflow'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('a stalled upstream: 504 upstream request timeout with UT once the route timeout passes', async () => {
  const up = await httpUpstream(() => {
    // Never answers.
  });
  const h = new RouterHarness(routeAll('slow', { timeout: seconds(100) }), [
    staticCluster('slow', [up.port]),
  ]);
  try {
    const s = await h.request();
    assert.equal(s.status, 504);
    assert.equal(s.body, 'upstream request timeout');
    assert.equal(s.localReply?.details, 'upstream_response_timeout');
    assert.equal(s.flags(), 'UT');
    assert.equal(h.counter('cluster.slow.upstream_rq_timeout'), 1);
    assert.equal(h.counter('cluster.slow.upstream_rq_504'), 1);
    await waitFor(() => h.counter('cluster.slow.upstream_rq_tx_reset') === 1, 'the upstream request reset');
  } finally {
    h.close();
    await up.close();
  }
});

test('per_try_timeout with retry_on 5xx: a stalled first try is retried and the second answers', async () => {
  let requests = 0;
  const up = await httpUpstream((_req, res) => {
    if (requests++ === 0) return; // the first try stalls
    res.end('second');
  });
  const h = new RouterHarness(
    routeAll('c', { retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: seconds(100) } }),
    [staticCluster('c', [up.port])],
  );
  try {
    const s = await h.request();
    assert.equal(s.status, 200);
    assert.equal(s.body, 'second');
    assert.equal(h.counter('cluster.c.upstream_rq_per_try_timeout'), 1);
    assert.equal(h.counter('cluster.c.upstream_rq_retry'), 1);
    assert.equal(h.counter('cluster.c.upstream_rq_retry_success'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('per_try_timeout without retries left: 504 with UT and upstream_per_try_timeout', async () => {
  const up = await httpUpstream(() => {});
  const h = new RouterHarness(routeAll('c', { retry_policy: { per_try_timeout: seconds(50) } }), [
    staticCluster('c', [up.port]),
  ]);
  try {
    const s = await h.request();
    assert.equal(s.status, 504);
    assert.equal(s.localReply?.details, 'upstream_per_try_timeout');
    assert.equal(s.flags(), 'UT');
  } finally {
    h.close();
    await up.close();
  }
});

test('retry_on 5xx: a 503 is retried with the request body replayed, and the 200 goes downstream', async () => {
  const bodies: number[] = [];
  const up = await httpUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).length);
      res.statusCode = bodies.length === 1 ? 503 : 200;
      res.end(`attempt ${bodies.length}`);
    });
  });
  const h = new RouterHarness(routeAll('c', { retry_policy: { retry_on: '5xx', num_retries: 3 } }), [
    staticCluster('c', [up.port]),
  ]);
  try {
    const s = await h.request({ body: [Buffer.alloc(3000, 1), Buffer.alloc(2000, 2)] });
    assert.equal(s.status, 200);
    assert.equal(s.body, 'attempt 2');
    assert.deepEqual(bodies, [5000, 5000], 'the whole body went to both attempts');
    assert.equal(s.flags(), '-');
    assert.equal(h.counter('cluster.c.upstream_rq_retry'), 1);
    assert.equal(h.counter('cluster.c.upstream_rq_retry_success'), 1);
    assert.equal(h.counter('cluster.c.retry.upstream_rq_503'), 1);
    assert.equal(h.counter('cluster.c.upstream_rq_200'), 1);
    assert.equal(h.counter('cluster.c.upstream_rq_503'), 0, 'the retried 503 is counted under retry.');
  } finally {
    h.close();
    await up.close();
  }
});

test('retries exhausted: the last 503 goes downstream with URX', async () => {
  let attempts = 0;
  const up = await httpUpstream((_req, res) => {
    attempts++;
    res.statusCode = 503;
    res.end('busy');
  });
  const h = new RouterHarness(
    routeAll('c', { retry_policy: { retry_on: 'gateway-error', num_retries: 2 } }),
    [staticCluster('c', [up.port])],
  );
  try {
    const s = await h.request();
    assert.equal(s.status, 503);
    assert.equal(s.body, 'busy', 'the upstream’s own response');
    assert.equal(attempts, 3);
    assert.equal(s.flags(), 'URX');
    assert.equal(h.counter('cluster.c.upstream_rq_retry'), 2);
    assert.equal(h.counter('cluster.c.upstream_rq_retry_limit_exceeded'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('retry_on connect-failure: a refused host, then the next host answers', async () => {
  const port = await closedPort();
  const up = await echoUpstream();
  const data = staticCluster('c', []);
  const h = new RouterHarness(
    routeAll('c', {
      retry_policy: {
        retry_on: 'connect-failure',
        retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
      },
    }),
    [{ ...data, hosts: [hostData(port, 0), hostData(up.port, 1)] }],
  );
  try {
    const s = await h.request();
    assert.equal(s.status, 200);
    assert.equal(s.streamInfo.upstream?.hostAddress, `127.0.0.1:${up.port}`);
    assert.equal(h.counter('cluster.c.upstream_cx_connect_fail'), 1);
    assert.equal(h.counter('cluster.c.upstream_rq_retry'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('connect failures retried until the retries run out: 503 “retried and the latest reset reason”, UF and URX', async () => {
  const port = await closedPort();
  const h = new RouterHarness(
    routeAll('c', { retry_policy: { retry_on: 'connect-failure', num_retries: 1 } }),
    [staticCluster('c', [port])],
  );
  try {
    const s = await h.request();
    assert.equal(s.status, 503);
    assert.match(
      s.body,
      /^upstream connect error or disconnect\/reset before headers\. retried and the latest reset reason: connection failure/,
    );
    assert.equal(s.flags(), 'UF,URX');
  } finally {
    h.close();
  }
});

/** An upstream that answers a connection's first request and closes when its second arrives. */
async function keepAliveRaceUpstream() {
  return rawUpstream((socket, head, index) => {
    if (index === 0) socket.write(response(200, `fresh ${head.split(' ')[1]}`));
    else socket.destroy();
  });
}

test('the keep-alive race: a GET on a pooled connection the upstream closed is sent again on a new one', async () => {
  const up = await keepAliveRaceUpstream();
  const h = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])]);
  try {
    assert.equal((await h.request({ path: '/one' })).body, 'fresh /one');
    const s = await h.request({ path: '/two' });
    assert.equal(s.status, 200);
    assert.equal(s.body, 'fresh /two');
    assert.equal(s.flags(), '-');
    assert.equal(up.accepted(), 2);
  } finally {
    h.close();
    await up.close();
  }
});

test('the keep-alive race on a POST: 503 UC unless the route retries resets, then it is retried', async () => {
  const up = await keepAliveRaceUpstream();
  const plain = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])]);
  try {
    await plain.request({ path: '/warm' });
    const s = await plain.request({ path: '/post', body: [Buffer.from('payload')] });
    assert.equal(s.status, 503);
    assert.equal(
      s.body,
      'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
    );
    assert.equal(s.localReply?.details, 'upstream_reset_before_response_started{connection_termination}');
    assert.equal(s.flags(), 'UC');
  } finally {
    plain.close();
  }
  const retrying = new RouterHarness(routeAll('c', { retry_policy: { retry_on: 'reset' } }), [
    staticCluster('c', [up.port]),
  ]);
  try {
    await retrying.request({ path: '/warm' });
    const s = await retrying.request({ path: '/post', body: [Buffer.from('payload')] });
    assert.equal(s.status, 200);
    assert.equal(s.body, 'fresh /post');
    assert.equal(retrying.counter('cluster.c.upstream_rq_retry'), 1);
  } finally {
    retrying.close();
    await up.close();
  }
});

test('an upstream that answers garbage: 502 with UPE and the protocol error reset reason', async () => {
  const up = await rawUpstream((socket) => socket.write('HTTP/1.1 2x0 what\r\n\r\n'));
  const h = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])]);
  try {
    const s = await h.request();
    assert.equal(s.status, 502);
    assert.equal(
      s.body,
      'upstream connect error or disconnect/reset before headers. reset reason: protocol error',
    );
    assert.equal(s.flags(), 'UPE');
    assert.equal(h.counter('cluster.c.upstream_cx_protocol_error'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('an upstream reset after the response started resets the downstream stream with UPE (a response cut short)', async () => {
  const up = await rawUpstream((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n${'x'.repeat(100)}`);
    setImmediate(() => socket.resetAndDestroy());
  });
  const h = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])]);
  try {
    const s = await h.request();
    assert.equal(s.responseHeaders?.get(':status'), '200');
    assert.equal(s.bodyBytes().length, 100);
    assert.equal(s.ended, false);
    assert.equal(s.reset?.details, 'upstream_reset_after_response_started{protocol_error}');
    assert.equal(s.flags(), 'UPE');
    assert.equal(h.counter('http.ingress.rq_reset_after_downstream_response_started'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('a downstream that goes away: DC, and the upstream request is reset', async () => {
  let arrived!: () => void;
  const requestArrived = new Promise<void>((r) => {
    arrived = r;
  });
  const up = await httpUpstream(() => arrived());
  const h = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])]);
  try {
    const { filter, stream, headers } = h.newStream();
    filter.decodeHeaders(headers, true);
    await within(requestArrived, 'the request at the upstream');
    filter.onDestroy();
    assert.equal(stream.flags(), 'DC');
    assert.equal(h.counter('cluster.c.upstream_rq_tx_reset'), 1);
    await waitFor(
      () => up.sockets.size === 0 || [...up.sockets].every((s) => s.destroyed),
      'the upstream connection to close',
    );
  } finally {
    h.close();
    await up.close();
  }
});

test('x-envoy-* control headers are honoured only on internal requests, and never forwarded', async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  let requests = 0;
  const up = await httpUpstream((req, res) => {
    seen.push(req.headers);
    requests++;
    if (req.url === '/flaky' && requests % 2 === 1) {
      res.statusCode = 503;
      res.end('flaky');
      return;
    }
    if (req.url === '/slow') {
      setTimeout(() => res.end('slow'), 150);
      return;
    }
    res.end('ok');
  });
  const h = new RouterHarness(routeAll('c', { timeout: seconds(2000) }), [staticCluster('c', [up.port])]);
  const control: Array<[string, string]> = [
    ['x-envoy-upstream-rq-timeout-ms', '50'],
    ['x-envoy-retry-on', '5xx'],
    ['x-envoy-max-retries', '1'],
  ];
  try {
    // External: the timeout header is ignored (the upstream's 150 ms fit the route's 2 s).
    const external = await h.request({ path: '/slow', headers: control });
    assert.equal(external.status, 200);
    // Internal: its 50 ms apply.
    const internal = await h.request({ path: '/slow', headers: control, internal: true });
    assert.equal(internal.status, 504);
    assert.equal(internal.flags(), 'UT');
    for (const headers of seen) {
      for (const [name] of control) assert.equal(headers[name], undefined, `${name} was forwarded`);
    }
    assert.equal(seen[0]?.['x-envoy-expected-rq-timeout-ms'], '2000');
    assert.equal(seen[1]?.['x-envoy-expected-rq-timeout-ms'], '50');

    // Retries: an external request's x-envoy-retry-on does nothing; an internal one's retries.
    requests = 0;
    const ext = await h.request({ path: '/flaky', headers: control });
    assert.equal(ext.status, 503);
    requests = 0;
    const int = await h.request({ path: '/flaky', headers: control, internal: true });
    assert.equal(int.status, 200);
    assert.equal(h.counter('cluster.c.upstream_rq_retry'), 1);
  } finally {
    h.close();
    await up.close();
  }
});

test('a request body over the buffer limit gives up retrying: retry_or_shadow_abandoned, the 503 passes through', async () => {
  const up = await httpUpstream((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = 503;
      res.end('no');
    });
  });
  const h = new RouterHarness(routeAll('c', { retry_policy: { retry_on: '5xx' } }), [
    staticCluster('c', [up.port]),
  ]);
  try {
    const s = await h.request({ body: [Buffer.alloc(1024), Buffer.alloc(1024)], bufferLimit: 1500 });
    assert.equal(s.status, 503);
    assert.equal(s.body, 'no');
    assert.equal(h.counter('cluster.c.retry_or_shadow_abandoned'), 1);
    assert.equal(h.counter('cluster.c.upstream_rq_retry'), 0);
  } finally {
    h.close();
    await up.close();
  }
});

test('suppress_envoy_headers: no x-envoy-upstream-service-time and no x-envoy-expected-rq-timeout-ms', async () => {
  const seen: http.IncomingHttpHeaders[] = [];
  const up = await echoUpstream(seen);
  const h = new RouterHarness(routeAll('c'), [staticCluster('c', [up.port])], { suppressEnvoyHeaders: true });
  try {
    const s = await h.request();
    assert.equal(s.status, 200);
    assert.equal(s.header('x-envoy-upstream-service-time'), undefined);
    assert.equal(seen[0]?.['x-envoy-expected-rq-timeout-ms'], undefined);
  } finally {
    h.close();
    await up.close();
  }
});
