/**
 * `envoy.retry_host_predicates.previous_hosts`: a route's retry avoids the hosts its earlier
 * attempts went to (the load balancer picks again, up to the retry policy's
 * `host_selection_retry_max_attempts` times). It has no settings.
 *
 * Main thread (config load). The router's retry state applies it by name
 * (`src/router/retry-state.ts`). Envoy counterpart: `PreviousHostsRetryPredicateFactory`
 * (source/extensions/retry/host/previous_hosts/config.cc).
 */

import type { ExtensionFactory } from '../../../../config/types.ts';

export type PreviousHostsPredicateConfig = Record<string, never>;

export const previousHostsPredicateFactory: ExtensionFactory<PreviousHostsPredicateConfig> = {
  name: 'envoy.retry_host_predicates.previous_hosts',
  category: 'envoy.retry_host_predicates',
  configTypes: ['envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'],
  createConfig: () => ({}),
};
