/**
 * ThreadLocalInstance and WorkerSlots, with fake worker channels that record what main
 * posts: update order and sequence numbers, completion only once every worker acked (an
 * ack for a later update covers the earlier ones), completions in update order, a removed
 * worker owing nothing, late workers getting every slot's current data. Envoy counterpart:
 * test/common/thread_local/thread_local_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MainToWorker } from '../../src/thread-local/messages.ts';
import { ThreadLocalInstance, type WorkerChannel, WorkerSlots } from '../../src/thread-local/thread-local.ts';

interface TlsUpdate {
  readonly slot: string;
  readonly seq: number;
  readonly data: unknown;
}

class FakeWorker implements WorkerChannel {
  readonly index: number;
  readonly sent: MainToWorker[] = [];

  constructor(index: number) {
    this.index = index;
  }

  send(message: MainToWorker): void {
    this.sent.push(message);
  }

  updates(): TlsUpdate[] {
    return this.sent.flatMap((m) =>
      m.type === 'tls.update' ? [{ slot: m.slot, seq: m.seq, data: m.data }] : [],
    );
  }

  lastSeq(): number {
    const last = this.updates().at(-1);
    if (last === undefined) assert.fail(`worker ${this.index} received no update`);
    return last.seq;
  }
}

function setup(workers: number): { tls: ThreadLocalInstance; fakes: FakeWorker[] } {
  const tls = new ThreadLocalInstance();
  const fakes = Array.from({ length: workers }, (_, i) => new FakeWorker(i));
  for (const w of fakes) tls.registerWorker(w);
  return { tls, fakes };
}

describe('ThreadLocalInstance.runOnAllThreads', () => {
  test('posts every update to every worker, in order, with increasing seq shared by all workers', () => {
    const { tls, fakes } = setup(3);
    const listeners = tls.allocateSlot('listeners');
    const clusters = tls.allocateSlot('clusters');
    listeners.runOnAllThreads(['l1']);
    clusters.runOnAllThreads({ c: 1 });
    listeners.runOnAllThreads(['l1', 'l2']);
    const first = fakes[0]?.updates() ?? [];
    assert.deepEqual(
      first.map((u) => [u.slot, u.data]),
      [
        ['listeners', ['l1']],
        ['clusters', { c: 1 }],
        ['listeners', ['l1', 'l2']],
      ],
    );
    const seqs = first.map((u) => u.seq);
    for (let i = 1; i < seqs.length; i++)
      assert.ok((seqs[i] ?? 0) > (seqs[i - 1] ?? 0), `seq increases: ${seqs}`);
    for (const w of fakes) assert.deepEqual(w.updates(), first, `worker ${w.index} got the same messages`);
  });

  test('onComplete runs only after every worker acked, acks arriving out of worker order', () => {
    const { tls, fakes } = setup(3);
    const slot = tls.allocateSlot('listeners');
    let completed = 0;
    slot.runOnAllThreads('v1', () => completed++);
    const seq = fakes[0]?.lastSeq() ?? -1;
    tls.onApplied(2, seq);
    tls.onApplied(0, seq);
    assert.equal(completed, 0, 'worker 1 has not acked');
    tls.onApplied(1, seq);
    assert.equal(completed, 1);
    tls.onApplied(1, seq);
    assert.equal(completed, 1, 'a repeated ack does not complete again');
  });

  test('an ack for a later seq implies the earlier updates were applied', () => {
    const { tls, fakes } = setup(2);
    const slot = tls.allocateSlot('listeners');
    const done: string[] = [];
    slot.runOnAllThreads('v1', () => done.push('v1'));
    slot.runOnAllThreads('v2', () => done.push('v2'));
    const latest = fakes[0]?.lastSeq() ?? -1;
    tls.onApplied(0, latest);
    assert.deepEqual(done, []);
    tls.onApplied(1, latest);
    assert.deepEqual(done, ['v1', 'v2']);
  });

  test('an ack for an earlier seq does not complete a later update', () => {
    const { tls, fakes } = setup(1);
    const slot = tls.allocateSlot('listeners');
    const done: string[] = [];
    slot.runOnAllThreads('v1', () => done.push('v1'));
    const firstSeq = fakes[0]?.lastSeq() ?? -1;
    slot.runOnAllThreads('v2', () => done.push('v2'));
    tls.onApplied(0, firstSeq);
    assert.deepEqual(done, ['v1']);
  });

  test('completions run in update order even when a later update is fully acked first', () => {
    const { tls, fakes } = setup(2);
    const a = tls.allocateSlot('a');
    const b = tls.allocateSlot('b');
    const done: string[] = [];
    a.runOnAllThreads('a1', () => done.push('a1'));
    const firstSeq = fakes[0]?.lastSeq() ?? -1;
    b.runOnAllThreads('b1', () => done.push('b1'));
    const secondSeq = fakes[0]?.lastSeq() ?? -1;
    // Worker 0 applied both, worker 1 only the first: nothing of b1 is owed by worker 0.
    tls.onApplied(0, secondSeq);
    assert.deepEqual(done, []);
    tls.onApplied(1, firstSeq);
    assert.deepEqual(done, ['a1'], 'b1 waits for worker 1');
    tls.onApplied(1, secondSeq);
    assert.deepEqual(done, ['a1', 'b1']);
  });

  test('with no workers, onComplete runs at once', () => {
    const tls = new ThreadLocalInstance();
    let completed = 0;
    tls.allocateSlot('listeners').runOnAllThreads('v', () => completed++);
    assert.equal(completed, 1);
  });

  test('removeWorker releases what that worker owed, completing updates it alone held up', () => {
    const { tls, fakes } = setup(3);
    const slot = tls.allocateSlot('listeners');
    // Asserts compare copies: deepEqual's `asserts actual is T` would narrow `done` to never[].
    const done: string[] = [];
    slot.runOnAllThreads('v1', () => done.push('v1'));
    slot.runOnAllThreads('v2', () => done.push('v2'));
    const latest = fakes[0]?.lastSeq() ?? -1;
    tls.onApplied(0, latest);
    tls.onApplied(2, latest);
    assert.deepEqual([...done], []);
    tls.removeWorker(1);
    assert.deepEqual([...done], ['v1', 'v2']);
    // The removed worker is no longer sent anything.
    slot.runOnAllThreads('v3', () => done.push('v3'));
    assert.equal(fakes[1]?.updates().length, 2);
    tls.onApplied(0, fakes[0]?.lastSeq() ?? -1);
    tls.onApplied(2, fakes[2]?.lastSeq() ?? -1);
    assert.deepEqual([...done], ['v1', 'v2', 'v3'], 'v3 did not wait for the removed worker');
  });

  test('a worker registered later gets the current data of every slot, and only that', () => {
    const { tls } = setup(1);
    const listeners = tls.allocateSlot('listeners');
    const clusters = tls.allocateSlot('clusters');
    tls.allocateSlot('never-set');
    listeners.runOnAllThreads('l-old');
    clusters.runOnAllThreads('c1');
    listeners.runOnAllThreads('l-new');
    const late = new FakeWorker(7);
    tls.registerWorker(late);
    const got = late.updates();
    assert.deepEqual(got.map((u) => [u.slot, u.data]).sort(), [
      ['clusters', 'c1'],
      ['listeners', 'l-new'],
    ]);
    const lastBefore = 3;
    for (const u of got)
      assert.ok(u.seq > lastBefore, 'replayed updates get fresh seqs, after those already sent');
    assert.equal(new Set(got.map((u) => u.seq)).size, got.length);
  });

  test('a worker registered later does not hold up updates made before it joined', () => {
    const { tls, fakes } = setup(1);
    const slot = tls.allocateSlot('listeners');
    let completed = 0;
    slot.runOnAllThreads('v1', () => completed++);
    tls.registerWorker(new FakeWorker(1));
    tls.onApplied(0, fakes[0]?.lastSeq() ?? -1);
    assert.equal(completed, 1);
  });

  test('allocating a slot name twice throws', () => {
    const tls = new ThreadLocalInstance();
    tls.allocateSlot('listeners');
    assert.throws(() => tls.allocateSlot('listeners'), /thread-local slot listeners allocated twice/);
  });

  test('after shutdownThread, runOnAllThreads posts nothing', () => {
    const { tls, fakes } = setup(2);
    const slot = tls.allocateSlot('listeners');
    tls.shutdownThread();
    slot.runOnAllThreads('v');
    for (const w of fakes) assert.deepEqual(w.sent, []);
  });
});

describe('WorkerSlots', () => {
  test('apply calls the handler registered for the slot with the data', () => {
    const slots = new WorkerSlots();
    const seen: Array<[string, unknown]> = [];
    slots.register('listeners', (d) => seen.push(['listeners', d]));
    slots.register('clusters', (d) => seen.push(['clusters', d]));
    slots.apply('clusters', { c: 1 });
    slots.apply('listeners', ['l']);
    assert.deepEqual(seen, [
      ['clusters', { c: 1 }],
      ['listeners', ['l']],
    ]);
  });

  test('apply throws for a slot with no handler', () => {
    const slots = new WorkerSlots();
    slots.register('listeners', () => {});
    assert.throws(() => slots.apply('clusters', {}), /no handler for thread-local slot clusters/);
  });
});
