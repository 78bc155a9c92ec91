/**
 * The HTTP/1 connection pool against real upstream sockets on 127.0.0.1: keep-alive reuse,
 * max_requests_per_connection, refused connects, connect timeout, the pending queue bounded by
 * max_pending_requests and max_connections, the keep-alive race reported as retry-safe, idle
 * connections closed by the upstream or by idle_timeout, resets mid-body, cancellation and
 * host removal. Every wait is bounded; nothing asserts on time.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { before, test } from 'node:test';
import { DispatcherImpl, simulatedBackend } from '../../../src/event/dispatcher.ts';
import { SimulatedTimeSource } from '../../../src/event/time-source.ts';
import { workerConnPools } from '../../../src/http/conn-pool/cluster-pools.ts';
import { ThreadStats } from '../../../src/stats/thread-stats.ts';
import { initHashing } from '../../../src/upstream/load-balancer/hash.ts';
import { ThreadLocalClusterManager } from '../../../src/upstream/thread-local-cluster-manager.ts';
import {
  closedPort,
  hostData,
  httpUpstream,
  RecordingStream,
  rawUpstream,
  requestHeaders,
  response,
  staticCluster,
  TestWorker,
  waitFor,
  within,
} from './helpers.ts';

before(async () => {
  await initHashing();
});

function setup(w: TestWorker, data: ReturnType<typeof staticCluster>) {
  w.cm.update([data]);
  const cluster = w.cm.get(data.name)!;
  const host = cluster.chooseHost(undefined)!;
  return { cluster, host, pool: w.pools.pool(cluster, host, 'default') };
}

/** Sends a bodiless GET through the pool and waits for the outcome. */
async function get(pool: ReturnType<typeof setup>['pool'], path: string): Promise<RecordingStream> {
  const s = new RecordingStream();
  pool.newStream(s, s);
  await within(s.ready, `a stream for ${path}`);
  s.encoder?.encodeHeaders(requestHeaders(path), true);
  await within(s.done, `the response to ${path}`);
  return s;
}

test('two requests one after the other reuse one keep-alive connection', async () => {
  const up = await httpUpstream((req, res) => res.end(`hello ${req.url}`));
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port]));
    const a = await get(pool, '/a');
    const b = await get(pool, '/b');
    assert.equal(a.status, '200');
    assert.equal(a.body, 'hello /a');
    assert.equal(b.body, 'hello /b');
    assert.equal(a.info?.previousStreams, 0);
    assert.equal(b.info?.previousStreams, 1, 'the second request went out on the first one’s connection');
    assert.equal(up.sockets.size, 1);
    assert.equal(w.counter('cluster.c.upstream_cx_total'), 1);
    assert.equal(w.counter('cluster.c.upstream_cx_http1_total'), 1);
    assert.equal(w.counter('cluster.c.upstream_rq_total'), 2);
    assert.equal(w.gauge('cluster.c.upstream_rq_active'), 0);
    assert.deepEqual(pool.connectionCounts(), { ready: 1, busy: 0, connecting: 0, pending: 0 });
  } finally {
    w.close();
    await up.close();
  }
});

test('max_requests_per_connection: a connection closes after its last request and the next one opens anew', async () => {
  const up = await httpUpstream((_req, res) => res.end('ok'));
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port], {}, { maxRequestsPerConnection: 1 }));
    const a = await get(pool, '/a');
    const b = await get(pool, '/b');
    assert.equal(a.info?.previousStreams, 0);
    assert.equal(b.info?.previousStreams, 0, 'a fresh connection');
    assert.equal(w.counter('cluster.c.upstream_cx_total'), 2);
    assert.equal(w.counter('cluster.c.upstream_cx_max_requests'), 2);
    await waitFor(() => w.counter('cluster.c.upstream_cx_destroy') === 2, 'both connections closed');
    assert.equal(w.gauge('cluster.c.upstream_cx_active'), 0);
  } finally {
    w.close();
    await up.close();
  }
});

test('a refused connection fails the request with ConnectionFailure and Envoy’s transport failure reason', async () => {
  const port = await closedPort();
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [port]));
    const s = new RecordingStream();
    assert.notEqual(pool.newStream(s, s), null, 'the request waits for the connection');
    await within(s.done, 'the pool failure');
    assert.deepEqual(s.failure, {
      reason: 'ConnectionFailure',
      transport: `delayed connect error: ${constants.errno.ECONNREFUSED}`,
    });
    assert.equal(w.counter('cluster.c.upstream_cx_connect_fail'), 1);
    assert.equal(w.counter('cluster.c.upstream_rq_pending_failure_eject'), 1);
    assert.equal(w.gauge('cluster.c.upstream_rq_pending_active'), 0);
    assert.equal(pool.hasActiveConnections(), false);
  } finally {
    w.close();
  }
});

test('a connection that is not up within connect_timeout fails the queued requests with Timeout', async () => {
  const up = await httpUpstream((_req, res) => res.end('ok'));
  // Simulated time moves the connect timer before the loop ever sees the socket connect.
  const sim = new SimulatedTimeSource();
  const dispatcher = new DispatcherImpl('worker_0', simulatedBackend(sim));
  const stats = new ThreadStats(() => {}, { immediate: true });
  const cm = new ThreadLocalClusterManager(dispatcher, stats);
  try {
    cm.update([staticCluster('c', [up.port], { connect_timeout: { seconds: 0, nanos: 250_000_000 } })]);
    const cluster = cm.get('c')!;
    const pool = workerConnPools(cm, dispatcher).pool(cluster, cluster.chooseHost(undefined)!, 'default');
    const first = new RecordingStream();
    const second = new RecordingStream();
    pool.newStream(first, first);
    pool.newStream(second, second);
    sim.advanceTimeAndRun(250);
    await within(Promise.all([first.done, second.done]), 'both failures');
    assert.equal(first.failure?.reason, 'Timeout');
    assert.equal(second.failure?.reason, 'Timeout');
    // HTTP/1: one connection was opening for each queued request.
    assert.equal(stats.counter('cluster.c.upstream_cx_connect_timeout').value(), 2);
    await waitFor(
      () => stats.counter('cluster.c.upstream_cx_connect_fail').value() === 2,
      'both connections counted as failed',
    );
  } finally {
    workerConnPools(cm, dispatcher).closeAll();
    dispatcher.exit();
    await up.close();
  }
});

test('max_pending_requests: a request that would queue beyond it fails at once with Overflow', async () => {
  const up = await httpUpstream((_req, res) => res.end('ok'));
  const w = new TestWorker();
  try {
    const { pool } = setup(
      w,
      staticCluster('c', [up.port], { circuit_breakers: { thresholds: [{ max_pending_requests: 1 }] } }),
    );
    const first = new RecordingStream();
    const second = new RecordingStream();
    pool.newStream(first, first);
    assert.equal(pool.newStream(second, second), null);
    assert.deepEqual(second.failure, { reason: 'Overflow', transport: '' });
    assert.equal(w.counter('cluster.c.upstream_rq_pending_overflow'), 1);
    await within(first.ready, 'the first request’s connection');
    first.encoder?.encodeHeaders(requestHeaders('/'), true);
    await within(first.done, 'the first response');
    assert.equal(first.status, '200');
  } finally {
    w.close();
    await up.close();
  }
});

test('max_connections: a second request waits for the busy connection and then reuses it', async () => {
  const up = await httpUpstream((req, res) => res.end(req.url));
  const w = new TestWorker();
  try {
    const { pool } = setup(
      w,
      staticCluster('c', [up.port], { circuit_breakers: { thresholds: [{ max_connections: 1 }] } }),
    );
    const first = new RecordingStream();
    const second = new RecordingStream();
    pool.newStream(first, first);
    pool.newStream(second, second);
    assert.equal(w.counter('cluster.c.upstream_cx_overflow'), 1, 'no second connection');
    await within(first.ready, 'the first stream');
    first.encoder?.encodeHeaders(requestHeaders('/1'), true);
    await within(second.ready, 'the second stream, once the first is done');
    second.encoder?.encodeHeaders(requestHeaders('/2'), true);
    await within(second.done, 'the second response');
    assert.equal(first.body, '/1');
    assert.equal(second.body, '/2');
    assert.equal(second.info?.previousStreams, 1);
    assert.equal(up.sockets.size, 1);
  } finally {
    w.close();
    await up.close();
  }
});

test('the keep-alive race: a reused connection the upstream closes without answering is reported retry-safe', async () => {
  // The upstream answers a connection's first request, then closes as the second arrives,
  // as an upstream whose keep-alive timeout fires while the request is on the wire.
  const up = await rawUpstream((socket, _head, index) => {
    if (index === 0) socket.write(response(200, 'first'));
    else socket.destroy();
  });
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port]));
    const a = await get(pool, '/a');
    assert.equal(a.body, 'first');
    const b = await get(pool, '/b');
    assert.equal(b.info?.previousStreams, 1);
    assert.deepEqual(b.reset, { reason: 'ConnectionTermination', retrySafe: true });
    assert.equal(w.counter('cluster.c.upstream_rq_rx_reset'), 1);
    await waitFor(
      () => w.counter('cluster.c.upstream_cx_destroy_with_active_rq') === 1,
      'the connection to be counted as closed with its request',
    );
  } finally {
    w.close();
    await up.close();
  }
});

test('a fresh connection closed before the response is a connection termination that is not retry-safe', async () => {
  const up = await rawUpstream((socket) => socket.destroy());
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port]));
    const s = await get(pool, '/');
    assert.deepEqual(s.reset, { reason: 'ConnectionTermination', retrySafe: false });
  } finally {
    w.close();
    await up.close();
  }
});

test('an idle connection the upstream closes leaves the pool; the next request opens a new one', async () => {
  const up = await rawUpstream((socket, _head, index) => {
    socket.write(response(200, `r${index}`));
    socket.end();
  });
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port]));
    const a = await get(pool, '/a');
    assert.equal(a.body, 'r0');
    await waitFor(() => pool.connectionCounts().ready === 0, 'the closed connection to leave the pool');
    const b = await get(pool, '/b');
    assert.equal(b.body, 'r0', 'answered on a new connection');
    assert.equal(b.info?.previousStreams, 0);
    assert.equal(w.counter('cluster.c.upstream_cx_destroy_remote') >= 1, true);
  } finally {
    w.close();
    await up.close();
  }
});

test('idle_timeout closes a connection left unused', async () => {
  const up = await httpUpstream((_req, res) => res.end('ok'));
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port], {}, { idleTimeoutMs: 20 }));
    await get(pool, '/');
    await waitFor(() => w.counter('cluster.c.upstream_cx_idle_timeout') === 1, 'the idle timeout');
    await waitFor(() => !pool.hasActiveConnections(), 'the connection to close');
    assert.equal(w.counter('cluster.c.upstream_cx_destroy_local'), 1);
  } finally {
    w.close();
    await up.close();
  }
});

test('an upstream that resets mid-body: headers, part of the body, then a protocol error (a response cut short)', async () => {
  const up = await rawUpstream((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n${'x'.repeat(100)}`);
    setImmediate(() => socket.resetAndDestroy());
  });
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port]));
    const s = await get(pool, '/');
    assert.equal(s.status, '200');
    assert.equal(s.body, 'x'.repeat(100));
    assert.deepEqual(s.reset, { reason: 'ProtocolError', retrySafe: false });
    assert.equal(w.counter('cluster.c.upstream_cx_protocol_error'), 1);
  } finally {
    w.close();
    await up.close();
  }
});

test('a request cancelled while its connection opens is withdrawn; the connection stays for the next one', async () => {
  const up = await httpUpstream((_req, res) => res.end('ok'));
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port]));
    const s = new RecordingStream();
    pool.newStream(s, s)?.cancel();
    assert.equal(w.counter('cluster.c.upstream_rq_cancelled'), 1);
    assert.equal(w.gauge('cluster.c.upstream_rq_pending_active'), 0);
    await waitFor(() => pool.connectionCounts().ready === 1, 'the connection to become idle');
    assert.equal(s.encoder, null, 'the cancelled request heard nothing');
  } finally {
    w.close();
    await up.close();
  }
});

test('the router resetting a stream closes its connection; the next request gets a fresh one', async () => {
  const up = await httpUpstream(() => {
    // Never answers.
  });
  const w = new TestWorker();
  try {
    const { pool } = setup(w, staticCluster('c', [up.port]));
    const s = new RecordingStream();
    pool.newStream(s, s);
    await within(s.ready, 'the stream');
    s.encoder?.encodeHeaders(requestHeaders('/'), true);
    s.encoder?.resetStream('LocalReset');
    assert.equal(w.counter('cluster.c.upstream_rq_tx_reset'), 1);
    assert.equal(w.gauge('cluster.c.upstream_rq_active'), 0);
    await waitFor(() => !pool.hasActiveConnections(), 'the connection to close');
    assert.equal(w.counter('cluster.c.upstream_cx_destroy_local_with_active_rq'), 1);
    assert.equal(s.reset, null, 'a reset the router asked for is not reported back');
  } finally {
    w.close();
    await up.close();
  }
});

test('a host removed from its cluster has its pool drained and forgotten', async () => {
  const up = await httpUpstream((_req, res) => res.end('ok'));
  const other = await httpUpstream((_req, res) => res.end('other'));
  const w = new TestWorker();
  try {
    const data = staticCluster('c', [up.port, other.port]);
    w.cm.update([data]);
    const cluster = w.cm.get('c')!;
    const host = cluster.prioritySet.host(`127.0.0.1:${up.port}`)!;
    const pool = w.pools.pool(cluster, host, 'default');
    await get(pool, '/');
    assert.equal(up.sockets.size, 1);
    w.cm.update([{ ...data, hosts: [hostData(other.port, 1)] }]);
    await waitFor(() => !pool.hasActiveConnections(), 'the drained pool to close its idle connection');
    assert.notEqual(w.pools.pool(cluster, host, 'default'), pool, 'a later request gets a new pool');
  } finally {
    w.close();
    await up.close();
    await other.close();
  }
});
