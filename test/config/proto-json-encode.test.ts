/**
 * The proto3-JSON printer of decoded messages (`src/config/proto-json-encode.ts`): the
 * forms protobuf's JSON printer gives each kind of field, Envoy's redaction of sensitive
 * fields, FieldMask trimming, and the round trip through the decoder on every example
 * configuration.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { IssueSink } from '../../src/config/errors.ts';
import { ProtoJsonDecoder } from '../../src/config/proto-json.ts';
import {
  formatDuration,
  formatTimestamp,
  maskFitsMessage,
  ProtoJsonEncoder,
  parseFieldMask,
  REDACTED,
  trimMessage,
} from '../../src/config/proto-json-encode.ts';
import { protoSchema } from '../../src/config/proto-schema.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type { ProtoMessage } from '../../src/config/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';

function decode(typeName: string, json: unknown): ProtoMessage {
  const sink = new IssueSink();
  const value = new ProtoJsonDecoder(protoSchema(), sink).decode(typeName, json);
  assert.deepEqual(
    sink.errors.map((e) => e.message),
    [],
    `decoding ${typeName}`,
  );
  assert.ok(value !== undefined);
  return value;
}

function encode(typeName: string, msg: ProtoMessage, redact = false): unknown {
  return new ProtoJsonEncoder(protoSchema(), { redact }).encode(typeName, msg);
}

describe('proto3 JSON forms', () => {
  test('64-bit integers print as strings, 32-bit ones as numbers, wrappers as their value', () => {
    const cluster = decode('envoy.config.cluster.v3.Cluster', {
      name: 'c',
      per_connection_buffer_limit_bytes: 1024,
      max_requests_per_connection: 7,
      dns_refresh_rate: '2.500s',
      circuit_breakers: { thresholds: [{ max_connections: 5, max_requests: '9' }] },
      lb_subset_config: { fallback_policy: 'ANY_ENDPOINT' },
      outlier_detection: { consecutive_5xx: 3, max_ejection_time: '300s' },
      common_lb_config: { healthy_panic_threshold: { value: 40.5 } },
      ring_hash_lb_config: { minimum_ring_size: '2048' },
    });
    const out = encode('envoy.config.cluster.v3.Cluster', cluster) as Record<string, Record<string, unknown>>;
    assert.equal(out['per_connection_buffer_limit_bytes'], 1024 as unknown);
    assert.equal(out['dns_refresh_rate'], '2.500s' as unknown);
    assert.deepEqual(out['ring_hash_lb_config'], { minimum_ring_size: '2048' });
    assert.deepEqual(out['circuit_breakers'], { thresholds: [{ max_connections: 5, max_requests: 9 }] });
    assert.deepEqual(out['common_lb_config'], { healthy_panic_threshold: { value: 40.5 } });
    assert.deepEqual(out['lb_subset_config'], { fallback_policy: 'ANY_ENDPOINT' });
  });

  test('proto3 scalars at their default are left out; oneof members and wrappers are kept', () => {
    const address = decode('envoy.config.core.v3.Address', {
      socket_address: {
        address: '::',
        resolver_name: '',
        port_value: 0,
        ipv4_compat: false,
        protocol: 'TCP',
      },
    });
    // port_value is in the port_specifier oneof: it has presence, 0 prints.
    assert.deepEqual(encode('envoy.config.core.v3.Address', address), {
      socket_address: { address: '::', port_value: 0 },
    });
    const empty = decode('envoy.config.core.v3.Metadata', { filter_metadata: {} });
    assert.deepEqual(encode('envoy.config.core.v3.Metadata', empty), {}, 'an empty map is not printed');
    const listener = decode('envoy.config.listener.v3.Listener', { per_connection_buffer_limit_bytes: 0 });
    assert.deepEqual(encode('envoy.config.listener.v3.Listener', listener), {
      per_connection_buffer_limit_bytes: 0,
    });
  });

  test('durations, timestamps, bytes, enums by name, Struct as plain JSON', () => {
    assert.equal(formatDuration(5, 0), '5s');
    assert.equal(formatDuration(0, 250_000_000), '0.250s');
    assert.equal(formatDuration(1, 1000), '1.000001s');
    assert.equal(formatDuration(-1, -500_000_000), '-1.500s');
    assert.equal(formatDuration(0, 1), '0.000000001s');
    assert.equal(formatTimestamp(1_700_000_000, 0), '2023-11-14T22:13:20Z');
    assert.equal(formatTimestamp(1_700_000_000, 123_000_000), '2023-11-14T22:13:20.123Z');
    const source = decode('envoy.config.core.v3.DataSource', { inline_bytes: 'aGVsbG8=' });
    assert.deepEqual(encode('envoy.config.core.v3.DataSource', source), { inline_bytes: 'aGVsbG8=' });
    const metadata = decode('envoy.config.core.v3.Metadata', {
      filter_metadata: { 'envoy.lb': { canary: true, weight: 2, tags: ['a', null], nested: { k: 'v' } } },
    });
    assert.deepEqual(encode('envoy.config.core.v3.Metadata', metadata), {
      filter_metadata: { 'envoy.lb': { canary: true, weight: 2, tags: ['a', null], nested: { k: 'v' } } },
    });
  });

  test('an Any prints its message beside @type; a well-known type inside an Any as {"@type", "value"}', () => {
    const filter = decode('envoy.config.listener.v3.Filter', {
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        stat_prefix: 's',
        cluster: 'c',
        idle_timeout: '0s',
      },
    });
    assert.deepEqual(encode('envoy.config.listener.v3.Filter', filter), {
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        stat_prefix: 's',
        cluster: 'c',
        idle_timeout: '0s',
      },
    });
    const wrapped = decode('envoy.config.core.v3.TypedExtensionConfig', {
      name: 'x',
      typed_config: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' },
    });
    assert.deepEqual(encode('envoy.config.core.v3.TypedExtensionConfig', wrapped), {
      name: 'x',
      typed_config: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.500s' },
    });
  });

  test('fields print in declaration order under their proto names', () => {
    const listener = decode('envoy.config.listener.v3.Listener', {
      perConnectionBufferLimitBytes: 10,
      address: { socketAddress: { address: '127.0.0.1', portValue: 1 } },
      name: 'l',
    });
    assert.deepEqual(Object.keys(encode('envoy.config.listener.v3.Listener', listener) as object), [
      'name',
      'address',
      'per_connection_buffer_limit_bytes',
    ]);
  });
});

describe('redaction (Envoy MessageUtil::redact)', () => {
  const secret = {
    name: 'server_cert',
    tls_certificate: {
      certificate_chain: { inline_string: 'CERT' },
      private_key: { inline_string: 'KEY' },
      password: { inline_bytes: 'c2VjcmV0' },
    },
  };

  test('sensitive fields and everything below them print [redacted]; the rest is untouched', () => {
    const msg = decode('envoy.extensions.transport_sockets.tls.v3.Secret', secret);
    const out = encode('envoy.extensions.transport_sockets.tls.v3.Secret', msg, true);
    assert.deepEqual(out, {
      name: 'server_cert',
      tls_certificate: {
        certificate_chain: { inline_string: 'CERT' },
        private_key: { inline_string: REDACTED },
        password: { inline_bytes: Buffer.from(REDACTED).toString('base64') },
      },
    });
  });

  test('without redact the secret prints as configured', () => {
    const msg = decode('envoy.extensions.transport_sockets.tls.v3.Secret', secret);
    const out = encode('envoy.extensions.transport_sockets.tls.v3.Secret', msg) as {
      tls_certificate: { private_key: unknown };
    };
    assert.deepEqual(out.tls_certificate.private_key, { inline_string: 'KEY' });
  });

  test('a sensitive field inside an Any is found through the Any', () => {
    const sds = decode('envoy.config.core.v3.TransportSocket', {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: {
          tls_certificates: [
            { certificate_chain: { filename: '/c.pem' }, private_key: { filename: '/k.pem' } },
          ],
        },
      },
    });
    const out = encode('envoy.config.core.v3.TransportSocket', sds, true) as {
      typed_config: { common_tls_context: { tls_certificates: Array<Record<string, unknown>> } };
    };
    assert.deepEqual(out.typed_config.common_tls_context.tls_certificates[0], {
      certificate_chain: { filename: '/c.pem' },
      private_key: { filename: REDACTED },
    });
  });
});

describe('FieldMask', () => {
  const listener = (): ProtoMessage =>
    decode('envoy.config.listener.v3.Listener', {
      name: 'l',
      address: { socket_address: { address: '127.0.0.1', port_value: 80 } },
      stat_prefix: 'p',
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.echo' }] }],
    });

  test('keeps the named fields, down through singular messages; a repeated field is kept whole', () => {
    const { tree } = parseFieldMask('name,address.socket_address.port_value,filter_chains.filters');
    assert.deepEqual(trimMessage(protoSchema(), 'envoy.config.listener.v3.Listener', listener(), tree), {
      name: 'l',
      address: { socket_address: { port_value: 80 } },
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.echo' }] }],
    });
  });

  test('a shorter path wins over a longer one under it; camelCase segments are their snake_case fields', () => {
    const { tree } = parseFieldMask('address.socketAddress.portValue,address');
    assert.deepEqual(trimMessage(protoSchema(), 'envoy.config.listener.v3.Listener', listener(), tree), {
      address: { socket_address: { address: '127.0.0.1', port_value: 80 } },
    });
  });

  test('inside an Any the mask applies to the message it holds, and @type stays', () => {
    const dump: ProtoMessage = {
      listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', ...listener() },
      last_updated: { seconds: 1, nanos: 0 },
    };
    const type = 'envoy.admin.v3.ListenersConfigDump.StaticListener';
    const { tree, paths } = parseFieldMask('listener.name,listener.address');
    assert.ok(maskFitsMessage(protoSchema(), type, dump, paths));
    assert.deepEqual(trimMessage(protoSchema(), type, dump, tree), {
      listener: {
        '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 80 } },
      },
    });
    assert.equal(maskFitsMessage(protoSchema(), type, dump, parseFieldMask('listener.nope').paths), false);
    assert.equal(maskFitsMessage(protoSchema(), type, dump, parseFieldMask('nope').paths), false);
    assert.equal(
      maskFitsMessage(protoSchema(), type, dump, parseFieldMask('listener.filter_chains.filters').paths),
      false,
      'a path cannot go through a repeated field',
    );
  });
});

/** Every example this repository and its Envoy examples hold that decodes as a bootstrap. */
function exampleBootstraps(): string[] {
  const files = [
    ...fs.readdirSync(path.join(ROOT, 'configs')).map((f) => path.join(ROOT, 'configs', f)),
    ...fs.readdirSync(path.join(ROOT, 'bench/configs')).map((f) => path.join(ROOT, 'bench/configs', f)),
  ];
  const examples = path.resolve(ROOT, '../shared/envoy-examples');
  if (fs.existsSync(examples)) {
    for (const f of fs.readdirSync(examples, { recursive: true })) {
      if (String(f).endsWith('.yaml')) files.push(path.join(examples, String(f)));
    }
  }
  return files.filter((f) => f.endsWith('.yaml'));
}

test('every example bootstrap printed and decoded again is the same message, with no new issue', () => {
  let checked = 0;
  for (const file of exampleBootstraps()) {
    const registry = new ExtensionRegistry(compiledInExtensions);
    const loaded = loadConfig({ configPath: file }, { registry });
    if (loaded.kind !== 'bootstrap' || loaded.message === undefined) continue;
    const json = encode(BOOTSTRAP, loaded.message);
    const again = loadConfig(
      { configYaml: JSON.stringify(json) },
      { registry: new ExtensionRegistry(compiledInExtensions) },
    );
    assert.deepEqual(
      again.errors.map((e) => e.message),
      loaded.errors.map((e) => e.message),
      `${file}: the same errors`,
    );
    assert.deepEqual(encode(BOOTSTRAP, again.message ?? {}), json, `${file}: the same message`);
    checked++;
  }
  assert.ok(checked >= 4, `${checked} examples checked`);
});
