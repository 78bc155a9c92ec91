/**
 * `/config_dump` as a function of the configuration (`src/admin/handlers/config-dump.ts`):
 * the round trip every config Legate runs must survive (its dumped bootstrap, fed back to
 * `legate --mode validate`, is OK), and `?resource=`, `?mask=`, `?name_regex=`,
 * `?include_eds` and the redaction of secrets against Envoy's documented behaviour. The
 * same handler answers over HTTP in `admin-endpoints.test.ts`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  type ConfigDumpSource,
  configDump,
  nodeWithUserAgent,
} from '../../src/admin/handlers/config-dump.ts';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { messageField } from '../../src/config/proto-fields.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type { ProtoMessage } from '../../src/config/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';
import { LEGATE_VERSION } from '../../src/server/options.ts';
import type { HostData } from '../../src/upstream/types.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/legate.js');
const EXAMPLES = path.resolve(ROOT, '../shared/envoy-examples');
const TYPE = (name: string): string => `type.googleapis.com/envoy.admin.v3.${name}`;
const LOADED_AT = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

interface Dump {
  configs: Array<Record<string, unknown> & { '@type': string }>;
}

function load(source: { configPath?: string; configYaml?: string }): ProtoMessage {
  const loaded = loadConfig(source, { registry: new ExtensionRegistry(compiledInExtensions) });
  assert.deepEqual(
    loaded.errors.map((e) => e.message),
    [],
    'the config loads',
  );
  assert.ok(loaded.message !== undefined);
  return loaded.message;
}

function sourceOf(bootstrap: ProtoMessage, hosts = new Map<string, readonly HostData[]>()): ConfigDumpSource {
  return {
    bootstrap: () => ({
      ...bootstrap,
      node: nodeWithUserAgent(messageField(bootstrap, 'node') ?? {}, LEGATE_VERSION),
    }),
    loadedAtMs: () => LOADED_AT,
    clusterHosts: () => hosts,
  };
}

function dump(source: ConfigDumpSource, query = ''): { status: number; body: string; json?: Dump } {
  const r = configDump(source, new URLSearchParams(query));
  const body = String(r.body);
  return { status: r.status, body, json: r.status === 200 ? (JSON.parse(body) as Dump) : undefined };
}

/** `legate --mode validate -c file`: its exit code, standard output and error. */
function validate(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, '--mode', 'validate', '-c', file], { timeout: 30_000 }, (err, o, e) =>
      resolve({ code: err === null ? 0 : Number(err.code ?? 1), stdout: o, stderr: e }),
    );
  });
}

/** Every config Legate serves: this repository's and the Envoy examples `serve` accepts. */
function servedConfigs(): string[] {
  const files = [
    ...fs.readdirSync(path.join(ROOT, 'configs')).map((f) => path.join(ROOT, 'configs', f)),
    ...fs.readdirSync(path.join(ROOT, 'bench/configs')).map((f) => path.join(ROOT, 'bench/configs', f)),
  ].filter((f) => f.endsWith('.yaml'));
  for (const example of ['tls/envoy-https-passthrough.yaml', 'websocket/envoy-wss-passthrough.yaml']) {
    const file = path.join(EXAMPLES, example);
    if (fs.existsSync(file)) files.push(file);
  }
  return files;
}

test('round trip: the dumped bootstrap of every config Legate serves passes legate --mode validate', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-dump-'));
  try {
    const files = servedConfigs();
    assert.ok(files.length >= 4, `${files.length} configs`);
    const results = await Promise.all(
      files.map(async (file, i) => {
        const d = dump(sourceOf(load({ configPath: file })));
        const bootstrapDump = d.json?.configs[0];
        assert.equal(bootstrapDump?.['@type'], TYPE('BootstrapConfigDump'), file);
        const out = path.join(dir, `dump-${i}.json`);
        fs.writeFileSync(out, JSON.stringify(bootstrapDump?.['bootstrap']));
        return { file, ...(await validate(out)) };
      }),
    );
    for (const r of results) {
      assert.equal(r.code, 0, `${r.file}: ${r.stderr}`);
      assert.equal(r.stdout, 'OK\n', r.file);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const CONFIG = `
node: { id: n1, cluster: c1 }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  secrets:
  - name: server_cert
    tls_certificate:
      certificate_chain: { inline_string: "-----BEGIN CERTIFICATE-----" }
      private_key: { inline_string: "-----BEGIN PRIVATE KEY-----" }
  listeners:
  - name: web
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: web
          route_config:
            name: web_routes
            virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: app } }] }]
          http_filters: [{ name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }]
  - name: raw
    address: { socket_address: { address: 127.0.0.1, port_value: 10001 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: raw
          cluster: db
  clusters:
  - name: app
    connect_timeout: 0.25s
    load_assignment:
      cluster_name: app
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } } }] }]
  - name: db
    connect_timeout: 1s
    load_assignment:
      cluster_name: db
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 5432 } } } }] }]
`;

describe('the dump of a config with listeners, routes, clusters and a secret', () => {
  const bootstrap = load({ configYaml: CONFIG });
  const source = sourceOf(bootstrap);

  test("Envoy's top-level messages in Envoy's order, each with its @type and last_updated", () => {
    const d = dump(source).json;
    assert.deepEqual(
      d?.configs.map((c) => c['@type']),
      [
        'BootstrapConfigDump',
        'ClustersConfigDump',
        'ListenersConfigDump',
        'ScopedRoutesConfigDump',
        'RoutesConfigDump',
        'SecretsConfigDump',
      ].map(TYPE),
    );
    const [boot, clusters, listeners, , routes, secrets] = d?.configs ?? [];
    assert.equal(boot?.['last_updated'], '2026-01-02T03:04:05.678Z');
    const node = (boot?.['bootstrap'] as { node: Record<string, unknown> } | undefined)?.node ?? {};
    assert.equal(node['id'], 'n1');
    assert.equal(node['user_agent_name'], 'legate');
    assert.deepEqual(clusters?.['static_clusters'], [
      {
        cluster: {
          '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
          name: 'app',
          connect_timeout: '0.250s',
          load_assignment: {
            cluster_name: 'app',
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } },
                ],
              },
            ],
          },
        },
        last_updated: '2026-01-02T03:04:05.678Z',
      },
      {
        cluster: {
          '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
          name: 'db',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'db',
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 5432 } } } },
                ],
              },
            ],
          },
        },
        last_updated: '2026-01-02T03:04:05.678Z',
      },
    ]);
    assert.equal(clusters?.['dynamic_active_clusters'], undefined, 'an empty repeated field is not printed');
    const staticListeners = listeners?.['static_listeners'] as Array<{ listener: Record<string, unknown> }>;
    assert.deepEqual(
      staticListeners.map((l) => [l.listener['@type'], l.listener['name']]),
      [
        ['type.googleapis.com/envoy.config.listener.v3.Listener', 'web'],
        ['type.googleapis.com/envoy.config.listener.v3.Listener', 'raw'],
      ],
    );
    const routeConfigs = routes?.['static_route_configs'] as Array<{ route_config: Record<string, unknown> }>;
    assert.deepEqual(
      routeConfigs.map((r) => [r.route_config['@type'], r.route_config['name']]),
      [['type.googleapis.com/envoy.config.route.v3.RouteConfiguration', 'web_routes']],
    );
    assert.deepEqual(secrets?.['static_secrets'], [
      {
        name: 'server_cert',
        last_updated: '2026-01-02T03:04:05.678Z',
        secret: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
          name: 'server_cert',
          tls_certificate: {
            certificate_chain: { inline_string: '-----BEGIN CERTIFICATE-----' },
            private_key: { inline_string: '[redacted]' },
          },
        },
      },
    ]);
  });

  test('the private key is redacted everywhere, the bootstrap included', () => {
    const body = dump(source).body;
    assert.ok(!body.includes('BEGIN PRIVATE KEY'), 'no private key in the dump');
    assert.ok(body.includes('[redacted]'));
  });

  test('?resource= dumps each element of that repeated field, typed as the element', () => {
    const d = dump(source, 'resource=static_listeners').json;
    assert.deepEqual(
      d?.configs.map((c) => [c['@type'], (c['listener'] as { name: string }).name]),
      [
        [TYPE('ListenersConfigDump.StaticListener'), 'web'],
        [TYPE('ListenersConfigDump.StaticListener'), 'raw'],
      ],
    );
    assert.deepEqual(dump(source, 'resource=dynamic_active_clusters').json, {}, 'no element: no config');
  });

  test('?resource= errors: unknown field 404, a field that is not repeated 400', () => {
    const missing = dump(source, 'resource=no_such_field');
    assert.equal(missing.status, 404);
    assert.match(missing.body, /no_such_field not found in config dump/);
    const scalar = dump(source, 'resource=version_info');
    assert.equal(scalar.status, 400);
    assert.match(scalar.body, /version_info is not a repeated field\. Use \?mask=version_info/);
  });

  test('?resource= with ?mask= trims each element, inside its Any; a mask that does not fit is 400', () => {
    const d = dump(source, 'resource=static_clusters&mask=cluster.name,cluster.connect_timeout').json;
    assert.deepEqual(d?.configs, [
      {
        '@type': TYPE('ClustersConfigDump.StaticCluster'),
        cluster: {
          '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
          name: 'app',
          connect_timeout: '0.250s',
        },
      },
      {
        '@type': TYPE('ClustersConfigDump.StaticCluster'),
        cluster: {
          '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
          name: 'db',
          connect_timeout: '1s',
        },
      },
    ]);
    const bad = dump(source, 'resource=static_clusters&mask=cluster.no_such_field');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /FieldMask cluster\.no_such_field could not be successfully used/);
  });

  test('?mask= alone trims every top-level message by the paths it names', () => {
    const d = dump(source, 'mask=static_clusters').json;
    const byType = new Map(d?.configs.map((c) => [c['@type'], Object.keys(c).filter((k) => k !== '@type')]));
    assert.deepEqual(byType.get(TYPE('ClustersConfigDump')), ['static_clusters']);
    assert.deepEqual(
      byType.get(TYPE('BootstrapConfigDump')),
      [],
      'a message without the field keeps nothing',
    );
    assert.deepEqual(byType.get(TYPE('ListenersConfigDump')), []);
  });

  test('?name_regex= keeps the resources whose name it matches; a bad regex is 400', () => {
    const d = dump(source, 'name_regex=^(app|web.*)$').json;
    const clusters = d?.configs.find((c) => c['@type'] === TYPE('ClustersConfigDump'));
    assert.deepEqual(
      ((clusters?.['static_clusters'] ?? []) as Array<{ cluster: { name: string } }>).map(
        (c) => c.cluster.name,
      ),
      ['app'],
    );
    const listeners = d?.configs.find((c) => c['@type'] === TYPE('ListenersConfigDump'));
    assert.deepEqual(
      ((listeners?.['static_listeners'] ?? []) as Array<{ listener: { name: string } }>).map(
        (l) => l.listener.name,
      ),
      ['web'],
    );
    const routes = d?.configs.find((c) => c['@type'] === TYPE('RoutesConfigDump'));
    assert.equal(
      ((routes?.['static_route_configs'] ?? []) as unknown[]).length,
      1,
      'web_routes matches web.*',
    );
    const secrets = d?.configs.find((c) => c['@type'] === TYPE('SecretsConfigDump'));
    assert.equal(secrets?.['static_secrets'], undefined, 'server_cert does not match');
    const bad = dump(source, 'name_regex=(');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /Error while parsing name_regex/);
  });

  test('?include_eds adds the EndpointsConfigDump: each cluster’s current hosts as a ClusterLoadAssignment', () => {
    const host = (address: string, port: number, zone: string, priority: number): HostData => ({
      address,
      port,
      hostname: '',
      weight: 3,
      priority,
      locality: { region: 'r', zone, subZone: '' },
      localityWeight: undefined,
      healthStatus: 'UNKNOWN',
    });
    const hosts = new Map<string, readonly HostData[]>([
      ['app', [host('10.0.0.2', 80, 'b', 0), host('10.0.0.1', 80, 'a', 0), host('10.0.0.3', 81, 'a', 1)]],
    ]);
    const d = dump(sourceOf(bootstrap, hosts), 'include_eds').json;
    assert.deepEqual(
      d?.configs.map((c) => c['@type']).slice(0, 4),
      ['BootstrapConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'ListenersConfigDump'].map(TYPE),
    );
    const eds = d?.configs[2]?.['static_endpoint_configs'] as Array<{
      endpoint_config: Record<string, unknown>;
    }>;
    const lb = (address: string, port: number): unknown => ({
      endpoint: { address: { socket_address: { address, port_value: port } }, health_check_config: {} },
      load_balancing_weight: 3,
    });
    assert.deepEqual(eds[0]?.endpoint_config, {
      '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      cluster_name: 'app',
      endpoints: [
        { locality: { region: 'r', zone: 'a' }, lb_endpoints: [lb('10.0.0.1', 80)] },
        { locality: { region: 'r', zone: 'b' }, lb_endpoints: [lb('10.0.0.2', 80)] },
        { locality: { region: 'r', zone: 'a' }, lb_endpoints: [lb('10.0.0.3', 81)], priority: 1 },
      ],
      policy: { overprovisioning_factor: 140 },
    });
    assert.deepEqual(eds[1]?.endpoint_config, {
      '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
      cluster_name: 'db',
      policy: { overprovisioning_factor: 140 },
    });
    assert.equal(
      dump(source).json?.configs.some((c) => c['@type'] === TYPE('EndpointsConfigDump')),
      false,
    );
  });
});
