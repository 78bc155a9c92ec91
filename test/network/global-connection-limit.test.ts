/**
 * The global downstream connection limit: two connection handlers (two workers) share one
 * count of open sockets, and `overload.global_downstream_max_connections` from each one's
 * runtime caps it. Past the cap a new connection is closed at once and counted in
 * `listener.<address>.downstream_global_cx_overflow`; a closed connection frees its place;
 * a listener with `ignore_global_conn_limit` accepts anyway while its sockets still count;
 * no key means no limit. Real sockets on 127.0.0.1, real echo filters, bounded waits.
 * Envoy counterpart: test/integration/overload_integration_test.cc (global connection
 * limit), test/common/network/listener_impl_test.cc (rejectCxOverGlobalLimit).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import { compiledInNetworkFilters } from '../../src/exe/extensions.ts';
import {
  ConnectionHandler,
  createAcceptedSocketCount,
  GLOBAL_MAX_CX_RUNTIME_KEY,
} from '../../src/network/connection-handler.ts';
import type { ListenerData } from '../../src/network/listener-config.ts';
import { entryFromText } from '../../src/runtime/entry.ts';
import { ThreadLocalRuntime } from '../../src/runtime/thread-local-runtime.ts';
import type { NetworkFilterContext } from '../../src/server/filter-context.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';

const BOUND_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BOUND_MS);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function echoListener(port: number, ignoreGlobalConnLimit = false): ListenerData {
  return {
    name: `echo_${port}`,
    statPrefix: `127.0.0.1_${port}`,
    address: { host: '127.0.0.1', port },
    filterChains: [
      {
        name: 'echo',
        match: { destinationPort: undefined, prefixRanges: [], sourcePorts: [] },
        filters: [{ name: 'echo', extension: 'envoy.filters.network.echo', config: {} }],
      },
    ],
    defaultFilterChain: undefined,
    bufferLimitBytes: 1024 * 1024,
    bindToPort: true,
    backlog: 128,
    ignoreGlobalConnLimit,
  };
}

/** One "worker": its own dispatcher, stats, runtime and handler, sharing `count` with the others. */
async function startWorker(
  t: TestContext,
  index: number,
  count: SharedArrayBuffer,
  listeners: ListenerData[],
  limit: string | undefined,
) {
  const dispatcher = new DispatcherImpl(`worker_${index}`, realBackend());
  const stats = new ThreadStats(() => {}, { immediate: true });
  const runtime = new ThreadLocalRuntime();
  if (limit !== undefined)
    runtime.update({ version: 1, values: new Map([[GLOBAL_MAX_CX_RUNTIME_KEY, entryFromText(limit)]]) });
  const filters = new Map(compiledInNetworkFilters.map((r) => [r.name, r]));
  const context = { dispatcher, scope: stats, workerIndex: index } as unknown as NetworkFilterContext;
  const handler = new ConnectionHandler(
    dispatcher,
    stats,
    index,
    (f) => {
      const filter = filters.get(f.extension);
      if (filter === undefined) throw new Error(`no data path for ${f.extension}`);
      return filter.createFilterFactory(f.config, context);
    },
    { runtime, acceptedSockets: new Int32Array(count) },
  );
  t.after(() => {
    handler.shutdown();
    dispatcher.exit();
  });
  handler.setListeners(listeners);
  const failures = await within(
    new Promise<unknown[]>((resolve) => handler.startListeners(resolve)),
    'listeners to start',
  );
  assert.deepEqual(failures, []);
  return { handler, counter: (name: string) => stats.counter(name).value() };
}

/** Connects, sends `ping`, and resolves with what came back before the server closed or echoed. */
function exchange(t: TestContext, port: number): Promise<{ socket: net.Socket; echoed: boolean }> {
  return within(
    new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      t.after(() => socket.destroy());
      socket.on('error', () => {}); // a reset shows as 'close'
      socket.once('connect', () => socket.write('ping'));
      socket.once('data', (d: Buffer) => resolve({ socket, echoed: d.toString() === 'ping' }));
      socket.once('close', () => resolve({ socket, echoed: false }));
    }),
    `an exchange on port ${port}`,
  );
}

describe('global downstream connection limit', () => {
  test('the cap holds across workers; a closed connection frees its place', async (t) => {
    const count = createAcceptedSocketCount();
    const cells = new Int32Array(count);
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await startWorker(t, 0, count, [echoListener(portA)], '1');
    const b = await startWorker(t, 1, count, [echoListener(portB)], '1');

    const first = await exchange(t, portA);
    assert.equal(first.echoed, true, 'the first connection is served');
    assert.equal(Atomics.load(cells, 0), 1);

    const second = await exchange(t, portB);
    assert.equal(second.echoed, false, 'the second, on the other worker, is closed at once');
    assert.equal(b.counter(`listener.127.0.0.1_${portB}.downstream_global_cx_overflow`), 1);
    assert.equal(
      b.counter(`listener.127.0.0.1_${portB}.downstream_cx_total`),
      0,
      'never counted as accepted',
    );
    assert.equal(Atomics.load(cells, 0), 1);

    first.socket.destroy();
    await until(() => a.handler.numConnections() === 0, 'the first connection to close');
    assert.equal(Atomics.load(cells, 0), 0);
    const third = await exchange(t, portB);
    assert.equal(third.echoed, true, 'with the place free, the next connection is served');
    assert.equal(a.counter(`listener.127.0.0.1_${portA}.downstream_global_cx_overflow`), 0);
  });

  test('a listener with ignore_global_conn_limit accepts past the cap, and its sockets count', async (t) => {
    const count = createAcceptedSocketCount();
    const [limited, exempt] = [await freePort(), await freePort()];
    await startWorker(t, 0, count, [echoListener(limited), echoListener(exempt, true)], '1');
    assert.equal((await exchange(t, exempt)).echoed, true);
    assert.equal((await exchange(t, exempt)).echoed, true, 'past the cap, still accepted');
    assert.equal(Atomics.load(new Int32Array(count), 0), 2);
    assert.equal(
      (await exchange(t, limited)).echoed,
      false,
      'the exempt sockets fill the cap for the others',
    );
  });

  test('without the runtime key there is no limit', async (t) => {
    const count = createAcceptedSocketCount();
    const port = await freePort();
    await startWorker(t, 0, count, [echoListener(port)], undefined);
    for (let i = 0; i < 3; i++) assert.equal((await exchange(t, port)).echoed, true);
  });
});
