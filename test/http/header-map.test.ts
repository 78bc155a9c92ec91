/**
 * HeaderMapImpl: order, lower-case keys, pseudo-headers first, repeated headers, byte size kept
 * exact through every change, and the original spellings a preserve_case map remembers.
 * Envoy counterpart: test/common/http/header_map_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderMapImpl, lowerCaseKey } from '../../src/http/header-map.ts';

function byteSizeOf(map: HeaderMapImpl): number {
  let n = 0;
  map.forEach((k, v) => {
    n += k.length + v.length;
  });
  return n;
}

describe('HeaderMapImpl', () => {
  test('keys are lower-cased on add and lookups ignore case', () => {
    const map = new HeaderMapImpl();
    map.add('Content-Type', 'text/plain');
    assert.deepEqual(map.entries(), [['content-type', 'text/plain']]);
    assert.equal(map.get('CONTENT-TYPE'), 'text/plain');
    assert.equal(map.has('content-type'), true);
    assert.equal(map.get('missing'), undefined);
  });

  test('pseudo-headers go before regular headers, in their own order', () => {
    const map = new HeaderMapImpl();
    map.add('x-a', '1');
    map.add(':method', 'GET');
    map.add('x-b', '2');
    map.add(':path', '/');
    assert.deepEqual(
      map.entries().map(([k]) => k),
      [':method', ':path', 'x-a', 'x-b'],
    );
  });

  test('repeated headers are kept in order; getAll returns every value', () => {
    const map = HeaderMapImpl.of([
      ['set-cookie', 'a=1'],
      ['x', 'y'],
      ['Set-Cookie', 'b=2'],
    ]);
    assert.equal(map.get('set-cookie'), 'a=1');
    assert.deepEqual(map.getAll('set-cookie'), ['a=1', 'b=2']);
    assert.equal(map.size, 3);
  });

  test('set replaces every value of a key with one, in the first one’s place', () => {
    const map = HeaderMapImpl.of([
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
    ]);
    map.set('A', 'x');
    assert.deepEqual(map.entries(), [
      ['a', 'x'],
      ['b', '2'],
    ]);
    map.set('c', 'new');
    assert.deepEqual(map.entries().at(-1), ['c', 'new']);
  });

  test('remove drops every value of a key', () => {
    const map = HeaderMapImpl.of([
      ['a', '1'],
      ['b', '2'],
      ['a', '3'],
    ]);
    map.remove('A');
    assert.deepEqual(map.entries(), [['b', '2']]);
  });

  test('byteSize is the sum of key and value lengths after every kind of change', () => {
    const map = new HeaderMapImpl();
    map.add(':method', 'GET');
    map.add('host', 'example.com');
    map.add('x', 'yy');
    assert.equal(map.byteSize(), byteSizeOf(map));
    map.set('x', 'a much longer value');
    assert.equal(map.byteSize(), byteSizeOf(map));
    map.remove('host');
    map.setValueAt(0, 'POST');
    map.removeAt(0);
    assert.equal(map.byteSize(), byteSizeOf(map));
    assert.equal(map.byteSize(), 'x'.length + 'a much longer value'.length);
  });

  test('a preserve_case map remembers the spelling a key was added with', () => {
    const map = new HeaderMapImpl(true);
    map.add('X-Custom-Header', 'v');
    map.add('accept', '*/*');
    assert.equal(map.keyAt(0), 'x-custom-header');
    assert.equal(map.rawKeyAt(0), 'X-Custom-Header');
    assert.equal(map.rawKeyAt(1), 'accept');
    assert.equal(map.rawKeyOf('x-custom-header'), 'X-Custom-Header');
    map.removeAt(0);
    assert.equal(map.rawKeyAt(0), 'accept');
  });

  test('a default map keeps no spellings', () => {
    const map = new HeaderMapImpl();
    map.add('X-Custom-Header', 'v');
    assert.equal(map.rawKeyAt(0), 'x-custom-header');
    assert.equal(map.rawKeyOf('x-custom-header'), undefined);
  });

  test('lowerCaseKey returns the same string when there is nothing to lower', () => {
    const key = 'already-lower';
    assert.equal(lowerCaseKey(key), key);
    assert.equal(lowerCaseKey('MiXeD'), 'mixed');
  });

  test('lowerCaseKey folds the same after it has seen more lower-case names than it remembers', () => {
    // Past the bound of known names (wire names can be anything), lookups still fold right.
    for (let i = 0; i < 3000; i++) assert.equal(lowerCaseKey(`x-name-${i}`), `x-name-${i}`);
    for (let i = 0; i < 3000; i += 97) assert.equal(lowerCaseKey(`X-Name-${i}`), `x-name-${i}`);
    const map = new HeaderMapImpl();
    map.add('X-Name-2999', 'late');
    map.add('x-name-5', 'early');
    assert.equal(map.get('X-NAME-2999'), 'late');
    assert.equal(map.get('x-name-5'), 'early');
    assert.equal(map.has('X-Name-3001'), false);
  });
});
