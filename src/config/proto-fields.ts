/**
 * Typed reads of decoded proto messages, with Envoy's defaults, for extension factories and the config layer's own checks.
 *
 * Pure functions, main thread (factories run while a config loads). The decoder has
 * already enforced every field's type, so a value of the wrong shape here is a bug and
 * throws. Envoy counterpart: the `PROTOBUF_GET_WRAPPED_OR_DEFAULT` family of macros in
 * `source/common/protobuf/utility.h`; wrapper types decode to plain values, so one reader
 * serves both a `uint32` and a `UInt32Value`.
 */
import type { PathStep } from './errors.ts';
import { fieldStep, indexStep } from './errors.ts';
import type { ProtoMessage, ProtoValue } from './types.ts';

export function isMessage(v: ProtoValue | undefined): v is ProtoMessage {
  return (
    v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
  );
}

function bug(m: ProtoMessage, field: string, want: string): Error {
  const v = m[field];
  return new Error(`bug: field ${field} should be ${want}, got ${Array.isArray(v) ? 'a list' : typeof v}`);
}

export function messageField(m: ProtoMessage | undefined, field: string): ProtoMessage | undefined {
  const v = m?.[field];
  if (v === undefined || m === undefined) return undefined;
  if (!isMessage(v)) throw bug(m, field, 'a message');
  return v;
}

export function messageList(m: ProtoMessage | undefined, field: string): ProtoMessage[] {
  const v = m?.[field];
  if (v === undefined || m === undefined) return [];
  if (!Array.isArray(v) || !v.every(isMessage)) throw bug(m, field, 'a list of messages');
  return v as ProtoMessage[];
}

export function stringField(m: ProtoMessage | undefined, field: string, dflt = ''): string {
  const v = m?.[field];
  if (v === undefined || m === undefined) return dflt;
  if (typeof v !== 'string') throw bug(m, field, 'a string');
  return v;
}

export function stringList(m: ProtoMessage | undefined, field: string): string[] {
  const v = m?.[field];
  if (v === undefined || m === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bug(m, field, 'a list of strings');
  return v as string[];
}

export function boolField(m: ProtoMessage | undefined, field: string, dflt = false): boolean {
  const v = m?.[field];
  if (v === undefined || m === undefined) return dflt;
  if (typeof v !== 'boolean') throw bug(m, field, 'a boolean');
  return v;
}

/** Integers and floats; a 64-bit value beyond 2^53 (a bigint) is clamped to the nearest double. */
export function numberField(m: ProtoMessage | undefined, field: string, dflt: number): number {
  const v = m?.[field];
  if (v === undefined || m === undefined) return dflt;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw bug(m, field, 'a number');
  return v;
}

/**
 * An enum's value name, narrowed to the names the caller handles; an unset proto3 enum is
 * its zero value, which the caller passes as `dflt`.
 */
export function enumField<T extends string>(
  m: ProtoMessage | undefined,
  field: string,
  values: readonly T[],
  dflt: T,
): T {
  if (m === undefined) return dflt;
  const v = stringField(m, field, dflt);
  const found = values.find((x) => x === v);
  if (found === undefined) throw bug(m, field, `one of ${values.join(', ')}`);
  return found;
}

export function bytesField(m: ProtoMessage | undefined, field: string): Uint8Array | undefined {
  const v = m?.[field];
  if (v === undefined || m === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw bug(m, field, 'bytes');
  return v;
}

/** The message name in an Any's type URL: `type.googleapis.com/a.b.C` -> `a.b.C`. */
export function messageTypeOf(m: ProtoMessage): string {
  const url = stringField(m, '@type');
  return url.slice(url.lastIndexOf('/') + 1);
}

/**
 * Walks down from a step by proto field names and list indices, for issue paths:
 * `at(ctx.step, 'route_config', 'virtual_hosts', 1, 'domains', 0)`.
 */
export function at(
  step: PathStep | undefined,
  ...path: ReadonlyArray<string | number>
): PathStep | undefined {
  let s = step;
  for (const p of path) s = typeof p === 'number' ? indexStep(s, p) : fieldStep(s, p);
  return s;
}
