/**
 * The DNS resolver and its config: `envoy.network.dns_resolver.cares` loading through the
 * real config loader, which resolver settings a cluster or the bootstrap ends up with
 * (Envoy's order of precedence), and the resolvers against a real DNS server (dns2 on
 * 127.0.0.1): TTLs, NXDOMAIN, failing over to the next server, time-outs and close().
 * Envoy counterpart: test/extensions/network/dns_resolver/cares/dns_impl_test.cc and
 * test/common/network/dns_resolver/dns_factory_test.cc.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/bootstrap.ts';
import { messageField, messageList } from '../../../src/config/proto-fields.ts';
import { ExtensionRegistry } from '../../../src/config/registry.ts';
import { DispatcherImpl, realBackend } from '../../../src/event/dispatcher.ts';
import { caresDnsResolverFactory } from '../../../src/extensions/network/dns_resolver/cares/config.ts';
import {
  clusterDnsResolverSettings,
  createDnsResolver,
  DnsQueryError,
  SYSTEM_DNS_RESOLVER,
  serverDnsResolverSettings,
} from '../../../src/upstream/discovery/resolver.ts';
import type { DnsResolverSettings } from '../../../src/upstream/discovery/types.ts';
import { caresConfig, decodeCluster, TestDnsServer } from './helpers.ts';

const CARES_URL = 'type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig';

function bootstrapWith(resolverConfig: Record<string, unknown>): string {
  return JSON.stringify({
    static_resources: {
      clusters: [
        {
          name: 'dns',
          type: 'STRICT_DNS',
          connect_timeout: '1s',
          typed_dns_resolver_config: resolverConfig,
          load_assignment: {
            cluster_name: 'dns',
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: 'svc.test', port_value: 80 } } } },
                ],
              },
            ],
          },
        },
      ],
    },
  });
}

describe('envoy.network.dns_resolver.cares config', () => {
  const registry = new ExtensionRegistry([caresDnsResolverFactory]);

  test('a cluster naming the c-ares resolver loads, and the factory builds its resolver settings', () => {
    const loaded = loadConfig(
      {
        configYaml: bootstrapWith({
          name: 'envoy.network.dns_resolver.cares',
          typed_config: {
            '@type': CARES_URL,
            resolvers: [
              { socket_address: { address: '127.0.0.1', port_value: 5353 } },
              { socket_address: { address: '::1', port_value: 0 } },
            ],
            dns_resolver_options: { use_tcp_for_dns_lookups: true },
          },
        }),
      },
      { registry },
    );
    assert.deepEqual(loaded.errors, []);
    const cluster = messageList(messageField(loaded.message, 'static_resources'), 'clusters')[0];
    const owner = messageField(cluster, 'typed_dns_resolver_config');
    assert.ok(owner !== undefined);
    const resolved = loaded.extensions.get(owner);
    assert.equal(resolved?.name, 'envoy.network.dns_resolver.cares');
    assert.deepEqual(resolved?.config, {
      servers: [
        { address: '127.0.0.1', port: 5353 },
        { address: '::1', port: 53 },
      ],
      useTcp: true,
      useResolversAsFallback: false,
      filterUnroutableFamilies: false,
    } satisfies DnsResolverSettings);
  });

  test('a resolver given by name instead of IP address is a config error at its place', () => {
    const loaded = loadConfig(
      {
        configYaml: bootstrapWith({
          name: 'envoy.network.dns_resolver.cares',
          typed_config: {
            '@type': CARES_URL,
            resolvers: [{ socket_address: { address: 'ns1.example', port_value: 53 } }],
          },
        }),
      },
      { registry },
    );
    assert.equal(loaded.errors.length, 1);
    assert.match(
      loaded.errors[0]!.message,
      /DNS resolver 'ns1\.example' at resolvers\[0\] is not an IP address/,
    );
    assert.match(loaded.errors[0]!.path, /typed_dns_resolver_config\.typed_config\.resolvers/);
  });

  test('udp_max_queries is accepted with a warning that it has no effect', () => {
    const loaded = loadConfig(
      {
        configYaml: bootstrapWith({
          name: 'envoy.network.dns_resolver.cares',
          typed_config: {
            '@type': CARES_URL,
            resolvers: [{ socket_address: { address: '127.0.0.1', port_value: 53 } }],
            udp_max_queries: 100,
          },
        }),
      },
      { registry },
    );
    assert.deepEqual(loaded.errors, []);
    assert.ok(loaded.warnings.some((w) => /udp_max_queries is not supported/.test(w.message)));
  });
});

describe('which resolver settings a cluster or the server uses', () => {
  const at = (port: number): Record<string, unknown> => ({
    socket_address: { address: '127.0.0.1', port_value: port },
  });
  const base = { name: 'c', type: 'STRICT_DNS' };

  test('typed_dns_resolver_config wins over dns_resolution_config, which wins over dns_resolvers', () => {
    const all = decodeCluster({
      ...base,
      typed_dns_resolver_config: caresConfig(1001),
      dns_resolution_config: { resolvers: [at(1002)] },
      dns_resolvers: [at(1003)],
    });
    assert.deepEqual((clusterDnsResolverSettings(all) as DnsResolverSettings).servers, [
      { address: '127.0.0.1', port: 1001 },
    ]);
    const twoLegacy = decodeCluster({
      ...base,
      dns_resolution_config: {
        resolvers: [at(1002)],
        dns_resolver_options: { use_tcp_for_dns_lookups: true },
      },
      dns_resolvers: [at(1003)],
    });
    assert.deepEqual(clusterDnsResolverSettings(twoLegacy), {
      ...SYSTEM_DNS_RESOLVER,
      servers: [{ address: '127.0.0.1', port: 1002 }],
      useTcp: true,
    });
    const oldest = decodeCluster({ ...base, dns_resolvers: [at(1003)], use_tcp_for_dns_lookups: true });
    assert.deepEqual(clusterDnsResolverSettings(oldest), {
      ...SYSTEM_DNS_RESOLVER,
      servers: [{ address: '127.0.0.1', port: 1003 }],
      useTcp: true,
    });
  });

  test('a cluster with no resolver of its own uses the server resolver, even with use_tcp_for_dns_lookups set', () => {
    assert.equal(clusterDnsResolverSettings(decodeCluster(base)), undefined);
    assert.equal(
      clusterDnsResolverSettings(decodeCluster({ ...base, use_tcp_for_dns_lookups: true })),
      undefined,
    );
  });

  test('a resolver extension other than c-ares is refused by name', () => {
    const cluster = decodeCluster({
      ...base,
      typed_dns_resolver_config: {
        name: 'envoy.network.dns_resolver.getaddrinfo',
        typed_config: {
          '@type':
            'type.googleapis.com/envoy.extensions.network.dns_resolver.getaddrinfo.v3.GetAddrInfoDnsResolverConfig',
        },
      },
    });
    assert.match(
      String(clusterDnsResolverSettings(cluster)),
      /not supported by Legate: DNS resolver envoy\.network\.dns_resolver\.getaddrinfo/,
    );
  });

  test('the server resolver is the system one, over TCP when the bootstrap says use_tcp_for_dns_lookups', () => {
    assert.deepEqual(serverDnsResolverSettings({}), SYSTEM_DNS_RESOLVER);
    assert.deepEqual(serverDnsResolverSettings({ use_tcp_for_dns_lookups: true }), {
      ...SYSTEM_DNS_RESOLVER,
      useTcp: true,
    });
  });
});

describe('resolvers against a real DNS server', () => {
  let server: TestDnsServer;
  let dispatcher: DispatcherImpl;
  /** A port on 127.0.0.1 where nothing listens (TCP or UDP). */
  let closedPort = 0;

  before(async () => {
    server = await TestDnsServer.start();
    dispatcher = new DispatcherImpl('main_thread', realBackend());
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    server.answer('ttl.test', { a: ['192.0.2.1', '192.0.2.2'], aaaa: ['2001:db8::1'], ttl: 42 });
    server.silence('mute.test');
  });

  after(async () => {
    dispatcher.exit();
    await server.close();
  });

  for (const useTcp of [false, true]) {
    const transport = useTcp ? 'TCP' : 'UDP (c-ares)';
    const settings = (ports: number[]): DnsResolverSettings => ({
      ...SYSTEM_DNS_RESOLVER,
      useTcp,
      servers: ports.map((port) => ({ address: '127.0.0.1', port })),
    });

    test(`over ${transport}: A and AAAA answers carry their TTL, NXDOMAIN is an answer without records`, async () => {
      const r = createDnsResolver(settings([server.port]), dispatcher, { timeoutMs: 500, tries: 1 });
      assert.deepEqual(await r.resolve('ttl.test', 4), { addresses: ['192.0.2.1', '192.0.2.2'], ttlS: 42 });
      assert.deepEqual(await r.resolve('ttl.test', 6), { addresses: ['2001:db8::1'], ttlS: 42 });
      assert.deepEqual(await r.resolve('unknown.test', 4), { addresses: [], ttlS: 0 });
      r.close();
    });

    test(`over ${transport}: a server that refuses is skipped for the next one`, async () => {
      const r = createDnsResolver(settings([closedPort, server.port]), dispatcher, {
        timeoutMs: 500,
        tries: 1,
      });
      assert.deepEqual((await r.resolve('ttl.test', 4)).addresses, ['192.0.2.1', '192.0.2.2']);
      r.close();
    });

    test(`over ${transport}: a server that never answers times out, and close() cancels a query in flight`, async () => {
      const quick = createDnsResolver(settings([server.port]), dispatcher, { timeoutMs: 100, tries: 1 });
      await assert.rejects(
        quick.resolve('mute.test', 4),
        (e: unknown) => e instanceof DnsQueryError && e.code === 'ETIMEOUT',
      );
      quick.close();
      const slow = createDnsResolver(settings([server.port]), dispatcher, { timeoutMs: 60_000, tries: 1 });
      const pending = slow.resolve('mute.test', 4);
      slow.close();
      await assert.rejects(pending, (e: unknown) => e instanceof DnsQueryError && e.code === 'ECANCELLED');
    });
  }
});
