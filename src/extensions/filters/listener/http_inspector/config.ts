/**
 * `envoy.filters.listener.http_inspector`: peeks at a connection's first bytes to tell
 * HTTP/1.x from HTTP/2 (prior knowledge), for filter chain matching on
 * `application_protocols`.
 *
 * Main thread (config load); the message has no settings. Envoy counterpart:
 * `HttpInspectorConfigFactory` (`source/extensions/filters/listener/http_inspector/config.cc`).
 */

import type { ExtensionFactory } from '../../../../config/types.ts';

export type HttpInspectorConfig = Record<string, never>;

export const httpInspectorFactory: ExtensionFactory<HttpInspectorConfig> = {
  name: 'envoy.filters.listener.http_inspector',
  category: 'envoy.filters.listener',
  configTypes: ['envoy.extensions.filters.listener.http_inspector.v3.HttpInspector'],
  createConfig: () => ({}),
};
