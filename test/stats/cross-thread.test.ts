/**
 * Stats across real threads: two `worker_threads` Workers, each with its own ThreadStats
 * posting its updates to main, each incrementing one counter 1,000,000 times with plain
 * `inc()` (no locks, no atomics). Main reads the SharedArrayBuffer slots directly: while the
 * workers count it never sees a total go down or overshoot, and at the end it reads exactly
 * 2,000,000. Gauges are summed across the threads, histograms merged, and detaching a worker
 * that has exited keeps its counts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { StatsStore } from '../../src/stats/store.ts';
import type { StatsUpdate } from '../../src/stats/thread-stats.ts';
import type { CountingWorkerData } from './fixtures/counting-worker.ts';

type FromWorker = { type: 'stats'; update: StatsUpdate } | { type: 'done' };

const COUNTER = 'cluster.backend.upstream_rq_total';
const PER_WORKER = 1_000_000;

interface Running {
  readonly name: string;
  readonly worker: Worker;
  readonly done: Promise<void>;
}

function start(store: StatsStore, data: CountingWorkerData): Running {
  const worker = new Worker(new URL('./fixtures/counting-worker.ts', import.meta.url), { workerData: data });
  let markDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    markDone = resolve;
  });
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'stats') store.attach(data.threadName, m.update);
    else if (m.type === 'done') markDone();
  });
  worker.on('error', (e) => {
    throw e;
  });
  return { name: data.threadName, worker, done };
}

async function stop(store: StatsStore, r: Running): Promise<void> {
  const exited = once(r.worker, 'exit');
  r.worker.postMessage({ type: 'exit' });
  await exited;
  store.detach(r.name);
}

describe('stats across worker threads', () => {
  test('two workers × 1,000,000 inc() read exactly 2,000,000 on main; gauges summed; detach keeps counts', async () => {
    const store = new StatsStore();
    const workers = [
      start(store, {
        threadName: 'worker_0',
        counter: COUNTER,
        increments: PER_WORKER,
        chunk: 50_000,
        gauge: 3,
        samples: [200],
      }),
      start(store, {
        threadName: 'worker_1',
        counter: COUNTER,
        increments: PER_WORKER,
        chunk: 50_000,
        gauge: 4,
        samples: [300, 300],
      }),
    ];

    // Read while they count: the merged total only grows and never passes the end value.
    let last = 0;
    let reads = 0;
    let finished = false;
    const allDone = Promise.all(workers.map((w) => w.done)).then(() => {
      finished = true;
    });
    while (!finished) {
      const v = store.counterValue(COUNTER) ?? 0;
      assert.ok(v >= last, `total went down: ${v} after ${last}`);
      assert.ok(v <= 2 * PER_WORKER);
      last = v;
      reads++;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await allDone;
    assert.ok(reads > 0);

    assert.equal(store.counterValue(COUNTER), 2 * PER_WORKER);
    assert.equal(store.gaugeValue('test.connections_active'), 7);
    const [h] = store.histograms();
    assert.equal(h?.name, 'test.latency_ms');
    assert.equal(h?.cumulative.count, 3);
    assert.deepEqual(
      h?.cumulative.quantiles,
      [200, 207.5, 302.5, 306.25, 308.5, 309.25, 309.85, 309.925, 309.985, 310],
    );
    assert.equal(store.textReadoutValue('test.worker_0.state'), 'done');
    assert.equal(store.textReadoutValue('test.worker_1.state'), 'done');

    await stop(store, workers[0]!);
    assert.equal(store.counterValue(COUNTER), 2 * PER_WORKER, 'an exited worker’s counts are kept');
    assert.equal(store.gaugeValue('test.connections_active'), 4, 'its gauges are dropped');
    assert.equal(store.histograms()[0]?.cumulative.count, 3);

    await stop(store, workers[1]!);
    assert.equal(store.counterValue(COUNTER), 2 * PER_WORKER);
    assert.equal(store.gaugeValue('test.connections_active'), 0);
    assert.deepEqual(store.threadNames(), []);
  });
});
