/**
 * Runtime values: from their text (a disk file, an admin override) or a static layer's JSON
 * value to an entry with every typed reading that applies, parsed once per load.
 *
 * Pure functions, main thread (layers load there; workers receive finished entries). The
 * readings follow Envoy's `SnapshotImpl::resolveEntryType`: `true` / `false` (any case) and
 * integers are booleans (an integer is true when non-zero); anything `strtod` reads is a
 * double, and a non-negative double is also an integer, rounded down; otherwise the text may
 * be a FractionalPercent (`{numerator: 5, denominator: TEN_THOUSAND}`). Envoy counterpart:
 * `SnapshotImpl::createEntry`, `parseEntryBooleanValue`, `parseEntryDoubleValue`,
 * `parseEntryFractionalPercentValue` (source/common/runtime/runtime_impl.cc).
 */
import { parse as parseYaml } from 'yaml';
import { fractionalFromObject } from './fractional-percent.ts';
import type { FractionalPercent, RuntimeEntry } from './types.ts';

/** 2^64: a double at or past it has no integer (uint64) reading. */
const UINT64_LIMIT = 2 ** 64;

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/** An entry from text: a disk layer's file, an admin override. */
export function entryFromText(raw: string): RuntimeEntry {
  const stripped = raw.trim();
  const entry: {
    raw: string;
    uint?: number;
    double?: number;
    bool?: boolean;
    fractional?: FractionalPercent;
  } = { raw };
  const lower = stripped.toLowerCase();
  if (lower === 'true' || lower === 'false') {
    entry.bool = lower === 'true';
    return entry;
  }
  if (INTEGER.test(stripped)) entry.bool = Number(stripped) !== 0;
  const double = parseDouble(stripped);
  if (double !== undefined) {
    entry.double = double;
    if (double >= 0 && double < UINT64_LIMIT) entry.uint = Math.floor(double);
    return entry;
  }
  const fractional = fractionalFromText(stripped);
  if (fractional !== undefined) entry.fractional = fractional;
  return entry;
}

/**
 * An entry from a static layer's leaf: a string, number or boolean, or a struct holding a
 * FractionalPercent. Its text is what `/runtime` shows: the number or boolean as written,
 * the struct as compact JSON.
 */
export function entryFromValue(
  value: string | number | boolean | Readonly<Record<string, unknown>>,
): RuntimeEntry {
  if (typeof value === 'string') return entryFromText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return entryFromText(String(value));
  const raw = JSON.stringify(value);
  const fractional = fractionalFromObject(value);
  return fractional === undefined ? { raw } : { raw, fractional };
}

/** `absl::SimpleAtod`: a decimal with optional exponent, `inf` or `nan`, spaces around allowed. */
function parseDouble(stripped: string): number | undefined {
  if (DECIMAL.test(stripped)) return Number(stripped);
  if (!SPECIAL.test(stripped)) return undefined;
  const negative = stripped.startsWith('-');
  if (/nan/i.test(stripped)) return Number.NaN;
  return negative ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** The text as YAML, read strictly as an `envoy.type.v3.FractionalPercent`. */
function fractionalFromText(stripped: string): FractionalPercent | undefined {
  if (stripped === '') return undefined;
  let parsed: unknown;
  try {
    parsed = parseYaml(stripped);
  } catch {
    return undefined; // Not YAML: there was no expectation that it was a FractionalPercent.
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  return fractionalFromObject(parsed as Record<string, unknown>);
}
