/**
 * Type-only contracts shared by the filter extensions (listener, network, HTTP).
 *
 * Envoy counterpart: `isTerminalFilterByProto` on `NamedNetworkFilterConfigFactory` and
 * `NamedHttpFilterConfigFactory` (`envoy/server/filter_config.h`): a terminal filter must
 * end its chain, and only it may, which `Config::Utility::validateTerminalFilters` checks
 * when the chain is built.
 */
import type { ExtensionFactory } from '../../config/types.ts';

/** A filter's factory; `terminal` marks a filter that ends its chain (the router, tcp_proxy, the HCM). */
export type FilterFactory<C> = ExtensionFactory<C> & { readonly terminal?: boolean };
