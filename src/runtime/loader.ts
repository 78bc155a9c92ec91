/**
 * The runtime loader: builds a snapshot from the layers in order, rebuilds it when a disk
 * layer's symlink root is swapped or an admin override changes, and posts every new
 * snapshot to the workers.
 *
 * Main thread. Each load reads every layer afresh: the static layers as parsed at start-up,
 * each disk layer whose directory exists (a layer that fails to read is left out and the
 * load counts as an error), the admin layer's current overrides. The merged entries go to
 * every worker as data through the `runtime` thread-local slot; main readers use
 * `snapshot()`. A disk layer is watched through its symlink root's parent directory: when a
 * name equal to the root is moved or created there (`ln -s v2 new && mv -Tf new current`),
 * the runtime reloads, inside the main Dispatcher. Stats (`runtime.*`) carry Envoy's names.
 * Envoy counterpart: `LoaderImpl` (source/common/runtime/runtime_impl.cc).
 */
import fs from 'node:fs';
import path from 'node:path';
import { getLogger } from '../common/logger.ts';
import { formatPath } from '../config/errors.ts';
import type { Dispatcher } from '../event/types.ts';
import type { Counter, Gauge, Scope } from '../stats/types.ts';
import type { Slot } from '../thread-local/thread-local.ts';
import type { RuntimeConfig, RuntimeConfigIssue } from './config.ts';
import { AdminLayer, diskLayerPath, readDiskLayer } from './layers.ts';
import { type RuntimeRandom, SnapshotImpl } from './snapshot.ts';
import type { RuntimeLayer, RuntimeSnapshotData, RuntimeSource, Snapshot } from './types.ts';

const log = getLogger('runtime');

/** `runtime.*`, with Envoy's names (`ALL_RUNTIME_STATS`). */
interface RuntimeStats {
  readonly loadError: Counter;
  readonly loadSuccess: Counter;
  readonly overrideDirExists: Counter;
  readonly overrideDirNotExists: Counter;
  readonly numKeys: Gauge;
  readonly numLayers: Gauge;
  readonly adminOverridesActive: Gauge;
}

export interface RuntimeLoaderDeps {
  /** The main thread's dispatcher: file system events are handled inside it. */
  readonly dispatcher: Dispatcher;
  /** The main thread's root scope (stats are made under `runtime.`). */
  readonly scope: Scope;
  /** The `runtime` slot every snapshot is posted through (none in unit tests of main alone). */
  readonly slot?: Slot;
  /** `--service-cluster` or `node.cluster`: appended by disk layers with `append_service_cluster`. */
  readonly serviceCluster: string;
  readonly random?: RuntimeRandom;
}

/** `/runtime_modify` on a runtime with no admin layer (Envoy answers 503). */
export class NoAdminLayerError extends Error {
  constructor() {
    super('No admin layer specified');
    this.name = 'NoAdminLayerError';
  }
}

export class RuntimeLoader implements RuntimeSource {
  private readonly config: RuntimeConfig;
  private readonly deps: RuntimeLoaderDeps;
  private readonly stats: RuntimeStats;
  private readonly adminLayer: AdminLayer | undefined;
  private readonly watchers: fs.FSWatcher[] = [];
  private readonly updateCallbacks: Array<(snapshot: Snapshot) => void> = [];
  private current: SnapshotImpl;
  private version = 0;
  private stopped = false;

  /** Loads the first snapshot (and posts it) at once; `start()` reports the config's problems and follows disk layers. */
  constructor(config: RuntimeConfig, deps: RuntimeLoaderDeps) {
    this.config = config;
    this.deps = deps;
    const scope = deps.scope.scope('runtime.');
    this.stats = {
      loadError: scope.counter('load_error'),
      loadSuccess: scope.counter('load_success'),
      overrideDirExists: scope.counter('override_dir_exists'),
      overrideDirNotExists: scope.counter('override_dir_not_exists'),
      numKeys: scope.gauge('num_keys', 'NeverImport'),
      numLayers: scope.gauge('num_layers', 'NeverImport'),
      adminOverridesActive: scope.gauge('admin_overrides_active', 'NeverImport'),
    };
    const admin = config.layers.find((l) => l.kind === 'admin');
    this.adminLayer = admin === undefined ? undefined : new AdminLayer(admin.name);
    this.current = this.createSnapshot();
    this.publish();
  }

  snapshot(): Snapshot {
    return this.current;
  }

  /** Runs on main after every new snapshot (workers get theirs through the slot). */
  addUpdateCallback(cb: (snapshot: Snapshot) => void): void {
    this.updateCallbacks.push(cb);
  }

  hasAdminLayer(): boolean {
    return this.adminLayer !== undefined;
  }

  /**
   * Sets admin overrides (an empty value removes one) and loads a new snapshot, in force
   * on main at once.
   * @returns resolves once every worker has applied the new snapshot.
   * @throws NoAdminLayerError when the layered runtime has no admin layer.
   */
  mergeValues(overrides: ReadonlyMap<string, string>): Promise<void> {
    if (this.adminLayer === undefined) throw new NoAdminLayerError();
    this.adminLayer.mergeValues(overrides);
    this.stats.adminOverridesActive.set(this.adminLayer.size() === 0 ? 0 : 1);
    return new Promise((resolve) => this.loadNewSnapshot(resolve));
  }

  /** Reads every layer again and publishes the result; `onApplied` runs once every worker has it. */
  loadNewSnapshot(onApplied?: () => void): void {
    if (this.stopped) {
      onApplied?.();
      return;
    }
    this.current = this.createSnapshot();
    this.publish(onApplied);
  }

  /**
   * Logs the config's warnings and watches the parent directory of every disk layer's
   * symlink root (one watch per directory, one reload per event however many layers share
   * the root).
   * @returns the config's errors, and one issue per root whose directory cannot be watched:
   *   the server must not start (Envoy's loader throws for either).
   */
  start(): RuntimeConfigIssue[] {
    for (const w of this.config.warnings) log.warn(`${formatPath(w.step)}: ${w.message}`);
    const issues: RuntimeConfigIssue[] = [...this.config.errors];
    const byDir = new Map<string, Set<string>>();
    for (const layer of this.config.layers) {
      if (layer.kind !== 'disk') continue;
      const root = path.resolve(layer.symlinkRoot);
      const dir = path.dirname(root);
      let names = byDir.get(dir);
      if (names === undefined) {
        try {
          const watcher = fs.watch(dir, { persistent: false }, (_event, filename) => {
            if (filename !== null && names?.has(filename.toString()))
              this.deps.dispatcher.run(() => this.onSymlinkRootMoved(dir, filename.toString()));
          });
          watcher.on('error', (err) =>
            this.deps.dispatcher.run(() => log.warn(`runtime: watch on ${dir} failed: ${err.message}`)),
          );
          this.watchers.push(watcher);
        } catch (err) {
          issues.push({
            step: layer.step,
            message: `unable to add filesystem watch for symlink_root '${layer.symlinkRoot}': ${(err as Error).message}`,
          });
          continue;
        }
        names = new Set();
        byDir.set(dir, names);
      }
      names.add(path.basename(root));
    }
    return issues;
  }

  /** Stops watching; later reloads do nothing. */
  shutdown(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }

  private onSymlinkRootMoved(dir: string, name: string): void {
    log.debug(`runtime: ${path.join(dir, name)} changed, reloading`);
    this.loadNewSnapshot();
  }

  private createSnapshot(): SnapshotImpl {
    const layers: RuntimeLayer[] = [];
    let diskLayers = 0;
    let errorLayers = 0;
    for (const spec of this.config.layers) {
      switch (spec.kind) {
        case 'static':
          layers.push({ name: spec.name, values: spec.values });
          break;
        case 'admin':
          if (this.adminLayer !== undefined) layers.push(this.adminLayer.layer());
          break;
        case 'disk': {
          const dir = diskLayerPath(
            spec.symlinkRoot,
            spec.subdirectory,
            spec.appendServiceCluster,
            this.deps.serviceCluster,
          );
          if (!directoryExists(dir)) break;
          try {
            layers.push({ name: spec.name, values: readDiskLayer(dir) });
            diskLayers++;
          } catch (err) {
            errorLayers++;
            log.debug(
              `error loading runtime values for layer ${spec.name} from disk: ${(err as Error).message}`,
            );
          }
          break;
        }
      }
    }
    this.stats.numLayers.set(layers.length);
    if (errorLayers === 0) this.stats.loadSuccess.inc();
    else this.stats.loadError.inc();
    if (diskLayers > 1) this.stats.overrideDirExists.inc();
    else this.stats.overrideDirNotExists.inc();
    const snapshot = SnapshotImpl.fromLayers(layers, { version: ++this.version, random: this.deps.random });
    this.stats.numKeys.set(snapshot.entries().size);
    return snapshot;
  }

  private publish(onApplied?: () => void): void {
    const snapshot = this.current;
    const data: RuntimeSnapshotData = { version: snapshot.version, values: snapshot.entries() };
    if (this.deps.slot === undefined) onApplied?.();
    else this.deps.slot.runOnAllThreads(data, onApplied);
    for (const cb of this.updateCallbacks) cb(snapshot);
  }
}

function directoryExists(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
