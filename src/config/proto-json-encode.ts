/**
 * Decoded Envoy v3 message -> proto3 JSON, as Envoy prints it on its admin endpoints; and
 * FieldMask trimming of decoded messages.
 *
 * Main thread (the admin's `/config_dump`, `/init_dump`, ...). The inverse of
 * `proto-json.ts`: walks a decoded `ProtoMessage` beside its reflected type and prints it
 * the way protobuf's JSON printer does with Envoy's admin options (proto field names,
 * `preserve_proto_field_names`): fields in declaration order; proto3 scalars without
 * presence left out at their default value; 64-bit integers as strings; enums by name;
 * bytes as base64; Duration as `"1.500s"`, Timestamp as RFC 3339, FieldMask as its
 * comma-separated lowerCamelCase paths, wrappers as their value, Struct/Value as plain
 * JSON and an Any as its message's fields beside `"@type"` (a well-known type inside an
 * Any as `{"@type", "value"}`). With `redact`, fields annotated
 * `(udpa.annotations.sensitive)` and everything below them are redacted as Envoy's
 * `MessageUtil::redact` does: strings and bytes become `[redacted]`, other scalars are
 * cleared. The output fed back through the decoder gives the same message.
 *
 * Envoy counterpart: `MessageUtil::getJsonStringFromMessage` and `MessageUtil::redact`
 * (source/common/protobuf/utility.cc); `ProtobufUtil::FieldMaskUtil::TrimMessage` and the
 * admin's `trimResourceMessage` (which sees through an Any) for the masks.
 */
import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs';
import { isMessage } from './proto-fields.ts';
import type { ProtoSchema, Type } from './proto-schema.ts';
import { fullName, jsonNameOf, optionsOf } from './proto-schema.ts';
import type { ProtoMessage, ProtoValue } from './types.ts';
import { wrapperKind } from './validate.ts';

export const REDACTED = '[redacted]';

/** A JSON value as `JSON.stringify` prints it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface EncodeOptions {
  /** Redact `(udpa.annotations.sensitive)` fields as Envoy's admin does. */
  readonly redact?: boolean;
}

const INT64_KINDS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

const JSON_FORM_TYPES = new Set([
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.Empty',
]);

const ANY = 'google.protobuf.Any';

interface FieldView {
  readonly name: string;
  readonly kind: 'message' | 'enum' | string;
  readonly messageType: Type | undefined;
  readonly enumType: protobuf.Enum | undefined;
  readonly repeated: boolean;
  readonly map: boolean;
  /** A proto3 scalar without presence: left out at its default value. */
  readonly implicit: boolean;
  readonly sensitive: boolean;
}

const fieldViews = new WeakMap<Type, readonly FieldView[]>();

function viewOf(type: Type): readonly FieldView[] {
  let views = fieldViews.get(type);
  if (views !== undefined) return views;
  views = type.fieldsArray.map((field) => {
    field.resolve();
    const resolved = field.resolvedType;
    const map = field instanceof protobuf.MapField;
    const kind =
      resolved instanceof protobuf.Type ? 'message' : resolved instanceof protobuf.Enum ? 'enum' : field.type;
    return {
      name: field.name,
      kind,
      messageType: resolved instanceof protobuf.Type ? resolved : undefined,
      enumType: resolved instanceof protobuf.Enum ? resolved : undefined,
      repeated: field.repeated,
      map,
      implicit: !field.repeated && !map && kind !== 'message' && field.partOf === null,
      sensitive: optionsOf(field)['(udpa.annotations.sensitive)'] === true,
    };
  });
  fieldViews.set(type, views);
  return views;
}

function fieldOf(type: Type, name: string): FieldView | undefined {
  return viewOf(type).find((f) => f.name === name);
}

/** Prints decoded messages of one schema as Envoy's admin does. */
export class ProtoJsonEncoder {
  private readonly schema: ProtoSchema;
  private readonly redact: boolean;

  constructor(schema: ProtoSchema, options: EncodeOptions = {}) {
    this.schema = schema;
    this.redact = options.redact ?? false;
  }

  /** `msg`, a decoded `typeName` (full name or type URL), as a JSON value. */
  encode(typeName: string, msg: ProtoMessage): JsonValue {
    return this.encodeMessageValue(this.typeNamed(typeName), msg, false);
  }

  /** A decoded Any (`{ '@type': url, ...fields }`) as a JSON value. */
  encodeAny(any: ProtoMessage): JsonValue {
    return this.encodeAnyValue(any, false);
  }

  private typeNamed(name: string): Type {
    const type = this.schema.lookupMessage(name);
    if (type === undefined) throw new Error(`bug: message type ${name} is not in the schema`);
    return type;
  }

  private encodeMessageValue(type: Type, value: ProtoValue, sensitive: boolean): JsonValue {
    const name = fullName(type);
    const wrapped = wrapperKind(name);
    if (wrapped !== undefined) return this.encodeScalar(wrapped, value, sensitive) ?? null;
    if (name === ANY) return this.encodeAnyValue(value as ProtoMessage, sensitive);
    if (JSON_FORM_TYPES.has(name)) return encodeWellKnown(name, value, sensitive && this.redact);
    return this.encodeMessage(type, value as ProtoMessage, sensitive);
  }

  private encodeAnyValue(any: ProtoMessage, sensitive: boolean): JsonValue {
    const url = any['@type'];
    if (typeof url !== 'string') throw new Error('bug: a decoded Any without its @type');
    const inner = this.typeNamed(url);
    const name = fullName(inner);
    if (JSON_FORM_TYPES.has(name) || wrapperKind(name) !== undefined || name === ANY) {
      return { '@type': url, value: this.encodeMessageValue(inner, any['value'] ?? null, sensitive) };
    }
    const body = this.encodeMessage(inner, any, sensitive);
    return { '@type': url, ...(body as Record<string, JsonValue>) };
  }

  private encodeMessage(type: Type, msg: ProtoMessage, ancestorSensitive: boolean): JsonValue {
    const out: Record<string, JsonValue> = {};
    for (const f of viewOf(type)) {
      const value = msg[f.name];
      if (value === undefined) continue;
      const sensitive = this.redact && (ancestorSensitive || f.sensitive);
      if (f.map) {
        if (!isMessage(value)) continue;
        const entries: Record<string, JsonValue> = {};
        for (const [k, v] of Object.entries(value)) {
          if (v === undefined) continue;
          const encoded = this.encodeSingle(f, v, sensitive);
          if (encoded !== undefined) entries[k] = encoded;
        }
        if (Object.keys(entries).length > 0) out[f.name] = entries;
      } else if (f.repeated) {
        if (!Array.isArray(value)) continue;
        const items = value
          .map((v) => this.encodeSingle(f, v, sensitive))
          .filter((v): v is JsonValue => v !== undefined);
        if (items.length > 0) out[f.name] = items;
      } else {
        if (f.implicit && isDefault(f, value)) continue;
        const encoded = this.encodeSingle(f, value, sensitive);
        if (encoded !== undefined) out[f.name] = encoded;
      }
    }
    return out;
  }

  /** One value of a field; undefined when redaction clears it. */
  private encodeSingle(f: FieldView, value: ProtoValue, sensitive: boolean): JsonValue | undefined {
    if (f.messageType !== undefined) return this.encodeMessageValue(f.messageType, value, sensitive);
    if (f.enumType !== undefined) {
      if (sensitive) return undefined;
      return typeof value === 'number' ? value : String(value);
    }
    return this.encodeScalar(f.kind, value, sensitive);
  }

  private encodeScalar(kind: string, value: ProtoValue, sensitive: boolean): JsonValue | undefined {
    if (sensitive) {
      if (kind === 'string') return REDACTED;
      if (kind === 'bytes') return Buffer.from(REDACTED).toString('base64');
      return undefined;
    }
    if (INT64_KINDS.has(kind)) return String(value);
    switch (kind) {
      case 'double':
      case 'float': {
        const n = Number(value);
        if (Number.isNaN(n)) return 'NaN';
        if (n === Number.POSITIVE_INFINITY) return 'Infinity';
        if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
        return n;
      }
      case 'bytes':
        return Buffer.from(value as Uint8Array).toString('base64');
      case 'bool':
        return Boolean(value);
      case 'string':
        return String(value);
      default:
        return typeof value === 'bigint' ? String(value) : Number(value);
    }
  }
}

function isDefault(f: FieldView, value: ProtoValue): boolean {
  if (f.enumType !== undefined)
    return value === 0 || (typeof value === 'string' && f.enumType.values[value] === 0);
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'bigint') return value === 0n;
  return value === 0 || value === '' || value === false;
}

function encodeWellKnown(name: string, value: ProtoValue, redacting: boolean): JsonValue {
  const m = value as ProtoMessage;
  switch (name) {
    case 'google.protobuf.Duration':
      return formatDuration(Number(m['seconds'] ?? 0), Number(m['nanos'] ?? 0));
    case 'google.protobuf.Timestamp':
      return formatTimestamp(Number(m['seconds'] ?? 0), Number(m['nanos'] ?? 0));
    case 'google.protobuf.FieldMask': {
      const paths = Array.isArray(m['paths']) ? (m['paths'] as string[]) : [];
      return paths.map((p) => p.split('.').map(jsonNameOf).join('.')).join(',');
    }
    case 'google.protobuf.Empty':
      return {};
    default:
      // Struct, Value, ListValue: already plain JSON.
      return plainJson(value, redacting);
  }
}

function plainJson(value: ProtoValue | undefined, redacting: boolean): JsonValue {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map((v) => plainJson(v, redacting));
  if (isMessage(value)) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plainJson(v, redacting);
    return out;
  }
  if (redacting) return typeof value === 'string' ? REDACTED : null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** Nanoseconds as protobuf prints them: no fraction, or 3, 6 or 9 digits. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(Math.abs(nanos)).padStart(9, '0');
  if (digits.endsWith('000000')) return `.${digits.slice(0, 3)}`;
  if (digits.endsWith('000')) return `.${digits.slice(0, 6)}`;
  return `.${digits}`;
}

/** `{ seconds: 1, nanos: 500000000 }` -> `"1.500s"`. */
export function formatDuration(seconds: number, nanos: number): string {
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(nanos)}s`;
}

/** `{ seconds, nanos }` since the epoch -> `"2024-01-02T03:04:05.678Z"`. */
export function formatTimestamp(seconds: number, nanos: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

/** Milliseconds since the epoch as a decoded Timestamp. */
export function timestampOf(ms: number): ProtoMessage {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

// ---------------------------------------------------------------------------------------
// FieldMask

/** A FieldMask's paths as a tree of field names; an empty node keeps the whole field. */
export interface MaskTree {
  readonly [field: string]: MaskTree;
}

/**
 * Parses a FieldMask as the admin's `?mask=` gives it (`a.b,c`); lowerCamelCase segments
 * are taken as their snake_case field names. A path covering another keeps the shorter.
 */
export function parseFieldMask(mask: string): { tree: MaskTree; paths: string[][] } {
  const paths = mask
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => p.split('.').map((s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)));
  type Node = Record<string, unknown>;
  const tree: Node = {};
  const leaves = new WeakSet<Node>();
  for (const path of [...paths].sort((a, b) => a.length - b.length)) {
    let node = tree;
    for (const segment of path) {
      if (leaves.has(node)) break;
      node[segment] ??= {};
      node = node[segment] as Node;
    }
    if (node !== tree && !leaves.has(node)) {
      for (const k of Object.keys(node)) delete node[k];
      leaves.add(node);
    }
  }
  return { tree: tree as MaskTree, paths };
}

/**
 * Whether every path names fields of `typeName`, going down only through singular
 * messages (an Any by the type it holds in `msg`): protobuf's `GetFieldDescriptors`, with
 * the admin's look through an Any.
 */
export function maskFitsMessage(
  schema: ProtoSchema,
  typeName: string,
  msg: ProtoMessage,
  paths: readonly string[][],
): boolean {
  return paths.every((path) => {
    let type: Type | undefined = schema.lookupMessage(typeName);
    let value: ProtoValue | undefined = msg;
    for (const [i, segment] of path.entries()) {
      if (type === undefined) return false;
      if (fullName(type) === ANY) {
        const url = isMessage(value) ? value['@type'] : undefined;
        type = typeof url === 'string' ? schema.lookupMessage(url) : undefined;
        if (type === undefined) return false;
      }
      const f = fieldOf(type, segment);
      if (f === undefined) return false;
      if (i === path.length - 1) return true;
      if (f.messageType === undefined || f.repeated || f.map) return false;
      type = f.messageType;
      value = isMessage(value) ? value[segment] : undefined;
    }
    return true;
  });
}

/**
 * `msg` (a decoded `typeName`) keeping only the fields `tree` names, as FieldMask trimming
 * does; an Any is trimmed inside, by the type it holds, and keeps its `@type`. A path
 * cannot index into a repeated field or a map: naming one keeps it whole.
 */
export function trimMessage(
  schema: ProtoSchema,
  typeName: string,
  msg: ProtoMessage,
  tree: MaskTree,
): ProtoMessage {
  const type = schema.lookupMessage(typeName);
  if (type === undefined) throw new Error(`bug: message type ${typeName} is not in the schema`);
  return trimWithType(schema, type, msg, tree);
}

function trimWithType(schema: ProtoSchema, type: Type, msg: ProtoMessage, tree: MaskTree): ProtoMessage {
  if (fullName(type) === ANY) {
    const url = msg['@type'];
    const inner = typeof url === 'string' ? schema.lookupMessage(url) : undefined;
    if (inner === undefined) return {};
    return { '@type': url as string, ...trimWithType(schema, inner, msg, tree) };
  }
  const out: ProtoMessage = {};
  for (const f of viewOf(type)) {
    const sub = tree[f.name];
    const value = msg[f.name];
    if (sub === undefined || value === undefined) continue;
    const singularMessage =
      f.messageType !== undefined &&
      !f.repeated &&
      !f.map &&
      isMessage(value) &&
      !JSON_FORM_TYPES.has(fullName(f.messageType)) &&
      wrapperKind(fullName(f.messageType)) === undefined;
    out[f.name] =
      Object.keys(sub).length > 0 && singularMessage
        ? trimWithType(schema, f.messageType as Type, value as ProtoMessage, sub)
        : value;
  }
  return out;
}

/** What `field` of message `typeName` is, for the admin's `?resource=` (undefined: no such field). */
export function describeField(
  schema: ProtoSchema,
  typeName: string,
  field: string,
): { readonly repeated: boolean; readonly messageType: string | undefined } | undefined {
  const type = schema.lookupMessage(typeName);
  const f = type === undefined ? undefined : fieldOf(type, field);
  if (f === undefined) return undefined;
  return {
    repeated: f.repeated && !f.map,
    messageType: f.messageType === undefined ? undefined : fullName(f.messageType),
  };
}
