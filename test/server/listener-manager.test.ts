/**
 * ListenerManager: static listeners from a bootstrap loaded by `loadConfig` with the
 * compiled-in extensions become the data every worker binds (names, stat prefixes, filter
 * chains, Envoy's defaults); a listener whose filter has no data path is refused with its
 * path; port 0 becomes one concrete free port. Envoy counterpart:
 * test/common/listener_manager/listener_manager_impl_test.cc.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { formatPath } from '../../src/config/errors.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type { ProtoMessage, ResolvedExtension } from '../../src/config/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';
import type { ListenerData } from '../../src/network/listener-config.ts';
import { ListenerManager, listenerStatPrefix } from '../../src/server/listener-manager.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';
import type { MainToWorker } from '../../src/thread-local/messages.ts';
import { ThreadLocalInstance } from '../../src/thread-local/thread-local.ts';

const ECHO = 'envoy.filters.network.echo';
const ECHO_FILTER = `{ name: echo, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo } }`;
const ONLY_ECHO_RUNS = (extension: string): boolean => extension === ECHO;

interface Loaded {
  readonly bootstrap: ProtoMessage;
  readonly extensions: ReadonlyMap<ProtoMessage, ResolvedExtension>;
}

function load(yaml: string): Loaded {
  const r = loadConfig({ configYaml: yaml }, { registry: new ExtensionRegistry(compiledInExtensions) });
  assert.deepEqual(r.errors, [], 'the test config loads');
  return { bootstrap: r.message ?? assert.fail('no message'), extensions: r.extensions };
}

function manager(tls = new ThreadLocalInstance()): { lm: ListenerManager; stats: ThreadStats } {
  const stats = new ThreadStats(() => {}, { immediate: true });
  return { lm: new ListenerManager(stats, tls.allocateSlot('listeners')), stats };
}

function listenersYaml(...listeners: string[]): string {
  return `static_resources:\n  listeners:\n${listeners.map((l) => `  - ${l.trim().replaceAll('\n', '\n    ')}\n`).join('')}`;
}

function echoListener(fields: string, port = 10000, host = '127.0.0.1'): string {
  return `
${fields}
address: { socket_address: { address: "${host}", port_value: ${port} } }
filter_chains: [ { filters: [ ${ECHO_FILTER} ] } ]`;
}

function only(lm: ListenerManager): ListenerData {
  const all = lm.listeners();
  assert.equal(all.length, 1);
  return all[0] ?? assert.fail('no listener');
}

describe('listenerStatPrefix', () => {
  test("IPv4 address and port join with '_': 127.0.0.1:10000 -> 127.0.0.1_10000", () => {
    assert.equal(listenerStatPrefix('127.0.0.1', 10000), '127.0.0.1_10000');
  });

  test("IPv6 addresses are bracketed and every ':' becomes '_': ::1 -> [__1]_10000", () => {
    assert.equal(listenerStatPrefix('::1', 10000), '[__1]_10000');
    assert.equal(listenerStatPrefix('::', 0), '[__]_0');
  });
});

describe('ListenerManager.addStaticListeners', () => {
  test("an echo listener becomes data with its name, address stat prefix, one chain with the echo filter and Envoy's defaults", () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: echo_listener')));
    const { lm, stats } = manager();
    assert.deepEqual(lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS), []);
    const l = only(lm);
    assert.equal(l.name, 'echo_listener');
    assert.equal(l.statPrefix, '127.0.0.1_10000');
    assert.deepEqual(l.address, { host: '127.0.0.1', port: 10000 });
    assert.equal(l.filterChains.length, 1);
    const chain = l.filterChains[0] ?? assert.fail('no chain');
    assert.equal(chain.name, 'chain_0', 'an unnamed chain is named by its index');
    assert.deepEqual(chain.match, { destinationPort: undefined, prefixRanges: [], sourcePorts: [] });
    assert.deepEqual(
      chain.filters.map((f) => [f.name, f.extension]),
      [['echo', ECHO]],
    );
    assert.equal(l.defaultFilterChain, undefined);
    assert.equal(l.bufferLimitBytes, 1024 * 1024, 'per_connection_buffer_limit_bytes defaults to 1 MiB');
    assert.equal(l.backlog, 128, 'tcp_backlog_size defaults to 128');
    assert.equal(l.bindToPort, true, 'bind_to_port defaults to true');
    assert.equal(stats.counter('listener_manager.listener_added').value(), 1);
  });

  test('the data is structured-cloneable, as it must be to cross to the workers', () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: l')));
    const { lm } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    assert.deepEqual(structuredClone(lm.listeners()), lm.listeners());
  });

  test('explicit buffer limit, backlog and bind_to_port are taken from the config', () => {
    const { bootstrap, extensions } = load(
      listenersYaml(
        echoListener(
          'name: l\nper_connection_buffer_limit_bytes: 32768\ntcp_backlog_size: 7\nbind_to_port: false',
        ),
      ),
    );
    const { lm } = manager();
    assert.deepEqual(lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS), []);
    const l = only(lm);
    assert.equal(l.bufferLimitBytes, 32768);
    assert.equal(l.backlog, 7);
    assert.equal(l.bindToPort, false);
  });

  test('an unnamed listener gets a generated name, different for each listener', () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('', 10000), echoListener('', 10001)));
    const { lm } = manager();
    assert.deepEqual(lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS), []);
    const [a, b] = lm.listeners();
    assert.ok(a !== undefined && b !== undefined);
    assert.ok(a.name.length > 0 && b.name.length > 0);
    assert.notEqual(a.name, b.name);
    assert.equal(a.statPrefix, '127.0.0.1_10000', 'the stat prefix is still the address');
  });

  test('stat_prefix wins over the address', () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: l\nstat_prefix: ingress')));
    const { lm } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    assert.equal(only(lm).statPrefix, 'ingress');
  });

  test('an IPv6 listener has the bracketed stat prefix', () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: l6', 10000, '::1')));
    const { lm } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    assert.equal(only(lm).statPrefix, '[__1]_10000');
  });

  test('filter chain matches and a default filter chain are carried over', () => {
    const { bootstrap, extensions } = load(
      listenersYaml(`
name: l
address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
filter_chains:
- name: exact
  filter_chain_match: { destination_port: 10000, prefix_ranges: [ { address_prefix: 10.0.0.0, prefix_len: 8 } ], source_ports: [ 5000 ] }
  filters: [ ${ECHO_FILTER} ]
default_filter_chain: { name: fallback, filters: [ ${ECHO_FILTER} ] }`),
    );
    const { lm } = manager();
    assert.deepEqual(lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS), []);
    const l = only(lm);
    assert.deepEqual(l.filterChains[0]?.match, {
      destinationPort: 10000,
      prefixRanges: [['10.0.0.0', 8]],
      sourcePorts: [5000],
    });
    assert.equal(l.defaultFilterChain?.name, 'fallback');
    assert.deepEqual(
      l.defaultFilterChain?.filters.map((f) => f.extension),
      [ECHO],
    );
  });

  test('a listener whose filter has no data path (tcp_proxy) is refused with an error naming the filter path', () => {
    const { bootstrap, extensions } = load(`
static_resources:
  clusters:
  - name: backend
    type: STATIC
    load_assignment:
      cluster_name: backend
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9000 } } } } ] } ]
  listeners:
  - name: ok
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains: [ { filters: [ ${ECHO_FILTER} ] } ]
  - name: proxy
    address: { socket_address: { address: 127.0.0.1, port_value: 10001 } }
    filter_chains:
    - filters: [ ${ECHO_FILTER} ]
    - filter_chain_match: { destination_port: 10001 }
      filters:
      - name: tcp
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: tcp
          cluster: backend
`);
    const { lm, stats } = manager();
    const errors = lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    assert.equal(errors.length, 1);
    const e = errors[0] ?? assert.fail('no error');
    assert.equal(formatPath(e.step), 'static_resources.listeners[1].filter_chains[1].filters[0]');
    assert.match(e.message, /envoy\.filters\.network\.tcp_proxy/);
    assert.match(e.message, /no data path/);
    assert.deepEqual(
      lm.listeners().map((l) => l.name),
      ['ok'],
      'only the refused listener is left out',
    );
    assert.equal(stats.counter('listener_manager.listener_added').value(), 1);
  });
});

describe('ListenerManager.resolveEphemeralPorts', () => {
  test('port 0 becomes a real free port on the same host, and the address stat prefix follows it', async () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: l', 0)));
    const { lm } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    assert.equal(only(lm).statPrefix, '127.0.0.1_0');
    await lm.resolveEphemeralPorts();
    const l = only(lm);
    if ('pipe' in l.address) assert.fail('a socket address stays a socket address');
    assert.equal(l.address.host, '127.0.0.1');
    assert.ok(l.address.port > 0 && l.address.port < 65536, `a real port: ${l.address.port}`);
    assert.equal(l.statPrefix, `127.0.0.1_${l.address.port}`);
    // The port is free: we can bind it ourselves.
    const probe = net.createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host: '127.0.0.1', port: (l.address as { port: number }).port }, resolve);
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  test('a fixed port, and a port-0 listener that does not bind, are left as they are', async () => {
    const { bootstrap, extensions } = load(
      listenersYaml(
        echoListener('name: fixed', 10000),
        echoListener('name: unbound\nbind_to_port: false', 0),
      ),
    );
    const { lm } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    const before = structuredClone(lm.listeners());
    await lm.resolveEphemeralPorts();
    assert.deepEqual(lm.listeners(), before);
  });

  test('an explicit stat_prefix is kept when port 0 is resolved', async () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: l\nstat_prefix: ingress', 0)));
    const { lm } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    await lm.resolveEphemeralPorts();
    assert.equal(only(lm).statPrefix, 'ingress');
  });

  test('an explicit stat_prefix that happens to end in _0 is kept when port 0 is resolved', {}, async () => {
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: l\nstat_prefix: shard_0', 0)));
    const { lm } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    await lm.resolveEphemeralPorts();
    assert.equal(only(lm).statPrefix, 'shard_0');
  });
});

describe('ListenerManager distribution and stats', () => {
  test('distribute posts the listener data to every worker through the listeners slot; done runs once all acked', () => {
    const tls = new ThreadLocalInstance();
    const sent: MainToWorker[] = [];
    tls.registerWorker({ index: 0, send: (m) => sent.push(m) });
    const { lm } = manager(tls);
    const { bootstrap, extensions } = load(listenersYaml(echoListener('name: l')));
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    let done = 0;
    lm.distribute(() => done++);
    const m = sent[0];
    if (m?.type !== 'tls.update') assert.fail('a tls.update was sent');
    assert.equal(m.slot, 'listeners');
    assert.deepEqual(m.data, lm.listeners());
    assert.equal(done, 0);
    tls.onApplied(0, m.seq);
    assert.equal(done, 1);
  });

  test('worker start reports count create success and failure per bound listener; all started sets the gauges', () => {
    const { bootstrap, extensions } = load(
      listenersYaml(
        echoListener('name: a', 10000),
        echoListener('name: b', 10001),
        echoListener('name: c\nbind_to_port: false', 10002),
      ),
    );
    const { lm, stats } = manager();
    lm.addStaticListeners(bootstrap, extensions, ONLY_ECHO_RUNS);
    lm.onWorkerStarted([]);
    lm.onWorkerStarted([{ listener: 'b', error: 'EADDRINUSE' }]);
    assert.equal(stats.counter('listener_manager.listener_create_success').value(), 3);
    assert.equal(stats.counter('listener_manager.listener_create_failure').value(), 1);
    lm.onAllWorkersStarted();
    assert.equal(stats.gauge('listener_manager.workers_started').value(), 1);
    assert.equal(stats.gauge('listener_manager.total_listeners_active').value(), 3);
    lm.onDrainStarted();
    assert.equal(stats.gauge('listener_manager.total_listeners_active').value(), 0);
  });
});
