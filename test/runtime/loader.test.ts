/**
 * The runtime loader on a real dispatcher and a real file system (a temporary directory):
 * layers in order, disk layers read from `<symlink_root>/<subdirectory>[/<service cluster>]`
 * with comments and '/' -> '.' keys, a reload when the symlink root is swapped atomically
 * (`ln -s v2 new && mv -T new current`, watched with fs.watch), admin overrides, Envoy's
 * `runtime.*` stats, a layer that fails to read left out (load_error), and every snapshot
 * crossing a real MessageChannel to a worker-side runtime through the `runtime` slot.
 * Every wait is bounded. Envoy counterpart: test/common/runtime/runtime_impl_test.cc
 * (DiskLoaderImplTest, LoaderImplTest).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import type { LayerSpec, RuntimeConfig } from '../../src/runtime/config.ts';
import { entryFromText } from '../../src/runtime/entry.ts';
import { NoAdminLayerError, RuntimeLoader } from '../../src/runtime/loader.ts';
import { ThreadLocalRuntime } from '../../src/runtime/thread-local-runtime.ts';
import type { RuntimeSnapshotData } from '../../src/runtime/types.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';
import type { MainToWorker, WorkerToMain } from '../../src/thread-local/messages.ts';
import { ThreadLocalInstance, WorkerSlots } from '../../src/thread-local/thread-local.ts';

const BOUND_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BOUND_MS);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes `files` (relative path -> contents) under `dir`. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, contents] of Object.entries(files)) {
    const full = path.join(dir, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, contents);
  }
}

/** `ln -s target new && mv -T new link`: the atomic swap Envoy's docs prescribe. */
function swapSymlink(link: string, target: string): void {
  const tmp = `${link}.new`;
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-runtime-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function harness(t: TestContext, layers: LayerSpec[], serviceCluster = '') {
  const dispatcher = new DispatcherImpl('main_thread', realBackend());
  const stats = new ThreadStats(() => {}, { immediate: true });
  const tls = new ThreadLocalInstance();
  // A worker on the far side of a real MessageChannel: data crosses by structured clone.
  const channel = new MessageChannel();
  const workerRuntime = new ThreadLocalRuntime();
  const slots = new WorkerSlots();
  let applied = 0;
  slots.register('runtime', (data) => {
    workerRuntime.update(data as RuntimeSnapshotData);
    applied++;
  });
  channel.port2.on('message', (m: MainToWorker) => {
    if (m.type !== 'tls.update') return;
    slots.apply(m.slot, m.data);
    channel.port2.postMessage({ type: 'tls.applied', seq: m.seq } satisfies WorkerToMain);
  });
  channel.port1.on('message', (m: WorkerToMain) => {
    if (m.type === 'tls.applied') dispatcher.run(() => tls.onApplied(0, m.seq));
  });
  tls.registerWorker({ index: 0, send: (m) => channel.port1.postMessage(m) });
  const config: RuntimeConfig = { layers, errors: [], warnings: [] };
  const loader = new RuntimeLoader(config, {
    dispatcher,
    scope: stats,
    slot: tls.allocateSlot('runtime'),
    serviceCluster,
  });
  t.after(() => {
    loader.shutdown();
    channel.port1.close();
    channel.port2.close();
    dispatcher.exit();
  });
  const counter = (name: string): number => stats.counter(name).value();
  const gauge = (name: string): number => stats.gauge(name, 'NeverImport').value();
  return { loader, workerRuntime, applied: () => applied, counter, gauge };
}

function disk(
  name: string,
  symlinkRoot: string,
  subdirectory: string,
  appendServiceCluster = false,
): LayerSpec {
  return { kind: 'disk', name, symlinkRoot, subdirectory, appendServiceCluster, step: undefined };
}

describe('runtime loader', () => {
  test('disk layer: files are keys (dirs joined with dots), contents the value, comments dropped', (t) => {
    const root = tempDir(t);
    writeTree(root, {
      'v1/envoy/health_check/min_interval': '5\n',
      'v1/envoy/upstream/healthy_panic_threshold': '# lowered during the incident\n20  \n',
      'v1/envoy/placeholder': '# nothing yet\n',
      'v1/envoy/text': 'first line\nsecond line\n',
    });
    fs.symlinkSync(path.join(root, 'v1'), path.join(root, 'current'));
    const h = harness(t, [disk('disk', path.join(root, 'current'), 'envoy')]);
    const s = h.loader.snapshot();
    assert.equal(s.getInteger('health_check.min_interval', 0), 5);
    assert.equal(s.get('upstream.healthy_panic_threshold'), '20');
    assert.equal(s.get('placeholder'), '', 'a comment-only file is a key with an empty value');
    assert.equal(s.getInteger('placeholder', 7), 7);
    assert.equal(s.get('text'), 'first line\nsecond line');
    assert.deepEqual(
      s.layers.map((l) => l.name),
      ['disk'],
    );
    assert.equal(h.gauge('runtime.num_keys'), 4);
    assert.equal(h.gauge('runtime.num_layers'), 1);
    assert.equal(h.counter('runtime.load_success'), 1);
    assert.equal(h.counter('runtime.override_dir_not_exists'), 1);
  });

  test('swapping the symlink root atomically reloads the layer; workers receive the new snapshot', async (t) => {
    const root = tempDir(t);
    writeTree(root, {
      'v1/envoy/feature/percent': '10',
      'v1/envoy/only_in_v1': 'x',
      'v2/envoy/feature/percent': '90',
      'v2/envoy/only_in_v2': 'y',
    });
    const link = path.join(root, 'current');
    fs.symlinkSync(path.join(root, 'v1'), link);
    const h = harness(t, [{ kind: 'static', name: 'base', values: new Map() }, disk('disk', link, 'envoy')]);
    assert.deepEqual(h.loader.start(), []);
    await until(
      () => h.workerRuntime.snapshot().getInteger('feature.percent', 0) === 10,
      'the first snapshot',
    );

    const before = h.counter('runtime.load_success');
    swapSymlink(link, path.join(root, 'v2'));
    await until(() => h.loader.snapshot().getInteger('feature.percent', 0) === 90, 'the reload on main');
    const s = h.loader.snapshot();
    assert.equal(s.exists('only_in_v1'), false);
    assert.equal(s.get('only_in_v2'), 'y');
    assert.ok(h.counter('runtime.load_success') > before);
    await until(() => h.workerRuntime.snapshot().getInteger('feature.percent', 0) === 90, 'the worker');
    assert.equal(h.workerRuntime.snapshot().exists('only_in_v1'), false);
  });

  test('edits in place and other names in the watched directory do not reload; only the swap does', async (t) => {
    const root = tempDir(t);
    writeTree(root, { 'v1/envoy/k': '1', 'v2/envoy/k': '2' });
    const link = path.join(root, 'current');
    fs.symlinkSync(path.join(root, 'v1'), link);
    const h = harness(t, [disk('disk', link, 'envoy')]);
    assert.deepEqual(h.loader.start(), []);
    fs.writeFileSync(path.join(root, 'v1/envoy/k'), '5');
    fs.writeFileSync(path.join(root, 'unrelated'), 'x');
    fs.renameSync(path.join(root, 'unrelated'), path.join(root, 'moved'));
    // Events arrive in order: once the swap's reload is seen, the earlier ones were handled.
    swapSymlink(link, path.join(root, 'v2'));
    await until(() => h.loader.snapshot().get('k') === '2', 'the swap');
    assert.equal(h.counter('runtime.load_success'), 2, 'the start-up load and the swap, nothing else');
  });

  test('append_service_cluster and override directories: later disk layers override earlier ones', (t) => {
    const root = tempDir(t);
    writeTree(root, {
      'v1/envoy/k': 'global',
      'v1/envoy/other': 'kept',
      'v1/envoy_override/my-cluster/k': 'cluster',
      'v1/envoy_override/another/k': 'not mine',
    });
    const link = path.join(root, 'current');
    fs.symlinkSync(path.join(root, 'v1'), link);
    const h = harness(
      t,
      [
        disk('disk0', link, 'envoy'),
        disk('disk1', link, 'envoy_override', true),
        { kind: 'admin', name: 'admin' },
      ],
      'my-cluster',
    );
    const s = h.loader.snapshot();
    assert.equal(s.get('k'), 'cluster');
    assert.equal(s.get('other'), 'kept');
    assert.deepEqual(
      s.layers.map((l) => l.name),
      ['disk0', 'disk1', 'admin'],
    );
    assert.equal(h.counter('runtime.override_dir_exists'), 1);
    assert.equal(h.counter('runtime.override_dir_not_exists'), 0);
  });

  test('a disk layer whose directory does not exist is left out, and that is not an error', (t) => {
    const root = tempDir(t);
    const h = harness(t, [
      disk('disk', path.join(root, 'current'), 'envoy'),
      { kind: 'admin', name: 'admin' },
    ]);
    assert.deepEqual(
      h.loader.snapshot().layers.map((l) => l.name),
      ['admin'],
    );
    assert.equal(h.counter('runtime.load_success'), 1);
    assert.equal(h.counter('runtime.load_error'), 0);
  });

  test('a tree deeper than 16 levels fails the layer: it is left out and the load counts an error', (t) => {
    const root = tempDir(t);
    writeTree(root, { [`v1/envoy/${Array.from({ length: 17 }, (_, i) => `d${i}`).join('/')}/k`]: '1' });
    writeTree(root, { 'v1/ok/k': '1' });
    const link = path.join(root, 'current');
    fs.symlinkSync(path.join(root, 'v1'), link);
    const h = harness(t, [disk('deep', link, 'envoy'), disk('ok', link, 'ok')]);
    assert.deepEqual(
      h.loader.snapshot().layers.map((l) => l.name),
      ['ok'],
    );
    assert.equal(h.counter('runtime.load_error'), 1);
    assert.equal(h.counter('runtime.load_success'), 0);
    assert.equal(h.gauge('runtime.num_layers'), 1);
  });

  test('admin overrides: set, replace, remove; admin_overrides_active follows; each resolves once the worker has it', async (t) => {
    const h = harness(t, [
      { kind: 'static', name: 'base', values: new Map([['a', entryFromText('0')]]) },
      { kind: 'admin', name: 'admin' },
    ]);
    const first = h.loader.mergeValues(
      new Map([
        ['a', '1'],
        ['b', '{numerator: 3, denominator: MILLION}'],
      ]),
    );
    assert.equal(h.loader.snapshot().getInteger('a', -1), 1, 'in force on main at once');
    assert.equal(h.gauge('runtime.admin_overrides_active'), 1);
    assert.equal(h.gauge('runtime.num_keys'), 2);
    await within(first, 'the worker to apply the first override');
    assert.equal(h.workerRuntime.snapshot().getInteger('a', -1), 1);
    assert.deepEqual(h.workerRuntime.snapshot().entries().get('b')?.fractional, {
      numerator: 3,
      denominator: 'MILLION',
    });
    await within(h.loader.mergeValues(new Map([['a', '2']])), 'a=2 applied');
    assert.equal(h.workerRuntime.snapshot().getInteger('a', -1), 2);
    await within(
      h.loader.mergeValues(
        new Map([
          ['a', ''],
          ['b', ''],
        ]),
      ),
      'the removal applied',
    );
    assert.equal(h.gauge('runtime.admin_overrides_active'), 0);
    assert.equal(
      h.workerRuntime.snapshot().getInteger('a', -1),
      0,
      'removed: the static layer shows through',
    );
    assert.equal(h.workerRuntime.snapshot().exists('b'), false);
    assert.equal(h.counter('runtime.load_success'), 4);
  });

  test('without an admin layer, overrides are refused', (t) => {
    const h = harness(t, [{ kind: 'static', name: 'base', values: new Map() }]);
    assert.equal(h.loader.hasAdminLayer(), false);
    assert.throws(() => h.loader.mergeValues(new Map([['a', '1']])), NoAdminLayerError);
  });

  test('a symlink root whose directory does not exist cannot be watched: start() reports it', (t) => {
    const root = tempDir(t);
    const h = harness(t, [disk('disk', path.join(root, 'missing', 'current'), 'envoy')]);
    const issues = h.loader.start();
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.message ?? '', /unable to add filesystem watch for symlink_root/);
  });
});
