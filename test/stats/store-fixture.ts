/**
 * Shared by the stats format tests: a store fed by a main thread and one worker, and the
 * `le` bounds Envoy's default histogram buckets take in Prometheus output.
 */
import { StatsStore } from '../../src/stats/store.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';

/** A store whose `main_thread` and `worker_0` stats `build` fills (updates applied at once). */
export function storeWith(build: (main: ThreadStats, worker: ThreadStats) => void): StatsStore {
  const store = new StatsStore();
  const main = new ThreadStats((u) => store.attach('main_thread', u), { immediate: true });
  const worker = new ThreadStats((u) => store.attach('worker_0', u), { immediate: true });
  build(main, worker);
  return store;
}

/** Envoy's default histogram bucket bounds as Prometheus `le` labels, written out by hand. */
export const PROMETHEUS_BUCKET_BOUNDS = [
  '0.5',
  '1',
  '5',
  '10',
  '25',
  '50',
  '100',
  '250',
  '500',
  '1000',
  '2500',
  '5000',
  '10000',
  '30000',
  '60000',
  '300000',
  '600000',
  '1800000',
  '3600000',
];
