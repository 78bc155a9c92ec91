/**
 * DispatcherImpl on Node's event loop (the real backend): order of timers, callbacks and
 * posts with short real timeouts (order is asserted, never timing), and the handles it holds:
 * an armed timer keeps the process alive, a dispatcher with nothing armed does not, and
 * exit() leaves no handle behind. Liveness is checked in child processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import type { Dispatcher } from '../../src/event/types.ts';

const DISPATCHER_URL = pathToFileURL(path.resolve(import.meta.dirname, '../../src/event/dispatcher.ts')).href;

/** Resolves once `count` calls of the returned `done` have been made. */
function countdown(count: number): { done: () => void; finished: Promise<void> } {
  let left = count;
  let resolve: () => void = () => {};
  const finished = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    done: () => {
      if (--left === 0) resolve();
    },
    finished,
  };
}

/** Runs `body` (ES module code with `DispatcherImpl` and `realBackend` in scope) in a child node. */
function runChild(body: string): { status: number | null; stdout: string; ms: number; timedOut: boolean } {
  const code = `import { DispatcherImpl, realBackend } from ${JSON.stringify(DISPATCHER_URL)};\n${body}`;
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 5000,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.stderr) assert.equal(r.stderr, '', 'child wrote to stderr');
  return { status: r.status, stdout: r.stdout, ms, timedOut: r.signal === 'SIGTERM' };
}

function activeHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
}

describe('real backend: order on Node loop', () => {
  test('timers fire in deadline order, a zero-delay one first', async () => {
    const d = new DispatcherImpl('worker_0', realBackend());
    const log: number[] = [];
    const { done, finished } = countdown(4);
    // Armed in one batch: the deadlines count from the same cached time, so the order does
    // not depend on how long arming took on a loaded machine.
    d.run(() => {
      for (const ms of [30, 10, 0, 20]) {
        d.createTimer(() => {
          log.push(ms);
          done();
        }).enableTimer(ms);
      }
    });
    await finished;
    assert.deepEqual(log, [0, 10, 20, 30]);
    d.exit();
  });

  test('re-arming the earliest timer later moves its firing after a timer armed in between', async () => {
    const d = new DispatcherImpl('worker_0', realBackend());
    const log: string[] = [];
    const { done, finished } = countdown(2);
    const a = d.createTimer(() => {
      log.push('a');
      done();
    });
    const b = d.createTimer(() => {
      log.push('b');
      done();
    });
    d.run(() => {
      a.enableTimer(5);
      b.enableTimer(25);
      a.enableTimer(45); // the Node timeout set for 5 ms stays; its early wake-up re-asks
    });
    await finished;
    assert.deepEqual(log, ['b', 'a']);
    d.exit();
  });

  test('a timer re-armed in its own callback and disabled timers behave as on simulated time', async () => {
    const d = new DispatcherImpl('worker_0', realBackend());
    const log: string[] = [];
    const { done, finished } = countdown(1);
    let n = 0;
    const other = d.createTimer(() => log.push('disabled timer fired'));
    const t = d.createTimer(() => {
      log.push(`t${++n}`);
      other.disableTimer();
      if (n < 3) t.enableTimer(n === 1 ? 0 : 5);
      else done();
    });
    d.run(() => {
      t.enableTimer(5);
      other.enableTimer(5);
    });
    await finished;
    assert.deepEqual(log, ['t1', 't2', 't3']);
    d.exit();
  });

  test('current-iteration callbacks and posts run when run() returns; next-iteration ones after', async () => {
    const d: Dispatcher = new DispatcherImpl('worker_0', realBackend());
    const log: string[] = [];
    const { done, finished } = countdown(1);
    const next = d.createSchedulableCallback(() => {
      log.push('next');
      done();
    });
    const current = d.createSchedulableCallback(() => log.push('current'));
    d.run(() => {
      next.scheduleCallbackNextIteration();
      current.scheduleCallbackCurrentIteration();
      d.post(() => log.push('post'));
      log.push('batch');
    });
    log.push('after run');
    await finished;
    assert.deepEqual(log, ['batch', 'current', 'post', 'after run', 'next']);
    d.exit();
  });

  test('posts made outside any batch run once the current synchronous code returns', async () => {
    const d = new DispatcherImpl('worker_0', realBackend());
    const log: string[] = [];
    d.post(() => log.push('p1'));
    d.post(() => log.push('p2'));
    log.push('sync');
    await new Promise<void>((r) => queueMicrotask(r));
    assert.deepEqual(log, ['sync', 'p1', 'p2']);
    d.exit();
  });

  test('exit() clears the Node timeout and immediate it held', () => {
    const before = activeHandles();
    const d = new DispatcherImpl('worker_0', realBackend());
    d.createTimer(() => assert.fail('fired after exit')).enableTimer(20);
    d.createTimer(() => assert.fail('fired after exit')).enableTimer(0);
    d.createSchedulableCallback(() => assert.fail('ran after exit')).scheduleCallbackNextIteration();
    assert.ok(activeHandles() > before);
    d.exit();
    assert.equal(activeHandles(), before);
  });
});

describe('real backend: process liveness (child processes)', () => {
  test('a dispatcher with no armed timer does not keep the process alive', () => {
    const r = runChild(`
      const d = new DispatcherImpl('worker_0', realBackend());
      const t = d.createTimer(() => console.log('fired'));
      t.enableTimer(10_000);
      t.enableTimer(20_000);
      t.disableTimer();
      d.createSchedulableCallback(() => console.log('next')).scheduleCallbackNextIteration();
    `);
    assert.equal(r.timedOut, false);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'next\n');
    assert.ok(r.ms < 2000, `child took ${r.ms} ms to exit`);
  });

  test('an armed timer keeps the process alive until it fires', () => {
    const r = runChild(`
      const d = new DispatcherImpl('worker_0', realBackend());
      d.createTimer(() => console.log('fired')).enableTimer(40);
    `);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'fired\n');
  });

  test('exit() with armed timers and queued callbacks lets the process end at once, running nothing', () => {
    const r = runChild(`
      const d = new DispatcherImpl('worker_0', realBackend());
      d.createTimer(() => console.log('timer')).enableTimer(10_000);
      d.createTimer(() => console.log('zero timer')).enableTimer(0);
      d.createSchedulableCallback(() => console.log('next')).scheduleCallbackNextIteration();
      d.post(() => console.log('post'));
      d.exit();
    `);
    assert.equal(r.timedOut, false);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, '');
    assert.ok(r.ms < 2000, `child took ${r.ms} ms to exit`);
  });
});
