/**
 * DispatcherImpl: the event loop of one thread (main or a worker) as the rest of Legate sees
 * it — timers, schedulable callbacks, posts, deferred deletion, a cached monotonic "now" and
 * the loop-time stats.
 *
 * Runs on its own thread only. It owns the timer heap and the callback queues; a
 * `SchedulerBackend` decides only *when* the dispatcher gets to run them: `realBackend()`
 * on Node's event loop (`real-backend.ts`), `simulatedBackend(sim)` on simulated time for
 * tests (`simulated-backend.ts`). Both are re-exported here. Envoy counterpart:
 * source/common/event/dispatcher_impl.cc, timer_impl.cc, schedulable_cb_impl.cc and
 * libevent_scheduler.cc.
 *
 * Ordering, as in Envoy on libevent:
 * - every callback runs as one batch through `run()`: the cached time is refreshed, then
 *   the callback, then the current-iteration queue (current-iteration callbacks and posts,
 *   one FIFO, including those queued while it drains), then the deferred-delete list (in
 *   order; objects deferred while it is cleared go in the same pass), then the loop
 *   duration is recorded;
 * - a timer pass fires the timers due when it starts, by deadline then arming order, each in
 *   its own batch; a timer armed during the pass (even with 0 ms) waits for the next pass;
 * - next-iteration callbacks run once the loop has polled for I/O again, each in its own batch.
 * A callback that throws propagates out of `run()` (a bug crashes loudly); what it left
 * queued stays queued and runs on the next turn.
 */
import { clearArray } from '../common/array.ts';
import { type HeapEntry, TimerHeap } from './timer-heap.ts';
import type {
  DeferredDeletable,
  Dispatcher,
  DispatcherStats,
  SchedulableCallback,
  Timer,
  TimeSource,
} from './types.ts';

export { realBackend } from './real-backend.ts';
export { SimulatedScheduler, simulatedBackend } from './simulated-backend.ts';

/** What a backend drives: the dispatcher's side of the loop. */
export interface SchedulerHost {
  /** Deadline (monotonic ms) of the earliest armed timer; `Infinity` when none. */
  nextDeadline(): number;
  /** Fires the timers due now that were armed before this call, each as a batch. */
  runTimerPass(): void;
  /** Runs the callbacks scheduled for the next iteration before this call, each as a batch. */
  runNextIteration(): void;
  /** Runs work queued outside any batch (posts, current-iteration callbacks, deferred deletes). */
  drain(): void;
}

/**
 * When the dispatcher runs: one backend per dispatcher, attached by its constructor.
 * All calls come from the dispatcher's thread.
 */
export interface SchedulerBackend {
  readonly timeSource: TimeSource;
  /** Called once by the dispatcher's constructor. */
  attach(host: SchedulerHost): void;
  /**
   * Call `host.runTimerPass()` at monotonic time `deadline` or later (`Infinity`: no timer is
   * armed; hold nothing). The dispatcher calls this when the earliest deadline moves earlier
   * than the last one asked for, when the heap empties, and after every pass; a wake-up that
   * comes too early is harmless (the pass fires nothing and asks again).
   */
  setWake(deadline: number): void;
  /** Call `host.runNextIteration()` once the loop has polled for I/O again. */
  requestNextIteration(): void;
  /** Call `host.drain()` once the current synchronous code returns. */
  requestDrain(): void;
  /** The dispatcher exited: release every handle, call nothing any more. */
  close(): void;
}

const IDLE = 0;
const CURRENT = 1;
const NEXT = 2;
type ScheduleState = typeof IDLE | typeof CURRENT | typeof NEXT;

/** An entry of a callback queue: a schedulable callback, a post, or a cancelled slot. */
type QueueEntry = SchedulableCallbackImpl | (() => void) | null;

const NOOP = (): void => {};

class TimerImpl implements Timer, HeapEntry {
  deadline: number;
  seq: number;
  heapIndex: number;
  readonly cb: () => void;
  private readonly core: DispatcherCore;

  constructor(core: DispatcherCore, cb: () => void) {
    this.deadline = 0;
    this.seq = 0;
    this.heapIndex = -1;
    this.cb = cb;
    this.core = core;
  }

  enableTimer(ms: number): void {
    this.core.armTimer(this, ms);
  }

  disableTimer(): void {
    this.core.disarmTimer(this);
  }

  enabled(): boolean {
    return this.heapIndex >= 0;
  }
}

class SchedulableCallbackImpl implements SchedulableCallback {
  state: ScheduleState;
  /** The queue holding this callback while scheduled, and its slot there. */
  queue: QueueEntry[] | null;
  slot: number;
  readonly cb: () => void;
  private readonly core: DispatcherCore;

  constructor(core: DispatcherCore, cb: () => void) {
    this.state = IDLE;
    this.queue = null;
    this.slot = -1;
    this.cb = cb;
    this.core = core;
  }

  scheduleCallbackCurrentIteration(): void {
    this.core.scheduleCurrent(this);
  }

  scheduleCallbackNextIteration(): void {
    this.core.scheduleNext(this);
  }

  cancel(): void {
    if (this.state === IDLE) return;
    this.queue![this.slot] = null;
    this.state = IDLE;
    this.queue = null;
  }

  enabled(): boolean {
    return this.state !== IDLE;
  }
}

/** The dispatcher's state and logic; `DispatcherImpl` is its public face. */
class DispatcherCore implements SchedulerHost {
  readonly timeSource: TimeSource;
  private readonly backend: SchedulerBackend;
  private readonly heap: TimerHeap<TimerImpl>;
  /** Arming counter: orders equal deadlines and tells a timer pass what was armed during it. */
  private armSeq: number;
  /** The deadline last given to `backend.setWake` (`Infinity`: none). */
  private requestedWake: number;
  private inTimerPass: boolean;
  cachedNow: number;
  /** Nesting depth of `run()`; > 0 inside a batch. */
  private depth: number;
  private readonly currentQueue: QueueEntry[];
  private currentHead: number;
  private nextQueue: QueueEntry[];
  private spareQueue: QueueEntry[];
  /** The next-iteration batch being run, so `exit()` can cancel what is left of it. */
  private runningBatch: QueueEntry[] | null;
  private readonly toDelete: DeferredDeletable[];
  private deleteHead: number;
  private drainRequested: boolean;
  private nextRequested: boolean;
  stats: DispatcherStats | null;
  exited: boolean;

  constructor(backend: SchedulerBackend) {
    this.timeSource = backend.timeSource;
    this.backend = backend;
    this.heap = new TimerHeap();
    this.armSeq = 0;
    this.requestedWake = Number.POSITIVE_INFINITY;
    this.inTimerPass = false;
    this.cachedNow = this.timeSource.monotonicNow();
    this.depth = 0;
    this.currentQueue = [];
    this.currentHead = 0;
    this.nextQueue = [];
    this.spareQueue = [];
    this.runningBatch = null;
    this.toDelete = [];
    this.deleteHead = 0;
    this.drainRequested = false;
    this.nextRequested = false;
    this.stats = null;
    this.exited = false;
  }

  // --- timers

  armTimer(t: TimerImpl, ms: number): void {
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) {
      throw new RangeError(`timer duration must be a finite number of ms >= 0, got ${ms}`);
    }
    if (this.exited) return;
    // Inside a batch the deadline counts from the batch's cached time, as libevent does.
    const now = this.depth > 0 ? this.cachedNow : this.updateNow();
    t.deadline = now + ms;
    t.seq = this.armSeq++;
    this.heap.upsert(t);
    if (!this.inTimerPass && t.deadline < this.requestedWake) {
      this.requestedWake = t.deadline;
      this.backend.setWake(t.deadline);
    }
  }

  disarmTimer(t: TimerImpl): void {
    if (t.heapIndex < 0) return;
    this.heap.remove(t);
    if (!this.inTimerPass && this.heap.size === 0 && this.requestedWake !== Number.POSITIVE_INFINITY) {
      this.requestedWake = Number.POSITIVE_INFINITY;
      this.backend.setWake(this.requestedWake);
    }
  }

  nextDeadline(): number {
    return this.heap.top()?.deadline ?? Number.POSITIVE_INFINITY;
  }

  runTimerPass(): void {
    if (this.exited) return;
    const passNow = this.timeSource.monotonicNow();
    const passSeq = this.armSeq;
    this.inTimerPass = true;
    try {
      for (;;) {
        const t = this.heap.top();
        if (t === undefined || t.deadline > passNow || t.seq >= passSeq) break;
        this.heap.remove(t);
        this.fireTimer(t);
      }
    } finally {
      this.inTimerPass = false;
      if (!this.exited) {
        this.requestedWake = this.nextDeadline();
        this.backend.setWake(this.requestedWake);
      }
    }
  }

  private fireTimer(t: TimerImpl): void {
    if (this.depth > 0) {
      t.cb();
      return;
    }
    this.depth = 1;
    const start = this.updateNow();
    if (this.stats !== null) this.stats.recordPollDelayUs(Math.max(0, start - t.deadline) * 1000);
    try {
      t.cb();
      this.settle();
    } finally {
      this.endBatch(start);
    }
  }

  // --- schedulable callbacks and posts

  scheduleCurrent(s: SchedulableCallbackImpl): void {
    if (s.state !== IDLE || this.exited) return;
    s.state = CURRENT;
    s.queue = this.currentQueue;
    s.slot = this.currentQueue.length;
    this.currentQueue.push(s);
    if (this.depth === 0) this.requestDrain();
  }

  scheduleNext(s: SchedulableCallbackImpl): void {
    if (s.state !== IDLE || this.exited) return;
    s.state = NEXT;
    s.queue = this.nextQueue;
    s.slot = this.nextQueue.length;
    this.nextQueue.push(s);
    if (!this.nextRequested) {
      this.nextRequested = true;
      this.backend.requestNextIteration();
    }
  }

  post(cb: () => void): void {
    if (this.exited) return;
    this.currentQueue.push(cb);
    if (this.depth === 0) this.requestDrain();
  }

  runNextIteration(): void {
    this.nextRequested = false;
    if (this.exited) return;
    const batch = this.nextQueue;
    this.nextQueue = this.spareQueue;
    this.runningBatch = batch;
    let i = 0;
    try {
      for (; i < batch.length && !this.exited; i++) {
        const s = batch[i];
        if (s === null || s === undefined || typeof s === 'function') continue;
        batch[i] = null;
        s.state = IDLE;
        s.queue = null;
        this.run(s.cb);
      }
    } finally {
      this.runningBatch = null;
      if (i < batch.length) this.requeueUnrun(batch, i);
      clearArray(batch);
      this.spareQueue = batch;
    }
  }

  /** After a callback threw: what the batch did not run goes first into the next iteration. */
  private requeueUnrun(batch: QueueEntry[], from: number): void {
    const queue: QueueEntry[] = [];
    for (const source of [batch.slice(from), this.nextQueue]) {
      for (const s of source) {
        if (s === null || typeof s === 'function') continue;
        s.queue = queue;
        s.slot = queue.length;
        queue.push(s);
      }
    }
    this.nextQueue = queue;
    if (queue.length > 0 && !this.nextRequested) {
      this.nextRequested = true;
      this.backend.requestNextIteration();
    }
  }

  // --- deferred deletion

  deferredDelete(obj: DeferredDeletable): void {
    obj.deleteIsPending?.();
    this.toDelete.push(obj);
    if (this.depth === 0) this.requestDrain();
  }

  // --- batches

  run(cb: () => void): void {
    if (this.depth > 0) {
      cb();
      return;
    }
    this.depth = 1;
    const start = this.updateNow();
    try {
      cb();
      this.settle();
    } finally {
      this.endBatch(start);
    }
  }

  drain(): void {
    this.drainRequested = false;
    if (this.hasLeftovers()) this.run(NOOP);
  }

  /** End of a batch: current-iteration queue, then deferred deletes, until both are empty. */
  private settle(): void {
    while (this.hasLeftovers()) {
      this.drainCurrent();
      this.clearDeferredDeleteList();
    }
  }

  private drainCurrent(): void {
    const q = this.currentQueue;
    while (this.currentHead < q.length) {
      const e = q[this.currentHead];
      q[this.currentHead++] = null;
      if (e === null || e === undefined) continue;
      if (typeof e === 'function') {
        e();
      } else {
        e.state = IDLE;
        e.queue = null;
        e.cb();
      }
    }
    clearArray(q);
    this.currentHead = 0;
  }

  private clearDeferredDeleteList(): void {
    const list = this.toDelete;
    while (this.deleteHead < list.length) {
      const obj = list[this.deleteHead]!;
      this.deleteHead++;
      obj.destroy();
    }
    clearArray(list);
    this.deleteHead = 0;
  }

  private hasLeftovers(): boolean {
    return this.currentHead < this.currentQueue.length || this.deleteHead < this.toDelete.length;
  }

  private endBatch(start: number): void {
    this.depth = 0;
    if (this.stats !== null) {
      this.stats.recordLoopDurationUs((this.timeSource.monotonicNow() - start) * 1000);
    }
    // Only after a throw: the rest of the batch's work runs on the next turn.
    if (this.hasLeftovers()) this.requestDrain();
  }

  private requestDrain(): void {
    if (this.drainRequested) return;
    this.drainRequested = true;
    this.backend.requestDrain();
  }

  updateNow(): number {
    this.cachedNow = this.timeSource.monotonicNow();
    return this.cachedNow;
  }

  // --- exit

  exit(): void {
    if (this.exited) return;
    this.exited = true;
    this.heap.clear();
    this.requestedWake = Number.POSITIVE_INFINITY;
    cancelAll(this.currentQueue, this.currentHead);
    this.currentQueue.length = 0;
    this.currentHead = 0;
    cancelAll(this.nextQueue, 0);
    this.nextQueue.length = 0;
    if (this.runningBatch !== null) cancelAll(this.runningBatch, 0);
    this.backend.close();
    // Pending deletions still happen (they release resources, they do not fire callbacks);
    // inside a batch they wait for it to return, as always.
    if (this.depth === 0) this.clearDeferredDeleteList();
  }
}

function cancelAll(queue: QueueEntry[], from: number): void {
  for (let i = from; i < queue.length; i++) {
    const e = queue[i];
    if (e !== null && e !== undefined && typeof e !== 'function') {
      e.state = IDLE;
      e.queue = null;
    }
    queue[i] = null;
  }
}

/**
 * The Dispatcher of one thread. `new DispatcherImpl('main_thread', realBackend())` on the
 * main thread, `new DispatcherImpl('worker_0', realBackend())` in a worker;
 * `new DispatcherImpl(name, simulatedBackend(sim))` in tests.
 */
export class DispatcherImpl implements Dispatcher {
  readonly name: string;
  readonly timeSource: TimeSource;
  readonly #core: DispatcherCore;

  constructor(name: string, backend: SchedulerBackend) {
    this.name = name;
    this.timeSource = backend.timeSource;
    this.#core = new DispatcherCore(backend);
    backend.attach(this.#core);
  }

  createTimer(cb: () => void): Timer {
    return new TimerImpl(this.#core, cb);
  }

  createSchedulableCallback(cb: () => void): SchedulableCallback {
    return new SchedulableCallbackImpl(this.#core, cb);
  }

  post(cb: () => void): void {
    this.#core.post(cb);
  }

  deferredDelete(obj: DeferredDeletable): void {
    this.#core.deferredDelete(obj);
  }

  approximateMonotonicTime(): number {
    return this.#core.cachedNow;
  }

  updateApproximateMonotonicTime(): number {
    return this.#core.updateNow();
  }

  systemTime(): number {
    return this.timeSource.systemNow();
  }

  run(cb: () => void): void {
    this.#core.run(cb);
  }

  setStats(stats: DispatcherStats): void {
    this.#core.stats = stats;
  }

  exit(): void {
    this.#core.exit();
  }
}
