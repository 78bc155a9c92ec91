/**
 * Recent stat-name lookups (`/stats/recentlookups`): the least-recently-used list with its
 * counts and Envoy's ordering; every thread counting its lookups by name in a cell main
 * reads; names published only while main records, whether the thread attached before or
 * after recording was enabled; clear, disable and a thread that ends.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RECENT_LOOKUPS_CAPACITY, RecentLookups } from '../../src/stats/recent-lookups.ts';
import { StatsStore } from '../../src/stats/store.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';

describe('RecentLookups', () => {
  test('records nothing until it has a capacity', () => {
    const r = new RecentLookups();
    r.lookup('a');
    assert.deepEqual(r.sorted(), []);
    assert.equal(r.capacity, 0);
  });

  test('counts per name, sorted by count then name; the least recent is evicted at capacity', () => {
    const r = new RecentLookups();
    r.setCapacity(3);
    r.lookup('b');
    r.lookup('a');
    r.lookup('b');
    r.lookup('c', 5);
    assert.deepEqual(r.sorted(), [
      ['a', 1],
      ['b', 2],
      ['c', 5],
    ]);
    r.lookup('a'); // a becomes the most recent: b is now the least recent
    r.lookup('d');
    assert.deepEqual(r.sorted(), [
      ['d', 1],
      ['a', 2],
      ['c', 5],
    ]);
  });

  test('a smaller capacity keeps the most recent; 0 empties the list', () => {
    const r = new RecentLookups();
    r.setCapacity(RECENT_LOOKUPS_CAPACITY);
    for (const n of ['x', 'y', 'z']) r.lookup(n);
    r.setCapacity(2);
    assert.deepEqual(r.sorted(), [
      ['y', 1],
      ['z', 1],
    ]);
    r.setCapacity(0);
    assert.deepEqual(r.sorted(), []);
    r.clear();
  });
});

describe('lookups across threads', () => {
  test('every lookup by name counts; names travel to main only while recording', async () => {
    const store = new StatsStore();
    const main = new ThreadStats((u) => store.attach('main_thread', u), { immediate: true });
    // A worker publishes once per microtask, as through its message port.
    const worker = new ThreadStats((u) => store.attach('worker_0', u));
    main.counter('server.c');
    worker.counter('cluster.a.upstream_rq_total').inc();
    worker.counter('cluster.a.upstream_rq_total').inc();
    await Promise.resolve();
    assert.deepEqual(store.recentLookupsView(), { lookups: [], total: 3 });
    assert.equal(store.recentLookupCapacity(), 0);

    store.setRecentLookupCapacity(RECENT_LOOKUPS_CAPACITY);
    worker.counter('cluster.a.upstream_rq_total').inc();
    worker.scope('cluster.a.').counter('upstream_rq_200').inc();
    worker.counter('cluster.a.upstream_rq_total');
    main.gauge('server.live');
    await Promise.resolve();
    assert.deepEqual(store.recentLookupsView(), {
      lookups: [
        ['cluster.a.upstream_rq_200', 1],
        ['server.live', 1],
        ['cluster.a.upstream_rq_total', 2],
      ],
      total: 7,
    });

    // A thread that attaches while recording is recorded from its first lookup.
    const late = new ThreadStats((u) => store.attach('worker_1', u));
    late.histogram('cluster.b.upstream_rq_time');
    late.textReadout('server.version');
    await Promise.resolve();
    assert.deepEqual(store.recentLookupsView().lookups.slice(0, 2), [
      ['cluster.a.upstream_rq_200', 1],
      ['cluster.b.upstream_rq_time', 1],
    ]);
    assert.equal(store.recentLookupsView().total, 9);
    store.clearRecentLookups();
    assert.deepEqual(store.recentLookupsView(), { lookups: [], total: 0 });
    worker.counter('cluster.a.upstream_rq_total');
    await Promise.resolve();
    assert.deepEqual(store.recentLookupsView(), { lookups: [['cluster.a.upstream_rq_total', 1]], total: 1 });

    store.setRecentLookupCapacity(0);
    worker.counter('cluster.a.upstream_rq_total');
    await Promise.resolve();
    assert.deepEqual(
      store.recentLookupsView(),
      { lookups: [], total: 2 },
      'disable empties the list, counting goes on',
    );

    store.detach('worker_0');
    assert.equal(store.recentLookupsView().total, 2, 'an ended thread’s lookups stay in the total');
  });
});
