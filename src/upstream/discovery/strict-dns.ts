/**
 * STRICT_DNS cluster discovery: every configured endpoint is a name resolved on its own,
 * and every address of its latest answer is a host.
 *
 * Main thread. Owns one `ResolveTarget` per endpoint and the resolver (closed by
 * `destroy()`). A host takes its endpoint's port, weight, priority, locality and health
 * status, and as hostname the endpoint's `hostname`, or the name resolved when that is
 * unset. An answer replaces that endpoint's hosts (duplicates dropped); a successful answer
 * with no records leaves the endpoint without hosts; a failed resolution keeps the hosts it
 * had. Answers that only reorder the same addresses change nothing (round-robin DNS does
 * not churn the host set). `initialize` completes once every endpoint has had its first
 * resolution, answered or failed (at once when there are no endpoints); Envoy completes
 * on the first resolution of any endpoint. Envoy counterpart:
 * source/extensions/clusters/strict_dns/strict_dns_cluster.cc (`StrictDnsClusterImpl`).
 */
import type { ClusterDiscovery, HostData } from '../types.ts';
import type { DnsLookup } from './dns-lookup.ts';
import { type DnsDiscoveryDeps, type ResolutionVerdict, ResolveTarget } from './dns-target.ts';
import { type ConfiguredEndpoint, hostOf } from './endpoints.ts';
import type { DnsClusterSettings } from './types.ts';

interface EndpointState {
  readonly endpoint: ConfiguredEndpoint;
  readonly target: ResolveTarget;
  hosts: readonly HostData[];
  resolved: boolean;
}

export class StrictDnsDiscovery implements ClusterDiscovery {
  private readonly deps: DnsDiscoveryDeps;
  private readonly states: EndpointState[];
  private current: readonly HostData[] = [];
  private onChanged: ((hosts: readonly HostData[]) => void) | undefined;
  private onInitialized: (() => void) | undefined;
  private unresolved: number;
  private initialized = false;
  private destroyed = false;

  constructor(
    endpoints: readonly ConfiguredEndpoint[],
    settings: DnsClusterSettings,
    deps: DnsDiscoveryDeps,
  ) {
    this.deps = deps;
    this.states = endpoints.map((endpoint) => {
      const state: EndpointState = {
        endpoint,
        target: new ResolveTarget(endpoint.address, settings, deps, (r) => this.onResolved(state, r)),
        hosts: [],
        resolved: false,
      };
      return state;
    });
    this.unresolved = this.states.length;
  }

  initialize(onInitialized: () => void): void {
    this.onInitialized = onInitialized;
    for (const s of this.states) s.target.start();
    if (this.states.length === 0) this.completeInitialization();
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
    for (const s of this.states) s.target.destroy();
    this.deps.resolver.close();
  }

  private onResolved(state: EndpointState, result: DnsLookup): ResolutionVerdict {
    if (result.ok) {
      const hostname = state.endpoint.hostname === '' ? state.target.name : state.endpoint.hostname;
      const addresses = [...new Set(result.addresses)];
      if (!sameSet(addresses, state.hosts)) {
        state.hosts = addresses.map((a) => hostOf(state.endpoint, a, hostname));
        this.current = this.states.flatMap((s) => s.hosts);
        if (this.initialized) this.onChanged?.(this.current);
      }
    }
    if (!state.resolved) {
      state.resolved = true;
      if (--this.unresolved === 0) this.completeInitialization();
    }
    return result.ok ? { success: true, ttlS: result.ttlS } : { success: false };
  }

  private completeInitialization(): void {
    if (this.initialized) return;
    this.initialized = true;
    const cb = this.onInitialized;
    this.onInitialized = undefined;
    cb?.();
  }
}

function sameSet(addresses: readonly string[], hosts: readonly HostData[]): boolean {
  if (addresses.length !== hosts.length) return false;
  const had = new Set(hosts.map((h) => h.address));
  return addresses.every((a) => had.has(a));
}
