/**
 * The init manager: start-up waits until every named target is ready.
 *
 * Main thread. Components (clusters waiting for their first DNS answer, listeners
 * waiting for their routes) add targets before `initialize`; when the last one reports
 * ready, the watcher runs and the server starts its workers. A target that never
 * completes stays visible by name (`dump()`, for `/init_dump`). Envoy counterpart:
 * `Init::ManagerImpl`, `Init::TargetImpl`, `Init::WatcherImpl`.
 */

export type InitManagerState = 'Uninitialized' | 'Initializing' | 'Initialized';

export interface InitTarget {
  readonly name: string;
  /** Marks the target ready; later calls are no-ops. */
  ready(): void;
  isReady(): boolean;
}

interface TargetEntry {
  readonly name: string;
  /** Called when the manager starts initializing; the target calls `ready()` when done. */
  readonly initialize: (target: InitTarget) => void;
  ready: boolean;
  readonly handle: InitTarget;
}

export class InitManager {
  readonly name: string;
  private readonly targets: TargetEntry[] = [];
  private stateValue: InitManagerState = 'Uninitialized';
  private watcher: (() => void) | undefined;

  constructor(name: string) {
    this.name = name;
  }

  get state(): InitManagerState {
    return this.stateValue;
  }

  /**
   * Adds a named target. `initialize` runs when the manager initializes (at once if it
   * already is initializing); the target is done when it calls `ready()`.
   */
  add(name: string, initialize: (target: InitTarget) => void): InitTarget {
    if (this.stateValue === 'Initialized')
      throw new Error(`bug: init target ${name} added after ${this.name} initialized`);
    const entry: TargetEntry = {
      name,
      initialize,
      ready: false,
      handle: { name, ready: () => this.onReady(entry), isReady: () => entry.ready },
    };
    this.targets.push(entry);
    if (this.stateValue === 'Initializing') entry.initialize(entry.handle);
    return entry.handle;
  }

  /** Starts every target; `watcher` runs once all are ready (at once when there are none). */
  initialize(watcher: () => void): void {
    if (this.stateValue !== 'Uninitialized') throw new Error(`bug: ${this.name} initialized twice`);
    this.stateValue = 'Initializing';
    this.watcher = watcher;
    for (const t of [...this.targets]) if (!t.ready) t.initialize(t.handle);
    this.checkDone();
  }

  /** Every target with its readiness, for `/init_dump`. */
  dump(): Array<{ name: string; ready: boolean }> {
    return this.targets.map((t) => ({ name: t.name, ready: t.ready }));
  }

  /** Names of the targets still pending. */
  pending(): string[] {
    return this.targets.filter((t) => !t.ready).map((t) => t.name);
  }

  private onReady(entry: TargetEntry): void {
    if (entry.ready) return;
    entry.ready = true;
    if (this.stateValue === 'Initializing') this.checkDone();
  }

  private checkDone(): void {
    if (this.stateValue !== 'Initializing' || this.targets.some((t) => !t.ready)) return;
    this.stateValue = 'Initialized';
    const watcher = this.watcher;
    this.watcher = undefined;
    watcher?.();
  }
}
