/**
 * `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`: a cluster's HTTP protocol
 * settings, given under `typed_extension_protocol_options` keyed by that name.
 *
 * Main thread (config load). Settles which protocol the cluster's connection pools speak
 * (explicit HTTP/1.1, HTTP/2 or HTTP/3, the downstream's, or ALPN-negotiated) and applies
 * the upstream defaults of `common_http_protocol_options` (a one-hour idle timeout, 100
 * headers). Envoy counterpart: `ProtocolOptionsConfigFactory` and
 * `ProtocolOptionsConfigImpl` (`source/extensions/upstreams/http/config.cc`).
 */
import { durationMs } from '../../../config/durations.ts';
import {
  at,
  boolField,
  enumField,
  messageField,
  numberField,
  stringField,
} from '../../../config/proto-fields.ts';
import type { ExtensionFactory, ProtoMessage } from '../../../config/types.ts';
import type { NestedExtension } from '../../common/nested-extensions.ts';
import { nestedExtensionsOf } from '../../common/nested-extensions.ts';

const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60 * 1000;
const DEFAULT_MAX_HEADERS_COUNT = 100;

const HEADERS_WITH_UNDERSCORES_ACTIONS = ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'] as const;

/** `auto`: ALPN picks among the options given (HTTP/1.1 and HTTP/2, HTTP/3 when configured). */
export type UpstreamProtocol = 'http1' | 'http2' | 'http3' | 'auto' | 'downstream';

export interface CommonHttpOptions {
  /** 0 disables the idle timeout. */
  readonly idleTimeoutMs: number;
  /** 0: no limit. */
  readonly maxConnectionDurationMs: number;
  readonly maxStreamDurationMs: number;
  /** 0: no limit. */
  readonly maxRequestsPerConnection: number;
  readonly maxHeadersCount: number;
  readonly headersWithUnderscoresAction: (typeof HEADERS_WITH_UNDERSCORES_ACTIONS)[number];
}

export interface HttpProtocolOptionsConfig {
  readonly protocol: UpstreamProtocol;
  /** Decoded protocol options, as is; unset ones mean the codec's defaults. */
  readonly http1Options: ProtoMessage | undefined;
  readonly http2Options: ProtoMessage | undefined;
  readonly http3Options: ProtoMessage | undefined;
  readonly alternateProtocolsCacheOptions: ProtoMessage | undefined;
  readonly commonOptions: CommonHttpOptions;
  readonly autoSni: boolean;
  readonly autoSanValidation: boolean;
  /** '' : SNI comes from the Host / :authority header. */
  readonly overrideAutoSniHeader: string;
  /** The cluster's upstream HTTP filters the resolver could build, in order. */
  readonly httpFilters: readonly NestedExtension[];
}

export const httpProtocolOptionsFactory: ExtensionFactory<HttpProtocolOptionsConfig> = {
  name: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  category: 'envoy.upstream_options',
  configTypes: ['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'],
  createConfig(m, ctx) {
    const explicit = messageField(m, 'explicit_http_config');
    const downstream = messageField(m, 'use_downstream_protocol_config');
    const auto = messageField(m, 'auto_config');
    // The oneof is required, so one of the three is set.
    const chosen = explicit ?? downstream ?? auto;
    let protocol: UpstreamProtocol;
    if (explicit !== undefined) {
      protocol = explicit['http2_protocol_options']
        ? 'http2'
        : explicit['http3_protocol_options']
          ? 'http3'
          : 'http1';
    } else {
      protocol = downstream !== undefined ? 'downstream' : 'auto';
    }
    // ProtocolOptionsConfigImpl: HTTP/3 in auto mode needs the alternate protocols cache.
    if (
      auto?.['http3_protocol_options'] !== undefined &&
      auto['alternate_protocols_cache_options'] === undefined
    ) {
      ctx.error(
        at(ctx.step, 'auto_config'),
        'alternate protocols cache must be configured when HTTP/3 is enabled with auto_config',
      );
    }

    const common = messageField(m, 'common_http_protocol_options');
    const upstream = messageField(m, 'upstream_http_protocol_options');
    return {
      protocol,
      http1Options: messageField(chosen, 'http_protocol_options'),
      http2Options: messageField(chosen, 'http2_protocol_options'),
      http3Options: messageField(chosen, 'http3_protocol_options'),
      alternateProtocolsCacheOptions: messageField(auto, 'alternate_protocols_cache_options'),
      commonOptions: {
        idleTimeoutMs: durationMs(common?.['idle_timeout'], DEFAULT_IDLE_TIMEOUT_MS),
        maxConnectionDurationMs: durationMs(common?.['max_connection_duration'], 0),
        maxStreamDurationMs: durationMs(common?.['max_stream_duration'], 0),
        maxRequestsPerConnection: numberField(common, 'max_requests_per_connection', 0),
        maxHeadersCount: numberField(common, 'max_headers_count', DEFAULT_MAX_HEADERS_COUNT),
        headersWithUnderscoresAction: enumField(
          common,
          'headers_with_underscores_action',
          HEADERS_WITH_UNDERSCORES_ACTIONS,
          'ALLOW',
        ),
      },
      autoSni: boolField(upstream, 'auto_sni'),
      autoSanValidation: boolField(upstream, 'auto_san_validation'),
      overrideAutoSniHeader: stringField(upstream, 'override_auto_sni_header'),
      httpFilters: nestedExtensionsOf(m, 'http_filters', ctx),
    };
  },
};
