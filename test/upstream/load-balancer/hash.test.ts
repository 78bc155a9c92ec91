/**
 * The hashing helpers: xxHash64 against the reference vectors, bigint splitting into uint32
 * halves, and 64-bit modulo on the halves (both of its paths) against bigint arithmetic.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  initHashing,
  mod64,
  split64,
  splitHi,
  splitLo,
  xxhash64,
} from '../../../src/upstream/load-balancer/hash.ts';
import { prng } from './helpers.ts';

before(async () => {
  await initHashing();
});

describe('hashing helpers', () => {
  test('xxhash64 matches the reference vectors (seed 0 and 1)', () => {
    assert.equal(xxhash64(''), 0xef46db3751d8e999n);
    assert.equal(xxhash64('', 1n), 0xd5afba1336a3be4bn);
  });

  test('split64 gives the high and low 32 bits, taking the value mod 2^64', () => {
    split64(0x0123456789abcdefn);
    assert.deepEqual([splitHi(), splitLo()], [0x01234567, 0x89abcdef]);
    split64(-1n);
    assert.deepEqual([splitHi(), splitLo()], [0xffffffff, 0xffffffff]);
  });

  test('mod64 equals bigint modulo, for small and large moduli', () => {
    const random = prng(42);
    const u32 = () => (random() * 4294967296) >>> 0;
    const moduli = [1, 7, 100, 65537, 2097151, 2097152, 2097153, 5000011, 4294967291, 4294967296];
    const edges = [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [0xffffffff, 0],
      [0, 0xffffffff],
    ];
    for (const m of moduli) {
      const cases = [...edges];
      for (let i = 0; i < 2000; i++) cases.push([u32(), u32()]);
      for (const [hi, lo] of cases) {
        const expected = Number(((BigInt(hi!) << 32n) | BigInt(lo!)) % BigInt(m));
        assert.equal(mod64(hi!, lo!, m), expected, `${hi}:${lo} mod ${m}`);
      }
    }
  });
});
