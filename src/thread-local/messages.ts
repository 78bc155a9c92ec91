/**
 * Every message that crosses a thread boundary, as one discriminated union per direction.
 *
 * Only structured-cloneable data crosses (DESIGN.md §1): a worker rebuilds its own objects
 * from it. Envoy counterpart: the lambdas posted by `ThreadLocal::Instance::runOnAllThreads`
 * and `Dispatcher::post` across threads; here they are data, named and typed.
 */
import type { LogLevelSnapshot, LogOptions } from '../common/log-types.ts';
import type { StatsUpdate } from '../stats/thread-stats.ts';

/** Sent by the main thread to one worker. */
export type MainToWorker =
  /** A thread-local slot's new data; the worker applies slots in the order sent and acks `seq`. */
  | { readonly type: 'tls.update'; readonly slot: string; readonly seq: number; readonly data: unknown }
  /** Start accepting on every listener the listener slot holds (the init manager is done). */
  | { readonly type: 'listeners.start' }
  /** Stop accepting; let open connections finish. `gradual` closes them with rising probability. */
  | { readonly type: 'drain.start'; readonly drainTimeMs: number; readonly strategy: 'gradual' | 'immediate' }
  /** SIGUSR1: reopen the access log files (logrotate moved them). */
  | { readonly type: 'logs.reopen' }
  /** Admin `/logging`: every logger's level as main now has it. */
  | { readonly type: 'logs.levels'; readonly levels: LogLevelSnapshot }
  /** Admin `/healthcheck/fail` (true) and `/healthcheck/ok` (false): while failed, HTTP connections drain-close. */
  | { readonly type: 'healthcheck.failed'; readonly failed: boolean }
  /**
   * Admin `/drain_listeners?graceful`: the drain sequence starts; connections are asked to
   * close, with a chance rising over `drainTimeMs` (`gradual`) or at once (`immediate`).
   */
  | {
      readonly type: 'drain.sequence';
      readonly drainTimeMs: number;
      readonly strategy: 'gradual' | 'immediate';
    }
  /** Admin `/drain_listeners`: stop accepting on these listeners; their connections carry on. */
  | { readonly type: 'listeners.stop'; readonly names: readonly string[] }
  /** Close everything and end the thread. */
  | { readonly type: 'shutdown' };

/** Sent by a worker to the main thread. */
export type WorkerToMain =
  | { readonly type: 'worker.ready' }
  | { readonly type: 'tls.applied'; readonly seq: number }
  | { readonly type: 'listeners.started'; readonly failures: readonly ListenerFailure[] }
  | { readonly type: 'stats'; readonly update: StatsUpdate }
  | { readonly type: 'log'; readonly line: string }
  /** Draining and no connection left open. */
  | { readonly type: 'drained' }
  | { readonly type: 'shutdown.done' };

export interface ListenerFailure {
  readonly listener: string;
  readonly error: string;
}

/** What a worker is given at creation (`workerData`). */
export interface WorkerInit {
  readonly index: number;
  readonly concurrency: number;
  /** The logging options of the command line (levels, format). */
  readonly log: LogOptions;
  /** The guard dog's heartbeat cells: this worker touches `heartbeats[heartbeatIndex]`. */
  readonly heartbeats: SharedArrayBuffer;
  readonly heartbeatIndex: number;
  /**
   * Int32 cell 0: downstream sockets open across every worker, for the global connection
   * limit (`overload.global_downstream_max_connections`).
   */
  readonly acceptedSockets: SharedArrayBuffer;
  /** How often the dispatcher touches its heartbeat, ms. */
  readonly touchIntervalMs: number;
  /**
   * The bootstrap's `enable_dispatcher_stats`: record `loop_duration_us` and `poll_delay_us`
   * (off by default, as in Envoy: a clock read and a histogram sample per batch).
   */
  readonly dispatcherStats: boolean;
  /** Test-only fault: stall this worker's loop once, for this many ms (LEGATE_TEST_STALL_WORKER). */
  readonly testStallMs: number;
  /** Test-only fault: throw from this worker's loop once it listens (LEGATE_TEST_CRASH_WORKER). */
  readonly testCrash: boolean;
}
