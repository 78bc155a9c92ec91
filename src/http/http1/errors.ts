/**
 * Why the HTTP/1 codec rejects a message: the status of the local reply and Envoy's response
 * code details, one constant per reason.
 *
 * Any thread. The details strings are Envoy's (`%RESPONSE_CODE_DETAILS%` in access logs), the
 * messages follow Envoy's `http/1.1 protocol error: ...` wording and name the parser error
 * (`HPE_*`) the way Envoy's balsa adapter does. Envoy counterpart: `Http1ResponseCodeDetailValues`
 * in `source/common/http/http1/codec_impl.cc`, `StreamInfo::ResponseCodeDetails`.
 */
import type { CodecError } from '../types.ts';

/** Envoy's details strings for HTTP/1 codec rejections. */
export const Http1Details = Object.freeze({
  CodecError: 'http1.codec_error',
  TooManyHeaders: 'http1.too_many_headers',
  HeadersTooLarge: 'http1.headers_too_large',
  InvalidCharacters: 'http1.invalid_characters',
  InvalidUrl: 'http1.invalid_url',
  InvalidScheme: 'http1.invalid_scheme',
  /** An `https://` target on a plaintext connection of an edge proxy (`validate_scheme`). */
  HttpsInPlaintext: 'http1.https_url_on_plaintext_connection',
  InvalidTransferEncoding: 'http1.invalid_transfer_encoding',
  ChunkedContentLength: 'http1.content_length_and_chunked_not_allowed',
  BodyDisallowed: 'http1.body_disallowed',
  TransferEncodingNotAllowed: 'http1.transfer_encoding_not_allowed',
  ContentLengthNotAllowed: 'http1.content_length_not_allowed',
  InvalidUnderscore: 'http1.unexpected_underscore',
  /** `StreamInfo::ResponseCodeDetails::LowVersion`: HTTP/1.0 without `accept_http_10`. */
  LowVersion: 'low_version',
  /** `StreamInfo::ResponseCodeDetails::MissingHost`. */
  MissingHost: 'missing_host_header',
  /** `SharedResponseCodeDetails::InvalidAuthority`. */
  InvalidAuthority: 'http.invalid_authority',
});

export class Http1CodecError implements CodecError {
  readonly status: number;
  readonly details: string;
  readonly message: string;

  constructor(status: number, details: string, message: string) {
    this.status = status;
    this.details = details;
    this.message = `http/1.1 protocol error: ${message}`;
  }
}

/** A 400 with `http1.codec_error` and the parser's error name, as Envoy reports parser failures. */
export function parseError(name: string): Http1CodecError {
  return new Http1CodecError(400, Http1Details.CodecError, name);
}
