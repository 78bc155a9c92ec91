/**
 * The bootstrap's `layered_runtime` as Envoy's loader reads it: static layers flattened
 * with '.', FractionalPercent leaves, Envoy's default layers when none are given, and the
 * errors Envoy's loader raises (duplicate layer names, two admin layers, list or null
 * values), plus the RTDS layer this build refuses, each with its field path. Decoded from
 * real YAML through the config loader. Envoy counterpart: test/common/runtime/runtime_impl_test.cc
 * (StaticLoaderImplTest, LoaderImplTest layer errors).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { formatPath } from '../../src/config/errors.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type { ProtoMessage } from '../../src/config/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';
import { runtimeConfig } from '../../src/runtime/config.ts';

function bootstrap(yaml: string): ProtoMessage {
  const loaded = loadConfig({ configYaml: yaml }, { registry: new ExtensionRegistry(compiledInExtensions) });
  // The load reports the runtime's own errors too (--mode validate shows them); anything else
  // would mean the YAML is not a valid Envoy bootstrap.
  assert.deepEqual(
    loaded.issues.filter((i) => i.kind !== 'warning' && !i.path.startsWith('layered_runtime.layers')),
    [],
    'the YAML is a valid Envoy bootstrap',
  );
  assert.ok(loaded.message !== undefined);
  return loaded.message;
}

function errors(yaml: string): string[] {
  return runtimeConfig(bootstrap(yaml)).errors.map((e) => `${formatPath(e.step)}: ${e.message}`);
}

test('--mode validate reports the runtime errors: the load itself finds them', () => {
  const loaded = loadConfig(
    {
      configYaml:
        'layered_runtime: { layers: [ { name: a, admin_layer: {} }, { name: a, static_layer: {} } ] }',
    },
    { registry: new ExtensionRegistry(compiledInExtensions) },
  );
  assert.deepEqual(
    loaded.issues.map((i) => [i.kind, i.path, i.message]),
    [['invalid', 'layered_runtime.layers[1].name', 'Duplicate layer name: a']],
  );
});

describe('layered_runtime config', () => {
  test("no layered_runtime (or no layers): Envoy's default, an empty static layer 'base' and an admin layer 'admin'", () => {
    for (const yaml of ['{}', 'layered_runtime: {}', 'layered_runtime: { layers: [] }']) {
      const c = runtimeConfig(bootstrap(yaml));
      assert.deepEqual(
        c.layers.map((l) => [l.kind, l.name]),
        [
          ['static', 'base'],
          ['admin', 'admin'],
        ],
      );
      assert.deepEqual(c.errors, []);
    }
  });

  test('a static layer flattens nested keys with dots; a numerator/denominator struct is one leaf', () => {
    const c = runtimeConfig(
      bootstrap(`
layered_runtime:
  layers:
  - name: static_layer_0
    static_layer:
      health_check: { min_interval: 5 }
      upstream:
        healthy_panic_threshold: 25
        use_http2: false
      envoy.resource_limits.listener.example.connection_limit: 10000
      frac: { numerator: 5, denominator: TEN_THOUSAND }
      empty: {}
      text: hello
`),
    );
    const first = c.layers[0];
    assert.ok(first?.kind === 'static');
    assert.deepEqual(
      [...first.values].map(([k, v]) => [k, v.raw]),
      [
        ['health_check.min_interval', '5'],
        ['upstream.healthy_panic_threshold', '25'],
        ['upstream.use_http2', 'false'],
        ['envoy.resource_limits.listener.example.connection_limit', '10000'],
        ['frac', '{"numerator":5,"denominator":"TEN_THOUSAND"}'],
        ['empty', '{}'],
        ['text', 'hello'],
      ],
    );
    assert.deepEqual(first.values.get('frac')?.fractional, { numerator: 5, denominator: 'TEN_THOUSAND' });
    assert.deepEqual(first.values.get('empty')?.fractional, { numerator: 0, denominator: 'HUNDRED' });
    assert.equal(first.values.get('upstream.use_http2')?.bool, false);
  });

  test('disk and admin layers keep their settings, in order', () => {
    const c = runtimeConfig(
      bootstrap(`
layered_runtime:
  layers:
  - { name: disk_layer_0, disk_layer: { symlink_root: /srv/runtime/current, subdirectory: envoy } }
  - name: disk_layer_1
    disk_layer: { symlink_root: /srv/runtime/current, subdirectory: envoy_override, append_service_cluster: true }
  - { name: admin_layer_0, admin_layer: {} }
`),
    );
    assert.deepEqual(c.errors, []);
    assert.deepEqual(
      c.layers.map((l) =>
        l.kind === 'disk'
          ? [l.name, l.symlinkRoot, l.subdirectory, l.appendServiceCluster]
          : [l.name, l.kind],
      ),
      [
        ['disk_layer_0', '/srv/runtime/current', 'envoy', false],
        ['disk_layer_1', '/srv/runtime/current', 'envoy_override', true],
        ['admin_layer_0', 'admin'],
      ],
    );
  });

  test("Envoy's loader errors, each with its path", () => {
    assert.deepEqual(
      errors(`
layered_runtime:
  layers:
  - { name: a, static_layer: { x: 1 } }
  - { name: a, admin_layer: {} }
  - { name: b, admin_layer: {} }
  - { name: c, admin_layer: {} }
  - name: d
    static_layer:
      ok: 1
      nested: { list: [1, 2], nothing: null }
`),
      [
        'layered_runtime.layers[1].name: Duplicate layer name: a',
        'layered_runtime.layers[3].admin_layer: Too many admin layers specified in LayeredRuntime, at most one may be specified',
        'layered_runtime.layers[4].static_layer["nested"]["list"]: Invalid runtime entry value for nested.list',
        'layered_runtime.layers[4].static_layer["nested"]["nothing"]: Invalid runtime entry value for nested.nothing',
      ],
    );
  });

  test('an RTDS layer is refused: not supported yet, naming the field', () => {
    const [e] = errors(`
layered_runtime:
  layers:
  - name: rtds
    rtds_layer:
      name: some_resource
      rtds_config: { path_config_source: { path: /tmp/rtds.yaml } }
`);
    assert.match(
      e ?? '',
      /^layered_runtime\.layers\[0\]\.rtds_layer: RTDS runtime layers are not supported yet/,
    );
  });

  test('a runtime feature key this build does not declare is a warning, not an error', () => {
    const c = runtimeConfig(
      bootstrap(`
layered_runtime:
  layers:
  - { name: s, static_layer: { envoy.reloadable_features.no_such_feature: true } }
`),
    );
    assert.deepEqual(c.errors, []);
    assert.match(
      c.warnings[0]?.message ?? '',
      /envoy\.reloadable_features\.no_such_feature: this build has no such/,
    );
  });
});
