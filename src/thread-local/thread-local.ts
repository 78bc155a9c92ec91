/**
 * Thread-local slots: how the main thread updates what every worker holds.
 *
 * Main thread allocates named slots and calls `runOnAllThreads(data, onComplete)`: the data
 * is posted to every registered worker, each worker rebuilds its own objects from it (in
 * the order sent), and `onComplete` runs on main once every worker has acknowledged. No
 * object is shared: only data crosses. Envoy counterpart: `ThreadLocal::InstanceImpl`,
 * `SlotImpl::runOnAllThreads(cb, complete_cb)`.
 */
import type { MainToWorker } from './messages.ts';

/** The main thread's handle on one worker's message channel. */
export interface WorkerChannel {
  readonly index: number;
  send(message: MainToWorker): void;
}

interface Pending {
  readonly seq: number;
  remaining: Set<number>;
  readonly onComplete: (() => void) | undefined;
}

export class ThreadLocalInstance {
  private readonly workers: WorkerChannel[] = [];
  private readonly slots = new Set<string>();
  /** The last data of each slot, replayed to a worker registered later. */
  private readonly current = new Map<string, unknown>();
  private readonly pending: Pending[] = [];
  private seq = 0;
  private shutdown = false;

  registerWorker(worker: WorkerChannel): void {
    this.workers.push(worker);
    for (const [slot, data] of this.current) worker.send({ type: 'tls.update', slot, seq: ++this.seq, data });
  }

  allocateSlot(name: string): Slot {
    if (this.slots.has(name)) throw new Error(`bug: thread-local slot ${name} allocated twice`);
    this.slots.add(name);
    return {
      name,
      runOnAllThreads: (data, onComplete) => this.runOnAllThreads(name, data, onComplete),
    };
  }

  /** A worker has applied update `seq` and, messages being ordered, every earlier one. */
  onApplied(workerIndex: number, seq: number): void {
    for (const p of this.pending) if (p.seq <= seq) p.remaining.delete(workerIndex);
    this.completeReady();
  }

  /** A worker has gone: it owes nothing any more. */
  removeWorker(workerIndex: number): void {
    const i = this.workers.findIndex((w) => w.index === workerIndex);
    if (i >= 0) this.workers.splice(i, 1);
    for (const p of this.pending) p.remaining.delete(workerIndex);
    this.completeReady();
  }

  /** Completions run in the order the updates were made. */
  private completeReady(): void {
    while (this.pending[0] !== undefined && this.pending[0].remaining.size === 0)
      this.pending.shift()?.onComplete?.();
  }

  shutdownThread(): void {
    this.shutdown = true;
  }

  private runOnAllThreads(slot: string, data: unknown, onComplete?: () => void): void {
    if (this.shutdown) return;
    this.current.set(slot, data);
    const seq = ++this.seq;
    const remaining = new Set(this.workers.map((w) => w.index));
    for (const w of this.workers) w.send({ type: 'tls.update', slot, seq, data });
    if (remaining.size === 0) {
      onComplete?.();
      return;
    }
    this.pending.push({ seq, remaining, onComplete });
  }
}

export interface Slot {
  readonly name: string;
  /** Posts `data` to every worker; `onComplete` runs on main once all have applied it. */
  runOnAllThreads(data: unknown, onComplete?: () => void): void;
}

/** Worker side: what to do with each slot's data. */
export class WorkerSlots {
  private readonly handlers = new Map<string, (data: unknown) => void>();

  /** Registers the function that rebuilds this worker's objects from a slot's data. */
  register(slot: string, apply: (data: unknown) => void): void {
    this.handlers.set(slot, apply);
  }

  apply(slot: string, data: unknown): void {
    const handler = this.handlers.get(slot);
    if (handler === undefined) throw new Error(`bug: no handler for thread-local slot ${slot}`);
    handler(data);
  }
}
