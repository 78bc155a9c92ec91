/**
 * Contracts of the runtime: entries, layers, snapshots, and what a reader holds.
 *
 * Type-only. A snapshot is immutable once built; the main thread's loader builds one per
 * change and posts its entries to every worker as data (the `runtime` thread-local slot),
 * where each worker wraps them in its own snapshot. Any thread reads through `RuntimeSource`,
 * which always hands out the latest snapshot. Envoy counterpart: `envoy/runtime/runtime.h`
 * (`Snapshot`, `Snapshot::Entry`, `Snapshot::OverrideLayer`, `Loader`).
 */

/** `envoy.type.v3.FractionalPercent`'s denominators. */
export type FractionalDenominator = 'HUNDRED' | 'TEN_THOUSAND' | 'MILLION';

export interface FractionalPercent {
  readonly numerator: number;
  readonly denominator: FractionalDenominator;
}

/**
 * One runtime value, parsed once when its layer loads: the text as given, and each typed
 * reading that succeeded (Envoy's `Snapshot::Entry`). Plain data: it crosses to workers.
 */
export interface RuntimeEntry {
  /** What `/runtime` shows and `get()` returns. */
  readonly raw: string;
  /** A non-negative number, truncated (what `getInteger` returns). */
  readonly uint?: number;
  readonly double?: number;
  readonly bool?: boolean;
  readonly fractional?: FractionalPercent;
}

/** One layer's values in a snapshot (Envoy's `OverrideLayer`). */
export interface RuntimeLayer {
  readonly name: string;
  readonly values: ReadonlyMap<string, RuntimeEntry>;
}

/** What the `runtime` slot carries to every worker: the merged entries of one snapshot. */
export interface RuntimeSnapshotData {
  /** Increases with every snapshot the loader builds. */
  readonly version: number;
  readonly values: ReadonlyMap<string, RuntimeEntry>;
}

/** An immutable view of every layer merged, later layers overriding earlier ones. */
export interface Snapshot {
  readonly version: number;
  /** The layers it was built from, in order (empty on workers, which get only the merge). */
  readonly layers: readonly RuntimeLayer[];
  exists(key: string): boolean;
  /** The raw text of a key's value. */
  get(key: string): string | undefined;
  /** A non-negative integer value, or `defaultValue` when the key is absent or not one. */
  getInteger(key: string, defaultValue: number): number;
  getDouble(key: string, defaultValue: number): number;
  getBoolean(key: string, defaultValue: boolean): boolean;
  /**
   * True for the share of calls the key's value allows: an integer percent, or a
   * FractionalPercent; `defaultValue` (percent, or a FractionalPercent) when the key is
   * absent. `randomValue` is a uniform non-negative integer (a fresh one when omitted).
   */
  featureEnabled(key: string, defaultValue: number | FractionalPercent, randomValue?: number): boolean;
  /**
   * Whether a `envoy.reloadable_features.*` / `envoy.restart_features.*` feature is on: the
   * snapshot's boolean value for it, else the feature's built-in default.
   * @throws Error for a feature this build does not declare (a bug in the caller).
   */
  runtimeFeatureEnabled(feature: string): boolean;
  /** Every merged key and entry (for publishing to workers). */
  entries(): ReadonlyMap<string, RuntimeEntry>;
}

/** Where a reader gets the latest snapshot (main's loader, or a worker's thread-local copy). */
export interface RuntimeSource {
  snapshot(): Snapshot;
}
