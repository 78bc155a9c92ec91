/**
 * protoc-gen-validate rules, enforced on decoded config values.
 *
 * Main thread, during config decoding (`proto-json.ts` calls in here for every field of
 * every message it decodes). The rules are read from the `(validate.rules)`,
 * `(validate.required)` and `(validate.disabled)` options Envoy's protos carry, so what
 * Envoy rejects with "Proto constraint validation failed" is rejected here, phrased for
 * a person. Envoy counterpart: the PGV-generated `Validate()` methods, called by
 * `MessageUtil::validate`.
 */
import { Buffer } from 'node:buffer';
import { isIPv4, isIPv6 } from 'node:net';
import type { IssueSink, PathStep } from './errors.ts';
import type { ProtoValue } from './types.ts';

export type Rules = Record<string, unknown>;

const NUMERIC_KINDS = new Set([
  'float',
  'double',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
]);

function rec(v: unknown): Rules | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rules) : undefined;
}

function list(v: unknown): unknown[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function num(v: unknown): number | bigint | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v !== null && typeof v === 'object' && 'low' in v && 'high' in v) {
    // protobufjs Long for 64-bit option values
    const long = v as { low: number; high: number; unsigned?: boolean };
    const hi = BigInt(long.high >>> 0) << 32n;
    const big = hi | BigInt(long.low >>> 0);
    return long.unsigned ? big : BigInt.asIntN(64, big);
  }
  return undefined;
}

function cmp(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = typeof a === 'bigint' ? a : BigInt(Math.trunc(a));
    const y = typeof b === 'bigint' ? b : BigInt(Math.trunc(b));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks the numeric range rules (`gt`, `gte`, `lt`, `lte`, `const`, `in`, `not_in`) of PGV. */
function checkRange(
  r: Rules,
  value: number | bigint,
  show: (v: number | bigint) => string,
  step: PathStep | undefined,
  sink: IssueSink,
): void {
  const constant = num(r['const']);
  if (constant !== undefined && cmp(value, constant) !== 0) {
    sink.error(step, `value must equal ${show(constant)}, got ${show(value)}`);
    return;
  }
  const gt = num(r['gt']);
  const gte = num(r['gte']);
  const lt = num(r['lt']);
  const lte = num(r['lte']);
  const lower = gt !== undefined ? cmp(value, gt) > 0 : gte !== undefined ? cmp(value, gte) >= 0 : true;
  const upper = lt !== undefined ? cmp(value, lt) < 0 : lte !== undefined ? cmp(value, lte) <= 0 : true;
  const low =
    gt !== undefined ? `greater than ${show(gt)}` : gte !== undefined ? `at least ${show(gte)}` : '';
  const high = lt !== undefined ? `less than ${show(lt)}` : lte !== undefined ? `at most ${show(lte)}` : '';
  // PGV: when lower > upper the range is exclusive (value outside [upper, lower]).
  const exclusive =
    (gt ?? gte) !== undefined && (lt ?? lte) !== undefined && cmp((gt ?? gte)!, (lt ?? lte)!) > 0;
  const ok = exclusive ? lower || upper : lower && upper;
  if (!ok) {
    const want = exclusive ? `${low} or ${high}` : [low, high].filter((s) => s !== '').join(' and ');
    sink.error(step, `value must be ${want}, got ${show(value)}`);
  }
  const inList = list(r['in']).map(num);
  if (inList.length > 0 && !inList.some((x) => x !== undefined && cmp(value, x) === 0)) {
    sink.error(
      step,
      `value must be one of ${inList.map((x) => (x === undefined ? '?' : show(x))).join(', ')}`,
    );
  }
  const notIn = list(r['not_in']).map(num);
  if (notIn.some((x) => x !== undefined && cmp(value, x) === 0)) {
    sink.error(step, `value must not be ${show(value)}`);
  }
}

/** Nanoseconds as a proto3 Duration string: 1000000n -> "0.001s", 1n -> "0.000000001s". */
function durationShow(v: number | bigint): string {
  const n = BigInt(v);
  const sign = n < 0n ? '-' : '';
  const abs = n < 0n ? -n : n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${sign}${abs / 1_000_000_000n}${frac === '' ? '' : `.${frac}`}s`;
}

function durationNanos(v: unknown): bigint | undefined {
  const r = rec(v);
  if (r === undefined) return undefined;
  const seconds = num(r['seconds']) ?? 0;
  const nanos = num(r['nanos']) ?? 0;
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

const HEADER_NAME_RE = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
const HEADER_VALUE_RE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
const LOOSE_HEADER_RE = /^[^\u0000\u000A\u000D]*$/;

function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = (s.endsWith('.') ? s.slice(0, -1) : s).split('.');
  return labels.every((l) => /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(l));
}

function checkString(r: Rules, value: string, step: PathStep | undefined, sink: IssueSink): void {
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  const chars = [...value].length;
  const constant = r['const'];
  if (typeof constant === 'string' && value !== constant)
    sink.error(step, `value must equal ${JSON.stringify(constant)}`);
  const len = num(r['len']);
  if (len !== undefined && chars !== Number(len))
    sink.error(step, `value must be exactly ${len} characters long`);
  const minLen = num(r['min_len']);
  if (minLen !== undefined && chars < Number(minLen)) {
    sink.error(
      step,
      Number(minLen) === 1
        ? 'value is required and must not be empty'
        : `value must be at least ${minLen} characters long`,
    );
  }
  const maxLen = num(r['max_len']);
  if (maxLen !== undefined && chars > Number(maxLen))
    sink.error(step, `value must be at most ${maxLen} characters long`);
  const bytes = Buffer.byteLength(value);
  const minBytes = num(r['min_bytes']);
  if (minBytes !== undefined && bytes < Number(minBytes))
    sink.error(step, `value must be at least ${minBytes} bytes long`);
  const maxBytes = num(r['max_bytes']);
  if (maxBytes !== undefined && bytes > Number(maxBytes))
    sink.error(step, `value must be at most ${maxBytes} bytes long`);
  const pattern = r['pattern'];
  if (typeof pattern === 'string' && !compilePattern(pattern).test(value)) {
    sink.error(step, `value ${shown} does not match the pattern ${pattern}`);
  }
  const prefix = r['prefix'];
  if (typeof prefix === 'string' && !value.startsWith(prefix))
    sink.error(step, `value must start with ${JSON.stringify(prefix)}`);
  const suffix = r['suffix'];
  if (typeof suffix === 'string' && !value.endsWith(suffix))
    sink.error(step, `value must end with ${JSON.stringify(suffix)}`);
  const contains = r['contains'];
  if (typeof contains === 'string' && !value.includes(contains))
    sink.error(step, `value must contain ${JSON.stringify(contains)}`);
  const notContains = r['not_contains'];
  if (typeof notContains === 'string' && value.includes(notContains)) {
    sink.error(step, `value must not contain ${JSON.stringify(notContains)}`);
  }
  const inList = list(r['in']);
  if (inList.length > 0 && !inList.includes(value))
    sink.error(step, `value must be one of ${inList.map((v) => JSON.stringify(v)).join(', ')}`);
  if (list(r['not_in']).includes(value)) sink.error(step, `value ${shown} is not allowed`);
  const strict = r['strict'] !== false;
  switch (r['well_known_regex']) {
    case 'HTTP_HEADER_NAME':
    case 1:
      if (!(strict ? HEADER_NAME_RE : LOOSE_HEADER_RE).test(value))
        sink.error(step, `value ${shown} is not a valid HTTP header name`);
      break;
    case 'HTTP_HEADER_VALUE':
    case 2:
      if (!(strict ? HEADER_VALUE_RE : LOOSE_HEADER_RE).test(value))
        sink.error(step, `value ${shown} is not a valid HTTP header value`);
      break;
    default:
      break;
  }
  if (r['ip'] === true && !isIPv4(value) && !isIPv6(value))
    sink.error(step, `value ${shown} is not a valid IP address`);
  if (r['ipv4'] === true && !isIPv4(value)) sink.error(step, `value ${shown} is not a valid IPv4 address`);
  if (r['ipv6'] === true && !isIPv6(value)) sink.error(step, `value ${shown} is not a valid IPv6 address`);
  if (r['hostname'] === true && !isHostname(value))
    sink.error(step, `value ${shown} is not a valid hostname`);
  if (r['address'] === true && !isHostname(value) && !isIPv4(value) && !isIPv6(value)) {
    sink.error(step, `value ${shown} is not a valid hostname or IP address`);
  }
  if (r['uri'] === true && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(value))
    sink.error(step, `value ${shown} is not an absolute URI`);
  if (r['email'] === true && !/^[^@\s]+@[^@\s]+$/.test(value))
    sink.error(step, `value ${shown} is not an email address`);
  if (
    r['uuid'] === true &&
    !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value)
  ) {
    sink.error(step, `value ${shown} is not a UUID`);
  }
}

const patternCache = new Map<string, RegExp>();

/** PGV patterns are RE2 syntax; the ones Envoy uses are also valid JavaScript (schema-side only). */
function compilePattern(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    re = new RegExp(pattern, 'u');
    patternCache.set(pattern, re);
  }
  return re;
}

export interface FieldShape {
  /** protobuf scalar type name, or 'enum' / 'message' */
  readonly kind: string;
  /** Full name of the message type for message fields. */
  readonly messageType: string | undefined;
  readonly repeated: boolean;
  readonly map: boolean;
  /** Enum value numbers, for `defined_only`. */
  readonly enumNumbers: ReadonlyMap<string, number> | undefined;
}

const WRAPPER_KINDS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

/** Scalar kind a wrapper type is written as, or undefined if the type is not a wrapper. */
export function wrapperKind(messageType: string | undefined): string | undefined {
  return messageType === undefined ? undefined : WRAPPER_KINDS[messageType];
}

/**
 * Validates one field. `value` is undefined when the field is absent; `implicit` is true
 * for proto3 scalars without presence, whose default value PGV checks as if written.
 */
export function validateField(
  shape: FieldShape,
  rules: Rules | undefined,
  value: ProtoValue | undefined,
  implicit: boolean,
  step: PathStep | undefined,
  sink: IssueSink,
): void {
  if (rules === undefined) return;
  if (shape.map) {
    validateMap(shape, rules, value, step, sink);
    return;
  }
  if (shape.repeated) {
    validateRepeated(shape, rules, value, step, sink);
    return;
  }
  validateSingle(shape, rules, value, implicit, step, sink);
}

function validateRepeated(
  shape: FieldShape,
  rules: Rules,
  value: ProtoValue | undefined,
  step: PathStep | undefined,
  sink: IssueSink,
): void {
  const r = rec(rules['repeated']);
  if (r === undefined) return;
  const items = Array.isArray(value) ? value : [];
  const min = num(r['min_items']);
  if (min !== undefined && items.length < Number(min)) {
    sink.error(
      step,
      Number(min) === 1
        ? 'at least one entry is required'
        : `at least ${min} entries are required, got ${items.length}`,
    );
  }
  const max = num(r['max_items']);
  if (max !== undefined && items.length > Number(max))
    sink.error(step, `at most ${max} entries are allowed, got ${items.length}`);
  if (r['unique'] === true) {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const key = JSON.stringify(item, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
      if (seen.has(key)) sink.error(indexOf(step, i), `duplicate entry ${key}; entries must be unique`);
      seen.add(key);
    });
  }
  const itemRules = rec(r['items']);
  if (itemRules !== undefined) {
    const single: FieldShape = { ...shape, repeated: false };
    items.forEach((item, i) => {
      validateSingle(single, itemRules, item, false, indexOf(step, i), sink);
    });
  }
}

function validateMap(
  shape: FieldShape,
  rules: Rules,
  value: ProtoValue | undefined,
  step: PathStep | undefined,
  sink: IssueSink,
): void {
  const r = rec(rules['map']);
  if (r === undefined) return;
  const entries = rec(value) ?? {};
  const size = Object.keys(entries).length;
  const min = num(r['min_pairs']);
  if (min !== undefined && size < Number(min))
    sink.error(step, `at least ${min} entries are required, got ${size}`);
  const max = num(r['max_pairs']);
  if (max !== undefined && size > Number(max))
    sink.error(step, `at most ${max} entries are allowed, got ${size}`);
  const keyRules = rec(r['keys']);
  const valueRules = rec(r['values']);
  const single: FieldShape = { ...shape, map: false, repeated: false };
  for (const [k, v] of Object.entries(entries)) {
    const at: PathStep = { parent: step, kind: 'key', name: k, source: k };
    if (keyRules !== undefined) {
      const keyShape: FieldShape = {
        kind: 'string',
        messageType: undefined,
        repeated: false,
        map: false,
        enumNumbers: undefined,
      };
      validateSingle(keyShape, keyRules, k, false, at, sink);
    }
    if (valueRules !== undefined) validateSingle(single, valueRules, v as ProtoValue, false, at, sink);
  }
}

function indexOf(step: PathStep | undefined, i: number): PathStep {
  return { parent: step, kind: 'index', name: i, source: i };
}

function validateSingle(
  shape: FieldShape,
  rules: Rules,
  value: ProtoValue | undefined,
  implicit: boolean,
  step: PathStep | undefined,
  sink: IssueSink,
): void {
  const messageRules = rec(rules['message']);
  if (messageRules?.['skip'] === true) return;
  if (shape.kind === 'message') {
    const t = shape.messageType;
    if (value === undefined) {
      const required =
        messageRules?.['required'] === true ||
        rec(rules['duration'])?.['required'] === true ||
        rec(rules['timestamp'])?.['required'] === true ||
        rec(rules['any'])?.['required'] === true;
      if (required) sink.error(step, 'value is required');
      return;
    }
    const wrapped = wrapperKind(t);
    if (wrapped !== undefined) {
      checkScalar(wrapped, rules, value, step, sink);
      return;
    }
    if (t === 'google.protobuf.Duration') {
      const d = rec(rules['duration']);
      const nanos = durationNanos(value);
      if (d !== undefined && nanos !== undefined) {
        const norm: Rules = {};
        for (const k of ['const', 'gt', 'gte', 'lt', 'lte']) {
          const bound = durationNanos(d[k]);
          if (bound !== undefined) norm[k] = bound;
        }
        const inList = list(d['in'])
          .map(durationNanos)
          .filter((x) => x !== undefined);
        if (inList.length > 0) norm['in'] = inList;
        const notIn = list(d['not_in'])
          .map(durationNanos)
          .filter((x) => x !== undefined);
        if (notIn.length > 0) norm['not_in'] = notIn;
        checkRange(norm, nanos, durationShow, step, sink);
      }
      return;
    }
    if (t === 'google.protobuf.Any') {
      const a = rec(rules['any']);
      const url = rec(value)?.['@type'];
      if (a !== undefined && typeof url === 'string') {
        const inList = list(a['in']);
        if (inList.length > 0 && !inList.includes(url))
          sink.error(step, `type ${url} is not allowed here; expected one of ${inList.join(', ')}`);
        if (list(a['not_in']).includes(url)) sink.error(step, `type ${url} is not allowed here`);
      }
    }
    return;
  }
  if (value === undefined && !implicit) return;
  checkScalar(shape.kind, rules, value ?? defaultFor(shape), step, sink, shape.enumNumbers);
}

function defaultFor(shape: FieldShape): ProtoValue {
  if (shape.kind === 'string') return '';
  if (shape.kind === 'bool') return false;
  if (shape.kind === 'bytes') return new Uint8Array(0);
  if (shape.kind === 'enum') return 0;
  return 0;
}

function checkScalar(
  kind: string,
  rules: Rules,
  value: ProtoValue,
  step: PathStep | undefined,
  sink: IssueSink,
  enumNumbers?: ReadonlyMap<string, number>,
): void {
  if (kind === 'enum') {
    const r = rec(rules['enum']);
    if (r === undefined) return;
    const n =
      typeof value === 'string' ? enumNumbers?.get(value) : typeof value === 'number' ? value : undefined;
    if (r['defined_only'] === true && (n === undefined || ![...(enumNumbers?.values() ?? [])].includes(n))) {
      sink.error(
        step,
        `value ${String(value)} is not a defined enum value; expected one of ${[...(enumNumbers?.keys() ?? [])].join(', ')}`,
      );
    }
    if (n !== undefined) checkRange(r, n, (v) => String(v), step, sink);
    return;
  }
  if (NUMERIC_KINDS.has(kind)) {
    const r = rec(rules[kind]);
    const n = typeof value === 'number' || typeof value === 'bigint' ? value : undefined;
    if (r !== undefined && n !== undefined) checkRange(r, n, (v) => String(v), step, sink);
    return;
  }
  if (kind === 'string') {
    const r = rec(rules['string']);
    if (r !== undefined && typeof value === 'string') checkString(r, value, step, sink);
    return;
  }
  if (kind === 'bool') {
    const r = rec(rules['bool']);
    if (r !== undefined && typeof r['const'] === 'boolean' && value !== r['const'])
      sink.error(step, `value must be ${r['const']}`);
    return;
  }
  if (kind === 'bytes') {
    const r = rec(rules['bytes']);
    if (r !== undefined && value instanceof Uint8Array) {
      const min = num(r['min_len']);
      if (min !== undefined && value.length < Number(min))
        sink.error(step, `value must be at least ${min} bytes long`);
      const max = num(r['max_len']);
      if (max !== undefined && value.length > Number(max))
        sink.error(step, `value must be at most ${max} bytes long`);
    }
  }
}
