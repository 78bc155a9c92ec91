/**
 * `envoy.transport_sockets.raw_buffer`: plaintext, the transport socket a listener or
 * cluster uses when none is configured.
 *
 * Main thread (config load); the message has no settings. Envoy counterpart:
 * `DownstreamRawBufferSocketFactory` / `UpstreamRawBufferSocketFactory`
 * (`source/extensions/transport_sockets/raw_buffer/config.cc`). Envoy registers one per
 * side, under the categories `envoy.transport_sockets.downstream` and `.upstream`; the
 * decoder records every `TransportSocket` under `envoy.transport_sockets`, so one
 * factory serves both.
 */
import type { ExtensionFactory } from '../../../config/types.ts';

export type RawBufferConfig = Record<string, never>;

export const rawBufferFactory: ExtensionFactory<RawBufferConfig> = {
  name: 'envoy.transport_sockets.raw_buffer',
  category: 'envoy.transport_sockets',
  configTypes: ['envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer'],
  createConfig: () => ({}),
};
