/**
 * Read-volume GC pacing in a real worker thread: with V8's gc() exposed before the worker
 * starts, noting 16 MiB of reads at a 1 MiB threshold runs young-generation collections that
 * JavaScript allocation alone would not (the worker allocates next to nothing); noting a few
 * KiB runs none.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { exposeGcToWorkers } from '../../src/event/read-volume-gc.ts';

const FIXTURE = new URL('./fixtures/read-volume-worker.ts', import.meta.url);

function run(bytes: number): Promise<{ installed: boolean; minor: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(FIXTURE, { workerData: { bytes } });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error('worker did not answer within 10 s'));
    }, 10_000);
    w.once('message', (m: { installed: boolean; minor: number }) => {
      clearTimeout(timer);
      void w.terminate().then(() => resolve(m));
    });
    w.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

test('bytes read past the threshold run young-generation collections; a few KiB run none', async () => {
  exposeGcToWorkers();
  const big = await run(16 * 1024 * 1024);
  assert.equal(big.installed, true);
  assert.ok(big.minor >= 4, `expected several scavenges for 16 MiB at 1 MiB, saw ${big.minor}`);
  const small = await run(64 * 1024);
  assert.equal(small.installed, true);
  assert.equal(small.minor, 0);
});
