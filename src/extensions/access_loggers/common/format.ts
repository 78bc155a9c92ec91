/**
 * Access log formats: `envoy.config.core.v3.SubstitutionFormatString` and Envoy's default
 * format, as the internal configs carry them (the format text is parsed into commands by
 * the formatter on the worker side, not here).
 *
 * Main thread, called by the access logger factories while a config loads. Envoy
 * counterpart: `Formatter::SubstitutionFormatStringUtils::fromProtoConfig` and
 * `HttpSubstitutionFormatUtils::defaultSubstitutionFormatter`
 * (`source/common/formatter/substitution_format_string.cc`).
 */

import { boolField, messageField, stringField } from '../../../config/proto-fields.ts';
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

/** A decoded SubstitutionFormatString (its `format` oneof is required, so one of the three is set). */
export function substitutionFormatOf(m: ProtoMessage, ctx: ExtensionContext): AccessLogFormat {
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
  return {
    source,
    omitEmptyValues: boolField(m, 'omit_empty_values'),
    contentType:
      stringField(m, 'content_type') || (source.kind === 'json' ? JSON_CONTENT_TYPE : TEXT_CONTENT_TYPE),
    formatters: nestedExtensionsOf(m, 'formatters', ctx),
  };
}
