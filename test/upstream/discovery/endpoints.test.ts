/**
 * The configured endpoints of a cluster (`load_assignment` flattened, with Envoy's
 * defaults) and STATIC discovery built from them, on clusters decoded by the real config
 * decoder. Envoy counterpart: test/extensions/clusters/static/static_cluster_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DispatcherImpl, simulatedBackend } from '../../../src/event/dispatcher.ts';
import { SimulatedTimeSource } from '../../../src/event/time-source.ts';
import { configuredEndpoints } from '../../../src/upstream/discovery/endpoints.ts';
import { createClusterDiscovery } from '../../../src/upstream/discovery/factory.ts';
import { StaticDiscovery } from '../../../src/upstream/discovery/static.ts';
import type { HostData } from '../../../src/upstream/types.ts';
import { decodeCluster } from './helpers.ts';

function socket(address: string, port: number): Record<string, unknown> {
  return { address: { socket_address: { address, port_value: port } } };
}

const TWO_LOCALITIES = decodeCluster({
  name: 'backends',
  type: 'STATIC',
  load_assignment: {
    cluster_name: 'backends',
    endpoints: [
      {
        lb_endpoints: [{ endpoint: socket('10.0.0.1', 8080) }],
      },
      {
        locality: { region: 'eu-west', zone: 'eu-west-1a', sub_zone: 'rack7' },
        load_balancing_weight: 3,
        priority: 1,
        lb_endpoints: [
          {
            endpoint: { ...socket('10.0.0.2', 9090), hostname: 'b.internal' },
            load_balancing_weight: 5,
            health_status: 'DRAINING',
          },
          { endpoint: socket('::1', 9091) },
        ],
      },
    ],
  },
});

describe('configured endpoints', () => {
  test('every lb_endpoint becomes a record, in config order, with its locality settings and Envoy defaults', () => {
    const endpoints = configuredEndpoints(TWO_LOCALITIES);
    assert.deepEqual(endpoints, [
      {
        address: '10.0.0.1',
        port: 8080,
        hostname: '',
        weight: 1,
        priority: 0,
        locality: { region: '', zone: '', subZone: '' },
        localityWeight: undefined,
        healthStatus: 'UNKNOWN',
      },
      {
        address: '10.0.0.2',
        port: 9090,
        hostname: 'b.internal',
        weight: 5,
        priority: 1,
        locality: { region: 'eu-west', zone: 'eu-west-1a', subZone: 'rack7' },
        localityWeight: 3,
        healthStatus: 'DRAINING',
      },
      {
        address: '::1',
        port: 9091,
        hostname: '',
        weight: 1,
        priority: 1,
        locality: { region: 'eu-west', zone: 'eu-west-1a', subZone: 'rack7' },
        localityWeight: 3,
        healthStatus: 'UNKNOWN',
      },
    ]);
  });

  test('a cluster without load_assignment has no endpoints', () => {
    assert.deepEqual(configuredEndpoints(decodeCluster({ name: 'empty', type: 'STRICT_DNS' })), []);
  });

  test('an endpoint given as a pipe is reported as unsupported, with its place', () => {
    const cluster = decodeCluster({
      name: 'uds',
      load_assignment: {
        cluster_name: 'uds',
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: '/tmp/x.sock' } } } }] }],
      },
    });
    const result = configuredEndpoints(cluster);
    assert.equal(typeof result, 'string');
    assert.match(
      String(result),
      /not supported by Legate.*pipe.*load_assignment\.endpoints\[0\]\.lb_endpoints\[0\]/,
    );
  });

  test('an endpoint naming a custom address resolver is reported as unsupported', () => {
    const cluster = decodeCluster({
      name: 'custom',
      type: 'STRICT_DNS',
      load_assignment: {
        cluster_name: 'custom',
        endpoints: [
          {
            lb_endpoints: [
              {
                endpoint: {
                  address: { socket_address: { address: 'x', port_value: 1, resolver_name: 'my.resolver' } },
                },
              },
            ],
          },
        ],
      },
    });
    assert.match(String(configuredEndpoints(cluster)), /custom address resolver 'my\.resolver'/);
  });
});

describe('STATIC discovery', () => {
  test('initialize completes before it returns, with every configured endpoint as a host', () => {
    const endpoints = configuredEndpoints(TWO_LOCALITIES);
    assert.ok(Array.isArray(endpoints));
    const discovery = new StaticDiscovery(endpoints);
    let initialized = false;
    discovery.initialize(() => {
      initialized = true;
    });
    assert.equal(initialized, true);
    const hosts: readonly HostData[] = discovery.hosts();
    assert.deepEqual(
      hosts.map((h) => [
        h.address,
        h.port,
        h.hostname,
        h.weight,
        h.priority,
        h.localityWeight,
        h.healthStatus,
      ]),
      [
        ['10.0.0.1', 8080, '', 1, 0, undefined, 'UNKNOWN'],
        ['10.0.0.2', 9090, 'b.internal', 5, 1, 3, 'DRAINING'],
        ['::1', 9091, '', 1, 1, 3, 'UNKNOWN'],
      ],
    );
    discovery.destroy();
  });

  test('the discovery factory builds STATIC for a cluster without a type and refuses EDS', () => {
    const d = new DispatcherImpl('main_thread', simulatedBackend(new SimulatedTimeSource()));
    const untyped = decodeCluster({
      name: 'plain',
      load_assignment: {
        cluster_name: 'plain',
        endpoints: [{ lb_endpoints: [{ endpoint: socket('127.0.0.1', 1) }] }],
      },
    });
    const discovery = createClusterDiscovery(untyped, { dispatcher: d });
    assert.ok(discovery instanceof StaticDiscovery);
    const eds = decodeCluster({ name: 'eds', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
    assert.match(String(createClusterDiscovery(eds, { dispatcher: d })), /EDS is not built/);
    d.exit();
  });
});
