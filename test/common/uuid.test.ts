import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuid4 } from '../../src/common/uuid.ts';

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuid4: version 4, RFC 9562 variant, lower-case hex in 8-4-4-4-12 groups', () => {
  for (let i = 0; i < 1000; i++) assert.match(uuid4(), FORMAT);
});

test('uuid4: no repeats across many pool refills, and every hex digit appears in every random position', () => {
  const seen = new Set<string>();
  const digits = Array.from({ length: 36 }, () => new Set<string>());
  for (let i = 0; i < 20_000; i++) {
    const u = uuid4();
    assert.ok(!seen.has(u), `repeated ${u}`);
    seen.add(u);
    for (let j = 0; j < 36; j++) digits[j]!.add(u[j]!);
  }
  for (let j = 0; j < 36; j++) {
    if (j === 8 || j === 13 || j === 18 || j === 23) assert.deepEqual([...digits[j]!], ['-']);
    else if (j === 14) assert.deepEqual([...digits[j]!], ['4']);
    else if (j === 19) assert.equal(digits[j]!.size, 4, 'the variant digit is 8, 9, a or b');
    else assert.equal(digits[j]!.size, 16, `position ${j} uses all 16 digits`);
  }
});
