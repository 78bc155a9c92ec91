/**
 * The request matchers of a route: string matchers (`envoy.type.matcher.v3.StringMatcher`),
 * header matchers (`HeaderMatcher`, also used by retry policies) and query parameter
 * matchers, each compiled once from decoded config and evaluated per request.
 *
 * Any thread: built with the route table, evaluated on the worker that routes the request.
 * Evaluation allocates nothing beyond joining the values of a repeated header (Envoy joins
 * them with ','), lower-casing for `ignore_case` `contains`, and the value of a matched query
 * parameter. Case-insensitive comparisons are ASCII-only, as Envoy's `absl` helpers are.
 * Envoy counterpart: `Matchers::StringMatcherImpl` (source/common/common/matchers.cc),
 * `Http::HeaderUtility::HeaderData` / `matchHeaders` (source/common/http/header_utility.cc),
 * `ConfigUtility::QueryParameterMatcher` (source/common/router/config_utility.cc).
 */
import { boolField, isMessage, messageField, stringField } from '../config/proto-fields.ts';
import type { ProtoMessage, ProtoValue } from '../config/types.ts';
import type { HeaderMap } from '../http/types.ts';
import type { ProblemPath, ProblemSink } from './problems.ts';
import { Re2Regex } from './regex.ts';

// ---------------------------------------------------------------------------------------
// ASCII helpers

/** ASCII lower-case; the string itself when it has no upper-case letter. */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return lowerFrom(s, i);
  }
  return s;
}

function lowerFrom(s: string, from: number): string {
  let out = s.slice(0, from);
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

function lowerCode(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** Whether `s` has `lowerPrefix` (already lower-case) at `offset`, ignoring ASCII case. */
export function startsWithIgnoreCase(s: string, lowerPrefix: string, offset = 0): boolean {
  if (s.length - offset < lowerPrefix.length) return false;
  for (let i = 0; i < lowerPrefix.length; i++) {
    if (lowerCode(s.charCodeAt(offset + i)) !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

export function equalsIgnoreCase(s: string, lower: string): boolean {
  return s.length === lower.length && startsWithIgnoreCase(s, lower, 0);
}

// ---------------------------------------------------------------------------------------
// StringMatcher

const EXACT = 0;
const PREFIX = 1;
const SUFFIX = 2;
const CONTAINS = 3;
const REGEX = 4;

/** `envoy.type.matcher.v3.StringMatcher`. */
export class StringMatcher {
  private readonly kind: number;
  /** Lower-cased when `ignoreCase`. */
  private readonly value: string;
  private readonly ignoreCase: boolean;
  private readonly regex: Re2Regex | undefined;

  constructor(kind: number, value: string, ignoreCase: boolean, regex: Re2Regex | undefined) {
    this.kind = kind;
    this.ignoreCase = ignoreCase && kind !== REGEX;
    this.value = this.ignoreCase ? asciiLower(value) : value;
    this.regex = regex;
  }

  static exact(value: string, ignoreCase = false): StringMatcher {
    return new StringMatcher(EXACT, value, ignoreCase, undefined);
  }

  static prefix(value: string, ignoreCase = false): StringMatcher {
    return new StringMatcher(PREFIX, value, ignoreCase, undefined);
  }

  static suffix(value: string, ignoreCase = false): StringMatcher {
    return new StringMatcher(SUFFIX, value, ignoreCase, undefined);
  }

  static contains(value: string, ignoreCase = false): StringMatcher {
    return new StringMatcher(CONTAINS, value, ignoreCase, undefined);
  }

  static regex(regex: Re2Regex): StringMatcher {
    return new StringMatcher(REGEX, '', false, regex);
  }

  match(s: string): boolean {
    const v = this.value;
    switch (this.kind) {
      case EXACT:
        return this.ignoreCase ? equalsIgnoreCase(s, v) : s === v;
      case PREFIX:
        return this.ignoreCase ? startsWithIgnoreCase(s, v) : s.startsWith(v);
      case SUFFIX:
        return this.ignoreCase
          ? s.length >= v.length && startsWithIgnoreCase(s, v, s.length - v.length)
          : s.endsWith(v);
      case CONTAINS:
        return (this.ignoreCase ? asciiLower(s) : s).includes(v);
      default:
        return this.regex!.fullMatch(s);
    }
  }
}

/** A `RegexMatcher` message (`{ regex }`), compiled; reports a bad pattern. */
export function compileRegexMatcher(
  m: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
): Re2Regex | undefined {
  const regex = Re2Regex.compile(stringField(m, 'regex'));
  if (typeof regex === 'string') {
    sink.invalid([...path, 'regex'], regex);
    return undefined;
  }
  return regex;
}

/** A decoded `StringMatcher`; undefined (and a problem reported) when it cannot be used. */
export function compileStringMatcher(
  m: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
): StringMatcher | undefined {
  const ignoreCase = boolField(m, 'ignore_case');
  if (m['exact'] !== undefined) return StringMatcher.exact(stringField(m, 'exact'), ignoreCase);
  if (m['prefix'] !== undefined) return StringMatcher.prefix(stringField(m, 'prefix'), ignoreCase);
  if (m['suffix'] !== undefined) return StringMatcher.suffix(stringField(m, 'suffix'), ignoreCase);
  if (m['contains'] !== undefined) return StringMatcher.contains(stringField(m, 'contains'), ignoreCase);
  const safeRegex = messageField(m, 'safe_regex');
  if (safeRegex !== undefined) {
    const regex = compileRegexMatcher(safeRegex, [...path, 'safe_regex'], sink);
    return regex && StringMatcher.regex(regex);
  }
  if (m['custom'] !== undefined) {
    sink.unsupported([...path, 'custom'], 'custom string matcher extensions are not supported by Legate');
    return undefined;
  }
  sink.invalid(path, 'a string matcher needs one of exact, prefix, suffix, contains or safe_regex');
  return undefined;
}

// ---------------------------------------------------------------------------------------
// HeaderMatcher

/**
 * The values of a header as one string: undefined when absent, the value when there is
 * one, all values joined with ',' otherwise (Envoy's `getAllOfHeaderAsString`).
 */
export function headerValueJoined(headers: HeaderMap, name: string): string | undefined {
  const values = headers.getAll(name);
  if (values.length === 0) return undefined;
  if (values.length === 1) return values[0];
  return values.join(',');
}

const H_VALUE = 0; // deprecated exact_match: empty matches any value
const H_STRING = 1;
const H_RANGE = 2;
const H_PRESENT = 3;

/** absl::SimpleAtoi for int64: optional surrounding whitespace, an optional sign, digits. */
function parseInt64(s: string): bigint | undefined {
  let i = 0;
  let end = s.length;
  while (i < end && isAsciiSpace(s.charCodeAt(i))) i++;
  while (end > i && isAsciiSpace(s.charCodeAt(end - 1))) end--;
  if (i === end) return undefined;
  let j = i;
  if (s[j] === '+' || s[j] === '-') j++;
  if (j === end) return undefined;
  for (let k = j; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const n = BigInt(s.slice(i, end));
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** `envoy.config.route.v3.HeaderMatcher`. */
export class HeaderMatcher {
  /** Lower-case header name. */
  readonly name: string;
  private readonly kind: number;
  private readonly invert: boolean;
  private readonly treatMissingAsEmpty: boolean;
  private readonly exactValue: string;
  private readonly matcher: StringMatcher | undefined;
  private readonly rangeStart: bigint;
  private readonly rangeEnd: bigint;
  private readonly present: boolean;

  constructor(
    name: string,
    kind: number,
    options: {
      invert?: boolean;
      treatMissingAsEmpty?: boolean;
      exactValue?: string;
      matcher?: StringMatcher | undefined;
      range?: readonly [bigint, bigint];
      present?: boolean;
    },
  ) {
    this.name = asciiLower(name);
    this.kind = kind;
    this.invert = options.invert ?? false;
    this.treatMissingAsEmpty = options.treatMissingAsEmpty ?? false;
    this.exactValue = options.exactValue ?? '';
    this.matcher = options.matcher;
    this.rangeStart = options.range?.[0] ?? 0n;
    this.rangeEnd = options.range?.[1] ?? 0n;
    this.present = options.present ?? true;
  }

  matches(headers: HeaderMap): boolean {
    const value = headerValueJoined(headers, this.name);
    if (value === undefined && !this.treatMissingAsEmpty) {
      // A missing header fails every matcher, inverted or not, except a presence check.
      return this.kind === H_PRESENT && this.present === this.invert;
    }
    const v = value ?? '';
    let match: boolean;
    switch (this.kind) {
      case H_VALUE:
        match = this.exactValue === '' || v === this.exactValue;
        break;
      case H_STRING:
        match = this.matcher!.match(v);
        break;
      case H_RANGE: {
        const n = parseInt64(v);
        match = n !== undefined && n >= this.rangeStart && n < this.rangeEnd;
        break;
      }
      default:
        match = this.present;
    }
    return match !== this.invert;
  }
}

function int64Of(v: ProtoValue | undefined): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  return 0n;
}

/** A decoded `HeaderMatcher`; undefined (and a problem reported) when it cannot be used. */
export function compileHeaderMatcher(
  m: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
): HeaderMatcher | undefined {
  const name = stringField(m, 'name');
  const invert = boolField(m, 'invert_match');
  const treatMissingAsEmpty = boolField(m, 'treat_missing_header_as_empty');
  const base = { invert, treatMissingAsEmpty };
  const stringMatch = messageField(m, 'string_match');
  if (stringMatch !== undefined) {
    const matcher = compileStringMatcher(stringMatch, [...path, 'string_match'], sink);
    return matcher && new HeaderMatcher(name, H_STRING, { ...base, matcher });
  }
  if (m['exact_match'] !== undefined) {
    return new HeaderMatcher(name, H_VALUE, { ...base, exactValue: stringField(m, 'exact_match') });
  }
  const safeRegex = messageField(m, 'safe_regex_match');
  if (safeRegex !== undefined) {
    const regex = compileRegexMatcher(safeRegex, [...path, 'safe_regex_match'], sink);
    return regex && new HeaderMatcher(name, H_STRING, { ...base, matcher: StringMatcher.regex(regex) });
  }
  const range = messageField(m, 'range_match');
  if (range !== undefined) {
    const start = int64Of(range['start']);
    const end = int64Of(range['end']);
    return new HeaderMatcher(name, H_RANGE, { ...base, range: [start, end] });
  }
  if (m['present_match'] !== undefined) {
    return new HeaderMatcher(name, H_PRESENT, { ...base, present: boolField(m, 'present_match') });
  }
  if (m['prefix_match'] !== undefined) {
    const matcher = StringMatcher.prefix(stringField(m, 'prefix_match'));
    return new HeaderMatcher(name, H_STRING, { ...base, matcher });
  }
  if (m['suffix_match'] !== undefined) {
    const matcher = StringMatcher.suffix(stringField(m, 'suffix_match'));
    return new HeaderMatcher(name, H_STRING, { ...base, matcher });
  }
  if (m['contains_match'] !== undefined) {
    const matcher = StringMatcher.contains(stringField(m, 'contains_match'));
    return new HeaderMatcher(name, H_STRING, { ...base, matcher });
  }
  // No specifier: the header must be present (Envoy's default).
  return new HeaderMatcher(name, H_PRESENT, { ...base, present: true });
}

/** A list of decoded header matchers; those that failed to compile are left out (and reported). */
export function compileHeaderMatchers(
  list: readonly ProtoValue[] | undefined,
  path: ProblemPath,
  sink: ProblemSink,
): HeaderMatcher[] {
  const out: HeaderMatcher[] = [];
  (list ?? []).forEach((m, i) => {
    if (!isMessage(m)) return;
    const matcher = compileHeaderMatcher(m, [...path, i], sink);
    if (matcher !== undefined) out.push(matcher);
  });
  return out;
}

/** Every matcher matches (Envoy's `HeaderUtility::matchHeaders`); true for an empty list. */
export function matchAllHeaders(headers: HeaderMap, matchers: readonly HeaderMatcher[]): boolean {
  for (let i = 0; i < matchers.length; i++) {
    if (!matchers[i]!.matches(headers)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Query parameters

/**
 * The value of the first query parameter named `name` in `path`, undefined when there is
 * none; a parameter without '=' has the value ''. Not percent-decoded, and the query runs to
 * the end of the path, as Envoy's `Utility::parseQueryString` does for route matching.
 */
export function firstQueryParameter(path: string, name: string): string | undefined {
  let start = path.indexOf('?');
  if (start < 0) return undefined;
  start++;
  while (start < path.length) {
    let end = path.indexOf('&', start);
    if (end < 0) end = path.length;
    const eq = path.indexOf('=', start);
    if (eq >= 0 && eq < end) {
      if (eq - start === name.length && path.startsWith(name, start)) return path.slice(eq + 1, end);
    } else if (end - start === name.length && path.startsWith(name, start)) {
      return '';
    }
    start = end + 1;
  }
  return undefined;
}

/** `envoy.config.route.v3.QueryParameterMatcher`: the first value only, as Envoy does. */
export class QueryParameterMatcher {
  readonly name: string;
  /** Undefined: a presence match. */
  private readonly matcher: StringMatcher | undefined;

  constructor(name: string, matcher: StringMatcher | undefined) {
    this.name = name;
    this.matcher = matcher;
  }

  matches(path: string): boolean {
    const value = firstQueryParameter(path, this.name);
    if (value === undefined) return false;
    return this.matcher === undefined || this.matcher.match(value);
  }
}

export function compileQueryParameterMatcher(
  m: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
): QueryParameterMatcher | undefined {
  const name = stringField(m, 'name');
  const stringMatch = messageField(m, 'string_match');
  if (stringMatch !== undefined) {
    const matcher = compileStringMatcher(stringMatch, [...path, 'string_match'], sink);
    return matcher && new QueryParameterMatcher(name, matcher);
  }
  // present_match, or nothing: the parameter must be present.
  return new QueryParameterMatcher(name, undefined);
}
