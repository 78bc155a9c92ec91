/**
 * MAGLEV: consistent hashing through a lookup table of prime size (65537 by default) filled
 * from per-host permutations, so a request's host is `table[hash mod size]`.
 *
 * Runs on the worker that owns the cluster; needs `await initHashing()` on the thread first.
 * Hosts are taken in order of their `address:port` key; a host's permutation starts at
 * xxHash64(key) mod size and steps by xxHash64(key, seed 1) mod (size - 1) + 1. Turns go
 * round the hosts, a host of normalized weight w taking a slot on the turns where its share
 * is due (every turn for the heaviest), until the table is full: entries end up in proportion
 * to weight. A re-pick (`attempt` > 0) flips the hash with ~0 - attempt + 1 first. Envoy's
 * compact table is a memory layout only; this one stores host indices in an Int32Array.
 * Envoy counterpart: `MaglevLoadBalancer`, `OriginalMaglevTable`
 * (source/extensions/load_balancing_policies/maglev/maglev_lb.cc; paper section 3.4).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LbConfigData, PrioritySet } from '../types.ts';
import type { LbStats, RandomSource } from './base.ts';
import { bigMod, hashingReady, mod64, xxhash64 } from './hash.ts';
import {
  type HashingLoadBalancer,
  type NormalizedHostWeights,
  ThreadAwareLoadBalancerBase,
} from './thread-aware.ts';

export const DEFAULT_TABLE_SIZE = 65537;

interface TableBuildEntry {
  readonly host: Host;
  readonly key: string;
  readonly weight: number;
}

export class MaglevTable implements HashingLoadBalancer {
  readonly tableSize: number;
  /** Index into `hosts` for every slot. */
  readonly table: Int32Array;
  /** The hosts in build (key) order. */
  readonly hosts: readonly Host[];
  /** Envoy's `maglev_lb.min_entries_per_host` / `max_entries_per_host` gauges. */
  readonly minEntriesPerHost: number;
  readonly maxEntriesPerHost: number;

  constructor(weights: NormalizedHostWeights, tableSize: number) {
    this.tableSize = tableSize;
    const entries: TableBuildEntry[] = weights.hosts.map((host, i) => ({
      host,
      key: host.key,
      weight: weights.weights[i]!,
    }));
    // A stable order: the table is filled in this order.
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.hosts = entries.map((e) => e.host);
    const n = entries.length;
    this.table = new Int32Array(n === 0 ? 0 : tableSize).fill(-1);
    const counts = n === 0 ? new Float64Array(0) : this.fill(entries, weights.max);
    let min = tableSize;
    let max = 0;
    for (const count of counts) {
      if (count < min) min = count;
      if (count > max) max = count;
    }
    this.minEntriesPerHost = n === 0 ? 0 : min;
    this.maxEntriesPerHost = max;
  }

  chooseHost(hi: number, lo: number, attempt: number): Host | undefined {
    if (this.hosts.length === 0) return undefined;
    let h = hi;
    let l = lo;
    if (attempt > 0) {
      // hash ^= 2^64 - attempt: many bits change, so retries spread over the table.
      h = (h ^ 0xffffffff) >>> 0;
      l = (l ^ ((0x100000000 - attempt) >>> 0)) >>> 0;
    }
    return this.hosts[this.table[mod64(h, l, this.tableSize)]!];
  }

  /** Fills the table; returns each entry's slot count. */
  private fill(entries: readonly TableBuildEntry[], maxNormalizedWeight: number): Float64Array {
    const size = this.tableSize;
    const table = this.table;
    const n = entries.length;
    const skip = new Float64Array(n);
    // Where each permutation is: offset + skip * next (mod size), advanced by one skip at a time.
    const position = new Float64Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    const count = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const entry = entries[i]!;
      position[i] = bigMod(xxhash64(entry.key), size);
      skip[i] = bigMod(xxhash64(entry.key, 1n), size - 1) + 1;
      weight[i] = entry.weight;
    }
    let filled = 0;
    for (let iteration = 1; filled < size; iteration++) {
      for (let i = 0; i < n && filled < size; i++) {
        // A host of weight max / k takes a slot once every k turns.
        if (iteration * weight[i]! < target[i]!) continue;
        target[i]! += maxNormalizedWeight;
        const step = skip[i]!;
        let c = position[i]!;
        while (table[c] !== -1) {
          c += step;
          if (c >= size) c -= size;
        }
        table[c] = i;
        c += step;
        position[i] = c >= size ? c - size : c;
        count[i]!++;
        filled++;
      }
    }
    return count;
  }
}

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export class MaglevLoadBalancer extends ThreadAwareLoadBalancerBase {
  private readonly tableSize: number;
  private tables: MaglevTable[] = [];

  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    config: LbConfigData,
    runtime?: RuntimeSource,
  ) {
    super(prioritySet, stats, random, config.healthyPanicThreshold, runtime);
    if (!hashingReady())
      throw new Error('MAGLEV load balancer built before `await initHashing()` on this thread');
    this.tableSize = config.maglev.tableSize;
    if (!isPrime(this.tableSize) || this.tableSize > 0x100000000) {
      throw new Error(`The table size of maglev must be prime number (got ${this.tableSize})`);
    }
    this.initialize();
  }

  /** The table last built for each priority (for tests and admin). */
  table(priority: number): MaglevTable | undefined {
    return this.tables[priority];
  }

  protected createHashingLoadBalancer(weights: NormalizedHostWeights, priority: number): HashingLoadBalancer {
    const table = new MaglevTable(weights, this.tableSize);
    this.tables[priority] = table;
    return table;
  }
}
