/**
 * STRICT_DNS discovery against a real DNS server (dns2 on 127.0.0.1) through c-ares and
 * the TCP resolver, on the real event loop with short refresh rates: the host set follows
 * the answers, TTLs, failures, time-outs, NXDOMAIN and V4_PREFERRED's fallback. Waits are
 * bounded polls ("within N s"), never timing asserts; the exact schedule is proven on
 * simulated time in dns-refresh.test.ts. Envoy counterpart:
 * test/extensions/clusters/strict_dns/strict_dns_cluster_test.cc.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DispatcherImpl, realBackend } from '../../../src/event/dispatcher.ts';
import { caresConfig, eventually, startDiscovery, TestDnsServer } from './helpers.ts';

let server: TestDnsServer;
let dispatcher: DispatcherImpl;

before(async () => {
  server = await TestDnsServer.start();
  dispatcher = new DispatcherImpl('main_thread', realBackend());
});

after(async () => {
  dispatcher.exit();
  await server.close();
});

/** A STRICT_DNS cluster over `names` (ports 8000, 8001, ...) refreshing every 100 ms. */
function strictCluster(
  names: readonly string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name: 'strict',
    connect_timeout: '1s',
    type: 'STRICT_DNS',
    dns_lookup_family: 'V4_ONLY',
    dns_refresh_rate: '0.1s',
    typed_dns_resolver_config: caresConfig(server.port),
    load_assignment: {
      cluster_name: 'strict',
      endpoints: [
        {
          lb_endpoints: names.map((n, i) => ({
            endpoint: { address: { socket_address: { address: n, port_value: 8000 + i } } },
          })),
        },
      ],
    },
    ...extra,
  };
}

describe('STRICT_DNS against a real DNS server', () => {
  test('initialize waits for the first answers; every address becomes a host with its endpoint port and name', async (t) => {
    server.answer('two.test', { a: ['10.0.0.1', '10.0.0.2'] });
    server.answer('one.test', { a: ['10.0.0.3'] });
    const s = await startDiscovery(t, dispatcher, strictCluster(['two.test', 'one.test']));
    assert.deepEqual(
      s.discovery.hosts().map((h) => [h.address, h.port, h.hostname]),
      [
        ['10.0.0.1', 8000, 'two.test'],
        ['10.0.0.2', 8000, 'two.test'],
        ['10.0.0.3', 8001, 'one.test'],
      ],
    );
  });

  test('the host set follows a changed answer at the next refresh', async (t) => {
    server.answer('moving.test', { a: ['10.0.1.1', '10.0.1.2'] });
    const s = await startDiscovery(t, dispatcher, strictCluster(['moving.test']));
    server.answer('moving.test', { a: ['10.0.1.2', '10.0.1.3'] });
    await eventually(() => s.addresses().includes('10.0.1.3'), 'the new answer is picked up');
    assert.deepEqual([...s.addresses()].sort(), ['10.0.1.2', '10.0.1.3']);
    assert.deepEqual(
      s.changes
        .at(-1)
        ?.map((h) => h.address)
        .sort(),
      ['10.0.1.2', '10.0.1.3'],
    );
  });

  test('with respect_dns_ttl a 1 s TTL re-resolves long before a 1 h dns_refresh_rate', async (t) => {
    server.answer('ttl.test', { a: ['10.0.2.1'], ttl: 1 });
    const s = await startDiscovery(
      t,
      dispatcher,
      strictCluster(['ttl.test'], { dns_refresh_rate: '3600s', respect_dns_ttl: true }),
    );
    server.answer('ttl.test', { a: ['10.0.2.2'], ttl: 1 });
    await eventually(() => s.addresses()[0] === '10.0.2.2', 'the answer after the TTL is used');
  });

  test('a failed lookup keeps the last hosts, and a later answer is picked up again', async (t) => {
    server.answer('flaky.test', { a: ['10.0.3.1'] });
    const s = await startDiscovery(
      t,
      dispatcher,
      strictCluster(['flaky.test'], {
        dns_failure_refresh_rate: { base_interval: '0.05s', max_interval: '0.1s' },
      }),
    );
    const before = server.count('flaky.test');
    server.fail('flaky.test', 'SERVFAIL');
    await eventually(() => server.count('flaky.test') >= before + 3, 'three failed lookups');
    assert.deepEqual(s.addresses(), ['10.0.3.1']);
    assert.equal(s.changes.length, 0, 'no change reported');
    server.answer('flaky.test', { a: ['10.0.3.2'] });
    await eventually(() => s.addresses()[0] === '10.0.3.2', 'the answer after the failures is used');
  });

  test('a name server that does not answer: the first lookup times out, initialize completes with no hosts, a later answer adds them', async (t) => {
    server.silence('mute.test');
    const s = await startDiscovery(t, dispatcher, strictCluster(['mute.test']));
    assert.deepEqual(s.discovery.hosts(), []);
    server.answer('mute.test', { a: ['10.0.4.1'] });
    await eventually(() => s.addresses()[0] === '10.0.4.1', 'the first answer after the time-outs');
  });

  test('NXDOMAIN is an answer: the name loses its hosts', async (t) => {
    server.answer('gone.test', { a: ['10.0.5.1'] });
    const s = await startDiscovery(t, dispatcher, strictCluster(['gone.test']));
    server.fail('gone.test', 'NXDOMAIN');
    await eventually(() => s.discovery.hosts().length === 0, 'the hosts are removed');
  });

  test('V4_PREFERRED falls back to AAAA when the name has no A record', async (t) => {
    server.answer('v6.test', { aaaa: ['2001:db8::6'] });
    const s = await startDiscovery(
      t,
      dispatcher,
      strictCluster(['v6.test'], { dns_lookup_family: 'V4_PREFERRED' }),
    );
    assert.deepEqual(s.addresses(), ['2001:db8::6']);
    assert.deepEqual(
      server.queries
        .filter((q) => q.name === 'v6.test')
        .map((q) => q.type)
        .slice(0, 2),
      ['A', 'AAAA'],
    );
  });

  test('use_tcp_for_dns_lookups sends every query over TCP', async (t) => {
    server.answer('tcp.test', { a: ['10.0.6.1', '10.0.6.2'] });
    const tcp = caresConfig(server.port, { dns_resolver_options: { use_tcp_for_dns_lookups: true } });
    const s = await startDiscovery(
      t,
      dispatcher,
      strictCluster(['tcp.test'], { typed_dns_resolver_config: tcp }),
    );
    assert.deepEqual(s.addresses(), ['10.0.6.1', '10.0.6.2']);
    server.answer('tcp.test', { a: ['10.0.6.3'] });
    await eventually(() => s.addresses()[0] === '10.0.6.3', 'the changed answer over TCP');
    const transports = new Set(server.queries.filter((q) => q.name === 'tcp.test').map((q) => q.transport));
    assert.deepEqual([...transports], ['tcp']);
  });

  test('the deprecated dns_resolvers field points the cluster at its name server too', async (t) => {
    server.answer('legacy.test', { a: ['10.0.7.1'] });
    const cluster = strictCluster(['legacy.test'], {
      dns_resolvers: [{ socket_address: { address: '127.0.0.1', port_value: server.port } }],
    });
    delete cluster['typed_dns_resolver_config'];
    const s = await startDiscovery(t, dispatcher, cluster);
    assert.deepEqual(s.addresses(), ['10.0.7.1']);
  });
});
