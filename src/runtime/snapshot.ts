/**
 * An immutable runtime snapshot: every layer's values merged in order, later layers winning,
 * with Envoy's typed reads.
 *
 * Any thread. The main thread's loader builds one from its layers on every change; a worker
 * builds one from the merged entries the `runtime` slot carries (it has no layers). Once
 * built nothing in it changes: a reader that keeps a snapshot sees one consistent view.
 * Envoy counterpart: `SnapshotImpl` (source/common/runtime/runtime_impl.cc).
 */

import { RUNTIME_FEATURE_DEFAULTS } from './features.ts';
import { evaluateFractionalPercent } from './fractional-percent.ts';
import type { FractionalPercent, RuntimeEntry, RuntimeLayer, Snapshot } from './types.ts';

/** A uniform integer in [0, 2^53): what `featureEnabled` draws when the caller gives none. */
export type RuntimeRandom = () => number;

const defaultRandom: RuntimeRandom = () => Math.floor(Math.random() * 9007199254740992);

const NO_LAYERS: readonly RuntimeLayer[] = Object.freeze([]);

export interface SnapshotOptions {
  readonly version?: number;
  readonly layers?: readonly RuntimeLayer[];
  readonly random?: RuntimeRandom;
  /** The feature defaults `runtimeFeatureEnabled` falls back on (tests pass their own). */
  readonly features?: ReadonlyMap<string, boolean>;
}

export class SnapshotImpl implements Snapshot {
  readonly version: number;
  readonly layers: readonly RuntimeLayer[];
  private readonly values: ReadonlyMap<string, RuntimeEntry>;
  private readonly random: RuntimeRandom;
  private readonly features: ReadonlyMap<string, boolean>;

  /** The merge of `layers`, in order. */
  static fromLayers(
    layers: readonly RuntimeLayer[],
    options: Omit<SnapshotOptions, 'layers'> = {},
  ): SnapshotImpl {
    const merged = new Map<string, RuntimeEntry>();
    for (const layer of layers) for (const [key, entry] of layer.values) merged.set(key, entry);
    return new SnapshotImpl(merged, { ...options, layers });
  }

  /** @param values the merged entries; the snapshot keeps its own copy. */
  constructor(values: ReadonlyMap<string, RuntimeEntry>, options: SnapshotOptions = {}) {
    const own = new Map<string, RuntimeEntry>();
    for (const [key, entry] of values) own.set(key, Object.freeze({ ...entry }));
    this.values = own;
    this.version = options.version ?? 0;
    this.layers = Object.freeze([...(options.layers ?? NO_LAYERS)]);
    this.random = options.random ?? defaultRandom;
    this.features = options.features ?? RUNTIME_FEATURE_DEFAULTS;
    Object.freeze(this);
  }

  exists(key: string): boolean {
    return this.values.has(key);
  }

  get(key: string): string | undefined {
    return this.values.get(key)?.raw;
  }

  getInteger(key: string, defaultValue: number): number {
    return this.values.get(key)?.uint ?? defaultValue;
  }

  getDouble(key: string, defaultValue: number): number {
    return this.values.get(key)?.double ?? defaultValue;
  }

  getBoolean(key: string, defaultValue: boolean): boolean {
    return this.values.get(key)?.bool ?? defaultValue;
  }

  featureEnabled(key: string, defaultValue: number | FractionalPercent, randomValue?: number): boolean {
    if (typeof defaultValue === 'number') {
      const cutoff = Math.min(this.getInteger(key, defaultValue), 100);
      // No random draw when the answer does not depend on it.
      if (randomValue === undefined) {
        if (cutoff <= 0) return false;
        if (cutoff >= 100) return true;
      }
      return (randomValue ?? this.random()) % 100 < cutoff;
    }
    const entry = this.values.get(key);
    let percent = defaultValue;
    if (entry?.fractional !== undefined) {
      percent = entry.fractional;
    } else if (entry?.uint !== undefined) {
      // An integer is a percent; beyond 100 it is always on.
      if (entry.uint > 100) return true;
      percent = { numerator: entry.uint, denominator: 'HUNDRED' };
    }
    return evaluateFractionalPercent(percent, randomValue ?? this.random());
  }

  runtimeFeatureEnabled(feature: string): boolean {
    const dflt = this.features.get(feature);
    if (dflt === undefined) throw new Error(`bug: runtime feature ${feature} is not declared in features.ts`);
    return this.getBoolean(feature, dflt);
  }

  entries(): ReadonlyMap<string, RuntimeEntry> {
    return this.values;
  }
}
