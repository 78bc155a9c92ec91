/**
 * Access log formats: `envoy.config.core.v3.SubstitutionFormatString` and Envoy's default
 * format, as the internal configs carry them. The format text travels as text (the worker
 * compiles it when it builds the logger); here it is compiled once only to report what
 * Envoy would reject (an unknown operator, bad syntax) at the field that holds it. A
 * `text_format_source` naming a file or an environment variable is checked when read.
 *
 * Main thread, called by the access logger factories while a config loads. Envoy
 * counterpart: `Formatter::SubstitutionFormatStringUtils::fromProtoConfig` and
 * `HttpSubstitutionFormatUtils::defaultSubstitutionFormatter`
 * (`source/common/formatter/substitution_format_string.cc`).
 */

import { type CompileResult, compileFormat, compileJsonFormat } from '../../../access-log/formatter.ts';
import type { PathStep } from '../../../config/errors.ts';
import { at, boolField, messageField, stringField } from '../../../config/proto-fields.ts';
import type { ExtensionContext, ProtoMessage } from '../../../config/types.ts';
import type { DataSource } from '../../common/data-source.ts';
import { dataSourceField } from '../../common/data-source.ts';
import type { NestedExtension } from '../../common/nested-extensions.ts';
import { nestedExtensionsOf } from '../../common/nested-extensions.ts';

/** Envoy's default access log format (`config_access_log_default_format`), newline included. */
export const DEFAULT_ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  '%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ' +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

const TEXT_CONTENT_TYPE = 'text/plain; charset=UTF-8';
const JSON_CONTENT_TYPE = 'application/json';

export type FormatSource =
  | { readonly kind: 'text'; readonly text: string }
  /** Read when the logger starts, not at validation. */
  | { readonly kind: 'text_source'; readonly source: DataSource }
  /** A google.protobuf.Struct whose string leaves are format strings. */
  | { readonly kind: 'json'; readonly json: ProtoMessage; readonly sortProperties: boolean };

export interface AccessLogFormat {
  readonly source: FormatSource;
  readonly omitEmptyValues: boolean;
  /** `content_type`, or the default of the format's kind (used by local replies). */
  readonly contentType: string;
  /** Custom command parsers (`formatters`), already built by their factories. */
  readonly formatters: readonly NestedExtension[];
}

export function defaultAccessLogFormat(): AccessLogFormat {
  return textFormat(DEFAULT_ACCESS_LOG_FORMAT);
}

export function textFormat(text: string): AccessLogFormat {
  return {
    source: { kind: 'text', text },
    omitEmptyValues: false,
    contentType: TEXT_CONTENT_TYPE,
    formatters: [],
  };
}

export function jsonFormat(json: ProtoMessage): AccessLogFormat {
  return {
    source: { kind: 'json', json, sortProperties: false },
    omitEmptyValues: false,
    contentType: JSON_CONTENT_TYPE,
    formatters: [],
  };
}

/**
 * A decoded SubstitutionFormatString (its `format` oneof is required, so one of the three
 * is set). With `step`, the path of `m`, its format is checked and problems reported there.
 */
export function substitutionFormatOf(
  m: ProtoMessage,
  ctx: ExtensionContext,
  step?: PathStep | undefined,
): AccessLogFormat {
  const json = messageField(m, 'json_format');
  const textSource = dataSourceField(m, 'text_format_source');
  let source: FormatSource;
  if (json !== undefined) {
    source = {
      kind: 'json',
      json,
      sortProperties: boolField(messageField(m, 'json_format_options'), 'sort_properties'),
    };
  } else if (textSource !== undefined) {
    source = { kind: 'text_source', source: textSource };
  } else {
    source = { kind: 'text', text: stringField(m, 'text_format') };
  }
  const format: AccessLogFormat = {
    source,
    omitEmptyValues: boolField(m, 'omit_empty_values'),
    contentType:
      stringField(m, 'content_type') || (source.kind === 'json' ? JSON_CONTENT_TYPE : TEXT_CONTENT_TYPE),
    formatters: nestedExtensionsOf(m, 'formatters', ctx),
  };
  if (step !== undefined) {
    const field = { text: 'text_format', text_source: 'text_format_source', json: 'json_format' }[
      source.kind
    ];
    checkFormat(format, at(step, field), ctx);
  }
  return format;
}

/**
 * Reports a format Envoy would refuse: `step` is the path of the value holding it (the
 * text, the JSON struct, or the DataSource). An operator Envoy has but Legate lacks is
 * reported as unsupported. A `text_format_source` is checked only when inline.
 */
export function checkFormat(
  format: AccessLogFormat,
  step: PathStep | undefined,
  ctx: ExtensionContext,
): void {
  const source = format.source;
  let result: CompileResult;
  let where = step;
  if (source.kind === 'text') {
    result = compileFormat(source.text);
  } else if (source.kind === 'json') {
    result = compileJsonFormat(source.json);
  } else if ('inlineString' in source.source) {
    result = compileFormat(source.source.inlineString);
    where = at(step, 'inline_string');
  } else {
    return;
  }
  if (result.ok) return;
  where = at(where, ...result.path);
  if (result.unsupported) ctx.unsupported(where, result.error);
  else ctx.error(where, result.error);
}
