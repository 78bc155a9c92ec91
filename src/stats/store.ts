/**
 * The process-wide view of the stats: every thread's slots, merged by name.
 *
 * Main thread only. Each thread's `ThreadStats` publishes `StatsUpdate`s (workers by message,
 * main directly); `attach` maps the thread's SharedArrayBuffer segments and learns its stats.
 * Reads sum the live slots of every thread on demand: counters and `Accumulate` gauges
 * across all threads, `NeverImport` gauges from the main thread only, histograms bucket by
 * bucket. A thread that ends is `detach`ed: its counters and histogram counts are folded
 * into a retained total (they never go down), its gauges are dropped. Envoy counterpart:
 * `ThreadLocalStoreImpl` (source/common/stats/thread_local_store.cc): the central cache,
 * `mergeHistograms`, `ParentHistogramImpl`'s interval and cumulative statistics, and the
 * sink snapshot (`MetricSnapshotImpl`, counters latched to their delta since the last flush).
 *
 * Reads of another thread's slots are plain (non-atomic) loads of aligned 64-bit words that
 * thread may be writing. The JS memory model does not promise such reads are whole, but V8 on
 * the 64-bit platforms Node runs on loads and stores an aligned Float64 slot with one
 * instruction, so a read sees the value before or after an increment. A histogram read
 * mid-record may see its count without its bucket yet; quantiles use the bucket counts, and
 * the next read is whole.
 */
import { BUCKET_COUNT, histogramStatistics } from './histogram.ts';
import { RecentLookups } from './recent-lookups.ts';
import {
  CONTROL_LOOKUPS,
  CONTROL_RECORDING,
  SEGMENT_SHIFT,
  SLOTS_PER_SEGMENT,
  type StatEntry,
  type StatsUpdate,
} from './thread-stats.ts';
import type { GaugeImportMode, HistogramSnapshot, HistogramUnit } from './types.ts';

/** Where one thread keeps one stat: its segment and the stat's first slot in it. */
interface Source {
  readonly thread: ThreadRecord;
  readonly view: Float64Array;
  readonly offset: number;
}

interface ThreadRecord {
  readonly name: string;
  readonly isMain: boolean;
  readonly segments: Float64Array[];
  readonly counters: MergedCounter[];
  readonly gauges: MergedGauge[];
  readonly histograms: MergedHistogram[];
  readonly texts: Set<MergedText>;
  /** The thread's control cells (lookup count, recording flag), once published. */
  control: Float64Array | undefined;
}

class MergedCounter {
  readonly name: string;
  readonly sources: Source[] = [];
  /** Final values of detached threads. */
  retained = 0;
  /** The total at the last `resetCounters()`; reads are relative to it. */
  resetBase = 0;
  /** The total at the last `flush()`, for the sinks' delta. */
  flushedTotal = 0;

  constructor(name: string) {
    this.name = name;
  }

  total(): number {
    let v = this.retained;
    for (const s of this.sources) v += s.view[s.offset]!;
    return v;
  }
}

class MergedGauge {
  readonly name: string;
  readonly importMode: GaugeImportMode;
  readonly sources: Source[] = [];
  /** A detached thread had written it. */
  usedBefore = false;

  constructor(name: string, importMode: GaugeImportMode) {
    this.name = name;
    this.importMode = importMode;
  }

  value(): number {
    let v = 0;
    for (const s of this.sources) {
      if (this.importMode === 'NeverImport' && !s.thread.isMain) continue;
      v += s.view[s.offset]!;
    }
    return v;
  }

  used(): boolean {
    if (this.usedBefore) return true;
    for (const s of this.sources) if (s.view[s.offset + 1] !== 0) return true;
    return false;
  }
}

class MergedHistogram {
  readonly name: string;
  readonly unit: HistogramUnit;
  readonly sources: Source[] = [];
  /** Bucket counts and sum of detached threads. */
  readonly retained = new Float64Array(BUCKET_COUNT);
  retainedCount = 0;
  retainedSum = 0;
  /** Bucket counts and sum at the last `flush()`: the interval starts there. */
  readonly flushed = new Float64Array(BUCKET_COUNT);
  flushedSum = 0;

  constructor(name: string, unit: HistogramUnit) {
    this.name = name;
    this.unit = unit;
  }

  /** Whether any value was ever recorded (count slots only; cheaper than a merge). */
  used(): boolean {
    if (this.retainedCount !== 0) return true;
    for (const s of this.sources) if (s.view[s.offset] !== 0) return true;
    return false;
  }

  /** Current bucket counts of all threads, and their sum. */
  merge(into: Float64Array): number {
    into.set(this.retained);
    let sum = this.retainedSum;
    for (const s of this.sources) {
      sum += s.view[s.offset + 1]!;
      const base = s.offset + 2;
      for (let i = 0; i < BUCKET_COUNT; i++) {
        const c = s.view[base + i]!;
        if (c !== 0) into[i]! += c;
      }
    }
    return sum;
  }

  /**
   * Statistics of `cumulative` (from `merge`) and of its part since the last flush, with
   * the recorded buckets when `detailed`; `scratch` is overwritten.
   */
  snapshot(
    cumulative: Float64Array,
    sum: number,
    scratch: Float64Array,
    detailed = false,
  ): HistogramSnapshot {
    for (let i = 0; i < BUCKET_COUNT; i++) scratch[i] = cumulative[i]! - this.flushed[i]!;
    return {
      name: this.name,
      unit: this.unit,
      cumulative: histogramStatistics(cumulative, sum, detailed),
      interval: histogramStatistics(scratch, sum - this.flushedSum, detailed),
    };
  }
}

class MergedText {
  readonly name: string;
  /** Each thread's value and when it was set (a sequence across all threads). */
  readonly values = new Map<ThreadRecord, { value: string; seq: number }>();
  /** Last value of a detached thread. */
  retained: { value: string; seq: number } | undefined;

  constructor(name: string) {
    this.name = name;
  }

  /** The most recently set value of any thread; '' when never set. */
  latest(): { value: string; seq: number } | undefined {
    let best = this.retained;
    for (const v of this.values.values()) if (best === undefined || v.seq > best.seq) best = v;
    return best;
  }
}

/** What a sink receives at each flush. Only used stats, as Envoy's default sink predicate. */
export interface StatsFlush {
  /** `delta`: increase since the previous flush (Envoy's latched counter). */
  readonly counters: ReadonlyArray<{ readonly name: string; readonly value: number; readonly delta: number }>;
  readonly gauges: ReadonlyArray<{ readonly name: string; readonly value: number }>;
  readonly textReadouts: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /** Interval statistics cover the time since the previous flush. */
  readonly histograms: readonly HistogramSnapshot[];
}

export interface StatsStoreOptions {
  /** The main thread's name in `attach`: its NeverImport gauges are the ones read. Default 'main_thread'. */
  readonly mainThread?: string;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Map entries sorted by name, as Envoy's admin lists them. */
function sortedMap<V>(entries: Array<[string, V]>): Map<string, V> {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new Map(entries);
}

export class StatsStore {
  readonly mainThread: string;
  private readonly threads = new Map<string, ThreadRecord>();
  private readonly counterMap = new Map<string, MergedCounter>();
  private readonly gaugeMap = new Map<string, MergedGauge>();
  private readonly histogramMap = new Map<string, MergedHistogram>();
  private readonly textMap = new Map<string, MergedText>();
  private textSeq = 0;
  /** Reused for every histogram merge (allocating 11 KiB per histogram per read costs more than the merge). */
  private readonly scratchCumulative = new Float64Array(BUCKET_COUNT);
  private readonly scratchInterval = new Float64Array(BUCKET_COUNT);
  private readonly recentLookups = new RecentLookups();
  /** Lookups counted by threads that have ended. */
  private retainedLookups = 0;
  /** The lookup total at the last `clearRecentLookups()`. */
  private lookupsBase = 0;

  constructor(options: StatsStoreOptions = {}) {
    this.mainThread = options.mainThread ?? 'main_thread';
  }

  /** Applies one update a thread published (its first update registers the thread). */
  attach(threadName: string, update: StatsUpdate): void {
    let thread = this.threads.get(threadName);
    if (thread === undefined) {
      thread = {
        name: threadName,
        isMain: threadName === this.mainThread,
        segments: [],
        counters: [],
        gauges: [],
        histograms: [],
        texts: new Set(),
        control: undefined,
      };
      this.threads.set(threadName, thread);
    }
    for (const sab of update.segments ?? []) thread.segments.push(new Float64Array(sab));
    for (const entry of update.stats ?? []) this.addStat(thread, entry);
    for (const [name, value] of update.textReadouts ?? []) {
      const text = this.textFor(thread, name);
      text.values.set(thread, { value, seq: ++this.textSeq });
    }
    if (update.control !== undefined) {
      thread.control = new Float64Array(update.control);
      thread.control[CONTROL_RECORDING] = this.recentLookups.capacity > 0 ? 1 : 0;
    }
    for (const [name, count] of update.lookups ?? []) this.recentLookups.lookup(name, count);
  }

  /**
   * Forgets a thread that has ended: its counters' and histograms' final values are kept in
   * the totals, its gauges no longer count, its text readouts keep their last value.
   */
  detach(threadName: string): void {
    const thread = this.threads.get(threadName);
    if (thread === undefined) return;
    this.threads.delete(threadName);
    this.retainedLookups += thread.control?.[CONTROL_LOOKUPS] ?? 0;
    for (const c of thread.counters) {
      const i = c.sources.findIndex((s) => s.thread === thread);
      const s = c.sources[i];
      if (s === undefined) continue;
      c.retained += s.view[s.offset]!;
      c.sources.splice(i, 1);
    }
    for (const g of thread.gauges) {
      const i = g.sources.findIndex((s) => s.thread === thread);
      const s = g.sources[i];
      if (s === undefined) continue;
      if (s.view[s.offset + 1] !== 0) g.usedBefore = true;
      g.sources.splice(i, 1);
    }
    for (const h of thread.histograms) {
      const i = h.sources.findIndex((s) => s.thread === thread);
      const s = h.sources[i];
      if (s === undefined) continue;
      h.retainedCount += s.view[s.offset]!;
      h.retainedSum += s.view[s.offset + 1]!;
      for (let b = 0; b < BUCKET_COUNT; b++) h.retained[b]! += s.view[s.offset + 2 + b]!;
      h.sources.splice(i, 1);
    }
    for (const t of thread.texts) {
      const v = t.values.get(thread);
      t.values.delete(thread);
      if (v !== undefined && (t.retained === undefined || v.seq > t.retained.seq)) t.retained = v;
    }
  }

  /** Names of the threads attached now. */
  threadNames(): string[] {
    return [...this.threads.keys()];
  }

  /** A counter's value across all threads (since the last `resetCounters()`); undefined if unknown. */
  counterValue(name: string): number | undefined {
    const c = this.counterMap.get(name);
    return c === undefined ? undefined : c.total() - c.resetBase;
  }

  /** A gauge's value: the sum over threads, or main's alone for NeverImport; undefined if unknown. */
  gaugeValue(name: string): number | undefined {
    return this.gaugeMap.get(name)?.value();
  }

  /** A text readout's latest value; undefined if unknown. */
  textReadoutValue(name: string): string | undefined {
    const t = this.textMap.get(name);
    return t === undefined ? undefined : (t.latest()?.value ?? '');
  }

  /** Every counter by name, sorted. `usedOnly`: only those ever incremented. */
  counters(usedOnly = false): Map<string, number> {
    const out: Array<[string, number]> = [];
    for (const c of this.counterMap.values()) {
      const total = c.total();
      if (usedOnly && total === 0) continue;
      out.push([c.name, total - c.resetBase]);
    }
    return sortedMap(out);
  }

  /** Every gauge by name, sorted. `usedOnly`: only those ever written. */
  gauges(usedOnly = false): Map<string, number> {
    const out: Array<[string, number]> = [];
    for (const g of this.gaugeMap.values()) {
      if (usedOnly && !g.used()) continue;
      out.push([g.name, g.value()]);
    }
    return sortedMap(out);
  }

  /** Every text readout by name, sorted. `usedOnly`: only those ever set. */
  textReadouts(usedOnly = false): Map<string, string> {
    const out: Array<[string, string]> = [];
    for (const t of this.textMap.values()) {
      const latest = t.latest();
      if (usedOnly && latest === undefined) continue;
      out.push([t.name, latest?.value ?? '']);
    }
    return sortedMap(out);
  }

  /**
   * Every histogram, sorted by name: cumulative statistics since start, interval statistics
   * since the last `flush()`. `usedOnly`: only those with a recorded value; `detailed`: with
   * every recorded bucket (`?histogram_buckets=detailed`).
   */
  histograms(usedOnly = false, detailed = false): HistogramSnapshot[] {
    const out: HistogramSnapshot[] = [];
    for (const h of this.histogramMap.values()) {
      if (usedOnly && !h.used()) continue;
      const sum = h.merge(this.scratchCumulative);
      out.push(h.snapshot(this.scratchCumulative, sum, this.scratchInterval, detailed));
    }
    return out.sort(byName);
  }

  /**
   * Ends the current interval: returns what a sink needs (used stats; counters with their
   * increase since the previous flush; histograms with this interval's statistics) and starts
   * the next interval. Envoy counterpart: `mergeHistograms` then the sinks' `flush(snapshot)`.
   */
  flush(): StatsFlush {
    const counters: Array<{ name: string; value: number; delta: number }> = [];
    for (const c of this.counterMap.values()) {
      const total = c.total();
      if (total === 0) continue;
      counters.push({ name: c.name, value: total - c.resetBase, delta: total - c.flushedTotal });
      c.flushedTotal = total;
    }
    const gauges: Array<{ name: string; value: number }> = [];
    for (const g of this.gaugeMap.values()) if (g.used()) gauges.push({ name: g.name, value: g.value() });
    const textReadouts: Array<{ name: string; value: string }> = [];
    for (const t of this.textMap.values()) {
      const latest = t.latest();
      if (latest !== undefined) textReadouts.push({ name: t.name, value: latest.value });
    }
    const histograms: HistogramSnapshot[] = [];
    for (const h of this.histogramMap.values()) {
      if (!h.used()) continue;
      const sum = h.merge(this.scratchCumulative);
      histograms.push(h.snapshot(this.scratchCumulative, sum, this.scratchInterval));
      h.flushed.set(this.scratchCumulative);
      h.flushedSum = sum;
    }
    return {
      counters: counters.sort(byName),
      gauges: gauges.sort(byName),
      textReadouts: textReadouts.sort(byName),
      histograms: histograms.sort(byName),
    };
  }

  /** Envoy's `/reset_counters`: every counter reads 0 from now on, then counts up again. Gauges, histograms and "used" are kept. */
  resetCounters(): void {
    for (const c of this.counterMap.values()) c.resetBase = c.total();
  }

  /**
   * How many names `/stats/recentlookups` keeps: Envoy's `setRecentLookupCapacity`
   * (`/enable` sets RECENT_LOOKUPS_CAPACITY, `/disable` 0, which also empties the list).
   * Every thread is told whether to publish the names it looks up.
   */
  setRecentLookupCapacity(capacity: number): void {
    this.recentLookups.setCapacity(capacity);
    for (const t of this.threads.values()) {
      if (t.control !== undefined) t.control[CONTROL_RECORDING] = capacity > 0 ? 1 : 0;
    }
  }

  recentLookupCapacity(): number {
    return this.recentLookups.capacity;
  }

  /** `/stats/recentlookups/clear`: empties the list and restarts the total from 0; recording goes on. */
  clearRecentLookups(): void {
    this.recentLookups.clear();
    this.lookupsBase = this.lookupsSinceStart();
  }

  /**
   * The recorded names with their counts (ascending count, then name) and the number of
   * lookups by name on every thread since the last clear, recorded or not.
   */
  recentLookupsView(): { lookups: Array<[string, number]>; total: number } {
    return { lookups: this.recentLookups.sorted(), total: this.lookupsSinceStart() - this.lookupsBase };
  }

  private lookupsSinceStart(): number {
    let total = this.retainedLookups;
    for (const t of this.threads.values()) total += t.control?.[CONTROL_LOOKUPS] ?? 0;
    return total;
  }

  private addStat(thread: ThreadRecord, entry: StatEntry): void {
    if (entry.kind === 'textReadout') {
      this.textFor(thread, entry.name);
      return;
    }
    const view = thread.segments[entry.slot >> SEGMENT_SHIFT];
    if (view === undefined) {
      throw new Error(`bug: stat ${entry.name} of thread ${thread.name} is in a segment not yet published`);
    }
    const source: Source = { thread, view, offset: entry.slot & (SLOTS_PER_SEGMENT - 1) };
    switch (entry.kind) {
      case 'counter': {
        let c = this.counterMap.get(entry.name);
        if (c === undefined) {
          c = new MergedCounter(entry.name);
          this.counterMap.set(entry.name, c);
        }
        c.sources.push(source);
        thread.counters.push(c);
        break;
      }
      case 'gauge': {
        let g = this.gaugeMap.get(entry.name);
        if (g === undefined) {
          g = new MergedGauge(entry.name, entry.importMode ?? 'Accumulate');
          this.gaugeMap.set(entry.name, g);
        }
        g.sources.push(source);
        thread.gauges.push(g);
        break;
      }
      case 'histogram': {
        let h = this.histogramMap.get(entry.name);
        if (h === undefined) {
          h = new MergedHistogram(entry.name, entry.unit ?? 'Unspecified');
          this.histogramMap.set(entry.name, h);
        }
        h.sources.push(source);
        thread.histograms.push(h);
        break;
      }
    }
  }

  private textFor(thread: ThreadRecord, name: string): MergedText {
    let t = this.textMap.get(name);
    if (t === undefined) {
      t = new MergedText(name);
      this.textMap.set(name, t);
    }
    thread.texts.add(t);
    return t;
  }
}
