/**
 * `HeaderMapImpl`: the header map every codec produces and every filter edits.
 *
 * Worker threads; a map belongs to one stream. Two parallel arrays (lower-case keys, values)
 * in arrival order, pseudo-headers first, so a request's dozen headers cost two small arrays
 * and lookups are short linear scans. A map made for Envoy's `preserve_case` header formatter
 * also keeps, per entry, the key's original spelling (as received, or as added), which the
 * HTTP/1 encoder writes out instead of the lower-case key; a response map may carry the
 * upstream reason phrase for `forward_reason_phrase`. `byteSize()` is kept up to date on every
 * change (keys plus values, Envoy's measure for `max_request_headers_kb`). Values are Latin-1
 * strings: one character per byte on the wire, so obs-text survives a round trip unchanged.
 * Envoy counterpart: `source/common/http/header_map_impl.cc`, and the stateful formatter of
 * `source/extensions/http/header_formatters/preserve_case/`.
 */
import { insertAt, removeIndex } from '../common/array.ts';
import type { HeaderMap } from './types.ts';

/**
 * Names already known to be lower-case. Nearly every lookup is of one of a few dozen names
 * (literals in the code, interned names from the codec), and a set hit (the string's cached
 * hash) costs about half a `toLowerCase` call, which went through V8's Intl builtin on every
 * `get`, `has` and `set`: ~1 % of a worker's CPU in profiles of the small-request path.
 * Bounded, as names from the wire can be anything; past the bound, names just take the call.
 */
const KNOWN_LOWER_CASE = new Set<string>();
const KNOWN_LOWER_CASE_LIMIT = 1024;

/**
 * `key` with A-Z folded to a-z, the very same string when there is nothing to fold. Header
 * names are tokens (ASCII), so no locale rule applies.
 */
export function lowerCaseKey(key: string): string {
  if (KNOWN_LOWER_CASE.has(key)) return key;
  const lower = key.toLowerCase();
  if (lower === key && KNOWN_LOWER_CASE.size < KNOWN_LOWER_CASE_LIMIT) KNOWN_LOWER_CASE.add(key);
  return lower;
}

export class HeaderMapImpl implements HeaderMap {
  /** True when the map remembers original key spellings (the preserve_case formatter). */
  readonly preserveCase: boolean;
  /** The reason phrase of a parsed response, kept for `forward_reason_phrase`; '' otherwise. */
  reasonPhrase = '';
  private readonly keys: string[] = [];
  private readonly values: string[] = [];
  /** Original spellings, parallel to `keys` (undefined: same as the key); null unless preserveCase. */
  private readonly rawKeys: Array<string | undefined> | null;
  private pseudoCount = 0;
  private bytes = 0;

  constructor(preserveCase = false) {
    this.preserveCase = preserveCase;
    this.rawKeys = preserveCase ? [] : null;
  }

  /**
   * A map that starts with the given pseudo-headers, values empty (the codec's slots, filled
   * once a head is parsed): one allocation per array instead of one push per header.
   */
  static withPseudoHeaders(keys: readonly string[], preserveCase: boolean): HeaderMapImpl {
    const map = new HeaderMapImpl(preserveCase);
    for (let i = 0; i < keys.length; i++) {
      map.keys.push(keys[i]!);
      map.values.push('');
      map.rawKeys?.push(undefined);
      map.bytes += keys[i]!.length;
    }
    map.pseudoCount = keys.length;
    return map;
  }

  /** A map holding `pairs` in order (keys as given, lower-cased unless preserving case). */
  static of(pairs: ReadonlyArray<readonly [string, string]>, preserveCase = false): HeaderMapImpl {
    const map = new HeaderMapImpl(preserveCase);
    for (const [k, v] of pairs) map.add(k, v);
    return map;
  }

  get size(): number {
    return this.keys.length;
  }

  byteSize(): number {
    return this.bytes;
  }

  get(key: string): string | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.values[i];
  }

  getAll(key: string): string[] {
    const k = lowerCaseKey(key);
    const out: string[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === k) out.push(this.values[i]!);
    return out;
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /** Index of `key` in any case: as given first (callers mostly pass lower-case names), then folded. */
  private find(key: string): number {
    const i = this.indexOf(key);
    if (i >= 0) return i;
    const lower = lowerCaseKey(key);
    return lower === key ? -1 : this.indexOf(lower);
  }

  add(key: string, value: string): void {
    const lower = lowerCaseKey(key);
    this.addLowerCase(lower, value, lower === key ? undefined : key);
  }

  set(key: string, value: string): void {
    const lower = lowerCaseKey(key);
    const i = this.indexOf(lower);
    if (i < 0) {
      this.addLowerCase(lower, value, lower === key ? undefined : key);
      return;
    }
    this.setValueAt(i, value);
    for (let j = this.keys.length - 1; j > i; j--) if (this.keys[j] === lower) this.removeAt(j);
  }

  remove(key: string): void {
    const k = lowerCaseKey(key);
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i] === k) this.removeAt(i);
  }

  forEach(fn: (key: string, value: string) => void): void {
    for (let i = 0; i < this.keys.length; i++) fn(this.keys[i]!, this.values[i]!);
  }

  /** Every `[key, value]` pair in order (tests and debugging). */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.keys.length; i++) out.push([this.keys[i]!, this.values[i]!]);
    return out;
  }

  // --- Index-based access for codecs (no closure per header).

  /**
   * Adds a header whose key is already lower-case; `rawKey` is its original spelling (kept
   * only by a preserve_case map). Pseudo-headers go after the existing pseudo-headers.
   */
  addLowerCase(key: string, value: string, rawKey?: string): void {
    this.bytes += key.length + value.length;
    if (key.charCodeAt(0) === 58 /* ':' */ && this.pseudoCount < this.keys.length) {
      const at = this.pseudoCount++;
      insertAt(this.keys, at, key);
      insertAt(this.values, at, value);
      if (this.rawKeys !== null) insertAt(this.rawKeys, at, rawKey);
      return;
    }
    if (key.charCodeAt(0) === 58) this.pseudoCount++;
    this.keys.push(key);
    this.values.push(value);
    this.rawKeys?.push(rawKey);
  }

  /** Index of the first header named `key` (lower-case), or -1. */
  indexOf(key: string): number {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i;
    return -1;
  }

  keyAt(i: number): string {
    return this.keys[i]!;
  }

  valueAt(i: number): string {
    return this.values[i]!;
  }

  /** The spelling to write for entry `i`: the original one when preserved, else the key. */
  rawKeyAt(i: number): string {
    return this.rawKeys?.[i] ?? this.keys[i]!;
  }

  /** The original spelling recorded for `key` (lower-case) anywhere in the map, if any. */
  rawKeyOf(key: string): string | undefined {
    if (this.rawKeys === null) return undefined;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] === key && this.rawKeys[i] !== undefined) return this.rawKeys[i];
    }
    return undefined;
  }

  /** Records `raw` as the original spelling of entry `i` (preserve_case maps only). */
  setRawKeyAt(i: number, raw: string): void {
    if (this.rawKeys !== null) this.rawKeys[i] = raw;
  }

  setValueAt(i: number, value: string): void {
    this.bytes += value.length - this.values[i]!.length;
    this.values[i] = value;
  }

  removeAt(i: number): void {
    const key = this.keys[i]!;
    this.bytes -= key.length + this.values[i]!.length;
    if (key.charCodeAt(0) === 58) this.pseudoCount--;
    removeIndex(this.keys, i);
    removeIndex(this.values, i);
    if (this.rawKeys !== null) removeIndex(this.rawKeys, i);
  }
}
