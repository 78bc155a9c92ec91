/**
 * Young-generation collections paced by the bytes a thread reads from its sockets.
 *
 * Worker threads. Every socket read hands JavaScript a new ArrayBuffer whose memory lives
 * outside V8's heap; V8 frees a young one at the next scavenge, but schedules scavenges by
 * JavaScript allocation only. A thread that moves big reads with little JavaScript work (a
 * tcp_proxy at 64 KiB, a bulk stream) therefore piles up tens of MiB of such buffers between
 * two scavenges, and V8 answers that external memory pressure with full mark-compacts: in
 * `npm run bench` a tcp_proxy worker spent a quarter of its CPU in concurrent marking. This
 * asks for a scavenge (asynchronous, on V8's own task) after every `thresholdBytes` read, so
 * those buffers go young and cheaply (a scavenge is a fraction of a millisecond; at 600 MB/s
 * and 32 MiB that is ~20 a second). The hook is V8's `gc()` extension, exposed by
 * `exposeGcToWorkers()` on the main thread before the workers start (V8 puts `gc` on each new
 * thread's global object, non-deletable; nothing else here calls it).
 */
import v8 from 'node:v8';

type GcFunction = (options: { type: 'minor'; execution: 'async' }) => Promise<void> | undefined;

/** Read bytes after which a scavenge is requested. */
export const READ_VOLUME_GC_BYTES = 32 * 1024 * 1024;

let gcFn: GcFunction | null = null;
let threshold = Number.POSITIVE_INFINITY;
let sinceLast = 0;
let pending = false;

/** Main thread, before any worker starts: threads created afterwards get V8's `gc()`. */
export function exposeGcToWorkers(): void {
  v8.setFlagsFromString('--expose-gc');
}

/** In a worker: paces scavenges by read volume when V8's `gc()` is there (false: it is not). */
export function installReadVolumeGc(thresholdBytes = READ_VOLUME_GC_BYTES): boolean {
  const g = globalThis as { gc?: GcFunction };
  if (typeof g.gc !== 'function') return false;
  gcFn = g.gc;
  threshold = thresholdBytes;
  return true;
}

/** Counts `n` bytes read from a socket; past the threshold, asks for a scavenge. */
export function noteBytesRead(n: number): void {
  sinceLast += n;
  if (sinceLast < threshold || gcFn === null || pending) return;
  sinceLast = 0;
  pending = true;
  const done = gcFn({ type: 'minor', execution: 'async' });
  if (done === undefined) pending = false;
  else done.then(onCollected, onCollected);
}

function onCollected(): void {
  pending = false;
}
