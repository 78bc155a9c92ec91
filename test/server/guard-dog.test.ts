/**
 * The guard dog on simulated time: watched threads touch their heartbeat cells from their
 * own (simulated) dispatchers through `startHeartbeat`; a thread stops by disabling that
 * timer. Proves misses and mega misses are counted once per stall (per thread and in
 * total), counted again after a recovery, kill and multikill call the abort callback, and
 * the config readers apply Envoy's defaults. Envoy counterpart:
 * test/server/guarddog_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type { ProtoMessage } from '../../src/config/types.ts';
import { DispatcherImpl, simulatedBackend } from '../../src/event/dispatcher.ts';
import { SimulatedTimeSource } from '../../src/event/time-source.ts';
import type { Timer } from '../../src/event/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';
import {
  runGuardDog,
  startHeartbeat,
  testStallFor,
  touchIntervalMs,
  type WatchdogConfig,
  type WatchedThread,
  watchdogConfig,
  watchdogConfigs,
} from '../../src/server/guard-dog.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';

const DEFAULTS: WatchdogConfig = {
  missTimeoutMs: 200,
  megamissTimeoutMs: 1000,
  killTimeoutMs: 0,
  multikillTimeoutMs: 0,
  multikillThreshold: 0,
};

interface Rig {
  readonly sim: SimulatedTimeSource;
  readonly stats: ThreadStats;
  readonly aborts: string[];
  readonly cells: SharedArrayBuffer;
  /** Stops thread `i`'s heartbeat: its loop is "stuck". */
  stall(i: number): void;
  /** Restarts thread `i`'s heartbeat. */
  recover(i: number): void;
  counter(name: string): number;
}

/**
 * One guard dog dispatcher and one dispatcher per watched thread, all on one simulated
 * clock; each watched thread touches its cell every `touchIntervalMs(threads)`.
 */
function rig(threads: readonly WatchedThread[]): Rig {
  const sim = new SimulatedTimeSource();
  const stats = new ThreadStats(() => {}, { immediate: true });
  const aborts: string[] = [];
  const cells = new SharedArrayBuffer(4 * threads.length);
  const interval = touchIntervalMs(threads);
  const heartbeats: Timer[] = threads.map((t, i) =>
    startHeartbeat(new DispatcherImpl(t.name, simulatedBackend(sim)), cells, i, interval),
  );
  const dog = new DispatcherImpl('guard_dog', simulatedBackend(sim));
  runGuardDog(dog, cells, threads, stats, (line) => aborts.push(line));
  const timer = (i: number): Timer => heartbeats[i] ?? assert.fail(`no thread ${i}`);
  return {
    sim,
    stats,
    aborts,
    cells,
    stall: (i) => timer(i).disableTimer(),
    recover: (i) => timer(i).enableTimer(0),
    counter: (name) => stats.counter(name).value(),
  };
}

function watched(name: string, config: Partial<WatchdogConfig> = {}): WatchedThread {
  return { name, config: { ...DEFAULTS, ...config } };
}

describe('runGuardDog on simulated time', () => {
  test('a thread whose heartbeat keeps moving never counts a miss', () => {
    const r = rig([watched('main_thread'), watched('worker_0')]);
    r.sim.advanceTimeAndRun(10_000);
    const view = new Int32Array(r.cells);
    assert.ok((view[0] ?? 0) > 10 && (view[1] ?? 0) > 10, 'the heartbeats did move');
    for (const name of [
      'server.watchdog_miss',
      'server.watchdog_mega_miss',
      'server.main_thread.watchdog_miss',
      'server.worker_0.watchdog_miss',
      'server.worker_0.watchdog_mega_miss',
    ]) {
      assert.equal(r.counter(name), 0, name);
    }
    assert.deepEqual(r.aborts, []);
  });

  test('a stopped thread counts one miss past miss_timeout and one mega miss past megamiss_timeout', () => {
    const r = rig([watched('main_thread'), watched('worker_0')]);
    r.sim.advanceTimeAndRun(1000);
    r.stall(1);
    r.sim.advanceTimeAndRun(150);
    assert.equal(r.counter('server.worker_0.watchdog_miss'), 0, 'not yet past miss_timeout');
    r.sim.advanceTimeAndRun(200);
    assert.equal(r.counter('server.worker_0.watchdog_miss'), 1);
    assert.equal(r.counter('server.watchdog_miss'), 1);
    assert.equal(r.counter('server.worker_0.watchdog_mega_miss'), 0, 'not yet past megamiss_timeout');
    r.sim.advanceTimeAndRun(1000);
    assert.equal(r.counter('server.worker_0.watchdog_mega_miss'), 1);
    assert.equal(r.counter('server.watchdog_mega_miss'), 1);
    r.sim.advanceTimeAndRun(10_000);
    assert.equal(r.counter('server.worker_0.watchdog_miss'), 1, 'one miss per stall, however long');
    assert.equal(r.counter('server.worker_0.watchdog_mega_miss'), 1, 'one mega miss per stall');
    assert.equal(r.counter('server.watchdog_miss'), 1);
    assert.equal(r.counter('server.watchdog_mega_miss'), 1);
    assert.equal(r.counter('server.main_thread.watchdog_miss'), 0, 'the moving thread counts nothing');
    assert.deepEqual(r.aborts, [], 'kill_timeout 0 never kills');
  });

  test('a thread that recovers and stalls again counts again', () => {
    const r = rig([watched('worker_0')]);
    r.sim.advanceTimeAndRun(500);
    r.stall(0);
    r.sim.advanceTimeAndRun(2000);
    r.recover(0);
    r.sim.advanceTimeAndRun(2000);
    assert.equal(r.counter('server.worker_0.watchdog_miss'), 1, 'nothing counted while it runs again');
    assert.equal(r.counter('server.worker_0.watchdog_mega_miss'), 1);
    r.stall(0);
    r.sim.advanceTimeAndRun(400);
    assert.equal(r.counter('server.worker_0.watchdog_miss'), 2);
    assert.equal(r.counter('server.worker_0.watchdog_mega_miss'), 1, 'a short stall is only a miss');
    r.sim.advanceTimeAndRun(1000);
    assert.equal(r.counter('server.worker_0.watchdog_mega_miss'), 2);
    assert.equal(r.counter('server.watchdog_miss'), 2);
    assert.equal(r.counter('server.watchdog_mega_miss'), 2);
  });

  test('per-thread counters are separate and the totals add them up', () => {
    const r = rig([watched('main_thread'), watched('worker_0'), watched('worker_1')]);
    r.sim.advanceTimeAndRun(300);
    r.stall(0);
    r.stall(2);
    r.sim.advanceTimeAndRun(500);
    assert.equal(r.counter('server.main_thread.watchdog_miss'), 1);
    assert.equal(r.counter('server.worker_0.watchdog_miss'), 0);
    assert.equal(r.counter('server.worker_1.watchdog_miss'), 1);
    assert.equal(r.counter('server.watchdog_miss'), 2);
  });

  test('past kill_timeout the abort callback gets one line naming the stuck thread, and the dog stops', () => {
    const r = rig([
      watched('main_thread', { killTimeoutMs: 5000 }),
      watched('worker_1', { killTimeoutMs: 5000 }),
    ]);
    r.sim.advanceTimeAndRun(1000);
    r.stall(1);
    r.sim.advanceTimeAndRun(4500);
    assert.deepEqual(r.aborts, [], 'not yet past kill_timeout');
    r.sim.advanceTimeAndRun(1000);
    assert.equal(r.aborts.length, 1);
    assert.match(
      r.aborts[0] ?? '',
      /GuardDog: one thread \(worker_1\) has been blocked for \d+ ms; killing the process/,
    );
    r.sim.advanceTimeAndRun(10_000);
    assert.equal(r.aborts.length, 1, 'the guard dog does not re-arm after aborting');
  });

  test('a multikill with threshold 50% of 4 threads aborts once 2 threads are past multikill_timeout', () => {
    const config = { multikillTimeoutMs: 2000, multikillThreshold: 50 };
    const r = rig([0, 1, 2, 3].map((i) => watched(`worker_${i}`, config)));
    r.sim.advanceTimeAndRun(500);
    r.stall(1);
    r.stall(3);
    r.sim.advanceTimeAndRun(1500);
    assert.deepEqual(r.aborts, [], 'not yet past multikill_timeout');
    r.sim.advanceTimeAndRun(1000);
    assert.equal(r.aborts.length, 1);
    assert.match(
      r.aborts[0] ?? '',
      /GuardDog: 2 of \d+ threads have been blocked past multikill_timeout; killing the process/,
    );
  });

  test('a multikill with threshold 50% of 4 threads does not abort when only 1 thread is past multikill_timeout', {}, () => {
    const config = { multikillTimeoutMs: 2000, multikillThreshold: 50 };
    const r = rig([0, 1, 2, 3].map((i) => watched(`worker_${i}`, config)));
    r.sim.advanceTimeAndRun(500);
    r.stall(2);
    r.sim.advanceTimeAndRun(5000);
    assert.deepEqual(r.aborts, []);
  });

  test('a multikill needs at least 2 threads past multikill_timeout, even with threshold 0', {}, () => {
    const config = { multikillTimeoutMs: 2000 };
    const r = rig([0, 1, 2].map((i) => watched(`worker_${i}`, config)));
    r.sim.advanceTimeAndRun(500);
    r.stall(0);
    r.sim.advanceTimeAndRun(5000);
    assert.deepEqual(r.aborts, [], 'one stuck thread is a kill_timeout matter, not a multikill');
    r.stall(1);
    r.sim.advanceTimeAndRun(5000);
    assert.equal(r.aborts.length, 1);
  });

  test('multikill_timeout 0 never multikills, however many threads are stuck', () => {
    const r = rig([0, 1].map((i) => watched(`worker_${i}`)));
    r.sim.advanceTimeAndRun(100);
    r.stall(0);
    r.stall(1);
    r.sim.advanceTimeAndRun(60_000);
    assert.deepEqual(r.aborts, []);
    assert.equal(r.counter('server.watchdog_mega_miss'), 2);
  });
});

describe('watchdog configuration', () => {
  test('watchdogConfig with no message takes Envoy defaults: miss 200 ms, megamiss 1 s, no kill, no multikill', () => {
    assert.deepEqual(watchdogConfig(undefined), DEFAULTS);
    assert.deepEqual(watchdogConfig({}), DEFAULTS);
  });

  test('watchdogConfig reads decoded Durations {seconds, nanos} in whole milliseconds, and the threshold percent', () => {
    const m: ProtoMessage = {
      miss_timeout: { seconds: 0, nanos: 500_000_000 },
      megamiss_timeout: { seconds: 2, nanos: 0 },
      kill_timeout: { seconds: 10, nanos: 999_999 },
      multikill_timeout: { seconds: 3, nanos: 1_500_000 },
      multikill_threshold: { value: 50 },
    };
    assert.deepEqual(watchdogConfig(m), {
      missTimeoutMs: 500,
      megamissTimeoutMs: 2000,
      killTimeoutMs: 10_000,
      multikillTimeoutMs: 3001,
      multikillThreshold: 50,
    });
  });

  test('an explicit 0s kill_timeout stays 0 (disabled) and an explicit miss_timeout of 0s is 0, not the default', () => {
    const c = watchdogConfig({
      kill_timeout: { seconds: 0, nanos: 0 },
      miss_timeout: { seconds: 0, nanos: 0 },
    });
    assert.equal(c.killTimeoutMs, 0);
    assert.equal(c.missTimeoutMs, 0);
    assert.equal(c.megamissTimeoutMs, 1000);
  });

  test('watchdogConfigs reads watchdogs.main_thread_watchdog and worker_watchdog separately', () => {
    const c = watchdogConfigs({
      watchdogs: {
        main_thread_watchdog: { miss_timeout: { seconds: 1, nanos: 0 } },
        worker_watchdog: { kill_timeout: { seconds: 20, nanos: 0 } },
      },
    });
    assert.deepEqual(c.main, { ...DEFAULTS, missTimeoutMs: 1000 });
    assert.deepEqual(c.worker, { ...DEFAULTS, killTimeoutMs: 20_000 });
  });

  test('watchdogConfigs falls back to the deprecated watchdog for both, and to defaults with neither', () => {
    const legacy = watchdogConfigs({ watchdog: { megamiss_timeout: { seconds: 5, nanos: 0 } } });
    assert.deepEqual(legacy.main, { ...DEFAULTS, megamissTimeoutMs: 5000 });
    assert.deepEqual(legacy.worker, { ...DEFAULTS, megamissTimeoutMs: 5000 });
    const none = watchdogConfigs({});
    assert.deepEqual(none, { main: DEFAULTS, worker: DEFAULTS });
  });

  test('watchdogConfigs reads a bootstrap decoded by loadConfig from YAML durations', () => {
    const loaded = loadConfig(
      {
        configYaml: `
watchdogs:
  worker_watchdog:
    miss_timeout: 0.5s
    kill_timeout: 10s
    multikill_timeout: 2.0015s
    multikill_threshold: { value: 50 }
`,
      },
      { registry: new ExtensionRegistry(compiledInExtensions) },
    );
    assert.deepEqual(loaded.errors, []);
    const message = loaded.message ?? assert.fail('no message decoded');
    const c = watchdogConfigs(message);
    assert.deepEqual(c.main, DEFAULTS);
    assert.deepEqual(c.worker, {
      missTimeoutMs: 500,
      megamissTimeoutMs: 1000,
      killTimeoutMs: 10_000,
      multikillTimeoutMs: 2001,
      multikillThreshold: 50,
    });
  });

  test('touchIntervalMs is half the smallest miss timeout, at least 5 ms', () => {
    assert.equal(touchIntervalMs([watched('a'), watched('b', { missTimeoutMs: 60 })]), 30);
    assert.equal(touchIntervalMs([watched('a', { missTimeoutMs: 4 })]), 5);
  });
});

describe('testStallFor (LEGATE_TEST_STALL_WORKER)', () => {
  test("'0:1500' stalls worker 0 for 1500 ms and no other worker", () => {
    assert.equal(testStallFor(0, '0:1500'), 1500);
    assert.equal(testStallFor(1, '0:1500'), 0);
  });

  test('unset or malformed values stall nothing', () => {
    assert.equal(testStallFor(0, undefined), 0);
    for (const env of ['', '0', '0:', ':1500', '0:1.5', 'a:1500', '0:1500x', ' 0:1500']) {
      assert.equal(testStallFor(0, env), 0, JSON.stringify(env));
    }
  });
});
