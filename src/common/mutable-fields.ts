/**
 * Fields that change only on rare paths (a close, a reset, an error), declared as changing
 * before optimized code comes to rely on them staying put.
 *
 * V8 treats an object's field as constant until the first store that changes its value, per
 * class (hidden class, shared by all the objects of one constructor), and optimized code builds
 * on that: it folds the value and keeps it across calls. The first change of such a field throws
 * away every optimized function that did ("dependent field type constness changed" in
 * `--trace-deopt`). For a flag that flips only when a connection closes, that is the whole
 * request path, the first time any client goes away mid-request: the worker runs unoptimized
 * code and recompiles ~1 s of TurboFan work while it serves (in `npm run bench` that was the
 * first measured window after the warm-up, p99 ~20 ms). Changing the field once, on the first
 * object of the class and before anything is optimized, makes it an ordinary mutable field
 * from the start; the object gets its value back. The same store widens a field's recorded
 * type (a field that always held a header map, then `undefined`).
 */
export class MutableFields {
  private readonly values: Readonly<Record<string, unknown>>;
  /** Constructors whose first object was marked (a subclass is a class of its own to V8). */
  private readonly marked: unknown[] = [];

  /** `values` names each field with a value it can take other than its initial one. */
  constructor(values: Readonly<Record<string, unknown>>) {
    this.values = values;
  }

  /**
   * Marks the fields on the first object of each class; call from the constructor, after the
   * fields are initialized. Later objects pay a look at a list of one or two constructors.
   */
  mark(obj: object): void {
    const cls = obj.constructor;
    if (this.marked.includes(cls)) return;
    this.marked.push(cls);
    const target = obj as Record<string, unknown>;
    for (const key of Object.keys(this.values)) {
      const initial = target[key];
      target[key] = this.values[key];
      target[key] = initial;
    }
  }
}
