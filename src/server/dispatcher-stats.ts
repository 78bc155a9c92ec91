/**
 * Envoy's per-thread dispatcher histograms, `server.<thread>.dispatcher.loop_duration_us` and
 * `poll_delay_us`, for the main thread and each worker. They exist only with the bootstrap's
 * `enable_dispatcher_stats: true` (off by default, as in Envoy: a clock read and a histogram
 * sample per batch); the caller decides.
 */
import type { DispatcherStats } from '../event/types.ts';
import type { ThreadStats } from '../stats/thread-stats.ts';

/** The dispatcher stats of `thread` (`main_thread`, `worker_<n>`), recorded into `stats`. */
export function dispatcherStats(stats: ThreadStats, thread: string): DispatcherStats {
  const loopDuration = stats.histogram(`server.${thread}.dispatcher.loop_duration_us`, 'Microseconds');
  const pollDelay = stats.histogram(`server.${thread}.dispatcher.poll_delay_us`, 'Microseconds');
  return {
    recordLoopDurationUs: (us) => loopDuration.recordValue(us),
    recordPollDelayUs: (us) => pollDelay.recordValue(us),
  };
}
