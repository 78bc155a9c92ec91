/**
 * In-place edits of small arrays that keep the order, for the per-request paths (header maps,
 * a connection's streams, a pool's clients). `splice` does the same but allocates the array
 * of removed entries on every call (an empty one for an insertion): garbage on every request.
 */

/** Removes entry `i` of `a`, shifting the later entries down. */
export function removeIndex<T>(a: T[], i: number): void {
  const last = a.length - 1;
  for (let j = i; j < last; j++) a[j] = a[j + 1]!;
  a.pop();
}

/**
 * Empties `a`. Assigning `length` goes through a runtime call in V8 (it showed in profiles of
 * the per-request path); `pop()` stays in fast generated code, and these lists hold one or two.
 */
export function clearArray<T>(a: T[]): void {
  while (a.length > 0) a.pop();
}

/** Inserts `value` at index `i` of `a`, shifting the later entries up. */
export function insertAt<T>(a: T[], i: number, value: T): void {
  for (let j = a.length; j > i; j--) a[j] = a[j - 1]!;
  a[i] = value;
}
