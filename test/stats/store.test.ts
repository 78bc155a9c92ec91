/**
 * StatsStore, main's merged view: counters and gauges summed by name across threads,
 * NeverImport gauges from main only, detach keeping counters and histogram counts, Envoy's
 * reset_counters, "used" stats, text readouts, and interval versus cumulative histograms
 * around flush(). Threads are simulated here by several ThreadStats publishing into one
 * store; cross-thread.test.ts does the same with real worker threads.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatsStore } from '../../src/stats/store.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';

/** A store with a main thread and `workers` simulated workers, each publishing at once. */
function setup(workers: number): { store: StatsStore; main: ThreadStats; w: ThreadStats[] } {
  const store = new StatsStore();
  const main = new ThreadStats((u) => store.attach('main_thread', u), { immediate: true });
  const w: ThreadStats[] = [];
  for (let i = 0; i < workers; i++) {
    w.push(new ThreadStats((u) => store.attach(`worker_${i}`, u), { immediate: true }));
  }
  return { store, main, w };
}

describe('StatsStore', () => {
  test('a counter is the sum of every thread’s counter of that name', () => {
    const { store, main, w } = setup(2);
    main.counter('cluster.a.upstream_rq_total').add(1);
    w[0]!.scope('cluster.a.').counter('upstream_rq_total').add(10);
    w[1]!.counter('cluster.a.upstream_rq_total').add(100);
    assert.equal(store.counterValue('cluster.a.upstream_rq_total'), 111);
    w[1]!.counter('cluster.a.upstream_rq_total').inc();
    assert.equal(store.counterValue('cluster.a.upstream_rq_total'), 112, 'reads are live, no publish needed');
    assert.equal(store.counterValue('nope'), undefined);
  });

  test('Accumulate gauges are summed across threads; NeverImport gauges are main’s alone', () => {
    const { store, main, w } = setup(2);
    w[0]!.gauge('listener.x.downstream_cx_active').set(3);
    w[1]!.gauge('listener.x.downstream_cx_active').set(4);
    assert.equal(store.gaugeValue('listener.x.downstream_cx_active'), 7);

    main.gauge('server.live', 'NeverImport').set(1);
    w[0]!.gauge('server.live', 'NeverImport').set(1);
    w[1]!.gauge('server.live', 'NeverImport').set(1);
    assert.equal(store.gaugeValue('server.live'), 1);
  });

  test('a stat one thread never touched still merges with the others', () => {
    const { store, w } = setup(2);
    w[0]!.counter('only_on_0').add(5);
    assert.deepEqual([...store.counters()], [['only_on_0', 5]]);
  });

  test('detach keeps a finished thread’s counters and histogram counts, and drops its gauges', () => {
    const { store, main, w } = setup(2);
    main.counter('c').add(1);
    w[0]!.counter('c').add(1000);
    w[1]!.counter('c').add(10);
    w[0]!.gauge('g').set(5);
    w[1]!.gauge('g').set(2);
    w[0]!.histogram('h').recordValue(100);
    w[1]!.histogram('h').recordValue(200);
    w[0]!.textReadout('t').set('from worker 0');

    store.detach('worker_0');
    assert.equal(store.counterValue('c'), 1011, 'counters never go down');
    assert.equal(store.gaugeValue('g'), 2);
    const [h] = store.histograms();
    assert.equal(h?.cumulative.count, 2);
    assert.equal(h?.cumulative.sum, 300);
    assert.equal(store.textReadoutValue('t'), 'from worker 0', 'a text readout keeps its last value');
    assert.deepEqual(store.threadNames(), ['main_thread', 'worker_1']);

    w[0]!.counter('c').add(1); // a dead thread's memory no longer counts
    assert.equal(store.counterValue('c'), 1011);

    store.detach('worker_1');
    assert.equal(store.counterValue('c'), 1011);
    assert.equal(store.gaugeValue('g'), 0);
    assert.ok(store.gauges(true).has('g'), 'a gauge that was used stays used');
    store.detach('worker_1'); // unknown thread: no-op
  });

  test('resetCounters makes counters read 0 from now on, like /reset_counters', () => {
    const { store, main, w } = setup(1);
    const c = w[0]!.counter('c');
    c.add(50);
    main.gauge('g').set(9);
    store.resetCounters();
    assert.equal(store.counterValue('c'), 0);
    assert.equal(store.gaugeValue('g'), 9, 'gauges are not reset');
    c.add(2);
    assert.equal(store.counterValue('c'), 2);
    assert.equal(c.value(), 52, 'the thread’s own value is untouched');
    assert.ok(store.counters(true).has('c'), 'a reset counter is still used');
  });

  test('usedOnly lists only stats ever written', () => {
    const { store, main, w } = setup(1);
    main.counter('c.unused');
    main.counter('c.used').inc();
    const g = w[0]!.gauge('g.back_to_zero');
    g.inc();
    g.dec();
    main.gauge('g.unused');
    main.histogram('h.unused');
    main.histogram('h.used').recordValue(0);
    main.textReadout('t.unused');
    main.textReadout('t.used').set('x');
    assert.deepEqual([...store.counters(true).keys()], ['c.used']);
    assert.deepEqual([...store.counters().keys()], ['c.unused', 'c.used']);
    assert.deepEqual([...store.gauges(true).keys()], ['g.back_to_zero']);
    assert.deepEqual(
      store.histograms(true).map((h) => h.name),
      ['h.used'],
    );
    assert.deepEqual([...store.textReadouts(true)], [['t.used', 'x']]);
    assert.deepEqual(
      [...store.textReadouts()],
      [
        ['t.unused', ''],
        ['t.used', 'x'],
      ],
    );
  });

  test('a text readout reads the value most recently set on any thread', () => {
    const { store, main, w } = setup(1);
    main.textReadout('server.version').set('a');
    w[0]!.textReadout('server.version').set('b');
    assert.equal(store.textReadoutValue('server.version'), 'b');
    main.textReadout('server.version').set('c');
    assert.equal(store.textReadoutValue('server.version'), 'c');
  });

  test('histograms merge bucket by bucket: cumulative since start, interval since the last flush', () => {
    const { store, w } = setup(2);
    const h0 = w[0]!.histogram('cluster.a.upstream_rq_time', 'Milliseconds');
    const h1 = w[1]!.histogram('cluster.a.upstream_rq_time', 'Milliseconds');
    h0.recordValue(200);
    h1.recordValue(300);
    h1.recordValue(300);

    let [snap] = store.histograms();
    assert.equal(snap?.unit, 'Milliseconds');
    assert.deepEqual(
      snap?.cumulative.quantiles,
      [200, 207.5, 302.5, 306.25, 308.5, 309.25, 309.85, 309.925, 309.985, 310],
    );
    assert.deepEqual(
      snap?.interval.quantiles,
      snap?.cumulative.quantiles,
      'no flush yet: the interval is the whole run',
    );

    const flushed = store.flush();
    assert.equal(flushed.histograms[0]?.interval.count, 3);

    [snap] = store.histograms();
    assert.equal(snap?.interval.count, 0);
    assert.ok(snap?.interval.quantiles.every(Number.isNaN), 'nothing since the flush');
    assert.equal(snap?.cumulative.count, 3);

    h0.recordValue(5);
    [snap] = store.histograms();
    assert.deepEqual(
      snap?.interval.quantiles,
      [5, 5.025, 5.05, 5.075, 5.09, 5.095, 5.099, 5.0995, 5.0999, 5.1],
    );
    assert.equal(snap?.interval.sum, 5);
    assert.equal(snap?.cumulative.count, 4);
    assert.equal(snap?.cumulative.sum, 805);
    assert.deepEqual(snap?.cumulative.quantiles.slice(0, 3), [5, 5.1, 210]);
  });

  test('flush gives sinks used stats and each counter’s increase since the previous flush', () => {
    const { store, main, w } = setup(1);
    const c = w[0]!.counter('c');
    main.counter('c.unused');
    main.gauge('g').set(4);
    main.textReadout('t').set('v');
    c.add(10);
    let f = store.flush();
    assert.deepEqual(f.counters, [{ name: 'c', value: 10, delta: 10 }]);
    assert.deepEqual(f.gauges, [{ name: 'g', value: 4 }]);
    assert.deepEqual(f.textReadouts, [{ name: 't', value: 'v' }]);
    c.add(5);
    store.resetCounters();
    f = store.flush();
    assert.deepEqual(
      f.counters,
      [{ name: 'c', value: 0, delta: 5 }],
      'a reset does not eat the sinks’ delta',
    );
  });

  test('listings are sorted by name', () => {
    const { store, main } = setup(0);
    for (const n of ['b', 'a.z', 'a', 'a.b']) {
      main.counter(n);
      main.gauge(`g.${n}`);
      main.histogram(`h.${n}`);
    }
    assert.deepEqual([...store.counters().keys()], ['a', 'a.b', 'a.z', 'b']);
    assert.deepEqual([...store.gauges().keys()], ['g.a', 'g.a.b', 'g.a.z', 'g.b']);
    assert.deepEqual(
      store.histograms().map((h) => h.name),
      ['h.a', 'h.a.b', 'h.a.z', 'h.b'],
    );
  });

  test('a stat in a segment main has not been told about is a bug, reported', () => {
    const store = new StatsStore();
    assert.throws(
      () => store.attach('worker_0', { stats: [{ name: 'c', kind: 'counter', slot: 0 }] }),
      /segment not yet published/,
    );
  });
});
