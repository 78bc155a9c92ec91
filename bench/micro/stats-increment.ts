/**
 * Hot-path cost of the stats: `counter.inc()`, `gauge.inc()`/`dec()` and
 * `histogram.recordValue()` on a thread's `ThreadStats` (plain stores into its
 * SharedArrayBuffer slots), and what the main thread pays to merge a histogram.
 *
 * Each figure is the best of several rounds, after a warm-up, so the JIT has settled.
 * Run alone: `node bench/micro/stats-increment.ts`.
 */
import { StatsStore } from '../../src/stats/store.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';
import type { Counter, Gauge, Histogram } from '../../src/stats/types.ts';

const store = new StatsStore();
const stats = new ThreadStats((update) => store.attach('main_thread', update), { immediate: true });
const scope = stats.scope('cluster.bench.');
const counter: Counter = scope.counter('upstream_rq_total');
const gauge: Gauge = scope.gauge('upstream_rq_active');
const histogram: Histogram = scope.histogram('upstream_rq_time', 'Milliseconds');

/** Best ns/op over `rounds` runs of `n` operations. */
function measure(n: number, rounds: number, body: (n: number) => void): number {
  body(n); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    body(n);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return best;
}

// The floor for `slots[i] += 1`: the same loop on a plain (unshared) Float64Array.
const plain = new Float64Array(8);
function plainLoop(n: number): void {
  for (let i = 0; i < n; i++) plain[3]! += 1;
}

function incLoop(n: number): void {
  for (let i = 0; i < n; i++) counter.inc();
}

function gaugeLoop(n: number): void {
  for (let i = 0; i < n; i++) {
    gauge.inc();
    gauge.dec();
  }
}

// Latency-like samples: mostly small integers, some large, some fractional.
const SAMPLES = new Float64Array(4096);
for (let i = 0; i < SAMPLES.length; i++) {
  const r = ((i * 2654435761) >>> 0) / 2 ** 32;
  SAMPLES[i] = i % 4 === 3 ? r * 1000 : Math.floor(r * r * 5000);
}

function recordLoop(n: number): void {
  for (let i = 0; i < n; i++) histogram.recordValue(SAMPLES[i & 4095]!);
}

const N = 20_000_000;
const inc = measure(N, 5, incLoop);
const floor = measure(N, 5, plainLoop);
const gaugeIncDec = measure(N / 2, 5, gaugeLoop) / 2;
const record = measure(N / 4, 5, recordLoop);

const m0 = process.hrtime.bigint();
const merges = 200;
for (let i = 0; i < merges; i++) store.histograms();
const merge = Number(process.hrtime.bigint() - m0) / merges / 1000;

console.log(`stats: counter inc  ${inc.toFixed(2)} ns/op`);
console.log(`stats: (floor: plain Float64Array slot += 1  ${floor.toFixed(2)} ns/op)`);
console.log(`stats: gauge inc/dec  ${gaugeIncDec.toFixed(2)} ns/op`);
console.log(`stats: histogram recordValue  ${record.toFixed(2)} ns/op`);
console.log(`stats: merge + quantiles of one histogram (main)  ${merge.toFixed(1)} µs`);
if (counter.value() === 0) throw new Error('counter did not count');
