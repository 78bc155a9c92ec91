/**
 * InitManager: the watcher runs once, when every target is ready; targets added while
 * initializing start at once; a target that never completes stays visible by name; misuse
 * (initializing twice, adding after initialized) is a bug and throws. Envoy counterpart:
 * test/common/init/manager_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InitManager, type InitTarget } from '../../src/server/init-manager.ts';

/** Adds a target that only records its handle when initialized, so the test decides when it is ready. */
function manualTarget(m: InitManager, name: string, log: string[] = []): { handle: () => InitTarget } {
  let started: InitTarget | undefined;
  m.add(name, (t) => {
    log.push(`init ${name}`);
    started = t;
  });
  return {
    handle: () => {
      if (started === undefined) assert.fail(`target ${name} was never initialized`);
      return started;
    },
  };
}

describe('InitManager', () => {
  test('the watcher runs exactly once, only after the last of several targets is ready', () => {
    const m = new InitManager('Server');
    const a = manualTarget(m, 'a');
    const b = manualTarget(m, 'b');
    let watched = 0;
    m.initialize(() => watched++);
    assert.equal(m.state, 'Initializing');
    a.handle().ready();
    assert.equal(watched, 0, 'one target is still pending');
    assert.equal(m.state, 'Initializing');
    b.handle().ready();
    assert.equal(watched, 1);
    assert.equal(m.state, 'Initialized');
  });

  test('targets are initialized by initialize(), not by add(), in the order added', () => {
    const m = new InitManager('Server');
    const log: string[] = [];
    manualTarget(m, 'a', log);
    manualTarget(m, 'b', log);
    assert.deepEqual(log, [], 'add() before initialize() starts nothing');
    m.initialize(() => {});
    assert.deepEqual(log, ['init a', 'init b']);
  });

  test('with no targets the watcher runs at once', () => {
    const m = new InitManager('Server');
    let watched = 0;
    m.initialize(() => watched++);
    assert.equal(watched, 1);
    assert.equal(m.state, 'Initialized');
  });

  test('targets that are ready synchronously inside initialize run the watcher once, from initialize', () => {
    const m = new InitManager('Server');
    m.add('a', (t) => t.ready());
    m.add('b', (t) => t.ready());
    let watched = 0;
    m.initialize(() => watched++);
    assert.equal(watched, 1);
    assert.equal(m.state, 'Initialized');
  });

  test('a target ready before initialize() is not initialized again and does not hold the watcher', () => {
    const m = new InitManager('Server');
    const log: string[] = [];
    const early = m.add('early', () => log.push('init early'));
    early.ready();
    assert.equal(early.isReady(), true);
    assert.equal(m.state, 'Uninitialized', 'ready before initialize does not initialize the manager');
    let watched = 0;
    m.initialize(() => watched++);
    assert.deepEqual(log, []);
    assert.equal(watched, 1);
  });

  test('a target added while initializing is initialized immediately and holds the watcher until ready', () => {
    const m = new InitManager('Server');
    const first = manualTarget(m, 'first');
    let watched = 0;
    m.initialize(() => watched++);
    const log: string[] = [];
    const late = manualTarget(m, 'late', log);
    assert.deepEqual(log, ['init late'], 'initialized by add() itself');
    first.handle().ready();
    assert.equal(watched, 0, 'the late target is still pending');
    assert.deepEqual(m.pending(), ['late']);
    late.handle().ready();
    assert.equal(watched, 1);
  });

  test('pending() and dump() name a target that never completes', () => {
    const m = new InitManager('Server');
    m.add('cluster_manager', (t) => t.ready());
    m.add('Listener-init-target stuck', () => {});
    let watched = 0;
    m.initialize(() => watched++);
    assert.equal(watched, 0);
    assert.equal(m.state, 'Initializing');
    assert.deepEqual(m.pending(), ['Listener-init-target stuck']);
    assert.deepEqual(m.dump(), [
      { name: 'cluster_manager', ready: true },
      { name: 'Listener-init-target stuck', ready: false },
    ]);
  });

  test('ready() called twice is harmless: the watcher still runs once and the state stays Initialized', () => {
    const m = new InitManager('Server');
    const a = manualTarget(m, 'a');
    const b = manualTarget(m, 'b');
    let watched = 0;
    m.initialize(() => watched++);
    a.handle().ready();
    a.handle().ready();
    assert.equal(watched, 0, 'a second ready() of one target does not count for another');
    b.handle().ready();
    b.handle().ready();
    a.handle().ready();
    assert.equal(watched, 1);
    assert.equal(a.handle().isReady(), true);
    assert.deepEqual(m.pending(), []);
  });

  test('initialize() twice throws, before and after the manager is initialized', () => {
    const pendingManager = new InitManager('Server');
    pendingManager.add('stuck', () => {});
    pendingManager.initialize(() => {});
    assert.throws(() => pendingManager.initialize(() => {}), /Server initialized twice/);

    const doneManager = new InitManager('Listener');
    doneManager.initialize(() => {});
    assert.throws(() => doneManager.initialize(() => {}), /Listener initialized twice/);
  });

  test('add() after the manager is initialized throws, naming the target and the manager', () => {
    const m = new InitManager('Server');
    m.initialize(() => {});
    assert.throws(() => m.add('too-late', () => {}), /init target too-late added after Server initialized/);
    assert.deepEqual(m.dump(), [], 'the refused target is not recorded');
  });
});
