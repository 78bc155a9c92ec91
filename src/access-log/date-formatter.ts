/**
 * `%START_TIME%` and `%START_TIME(<format>)%`: wall-clock times as access logs print them,
 * in UTC.
 *
 * Any thread; a formatter is compiled once per format string and then called per log line.
 * Without a format the time prints as ISO 8601 with milliseconds
 * (`2026-11-23T16:41:01.180Z`, Envoy's `AccessLogDateTimeFormatter`). With one, strftime's
 * conversions plus Envoy's and absl's extras: `%s` (seconds since the epoch), `%f` and
 * `%1f`..`%9f` (fractional seconds, 9 digits by default, truncated), `%E#S` / `%E*S`
 * (seconds with # / all significant fractional digits), `%Ez` (`+00:00`), `%E4Y`. `%n` is
 * refused (a log line must not contain a newline from a time), as Envoy does. What depends
 * on whole seconds is rendered once per second and cached; a line only adds the fraction.
 * Envoy counterpart: `DateFormatter` and `AccessLogDateTimeFormatter`
 * (source/common/common/utility.cc).
 */
import {
  MONTH_ABBREVIATIONS,
  MONTH_NAMES,
  WEEKDAY_ABBREVIATIONS,
  WEEKDAY_NAMES,
} from '../common/calendar.ts';

export interface DateFormatter {
  /** `epochMs`: wall-clock milliseconds since the epoch (may be fractional). */
  format(epochMs: number): string;
}

export type DateFormatResult = { ok: true; formatter: DateFormatter } | { ok: false; error: string };

/** The calendar fields of one second, UTC. */
interface Fields {
  readonly epochSeconds: number;
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday */
  readonly weekday: number;
  /** 1..366 */
  readonly yearDay: number;
}

function fieldsOf(epochSeconds: number): Fields {
  const d = new Date(epochSeconds * 1000);
  const year = d.getUTCFullYear();
  return {
    epochSeconds,
    year,
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
    yearDay: Math.floor((epochSeconds * 1000 - Date.UTC(year, 0, 1)) / 86_400_000) + 1,
  };
}

function pad(n: number, width: number, flag: string): string {
  if (flag === '-') return String(n);
  const s = String(Math.abs(n));
  const padded = s.length >= width ? s : (flag === '_' ? ' ' : '0').repeat(width - s.length) + s;
  return n < 0 ? `-${padded}` : padded;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

/** ISO 8601 week-based year and week number (`%G`, `%V`). */
function isoWeek(f: Fields): { year: number; week: number } {
  const mondayBased = (f.weekday + 6) % 7;
  // The Thursday of this week decides the ISO year.
  const thursday = new Date(Date.UTC(f.year, f.month - 1, f.day + 3 - mondayBased));
  const year = thursday.getUTCFullYear();
  const yearDay = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000);
  return { year, week: Math.floor(yearDay / 7) + 1 };
}

/** A conversion that needs only whole seconds. */
interface SecondsToken {
  readonly literal: string | undefined;
  readonly conversion: string;
  readonly flag: string;
}

/** Renders one whole-second conversion (strftime in the C locale, UTC). */
function renderConversion(t: SecondsToken, f: Fields): string {
  const flag = t.flag;
  switch (t.conversion) {
    case 'Y':
      return String(f.year);
    case 'E4Y':
      return pad(f.year, 4, '0');
    case 'C':
      return pad(Math.floor(f.year / 100), 2, flag);
    case 'y':
      return pad(f.year % 100, 2, flag);
    case 'm':
      return pad(f.month, 2, flag);
    case 'd':
      return pad(f.day, 2, flag);
    case 'e':
      return pad(f.day, 2, flag === '' ? '_' : flag);
    case 'j':
      return pad(f.yearDay, 3, flag);
    case 'H':
      return pad(f.hour, 2, flag);
    case 'k':
      return pad(f.hour, 2, flag === '' ? '_' : flag);
    case 'I':
      return pad(f.hour % 12 === 0 ? 12 : f.hour % 12, 2, flag);
    case 'l':
      return pad(f.hour % 12 === 0 ? 12 : f.hour % 12, 2, flag === '' ? '_' : flag);
    case 'M':
      return pad(f.minute, 2, flag);
    case 'S':
      return pad(f.second, 2, flag);
    case 'p':
      return f.hour < 12 ? 'AM' : 'PM';
    case 'P':
      return f.hour < 12 ? 'am' : 'pm';
    case 'a':
      return WEEKDAY_ABBREVIATIONS[f.weekday] ?? '';
    case 'A':
      return WEEKDAY_NAMES[f.weekday] ?? '';
    case 'b':
    case 'h':
      return MONTH_ABBREVIATIONS[f.month - 1] ?? '';
    case 'B':
      return MONTH_NAMES[f.month - 1] ?? '';
    case 'u':
      return String(f.weekday === 0 ? 7 : f.weekday);
    case 'w':
      return String(f.weekday);
    case 'U':
      return pad(Math.floor((f.yearDay - 1 + 7 - f.weekday) / 7), 2, flag);
    case 'W':
      return pad(Math.floor((f.yearDay - 1 + 7 - ((f.weekday + 6) % 7)) / 7), 2, flag);
    case 'V':
      return pad(isoWeek(f).week, 2, flag);
    case 'G':
      return String(isoWeek(f).year);
    case 'g':
      return pad(isoWeek(f).year % 100, 2, flag);
    case 's':
      return String(f.epochSeconds);
    case 'z':
      return '+0000';
    case 'Ez':
      return '+00:00';
    case 'Z':
      return 'UTC';
    case 't':
      return '\t';
    case 'D':
      return `${pad2(f.month)}/${pad2(f.day)}/${pad2(f.year % 100)}`;
    case 'x':
      return `${pad2(f.month)}/${pad2(f.day)}/${pad2(f.year % 100)}`;
    case 'F':
      return `${pad(f.year, 4, '0')}-${pad2(f.month)}-${pad2(f.day)}`;
    case 'T':
    case 'X':
      return `${pad2(f.hour)}:${pad2(f.minute)}:${pad2(f.second)}`;
    case 'R':
      return `${pad2(f.hour)}:${pad2(f.minute)}`;
    case 'r':
      return `${pad2(f.hour % 12 === 0 ? 12 : f.hour % 12)}:${pad2(f.minute)}:${pad2(f.second)} ${f.hour < 12 ? 'AM' : 'PM'}`;
    case 'c':
      return `${WEEKDAY_ABBREVIATIONS[f.weekday] ?? ''} ${MONTH_ABBREVIATIONS[f.month - 1] ?? ''} ${pad(f.day, 2, '_')} ${pad2(f.hour)}:${pad2(f.minute)}:${pad2(f.second)} ${f.year}`;
    default:
      throw new Error(`bug: unhandled conversion ${t.conversion}`);
  }
}

const KNOWN_CONVERSIONS = new Set('YCymdejHkIlMSpPaAbhBuwUWVGgszZtDxFTXRrc');

/** Fractional digits: 1..9, truncated; `TRIMMED` is absl's `%E*S` fraction (`.5`, or nothing). */
const TRIMMED = -1;

/**
 * A compiled strftime format: whole-second chunks, each rendered once per second, with
 * the fractional-second fields between them.
 */
class StrftimeFormatter implements DateFormatter {
  /** `chunks.length === fractions.length + 1`. */
  private readonly chunks: readonly (readonly SecondsToken[])[];
  private readonly fractions: readonly number[];
  private cachedSecond = Number.NaN;
  private cachedChunks: string[] = [];

  constructor(chunks: readonly (readonly SecondsToken[])[], fractions: readonly number[]) {
    this.chunks = chunks;
    this.fractions = fractions;
  }

  format(epochMs: number): string {
    const second = Math.floor(epochMs / 1000);
    if (second !== this.cachedSecond) this.renderSecond(second);
    const rendered = this.cachedChunks;
    let out = rendered[0] ?? '';
    if (this.fractions.length === 0) return out;
    const nanos = Math.min(999_999_999, Math.round((epochMs - second * 1000) * 1e6));
    for (let i = 0; i < this.fractions.length; i++) {
      out += fraction(nanos, this.fractions[i] ?? 9) + (rendered[i + 1] ?? '');
    }
    return out;
  }

  private renderSecond(second: number): void {
    const f = fieldsOf(second);
    const rendered: string[] = [];
    for (const chunk of this.chunks) {
      let s = '';
      for (const t of chunk) s += t.literal ?? renderConversion(t, f);
      rendered.push(s);
    }
    this.cachedSecond = second;
    this.cachedChunks = rendered;
  }
}

function fraction(nanos: number, digits: number): string {
  const nine = String(nanos).padStart(9, '0');
  if (digits !== TRIMMED) return nine.slice(0, digits);
  let end = nine.length;
  while (end > 0 && nine.charCodeAt(end - 1) === 48 /* '0' */) end--;
  return end === 0 ? '' : `.${nine.slice(0, end)}`;
}

/** Envoy's default: `%Y-%m-%dT%H:%M:%E3SZ`, UTC. The prefix up to the dot is cached per second. */
class IsoMillisFormatter implements DateFormatter {
  private cachedSecond = Number.NaN;
  private cachedPrefix = '';

  format(epochMs: number): string {
    const second = Math.floor(epochMs / 1000);
    if (second !== this.cachedSecond) {
      const f = fieldsOf(second);
      this.cachedPrefix = `${pad(f.year, 4, '0')}-${pad2(f.month)}-${pad2(f.day)}T${pad2(f.hour)}:${pad2(f.minute)}:${pad2(f.second)}.`;
      this.cachedSecond = second;
    }
    return `${this.cachedPrefix}${pad3(Math.floor(epochMs - second * 1000))}Z`;
  }
}

/** ISO 8601 with milliseconds in UTC, Envoy's `%START_TIME%`. */
export function isoDateFormatter(): DateFormatter {
  return new IsoMillisFormatter();
}

/** Compiles a `%START_TIME(...)%` format; the empty format is Envoy's ISO default. */
export function compileDateFormat(format: string): DateFormatResult {
  if (format === '') return { ok: true, formatter: new IsoMillisFormatter() };
  const chunks: SecondsToken[][] = [[]];
  const fractions: number[] = [];
  const literal = (text: string): void => {
    chunks[chunks.length - 1]?.push({ literal: text, conversion: '', flag: '' });
  };
  const conversion = (conv: string, flag: string): void => {
    chunks[chunks.length - 1]?.push({ literal: undefined, conversion: conv, flag });
  };
  const addFraction = (digits: number): void => {
    fractions.push(digits);
    chunks.push([]);
  };

  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c !== '%') {
      const next = format.indexOf('%', i);
      const end = next < 0 ? format.length : next;
      literal(format.slice(i, end));
      i = end;
      continue;
    }
    const start = i;
    i++;
    let flag = '';
    while (i < format.length && '-_0^#'.includes(format[i] ?? '')) {
      flag = format[i] ?? '';
      i++;
    }
    let width = '';
    while (i < format.length && /[0-9]/.test(format[i] ?? '')) width += format[i++];
    let modifier = '';
    if (format[i] === 'E' || format[i] === 'O') modifier = format[i++] ?? '';
    // absl's %E#S / %E*S: seconds with fractional digits.
    if (modifier === 'E' && width === '' && (format[i] === '*' || /[0-9]/.test(format[i] ?? ''))) {
      const spec = format[i] ?? '';
      if (format[i + 1] === 'S') {
        conversion('S', '');
        if (spec === '*') addFraction(TRIMMED);
        else if (spec !== '0') {
          literal('.');
          addFraction(Number(spec));
        }
        i += 2;
        continue;
      }
      if (spec === '*' && format[i + 1] === 'z') {
        conversion('Ez', '');
        i += 2;
        continue;
      }
      if (spec === '4' && format[i + 1] === 'Y') {
        conversion('E4Y', '');
        i += 2;
        continue;
      }
    }
    const conv = format[i];
    i++;
    if (conv === undefined) {
      literal(format.slice(start));
      break;
    }
    if (conv === 'n') {
      return { ok: false, error: 'Invalid header configuration. Format string contains newline.' };
    }
    if (conv === '%') literal('%');
    else if (conv === 'f' && modifier === '' && (width === '' || /^[1-9]$/.test(width))) {
      addFraction(width === '' ? 9 : Number(width));
    } else if (conv === 'z' && modifier === 'E') conversion('Ez', '');
    else if (KNOWN_CONVERSIONS.has(conv)) conversion(conv, flag);
    // An unknown conversion prints as written, as glibc's strftime does.
    else literal(format.slice(start, i));
  }
  return { ok: true, formatter: new StrftimeFormatter(chunks, fractions) };
}
