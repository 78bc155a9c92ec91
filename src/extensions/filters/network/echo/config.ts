/**
 * `envoy.filters.network.echo`: a terminal network filter that writes every byte it reads
 * back to the peer. It has no settings.
 *
 * Main thread (config load). Envoy counterpart: `EchoConfigFactory`
 * (`source/extensions/filters/network/echo/config.cc`), terminal like here.
 */

import type { ExtensionFactory } from '../../../../config/types.ts';

export type EchoConfig = Record<string, never>;

export const echoFactory: ExtensionFactory<EchoConfig> = {
  name: 'envoy.filters.network.echo',
  category: 'envoy.filters.network',
  configTypes: ['envoy.extensions.filters.network.echo.v3.Echo'],
  terminal: true,
  createConfig: () => ({}),
};
