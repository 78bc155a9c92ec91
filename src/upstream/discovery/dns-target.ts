/**
 * What the DNS clusters share: their settings read from the cluster, and `ResolveTarget`,
 * which resolves one name again and again on the Dispatcher's timers.
 *
 * Main thread. A target owns its refresh timer and its failure back-off; its owner (a
 * STRICT_DNS or LOGICAL_DNS discovery) says whether a resolution counts as a success.
 * After a success the next resolution comes `dns_refresh_rate` later, or the answer's TTL
 * later with `respect_dns_ttl` (a TTL of 0 keeps the refresh rate); after a failure it
 * comes after the `dns_failure_refresh_rate` back-off (jittered, exponential), or the refresh
 * rate when that is unset. A success resets the back-off. Envoy counterpart:
 * `StrictDnsClusterImpl::ResolveTarget::startResolve` and `LogicalDnsCluster::startResolve`
 * (source/extensions/clusters/{strict_dns,logical_dns}/), and
 * `Config::Utility::prepareDnsRefreshStrategy`. Unlike Envoy, whose back-off is one per
 * cluster, each name has its own, so one failing name does not slow another's retries.
 */

import { type BackOffStrategy, FixedBackOff, JitteredExponentialBackOff } from '../../common/backoff.ts';
import { durationMs } from '../../config/durations.ts';
import { boolField, enumField, messageField } from '../../config/proto-fields.ts';
import type { ProtoMessage } from '../../config/types.ts';
import type { Dispatcher, Timer } from '../../event/types.ts';
import { DNS_LOOKUP_FAMILIES, type DnsLookup, lookup } from './dns-lookup.ts';
import type { DnsClusterSettings, DnsResolver } from './types.ts';

const DEFAULT_DNS_REFRESH_RATE_MS = 5000;

/** A cluster's DNS settings with Envoy's defaults, or why they are invalid. */
export function dnsClusterSettings(cluster: ProtoMessage): DnsClusterSettings | string {
  const refreshRateMs = durationMs(cluster['dns_refresh_rate'], DEFAULT_DNS_REFRESH_RATE_MS);
  let failureRefresh: DnsClusterSettings['failureRefresh'];
  const rate = messageField(cluster, 'dns_failure_refresh_rate');
  if (rate !== undefined) {
    const baseMs = durationMs(rate['base_interval'], 0);
    if (baseMs <= 0) return 'dns_failure_refresh_rate.base_interval must be set and greater than 0';
    const maxMs = durationMs(rate['max_interval'], baseMs * 10);
    if (maxMs < baseMs) {
      return 'dns_failure_refresh_rate must have max_interval greater than or equal to the base_interval';
    }
    failureRefresh = { baseMs, maxMs };
  }
  return {
    refreshRateMs,
    respectDnsTtl: boolField(cluster, 'respect_dns_ttl'),
    lookupFamily: enumField(cluster, 'dns_lookup_family', DNS_LOOKUP_FAMILIES, 'AUTO'),
    failureRefresh,
  };
}

/** What a DNS discovery needs to run. */
export interface DnsDiscoveryDeps {
  /** The main thread's dispatcher: refresh timers, and the batch each answer is handled in. */
  readonly dispatcher: Dispatcher;
  /** Owned by the discovery from now on: `destroy()` closes it. */
  readonly resolver: DnsResolver;
  /** Jitter source in [0, 1) for the failure back-off; `Math.random` when unset. */
  readonly random?: () => number;
}

/** What the owner made of one resolution. */
export type ResolutionVerdict =
  | { readonly success: true; readonly ttlS: number }
  | { readonly success: false };

/** Resolves one name, then again after each refresh interval, until destroyed. */
export class ResolveTarget {
  readonly name: string;
  private readonly settings: DnsClusterSettings;
  private readonly deps: DnsDiscoveryDeps;
  private readonly onResolved: (result: DnsLookup) => ResolutionVerdict;
  private readonly timer: Timer;
  private readonly backOff: BackOffStrategy;
  private destroyed = false;

  /** `onResolved` runs in a dispatcher batch for each resolution and judges it. */
  constructor(
    name: string,
    settings: DnsClusterSettings,
    deps: DnsDiscoveryDeps,
    onResolved: (result: DnsLookup) => ResolutionVerdict,
  ) {
    this.name = name;
    this.settings = settings;
    this.deps = deps;
    this.onResolved = onResolved;
    this.timer = deps.dispatcher.createTimer(() => this.startResolve());
    const f = settings.failureRefresh;
    this.backOff =
      f === undefined
        ? new FixedBackOff(settings.refreshRateMs)
        : new JitteredExponentialBackOff(f.baseMs, f.maxMs, deps.random ?? Math.random);
  }

  /** Sends the first query. */
  start(): void {
    this.startResolve();
  }

  /** Stops the timer; an answer still in flight is ignored. */
  destroy(): void {
    this.destroyed = true;
    this.timer.disableTimer();
  }

  private startResolve(): void {
    void lookup(this.deps.resolver, this.name, this.settings.lookupFamily).then((result) => {
      if (this.destroyed) return;
      this.deps.dispatcher.run(() => this.onLookup(result));
    });
  }

  private onLookup(result: DnsLookup): void {
    const verdict = this.onResolved(result);
    if (this.destroyed) return; // the owner was destroyed by what it called
    let nextMs: number;
    if (verdict.success) {
      this.backOff.reset();
      nextMs =
        this.settings.respectDnsTtl && verdict.ttlS > 0 ? verdict.ttlS * 1000 : this.settings.refreshRateMs;
    } else {
      nextMs = this.backOff.nextBackOffMs();
    }
    this.timer.enableTimer(nextMs);
  }
}
