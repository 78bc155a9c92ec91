/**
 * `envoy.filters.listener.tls_inspector`: reads a TLS ClientHello without consuming it,
 * to expose SNI and ALPN for filter chain matching.
 *
 * Main thread (config load). Envoy counterpart: `TlsInspectorConfigFactory` and
 * `TlsInspector::Config` (`source/extensions/filters/listener/tls_inspector/`): the
 * initial read buffer defaults to the largest ClientHello it will read, 64 KiB.
 */

import { boolField, numberField } from '../../../../config/proto-fields.ts';
import type { ExtensionFactory } from '../../../../config/types.ts';

/** Envoy's `TlsInspector::Config::TLS_MAX_CLIENT_HELLO`. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export interface TlsInspectorConfig {
  readonly enableJa3Fingerprinting: boolean;
  readonly initialReadBufferSize: number;
}

export const tlsInspectorFactory: ExtensionFactory<TlsInspectorConfig> = {
  name: 'envoy.filters.listener.tls_inspector',
  category: 'envoy.filters.listener',
  configTypes: ['envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'],
  createConfig: (m) => ({
    enableJa3Fingerprinting: boolField(m, 'enable_ja3_fingerprinting'),
    initialReadBufferSize: numberField(m, 'initial_read_buffer_size', MAX_CLIENT_HELLO_BYTES),
  }),
};
