/**
 * LOGICAL_DNS cluster discovery: one endpoint, one logical host, whose address is the
 * first address of the latest answer.
 *
 * Main thread. Owns one `ResolveTarget` and the resolver (closed by `destroy()`). The host
 * appears with the first answer that has an address; a later answer whose first address
 * differs moves the host there (new connections go to the new address; connections already
 * open are the workers' business, as Envoy's logical host keeps them). An answer with no
 * address counts as a failure, as in Envoy, so the host never disappears once known. The
 * host is at priority 0 whatever the config says (Envoy's `convertPriority`), takes the
 * endpoint's port, weight, locality and health status, and as hostname the endpoint's
 * `hostname`, or the name resolved. With `respect_dns_ttl` the refresh follows the TTL of
 * the first address's record. `initialize` completes on the first resolution, answered or
 * failed. Envoy counterpart: source/extensions/clusters/logical_dns/logical_dns_cluster.cc
 * (`LogicalDnsCluster`).
 */
import type { ClusterDiscovery, HostData } from '../types.ts';
import type { DnsLookup } from './dns-lookup.ts';
import { type DnsDiscoveryDeps, type ResolutionVerdict, ResolveTarget } from './dns-target.ts';
import { type ConfiguredEndpoint, hostOf } from './endpoints.ts';
import type { DnsClusterSettings } from './types.ts';

export class LogicalDnsDiscovery implements ClusterDiscovery {
  private readonly endpoint: ConfiguredEndpoint;
  private readonly deps: DnsDiscoveryDeps;
  private readonly target: ResolveTarget;
  private current: readonly HostData[] = [];
  private onChanged: ((hosts: readonly HostData[]) => void) | undefined;
  private onInitialized: (() => void) | undefined;
  private initialized = false;
  private destroyed = false;

  /** `endpoints` must hold exactly one endpoint (the config layer checks it). */
  constructor(
    endpoints: readonly ConfiguredEndpoint[],
    settings: DnsClusterSettings,
    deps: DnsDiscoveryDeps,
  ) {
    const [only] = endpoints;
    if (only === undefined || endpoints.length !== 1) {
      throw new RangeError(`bug: a LOGICAL_DNS cluster has exactly one endpoint, got ${endpoints.length}`);
    }
    this.endpoint = { ...only, priority: 0 };
    this.deps = deps;
    this.target = new ResolveTarget(only.address, settings, deps, (r) => this.onResolved(r));
  }

  initialize(onInitialized: () => void): void {
    this.onInitialized = onInitialized;
    this.target.start();
  }

  hosts(): readonly HostData[] {
    return this.current;
  }

  setHostsChangedCallback(cb: (hosts: readonly HostData[]) => void): void {
    this.onChanged = cb;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.target.destroy();
    this.deps.resolver.close();
  }

  private onResolved(result: DnsLookup): ResolutionVerdict {
    const first = result.ok ? result.addresses[0] : undefined;
    if (result.ok && first !== undefined && this.current[0]?.address !== first) {
      const hostname = this.endpoint.hostname === '' ? this.target.name : this.endpoint.hostname;
      this.current = [hostOf(this.endpoint, first, hostname)];
      if (this.initialized) this.onChanged?.(this.current);
    }
    if (!this.initialized) {
      this.initialized = true;
      const cb = this.onInitialized;
      this.onInitialized = undefined;
      cb?.();
    }
    return result.ok && first !== undefined ? { success: true, ttlS: result.firstTtlS } : { success: false };
  }
}
