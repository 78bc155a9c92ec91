/**
 * The settings of an HTTP/1 codec: Envoy's `Http1ProtocolOptions` and the header limits of
 * `HttpConnectionManager` / `HttpProtocolOptions`, resolved to plain values.
 *
 * Any thread; plain data (structured-cloneable), built once per listener or cluster and shared
 * by its codecs. Defaults are Envoy's. Envoy counterpart: `Http::Http1Settings`
 * (`envoy/http/codec.h`) and `Http1::parseHttp1Settings` (`source/common/http/http1/settings.cc`).
 */

/** How header keys are written: lower-case (Envoy's default), Proper-Case, or as received. */
export type HeaderKeyFormat = 'default' | 'proper_case' | 'preserve_case';

/** `HttpProtocolOptions.headers_with_underscores_action`. */
export type HeadersWithUnderscoresAction = 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';

export interface Http1Settings {
  /** `accept_http_10`: without it an HTTP/1.0 request gets 426 (`low_version`), as in Envoy. */
  readonly acceptHttp10: boolean;
  /** `default_host_for_http_10`: the Host given to an HTTP/1.0 request that has none. */
  readonly defaultHostForHttp10: string;
  /** `header_key_format`: `proper_case_words` or the `preserve_case` stateful formatter. */
  readonly headerKeyFormat: HeaderKeyFormat;
  /** preserve_case's `forward_reason_phrase`: an upstream's reason phrase is sent downstream. */
  readonly forwardReasonPhrase: boolean;
  /** `enable_trailers`: off (Envoy's default) drops received trailers and sends none. */
  readonly enableTrailers: boolean;
  /** `allow_absolute_url`: accept absolute-form request targets (proxy requests). */
  readonly allowAbsoluteUrl: boolean;
  /** `allow_chunked_length`: a chunked request with Content-Length loses the Content-Length instead of a 400. */
  readonly allowChunkedLength: boolean;
  /** `allow_custom_methods`: any token is a method; otherwise only the registered methods are. */
  readonly allowCustomMethods: boolean;
  /** `max_request_headers_kb` (60) for a server codec; 80 is Envoy's fixed limit for responses. */
  readonly maxHeadersKb: number;
  /** `max_headers_count` (100). */
  readonly maxHeadersCount: number;
  /** `headers_with_underscores_action` (server side only, as in Envoy). */
  readonly headersWithUnderscoresAction: HeadersWithUnderscoresAction;
  /**
   * What the connection is: `https` on a TLS listener, else `http`. An origin-form request gets
   * no `:scheme` from the codec (the connection manager sets it, as in Envoy).
   */
  readonly scheme: 'http' | 'https';
  /**
   * Envoy's `validate_scheme`: an `https://` absolute-form target on a plaintext connection is a
   * 403 (`http1.https_url_on_plaintext_connection`). The connection manager turns it on for an
   * edge proxy (`use_remote_address` with no trusted hops).
   */
  readonly validateScheme: boolean;
}

/** Envoy's fixed limit on upstream response headers (`MAX_RESPONSE_HEADERS_KB`). */
export const MAX_RESPONSE_HEADERS_KB = 80;

export const DEFAULT_HTTP1_SETTINGS: Http1Settings = Object.freeze({
  acceptHttp10: false,
  defaultHostForHttp10: '',
  headerKeyFormat: 'default',
  forwardReasonPhrase: false,
  enableTrailers: false,
  allowAbsoluteUrl: true,
  allowChunkedLength: false,
  allowCustomMethods: false,
  maxHeadersKb: 60,
  maxHeadersCount: 100,
  headersWithUnderscoresAction: 'ALLOW',
  scheme: 'http',
  validateScheme: false,
});

/** Envoy's defaults with `overrides` applied. */
export function http1Settings(overrides: Partial<Http1Settings> = {}): Http1Settings {
  return Object.freeze({ ...DEFAULT_HTTP1_SETTINGS, ...overrides });
}
