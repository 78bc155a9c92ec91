/**
 * google.protobuf.Duration to milliseconds, for the factories that turn decoded messages
 * into internal configs.
 *
 * Pure functions, any thread. A decoded Duration is `{ seconds, nanos }` of numbers (see
 * `types.ts`); the decoder has already rejected malformed and out-of-range values, so a
 * value of any other shape here is a bug. Envoy counterpart: `DurationUtil::durationToMilliseconds`
 * and the `PROTOBUF_GET_MS_OR_DEFAULT` macro (`source/common/protobuf/utility.h`), which
 * truncate the sub-millisecond part the same way.
 */
import type { Duration, ProtoValue } from './types.ts';

/** Whole milliseconds in a Duration, truncated toward zero as protobuf's `DurationToMilliseconds` does. */
export function durationToMs(d: Duration): number {
  return d.seconds * 1000 + Math.trunc(d.nanos / 1_000_000);
}

/** The field's value in milliseconds, or `defaultMs` when the field is unset. An explicit `0s` stays 0. */
export function durationMs(d: ProtoValue | undefined, defaultMs: number): number {
  if (d === undefined) return defaultMs;
  const isMessage = d !== null && typeof d === 'object' && !Array.isArray(d) && !(d instanceof Uint8Array);
  const seconds = isMessage ? d['seconds'] : undefined;
  const nanos = isMessage ? d['nanos'] : undefined;
  if (typeof seconds !== 'number' || typeof nanos !== 'number') {
    throw new Error(
      `bug: expected a decoded google.protobuf.Duration, got a ${Array.isArray(d) ? 'list' : typeof d}`,
    );
  }
  return durationToMs({ seconds, nanos });
}
