/**
 * The min-heap of armed timers of one Dispatcher, ordered by deadline, then by arming order
 * (first armed first on equal deadlines).
 *
 * Entries are the timer objects themselves; each knows its slot (`heapIndex`, -1 when not in
 * the heap), so re-arming moves the timer in place and removing it is O(log n), with no
 * allocation (the backing array only grows). Runs on the dispatcher's thread. Envoy
 * counterpart: libevent's `min_heap` (the timer heap behind `event_add`).
 */

/** What the heap needs from a timer. `seq` is unique per arming and grows with each one. */
export interface HeapEntry {
  deadline: number;
  seq: number;
  heapIndex: number;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

export class TimerHeap<T extends HeapEntry> {
  private readonly items: T[];

  constructor() {
    this.items = [];
  }

  get size(): number {
    return this.items.length;
  }

  /** The earliest entry, or undefined when empty. */
  top(): T | undefined {
    return this.items[0];
  }

  /** Adds `e` (not in the heap) or repositions it after its key changed (already in the heap). */
  upsert(e: T): void {
    const i = e.heapIndex;
    if (i < 0) {
      const n = this.items.length;
      this.items.push(e);
      e.heapIndex = n;
      this.siftUp(n);
      return;
    }
    const parent = (i - 1) >> 1;
    if (i > 0 && before(e, this.items[parent]!)) this.siftUp(i);
    else this.siftDown(i);
  }

  /** Removes `e` if it is in the heap. */
  remove(e: T): void {
    const i = e.heapIndex;
    if (i < 0) return;
    e.heapIndex = -1;
    const last = this.items.pop()!;
    if (last === e) return;
    this.items[i] = last;
    last.heapIndex = i;
    const parent = (i - 1) >> 1;
    if (i > 0 && before(last, this.items[parent]!)) this.siftUp(i);
    else this.siftDown(i);
  }

  /** Empties the heap, marking every entry as out of it. */
  clear(): void {
    for (const e of this.items) e.heapIndex = -1;
    this.items.length = 0;
  }

  private siftUp(start: number): void {
    const items = this.items;
    const e = items[start]!;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(e, p)) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = e;
    e.heapIndex = i;
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[start]!;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = items[left]!;
      if (right < n) {
        const r = items[right]!;
        if (before(r, c)) {
          child = right;
          c = r;
        }
      }
      if (!before(c, e)) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = e;
    e.heapIndex = i;
  }
}
