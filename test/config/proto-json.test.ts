/**
 * proto3-JSON semantics of the config decoder (`src/config/proto-json.ts`): the special
 * JSON forms of the well-known types, Envoy's leniencies (lowerCamelCase names, a single
 * mapping for a list, wrappers and 64-bit integers as plain values or strings), Any and
 * TypedStruct resolution, and the protobuf MergeFrom of `--config-yaml` over `-c`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { type ConfigIssue, IssueSink } from '../../src/config/errors.ts';
import { ProtoJsonDecoder } from '../../src/config/proto-json.ts';
import { protoSchema } from '../../src/config/proto-schema.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type { ProtoMessage, ProtoValue } from '../../src/config/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';

interface Decoded {
  readonly value: ProtoMessage | undefined;
  readonly issues: readonly ConfigIssue[];
}

function decode(typeName: string, json: unknown): Decoded {
  const sink = new IssueSink();
  const value = new ProtoJsonDecoder(protoSchema(), sink).decode(typeName, json);
  return { value, issues: sink.issues };
}

/** Decodes and asserts that nothing at all was reported. */
function decodeClean(typeName: string, json: unknown): ProtoMessage {
  const { value, issues } = decode(typeName, json);
  assert.deepEqual(issues, [], `no issues expected decoding ${typeName}`);
  assert.ok(value !== undefined, `${typeName} decoded`);
  return value;
}

function field(msg: ProtoValue | undefined, ...names: Array<string | number>): ProtoValue | undefined {
  let v: ProtoValue | undefined = msg;
  for (const n of names) {
    if (typeof n === 'number') v = Array.isArray(v) ? v[n] : undefined;
    else
      v =
        v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
          ? v[n]
          : undefined;
  }
  return v;
}

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const HEALTH_CHECK_EVENT = 'envoy.data.core.v3.HealthCheckEvent';
const SOCKET_OPTION = 'envoy.config.core.v3.SocketOption';
const TCP_PROXY_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** A valid HealthCheckEvent apart from its timestamp, so only timestamp issues show. */
function healthCheckEvent(timestamp: unknown): Record<string, unknown> {
  return {
    timestamp,
    health_checker_type: 'HTTP',
    host: { socket_address: { address: '127.0.0.1', port_value: 80 } },
    cluster_name: 'c',
    add_healthy_event: { first_check: true },
  };
}

describe('Duration', () => {
  const cases: Array<[string, { seconds: number; nanos: number }]> = [
    ['5s', { seconds: 5, nanos: 0 }],
    ['0.25s', { seconds: 0, nanos: 250_000_000 }],
    ['1.000000001s', { seconds: 1, nanos: 1 }],
    ['3600s', { seconds: 3600, nanos: 0 }],
  ];
  for (const [text, expected] of cases) {
    test(`"${text}" decodes to seconds ${expected.seconds} and nanos ${expected.nanos}`, () => {
      const c = decodeClean(CLUSTER, { name: 'c', connect_timeout: text });
      assert.deepEqual(c['connect_timeout'], expected);
    });
  }

  test('a negative duration carries the sign on both seconds and nanos (and fails connect_timeout > 0)', () => {
    const { value, issues } = decode(CLUSTER, { name: 'c', connect_timeout: '-1.5s' });
    assert.deepEqual(field(value, 'connect_timeout'), { seconds: -1, nanos: -500_000_000 });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [['connect_timeout', 'value must be greater than 0s, got -1.5s']],
    );
  });

  for (const bad of ['5', '5m', '1h', '-', '1.0000000001s', 's']) {
    test(`the string "${bad}" is not a proto3 JSON duration and is rejected with the field path`, () => {
      const { value, issues } = decode(CLUSTER, { name: 'c', connect_timeout: bad });
      assert.equal(issues.length, 1);
      assert.equal(issues[0]?.path, 'connect_timeout');
      assert.match(
        issues[0]?.message ?? '',
        /^expected a duration string such as "5s" or "0\.25s", got string /,
      );
      assert.equal(field(value, 'connect_timeout'), undefined, 'the bad value is not kept');
    });
  }

  test('a bare number is not a duration (proto3 JSON wants a string with an "s")', () => {
    const { issues } = decode(CLUSTER, { name: 'c', connect_timeout: 5 });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [['connect_timeout', 'expected a duration string such as "5s" or "0.25s", got number 5']],
    );
  });

  test('a duration beyond 10000 years is out of range', () => {
    const { issues } = decode(CLUSTER, { name: 'c', connect_timeout: '315576000001s' });
    assert.equal(issues[0]?.path, 'connect_timeout');
    assert.match(issues[0]?.message ?? '', /out of range \(at most 315576000000s\)/);
  });
});

describe('Timestamp', () => {
  test('an RFC 3339 UTC timestamp with a fraction decodes to seconds since the epoch and nanos', () => {
    const e = decodeClean(HEALTH_CHECK_EVENT, healthCheckEvent('2026-01-02T03:04:05.5Z'));
    assert.deepEqual(e['timestamp'], { seconds: Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, nanos: 500_000_000 });
  });

  test('a timestamp with a UTC offset is converted to UTC', () => {
    const e = decodeClean(HEALTH_CHECK_EVENT, healthCheckEvent('2026-01-02T05:04:05+02:00'));
    assert.deepEqual(e['timestamp'], { seconds: Date.UTC(2026, 0, 2, 3, 4, 5) / 1000, nanos: 0 });
  });

  test('a timestamp before the epoch has negative seconds and positive nanos', () => {
    const e = decodeClean(HEALTH_CHECK_EVENT, healthCheckEvent('1969-12-31T23:59:59.25Z'));
    assert.deepEqual(e['timestamp'], { seconds: -1, nanos: 250_000_000 });
  });

  for (const bad of ['2026-01-02 03:04:05Z', '2026-01-02T03:04:05', 'yesterday', '2026-13-01T00:00:00Z']) {
    test(`"${bad}" is not an RFC 3339 timestamp and is rejected`, () => {
      const { issues } = decode(HEALTH_CHECK_EVENT, healthCheckEvent(bad));
      assert.equal(issues.length, 1);
      assert.equal(issues[0]?.path, 'timestamp');
      assert.match(
        issues[0]?.message ?? '',
        /^expected an RFC 3339 timestamp such as "2026-01-02T03:04:05Z", got /,
      );
    });
  }

  test('a day that does not exist in its month (February 30) is rejected, as protobuf does', () => {
    const { issues } = decode(HEALTH_CHECK_EVENT, healthCheckEvent('2026-02-30T00:00:00Z'));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'timestamp');
    assert.match(issues[0]?.message ?? '', /^expected an RFC 3339 timestamp /);
  });
});

describe('wrapper types', () => {
  test('a UInt32Value is written as a plain number and decodes to a plain number', () => {
    const c = decodeClean(CLUSTER, { name: 'c', per_connection_buffer_limit_bytes: 1024 });
    assert.equal(c['per_connection_buffer_limit_bytes'], 1024);
  });

  test('a UInt32Value may be written as a string of digits, as proto3 JSON allows', () => {
    const c = decodeClean(CLUSTER, { name: 'c', per_connection_buffer_limit_bytes: '1024' });
    assert.equal(c['per_connection_buffer_limit_bytes'], 1024);
  });

  test('a BoolValue is a plain boolean', () => {
    const c = decodeClean(CLUSTER, {
      name: 'c',
      respect_dns_ttl: true,
      common_lb_config: { ignore_new_hosts_until_first_hc: true },
    });
    assert.equal(field(c, 'common_lb_config', 'ignore_new_hosts_until_first_hc'), true);
  });

  test('a fraction is not an integer for a UInt32Value, and the message names the wrapper type', () => {
    const { issues } = decode(CLUSTER, { name: 'c', per_connection_buffer_limit_bytes: 1.5 });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [
        [
          'per_connection_buffer_limit_bytes',
          'expected an integer (google.protobuf.UInt32Value), got number 1.5',
        ],
      ],
    );
  });

  test('2^32 is out of range for a UInt32Value', () => {
    const { issues } = decode(CLUSTER, { name: 'c', per_connection_buffer_limit_bytes: 4294967296 });
    assert.equal(issues[0]?.path, 'per_connection_buffer_limit_bytes');
    assert.match(issues[0]?.message ?? '', /^value 4294967296 is out of range for uint32/);
  });
});

describe('enums', () => {
  test('an enum given by name keeps its name', () => {
    const c = decodeClean(CLUSTER, { name: 'c', lb_policy: 'RING_HASH' });
    assert.equal(c['lb_policy'], 'RING_HASH');
  });

  test('an enum given by number decodes to the name of that value', () => {
    const c = decodeClean(CLUSTER, { name: 'c', lb_policy: 2 });
    assert.equal(c['lb_policy'], 'RING_HASH');
  });

  test('an enum given as a numeric string ("2") decodes to the name of that value, as protobuf\'s JSON parser does', () => {
    const c = decodeClean(CLUSTER, { name: 'c', lb_policy: '2' });
    assert.equal(c['lb_policy'], 'RING_HASH');
  });

  test('an unknown enum name is rejected, listing the values and suggesting the near one', () => {
    const { issues } = decode(CLUSTER, { name: 'c', lb_policy: 'ROUND_ROBBIN' });
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'lb_policy');
    assert.match(
      issues[0]?.message ?? '',
      /^unknown value "ROUND_ROBBIN" for enum envoy\.config\.cluster\.v3\.Cluster\.LbPolicy; expected one of ROUND_ROBIN, .* \(did you mean ROUND_ROBIN\?\)$/,
    );
  });

  test('an undefined enum number survives decoding (proto3 enums are open) unless PGV says defined_only', () => {
    // Cluster.lb_policy carries (validate.rules).enum.defined_only.
    const { value, issues } = decode(CLUSTER, { name: 'c', lb_policy: 99 });
    assert.equal(field(value, 'lb_policy'), 99);
    assert.equal(issues.length, 1);
    assert.match(
      issues[0]?.message ?? '',
      /^value 99 is not a defined enum value; expected one of ROUND_ROBIN, /,
    );
  });
});

describe('64-bit integers', () => {
  test('int64 is accepted as a JSON number or a decimal string', () => {
    const a = decodeClean(SOCKET_OPTION, { level: 1, name: '2', int_value: -5 });
    assert.deepEqual([a['level'], a['name'], a['int_value']], [1, 2, -5]);
  });

  test('an int64 beyond 2^53 is kept exactly, as a bigint', () => {
    const a = decodeClean(SOCKET_OPTION, {
      level: '9007199254740993',
      name: 9007199254740993n,
      int_value: 1,
    });
    assert.equal(a['level'], 9007199254740993n);
    assert.equal(a['name'], 9007199254740993n);
  });

  test('the largest uint64 is kept exactly, as a bigint', () => {
    const m = decodeClean('envoy.config.bootstrap.v3.MemoryAllocatorManager', {
      bytes_to_release: '18446744073709551615',
    });
    assert.equal(m['bytes_to_release'], 18446744073709551615n);
  });

  test('2^63 is out of range for int64', () => {
    const { issues } = decode(SOCKET_OPTION, { level: 1, name: 2, int_value: '9223372036854775808' });
    assert.equal(issues[0]?.path, 'int_value');
    assert.equal(
      issues[0]?.message,
      'value 9223372036854775808 is out of range for int64 (-9223372036854775808 to 9223372036854775807)',
    );
  });
});

describe('bytes', () => {
  test('bytes are standard base64 and decode to a Uint8Array', () => {
    const h = decodeClean('envoy.config.core.v3.HeaderValue', { key: 'x-a', raw_value: 'aGVsbG8=' });
    assert.deepEqual(h['raw_value'], new Uint8Array(Buffer.from('hello')));
  });

  test('base64 without its padding is accepted, as protobuf does', () => {
    const h = decodeClean('envoy.config.core.v3.HeaderValue', { key: 'x-a', raw_value: 'aGVsbG8' });
    assert.deepEqual(h['raw_value'], new Uint8Array(Buffer.from('hello')));
  });

  test('URL-safe base64 is accepted', () => {
    const h = decodeClean('envoy.config.core.v3.HeaderValue', { key: 'x-a', raw_value: '-_8' });
    assert.deepEqual(h['raw_value'], new Uint8Array([0xfb, 0xff]));
  });

  test('text that is not base64 is rejected', () => {
    const { issues } = decode('envoy.config.core.v3.HeaderValue', { key: 'x-a', raw_value: 'not base64!' });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [['raw_value', 'expected base64-encoded bytes, got string "not base64!"']],
    );
  });
});

describe('Struct and Value', () => {
  test('Metadata.filter_metadata keeps arbitrary JSON (numbers, lists, null, nested mappings) as plain data', () => {
    const json = {
      filter_metadata: {
        'envoy.lb': { canary: true, weight: 1.5, tags: ['a', null, 2], nested: { deep: {} } },
      },
    };
    const m = decodeClean('envoy.config.core.v3.Metadata', json);
    assert.deepEqual(m, json);
  });

  test('a Struct must be a mapping', () => {
    const { issues } = decode('envoy.config.core.v3.Metadata', { filter_metadata: { 'envoy.lb': ['x'] } });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [['filter_metadata["envoy.lb"]', 'expected a mapping (google.protobuf.Struct), got a list']],
    );
  });

  test('a YAML integer beyond 2^53 in a Struct becomes a double, as Struct numbers are', () => {
    const m = decodeClean('envoy.config.core.v3.Metadata', {
      filter_metadata: { f: { big: 9007199254740993n } },
    });
    assert.equal(field(m, 'filter_metadata', 'f', 'big'), 9007199254740992);
  });
});

describe('Any', () => {
  test('an Any is decoded as the message its @type names, keeping the @type', () => {
    const f = decodeClean('envoy.config.listener.v3.Filter', {
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: { '@type': TCP_PROXY_URL, stat_prefix: 's', cluster: 'c', idle_timeout: '3s' },
    });
    assert.deepEqual(f['typed_config'], {
      '@type': TCP_PROXY_URL,
      stat_prefix: 's',
      cluster: 'c',
      idle_timeout: { seconds: 3, nanos: 0 },
    });
  });

  test('an Any holding a well-known type has its value in "value", decoded in that type\'s JSON form', () => {
    const m = decodeClean('envoy.config.core.v3.Metadata', {
      typed_filter_metadata: {
        n: { '@type': 'type.googleapis.com/google.protobuf.UInt32Value', value: '7' },
      },
    });
    assert.deepEqual(field(m, 'typed_filter_metadata', 'n'), {
      '@type': 'type.googleapis.com/google.protobuf.UInt32Value',
      value: 7,
    });
  });

  test('the fields inside an Any are checked against its type, with the path through typed_config', () => {
    const { issues } = decode('envoy.config.listener.v3.Filter', {
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: { '@type': TCP_PROXY_URL, stat_prefix: 's', cluster: 'c', idle_timeout: 3 },
    });
    assert.deepEqual(
      issues.map((i) => i.path),
      ['typed_config.idle_timeout'],
    );
  });
});

describe('TypedStruct', () => {
  for (const ts of ['xds.type.v3.TypedStruct', 'udpa.type.v1.TypedStruct']) {
    test(`${ts} is resolved into the message its type_url names, with the inner fields decoded`, () => {
      const f = decodeClean('envoy.config.listener.v3.Filter', {
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: {
          '@type': `type.googleapis.com/${ts}`,
          type_url: TCP_PROXY_URL,
          value: { statPrefix: 's', cluster: 'c', idle_timeout: '3s', max_connect_attempts: '2' },
        },
      });
      assert.deepEqual(f['typed_config'], {
        '@type': TCP_PROXY_URL,
        stat_prefix: 's',
        cluster: 'c',
        idle_timeout: { seconds: 3, nanos: 0 },
        max_connect_attempts: 2,
      });
    });
  }

  test('an unknown field inside a TypedStruct value is reported with its path through value', () => {
    const { issues } = decode('envoy.config.listener.v3.Filter', {
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: {
        '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
        type_url: TCP_PROXY_URL,
        value: { stat_prefix: 's', cluster: 'c', bogus: 1 },
      },
    });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [
        [
          'typed_config.value.bogus',
          "unknown field 'bogus' in envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        ],
      ],
    );
  });
});

describe('Envoy leniencies', () => {
  test('a single mapping where a list is expected is read as a list of one', () => {
    const r = decodeClean('envoy.config.route.v3.RouteConfiguration', {
      virtual_hosts: { name: 'v', domains: ['*'] },
    });
    assert.deepEqual(r['virtual_hosts'], [{ name: 'v', domains: ['*'] }]);
  });

  test('an issue inside that single mapping has index [0] in its path', () => {
    const { issues } = decode('envoy.config.route.v3.RouteConfiguration', { virtual_hosts: { name: 'v' } });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [['virtual_hosts[0].domains', 'at least one entry is required']],
    );
  });

  test('a scalar where a list is expected is not wrapped, but rejected', () => {
    const { issues } = decode('envoy.config.route.v3.VirtualHost', { name: 'v', domains: '*' });
    // (A second issue, 'at least one entry is required', follows for the now-empty field.)
    assert.deepEqual(issues[0] && [issues[0].path, issues[0].message], [
      'domains',
      'expected a list, got string "*"',
    ]);
  });

  test('lowerCamelCase field names decode to the proto field names', () => {
    const c = decodeClean(CLUSTER, {
      name: 'c',
      connectTimeout: '0.25s',
      perConnectionBufferLimitBytes: 1024,
      lbPolicy: 'RING_HASH',
      loadAssignment: {
        clusterName: 'c',
        endpoints: [
          {
            lbEndpoints: [
              { endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 80 } } } },
            ],
          },
        ],
      },
    });
    assert.deepEqual(Object.keys(c).sort(), [
      'connect_timeout',
      'lb_policy',
      'load_assignment',
      'name',
      'per_connection_buffer_limit_bytes',
    ]);
    assert.equal(
      field(
        c,
        'load_assignment',
        'endpoints',
        0,
        'lb_endpoints',
        0,
        'endpoint',
        'address',
        'socket_address',
        'port_value',
      ),
      80,
    );
  });

  test('the same field in snake_case and lowerCamelCase is an error', () => {
    const { issues } = decode(CLUSTER, { name: 'c', lb_policy: 'ROUND_ROBIN', lbPolicy: 'RANDOM' });
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [['lb_policy', "field given twice (as 'lb_policy' and 'lbPolicy')"]],
    );
  });

  test('null means "not set" (proto3 JSON)', () => {
    const c = decodeClean(CLUSTER, { name: 'c', connect_timeout: null });
    assert.equal('connect_timeout' in c, false);
  });
});

describe('router filter given by name only (loadConfig)', () => {
  test('an HttpFilter named envoy.filters.http.router without typed_config loads with no issues and resolves', () => {
    const loaded = loadConfig(
      {
        configYaml: `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config: { virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200 } }] }] }
          http_filters:
          - name: envoy.filters.http.router
`,
      },
      { registry: new ExtensionRegistry(compiledInExtensions) },
    );
    assert.deepEqual(loaded.issues, []);
    const hcm = field(
      loaded.message,
      'static_resources',
      'listeners',
      0,
      'filter_chains',
      0,
      'filters',
      0,
      'typed_config',
    );
    const routerFilter = field(hcm, 'http_filters', 0);
    assert.ok(routerFilter !== null && typeof routerFilter === 'object' && !Array.isArray(routerFilter));
    assert.equal('typed_config' in routerFilter, false, 'the decoded message has no typed_config');
    const resolved = loaded.extensions.get(routerFilter as ProtoMessage);
    assert.ok(resolved !== undefined, 'the HttpFilter message has a resolved extension');
    assert.equal(resolved.name, 'envoy.filters.http.router');
    assert.equal(resolved.category, 'envoy.filters.http');
    assert.equal(resolved.typeUrl, 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
  });
});

describe('--config-yaml merged over -c (protobuf MergeFrom)', () => {
  const FILE_YAML = `
node: { id: file-node, cluster: file-cluster }
stats_flush_interval: 5s
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 9901 } }
static_resources:
  clusters:
  - name: from-file
    connect_timeout: 1s
    load_assignment:
      cluster_name: from-file
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 80 } } } }] }]
`;
  const FLAG_YAML = `
node: { id: flag-node }
stats_flush_interval: 10s
admin:
  address: { pipe: { path: /tmp/legate-admin.sock } }
static_resources:
  clusters:
  - name: from-flag
    connect_timeout: 2s
    load_assignment:
      cluster_name: from-flag
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.0.0.2, port_value: 80 } } } }] }]
`;

  /** Loads `fileYaml` from a temporary file (removed afterwards) with `flagYaml` as --config-yaml. */
  function loadMerged(fileYaml = FILE_YAML, flagYaml = FLAG_YAML): ReturnType<typeof loadConfig> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-merge-'));
    try {
      const file = path.join(dir, 'envoy.yaml');
      fs.writeFileSync(file, fileYaml);
      return loadConfig({ configPath: file, configYaml: flagYaml }, { registry: new ExtensionRegistry() });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('the merged config has no issues', () => {
    assert.deepEqual(loadMerged().issues, []);
  });

  test('a scalar set in both takes the --config-yaml value', () => {
    const m = loadMerged().message;
    assert.deepEqual(field(m, 'stats_flush_interval'), { seconds: 10, nanos: 0 });
  });

  test('repeated fields append: the clusters of both, file first', () => {
    const clusters = field(loadMerged().message, 'static_resources', 'clusters');
    assert.ok(Array.isArray(clusters));
    assert.deepEqual(
      clusters.map((c) => field(c, 'name')),
      ['from-file', 'from-flag'],
    );
  });

  test('nested messages merge field by field: a field only the file sets survives', () => {
    const m = loadMerged().message;
    assert.deepEqual(field(m, 'node'), { id: 'flag-node', cluster: 'file-cluster' });
  });

  test('a oneof member set by --config-yaml replaces the other member the file set', () => {
    const m = loadMerged().message;
    assert.deepEqual(field(m, 'admin', 'address'), { pipe: { path: '/tmp/legate-admin.sock' } });
  });

  test('an override valid only once merged (admin port alone) is accepted, as Envoy validates after MergeFrom', () => {
    const loaded = loadMerged(FILE_YAML, 'admin: { address: { socket_address: { port_value: 9902 } } }');
    assert.deepEqual(loaded.issues, []);
    assert.deepEqual(field(loaded.message, 'admin', 'address', 'socket_address'), {
      address: '127.0.0.1',
      port_value: 9902,
    });
  });

  test('a rule broken in the merged result is reported once, at its path in the merged config', () => {
    const loaded = loadMerged(
      FILE_YAML,
      'static_resources: { clusters: [ { name: bad, connect_timeout: 1s, lb_policy: 99 } ] }\nadmin: { address: { socket_address: { address: "" } } }',
    );
    assert.deepEqual(
      loaded.errors.map((e) => [e.path, e.message.replace(/;.*/, '')]),
      [
        ['static_resources.clusters[1].lb_policy', 'value 99 is not a defined enum value'],
        ['admin.address.socket_address.address', 'value is required and must not be empty'],
      ],
    );
  });

  test('an extension in the file is resolved once when merging (one issue for an unsupported filter)', () => {
    const fileYaml = `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config: { virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: c } }] }] }
          http_filters:
          - name: envoy.filters.http.lua
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua }
          - name: envoy.filters.http.router
`;
    const flagYaml = `
static_resources:
  clusters:
  - name: c
    connect_timeout: 1s
    load_assignment:
      cluster_name: c
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } } }] }]
`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-merge-'));
    try {
      const file = path.join(dir, 'envoy.yaml');
      fs.writeFileSync(file, fileYaml);
      const loaded = loadConfig(
        { configPath: file, configYaml: flagYaml },
        { registry: new ExtensionRegistry(compiledInExtensions) },
      );
      const hcmAt = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
      assert.deepEqual(
        loaded.errors.map((e) => [e.kind, e.path]),
        [['unsupported', `${hcmAt}.http_filters[0]`]],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
