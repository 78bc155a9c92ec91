/**
 * ConnectionHandler on the test thread with a real dispatcher and real sockets: an echo
 * listener echoes bytes and half-closes, listener stats count connections with Envoy's
 * names, filter chains are matched as Envoy matches them (exact destination port, longest
 * destination prefix, source port, default chain), and drain / shutdown stop accepting and
 * close. A test-only network filter (`test.tag`) answers with its chain's tag so each
 * matching test can see which chain served it. Every wait is bounded. Envoy counterpart:
 * test/server/connection_handler_test.cc, filter_chain_manager_impl_test.cc.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import { compiledInExtensions, compiledInNetworkFilters } from '../../src/exe/extensions.ts';
import { ConnectionHandler } from '../../src/network/connection-handler.ts';
import type {
  FilterChainData,
  FilterChainMatchData,
  ListenerData,
} from '../../src/network/listener-config.ts';
import type { ReadFilterCallbacks } from '../../src/network/types.ts';
import type { NetworkFilterContext, NetworkFilterRuntime } from '../../src/server/filter-context.ts';
import { ListenerManager } from '../../src/server/listener-manager.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';
import { ThreadLocalInstance } from '../../src/thread-local/thread-local.ts';

const ECHO = 'envoy.filters.network.echo';
const TAG = 'test.tag';
/** Upper bound on any single wait; a hang fails the test instead of stalling the run. */
const BOUND_MS = 5000;

/** Writes its config's `tag` on a new connection and half-closes: tells the client which chain served it. */
const tagRuntime: NetworkFilterRuntime = {
  name: TAG,
  createFilterFactory: (config) => {
    const tag = Buffer.from(String((config as { tag: string }).tag));
    return (filterManager) => {
      let callbacks: ReadFilterCallbacks | undefined;
      filterManager.addReadFilter({
        initializeReadFilterCallbacks: (cb) => {
          callbacks = cb;
        },
        onNewConnection: () => {
          callbacks?.connection().write(tag, true);
          return 'Continue';
        },
        onData: () => 'StopIteration',
      });
    };
  },
};

/** Rejects if `p` has not settled within BOUND_MS. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BOUND_MS);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

/** Polls `cond` on the event loop until it holds (bounded): for server-side effects of a client action. */
function until(cond: () => boolean, what: string): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (cond()) resolve();
        else setTimeout(check, 2);
      };
      check();
    }),
    what,
  );
}

/** A port free right now on 127.0.0.1 (bound to 0, then closed). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (typeof address !== 'object' || address === null) assert.fail('no port');
  return address.port;
}

function chain(
  name: string,
  filters: FilterChainData['filters'],
  match: Partial<FilterChainMatchData> = {},
): FilterChainData {
  return {
    name,
    match: { destinationPort: undefined, prefixRanges: [], sourcePorts: [], ...match },
    filters,
  };
}

function echoChain(name = 'echo', match: Partial<FilterChainMatchData> = {}): FilterChainData {
  return chain(name, [{ name: 'echo', extension: ECHO, config: {} }], match);
}

function tagChain(tag: string, match: Partial<FilterChainMatchData> = {}): FilterChainData {
  return chain(tag, [{ name: 'tag', extension: TAG, config: { tag } }], match);
}

function listenerData(
  port: number,
  filterChains: FilterChainData[],
  defaultFilterChain?: FilterChainData,
  name = 'test_listener',
): ListenerData {
  return {
    name,
    statPrefix: `127.0.0.1_${port}`,
    address: { host: '127.0.0.1', port },
    filterChains,
    defaultFilterChain,
    bufferLimitBytes: 1024 * 1024,
    bindToPort: true,
    backlog: 128,
  };
}

interface Harness {
  readonly handler: ConnectionHandler;
  readonly stats: ThreadStats;
  counter(name: string): number;
  gauge(name: string): number;
  /** Connects a client (closed after the test); rejects with the socket error (ECONNREFUSED...). */
  connect(port: number, options?: { localPort?: number; allowHalfOpen?: boolean }): Promise<net.Socket>;
}

/** A handler on worker_0 with the given listeners started; everything it and its clients hold is released after the test. */
async function startHandler(
  t: TestContext,
  listeners: readonly ListenerData[],
): Promise<Harness & { failures: Array<{ listener: string; error: string }> }> {
  const dispatcher = new DispatcherImpl('worker_0', realBackend());
  const stats = new ThreadStats(() => {}, { immediate: true });
  const runtimes = new Map([...compiledInNetworkFilters, tagRuntime].map((r) => [r.name, r]));
  // Echo and the tag filter use nothing from the context but the dispatcher and stats.
  const context = { dispatcher, scope: stats, workerIndex: 0 } as unknown as NetworkFilterContext;
  const handler = new ConnectionHandler(dispatcher, stats, 0, (f) => {
    const runtime = runtimes.get(f.extension);
    if (runtime === undefined) throw new Error(`no runtime for ${f.extension}`);
    return runtime.createFilterFactory(f.config, context);
  });
  const clients: net.Socket[] = [];
  t.after(() => {
    for (const c of clients) c.destroy();
    handler.shutdown();
    dispatcher.exit();
  });
  handler.setListeners(listeners);
  const failures = await within(
    new Promise<Array<{ listener: string; error: string }>>((resolve) => handler.startListeners(resolve)),
    'listeners to start',
  );
  return {
    handler,
    stats,
    failures,
    counter: (name) => stats.counter(name).value(),
    gauge: (name) => stats.gauge(name).value(),
    connect: (port, options = {}) =>
      within(
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port, ...options });
          clients.push(socket);
          socket.once('error', reject);
          socket.once('connect', () => {
            socket.off('error', reject);
            resolve(socket);
          });
        }),
        `a connection to port ${port}`,
      ),
  };
}

/** Everything the server sends until it closes, and whether it half-closed first ('end'). */
function readToClose(socket: net.Socket): Promise<{ data: string; ended: boolean }> {
  return within(
    new Promise((resolve) => {
      let data = '';
      let ended = false;
      socket.on('data', (chunk: Buffer) => {
        data += chunk.toString();
      });
      socket.on('end', () => {
        ended = true;
      });
      socket.on('error', () => {}); // a reset shows as 'close' below
      socket.on('close', () => resolve({ data, ended }));
    }),
    'the server to close the connection',
  );
}

/** The next `length` bytes the server sends. */
function readBytes(socket: net.Socket, length: number): Promise<string> {
  return within(
    new Promise((resolve) => {
      let data = '';
      const onData = (chunk: Buffer): void => {
        data += chunk.toString();
        if (data.length >= length) {
          socket.off('data', onData);
          resolve(data);
        }
      };
      socket.on('data', onData);
    }),
    `${length} bytes from the server`,
  );
}

/** Which chain served a connection: the tag the `test.tag` filter sent. */
async function servedBy(h: Harness, port: number, options?: { localPort?: number }): Promise<string> {
  const socket = await h.connect(port, options);
  const { data } = await readToClose(socket);
  return data;
}

describe('ConnectionHandler with an echo listener', () => {
  test('bytes sent are echoed back on the same connection', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [listenerData(port, [echoChain()])]);
    assert.deepEqual(h.failures, []);
    const socket = await h.connect(port);
    const first = readBytes(socket, 4);
    socket.write('ping');
    assert.equal(await first, 'ping');
    const second = readBytes(socket, 11);
    socket.write('hello world');
    assert.equal(await second, 'hello world');
  });

  test("a client half-close is echoed as a half-close: the client gets its bytes, then 'end'", async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [listenerData(port, [echoChain()])]);
    // allowHalfOpen: the client does not close on the server's FIN by itself, so 'end' is the server's half-close.
    const socket = await h.connect(port, { allowHalfOpen: true });
    const result = readToClose(socket);
    socket.end('last words');
    assert.deepEqual(await result, { data: 'last words', ended: true });
  });

  test('downstream_cx_total counts per listener and per worker; active returns to 0 and destroy is 1 after the client closes', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [listenerData(port, [echoChain()])]);
    const prefix = `listener.127.0.0.1_${port}.`;
    const socket = await h.connect(port);
    const echoed = readBytes(socket, 1);
    socket.write('x');
    await echoed; // the server has accepted and served it
    assert.equal(h.counter(`${prefix}downstream_cx_total`), 1);
    assert.equal(h.counter(`${prefix}worker_0.downstream_cx_total`), 1);
    assert.equal(h.gauge(`${prefix}downstream_cx_active`), 1);
    assert.equal(h.gauge(`${prefix}worker_0.downstream_cx_active`), 1);
    assert.equal(h.counter(`${prefix}downstream_cx_destroy`), 0);
    assert.equal(h.handler.numConnections(), 1);

    socket.destroy();
    await until(() => h.handler.numConnections() === 0, 'the server to see the close');
    assert.equal(h.gauge(`${prefix}downstream_cx_active`), 0);
    assert.equal(h.gauge(`${prefix}worker_0.downstream_cx_active`), 0);
    assert.equal(h.counter(`${prefix}downstream_cx_destroy`), 1);
    assert.equal(h.counter(`${prefix}downstream_cx_total`), 1);
  });

  test('an echo listener from a bootstrap (loadConfig, ListenerManager, port 0 resolved) serves end to end', async (t) => {
    const loaded = loadConfig(
      {
        configYaml: `
static_resources:
  listeners:
  - name: echo
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: echo
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo }
`,
      },
      { registry: new ExtensionRegistry(compiledInExtensions) },
    );
    assert.deepEqual(loaded.errors, []);
    const lm = new ListenerManager(
      new ThreadStats(() => {}, { immediate: true }),
      new ThreadLocalInstance().allocateSlot('listeners'),
    );
    assert.deepEqual(
      lm.addStaticListeners(loaded.message ?? {}, loaded.extensions, (e) => e === ECHO),
      [],
    );
    await lm.resolveEphemeralPorts();
    const data = lm.listeners()[0] ?? assert.fail('no listener');
    if ('pipe' in data.address) assert.fail('a socket listener');
    const port = data.address.port;
    // The data crosses to a worker by structured clone; serve the clone.
    const h = await startHandler(t, structuredClone(lm.listeners()));
    assert.deepEqual(h.failures, []);
    const socket = await h.connect(port);
    const result = readToClose(socket);
    socket.end('through the bootstrap');
    assert.deepEqual(await result, { data: 'through the bootstrap', ended: true });
    assert.equal(h.counter(`listener.127.0.0.1_${port}.downstream_cx_total`), 1);
  });

  test('a filter chain with no filters closes the connection it accepted', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [listenerData(port, [chain('empty', [])])]);
    const socket = await h.connect(port);
    assert.equal((await readToClose(socket)).data, '');
    await until(() => h.handler.numConnections() === 0, 'the connection to be gone');
    assert.equal(h.counter(`listener.127.0.0.1_${port}.downstream_cx_destroy`), 1);
  });

  test('a listener that cannot bind is reported by name and the other listeners still serve', async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    t.after(() => blocker.close());
    const taken = (blocker.address() as net.AddressInfo).port;
    const port = await freePort();
    const h = await startHandler(t, [
      listenerData(taken, [echoChain()], undefined, 'blocked'),
      listenerData(port, [echoChain()], undefined, 'free'),
    ]);
    assert.equal(h.failures.length, 1);
    assert.equal(h.failures[0]?.listener, 'blocked');
    assert.match(h.failures[0]?.error ?? '', /EADDRINUSE/);
    const socket = await h.connect(port);
    const result = readToClose(socket);
    socket.end('ok');
    assert.equal((await result).data, 'ok');
  });
});

describe('ConnectionHandler filter chain matching', () => {
  test('a chain with the exact destination port wins over one without a port, whatever their order', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [
      listenerData(port, [tagChain('any-port'), tagChain('exact-port', { destinationPort: port })]),
    ]);
    assert.equal(await servedBy(h, port), 'exact-port');
  });

  test('a chain for another destination port is skipped for the chain without a port', async (t) => {
    const port = await freePort();
    const other = port === 65535 ? port - 1 : port + 1;
    const h = await startHandler(t, [
      listenerData(port, [tagChain('other-port', { destinationPort: other }), tagChain('any-port')]),
    ]);
    assert.equal(await servedBy(h, port), 'any-port');
  });

  test('a chain whose prefix range does not hold 127.0.0.1 is skipped in favour of the default chain', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [
      listenerData(port, [tagChain('ten', { prefixRanges: [['10.0.0.0', 8]] })], tagChain('default')),
    ]);
    assert.equal(await servedBy(h, port), 'default');
    assert.equal(h.counter(`listener.127.0.0.1_${port}.no_filter_chain_match`), 0);
  });

  test('the longest matching destination prefix wins', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [
      listenerData(port, [
        tagChain('wide', { prefixRanges: [['127.0.0.0', 8]] }),
        tagChain('narrow', { prefixRanges: [['127.0.0.1', 32]] }),
        tagChain('any-ip'),
      ]),
    ]);
    assert.equal(await servedBy(h, port), 'narrow');
  });

  test('an exact source port wins over a chain without source ports', async (t) => {
    const port = await freePort();
    const sourcePort = await freePort();
    const h = await startHandler(t, [
      listenerData(port, [tagChain('any-source'), tagChain('from-source', { sourcePorts: [sourcePort] })]),
    ]);
    assert.equal(await servedBy(h, port, { localPort: sourcePort }), 'from-source');
  });

  test('with an exact-port chain that does not match the address, the default chain serves (no fall back to port-less chains, as Envoy)', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [
      listenerData(
        port,
        [
          tagChain('exact-port-ten', { destinationPort: port, prefixRanges: [['10.0.0.0', 8]] }),
          tagChain('any-port'),
        ],
        tagChain('default'),
      ),
    ]);
    assert.equal(await servedBy(h, port), 'default');
  });

  test('no matching chain and no default: the connection is closed unserved and no_filter_chain_match counted', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [
      listenerData(port, [tagChain('ten', { prefixRanges: [['10.0.0.0', 8]] })]),
    ]);
    const prefix = `listener.127.0.0.1_${port}.`;
    assert.equal(await servedBy(h, port), '');
    assert.equal(h.counter(`${prefix}no_filter_chain_match`), 1);
    assert.equal(
      h.counter(`${prefix}downstream_cx_total`),
      0,
      'a refused connection is not a downstream connection',
    );
    assert.equal(h.handler.numConnections(), 0);
  });
});

describe('ConnectionHandler drain and shutdown', () => {
  test('startDrain stops accepting and calls onDrained once, when the last open connection closes', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [listenerData(port, [echoChain()])]);
    const open = await h.connect(port);
    const echoed = readBytes(open, 2);
    open.write('hi');
    await echoed;
    let drained = 0;
    const drainedOnce = new Promise<void>((resolve) =>
      h.handler.startDrain(() => {
        drained++;
        resolve();
      }),
    );
    assert.equal(drained, 0, 'a connection is still open');
    await assert.rejects(h.connect(port), { code: 'ECONNREFUSED' });
    // The open connection still works while draining.
    const result = readToClose(open);
    open.end('bye');
    assert.deepEqual(await result, { data: 'bye', ended: true });
    await within(drainedOnce, 'onDrained');
    assert.equal(drained, 1);
    assert.equal(h.handler.numConnections(), 0);
  });

  test('startDrain with no open connection calls onDrained at once', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [listenerData(port, [echoChain()])]);
    let drained = 0;
    h.handler.startDrain(() => drained++);
    assert.equal(drained, 1);
    await assert.rejects(h.connect(port), { code: 'ECONNREFUSED' });
  });

  test('shutdown closes every connection and listener at once', async (t) => {
    const port = await freePort();
    const h = await startHandler(t, [listenerData(port, [echoChain()])]);
    const a = await h.connect(port);
    const b = await h.connect(port);
    await until(() => h.handler.numConnections() === 2, 'both connections accepted');
    const closedA = readToClose(a);
    const closedB = readToClose(b);
    h.handler.shutdown();
    await closedA;
    await closedB;
    await assert.rejects(h.connect(port), { code: 'ECONNREFUSED' });
    await until(() => h.handler.numConnections() === 0, 'the server side to close');
    const prefix = `listener.127.0.0.1_${port}.`;
    assert.equal(h.gauge(`${prefix}downstream_cx_active`), 0);
    assert.equal(h.counter(`${prefix}downstream_cx_destroy`), 2);
  });
});
