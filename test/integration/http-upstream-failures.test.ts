/**
 * The router's failure behaviour end to end: one real legate process in front of loopback
 * upstreams that misbehave on purpose (refuse, stall, answer 503, close before or in the
 * middle of a response, send garbage, close a kept-alive connection as a request arrives).
 * Each case checks what the client gets (status and Envoy's exact local-reply body, or a
 * reset), the `%RESPONSE_FLAGS%` / `%RESPONSE_CODE_DETAILS%` a file access log records, and
 * the cluster and HTTP stats the admin's /stats shows.
 *
 * One worker (`--concurrency 1`) so each cluster's connection pool is the only one and the
 * circuit-breaker cases are exact. Every case uses its own cluster so its stats are its own.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, freePort, type Legate, startLegate, stat } from './harness.ts';

// --- Upstreams

interface Upstream {
  readonly port: number;
  /** Requests (heads) received, in order. */
  readonly heads: string[];
  /** Connections accepted, and closed by the peer (legate) or by us. */
  accepted: number;
  closed: number;
  close(): Promise<void>;
}

/**
 * A raw TCP upstream: `onRequest(socket, head, index)` runs for each request head received
 * (requests here have no body); `index` counts the requests on that connection from 0.
 */
async function rawUpstream(
  onRequest: (socket: net.Socket, head: string, index: number) => void,
): Promise<Upstream> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    up.accepted++;
    let buffered = '';
    let index = 0;
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        up.heads.push(head);
        onRequest(socket, head, index++);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      up.closed++;
    });
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const up: Upstream = {
    port: (server.address() as net.AddressInfo).port,
    heads: [],
    accepted: 0,
    closed: 0,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  return up;
}

/** A node:http upstream answering every request with `respond`. */
async function httpUpstream(
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    up.heads.push(`${req.method} ${req.url}\r\n${JSON.stringify(req.headers)}`);
    req.resume();
    req.on('end', () => respond(req, res));
  });
  server.on('connection', (s: net.Socket) => {
    up.accepted++;
    s.on('close', () => up.closed++);
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const up: Upstream = {
    port: (server.address() as net.AddressInfo).port,
    heads: [],
    accepted: 0,
    closed: 0,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return up;
}

const OK_RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

// --- The proxy's configuration

interface ClusterSpec {
  readonly name: string;
  /** Ports of its endpoints (127.0.0.1). */
  readonly ports: readonly number[];
  /** Extra cluster fields (YAML lines indented by 4). */
  readonly extra?: string;
  /** `health_status` of every endpoint. */
  readonly health?: string;
}

interface RouteSpec {
  readonly prefix: string;
  /** The `route:` action's fields as a flow mapping body, e.g. `cluster: x, timeout: 1s`. */
  readonly route: string;
}

function clusterYaml(c: ClusterSpec): string {
  const endpoints = c.ports
    .map(
      (p) =>
        `{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${p} } } }${
          c.health === undefined ? '' : `, health_status: ${c.health}`
        } }`,
    )
    .join(', ');
  return `  - name: ${c.name}
    connect_timeout: 2s
    load_assignment:
      cluster_name: ${c.name}
      endpoints: [{ lb_endpoints: [${endpoints}] }]
${c.extra ?? ''}`;
}

function config(
  port: number,
  logPath: string,
  routes: readonly RouteSpec[],
  clusters: readonly ClusterSpec[],
): string {
  const format =
    '[%REQ(X-TEST-ID)%] %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %UPSTREAM_TRANSPORT_FAILURE_REASON%\n';
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
          stat_prefix: ingress
          use_remote_address: true
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${logPath}
              log_format: { text_format_source: { inline_string: ${JSON.stringify(format)} } }
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { path: /direct }
                direct_response: { status: 200, body: { inline_string: "direct" } }
${routes.map((r) => `              - match: { prefix: ${r.prefix} }\n                route: { ${r.route} }`).join('\n')}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
${clusters.map(clusterYaml).join('\n')}
`;
}

// --- Clients

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on its own connection (or `agent`); rejects when the response does not complete. */
function request(
  port: number,
  urlPath: string,
  options: { id: string; headers?: Record<string, string>; method?: string; agent?: http.Agent },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        headers: { 'x-test-id': options.id, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
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
    req.end();
  });
}

/** A raw client: sends `GET path` with `x-test-id`, collects every byte until the proxy closes. */
function rawExchange(port: number, urlPath: string, id: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => {});
    socket.on('connect', () =>
      socket.write(`GET ${urlPath} HTTP/1.1\r\nhost: x\r\nx-test-id: ${id}\r\n\r\n`),
    );
  });
}

/** Starts a request and returns a function that destroys its connection (the downstream gives up). */
function abandonable(port: number, urlPath: string, id: string): { abandon(): void; closed: Promise<void> } {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.on('connect', () => socket.write(`GET ${urlPath} HTTP/1.1\r\nhost: x\r\nx-test-id: ${id}\r\n\r\n`));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  return { abandon: () => socket.destroy(), closed };
}

// --- Fixture: every upstream and the one proxy in front of them

const UPSTREAM_CONNECT_ERROR = 'upstream connect error or disconnect/reset before headers. ';

let legate: Legate;
let port: number;
let logDir: string;
let logPath: string;
const ups: Record<string, Upstream> = {};
/** The stalled overflow upstream's held responses. */
const held: http.ServerResponse[] = [];

before(async () => {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-flags-'));
  logPath = path.join(logDir, 'access.log');
  const ok = (name: string) =>
    httpUpstream((_req, res) => {
      res.setHeader('x-upstream', name);
      res.end(name);
    });
  const busy = (name: string) =>
    httpUpstream((_req, res) => {
      res.statusCode = 503;
      res.setHeader('x-upstream', name);
      res.end(`busy ${name}`);
    });
  const stall = () => rawUpstream(() => {});
  Object.assign(ups, {
    ok: await ok('ok'),
    busyA: await busy('a'),
    busyB: await busy('b'),
    good: await ok('good'),
    echo: await httpUpstream((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.headers));
    }),
    held: await httpUpstream((_req, res) => {
      held.push(res);
    }),
    stallRoute: await stall(),
    stallTry: await stall(),
    stallHdr: await stall(),
    stallDc: await stall(),
    midBody: await rawUpstream((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789');
      setTimeout(() => socket.destroy(), 100);
    }),
    beforeHeaders: await rawUpstream((socket) => socket.end()),
    garbage: await rawUpstream((socket) => socket.write('SPDY/9 what\r\n\r\n')),
    // Serves the first request of each connection; closes the connection when another arrives
    // (it closed the idle connection just as legate sent the next request on it).
    raceNext: await rawUpstream((socket, _head, index) => {
      if (index === 0) socket.write(OK_RESPONSE);
      else socket.destroy();
    }),
    raceNextPost: await rawUpstream((socket, _head, index) => {
      if (index === 0) socket.write(OK_RESPONSE);
      else socket.destroy();
    }),
    // Closes every connection right after its first response, without `connection: close`.
    raceFin: await rawUpstream((socket) => {
      socket.write(OK_RESPONSE);
      socket.end();
    }),
  });
  const refused = await freePort();
  port = await freePort();
  const routes: RouteSpec[] = [
    { prefix: '/uh/empty', route: 'cluster: empty' },
    { prefix: '/uh/unhealthy', route: 'cluster: unhealthy' },
    { prefix: '/uh/panic', route: 'cluster: panic' },
    {
      prefix: '/uf/retry',
      route: 'cluster: refused_retry, retry_policy: { retry_on: connect-failure, num_retries: 1 }',
    },
    { prefix: '/uf', route: 'cluster: refused' },
    { prefix: '/uo-timeout', route: 'cluster: breaker, timeout: 0.2s' },
    { prefix: '/uo', route: 'cluster: breaker' },
    {
      prefix: '/retry-overflow',
      route: 'cluster: no_retry_budget, retry_policy: { retry_on: 5xx, num_retries: 2 }',
    },
    { prefix: '/ut/route', route: 'cluster: stall_route, timeout: 0.3s' },
    {
      prefix: '/ut/per-try',
      route:
        'cluster: stall_try, timeout: 5s, retry_policy: { retry_on: 5xx, num_retries: 1, per_try_timeout: 0.2s }',
    },
    { prefix: '/ut/header', route: 'cluster: stall_hdr, timeout: 10s' },
    { prefix: '/urx', route: 'cluster: busy, retry_policy: { retry_on: 5xx, num_retries: 2 }' },
    { prefix: '/busy', route: 'cluster: busy_plain' },
    {
      prefix: '/hash/avoid',
      route:
        'cluster: pair, hash_policy: [{ header: { header_name: x-key } }], retry_policy: { retry_on: 5xx, num_retries: 1, host_selection_retry_max_attempts: 100, retry_host_predicate: [{ name: envoy.retry_host_predicates.previous_hosts, typed_config: { "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate } }] }',
    },
    {
      prefix: '/hash/same',
      route:
        'cluster: pair_same, hash_policy: [{ header: { header_name: x-key } }], retry_policy: { retry_on: 5xx, num_retries: 1 }',
    },
    { prefix: '/uc/mid-body', route: 'cluster: mid_body' },
    { prefix: '/uc/before-headers', route: 'cluster: before_headers' },
    { prefix: '/upe', route: 'cluster: garbage' },
    { prefix: '/dc', route: 'cluster: stall_dc' },
    { prefix: '/race/next', route: 'cluster: race_next' },
    { prefix: '/race/post', route: 'cluster: race_next_post' },
    { prefix: '/race/fin', route: 'cluster: race_fin' },
    { prefix: '/echo', route: 'cluster: echo, timeout: 0.4s' },
  ];
  const ringHash = '    lb_policy: RING_HASH\n';
  const clusters: ClusterSpec[] = [
    { name: 'empty', ports: [] },
    {
      name: 'unhealthy',
      ports: [ups.ok!.port],
      health: 'UNHEALTHY',
      extra: '    common_lb_config: { healthy_panic_threshold: { value: 0 } }\n',
    },
    { name: 'panic', ports: [ups.ok!.port], health: 'UNHEALTHY' },
    { name: 'refused', ports: [refused] },
    { name: 'refused_retry', ports: [refused] },
    {
      name: 'breaker',
      ports: [ups.held!.port],
      extra: '    circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] }\n',
    },
    {
      name: 'no_retry_budget',
      ports: [ups.busyA!.port],
      extra: '    circuit_breakers: { thresholds: [{ max_retries: 0 }] }\n',
    },
    { name: 'stall_route', ports: [ups.stallRoute!.port] },
    { name: 'stall_try', ports: [ups.stallTry!.port] },
    { name: 'stall_hdr', ports: [ups.stallHdr!.port] },
    { name: 'busy', ports: [ups.busyA!.port, ups.busyB!.port] },
    { name: 'busy_plain', ports: [ups.busyA!.port] },
    { name: 'pair', ports: [ups.busyA!.port, ups.good!.port], extra: ringHash },
    { name: 'pair_same', ports: [ups.busyA!.port, ups.good!.port], extra: ringHash },
    { name: 'mid_body', ports: [ups.midBody!.port] },
    { name: 'before_headers', ports: [ups.beforeHeaders!.port] },
    { name: 'garbage', ports: [ups.garbage!.port] },
    { name: 'stall_dc', ports: [ups.stallDc!.port] },
    { name: 'race_next', ports: [ups.raceNext!.port] },
    { name: 'race_next_post', ports: [ups.raceNextPost!.port] },
    { name: 'race_fin', ports: [ups.raceFin!.port] },
    { name: 'echo', ports: [ups.echo!.port] },
  ];
  legate = await startLegate(config(port, logPath, routes, clusters), ['--concurrency', '1']);
});

after(async () => {
  for (const res of held.splice(0)) res.destroy();
  await legate?.stop();
  await Promise.all(Object.values(ups).map((u) => u.close()));
  fs.rmSync(logDir, { recursive: true, force: true });
});

/** The access-log line of request `id`: `{ code, flags, details, transport }`. */
async function logged(
  id: string,
): Promise<{ code: string; flags: string; details: string; transport: string }> {
  const find = (): string | undefined => {
    if (!fs.existsSync(logPath)) return undefined;
    return fs
      .readFileSync(logPath, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`[${id}] `));
  };
  assert.ok(await eventually(async () => find() !== undefined, 5000), `no access-log line for ${id}`);
  const [, code, flags, details, ...transport] = find()!.split(' ');
  return { code: code!, flags: flags!, details: details!, transport: transport.join(' ') };
}

const cluster = (name: string, s: string): Promise<number | undefined> =>
  stat(legate.admin, `cluster.${name}.${s}`);

// --- The cases

test('UH: a cluster with no hosts, or only unhealthy ones (no panic), answers 503 "no healthy upstream"', async () => {
  for (const [id, p, name] of [
    ['uh-empty', '/uh/empty', 'empty'],
    ['uh-unhealthy', '/uh/unhealthy', 'unhealthy'],
  ] as const) {
    const r = await request(port, p, { id });
    assert.equal(r.status, 503);
    assert.equal(r.body, 'no healthy upstream');
    assert.deepEqual(await logged(id), {
      code: '503',
      flags: 'UH',
      details: 'no_healthy_upstream',
      transport: '-',
    });
    assert.equal(await cluster(name, 'upstream_cx_none_healthy'), 1);
    assert.equal((await cluster(name, 'upstream_rq_total')) ?? 0, 0);
  }
  // With the default 50% panic threshold, all-unhealthy means panic: every host is used.
  const panic = await request(port, '/uh/panic', { id: 'uh-panic' });
  assert.equal(panic.status, 200);
  assert.equal(panic.body, 'ok');
  assert.equal((await logged('uh-panic')).flags, '-');
  assert.equal(await cluster('panic', 'lb_healthy_panic'), 1);
});

test('UF: a refused connection is 503 with the transport failure reason; retried, it says so', async () => {
  const r = await request(port, '/uf', { id: 'uf' });
  assert.equal(r.status, 503);
  assert.equal(
    r.body,
    `${UPSTREAM_CONNECT_ERROR}reset reason: connection failure, transport failure reason: delayed connect error: 111`,
  );
  assert.deepEqual(await logged('uf'), {
    code: '503',
    flags: 'UF',
    details: 'upstream_reset_before_response_started{connection_failure|delayed_connect_error:_111}',
    transport: 'delayed_connect_error:_111',
  });
  assert.equal(await cluster('refused', 'upstream_cx_connect_fail'), 1);
  assert.equal(await cluster('refused', 'upstream_rq_pending_failure_eject'), 1);

  const retried = await request(port, '/uf/retry', { id: 'uf-retry' });
  assert.equal(retried.status, 503);
  assert.equal(
    retried.body,
    `${UPSTREAM_CONNECT_ERROR}retried and the latest reset reason: connection failure, transport failure reason: delayed connect error: 111`,
  );
  assert.equal((await logged('uf-retry')).flags, 'UF,URX');
  assert.equal(await cluster('refused_retry', 'upstream_cx_connect_fail'), 2);
  assert.equal(await cluster('refused_retry', 'upstream_rq_retry'), 1);
  assert.equal(await cluster('refused_retry', 'upstream_rq_retry_limit_exceeded'), 1);
});

test('UO: with the only connection stalled and the pending queue full, a request overflows; a pending one the client abandons is cancelled (DC)', async () => {
  const first = request(port, '/uo/1', { id: 'uo-1' });
  assert.ok(await eventually(async () => held.length === 1));
  // The second request waits for the connection (max_connections 1): it is the one pending request.
  const second = abandonable(port, '/uo/2', 'uo-2');
  assert.ok(await eventually(async () => (await cluster('breaker', 'upstream_rq_pending_active')) === 1));
  assert.equal(await cluster('breaker', 'upstream_cx_overflow'), 1);

  const third = await request(port, '/uo/3', { id: 'uo-3' });
  assert.equal(third.status, 503);
  assert.equal(third.body, `${UPSTREAM_CONNECT_ERROR}reset reason: overflow`);
  assert.equal(third.headers['x-envoy-overloaded'], 'true');
  assert.deepEqual(await logged('uo-3'), {
    code: '503',
    flags: 'UO',
    details: 'upstream_reset_before_response_started{overflow}',
    transport: '-',
  });
  assert.equal(await cluster('breaker', 'upstream_rq_pending_overflow'), 1);

  // The client gives up on the pending request: it leaves the queue, never reaching the upstream.
  second.abandon();
  await second.closed;
  assert.ok(await eventually(async () => (await cluster('breaker', 'upstream_rq_cancelled')) === 1));
  assert.deepEqual(await logged('uo-2'), {
    code: '0',
    flags: 'DC',
    details: 'downstream_remote_disconnect',
    transport: '-',
  });
  assert.equal(await cluster('breaker', 'upstream_rq_pending_active'), 0);

  // A queued request whose route timeout passes is withdrawn from the queue: 504 UT.
  const queuedTimeout = await request(port, '/uo-timeout', { id: 'uo-timeout' });
  assert.equal(queuedTimeout.status, 504);
  assert.equal(queuedTimeout.body, 'upstream request timeout');
  assert.equal((await logged('uo-timeout')).flags, 'UT');
  assert.equal(await cluster('breaker', 'upstream_rq_cancelled'), 2);
  assert.equal(await cluster('breaker', 'upstream_rq_timeout'), 1);
  assert.equal(await cluster('breaker', 'upstream_rq_pending_active'), 0);

  // A new request queues again and is served on the same connection once the first completes.
  const fourth = request(port, '/uo/4', { id: 'uo-4' });
  assert.ok(await eventually(async () => (await cluster('breaker', 'upstream_rq_pending_active')) === 1));
  held.shift()!.end('first');
  assert.equal((await first).body, 'first');
  assert.ok(await eventually(async () => held.length === 1));
  held.shift()!.end('fourth');
  assert.equal((await fourth).status, 200);
  assert.equal(await cluster('breaker', 'upstream_cx_total'), 1);
  assert.equal(await cluster('breaker', 'upstream_rq_total'), 2);
  assert.equal(ups.held!.heads.length, 2);
});

test('UO: no retry budget (max_retries 0) passes the upstream 503 on with UO', async () => {
  const r = await request(port, '/retry-overflow', { id: 'retry-overflow' });
  assert.equal(r.status, 503);
  assert.equal(r.body, 'busy a');
  assert.deepEqual(await logged('retry-overflow'), {
    code: '503',
    flags: 'UO',
    details: 'via_upstream',
    transport: '-',
  });
  assert.equal(await cluster('no_retry_budget', 'upstream_rq_retry_overflow'), 1);
  assert.equal((await cluster('no_retry_budget', 'upstream_rq_retry')) ?? 0, 0);
});

test('UT: the route timeout against a stalled upstream is 504 "upstream request timeout"; so is the per-try timeout', async () => {
  const r = await request(port, '/ut/route', { id: 'ut-route' });
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
  assert.deepEqual(await logged('ut-route'), {
    code: '504',
    flags: 'UT',
    details: 'upstream_response_timeout',
    transport: '-',
  });
  assert.equal(await cluster('stall_route', 'upstream_rq_timeout'), 1);
  assert.equal(await cluster('stall_route', 'upstream_rq_504'), 1);
  // The upstream was told how long it had, and the abandoned request's connection was closed.
  assert.match(ups.stallRoute!.heads[0]!, /\r\nx-envoy-expected-rq-timeout-ms: 300\r\n/);
  assert.ok(await eventually(async () => ups.stallRoute!.closed === 1));
  assert.equal(await cluster('stall_route', 'upstream_rq_tx_reset'), 1);

  // 0.2 s per try, one retry (5xx retries timeouts): both tries time out.
  const t = await request(port, '/ut/per-try', { id: 'ut-per-try' });
  assert.equal(t.status, 504);
  assert.equal(t.body, 'upstream request timeout');
  assert.deepEqual(await logged('ut-per-try'), {
    code: '504',
    flags: 'UT,URX',
    details: 'upstream_per_try_timeout',
    transport: '-',
  });
  assert.equal(await cluster('stall_try', 'upstream_rq_per_try_timeout'), 2);
  assert.equal(await cluster('stall_try', 'upstream_rq_retry'), 1);
  assert.equal((await cluster('stall_try', 'upstream_rq_timeout')) ?? 0, 0);
  assert.equal(ups.stallTry!.heads.length, 2);
  for (const head of ups.stallTry!.heads) assert.match(head, /\r\nx-envoy-expected-rq-timeout-ms: 200\r\n/);
});

test('URX: retries on 5xx run out and the last upstream 503 is passed on', async () => {
  const before = ups.busyA!.heads.length + ups.busyB!.heads.length;
  const r = await request(port, '/urx', { id: 'urx' });
  assert.equal(r.status, 503);
  assert.match(r.body, /^busy [ab]$/);
  assert.deepEqual(await logged('urx'), {
    code: '503',
    flags: 'URX',
    details: 'via_upstream',
    transport: '-',
  });
  assert.equal(ups.busyA!.heads.length + ups.busyB!.heads.length - before, 3);
  assert.equal(await cluster('busy', 'upstream_rq_retry'), 2);
  assert.equal(await cluster('busy', 'upstream_rq_retry_limit_exceeded'), 1);
  assert.equal((await cluster('busy', 'upstream_rq_retry_success')) ?? 0, 0);
  // The retried responses count under `retry.`, the one passed on as itself.
  assert.equal(await cluster('busy', 'retry.upstream_rq_503'), 2);
  assert.equal(await cluster('busy', 'upstream_rq_503'), 1);
});

test('previous_hosts: a retry avoids the host that failed and succeeds on the other one', async () => {
  // With a header hash every attempt lands on one host; previous_hosts moves the retry off it.
  const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`);
  const busyBefore = ups.busyA!.heads.length;
  for (const key of keys) {
    const r = await request(port, '/hash/avoid', { id: `avoid-${key}`, headers: { 'x-key': key } });
    assert.equal(r.status, 200, key);
    assert.equal(r.body, 'good');
  }
  const failedFirst = ups.busyA!.heads.length - busyBefore;
  assert.ok(failedFirst > 0, 'some key hashes to the failing host');
  assert.equal(await cluster('pair', 'upstream_rq_retry'), failedFirst);
  assert.equal(await cluster('pair', 'upstream_rq_retry_success'), failedFirst);

  // The same keys without the predicate: the retry goes back to the same failing host.
  let failed = 0;
  for (const key of keys) {
    const r = await request(port, '/hash/same', { id: `same-${key}`, headers: { 'x-key': key } });
    if (r.status === 503) {
      failed++;
      assert.equal((await logged(`same-${key}`)).flags, 'URX');
    }
  }
  assert.equal(failed, failedFirst);
});

test('UPE: an upstream that closes in the middle of the body resets the downstream (no complete response)', async () => {
  const got = await rawExchange(port, '/uc/mid-body', 'mid-body');
  assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(got, /\r\ncontent-length: 100\r\n/);
  const body = got.slice(got.indexOf('\r\n\r\n') + 4);
  assert.equal(body, '0123456789');
  // Envoy's HTTP/1 codec sees the end of a framed message cut short as a protocol error.
  assert.deepEqual(await logged('mid-body'), {
    code: '200',
    flags: 'UPE',
    details: 'upstream_reset_after_response_started{protocol_error}',
    transport: '-',
  });
  assert.equal(await cluster('mid_body', 'upstream_cx_protocol_error'), 1);
  assert.equal(await stat(legate.admin, 'http.ingress.rq_reset_after_downstream_response_started'), 1);
});

test('UC: an upstream that closes before any response byte is 503 "connection termination"', async () => {
  const r = await request(port, '/uc/before-headers', { id: 'before-headers' });
  assert.equal(r.status, 503);
  assert.equal(r.body, `${UPSTREAM_CONNECT_ERROR}reset reason: connection termination`);
  assert.deepEqual(await logged('before-headers'), {
    code: '503',
    flags: 'UC',
    details: 'upstream_reset_before_response_started{connection_termination}',
    transport: '-',
  });
  assert.equal(await cluster('before_headers', 'upstream_cx_destroy_remote_with_active_rq'), 1);
  assert.equal(ups.beforeHeaders!.heads.length, 1);
});

test('UPE: a response that is not HTTP is 502 "protocol error"', async () => {
  const r = await request(port, '/upe', { id: 'upe' });
  assert.equal(r.status, 502);
  assert.equal(r.body, `${UPSTREAM_CONNECT_ERROR}reset reason: protocol error`);
  assert.deepEqual(await logged('upe'), {
    code: '502',
    flags: 'UPE',
    details: 'upstream_reset_before_response_started{protocol_error}',
    transport: '-',
  });
  assert.equal(await cluster('garbage', 'upstream_cx_protocol_error'), 1);
});

test('DC: the client closing before the response cancels the upstream request', async () => {
  const r = abandonable(port, '/dc', 'dc');
  assert.ok(await eventually(async () => ups.stallDc!.heads.length === 1));
  r.abandon();
  assert.deepEqual(await logged('dc'), {
    code: '0',
    flags: 'DC',
    details: 'downstream_remote_disconnect',
    transport: '-',
  });
  // HTTP/1 cancels a request by closing its connection.
  assert.ok(await eventually(async () => ups.stallDc!.closed === 1));
  assert.equal(await cluster('stall_dc', 'upstream_rq_tx_reset'), 1);
  assert.equal(await cluster('stall_dc', 'upstream_cx_destroy_local_with_active_rq'), 1);
  assert.ok(((await stat(legate.admin, 'http.ingress.downstream_cx_destroy_remote_active_rq')) ?? 0) >= 1);
});

test('LR: a direct response carries no flag, and none of the failures above is LR', async () => {
  // Envoy sets LR only for an upstream stream reset with a local-reset reason, which an HTTP/1
  // upstream never reports: Envoy's own per-try timeout is UT, its overflow UO, a connect
  // timeout UF (each asserted exactly above). A direct response is no failure at all.
  const r = await request(port, '/direct', { id: 'direct' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'direct');
  assert.deepEqual(await logged('direct'), {
    code: '200',
    flags: '-',
    details: 'direct_response',
    transport: '-',
  });
});

test('keep-alive race: a request sent on a connection the upstream closes as it arrives is sent again on a new one', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await request(port, '/race/next', { id: `race-next-${i}`, agent });
      assert.equal(r.status, 200, `request ${i}`);
      assert.equal(r.body, 'ok');
      assert.equal((await logged(`race-next-${i}`)).flags, '-');
    }
  } finally {
    agent.destroy();
  }
  // Every request after the first went out on the kept connection, lost it, and went again.
  assert.equal(ups.raceNext!.heads.length, 9);
  assert.equal(await cluster('race_next', 'upstream_cx_total'), 5);
  assert.equal(await cluster('race_next', 'upstream_rq_200'), 5);

  // A POST is not idempotent: it is not sent again, the client hears of the lost connection.
  const first = await request(port, '/race/post', { id: 'race-post-0', method: 'POST' });
  assert.equal(first.status, 200);
  const second = await request(port, '/race/post', { id: 'race-post-1', method: 'POST' });
  assert.equal(second.status, 503);
  assert.equal(second.body, `${UPSTREAM_CONNECT_ERROR}reset reason: connection termination`);
  assert.equal((await logged('race-post-1')).flags, 'UC');
  assert.equal(ups.raceNextPost!.heads.length, 2);
});

test('keep-alive race: an upstream that closes each connection after one response (no connection: close)', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 20; i++) {
      const r = await request(port, '/race/fin', { id: `race-fin-${i}`, agent });
      assert.equal(r.status, 200, `request ${i}`);
      assert.equal(r.body, 'ok');
    }
  } finally {
    agent.destroy();
  }
  assert.equal(await cluster('race_fin', 'upstream_rq_200'), 20);
  assert.equal(await cluster('race_fin', 'upstream_cx_total'), 20);
});

test('x-envoy-* control headers: honoured for an internal request, removed from every request', async () => {
  const control = {
    'x-envoy-upstream-rq-timeout-ms': '1234',
    'x-envoy-retry-on': '5xx',
    'x-envoy-max-retries': '1',
  };
  // From 127.0.0.1 with use_remote_address and no x-forwarded-for: internal.
  const internal = await request(port, '/echo', { id: 'echo-internal', headers: control });
  assert.equal(internal.status, 200);
  assert.match(String(internal.headers['x-envoy-upstream-service-time']), /^\d+$/);
  const seen = JSON.parse(internal.body) as Record<string, string>;
  assert.equal(seen['x-envoy-expected-rq-timeout-ms'], '1234');
  assert.equal(seen['x-envoy-internal'], 'true');
  for (const h of Object.keys(control)) assert.equal(seen[h], undefined, h);

  // A client that says it forwards for someone else is not internal.
  const external = await request(port, '/echo', {
    id: 'echo-external',
    headers: { ...control, 'x-forwarded-for': '203.0.113.9' },
  });
  const seenExternal = JSON.parse(external.body) as Record<string, string>;
  assert.equal(seenExternal['x-envoy-expected-rq-timeout-ms'], '400');
  assert.equal(seenExternal['x-envoy-internal'], undefined);
  for (const h of Object.keys(control)) assert.equal(seenExternal[h], undefined, h);

  // The retry headers make an internal request retry where the route has no retry policy...
  const retried = await request(port, '/busy', { id: 'busy-internal', headers: control });
  assert.equal(retried.status, 503);
  assert.equal((await logged('busy-internal')).flags, 'URX');
  assert.equal(await cluster('busy_plain', 'upstream_rq_retry'), 1);
  // ...and do nothing for an external one.
  const once = await request(port, '/busy', {
    id: 'busy-external',
    headers: { ...control, 'x-forwarded-for': '203.0.113.9' },
  });
  assert.equal(once.status, 503);
  assert.equal((await logged('busy-external')).flags, '-');
  assert.equal(await cluster('busy_plain', 'upstream_rq_retry'), 1);

  // The timeout header shortens an internal request's route timeout (10 s) to 150 ms.
  const timedOut = await request(port, '/ut/header', {
    id: 'ut-header',
    headers: { 'x-envoy-upstream-rq-timeout-ms': '150' },
  });
  assert.equal(timedOut.status, 504);
  assert.equal(timedOut.body, 'upstream request timeout');
  assert.equal((await logged('ut-header')).flags, 'UT');
  assert.match(ups.stallHdr!.heads[0]!, /\r\nx-envoy-expected-rq-timeout-ms: 150\r\n/);
  assert.doesNotMatch(ups.stallHdr!.heads[0]!, /x-envoy-upstream-rq-timeout-ms/);

  // A per-try timeout from the headers, with retries from the headers: two tries of 100 ms.
  const perTry = await request(port, '/ut/header', {
    id: 'ut-header-per-try',
    headers: {
      'x-envoy-upstream-rq-per-try-timeout-ms': '100',
      'x-envoy-retry-on': '5xx',
      'x-envoy-max-retries': '1',
    },
  });
  assert.equal(perTry.status, 504);
  assert.deepEqual(await logged('ut-header-per-try'), {
    code: '504',
    flags: 'UT,URX',
    details: 'upstream_per_try_timeout',
    transport: '-',
  });
  assert.equal(await cluster('stall_hdr', 'upstream_rq_per_try_timeout'), 2);
  assert.equal(ups.stallHdr!.heads.length, 3);
  for (const head of ups.stallHdr!.heads.slice(1)) {
    assert.match(head, /\r\nx-envoy-expected-rq-timeout-ms: 100\r\n/);
    assert.doesNotMatch(head, /x-envoy-upstream-rq-per-try-timeout-ms|x-envoy-retry-on|x-envoy-max-retries/);
  }
});
