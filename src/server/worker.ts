/**
 * The main thread's handle on one worker thread.
 *
 * Main thread. Creates the thread (`src/exe/worker-entry.ts`) during initialisation; the
 * worker accepts nothing until main sends `listeners.start`. A worker that throws or exits
 * unasked is reported at once through `onFatal`: the server then fails loudly rather than
 * run half its workers. Envoy counterpart: `WorkerImpl` as seen from `ListenerManagerImpl`.
 */
import type { Readable } from 'node:stream';
import v8, { type HeapProfileOptions } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { exposeGcToWorkers } from '../event/read-volume-gc.ts';
import type { MainToWorker, WorkerInit, WorkerToMain } from '../thread-local/messages.ts';
import type { WorkerChannel } from '../thread-local/thread-local.ts';

/**
 * The young generation of a worker's V8 heap, in MiB (V8 splits it into semi-spaces; 24 gives
 * 8 MiB ones). Every socket read hands JavaScript a fresh ArrayBuffer whose memory lives outside
 * the heap, and V8 frees a young one at its next scavenge. With V8's default (16 MiB
 * semi-spaces) a worker moving 64 KiB bodies piled up ~64 MiB of that external memory between
 * two scavenges, and V8 answered external memory pressure with full mark-compacts: ~10 a second
 * at 600 MB/s, a third of a CPU. Two things keep that away now: reads are copied out of a
 * shared buffer or handed over from a socket's own (`src/network/socket-reader.ts`), and
 * `src/event/read-volume-gc.ts` asks for a scavenge after every 32 MiB read. So the semi-spaces
 * are sized for small requests: a scavenge pauses a worker ~0.55 ms whatever the size (little
 * survives a request), and 8 MiB semi-spaces take one every ~700-1,000 small requests instead
 * of every ~365 with 4 MiB ones, so GC costs ~0.8 µs less per request and fewer requests wait
 * out a pause (`--trace-gc`, wrk -c64, 12 B bodies). At 64 KiB, mark-compacts stayed at 0-4 per
 * 4 s, as with 4 MiB. Under load the young generation costs up to this much resident memory
 * per worker.
 */
const WORKER_YOUNG_GENERATION_MB = 24;

/**
 * The old generation V8 lets a worker fill before its first mark-compact, in MiB (V8 starts
 * from a few MiB and grows the limit with the live heap). A worker's live heap is ~10 MiB, and
 * with a limit that close V8 kept starting full marking cycles on its allocation limit while a
 * busy worker churned read buffers: in some runs ~20 mark-compacts a second, at 64 KiB bodies
 * and in one-stream bulk alike (bulk 4.2 Gbit/s in such a run, 7–9 without). V8 takes this
 * only as a process-wide flag; it is set on the main thread before the first worker starts.
 */
const WORKER_INITIAL_OLD_GENERATION_MB = 64;

/**
 * TurboFan's inlining budgets, in bytecode bytes: for one callee (V8's default 460) and for
 * all that one optimized function takes in (920). A request crosses many small layers on its
 * way through (socket reader, codec, connection manager, filter manager, router, pool, codec
 * again), each a method call; with V8's budgets most stay calls. With these the hot paths
 * inline deeper: ~5% less CPU per small proxied request in side-by-side windows (the same
 * build with and without, `wrk -c64`, one worker). Process-wide, set before the first worker
 * starts; the main thread's later compilations use them too.
 */
const INLINING_FLAGS = ['--max-inlined-bytecode-size=1500', '--max-inlined-bytecode-size-cumulative=6000'];

let workerV8Configured = false;

/** V8 settings the workers need (heap sizes, gc(), inlining), applied once before the first one starts. */
function configureWorkerV8(): void {
  if (workerV8Configured) return;
  workerV8Configured = true;
  exposeGcToWorkers();
  v8.setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_GENERATION_MB}`);
  for (const flag of INLINING_FLAGS) v8.setFlagsFromString(flag);
}

export interface WorkerEvents {
  onMessage(worker: WorkerHandle, message: WorkerToMain): void;
  /** The thread threw or exited without being asked to: the cause, for a loud failure. */
  onFatal(worker: WorkerHandle, cause: string): void;
}

export class WorkerHandle implements WorkerChannel {
  readonly index: number;
  readonly name: string;
  private readonly thread: Worker;
  private stopping = false;
  private exited = false;

  constructor(init: WorkerInit, events: WorkerEvents) {
    this.index = init.index;
    this.name = `worker_${init.index}`;
    configureWorkerV8();
    this.thread = new Worker(new URL('../exe/worker-entry.ts', import.meta.url), {
      workerData: init,
      name: this.name,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    this.thread.on('message', (message: WorkerToMain) => events.onMessage(this, message));
    this.thread.on('error', (err: Error) => {
      if (!this.stopping) events.onFatal(this, err.stack ?? String(err));
    });
    this.thread.on('exit', (code) => {
      this.exited = true;
      if (!this.stopping) events.onFatal(this, `exited unexpectedly with code ${code}`);
    });
  }

  send(message: MainToWorker): void {
    if (!this.exited) this.thread.postMessage(message);
  }

  /** Asks the worker to close everything and end; it answers `shutdown.done`, then exits. */
  stop(): void {
    this.stopping = true;
    this.send({ type: 'shutdown' });
  }

  /** Ends the thread now (after `stop()` timed out, or on a fatal error). */
  terminate(): Promise<number> {
    this.stopping = true;
    return this.thread.terminate();
  }

  /** V8's CPU profiler inside the thread (admin `/cpuprofiler`); `stop()` gives the profile JSON. */
  startCpuProfile(): Promise<{ stop(): Promise<string> }> {
    return this.thread.startCpuProfile();
  }

  /** V8's sampling heap profiler inside the thread (admin `/heapprofiler`). */
  startHeapProfile(options?: HeapProfileOptions): Promise<{ stop(): Promise<string> }> {
    return this.thread.startHeapProfile(options);
  }

  /** The thread's heap snapshot, streamed (admin `/heapprofiler`). */
  heapSnapshot(): Promise<Readable> {
    return this.thread.getHeapSnapshot();
  }

  /** Resolves once the thread has exited. */
  whenExited(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.thread.once('exit', () => resolve()));
  }
}
