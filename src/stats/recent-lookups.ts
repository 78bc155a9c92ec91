/**
 * The most recent stat names looked up by string, with how often each was looked up since
 * it entered the list, for Envoy's `/stats/recentlookups`.
 *
 * Main thread (the StatsStore feeds it the names threads publish while recording is on).
 * A least-recently-used list: a name looked up again moves to the front and counts one
 * more; a new name at capacity evicts the least recent. Capacity 0 (the default) records
 * nothing. Envoy counterpart: `RecentLookups` (source/common/stats/recent_lookups.cc) and
 * `SymbolTableImpl::getRecentLookups`.
 */

/** The capacity `/stats/recentlookups/enable` sets (Envoy's `RecentLookups::Capacity`). */
export const RECENT_LOOKUPS_CAPACITY = 1000;

export class RecentLookups {
  /** Name -> count, least recent first (a Map keeps insertion order). */
  private readonly items = new Map<string, number>();
  private capacityValue = 0;

  get capacity(): number {
    return this.capacityValue;
  }

  /** Records `count` lookups of `name` (nothing when the capacity is 0). */
  lookup(name: string, count = 1): void {
    if (this.capacityValue === 0) return;
    const had = this.items.get(name);
    if (had !== undefined) {
      this.items.delete(name);
      this.items.set(name, had + count);
      return;
    }
    if (this.items.size >= this.capacityValue) this.evictOldest();
    this.items.set(name, count);
  }

  /** A smaller capacity drops the least recent names; 0 drops them all and stops recording. */
  setCapacity(capacity: number): void {
    this.capacityValue = capacity;
    while (this.items.size > capacity) this.evictOldest();
  }

  clear(): void {
    this.items.clear();
  }

  /** The recorded names by ascending count, then by name, as Envoy lists them. */
  sorted(): Array<[string, number]> {
    return [...this.items].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  private evictOldest(): void {
    const oldest = this.items.keys().next();
    if (!oldest.done) this.items.delete(oldest.value);
  }
}
