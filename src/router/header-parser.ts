/**
 * Header manipulation of a route table: `request_headers_to_add` / `_to_remove` and
 * `response_headers_to_add` / `_to_remove`, at the route configuration, virtual host, route
 * and weighted cluster levels.
 *
 * Any thread: compiled with the route table, evaluated on the worker that owns the stream.
 * Values are format strings of the access log formatter with empty values omitted, exactly
 * as Envoy parses them (`Formatter::FormatterImpl::create(value, true)`): `%REQ(x)%`,
 * `%DOWNSTREAM_REMOTE_ADDRESS%`, `%START_TIME(...)%`, `%HOSTNAME%`, `%PROTOCOL%`,
 * `%UPSTREAM_HOST%` and the rest of `src/access-log/commands.ts`; an operator Legate lacks
 * (`%UPSTREAM_METADATA(...)%`, `%FILTER_STATE(...)%`...) is reported when the table compiles.
 * The substitution context is the access log's `FormatterContext`: the stream's StreamInfo
 * (addresses, protocol, start time, upstream host once chosen) and its header maps.
 * Removals come first; then every value is formatted from the headers as they are, and only
 * then are overwrites and additions applied, so one entry never sees another's result.
 * Envoy counterpart: `Router::HeaderParser` (source/common/router/header_parser.cc).
 */
import { Buffer } from 'node:buffer';
import { compileFormat } from '../access-log/formatter.ts';
import type { Formatter, FormatterContext } from '../access-log/types.ts';
import {
  bytesField,
  enumField,
  isMessage,
  messageField,
  stringField,
  stringList,
} from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';
import type { HeaderMap } from '../http/types.ts';
import { asciiLower } from './matchers.ts';
import type { ProblemPath, ProblemSink } from './problems.ts';

export const HEADER_APPEND_ACTIONS = [
  'APPEND_IF_EXISTS_OR_ADD',
  'ADD_IF_ABSENT',
  'OVERWRITE_IF_EXISTS_OR_ADD',
  'OVERWRITE_IF_EXISTS',
] as const;
export type HeaderAppendAction = (typeof HEADER_APPEND_ACTIONS)[number];

/** One compiled `HeaderValueOption`. */
export interface HeaderToAdd {
  /** Lower-case. */
  readonly key: string;
  readonly formatter: Formatter;
  readonly appendAction: HeaderAppendAction;
  /** `keep_empty_value`: add the header even when its value formats to ''. */
  readonly keepEmptyValue: boolean;
}

/**
 * Whether a header may be added or removed by config: not a pseudo-header and not `host`
 * (Envoy's `HeaderUtility::isModifiableHeader` / `isRemovableHeader`).
 */
export function isModifiableHeader(name: string): boolean {
  return !name.startsWith(':') && asciiLower(name) !== 'host';
}

/** Pending (key, value) pairs of one `evaluate` call. */
const scratchOverwrite: string[] = [];
const scratchAppend: string[] = [];

export class HeaderParser {
  /** A parser that does nothing. */
  static readonly EMPTY: HeaderParser = new HeaderParser([], []);

  readonly headersToAdd: readonly HeaderToAdd[];
  /** Lower-case. */
  readonly headersToRemove: readonly string[];

  constructor(headersToAdd: readonly HeaderToAdd[], headersToRemove: readonly string[]) {
    this.headersToAdd = headersToAdd;
    this.headersToRemove = headersToRemove;
  }

  get isEmpty(): boolean {
    return this.headersToAdd.length === 0 && this.headersToRemove.length === 0;
  }

  /**
   * Applies the removals, then the additions with their append actions, to `headers`.
   * `ctx` is what values are formatted from (for request headers, its `requestHeaders` is
   * normally `headers` itself).
   */
  evaluate(headers: HeaderMap, ctx: FormatterContext): void {
    const remove = this.headersToRemove;
    for (let i = 0; i < remove.length; i++) headers.remove(remove[i]!);
    const add = this.headersToAdd;
    if (add.length === 0) return;
    // Format everything first, from the headers as they are, then apply: overwrites before
    // additions, as Envoy does. The scratch lists are shared: evaluation is synchronous.
    const overwrite = scratchOverwrite;
    const append = scratchAppend;
    overwrite.length = 0;
    append.length = 0;
    for (let i = 0; i < add.length; i++) {
      const entry = add[i]!;
      const value = entry.formatter.format(ctx);
      if (value === '' && !entry.keepEmptyValue) continue;
      switch (entry.appendAction) {
        case 'APPEND_IF_EXISTS_OR_ADD':
          append.push(entry.key, value);
          break;
        case 'ADD_IF_ABSENT':
          if (!headers.has(entry.key)) append.push(entry.key, value);
          break;
        case 'OVERWRITE_IF_EXISTS':
          if (headers.has(entry.key)) overwrite.push(entry.key, value);
          break;
        case 'OVERWRITE_IF_EXISTS_OR_ADD':
          overwrite.push(entry.key, value);
          break;
      }
    }
    for (let i = 0; i < overwrite.length; i += 2) headers.set(overwrite[i]!, overwrite[i + 1]!);
    for (let i = 0; i < append.length; i += 2) headers.add(append[i]!, append[i + 1]!);
    overwrite.length = 0;
    append.length = 0;
  }
}

/** A `HeaderValue`'s value: `value`, or `raw_value` bytes as Latin-1 text when `value` is unset. */
function headerValueText(header: ProtoMessage): string {
  if (header['value'] !== undefined) return stringField(header, 'value');
  const raw = bytesField(header, 'raw_value');
  return raw === undefined ? '' : Buffer.from(raw).toString('latin1');
}

/** One decoded `HeaderValueOption`; undefined (and a problem reported) when it cannot be used. */
export function compileHeaderToAdd(
  option: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
): HeaderToAdd | undefined {
  const header = messageField(option, 'header') ?? {};
  const key = stringField(header, 'key');
  if (!isModifiableHeader(key)) {
    sink.invalid([...path, 'header', 'key'], ':-prefixed or host headers may not be modified');
    return undefined;
  }
  let appendAction = enumField(option, 'append_action', HEADER_APPEND_ACTIONS, 'APPEND_IF_EXISTS_OR_ADD');
  const append = option['append'];
  if (typeof append === 'boolean') {
    if (appendAction !== 'APPEND_IF_EXISTS_OR_ADD') {
      sink.invalid([...path, 'append'], "Both append and append_action are set and it's not allowed");
      return undefined;
    }
    appendAction = append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
  }
  const compiled = compileFormat(headerValueText(header), { omitEmptyValues: true });
  if (!compiled.ok) {
    const valuePath = [...path, 'header', 'value'];
    if (compiled.unsupported) sink.unsupported(valuePath, compiled.error);
    else sink.invalid(valuePath, compiled.error);
    return undefined;
  }
  return {
    key: asciiLower(key),
    formatter: compiled.formatter,
    appendAction,
    keepEmptyValue: option['keep_empty_value'] === true,
  };
}

/**
 * The parser for one level: `m[addField]` (HeaderValueOption list) and `m[removeField]`
 * (header names). `HeaderParser.EMPTY` when both are empty.
 */
export function compileHeaderParser(
  m: ProtoMessage,
  addField: string,
  removeField: string,
  path: ProblemPath,
  sink: ProblemSink,
): HeaderParser {
  const add: HeaderToAdd[] = [];
  const list = m[addField];
  if (Array.isArray(list)) {
    list.forEach((option, i) => {
      if (!isMessage(option)) return;
      const entry = compileHeaderToAdd(option, [...path, addField, i], sink);
      if (entry !== undefined) add.push(entry);
    });
  }
  const remove: string[] = [];
  stringList(m, removeField).forEach((name, i) => {
    if (!isModifiableHeader(name)) {
      sink.invalid([...path, removeField, i], ':-prefixed or host headers may not be removed');
      return;
    }
    remove.push(asciiLower(name));
  });
  return add.length === 0 && remove.length === 0 ? HeaderParser.EMPTY : new HeaderParser(add, remove);
}
