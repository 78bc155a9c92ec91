/**
 * proto3-JSON (and YAML, its superset) -> decoded Envoy v3 message, strict, with paths.
 *
 * Main thread. Walks the JSON value beside the reflected message type: unknown fields,
 * wrong types, unknown enum names, unresolvable `@type`s and oneof conflicts are errors
 * naming the full field path; protoc-gen-validate rules are checked field by field
 * (`validate.ts`); deprecated fields warn and `disallowed_by_default` ones fail, as in
 * Envoy. Every problem is collected, none stops the walk. Along the way it records the
 * places that name an extension (`name` + `typed_config` messages, per-filter maps and
 * other `Any` fields) for the extension resolver.
 *
 * Envoy's leniencies are kept: lowerCamelCase or snake_case field names; a single mapping
 * where a list belongs; wrapper types and 64-bit integers as plain values or strings.
 *
 * Envoy counterpart: `MessageUtil::loadFromJson` / `loadFromYaml` (protobuf's
 * JsonStringToMessage) followed by `MessageUtil::validate`.
 */
import { Buffer } from 'node:buffer';
import protobuf from 'protobufjs';
import type { PathStep } from './errors.ts';
import { fieldStep, type IssueSink, indexStep, keyStep } from './errors.ts';
import type { ProtoSchema, Type } from './proto-schema.ts';
import { fullName, jsonNameOf, optionsOf } from './proto-schema.ts';
import type { ProtoMessage, ProtoValue } from './types.ts';
import { type FieldShape, type Rules, validateField, wrapperKind } from './validate.ts';

/** A place in the config that names an extension, recorded in post-order (inner first). */
export interface ExtensionPoint {
  /** Envoy's extension category if the place fixes one (`envoy.filters.http`). */
  readonly category: string | undefined;
  /** The extension name given beside the config (`name:` or the map key). */
  readonly name: string | undefined;
  /** The decoded `Any` (with its `@type`), or undefined when only a name was given. */
  readonly typedConfig: ProtoMessage | undefined;
  /** The message holding the extension (a `HttpFilter`, a `TransportSocket`, ...) or the map entry. */
  readonly owner: ProtoMessage;
  readonly step: PathStep | undefined;
  readonly configStep: PathStep | undefined;
  /** `is_optional: true` on an HTTP filter: Envoy skips it when it lacks the extension. */
  readonly optional: boolean;
  readonly perRoute: boolean;
}

interface FieldInfo {
  readonly name: string;
  readonly jsonName: string;
  readonly shape: FieldShape;
  readonly resolved: Type | protobuf.Enum | null;
  readonly keyType: string | undefined;
  readonly rules: Rules | undefined;
  readonly deprecated: boolean;
  readonly disallowed: boolean;
  /** Name of the real oneof the field belongs to. */
  readonly oneof: string | undefined;
  /** True for proto3 scalars without presence (PGV checks their default value). */
  readonly implicit: boolean;
}

interface TypeInfo {
  readonly name: string;
  readonly fields: readonly FieldInfo[];
  readonly byKey: ReadonlyMap<string, FieldInfo>;
  readonly requiredOneofs: readonly { name: string; fields: readonly string[] }[];
  readonly validationDisabled: boolean;
  /** A `name` + `typed_config` message: an extension is configured here. */
  readonly namedExtension: boolean;
}

export interface DecodeOptions {
  /** `--allow-unknown-static-fields`: unknown fields warn instead of failing. */
  readonly allowUnknownFields?: boolean;
}

const WELL_KNOWN_JSON = new Set([
  'google.protobuf.Duration',
  'google.protobuf.Timestamp',
  'google.protobuf.FieldMask',
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.Any',
  'google.protobuf.Empty',
]);

const TYPED_STRUCTS = new Set(['xds.type.v3.TypedStruct', 'udpa.type.v1.TypedStruct']);

/** Extension categories fixed by the message that holds `name` + `typed_config`. */
const NAMED_EXTENSION_CATEGORIES: Record<string, string> = {
  'envoy.config.listener.v3.Filter': 'envoy.filters.network',
  'envoy.config.listener.v3.ListenerFilter': 'envoy.filters.listener',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter': 'envoy.filters.http',
  'envoy.config.core.v3.TransportSocket': 'envoy.transport_sockets',
  'envoy.config.accesslog.v3.AccessLog': 'envoy.access_loggers',
  'envoy.config.cluster.v3.Cluster.CustomClusterType': 'envoy.clusters',
  'envoy.config.cluster.v3.Filter': 'envoy.filters.upstream_network',
};

/** Map<string, Any> fields whose keys are extension names. */
const EXTENSION_MAPS: Record<string, { category: string; perRoute: boolean }> = {
  typed_per_filter_config: { category: 'envoy.filters.http', perRoute: true },
  typed_extension_protocol_options: { category: 'envoy.upstream_options', perRoute: false },
};

/** Any fields that hold data, not extensions. */
const OPAQUE_ANY_FIELDS = new Set([
  'envoy.config.core.v3.Metadata.typed_filter_metadata',
  'envoy.service.discovery.v3.DiscoveryResponse.resources',
  'envoy.service.discovery.v3.Resource.resource',
]);

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const MAX_DURATION_SECONDS = 315_576_000_000;

/** Per-type field tables, built once per process (the schema is loaded once). */
const typeInfos = new WeakMap<Type, TypeInfo>();

/** Describes a JSON value for an error message: `number 8080`, `a list`, `"abc"`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === 'bigint') return `number ${value}`;
  return `${typeof value} ${String(value)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

/** The closest candidate to a misspelt name, if any is close enough to be a likely typo. */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

export class ProtoJsonDecoder {
  readonly extensionPoints: ExtensionPoint[] = [];
  /**
   * Whether protoc-gen-validate rules are checked while decoding. Envoy validates a
   * bootstrap after merging `--config-yaml` over `-c`, so the loader turns this off for
   * the two documents and calls `validate()` on the merged result.
   */
  validating = true;

  private readonly schema: ProtoSchema;
  private readonly sink: IssueSink;
  private readonly options: DecodeOptions;

  constructor(schema: ProtoSchema, sink: IssueSink, options: DecodeOptions = {}) {
    this.schema = schema;
    this.sink = sink;
    this.options = options;
  }

  /** Decodes `json` as the message `typeName` (full name or type URL). */
  decode(typeName: string, json: unknown, step?: PathStep): ProtoMessage | undefined {
    const type = this.schema.lookupMessage(typeName);
    if (type === undefined) throw new Error(`bug: message type ${typeName} is not in the schema`);
    const value = this.decodeMessageValue(type, json, step);
    return isObject(value) ? (value as ProtoMessage) : undefined;
  }

  /** Decodes a message-typed value, honouring the well-known types' special JSON forms. */
  decodeMessageValue(type: Type, json: unknown, step: PathStep | undefined): ProtoValue | undefined {
    const name = this.info(type).name;
    const wrapped = wrapperKind(name);
    if (wrapped !== undefined) return this.decodeScalar(wrapped, json, step, name);
    if (WELL_KNOWN_JSON.has(name)) return this.decodeWellKnown(name, json, step);
    return this.decodeMessage(type, json, step);
  }

  private info(type: Type): TypeInfo {
    let info = typeInfos.get(type);
    if (info !== undefined) return info;
    const fields: FieldInfo[] = [];
    const byKey = new Map<string, FieldInfo>();
    for (const field of type.fieldsArray) {
      field.resolve();
      const resolved = field.resolvedType;
      const opts = optionsOf(field);
      const rules = opts['(validate.rules)'];
      const oneof = field.partOf;
      const realOneof =
        oneof !== null && !(oneof.name.startsWith('_') && oneof.fieldsArray.length === 1)
          ? oneof.name
          : undefined;
      const isMap = field instanceof protobuf.MapField;
      const kind =
        resolved instanceof protobuf.Type
          ? 'message'
          : resolved instanceof protobuf.Enum
            ? 'enum'
            : field.type;
      const shape: FieldShape = {
        kind,
        messageType: resolved instanceof protobuf.Type ? fullName(resolved) : undefined,
        repeated: field.repeated,
        map: isMap,
        enumNumbers: resolved instanceof protobuf.Enum ? new Map(Object.entries(resolved.values)) : undefined,
      };
      const fi: FieldInfo = {
        name: field.name,
        jsonName: jsonNameOf(field.name),
        shape,
        resolved,
        keyType: isMap ? (field as protobuf.MapField).keyType : undefined,
        rules: rules !== null && typeof rules === 'object' ? (rules as Rules) : undefined,
        deprecated: opts['deprecated'] === true,
        disallowed: opts['(envoy.annotations.disallowed_by_default)'] === true,
        oneof: realOneof,
        implicit: !field.repeated && !isMap && kind !== 'message' && oneof === null,
      };
      fields.push(fi);
      byKey.set(fi.name, fi);
      byKey.set(fi.jsonName, fi);
      const explicitJson = field.options?.['json_name'];
      if (typeof explicitJson === 'string') byKey.set(explicitJson, fi);
    }
    const requiredOneofs = type.oneofsArray
      .filter((o) => optionsOf(o)['(validate.required)'] === true)
      .map((o) => ({ name: o.name, fields: o.fieldsArray.map((f) => f.name) }));
    const typeOpts = optionsOf(type);
    const nameField = byKey.get('name');
    const configField = byKey.get('typed_config');
    info = {
      name: fullName(type),
      fields,
      byKey,
      requiredOneofs,
      validationDisabled: typeOpts['(validate.disabled)'] === true || typeOpts['(validate.ignored)'] === true,
      namedExtension:
        nameField?.shape.kind === 'string' && configField?.shape.messageType === 'google.protobuf.Any',
    };
    typeInfos.set(type, info);
    return info;
  }

  private decodeMessage(type: Type, json: unknown, step: PathStep | undefined): ProtoMessage | undefined {
    if (!isObject(json)) {
      this.sink.error(step, `expected a mapping (${fullName(type)}), got ${describe(json)}`);
      return undefined;
    }
    const info = this.info(type);
    const out: ProtoMessage = {};
    const oneofSeen = new Map<string, string>();
    // Fields that were given but failed to decode: reported once, not again as "required".
    const failed = new Set<string>();
    for (const [key, raw] of Object.entries(json)) {
      const fi = info.byKey.get(key);
      if (fi === undefined) {
        this.unknownField(info, key, step);
        continue;
      }
      const at = fieldStep(step, fi.name, key);
      if (fi.name in out) {
        this.sink.error(at, `field given twice (as '${fi.name}' and '${fi.jsonName}')`);
        continue;
      }
      if (raw === null && fi.shape.messageType !== 'google.protobuf.Value') continue; // proto3 JSON: null is "not set"
      if (fi.oneof !== undefined) {
        const other = oneofSeen.get(fi.oneof);
        if (other !== undefined) {
          this.sink.error(
            at,
            `'${other}' and '${fi.name}' are both set, but only one field of the oneof '${fi.oneof}' may be`,
          );
          continue;
        }
        oneofSeen.set(fi.oneof, fi.name);
      }
      if (fi.disallowed) {
        this.sink.error(at, `'${fi.name}' is deprecated and disallowed by default in Envoy's v3 API`);
        continue;
      }
      if (fi.deprecated) this.sink.warn(at, `'${fi.name}' is deprecated in Envoy's v3 API`);
      const value = this.decodeField(info, fi, raw, at);
      if (value !== undefined) out[fi.name] = value;
      else failed.add(fi.name);
    }
    if (this.validating && !info.validationDisabled) this.validateMessage(info, out, step, failed);
    // A typed_config that failed to decode has been reported; do not report its extension again.
    const configFailed =
      out['typed_config'] === undefined && ('typed_config' in json || 'typedConfig' in json);
    if (info.namedExtension && !configFailed) this.recordNamedExtension(info, out, step);
    return out;
  }

  private unknownField(info: TypeInfo, key: string, step: PathStep | undefined): void {
    const at = fieldStep(step, key, key);
    const hint = suggest(
      key,
      info.fields.map((f) => f.name),
    );
    const message =
      key === '@type'
        ? `'@type' is only allowed where the field is a google.protobuf.Any, not in ${info.name}`
        : `unknown field '${key}' in ${info.name}${hint !== undefined ? ` (did you mean '${hint}'?)` : ''}`;
    if (this.options.allowUnknownFields === true && key !== '@type') this.sink.warn(at, message);
    else this.sink.error(at, message);
  }

  private validateMessage(
    info: TypeInfo,
    msg: ProtoMessage,
    step: PathStep | undefined,
    failed: ReadonlySet<string> = new Set(),
  ): void {
    for (const fi of info.fields) {
      if (fi.rules === undefined || failed.has(fi.name)) continue;
      const value = msg[fi.name];
      // A oneof member is only checked when it is the member set.
      if (value === undefined && fi.oneof !== undefined) continue;
      validateField(fi.shape, fi.rules, value, fi.implicit, fieldStep(step, fi.name), this.sink);
    }
    for (const oneof of info.requiredOneofs) {
      if (!oneof.fields.some((f) => msg[f] !== undefined || failed.has(f))) {
        this.sink.error(step, `one of ${oneof.fields.map((f) => `'${f}'`).join(', ')} is required`);
      }
    }
  }

  private decodeField(info: TypeInfo, fi: FieldInfo, raw: unknown, at: PathStep): ProtoValue | undefined {
    if (fi.shape.map) return this.decodeMap(info, fi, raw, at);
    if (fi.shape.repeated) {
      // Envoy's leniency: a single mapping where a list belongs is a list of one.
      const implicit = !Array.isArray(raw);
      if (implicit && !isObject(raw)) {
        this.sink.error(at, `expected a list, got ${describe(raw)}`);
        return undefined;
      }
      const items = implicit ? [raw] : (raw as unknown[]);
      const out: ProtoValue[] = [];
      items.forEach((item, i) => {
        const itemStep = indexStep(at, i, implicit);
        if (item === null) {
          this.sink.error(itemStep, 'null is not allowed in a list');
          return;
        }
        const v = this.decodeSingle(info, fi, item, itemStep);
        if (v !== undefined) out.push(v);
      });
      return out;
    }
    return this.decodeSingle(info, fi, raw, at);
  }

  private decodeMap(info: TypeInfo, fi: FieldInfo, raw: unknown, at: PathStep): ProtoValue | undefined {
    if (!isObject(raw)) {
      this.sink.error(at, `expected a mapping, got ${describe(raw)}`);
      return undefined;
    }
    const out: ProtoMessage = {};
    const extensionMap = fi.shape.messageType === 'google.protobuf.Any' ? EXTENSION_MAPS[fi.name] : undefined;
    for (const [key, value] of Object.entries(raw)) {
      const entryStep = keyStep(at, key);
      if (
        fi.keyType !== 'string' &&
        this.decodeScalar(fi.keyType ?? 'string', key, entryStep, 'map key') === undefined
      ) {
        continue;
      }
      const v = this.decodeSingle(info, fi, value, entryStep);
      if (v === undefined) continue;
      out[key] = v;
      if (extensionMap !== undefined && isObject(v)) {
        this.extensionPoints.push({
          category: extensionMap.category,
          name: key,
          typedConfig: v as ProtoMessage,
          owner: v as ProtoMessage,
          step: entryStep,
          configStep: entryStep,
          optional: false,
          perRoute: extensionMap.perRoute,
        });
      }
    }
    return out;
  }

  private decodeSingle(info: TypeInfo, fi: FieldInfo, raw: unknown, at: PathStep): ProtoValue | undefined {
    const resolved = fi.resolved;
    if (resolved instanceof protobuf.Type) {
      const value = this.decodeMessageValue(resolved, raw, at);
      if (
        fi.shape.messageType === 'google.protobuf.Any' &&
        isObject(value) &&
        !info.namedExtension &&
        !fi.shape.map &&
        !OPAQUE_ANY_FIELDS.has(`${info.name}.${fi.name}`)
      ) {
        this.extensionPoints.push({
          category: undefined,
          name: undefined,
          typedConfig: value as ProtoMessage,
          owner: value as ProtoMessage,
          step: at,
          configStep: at,
          optional: false,
          perRoute: false,
        });
      }
      return value;
    }
    if (resolved instanceof protobuf.Enum) return this.decodeEnum(resolved, raw, at);
    return this.decodeScalar(fi.shape.kind, raw, at);
  }

  private recordNamedExtension(info: TypeInfo, msg: ProtoMessage, step: PathStep | undefined): void {
    const typedConfig = msg['typed_config'];
    const name = msg['name'];
    // A Filter inside a filter chain with neither name nor config is a PGV error already.
    this.extensionPoints.push({
      category: NAMED_EXTENSION_CATEGORIES[info.name],
      name: typeof name === 'string' && name !== '' ? name : undefined,
      typedConfig: isObject(typedConfig) ? (typedConfig as ProtoMessage) : undefined,
      owner: msg,
      step,
      configStep: fieldStep(step, 'typed_config'),
      optional: msg['is_optional'] === true,
      perRoute: false,
    });
  }

  private decodeEnum(e: protobuf.Enum, raw: unknown, at: PathStep): ProtoValue | undefined {
    if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return this.decodeEnum(e, Number(raw), at);
    if (typeof raw === 'string') {
      if (Object.hasOwn(e.values, raw)) {
        const opts = e.valuesOptions?.[raw];
        if (opts?.['deprecated'] === true)
          this.sink.warn(at, `enum value ${raw} is deprecated in Envoy's v3 API`);
        if (opts?.['(envoy.annotations.disallowed_by_default_enum)'] === true) {
          this.sink.error(at, `enum value ${raw} is deprecated and disallowed by default in Envoy's v3 API`);
          return undefined;
        }
        return raw;
      }
      const hint = suggest(raw, Object.keys(e.values));
      this.sink.error(
        at,
        `unknown value ${JSON.stringify(raw)} for enum ${fullName(e)}; expected one of ${Object.keys(e.values).join(', ')}${
          hint !== undefined ? ` (did you mean ${hint}?)` : ''
        }`,
      );
      return undefined;
    }
    const n = typeof raw === 'bigint' ? Number(raw) : raw;
    if (typeof n === 'number' && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) {
      return e.valuesById[n] ?? n; // proto3 enums are open: an unknown number survives decoding
    }
    this.sink.error(at, `expected an enum value name or number (${fullName(e)}), got ${describe(raw)}`);
    return undefined;
  }

  /** Decodes a scalar of protobuf type `kind`; `what` names it for errors (a wrapper type, say). */
  decodeScalar(
    kind: string,
    raw: unknown,
    at: PathStep | undefined,
    whatType?: string,
  ): ProtoValue | undefined {
    const what = whatType === undefined ? '' : ` (${whatType})`;
    const range = INT_RANGES[kind];
    if (range !== undefined) {
      let big: bigint | undefined;
      if (typeof raw === 'bigint') big = raw;
      else if (typeof raw === 'number' && Number.isInteger(raw)) big = BigInt(raw);
      else if (typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) big = BigInt(raw.trim());
      if (big === undefined) {
        this.sink.error(at, `expected an integer${what}, got ${describe(raw)}`);
        return undefined;
      }
      if (big < range[0] || big > range[1]) {
        this.sink.error(at, `value ${big} is out of range for ${kind} (${range[0]} to ${range[1]})`);
        return undefined;
      }
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(big)
        : big;
    }
    switch (kind) {
      case 'double':
      case 'float': {
        let n: number | undefined;
        if (typeof raw === 'number') n = raw;
        else if (typeof raw === 'bigint') n = Number(raw);
        else if (typeof raw === 'string') {
          if (raw === 'NaN') n = Number.NaN;
          else if (raw === 'Infinity') n = Number.POSITIVE_INFINITY;
          else if (raw === '-Infinity') n = Number.NEGATIVE_INFINITY;
          else if (/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) n = Number(raw);
        }
        if (n === undefined) {
          this.sink.error(at, `expected a number${what}, got ${describe(raw)}`);
          return undefined;
        }
        if (kind === 'float' && Number.isFinite(n) && Math.abs(n) > 3.4028234663852886e38) {
          this.sink.error(at, `value ${n} is out of range for float`);
          return undefined;
        }
        return n;
      }
      case 'bool':
        if (typeof raw === 'boolean') return raw;
        this.sink.error(at, `expected true or false${what}, got ${describe(raw)}`);
        return undefined;
      case 'string':
        if (typeof raw === 'string') return raw;
        this.sink.error(
          at,
          `expected a string${what}, got ${describe(raw)}${typeof raw === 'number' || typeof raw === 'bigint' || typeof raw === 'boolean' ? '; quote it in YAML' : ''}`,
        );
        return undefined;
      case 'bytes':
        if (typeof raw === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(raw.trim())) {
          return new Uint8Array(
            Buffer.from(raw.trim(), raw.includes('-') || raw.includes('_') ? 'base64url' : 'base64'),
          );
        }
        this.sink.error(at, `expected base64-encoded bytes${what}, got ${describe(raw)}`);
        return undefined;
      default:
        throw new Error(`bug: unhandled scalar kind ${kind}`);
    }
  }

  private decodeWellKnown(name: string, raw: unknown, at: PathStep | undefined): ProtoValue | undefined {
    switch (name) {
      case 'google.protobuf.Duration':
        return this.decodeDuration(raw, at);
      case 'google.protobuf.Timestamp':
        return this.decodeTimestamp(raw, at);
      case 'google.protobuf.FieldMask':
        if (typeof raw !== 'string') {
          this.sink.error(
            at,
            `expected a field mask string such as "cluster.name,address", got ${describe(raw)}`,
          );
          return undefined;
        }
        return {
          paths:
            raw === ''
              ? []
              : raw.split(',').map((p) => p.trim().replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
        };
      case 'google.protobuf.Struct':
        if (!isObject(raw)) {
          this.sink.error(at, `expected a mapping (google.protobuf.Struct), got ${describe(raw)}`);
          return undefined;
        }
        return this.decodeJsonValue(raw, at) as ProtoMessage;
      case 'google.protobuf.ListValue':
        if (!Array.isArray(raw)) {
          this.sink.error(at, `expected a list (google.protobuf.ListValue), got ${describe(raw)}`);
          return undefined;
        }
        return this.decodeJsonValue(raw, at);
      case 'google.protobuf.Value':
        return this.decodeJsonValue(raw, at);
      case 'google.protobuf.Empty':
        if (!isObject(raw) || Object.keys(raw).length > 0) {
          this.sink.error(at, `expected an empty mapping {}, got ${describe(raw)}`);
          return undefined;
        }
        return {};
      case 'google.protobuf.Any':
        return this.decodeAny(raw, at);
      default:
        throw new Error(`bug: unhandled well-known type ${name}`);
    }
  }

  private decodeJsonValue(raw: unknown, at: PathStep | undefined): ProtoValue {
    if (raw === null || typeof raw === 'string' || typeof raw === 'boolean') return raw;
    if (typeof raw === 'number') return raw;
    if (typeof raw === 'bigint') return Number(raw);
    if (Array.isArray(raw)) return raw.map((v, i) => this.decodeJsonValue(v, indexStep(at, i)));
    if (isObject(raw)) {
      const out: ProtoMessage = {};
      for (const [k, v] of Object.entries(raw)) out[k] = this.decodeJsonValue(v, keyStep(at, k));
      return out;
    }
    this.sink.error(at, `expected a JSON value, got ${describe(raw)}`);
    return null;
  }

  private decodeDuration(raw: unknown, at: PathStep | undefined): ProtoValue | undefined {
    const m = typeof raw === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(raw.trim()) : null;
    if (m === null) {
      this.sink.error(at, `expected a duration string such as "5s" or "0.25s", got ${describe(raw)}`);
      return undefined;
    }
    const sign = m[1] === '-' ? -1 : 1;
    const seconds = Number(m[2]);
    if (seconds > MAX_DURATION_SECONDS) {
      this.sink.error(at, `duration ${String(raw)} is out of range (at most ${MAX_DURATION_SECONDS}s)`);
      return undefined;
    }
    const nanos = Number((m[3] ?? '').padEnd(9, '0'));
    return { seconds: sign * seconds || 0, nanos: sign * nanos || 0 };
  }

  private decodeTimestamp(raw: unknown, at: PathStep | undefined): ProtoValue | undefined {
    const m =
      typeof raw === 'string'
        ? /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(raw.trim())
        : null;
    const ms = m === null ? Number.NaN : Date.parse(`${m[1]}${m[3]}`);
    if (m === null || Number.isNaN(ms) || !isRealDate(m[1] ?? '')) {
      this.sink.error(
        at,
        `expected an RFC 3339 timestamp such as "2026-01-02T03:04:05Z", got ${describe(raw)}`,
      );
      return undefined;
    }
    return { seconds: Math.floor(ms / 1000), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
  }

  private decodeAny(raw: unknown, at: PathStep | undefined): ProtoValue | undefined {
    if (!isObject(raw)) {
      this.sink.error(at, `expected a mapping with an '@type' (google.protobuf.Any), got ${describe(raw)}`);
      return undefined;
    }
    const url = raw['@type'];
    const typeAt = fieldStep(at, '@type', '@type');
    if (typeof url !== 'string' || url === '') {
      this.sink.error(at, `'@type' is required (google.protobuf.Any)`);
      return undefined;
    }
    const slash = url.lastIndexOf('/');
    if (slash < 0) {
      this.sink.error(
        typeAt,
        `type URL ${JSON.stringify(url)} must look like type.googleapis.com/<message name>`,
      );
      return undefined;
    }
    const messageName = url.slice(slash + 1);
    const type = this.schema.lookupMessage(messageName);
    if (type === undefined) {
      const v3 = this.schema.v3NameOf(messageName);
      if (v3 !== undefined || /\.v2(alpha\d*)?\./.test(messageName)) {
        this.sink.error(
          typeAt,
          `${messageName} is an Envoy v2 API type; the v2 API was removed (Envoy 1.18)${v3 !== undefined ? `: use type.googleapis.com/${v3}` : ''}`,
        );
      } else {
        const hint = suggestTypeName(this.schema, messageName);
        this.sink.error(
          typeAt,
          `unknown type ${JSON.stringify(url)}: no message ${messageName} in Envoy's v3 API${hint !== undefined ? ` (did you mean ${hint}?)` : ''}`,
        );
      }
      return undefined;
    }
    const name = this.info(type).name;
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) if (k !== '@type') rest[k] = v;
    if (TYPED_STRUCTS.has(name)) return this.decodeTypedStruct(name, rest, at);
    if (WELL_KNOWN_JSON.has(name) || wrapperKind(name) !== undefined) {
      const extra = Object.keys(rest).filter((k) => k !== 'value');
      if (extra.length > 0)
        this.sink.error(
          fieldStep(at, extra[0] ?? '', extra[0]),
          `unknown field; an Any holding ${name} has only 'value'`,
        );
      const value = this.decodeMessageValue(type, rest['value'], fieldStep(at, 'value', 'value'));
      return value === undefined ? undefined : { '@type': url, value };
    }
    const decoded = this.decodeMessage(type, rest, at);
    return decoded === undefined ? undefined : { '@type': url, ...decoded };
  }

  /** A TypedStruct is resolved into the message it names, as Envoy's translateOpaqueConfig does. */
  private decodeTypedStruct(
    name: string,
    rest: Record<string, unknown>,
    at: PathStep | undefined,
  ): ProtoValue | undefined {
    for (const k of Object.keys(rest)) {
      if (k !== 'type_url' && k !== 'typeUrl' && k !== 'value')
        this.unknownField(this.info(this.schema.lookupMessage(name)!), k, at);
    }
    const innerUrl = rest['type_url'] ?? rest['typeUrl'];
    const urlAt = fieldStep(at, 'type_url', 'type_url');
    if (typeof innerUrl !== 'string' || innerUrl === '') {
      this.sink.error(urlAt, `a ${name} needs a type_url`);
      return undefined;
    }
    const inner = this.schema.lookupMessage(innerUrl);
    if (inner === undefined) {
      this.sink.error(urlAt, `unknown type ${JSON.stringify(innerUrl)}: no such message in Envoy's v3 API`);
      return undefined;
    }
    const decoded = this.decodeMessage(inner, rest['value'] ?? {}, fieldStep(at, 'value', 'value'));
    return decoded === undefined ? undefined : { '@type': innerUrl, ...decoded };
  }

  /** Checks the validation rules of an already decoded message tree (see `validating`). */
  validate(typeName: string, msg: ProtoMessage, step?: PathStep): void {
    const type = this.schema.lookupMessage(typeName);
    if (type === undefined) throw new Error(`bug: message type ${typeName} is not in the schema`);
    this.validateTree(type, msg, step);
  }

  private validateTree(type: Type, msg: ProtoMessage, step: PathStep | undefined): void {
    const info = this.info(type);
    if (info.validationDisabled) return;
    this.validateMessage(info, msg, step);
    for (const fi of info.fields) {
      const value = msg[fi.name];
      if (value === undefined || !(fi.resolved instanceof protobuf.Type)) continue;
      const at = fieldStep(step, fi.name);
      const visit = (v: ProtoValue | undefined, s: PathStep): void => {
        if (isObject(v)) this.validateValue(fi.resolved as Type, v as ProtoMessage, s);
      };
      if (fi.shape.map && isObject(value)) {
        for (const [k, v] of Object.entries(value)) visit(v, keyStep(at, k));
      } else if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) visit(v, indexStep(at, i));
      } else {
        visit(value, at);
      }
    }
  }

  /** Descends into a message-typed value; well-known types hold no rules, an Any holds its message. */
  private validateValue(type: Type, value: ProtoMessage, step: PathStep): void {
    const name = this.info(type).name;
    if (name === 'google.protobuf.Any') {
      const inner = this.schema.lookupMessage(String(value['@type']));
      if (
        inner !== undefined &&
        !WELL_KNOWN_JSON.has(fullName(inner)) &&
        wrapperKind(fullName(inner)) === undefined
      ) {
        this.validateTree(inner, value, step);
      }
      return;
    }
    if (WELL_KNOWN_JSON.has(name) || wrapperKind(name) !== undefined) return;
    this.validateTree(type, value, step);
  }

  /**
   * Merges `src` into `dst` the way protobuf's MergeFrom does (Envoy merges `--config-yaml`
   * over `-c` so): set scalars override, repeated fields append, messages merge field by
   * field, maps merge by key, and a different oneof member replaces the one set before.
   */
  merge(typeName: string, dst: ProtoMessage, src: ProtoMessage): ProtoMessage {
    const type = this.schema.lookupMessage(typeName);
    if (type === undefined) throw new Error(`bug: message type ${typeName} is not in the schema`);
    return this.mergeMessage(type, dst, src);
  }

  private mergeMessage(type: Type, dst: ProtoMessage, src: ProtoMessage): ProtoMessage {
    const info = this.info(type);
    const out: ProtoMessage = { ...dst };
    for (const [key, value] of Object.entries(src)) {
      const fi = info.byKey.get(key);
      if (fi === undefined || value === undefined) continue;
      if (fi.oneof !== undefined) {
        for (const other of info.fields)
          if (other.oneof === fi.oneof && other.name !== fi.name) delete out[other.name];
      }
      const existing = out[fi.name];
      if (fi.shape.repeated && Array.isArray(existing) && Array.isArray(value)) {
        out[fi.name] = [...existing, ...value];
      } else if (fi.shape.map && isObject(existing) && isObject(value)) {
        out[fi.name] = { ...existing, ...(value as ProtoMessage) };
      } else if (
        fi.resolved instanceof protobuf.Type &&
        isObject(existing) &&
        isObject(value) &&
        !WELL_KNOWN_JSON.has(fi.shape.messageType ?? '') &&
        wrapperKind(fi.shape.messageType) === undefined
      ) {
        out[fi.name] = this.mergeMessage(fi.resolved, existing as ProtoMessage, value as ProtoMessage);
      } else if (fi.shape.messageType === 'google.protobuf.Struct' && isObject(existing) && isObject(value)) {
        out[fi.name] = { ...existing, ...(value as ProtoMessage) };
      } else {
        out[fi.name] = value;
      }
    }
    return out;
  }
}

/** Date.parse rolls 2026-02-30 over to March; RFC 3339 does not. */
function isRealDate(dateTime: string): boolean {
  const [y, mo, d] = dateTime.slice(0, 10).split('-').map(Number);
  if (y === undefined || mo === undefined || d === undefined) return false;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth;
}

function suggestTypeName(schema: ProtoSchema, messageName: string): string | undefined {
  // Same package, a near name: catches `Routerr` and `HttpConectionManager`.
  const dot = messageName.lastIndexOf('.');
  const pkg = messageName.slice(0, dot);
  try {
    const ns = schema.root.lookup(pkg);
    if (ns instanceof protobuf.Namespace) {
      const names = ns.nestedArray.filter((n) => n instanceof protobuf.Type).map((n) => n.name);
      const hit = suggest(messageName.slice(dot + 1), names);
      return hit === undefined ? undefined : `${pkg}.${hit}`;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
