/**
 * Application log line formatting: spdlog's pattern language (`--log-format`) with Envoy's
 * custom flags, and Envoy's `--log-format-escaped` line escaping.
 *
 * Runs on every thread (each `LogContext` owns one `LogFormatter`). A pattern is compiled
 * once into a list of literal and flag operations; formatting a line walks that list. Times
 * are local time, as spdlog's default `pattern_time_type::local`; the broken-down time is
 * cached per second. Envoy counterpart: `spdlog::pattern_formatter`
 * (spdlog/pattern_formatter-inl.h) plus `Envoy::Logger::CustomFlagFormatter` and
 * `DelegatingLogSink::escapeLogLine` (source/common/common/logger.cc).
 *
 * Flags: `%v` message, `%_` message with newlines as `\n` (Envoy), `%j` message JSON-escaped
 * (Envoy), `%+` message after any `[Tags: ...] ` prefix, JSON-escaped (Envoy), `%*` that
 * prefix's tags as `,"k":"v"` JSON properties (Envoy), `%t` thread name, `%P` pid, `%n`
 * logger name, `%l` level (`trace` ... `critical`), `%L` short level (`T` ... `C`), `%Y`
 * `%C` `%m` `%d` `%H` `%I` `%M` `%S` `%p` date and time fields, `%e` ms, `%f` us, `%F` ns,
 * `%E` epoch seconds, `%a` `%A` `%b`/`%h` `%B` day and month names, `%c` `%D`/`%x` `%T`/`%X`
 * `%R` `%r` composites, `%z` UTC offset, `%o` `%i` `%u` `%O` time since the previous line
 * (ms, us, ns, s), `%^` `%$` colour range (nothing: no sink colours), `%%`. Padding as in
 * spdlog: `%8l` (right-aligned), `%-8l` (left-aligned), `%=8l` (centred), `!` after the
 * width truncates (`%3!l`), widths above 64 are 64. An unknown flag prints as written.
 *
 * Source location: Legate's log calls carry none, so `%g` `%s` `%@` `%#` `%!` print
 * nothing (as spdlog does for a message without a source location), and a bracketed group
 * made only of them and `:` (Envoy's default `[%g:%#]`) is dropped from the pattern with
 * one neighbouring space, so the default format reads `[time][thread][level][logger] message`
 * rather than `... [:] message`.
 */
import { Buffer } from 'node:buffer';
import { MONTH_ABBREVIATIONS, MONTH_NAMES, WEEKDAY_ABBREVIATIONS, WEEKDAY_NAMES } from './calendar.ts';

/** `%l`, indexed by level rank. */
const LEVEL_NAMES: readonly string[] = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'];
/** `%L`, indexed by level rank. */
const SHORT_LEVEL_NAMES: readonly string[] = ['T', 'D', 'I', 'W', 'E', 'C', 'O'];

const DAYS = WEEKDAY_ABBREVIATIONS;
const FULL_DAYS = WEEKDAY_NAMES;
const MONTHS = MONTH_ABBREVIATIONS;
const FULL_MONTHS = MONTH_NAMES;

/** spdlog's `padding_info::max_width`. */
const MAX_PAD_WIDTH = 64;
/** spdlog's built-in flags plus Envoy's custom ones (`_ j + *`). */
const KNOWN_FLAGS = new Set([...'v_j+*tPnlLaAbhBcCYDxmdHIMSprRTXzefFEoiuO^$gs@#!']);
/** Flags that print a source location, which Legate does not have. */
const SOURCE_FLAGS = new Set(['g', 's', '@', '#', '!']);
/** Flags that need the broken-down local time. */
const TIME_FLAGS = new Set([...'aAbhBcCYDxmdHIMSprRTXz']);
/** Flags that print the time since the previous line. */
const ELAPSED_FLAGS = new Set(['o', 'i', 'u', 'O']);

/** Envoy's `Utility::TagsPrefix` / `TagsSuffixForSearch` (ENVOY_TAGGED_LOG messages). */
const TAGS_PREFIX = '[Tags: ';
const TAGS_SUFFIX_FOR_SEARCH = '"] ';

type PadSide = 'left' | 'right' | 'center';

interface Padding {
  readonly width: number;
  /** Where the spaces go: `left` right-aligns the value (spdlog's default). */
  readonly side: PadSide;
  readonly truncate: boolean;
}

/** One compiled step: literal text, or a flag with its padding. */
type FormatOp =
  | { readonly kind: 'text'; text: string }
  | { readonly kind: 'flag'; readonly flag: string; readonly padding: Padding | null };

/** The per-thread values a formatter prints. */
export interface LogFormatterThread {
  readonly threadName: string;
  readonly pid: number;
}

/**
 * A compiled `--log-format` pattern. `format` returns the line with spdlog's end of line
 * (`\n`) appended. Owned by one thread; keeps a per-second time cache and the previous
 * line's time for the elapsed-time flags.
 */
export class LogFormatter {
  readonly pattern: string;
  readonly #ops: readonly FormatOp[];
  readonly #thread: LogFormatterThread;
  readonly #usesTime: boolean;
  readonly #usesElapsed: boolean;

  // Broken-down local time of `#tmSecond` (spdlog's cached_tm_).
  #tmSecond = Number.NaN;
  #year = 0;
  #month = 0;
  #day = 0;
  #hour = 0;
  #minute = 0;
  #second = 0;
  #weekday = 0;
  #utcOffsetMinutes = 0;
  #previousMs = Number.NaN;

  constructor(pattern: string, thread: LogFormatterThread) {
    this.pattern = pattern;
    this.#thread = thread;
    this.#ops = dropSourceLocationGroups(compilePattern(pattern));
    let usesTime = false;
    let usesElapsed = false;
    for (const op of this.#ops) {
      if (op.kind !== 'flag') continue;
      if (TIME_FLAGS.has(op.flag)) usesTime = true;
      if (ELAPSED_FLAGS.has(op.flag)) usesElapsed = true;
    }
    this.#usesTime = usesTime;
    this.#usesElapsed = usesElapsed;
  }

  /**
   * Formats one line. `timeMs`: wall-clock ms since the epoch (fractions give `%f`/`%F`
   * their digits); `levelRank`: `LOG_LEVEL_RANK` of the message's level.
   */
  format(timeMs: number, levelRank: number, loggerName: string, message: string): string {
    const epochSecond = Math.floor(timeMs / 1000);
    if (this.#usesTime && epochSecond !== this.#tmSecond) this.#breakDown(epochSecond);
    let out = '';
    for (const op of this.#ops) {
      if (op.kind === 'text') {
        out += op.text;
        continue;
      }
      const value = this.#flagValue(op.flag, timeMs, epochSecond, levelRank, loggerName, message);
      out += op.padding === null ? value : pad(value, op.padding);
    }
    if (this.#usesElapsed) this.#previousMs = timeMs;
    return out + '\n';
  }

  #breakDown(epochSecond: number): void {
    const d = new Date(epochSecond * 1000);
    this.#tmSecond = epochSecond;
    this.#year = d.getFullYear();
    this.#month = d.getMonth();
    this.#day = d.getDate();
    this.#hour = d.getHours();
    this.#minute = d.getMinutes();
    this.#second = d.getSeconds();
    this.#weekday = d.getDay();
    this.#utcOffsetMinutes = -d.getTimezoneOffset();
  }

  #flagValue(
    flag: string,
    timeMs: number,
    epochSecond: number,
    levelRank: number,
    loggerName: string,
    message: string,
  ): string {
    switch (flag) {
      case 'v':
        return message;
      case '_':
        return message.includes('\n') ? message.replaceAll('\n', '\\n') : message;
      case 'j':
        return jsonEscape(message);
      case '+':
        return jsonEscape(untaggedMessage(message));
      case '*':
        return extractedTags(message);
      case 't':
        return this.#thread.threadName;
      case 'P':
        return String(this.#thread.pid);
      case 'n':
        return loggerName;
      case 'l':
        return LEVEL_NAMES[levelRank] ?? '';
      case 'L':
        return SHORT_LEVEL_NAMES[levelRank] ?? '';
      case 'a':
        return DAYS[this.#weekday] ?? '';
      case 'A':
        return FULL_DAYS[this.#weekday] ?? '';
      case 'b':
      case 'h':
        return MONTHS[this.#month] ?? '';
      case 'B':
        return FULL_MONTHS[this.#month] ?? '';
      case 'c':
        return (
          `${DAYS[this.#weekday]} ${MONTHS[this.#month]} ${this.#day} ` +
          `${pad2(this.#hour)}:${pad2(this.#minute)}:${pad2(this.#second)} ${this.#year}`
        );
      case 'C':
        return pad2(this.#year % 100);
      case 'Y':
        return String(this.#year);
      case 'D':
      case 'x':
        return `${pad2(this.#month + 1)}/${pad2(this.#day)}/${pad2(this.#year % 100)}`;
      case 'm':
        return pad2(this.#month + 1);
      case 'd':
        return pad2(this.#day);
      case 'H':
        return pad2(this.#hour);
      case 'I':
        return pad2(to12h(this.#hour));
      case 'M':
        return pad2(this.#minute);
      case 'S':
        return pad2(this.#second);
      case 'p':
        return this.#hour >= 12 ? 'PM' : 'AM';
      case 'r':
        return (
          `${pad2(to12h(this.#hour))}:${pad2(this.#minute)}:${pad2(this.#second)} ` +
          (this.#hour >= 12 ? 'PM' : 'AM')
        );
      case 'R':
        return `${pad2(this.#hour)}:${pad2(this.#minute)}`;
      case 'T':
      case 'X':
        return `${pad2(this.#hour)}:${pad2(this.#minute)}:${pad2(this.#second)}`;
      case 'z': {
        const offset = Math.abs(this.#utcOffsetMinutes);
        const sign = this.#utcOffsetMinutes < 0 ? '-' : '+';
        return `${sign}${pad2(Math.floor(offset / 60))}:${pad2(offset % 60)}`;
      }
      case 'e':
        return String(Math.floor(subSecondNanos(timeMs, epochSecond) / 1e6)).padStart(3, '0');
      case 'f':
        return String(Math.floor(subSecondNanos(timeMs, epochSecond) / 1e3)).padStart(6, '0');
      case 'F':
        return String(subSecondNanos(timeMs, epochSecond)).padStart(9, '0');
      case 'E':
        return String(epochSecond);
      case 'o':
        return String(Math.floor(this.#elapsedMs(timeMs)));
      case 'i':
        return String(Math.floor(this.#elapsedMs(timeMs) * 1e3));
      case 'u':
        return String(Math.floor(this.#elapsedMs(timeMs) * 1e6));
      case 'O':
        return String(Math.floor(this.#elapsedMs(timeMs) / 1e3));
      default:
        // `%^` `%$` (colour range) and the source-location flags print nothing.
        return '';
    }
  }

  #elapsedMs(timeMs: number): number {
    return Number.isNaN(this.#previousMs) ? 0 : Math.max(0, timeMs - this.#previousMs);
  }
}

/** Nanoseconds into the second, 0 ..= 999_999_999. */
function subSecondNanos(timeMs: number, epochSecond: number): number {
  return Math.min(999_999_999, Math.round((timeMs - epochSecond * 1000) * 1e6));
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** spdlog's `to12h`: 13..23 become 1..11; 0 stays 0. */
function to12h(hour: number): number {
  return hour > 12 ? hour - 12 : hour;
}

/** spdlog's `scoped_padder`. */
function pad(value: string, padding: Padding): string {
  const remaining = padding.width - value.length;
  if (remaining <= 0) return remaining < 0 && padding.truncate ? value.slice(0, padding.width) : value;
  switch (padding.side) {
    case 'left':
      return ' '.repeat(remaining) + value;
    case 'right':
      return value + ' '.repeat(remaining);
    case 'center': {
      const half = Math.floor(remaining / 2);
      return ' '.repeat(half) + value + ' '.repeat(remaining - half);
    }
  }
}

/** spdlog's `compile_pattern_` and `handle_padspec_`. */
function compilePattern(pattern: string): FormatOp[] {
  const ops: FormatOp[] = [];
  let text = '';
  const flushText = (): void => {
    if (text !== '') ops.push({ kind: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i]!;
    if (ch !== '%') {
      text += ch;
      i++;
      continue;
    }
    flushText();
    i++;
    let side: PadSide = 'left';
    if (pattern[i] === '-') {
      side = 'right';
      i++;
    } else if (pattern[i] === '=') {
      side = 'center';
      i++;
    }
    let padding: Padding | null = null;
    if (isDigit(pattern[i])) {
      let width = 0;
      while (isDigit(pattern[i])) width = width * 10 + (pattern.charCodeAt(i++) - 48);
      let truncate = false;
      if (pattern[i] === '!') {
        truncate = true;
        i++;
      }
      padding = { width: Math.min(width, MAX_PAD_WIDTH), side, truncate };
    }
    // With no digits, a `-`/`=` that was consumed is lost, as in spdlog.
    const flag = pattern[i];
    if (flag === undefined) break;
    i++;
    if (flag === '%') {
      ops.push({ kind: 'text', text: '%' });
    } else if (KNOWN_FLAGS.has(flag)) {
      ops.push({ kind: 'flag', flag, padding });
    } else {
      ops.push({ kind: 'text', text: '%' + flag });
    }
  }
  flushText();
  // Merge adjacent literals so each line concatenates as few pieces as possible.
  const merged: FormatOp[] = [];
  for (const op of ops) {
    const last = merged[merged.length - 1];
    if (op.kind === 'text' && last?.kind === 'text') last.text += op.text;
    else merged.push(op.kind === 'text' ? { kind: 'text', text: op.text } : op);
  }
  return merged;
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/**
 * Removes every `[` + source flags and `:` + `]` group, with one space after it (or, at
 * the end of a line, one before it). See the module comment.
 */
function dropSourceLocationGroups(ops: FormatOp[]): FormatOp[] {
  const out = ops.map((op) => (op.kind === 'text' ? { kind: 'text' as const, text: op.text } : op));
  for (let start = 0; start < out.length; start++) {
    const open = out[start];
    if (open?.kind !== 'text' || !open.text.endsWith('[')) continue;
    let end = start + 1;
    let sawSourceFlag = false;
    while (end < out.length) {
      const op = out[end]!;
      if (op.kind === 'flag' && SOURCE_FLAGS.has(op.flag)) sawSourceFlag = true;
      else if (!(op.kind === 'text' && /^:+$/.test(op.text))) break;
      end++;
    }
    const close = out[end];
    if (!sawSourceFlag || close?.kind !== 'text' || !close.text.startsWith(']')) continue;
    open.text = open.text.slice(0, -1);
    close.text = close.text.slice(1);
    if (close.text.startsWith(' ')) close.text = close.text.slice(1);
    else if (open.text.endsWith(' ')) open.text = open.text.slice(0, -1);
    out.splice(start + 1, end - start - 1);
  }
  return out.filter((op) => op.kind !== 'text' || op.text !== '');
}

/** Envoy's `%*`: the tags of a `[Tags: "k":"v",...] message` as `,"k":"v",...`; else ''. */
function extractedTags(message: string): string {
  if (!message.startsWith(TAGS_PREFIX)) return '';
  const end = message.indexOf(TAGS_SUFFIX_FOR_SEARCH);
  if (end < 0) return '';
  return ',' + message.slice(TAGS_PREFIX.length, end + 1);
}

/** Envoy's `%+` before escaping: the message without its `[Tags: ...] ` prefix. */
function untaggedMessage(message: string): string {
  if (!message.startsWith(TAGS_PREFIX)) return message;
  const end = message.indexOf(TAGS_SUFFIX_FOR_SEARCH);
  return end < 0 ? message : message.slice(end + TAGS_SUFFIX_FOR_SEARCH.length);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const JSON_SPECIAL = /["\\\u0000-\u001f]/;

/**
 * Envoy's `JsonEscaper::escapeString` (`%j`): `"` `\` and control characters escaped as in
 * JSON (`\b \f \n \r \t`, others `\u00xx`); everything else, non-ASCII included, as is.
 */
export function jsonEscape(s: string): string {
  if (!JSON_SPECIAL.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += '\\\\';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      default:
        out += c <= 0x1f ? '\\u00' + c.toString(16).padStart(2, '0') : s[i];
    }
  }
  return out;
}

const C_ESCAPE_SPECIAL = /[^\u0020-\u007e]|["'\\]/;

/**
 * Envoy's `DelegatingLogSink::escapeLogLine` (`--log-format-escaped`): the whole line goes
 * through `absl::CEscape` (`\n \r \t \" \' \\`; other bytes outside printable ASCII, UTF-8
 * bytes included, as three-digit octal), except its trailing whitespace, so the end of line
 * stays a real one.
 */
export function escapeLogLine(line: string): string {
  let end = line.length;
  while (end > 0 && isAsciiSpace(line.charCodeAt(end - 1))) end--;
  const body = line.slice(0, end);
  if (!C_ESCAPE_SPECIAL.test(body)) return line;
  return cEscape(body) + line.slice(end);
}

/** absl's `ascii_isspace`: space, \t, \n, \v, \f, \r. */
function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function cEscape(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  for (const b of bytes) {
    switch (b) {
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x22:
        out += '\\"';
        break;
      case 0x27:
        out += "\\'";
        break;
      case 0x5c:
        out += '\\\\';
        break;
      default:
        out += b < 0x20 || b >= 0x7f ? '\\' + b.toString(8).padStart(3, '0') : String.fromCharCode(b);
    }
  }
  return out;
}
