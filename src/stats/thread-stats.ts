/**
 * The stats of one thread (the main thread, a worker, the guard dog): counters, gauges,
 * histograms and text readouts, created by name through scopes.
 *
 * Runs on the thread that owns it, and only that thread writes its values. Numbers live in
 * SharedArrayBuffer segments (Float64Array views, SLOTS_PER_SEGMENT slots each, a new
 * segment when one is full): a counter increment is a plain `slots[i] += 1`, no lock and no
 * atomic, because each slot has a single writer. The main thread's `StatsStore` reads the
 * same memory and sums by name. What main cannot see in shared memory (new segments, new
 * stats, text readout values) is sent as plain data through the `publish` callback, batched
 * once per microtask. Envoy counterpart: the thread-local caches of `ThreadLocalStoreImpl`
 * (source/common/stats/thread_local_store.cc) and `ThreadLocalHistogramImpl`.
 *
 * Slot layout: a counter is one slot (its value); a gauge is two (value, and a flag set on
 * every write so main can tell a used gauge that is back at 0); a histogram is a block of
 * HISTOGRAM_SLOTS: count, sum, then BUCKET_COUNT bucket counts (see histogram.ts).
 *
 * Besides the segments, each thread shares two control cells with main, for Envoy's
 * `/stats/recentlookups`: how many times this thread looked a stat up by name (this thread
 * writes it), and whether main records the names looked up (main writes it). While main
 * records, the names travel with the other published data.
 */
import { BUCKET_COUNT, bucketIndex, MAX_RECORDED_VALUE } from './histogram.ts';
import type {
  Counter,
  Gauge,
  GaugeImportMode,
  Histogram,
  HistogramUnit,
  Scope,
  TextReadout,
} from './types.ts';

/** Slots per SharedArrayBuffer segment (a power of two: slot >> SEGMENT_SHIFT is the segment). */
export const SEGMENT_SHIFT = 14;
export const SLOTS_PER_SEGMENT = 1 << SEGMENT_SHIFT;
export const GAUGE_SLOTS = 2;
/** count, sum, then one slot per bucket. */
export const HISTOGRAM_SLOTS = 2 + BUCKET_COUNT;
/** Control cell: stats looked up by name on the thread (the thread writes it). */
export const CONTROL_LOOKUPS = 0;
/** Control cell: 1 while main records the names looked up (main writes it). */
export const CONTROL_RECORDING = 1;
const CONTROL_CELLS = 2;

export type StatKind = 'counter' | 'gauge' | 'histogram' | 'textReadout';

/** One stat a thread created, as main learns of it. */
export interface StatEntry {
  readonly name: string;
  readonly kind: StatKind;
  /**
   * First slot, numbered across the thread's segments in the order they were published
   * (segment = slot >> SEGMENT_SHIFT). -1 for text readouts, whose value travels as data.
   */
  readonly slot: number;
  /** Gauges only. */
  readonly importMode?: GaugeImportMode;
  /** Histograms only. */
  readonly unit?: HistogramUnit;
}

/** What a thread tells main: plain, structured-cloneable data (SharedArrayBuffers are shared, not copied). */
export interface StatsUpdate {
  /** Segments created since the last update, in order. */
  readonly segments?: SharedArrayBuffer[];
  /** Stats created since the last update. */
  readonly stats?: StatEntry[];
  /** Text readouts set since the last update: the latest value of each. */
  readonly textReadouts?: Array<[string, string]>;
  /** The thread's control cells (`CONTROL_LOOKUPS`, `CONTROL_RECORDING`), in its first update. */
  readonly control?: SharedArrayBuffer;
  /** While main records lookups: the names looked up since the last update, with how many times. */
  readonly lookups?: Array<[string, number]>;
}

export interface ThreadStatsOptions {
  /**
   * Publish at once on every change instead of once per microtask. For the main thread,
   * whose `publish` is a direct call into its StatsStore, so a stat is readable as soon as
   * it exists.
   */
  readonly immediate?: boolean;
}

class CounterImpl implements Counter {
  readonly name: string;
  private readonly slots: Float64Array;
  private readonly index: number;

  constructor(name: string, slots: Float64Array, index: number) {
    this.name = name;
    this.slots = slots;
    this.index = index;
  }

  inc(): void {
    this.slots[this.index]! += 1;
  }

  add(n: number): void {
    this.slots[this.index]! += n;
  }

  value(): number {
    return this.slots[this.index]!;
  }
}

class GaugeImpl implements Gauge {
  readonly name: string;
  private readonly slots: Float64Array;
  private readonly index: number;

  constructor(name: string, slots: Float64Array, index: number) {
    this.name = name;
    this.slots = slots;
    this.index = index;
  }

  inc(): void {
    this.slots[this.index]! += 1;
    this.slots[this.index + 1] = 1;
  }

  dec(): void {
    this.slots[this.index]! -= 1;
    this.slots[this.index + 1] = 1;
  }

  add(n: number): void {
    this.slots[this.index]! += n;
    this.slots[this.index + 1] = 1;
  }

  sub(n: number): void {
    this.slots[this.index]! -= n;
    this.slots[this.index + 1] = 1;
  }

  set(n: number): void {
    this.slots[this.index] = n;
    this.slots[this.index + 1] = 1;
  }

  value(): number {
    return this.slots[this.index]!;
  }
}

class HistogramImpl implements Histogram {
  readonly name: string;
  readonly unit: HistogramUnit;
  private readonly slots: Float64Array;
  private readonly base: number;

  constructor(name: string, unit: HistogramUnit, slots: Float64Array, base: number) {
    this.name = name;
    this.unit = unit;
    this.slots = slots;
    this.base = base;
  }

  recordValue(v: number): void {
    // Negative values and NaN count as 0; huge ones are capped so the sum stays finite.
    if (!(v > 0)) v = 0;
    else if (v > MAX_RECORDED_VALUE) v = MAX_RECORDED_VALUE;
    const s = this.slots;
    const b = this.base;
    s[b]! += 1;
    s[b + 1]! += v;
    s[b + 2 + bucketIndex(v)]! += 1;
  }
}

class TextReadoutImpl implements TextReadout {
  readonly name: string;
  private current = '';
  private readonly owner: ThreadStats;

  constructor(name: string, owner: ThreadStats) {
    this.name = name;
    this.owner = owner;
  }

  set(value: string): void {
    if (value === this.current) return;
    this.current = value;
    this.owner.textReadoutChanged(this.name, value);
  }

  value(): string {
    return this.current;
  }
}

/** A name prefix over a ThreadStats; stats are owned by the root, so one name is one object. */
class ScopeImpl implements Scope {
  readonly prefix: string;
  private readonly root: ThreadStats;

  constructor(root: ThreadStats, prefix: string) {
    this.root = root;
    this.prefix = prefix;
  }

  counter(name: string): Counter {
    return this.root.counter(this.prefix + name);
  }

  gauge(name: string, mode?: GaugeImportMode): Gauge {
    return this.root.gauge(this.prefix + name, mode);
  }

  histogram(name: string, unit?: HistogramUnit): Histogram {
    return this.root.histogram(this.prefix + name, unit);
  }

  textReadout(name: string): TextReadout {
    return this.root.textReadout(this.prefix + name);
  }

  scope(prefix: string): Scope {
    return new ScopeImpl(this.root, this.prefix + prefix);
  }
}

/**
 * One thread's stats; also its root Scope (prefix ''). Every method is called on the
 * owning thread only.
 */
export class ThreadStats implements Scope {
  readonly prefix = '';
  private readonly publish: (update: StatsUpdate) => void;
  private readonly immediate: boolean;
  private readonly segments: Float64Array[] = [];
  /** Next free slot in the last segment. */
  private nextSlot = SLOTS_PER_SEGMENT;
  private readonly counters = new Map<string, CounterImpl>();
  private readonly gauges = new Map<string, GaugeImpl>();
  private readonly histograms = new Map<string, HistogramImpl>();
  private readonly texts = new Map<string, TextReadoutImpl>();
  private pendingSegments: SharedArrayBuffer[] = [];
  private pendingStats: StatEntry[] = [];
  private pendingTexts = new Map<string, string>();
  private pendingLookups = new Map<string, number>();
  private readonly control = new Float64Array(
    new SharedArrayBuffer(CONTROL_CELLS * Float64Array.BYTES_PER_ELEMENT),
  );
  private controlPublished = false;
  private scheduled = false;
  private readonly publishScheduled = (): void => {
    this.scheduled = false;
    this.publishPending();
  };

  constructor(publish: (update: StatsUpdate) => void, options: ThreadStatsOptions = {}) {
    this.publish = publish;
    this.immediate = options.immediate ?? false;
  }

  counter(name: string): Counter {
    this.lookedUp(name);
    let c = this.counters.get(name);
    if (c === undefined) {
      const slot = this.allocate(1);
      c = new CounterImpl(name, this.segmentOf(slot), slot & (SLOTS_PER_SEGMENT - 1));
      this.counters.set(name, c);
      this.created({ name, kind: 'counter', slot });
    }
    return c;
  }

  /** The import mode is fixed by the first request for the name. */
  gauge(name: string, mode: GaugeImportMode = 'Accumulate'): Gauge {
    this.lookedUp(name);
    let g = this.gauges.get(name);
    if (g === undefined) {
      const slot = this.allocate(GAUGE_SLOTS);
      g = new GaugeImpl(name, this.segmentOf(slot), slot & (SLOTS_PER_SEGMENT - 1));
      this.gauges.set(name, g);
      this.created({ name, kind: 'gauge', slot, importMode: mode });
    }
    return g;
  }

  /** The unit is fixed by the first request for the name. */
  histogram(name: string, unit: HistogramUnit = 'Unspecified'): Histogram {
    this.lookedUp(name);
    let h = this.histograms.get(name);
    if (h === undefined) {
      const slot = this.allocate(HISTOGRAM_SLOTS);
      h = new HistogramImpl(name, unit, this.segmentOf(slot), slot & (SLOTS_PER_SEGMENT - 1));
      this.histograms.set(name, h);
      this.created({ name, kind: 'histogram', slot, unit });
    }
    return h;
  }

  textReadout(name: string): TextReadout {
    this.lookedUp(name);
    let t = this.texts.get(name);
    if (t === undefined) {
      t = new TextReadoutImpl(name, this);
      this.texts.set(name, t);
      this.created({ name, kind: 'textReadout', slot: -1 });
    }
    return t;
  }

  scope(prefix: string): Scope {
    return new ScopeImpl(this, prefix);
  }

  /** Sends what is pending now rather than at the end of the microtask (e.g. before the thread exits). */
  publishPending(): void {
    if (
      this.pendingSegments.length === 0 &&
      this.pendingStats.length === 0 &&
      this.pendingTexts.size === 0 &&
      this.pendingLookups.size === 0 &&
      this.controlPublished
    ) {
      return;
    }
    const update: {
      segments?: SharedArrayBuffer[];
      stats?: StatEntry[];
      textReadouts?: Array<[string, string]>;
      control?: SharedArrayBuffer;
      lookups?: Array<[string, number]>;
    } = {};
    if (this.pendingSegments.length > 0) update.segments = this.pendingSegments;
    if (this.pendingStats.length > 0) update.stats = this.pendingStats;
    if (this.pendingTexts.size > 0) update.textReadouts = [...this.pendingTexts];
    if (!this.controlPublished) update.control = this.control.buffer as SharedArrayBuffer;
    if (this.pendingLookups.size > 0) update.lookups = [...this.pendingLookups];
    this.pendingSegments = [];
    this.pendingStats = [];
    this.pendingTexts = new Map();
    this.pendingLookups = new Map();
    this.controlPublished = true;
    this.publish(update);
  }

  /** Called by a text readout of this thread when its value changes. */
  textReadoutChanged(name: string, value: string): void {
    this.pendingTexts.set(name, value);
    this.schedule();
  }

  /**
   * Counts a lookup by name, and keeps the name while main records them. Until main has
   * the control cells it cannot say whether it records, so the names go with the first
   * update whatever (main drops them when it does not record); that update is on its way,
   * since the first lookup of a thread creates a stat.
   */
  private lookedUp(name: string): void {
    const control = this.control;
    control[CONTROL_LOOKUPS]! += 1;
    if (this.controlPublished && control[CONTROL_RECORDING] === 0) return;
    this.pendingLookups.set(name, (this.pendingLookups.get(name) ?? 0) + 1);
    if (this.controlPublished) this.schedule();
  }

  private created(entry: StatEntry): void {
    this.pendingStats.push(entry);
    this.schedule();
  }

  private schedule(): void {
    if (this.immediate) {
      this.publishPending();
    } else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.publishScheduled);
    }
  }

  /** Reserves `n` consecutive slots in one segment; returns the first one's global number. */
  private allocate(n: number): number {
    if (this.nextSlot + n > SLOTS_PER_SEGMENT) {
      const sab = new SharedArrayBuffer(SLOTS_PER_SEGMENT * Float64Array.BYTES_PER_ELEMENT);
      this.segments.push(new Float64Array(sab));
      this.pendingSegments.push(sab);
      this.nextSlot = 0;
    }
    const slot = ((this.segments.length - 1) << SEGMENT_SHIFT) + this.nextSlot;
    this.nextSlot += n;
    return slot;
  }

  private segmentOf(slot: number): Float64Array {
    const segment = this.segments[slot >> SEGMENT_SHIFT];
    if (segment === undefined) throw new Error(`bug: stats slot ${slot} has no segment`);
    return segment;
  }
}
