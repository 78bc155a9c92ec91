/**
 * STRICT_DNS and LOGICAL_DNS discovery on simulated time with a scripted resolver: when
 * each name is resolved again (dns_refresh_rate, respect_dns_ttl, the failure back-off),
 * what an answer, an empty answer and a failure do to the hosts, when initialize completes,
 * and what destroy stops. The same discoveries against a real DNS server are in
 * strict-dns.test.ts and logical-dns.test.ts. Envoy counterpart:
 * test/extensions/clusters/{strict_dns,logical_dns}/*_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DispatcherImpl, simulatedBackend } from '../../../src/event/dispatcher.ts';
import { SimulatedTimeSource } from '../../../src/event/time-source.ts';
import { createClusterDiscovery } from '../../../src/upstream/discovery/factory.ts';
import type { ClusterDiscovery, HostData } from '../../../src/upstream/types.ts';
import { decodeCluster, flush, ScriptedResolver } from './helpers.ts';

interface Setup {
  readonly sim: SimulatedTimeSource;
  readonly d: DispatcherImpl;
  readonly resolver: ScriptedResolver;
  readonly discovery: ClusterDiscovery;
  /** Host sets passed to the hosts-changed callback. */
  readonly changes: Array<readonly HostData[]>;
  initialized: boolean;
  /** Moves simulated time and lets the answers it triggered be handled. */
  step(ms: number): Promise<void>;
  /** Initializes, and lets the first answers be handled. */
  start(): Promise<void>;
  /** `address` of every current host. */
  addresses(): string[];
}

function endpoint(
  address: string,
  port: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { endpoint: { address: { socket_address: { address, port_value: port } }, ...extra } };
}

function setup(
  cluster: Record<string, unknown>,
  script: (r: ScriptedResolver) => void = () => {},
  random = () => 0.999999,
): Setup {
  const sim = new SimulatedTimeSource();
  const d = new DispatcherImpl('main_thread', simulatedBackend(sim));
  const resolver = new ScriptedResolver(() => sim.monotonicNow());
  script(resolver);
  const discovery = createClusterDiscovery(decodeCluster({ name: 'c', connect_timeout: '1s', ...cluster }), {
    dispatcher: d,
    createResolver: () => resolver,
    random,
  });
  assert.ok(typeof discovery !== 'string', String(discovery));
  const s: Setup = {
    sim,
    d,
    resolver,
    discovery,
    changes: [],
    initialized: false,
    async step(ms) {
      sim.advanceTimeAndRun(ms);
      await flush();
    },
    async start() {
      discovery.setHostsChangedCallback((hosts) => s.changes.push(hosts));
      discovery.initialize(() => {
        s.initialized = true;
      });
      await flush();
    },
    addresses: () => discovery.hosts().map((h) => h.address),
  };
  return s;
}

function strictCluster(
  names: readonly string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'STRICT_DNS',
    dns_lookup_family: 'V4_ONLY',
    load_assignment: {
      cluster_name: 'c',
      endpoints: [{ lb_endpoints: names.map((n, i) => endpoint(n, 8000 + i)) }],
    },
    ...extra,
  };
}

describe('STRICT_DNS refresh on simulated time', () => {
  test('each name is resolved again every dns_refresh_rate, 5 s when unset', async () => {
    const s = setup(strictCluster(['a.test']), (r) => r.answer('a.test', 4, ['10.0.0.1']));
    await s.start();
    await s.step(5000);
    await s.step(5000);
    assert.deepEqual(s.resolver.times('a.test'), [0, 5000, 10000]);
    s.discovery.destroy();
  });

  test('with respect_dns_ttl the next resolution comes after the lowest TTL of the answer; a TTL of 0 keeps dns_refresh_rate', async () => {
    const s = setup(
      strictCluster(['a.test'], { dns_refresh_rate: '60s', respect_dns_ttl: true, dns_lookup_family: 'ALL' }),
      (r) => {
        r.answer('a.test', 4, ['10.0.0.1'], 20);
        r.answer('a.test', 6, ['2001:db8::1'], 7);
      },
    );
    await s.start();
    assert.deepEqual(s.addresses(), ['10.0.0.1', '2001:db8::1']);
    s.resolver.answer('a.test', 4, ['10.0.0.1'], 0);
    s.resolver.answer('a.test', 6, [], 0);
    await s.step(7000);
    await s.step(59_999);
    await s.step(1);
    // Each resolution under ALL sends two queries at the same moment.
    assert.deepEqual(s.resolver.times('a.test'), [0, 0, 7000, 7000, 67_000, 67_000]);
    s.discovery.destroy();
  });

  test('a failure keeps the hosts and retries after a jittered back-off that doubles up to max_interval; a success resets it', async () => {
    const s = setup(
      strictCluster(['a.test'], { dns_failure_refresh_rate: { base_interval: '1s', max_interval: '4s' } }),
      (r) => r.answer('a.test', 4, ['10.0.0.1']),
    );
    await s.start();
    s.resolver.fail('a.test', 4);
    // With the highest jitter each wait is just under its ceiling: 1 s, 2 s, 4 s, 4 s.
    for (const ms of [5000, 999, 1999, 3999, 3999]) await s.step(ms);
    assert.deepEqual(s.addresses(), ['10.0.0.1'], 'the hosts of the last answer stay');
    assert.equal(s.changes.length, 0, 'no change reported');
    s.resolver.answer('a.test', 4, ['10.0.0.1']);
    await s.step(3999); // the retry at the 4 s ceiling succeeds
    s.resolver.fail('a.test', 4);
    await s.step(5000); // a success waits the refresh rate; this resolution fails again
    await s.step(999); // and the back-off starts over from base_interval
    assert.deepEqual(
      s.resolver.times('a.test'),
      [0, 5000, 5999, 7998, 11_997, 15_996, 19_995, 24_995, 25_994],
    );
    s.discovery.destroy();
  });

  test('without dns_failure_refresh_rate a failure is retried after dns_refresh_rate', async () => {
    const s = setup(strictCluster(['a.test'], { dns_refresh_rate: '2s' }), (r) => r.fail('a.test', 4));
    await s.start();
    await s.step(2000);
    await s.step(2000);
    assert.deepEqual(s.resolver.times('a.test'), [0, 2000, 4000]);
    s.discovery.destroy();
  });

  test('initialize waits until every endpoint has had its first resolution, and then has all their hosts', async () => {
    const s = setup(strictCluster(['a.test', 'b.test']), (r) => {
      r.answer('a.test', 4, ['10.0.0.1']);
      r.hold('b.test', 4);
    });
    await s.start();
    assert.equal(s.initialized, false, 'b.test has not answered yet');
    s.resolver.release('b.test', 4, { addresses: ['10.0.0.2', '10.0.0.3'], ttlS: 60 });
    await flush();
    assert.equal(s.initialized, true);
    assert.deepEqual(
      s.discovery.hosts().map((h) => [h.address, h.port, h.hostname]),
      [
        ['10.0.0.1', 8000, 'a.test'],
        ['10.0.0.2', 8001, 'b.test'],
        ['10.0.0.3', 8001, 'b.test'],
      ],
    );
    assert.equal(s.changes.length, 0, 'hosts found before initialization are not reported as changes');
    s.discovery.destroy();
  });

  test('a first resolution that fails completes initialize, with no hosts', async () => {
    const s = setup(strictCluster(['a.test']), (r) => r.fail('a.test', 4, 'ETIMEOUT'));
    await s.start();
    assert.equal(s.initialized, true);
    assert.deepEqual(s.discovery.hosts(), []);
    s.discovery.destroy();
  });

  test('a cluster without endpoints is initialized at once', () => {
    const s = setup({ type: 'STRICT_DNS' });
    let initialized = false;
    s.discovery.initialize(() => {
      initialized = true;
    });
    assert.equal(initialized, true);
    s.discovery.destroy();
  });

  test('only a changed address set is reported: a reordered answer changes nothing, an empty one removes the hosts', async () => {
    const s = setup(strictCluster(['a.test', 'b.test']), (r) => {
      r.answer('a.test', 4, ['10.0.0.1', '10.0.0.2']);
      r.answer('b.test', 4, ['10.0.0.9']);
    });
    await s.start();
    s.resolver.answer('a.test', 4, ['10.0.0.2', '10.0.0.1', '10.0.0.2']);
    await s.step(5000);
    assert.equal(s.changes.length, 0, 'no change reported');
    s.resolver.answer('a.test', 4, ['10.0.0.3']);
    await s.step(5000);
    s.resolver.answer('b.test', 4, []);
    await s.step(5000);
    assert.deepEqual(
      s.changes.map((hosts) => hosts.map((h) => h.address)),
      [['10.0.0.3', '10.0.0.9'], ['10.0.0.3']],
    );
    s.discovery.destroy();
  });

  test('hosts carry the endpoint settings, and the configured hostname over the name resolved', async () => {
    const s = setup(
      {
        type: 'STRICT_DNS',
        dns_lookup_family: 'V4_ONLY',
        load_assignment: {
          cluster_name: 'c',
          endpoints: [
            {
              priority: 2,
              locality: { zone: 'z1' },
              load_balancing_weight: 4,
              lb_endpoints: [endpoint('a.test', 443, { hostname: 'api.example.com' })].map((e) => ({
                ...e,
                load_balancing_weight: 7,
                health_status: 'HEALTHY',
              })),
            },
          ],
        },
      },
      (r) => r.answer('a.test', 4, ['10.0.0.1']),
    );
    await s.start();
    assert.deepEqual(s.discovery.hosts(), [
      {
        address: '10.0.0.1',
        port: 443,
        hostname: 'api.example.com',
        weight: 7,
        priority: 2,
        locality: { region: '', zone: 'z1', subZone: '' },
        localityWeight: 4,
        healthStatus: 'HEALTHY',
      },
    ]);
    s.discovery.destroy();
  });

  test('destroy stops the refresh timers, ignores an answer still in flight, and closes the resolver', async () => {
    const s = setup(strictCluster(['a.test', 'b.test']), (r) => {
      r.answer('a.test', 4, ['10.0.0.1']);
      r.hold('b.test', 4);
    });
    await s.start();
    s.discovery.destroy();
    assert.equal(s.resolver.closed, true);
    s.resolver.release('b.test', 4, { addresses: ['10.0.0.2'], ttlS: 60 });
    await flush();
    await s.step(60_000);
    assert.equal(s.initialized, false);
    assert.deepEqual(s.addresses(), ['10.0.0.1']);
    assert.deepEqual(s.resolver.times('a.test'), [0], 'no resolution after destroy');
  });
});

describe('LOGICAL_DNS refresh on simulated time', () => {
  function logicalCluster(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      type: 'LOGICAL_DNS',
      dns_lookup_family: 'V4_ONLY',
      load_assignment: {
        cluster_name: 'c',
        endpoints: [{ priority: 3, lb_endpoints: [endpoint('web.test', 80)] }],
      },
      ...extra,
    };
  }

  test('one host at the first address of the latest answer, at priority 0, named after the name resolved', async () => {
    const s = setup(logicalCluster(), (r) => r.answer('web.test', 4, ['10.0.0.5', '10.0.0.6']));
    await s.start();
    assert.equal(s.initialized, true);
    assert.deepEqual(
      s.discovery.hosts().map((h) => [h.address, h.port, h.hostname, h.priority]),
      [['10.0.0.5', 80, 'web.test', 0]],
    );
    s.resolver.answer('web.test', 4, ['10.0.0.6', '10.0.0.5']);
    await s.step(5000);
    assert.deepEqual(
      s.changes.map((hosts) => hosts.map((h) => h.address)),
      [['10.0.0.6']],
    );
    s.discovery.destroy();
  });

  test('an answer with no address counts as a failure: the host stays and the back-off applies', async () => {
    const s = setup(logicalCluster({ dns_failure_refresh_rate: { base_interval: '1s' } }), (r) =>
      r.answer('web.test', 4, ['10.0.0.5']),
    );
    await s.start();
    s.resolver.answer('web.test', 4, []);
    await s.step(5000);
    await s.step(999);
    await s.step(1999);
    assert.deepEqual(s.addresses(), ['10.0.0.5']);
    assert.deepEqual(s.resolver.times('web.test'), [0, 5000, 5999, 7998]);
    s.discovery.destroy();
  });

  test('with respect_dns_ttl the refresh follows the TTL of the first address', async () => {
    const s = setup(logicalCluster({ respect_dns_ttl: true, dns_lookup_family: 'ALL' }), (r) => {
      r.answer('web.test', 4, ['10.0.0.5'], 3);
      r.answer('web.test', 6, ['2001:db8::5'], 1);
    });
    await s.start();
    assert.deepEqual(s.addresses(), ['10.0.0.5']);
    await s.step(2999);
    assert.equal(s.resolver.times('web.test').length, 2, 'not yet at 1 s (the AAAA TTL) nor before 3 s');
    await s.step(1);
    assert.deepEqual(s.resolver.times('web.test'), [0, 0, 3000, 3000]);
    s.discovery.destroy();
  });

  test('a first resolution without an address completes initialize with no host', async () => {
    const s = setup(logicalCluster(), (r) => r.fail('web.test', 4));
    await s.start();
    assert.equal(s.initialized, true);
    assert.deepEqual(s.discovery.hosts(), []);
    s.resolver.answer('web.test', 4, ['10.0.0.7']);
    await s.step(5000);
    assert.deepEqual(
      s.changes.map((hosts) => hosts.map((h) => h.address)),
      [['10.0.0.7']],
    );
    s.discovery.destroy();
  });
});
