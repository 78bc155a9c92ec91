/**
 * The guard dog: notices a thread whose event loop is stuck, counts it, and can kill the
 * process.
 *
 * Each watched thread's Dispatcher touches its heartbeat cell (an Int32 in a
 * SharedArrayBuffer) on a timer; the guard dog runs on its OWN thread, so a worker spinning
 * in synchronous code cannot stop it from noticing. A thread whose heartbeat has not moved
 * for `miss_timeout` counts a miss, for `megamiss_timeout` a mega miss
 * (`server.watchdog_miss`, `server.watchdog_mega_miss`, and per thread
 * `server.<thread>.watchdog_miss`); past `kill_timeout` the process aborts with a line
 * naming the thread, and past `multikill_timeout` on `multikill_threshold` percent of the
 * threads likewise. Envoy counterpart: `GuardDogImpl`, `WatchDogImpl`, the bootstrap's
 * `watchdogs` (`main_thread_watchdog`, `worker_watchdog`).
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { durationMs } from '../config/durations.ts';
import { messageField, numberField } from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';
import type { Dispatcher, Timer } from '../event/types.ts';
import type { Counter, Scope } from '../stats/types.ts';

export interface WatchdogConfig {
  readonly missTimeoutMs: number;
  readonly megamissTimeoutMs: number;
  /** 0: never kill. */
  readonly killTimeoutMs: number;
  readonly multikillTimeoutMs: number;
  /** Percent of watched threads that must be past multikill_timeout at once. */
  readonly multikillThreshold: number;
}

export interface WatchedThread {
  readonly name: string;
  readonly config: WatchdogConfig;
}

/** Reads one `Watchdog` message with Envoy's defaults (miss 200 ms, megamiss 1 s, no kill). */
export function watchdogConfig(m: ProtoMessage | undefined): WatchdogConfig {
  return {
    missTimeoutMs: durationMs(m?.['miss_timeout'], 200),
    megamissTimeoutMs: durationMs(m?.['megamiss_timeout'], 1000),
    killTimeoutMs: durationMs(m?.['kill_timeout'], 0),
    multikillTimeoutMs: durationMs(m?.['multikill_timeout'], 0),
    multikillThreshold: numberField(messageField(m, 'multikill_threshold'), 'value', 0),
  };
}

/** `watchdogs.main_thread_watchdog` / `worker_watchdog`, falling back to the deprecated `watchdog`. */
export function watchdogConfigs(bootstrap: ProtoMessage): { main: WatchdogConfig; worker: WatchdogConfig } {
  const both = messageField(bootstrap, 'watchdogs');
  const legacy = messageField(bootstrap, 'watchdog');
  return {
    main: watchdogConfig(messageField(both, 'main_thread_watchdog') ?? legacy),
    worker: watchdogConfig(messageField(both, 'worker_watchdog') ?? legacy),
  };
}

/** How often dispatchers touch their heartbeat: half the smallest miss timeout. */
export function touchIntervalMs(threads: readonly WatchedThread[]): number {
  return Math.max(5, Math.min(...threads.map((t) => t.config.missTimeoutMs)) / 2);
}

/** Makes `dispatcher` touch its heartbeat cell every `intervalMs`; returns the timer. */
export function startHeartbeat(
  dispatcher: Dispatcher,
  cells: SharedArrayBuffer,
  index: number,
  intervalMs: number,
): Timer {
  const view = new Int32Array(cells);
  const timer = dispatcher.createTimer(() => {
    Atomics.add(view, index, 1);
    timer.enableTimer(intervalMs);
  });
  Atomics.add(view, index, 1);
  timer.enableTimer(intervalMs);
  return timer;
}

/**
 * Test-only fault (LEGATE_TEST_STALL_WORKER=<index>:<ms>, documented in README as such):
 * once, shortly after listening starts, the worker's loop spins for `ms`.
 */
export function testStall(dispatcher: Dispatcher, ms: number): void {
  const timer = dispatcher.createTimer(() => {
    const until = dispatcher.timeSource.monotonicNow() + ms;
    while (dispatcher.timeSource.monotonicNow() < until) {
      // spinning on purpose: this is the stuck loop the guard dog must notice
    }
  });
  timer.enableTimer(200);
}

/**
 * Test-only fault (LEGATE_TEST_CRASH_WORKER=<index>): the worker throws from its loop shortly
 * after listening starts, to prove a dying worker fails the whole server loudly.
 */
export function testCrash(dispatcher: Dispatcher): void {
  const timer = dispatcher.createTimer(() => {
    throw new Error('test-only fault LEGATE_TEST_CRASH_WORKER: this worker throws on purpose');
  });
  timer.enableTimer(200);
}

/** Parses LEGATE_TEST_STALL_WORKER; returns the stall for worker `index` (0: none). */
export function testStallFor(index: number, env: string | undefined): number {
  const m = env === undefined ? null : /^(\d+):(\d+)$/.exec(env);
  return m !== null && Number(m[1]) === index ? Number(m[2]) : 0;
}

interface DogState {
  readonly thread: WatchedThread;
  lastValue: number;
  lastChangeMs: number;
  missAlerted: boolean;
  megamissAlerted: boolean;
  readonly miss: Counter;
  readonly megamiss: Counter;
}

/**
 * The guard dog's loop, on its own thread: every check interval compare each heartbeat
 * with the last one seen. `abort` ends the process (SIGABRT in production).
 */
export function runGuardDog(
  dispatcher: Dispatcher,
  cells: SharedArrayBuffer,
  threads: readonly WatchedThread[],
  stats: Scope,
  abort: (line: string) => void,
): Timer {
  const view = new Int32Array(cells);
  const totalMiss = stats.counter('server.watchdog_miss');
  const totalMegamiss = stats.counter('server.watchdog_mega_miss');
  const now = (): number => dispatcher.updateApproximateMonotonicTime();
  const dogs: DogState[] = threads.map((thread, i) => {
    return {
      thread,
      lastValue: Atomics.load(view, i),
      lastChangeMs: now(),
      missAlerted: false,
      megamissAlerted: false,
      miss: stats.counter(`server.${thread.name}.watchdog_miss`),
      megamiss: stats.counter(`server.${thread.name}.watchdog_mega_miss`),
    };
  });
  const timeouts = threads.flatMap((t) => [
    t.config.missTimeoutMs,
    t.config.megamissTimeoutMs,
    t.config.killTimeoutMs,
    t.config.multikillTimeoutMs,
  ]);
  const interval = Math.max(5, Math.min(...timeouts.filter((t) => t > 0)) / 4);

  // Envoy runs one guard dog for the main thread and one for the workers; multikill counts
  // within each.
  const groupOf = (t: WatchedThread): string => (t.name === 'main_thread' ? 'main' : 'workers');
  const groups = new Map<string, number>();
  for (const t of threads) groups.set(groupOf(t), (groups.get(groupOf(t)) ?? 0) + 1);

  const timer = dispatcher.createTimer(() => {
    const t = now();
    const multikilled = new Map<string, { count: number; config: WatchdogConfig }>();
    for (const [i, dog] of dogs.entries()) {
      const value = Atomics.load(view, i);
      // A thread is watched from its first heartbeat on (Envoy creates a thread's watchdog
      // once its dispatcher runs): a worker still loading its modules is not stuck.
      if (value === 0) {
        dog.lastChangeMs = t;
        continue;
      }
      if (value !== dog.lastValue) {
        dog.lastValue = value;
        dog.lastChangeMs = t;
        dog.missAlerted = false;
        dog.megamissAlerted = false;
        continue;
      }
      const stuck = t - dog.lastChangeMs;
      const c = dog.thread.config;
      if (c.killTimeoutMs > 0 && stuck > c.killTimeoutMs) {
        abort(
          `GuardDog: one thread (${dog.thread.name}) has been blocked for ${Math.round(stuck)} ms; killing the process`,
        );
        return;
      }
      if (c.multikillTimeoutMs > 0 && stuck > c.multikillTimeoutMs) {
        const group = groupOf(dog.thread);
        multikilled.set(group, { count: (multikilled.get(group)?.count ?? 0) + 1, config: c });
      }
      if (stuck > c.megamissTimeoutMs && !dog.megamissAlerted) {
        dog.megamissAlerted = true;
        dog.megamiss.inc();
        totalMegamiss.inc();
      }
      if (stuck > c.missTimeoutMs && !dog.missAlerted) {
        dog.missAlerted = true;
        dog.miss.inc();
        totalMiss.inc();
      }
    }
    // Envoy: at least max(2, ceil(watched x threshold%)) threads past multikill_timeout at once.
    for (const [group, { count, config }] of multikilled) {
      const watched = groups.get(group) ?? 0;
      const needed = Math.max(2, Math.ceil((watched * config.multikillThreshold) / 100));
      if (count >= needed) {
        abort(
          `GuardDog: ${count} of ${watched} threads have been blocked past multikill_timeout; killing the process`,
        );
        return;
      }
    }
    timer.enableTimer(interval);
  });
  timer.enableTimer(interval);
  return timer;
}

/** Production abort: the line goes straight to fd 2 (main's stderr may be the stuck thread), then SIGABRT. */
export function abortProcess(line: string): void {
  fs.writeSync(2, `[critical][guard_dog] ${line}\n`);
  process.kill(process.pid, 'SIGABRT');
}

/** What the guard dog thread is given (`workerData`). */
export interface GuardDogInit {
  readonly cells: SharedArrayBuffer;
  readonly threads: readonly WatchedThread[];
}

/** Main side: starts the guard dog thread; its stats updates arrive through `onStats`. */
export function startGuardDogThread(
  init: GuardDogInit,
  onMessage: (message: unknown) => void,
  onError: (err: Error) => void,
): Worker {
  const worker = new Worker(new URL('../exe/guard-dog-entry.ts', import.meta.url), {
    workerData: init,
    name: 'guard_dog',
  });
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.unref();
  return worker;
}
