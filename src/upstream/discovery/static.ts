/**
 * STATIC cluster discovery: the hosts are the configured endpoints, known at once.
 *
 * Main thread. Owns nothing that runs later: no timers, no look-ups; `initialize`
 * completes before it returns. Envoy counterpart:
 * source/extensions/clusters/static/static_cluster.cc (`StaticClusterImpl`, whose
 * `startPreInit` builds the priority set and calls `onPreInitComplete` at once).
 */
import type { ClusterDiscovery, HostData } from '../types.ts';
import { type ConfiguredEndpoint, hostOf } from './endpoints.ts';

export class StaticDiscovery implements ClusterDiscovery {
  private readonly staticHosts: readonly HostData[];

  /** `endpoints` carry IP addresses (the config layer rejects names in a STATIC cluster). */
  constructor(endpoints: readonly ConfiguredEndpoint[]) {
    this.staticHosts = endpoints.map((e) => hostOf(e, e.address, e.hostname));
  }

  initialize(onInitialized: () => void): void {
    onInitialized();
  }

  hosts(): readonly HostData[] {
    return this.staticHosts;
  }

  /** The hosts never change. */
  setHostsChangedCallback(_cb: (hosts: readonly HostData[]) => void): void {}

  destroy(): void {}
}
