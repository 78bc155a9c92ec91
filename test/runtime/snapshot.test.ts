/**
 * Runtime entries and snapshots: the typed readings of a value (booleans, integers rounded
 * down, doubles, FractionalPercent), layering (later layers win), `featureEnabled` with an
 * integer percent and with a FractionalPercent default, `runtimeFeatureEnabled` against the
 * declared defaults, and immutability once built. Envoy counterpart:
 * test/common/runtime/runtime_impl_test.cc (SnapshotImpl, featureEnabled).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entryFromText, entryFromValue } from '../../src/runtime/entry.ts';
import { fractionalFromObject } from '../../src/runtime/fractional-percent.ts';
import { SnapshotImpl } from '../../src/runtime/snapshot.ts';
import type { RuntimeEntry, RuntimeLayer } from '../../src/runtime/types.ts';

function layer(name: string, values: Record<string, string>): RuntimeLayer {
  return { name, values: new Map(Object.entries(values).map(([k, v]) => [k, entryFromText(v)])) };
}

describe('runtime entry readings', () => {
  test('true / false in any case and with spaces around are booleans, nothing else', () => {
    assert.deepEqual(entryFromText(' TRUE\n'), { raw: ' TRUE\n', bool: true });
    assert.deepEqual(entryFromText('False'), { raw: 'False', bool: false });
  });

  test('an integer is a boolean (non-zero), a double and a non-negative integer', () => {
    assert.deepEqual(entryFromText('25'), { raw: '25', bool: true, double: 25, uint: 25 });
    assert.deepEqual(entryFromText('0'), { raw: '0', bool: false, double: 0, uint: 0 });
    assert.deepEqual(entryFromText('-3'), { raw: '-3', bool: true, double: -3 });
  });

  test('a fraction has a double and, rounded down, an integer; no boolean', () => {
    assert.deepEqual(entryFromText('3.9'), { raw: '3.9', double: 3.9, uint: 3 });
    assert.deepEqual(entryFromText('1e3'), { raw: '1e3', double: 1000, uint: 1000 });
  });

  test('FractionalPercent text in YAML flow or block form', () => {
    assert.deepEqual(entryFromText('{numerator: 5, denominator: TEN_THOUSAND}').fractional, {
      numerator: 5,
      denominator: 'TEN_THOUSAND',
    });
    assert.deepEqual(entryFromText('numerator: 7\ndenominator: MILLION').fractional, {
      numerator: 7,
      denominator: 'MILLION',
    });
    assert.deepEqual(entryFromText('numerator: 40').fractional, { numerator: 40, denominator: 'HUNDRED' });
  });

  test('text that is not a FractionalPercent keeps only its raw value', () => {
    for (const raw of [
      'hello',
      '{numerator: 5, denominator: NONSENSE}',
      '{numerator: -1}',
      '{other: 1}',
      '[',
      '',
    ]) {
      assert.deepEqual(entryFromText(raw), { raw }, raw);
    }
  });

  test('static layer leaves: numbers and booleans as text, a struct as JSON with its fraction', () => {
    assert.deepEqual(entryFromValue(20), { raw: '20', bool: true, double: 20, uint: 20 });
    assert.deepEqual(entryFromValue(false), { raw: 'false', bool: false });
    assert.deepEqual(entryFromValue({ numerator: 52, denominator: 'HUNDRED' }), {
      raw: '{"numerator":52,"denominator":"HUNDRED"}',
      fractional: { numerator: 52, denominator: 'HUNDRED' },
    });
    assert.equal(fractionalFromObject({ numerator: '12', denominator: 2 })?.denominator, 'MILLION');
  });
});

describe('runtime snapshot', () => {
  const snapshot = SnapshotImpl.fromLayers([
    layer('base', { a: '1', b: 'base', c: 'true', shared: '10' }),
    layer('override', { shared: '20', d: '2.5' }),
  ]);

  test('later layers override earlier ones; each layer keeps its own values', () => {
    assert.equal(snapshot.get('shared'), '20');
    assert.equal(snapshot.getInteger('shared', 0), 20);
    assert.equal(snapshot.get('b'), 'base');
    assert.deepEqual(
      snapshot.layers.map((l) => [l.name, l.values.get('shared')?.raw]),
      [
        ['base', '10'],
        ['override', '20'],
      ],
    );
    assert.equal(snapshot.entries().size, 5);
  });

  test('typed reads fall back to the default when the key is absent or not of that type', () => {
    assert.equal(snapshot.getInteger('missing', 7), 7);
    assert.equal(snapshot.getInteger('b', 7), 7, 'a string has no integer reading');
    assert.equal(snapshot.getInteger('d', 7), 2, 'a double is rounded down');
    assert.equal(snapshot.getDouble('d', 0), 2.5);
    assert.equal(snapshot.getBoolean('c', false), true);
    assert.equal(snapshot.getBoolean('b', true), true);
    assert.equal(snapshot.exists('a'), true);
    assert.equal(snapshot.exists('nope'), false);
    assert.equal(snapshot.get('nope'), undefined);
  });

  test('featureEnabled with an integer percent: random % 100 below the value', () => {
    const s = SnapshotImpl.fromLayers([layer('l', { p: '30', big: '250' })]);
    assert.equal(s.featureEnabled('p', 0, 29), true);
    assert.equal(s.featureEnabled('p', 0, 30), false);
    assert.equal(s.featureEnabled('p', 0, 129), true, 'the random value is taken modulo 100');
    assert.equal(s.featureEnabled('missing', 50, 49), true, 'absent: the default percent');
    assert.equal(s.featureEnabled('missing', 50, 50), false);
    assert.equal(s.featureEnabled('big', 0, 99), true, 'more than 100 is always on');
    assert.equal(s.featureEnabled('missing', 0), false, '0% needs no random draw');
    assert.equal(s.featureEnabled('missing', 100), true);
  });

  test('featureEnabled with a FractionalPercent default: the value may be a fraction or a percent', () => {
    const s = SnapshotImpl.fromLayers([
      layer('l', { frac: '{numerator: 5, denominator: TEN_THOUSAND}', pct: '2', big: '101', str: 'x' }),
    ]);
    const dflt = { numerator: 1, denominator: 'MILLION' } as const;
    assert.equal(s.featureEnabled('frac', dflt, 4), true);
    assert.equal(s.featureEnabled('frac', dflt, 5), false);
    assert.equal(s.featureEnabled('frac', dflt, 10_004), true, 'random % 10000');
    assert.equal(s.featureEnabled('pct', dflt, 1), true, 'an integer is a percent');
    assert.equal(s.featureEnabled('pct', dflt, 2), false);
    assert.equal(s.featureEnabled('big', dflt, 99), true, 'an integer past 100 is always on');
    assert.equal(s.featureEnabled('missing', dflt, 0), true, 'absent: the default fraction');
    assert.equal(s.featureEnabled('missing', dflt, 1), false);
    assert.equal(s.featureEnabled('str', dflt, 1_000_000), true, 'unreadable: the default (0 % 1e6 < 1)');
  });

  test('featureEnabled draws from the snapshot random source when the caller gives no value', () => {
    let next = 0;
    const s = SnapshotImpl.fromLayers([layer('l', { p: '50' })], { random: () => next });
    next = 149;
    assert.equal(s.featureEnabled('p', 0), true);
    next = 150;
    assert.equal(s.featureEnabled('p', 0), false);
  });

  test('runtimeFeatureEnabled: a boolean value wins, else the declared default; undeclared is a bug', () => {
    const features = new Map([
      ['envoy.reloadable_features.on_by_default', true],
      ['envoy.reloadable_features.off_by_default', false],
    ]);
    const s = SnapshotImpl.fromLayers([layer('l', { 'envoy.reloadable_features.on_by_default': 'false' })], {
      features,
    });
    assert.equal(s.runtimeFeatureEnabled('envoy.reloadable_features.on_by_default'), false);
    assert.equal(s.runtimeFeatureEnabled('envoy.reloadable_features.off_by_default'), false);
    const t = SnapshotImpl.fromLayers([layer('l', { 'envoy.reloadable_features.off_by_default': 'true' })], {
      features,
    });
    assert.equal(t.runtimeFeatureEnabled('envoy.reloadable_features.off_by_default'), true);
    assert.equal(t.runtimeFeatureEnabled('envoy.reloadable_features.on_by_default'), true);
    assert.throws(() => t.runtimeFeatureEnabled('envoy.reloadable_features.unknown'), /not declared/);
  });

  test('a snapshot does not change once built: not through its layers, entries or itself', () => {
    const values = new Map<string, RuntimeEntry>([['k', entryFromText('1')]]);
    const s = new SnapshotImpl(values);
    values.set('k', entryFromText('2'));
    values.set('other', entryFromText('3'));
    assert.equal(s.get('k'), '1', 'the snapshot keeps its own copy');
    assert.equal(s.exists('other'), false);
    assert.throws(() => {
      (s as unknown as { version: number }).version = 9;
    }, TypeError);
    assert.throws(() => {
      (s.entries().get('k') as { raw: string }).raw = 'x';
    }, TypeError);
    assert.throws(() => {
      (s.layers as RuntimeLayer[]).push({ name: 'x', values: new Map() });
    }, TypeError);
  });
});
