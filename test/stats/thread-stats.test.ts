/**
 * ThreadStats, one thread's stats: scopes build Envoy's names, one name is one object,
 * values land in SharedArrayBuffer slots, and what main must learn (segments, new stats,
 * text readout values) is published as plain data, batched once per microtask.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  HISTOGRAM_SLOTS,
  SEGMENT_SHIFT,
  SLOTS_PER_SEGMENT,
  type StatsUpdate,
  ThreadStats,
} from '../../src/stats/thread-stats.ts';

function recording(): { stats: ThreadStats; updates: StatsUpdate[] } {
  const updates: StatsUpdate[] = [];
  return { stats: new ThreadStats((u) => updates.push(u)), updates };
}

describe('ThreadStats', () => {
  test('scopes prefix names and asking twice for one name returns the same object', () => {
    const { stats } = recording();
    const listener = stats.scope('listener.').scope('127.0.0.1_10000.');
    const viaScope = listener.counter('downstream_cx_total');
    assert.equal(viaScope.name, 'listener.127.0.0.1_10000.downstream_cx_total');
    assert.equal(stats.counter('listener.127.0.0.1_10000.downstream_cx_total'), viaScope);
    assert.equal(listener.counter('downstream_cx_total'), viaScope);
    assert.equal(listener.prefix, 'listener.127.0.0.1_10000.');
    assert.equal(stats.prefix, '');

    const g = listener.gauge('downstream_cx_active');
    assert.equal(stats.gauge('listener.127.0.0.1_10000.downstream_cx_active'), g);
    const h = listener.histogram('downstream_cx_length_ms', 'Milliseconds');
    assert.equal(stats.histogram('listener.127.0.0.1_10000.downstream_cx_length_ms'), h);
    const t = stats.scope('server.').textReadout('version');
    assert.equal(stats.textReadout('server.version'), t);
  });

  test('a counter and a gauge of the same name are different stats', () => {
    const { stats } = recording();
    const c = stats.counter('x');
    const g = stats.gauge('x');
    c.inc();
    g.set(5);
    assert.equal(c.value(), 1);
    assert.equal(g.value(), 5);
  });

  test('counters, gauges and text readouts keep this thread’s values', () => {
    const { stats } = recording();
    const c = stats.counter('c');
    c.inc();
    c.inc();
    c.add(40);
    assert.equal(c.value(), 42);

    const g = stats.gauge('g');
    g.inc();
    g.add(10);
    g.dec();
    g.sub(3);
    assert.equal(g.value(), 7);
    g.set(2);
    assert.equal(g.value(), 2);

    const t = stats.textReadout('t');
    assert.equal(t.value(), '');
    t.set('v1.2');
    assert.equal(t.value(), 'v1.2');
  });

  test('values live in the published SharedArrayBuffer at the published slot', async () => {
    const { stats, updates } = recording();
    const c = stats.counter('c');
    const g = stats.gauge('g', 'NeverImport');
    const h = stats.histogram('h', 'Microseconds');
    c.add(7);
    g.set(3);
    h.recordValue(250);
    h.recordValue(250);
    await Promise.resolve();
    assert.equal(updates.length, 1);
    const [update] = updates;
    assert.ok(update?.segments !== undefined && update.stats !== undefined);
    assert.equal(update.segments.length, 1);
    const slots = new Float64Array(update.segments[0]!);
    const bySlot = new Map(update.stats.map((e) => [e.name, e]));
    assert.deepEqual(bySlot.get('g'), { name: 'g', kind: 'gauge', slot: 1, importMode: 'NeverImport' });
    assert.deepEqual(bySlot.get('h'), { name: 'h', kind: 'histogram', slot: 3, unit: 'Microseconds' });
    assert.equal(slots[bySlot.get('c')!.slot], 7);
    assert.equal(slots[1], 3, 'gauge value');
    assert.equal(slots[2], 1, 'gauge written flag');
    assert.equal(slots[3], 2, 'histogram count');
    assert.equal(slots[4], 500, 'histogram sum');
    const buckets = slots.subarray(5, 3 + HISTOGRAM_SLOTS);
    assert.equal(
      buckets.reduce((a, b) => a + b, 0),
      2,
    );
  });

  test('publish is called once per microtask with every stat created in it', async () => {
    const { stats, updates } = recording();
    for (let i = 0; i < 100; i++) stats.counter(`c${i}`);
    stats.textReadout('t').set('a');
    stats.textReadout('t').set('b');
    assert.equal(updates.length, 0, 'nothing is published synchronously');
    await Promise.resolve();
    assert.equal(updates.length, 1);
    assert.equal(updates[0]?.stats?.length, 101);
    assert.deepEqual(updates[0]?.textReadouts, [['t', 'b']], 'only the latest text value is sent');

    stats.counter('c0').inc(); // existing stat: nothing to publish
    await Promise.resolve();
    assert.equal(updates.length, 1);

    stats.textReadout('t').set('b'); // unchanged value: nothing to publish
    stats.textReadout('t').set('c');
    await Promise.resolve();
    assert.deepEqual(updates[1], { textReadouts: [['t', 'c']] });
  });

  test('updates are structured-cloneable data', async () => {
    const { stats, updates } = recording();
    const c = stats.counter('c');
    stats.histogram('h');
    stats.textReadout('t').set('x');
    await Promise.resolve();
    const cloned = structuredClone(updates[0]);
    assert.deepEqual(cloned?.stats, updates[0]?.stats);
    assert.deepEqual(cloned?.textReadouts, [['t', 'x']]);
    const seen = new Float64Array(cloned!.segments![0]!);
    c.add(3);
    assert.equal(seen[0], 3, 'the cloned SharedArrayBuffer is the same memory, not a copy');
  });

  test('publishPending sends at once; immediate mode publishes on every change', async () => {
    const { stats, updates } = recording();
    stats.counter('a');
    stats.publishPending();
    assert.equal(updates.length, 1);
    await Promise.resolve();
    assert.equal(updates.length, 1, 'the scheduled publish finds nothing left');

    const immediate: StatsUpdate[] = [];
    const main = new ThreadStats((u) => immediate.push(u), { immediate: true });
    main.counter('a');
    assert.equal(immediate.length, 1);
    main.gauge('b');
    assert.equal(immediate.length, 2);
  });

  test('a new segment is allocated when one is full, and a histogram block never straddles two', async () => {
    const { stats, updates } = recording();
    const counters = [];
    for (let i = 0; i < SLOTS_PER_SEGMENT + 10; i++) counters.push(stats.counter(`c${i}`));
    const h = stats.histogram('h');
    h.recordValue(1);
    counters[SLOTS_PER_SEGMENT + 5]!.add(9);
    await Promise.resolve();
    const update = updates[0]!;
    assert.equal(update.segments?.length, 2);
    const entries = new Map(update.stats!.map((e) => [e.name, e]));
    const late = entries.get(`c${SLOTS_PER_SEGMENT + 5}`)!;
    assert.equal(late.slot >> SEGMENT_SHIFT, 1);
    const seg1 = new Float64Array(update.segments![1]!);
    assert.equal(seg1[late.slot & (SLOTS_PER_SEGMENT - 1)], 9);
    const hs = entries.get('h')!.slot;
    assert.equal(hs >> SEGMENT_SHIFT, (hs + HISTOGRAM_SLOTS - 1) >> SEGMENT_SHIFT);
  });
});
