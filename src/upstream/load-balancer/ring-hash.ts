/**
 * RING_HASH: consistent hashing on a ring ("ketama"). Each host is placed on the ring many
 * times, at xxHash64 of `<address:port>_<i>`, in proportion to its normalized weight; a
 * request goes to the first entry at or clockwise after its hash, so removing one of N hosts
 * moves only that host's keys.
 *
 * Runs on the worker that owns the cluster; needs `await initHashing()` on the thread first.
 * The ring has at least `minimum_ring_size` entries (scaled so the lightest host gets a whole
 * number of them) and at most `maximum_ring_size`. On a re-pick (`attempt` > 0) the entry
 * `attempt` places further round is used. MURMUR_HASH_2, `use_hostname_for_hashing` and the
 * `envoy.lb` hash_key metadata are not implemented. Envoy counterpart: `RingHashLoadBalancer`
 * (source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc).
 */
import type { RuntimeSource } from '../../runtime/types.ts';
import type { Host, LbConfigData, PrioritySet } from '../types.ts';
import type { LbStats, RandomSource } from './base.ts';
import { hashingReady, split64, splitHi, splitLo, xxhash64 } from './hash.ts';
import {
  type HashingLoadBalancer,
  type NormalizedHostWeights,
  ThreadAwareLoadBalancerBase,
} from './thread-aware.ts';

export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;

/** The ring: entries sorted by hash, as parallel arrays. */
export class Ring implements HashingLoadBalancer {
  readonly hashHi: Uint32Array;
  readonly hashLo: Uint32Array;
  readonly hosts: readonly Host[];
  /** Envoy's `ring_hash_lb.min_hashes_per_host` / `max_hashes_per_host` gauges. */
  readonly minHashesPerHost: number;
  readonly maxHashesPerHost: number;

  constructor(weights: NormalizedHostWeights, minRingSize: number, maxRingSize: number) {
    const his: number[] = [];
    const los: number[] = [];
    const owners: Host[] = [];
    let minHashes = 0;
    let maxHashes = 0;
    if (weights.hosts.length > 0) {
      // The lightest host gets a whole number of entries; the ring never exceeds the maximum.
      const scale = Math.min(Math.ceil(weights.min * minRingSize) / weights.min, maxRingSize);
      minHashes = Math.ceil(scale);
      // Running sums, so fractional shares even out across hosts.
      let currentHashes = 0;
      let targetHashes = 0;
      for (let h = 0; h < weights.hosts.length; h++) {
        const host = weights.hosts[h]!;
        const prefix = `${host.key}_`;
        targetHashes += scale * weights.weights[h]!;
        let i = 0;
        while (currentHashes < targetHashes) {
          split64(xxhash64(prefix + i));
          his.push(splitHi());
          los.push(splitLo());
          owners.push(host);
          i++;
          currentHashes++;
        }
        if (i < minHashes) minHashes = i;
        if (i > maxHashes) maxHashes = i;
      }
    }
    const n = owners.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => his[a]! - his[b]! || los[a]! - los[b]! || a - b);
    this.hashHi = new Uint32Array(n);
    this.hashLo = new Uint32Array(n);
    const hosts = new Array<Host>(n);
    for (let i = 0; i < n; i++) {
      const from = order[i]!;
      this.hashHi[i] = his[from]!;
      this.hashLo[i] = los[from]!;
      hosts[i] = owners[from]!;
    }
    this.hosts = hosts;
    this.minHashesPerHost = minHashes;
    this.maxHashesPerHost = maxHashes;
  }

  get size(): number {
    return this.hosts.length;
  }

  chooseHost(hi: number, lo: number, attempt: number): Host | undefined {
    const size = this.hosts.length;
    if (size === 0) return undefined;
    // The first entry whose hash is >= the request's, wrapping past the end to the start.
    const ringHi = this.hashHi;
    const ringLo = this.hashLo;
    let low = 0;
    let high = size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const midHi = ringHi[mid]!;
      if (midHi < hi || (midHi === hi && ringLo[mid]! < lo)) low = mid + 1;
      else high = mid;
    }
    if (low === size) low = 0;
    if (attempt > 0) low = (low + attempt) % size;
    return this.hosts[low];
  }
}

export class RingHashLoadBalancer extends ThreadAwareLoadBalancerBase {
  private readonly minRingSize: number;
  private readonly maxRingSize: number;
  private rings: Ring[] = [];

  constructor(
    prioritySet: PrioritySet,
    stats: LbStats,
    random: RandomSource,
    config: LbConfigData,
    runtime?: RuntimeSource,
  ) {
    super(prioritySet, stats, random, config.healthyPanicThreshold, runtime);
    if (!hashingReady())
      throw new Error('RING_HASH load balancer built before `await initHashing()` on this thread');
    this.minRingSize = config.ringHash.minimumRingSize;
    this.maxRingSize = config.ringHash.maximumRingSize;
    if (this.minRingSize > this.maxRingSize) {
      throw new Error(
        `ring hash: minimum_ring_size (${this.minRingSize}) > maximum_ring_size (${this.maxRingSize})`,
      );
    }
    this.initialize();
  }

  /** The ring last built for each priority (for tests and admin). */
  ring(priority: number): Ring | undefined {
    return this.rings[priority];
  }

  protected createHashingLoadBalancer(weights: NormalizedHostWeights, priority: number): HashingLoadBalancer {
    const ring = new Ring(weights, this.minRingSize, this.maxRingSize);
    this.rings[priority] = ring;
    return ring;
  }
}
