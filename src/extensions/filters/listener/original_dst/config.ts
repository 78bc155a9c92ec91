/**
 * `envoy.filters.listener.original_dst`: restores the destination address a connection
 * had before iptables redirected it (`SO_ORIGINAL_DST`), so the listener can hand the
 * connection to the listener or cluster for that address.
 *
 * Main thread (config load); the message has no settings. Envoy counterpart:
 * `OriginalDstConfigFactory` (`source/extensions/filters/listener/original_dst/config.cc`).
 */

import type { ExtensionFactory } from '../../../../config/types.ts';

export type OriginalDstConfig = Record<string, never>;

export const originalDstFactory: ExtensionFactory<OriginalDstConfig> = {
  name: 'envoy.filters.listener.original_dst',
  category: 'envoy.filters.listener',
  configTypes: ['envoy.extensions.filters.listener.original_dst.v3.OriginalDst'],
  createConfig: () => ({}),
};
