/**
 * `envoy.config.core.v3.Http1ProtocolOptions` (decoded, as the config factories keep it) turned
 * into the HTTP/1 codec's settings, with the connection manager's header limits.
 *
 * Any thread; a pure function called once per HCM config per worker. Envoy counterpart:
 * `Http1::parseHttp1Settings` (source/common/http/http1/settings.cc).
 */
import { boolField, messageField, numberField, stringField } from '../../config/proto-fields.ts';
import type { ProtoMessage } from '../../config/types.ts';
import {
  type HeadersWithUnderscoresAction,
  type Http1Settings,
  http1Settings,
  MAX_RESPONSE_HEADERS_KB,
} from '../http1/settings.ts';

const PRESERVE_CASE_CONFIG =
  'envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig';

/** The `header_key_format` of the options: proper case, the preserve_case formatter, or default. */
function headerKeyFormat(options: ProtoMessage | undefined): {
  format: Http1Settings['headerKeyFormat'];
  forwardReasonPhrase: boolean;
} {
  const format = messageField(options, 'header_key_format');
  if (format === undefined) return { format: 'default', forwardReasonPhrase: false };
  if (format['proper_case_words'] !== undefined) return { format: 'proper_case', forwardReasonPhrase: false };
  const stateful = messageField(format, 'stateful_formatter');
  const typed = messageField(stateful, 'typed_config');
  if (typed !== undefined && String(typed['@type'] ?? '').endsWith(PRESERVE_CASE_CONFIG)) {
    return { format: 'preserve_case', forwardReasonPhrase: boolField(typed, 'forward_reason_phrase') };
  }
  return { format: 'default', forwardReasonPhrase: false };
}

export interface Http1Limits {
  readonly maxRequestHeadersKb: number;
  readonly maxHeadersCount: number;
  readonly headersWithUnderscoresAction: HeadersWithUnderscoresAction;
  /** `http`, or `https` on a TLS listener. */
  readonly scheme: 'http' | 'https';
  /** Refuse `https://` targets on a plaintext connection (Envoy's edge-proxy `validate_scheme`). */
  readonly validateScheme: boolean;
}

/** Server codec settings from `http_protocol_options` and the connection manager's limits. */
export function http1SettingsFromOptions(
  options: ProtoMessage | undefined,
  limits: Http1Limits,
): Http1Settings {
  const keys = headerKeyFormat(options);
  return http1Settings({
    acceptHttp10: boolField(options, 'accept_http_10'),
    defaultHostForHttp10: stringField(options, 'default_host_for_http_10'),
    headerKeyFormat: keys.format,
    forwardReasonPhrase: keys.forwardReasonPhrase,
    enableTrailers: boolField(options, 'enable_trailers'),
    allowAbsoluteUrl: boolField(options, 'allow_absolute_url', true),
    allowChunkedLength: boolField(options, 'allow_chunked_length'),
    allowCustomMethods: boolField(options, 'allow_custom_methods'),
    maxHeadersKb: limits.maxRequestHeadersKb,
    maxHeadersCount: limits.maxHeadersCount,
    headersWithUnderscoresAction: limits.headersWithUnderscoresAction,
    scheme: limits.scheme,
    validateScheme: limits.validateScheme,
  });
}

/**
 * Whether an invalid message resets only the stream (true) or closes the connection (false,
 * Envoy's default): the options' override, else the connection manager's setting.
 */
export function streamErrorOnInvalidHttpMessage(
  options: ProtoMessage | undefined,
  hcmSetting: boolean | undefined,
): boolean {
  const override = options?.['override_stream_error_on_invalid_http_message'];
  if (typeof override === 'boolean') return override;
  return hcmSetting ?? false;
}

/**
 * A cluster's client codec settings: its `http_protocol_options` (header key format, trailers,
 * chunked length) and, from `common_http_protocol_options`, the response header limits
 * (`max_response_headers_kb`, 80 KiB; `max_headers_count`, 100). Envoy counterpart: the
 * upstream half of `Http1::parseHttp1Settings` with `ClusterInfoImpl`'s limits.
 */
export function upstreamHttp1Settings(
  options: ProtoMessage | undefined,
  common: ProtoMessage | undefined,
): Http1Settings {
  const keys = headerKeyFormat(options);
  return http1Settings({
    headerKeyFormat: keys.format,
    forwardReasonPhrase: keys.forwardReasonPhrase,
    enableTrailers: boolField(options, 'enable_trailers'),
    allowChunkedLength: boolField(options, 'allow_chunked_length'),
    maxHeadersKb: numberField(common, 'max_response_headers_kb', MAX_RESPONSE_HEADERS_KB),
    maxHeadersCount: numberField(common, 'max_headers_count', 100),
  });
}
