/**
 * A worker's runtime: the latest snapshot the main thread posted through the `runtime`
 * thread-local slot.
 *
 * Worker thread (any thread that registers the slot). Each update builds a new immutable
 * snapshot from the posted entries and replaces the current one; a reader that holds a
 * snapshot keeps its consistent view. Until the first update every read gives its default.
 * Envoy counterpart: the `ThreadLocal::TypedSlot<SnapshotImpl>` that `LoaderImpl::snapshot()`
 * reads on each worker.
 */
import { SnapshotImpl } from './snapshot.ts';
import type { RuntimeSnapshotData, RuntimeSource, Snapshot } from './types.ts';

export class ThreadLocalRuntime implements RuntimeSource {
  private current: Snapshot = new SnapshotImpl(new Map());

  snapshot(): Snapshot {
    return this.current;
  }

  /** Applies a `runtime` slot update. */
  update(data: RuntimeSnapshotData): void {
    this.current = new SnapshotImpl(data.values, { version: data.version });
  }
}
