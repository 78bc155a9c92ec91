/**
 * A cluster's hosts on one worker: `HostImpl` (a host with its in-flight counts),
 * `HostSetImpl` (one priority level: all, healthy and degraded hosts) and `PrioritySetImpl`
 * (every level), rebuilt from the `HostData[]` main posts.
 *
 * Runs on the worker that owns the cluster; only that thread touches it. `update()` keeps a
 * host's identity for the same key (`address:port`, IPv6 as `[addr]:port`), so active-request
 * counts and connection pools survive host-set changes, then tells every update callback which
 * hosts each changed priority gained and lost. Levels are never removed (Envoy keeps empty ones),
 * and priority 0 always exists. Envoy counterpart: `HostImpl`, `HostSetImpl`, `PrioritySetImpl`
 * in source/common/upstream/upstream_impl.cc.
 */
import type { HealthStatus, Host, HostData, HostSet, LocalityData, PrioritySet } from './types.ts';

/** How a load balancer sees a host: Envoy's `Host::Health`. */
export type CoarseHealth = 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY';

/** UNKNOWN and HEALTHY serve traffic, DEGRADED serves what is left over, the rest none. */
export function coarseHealth(status: HealthStatus): CoarseHealth {
  switch (status) {
    case 'UNKNOWN':
    case 'HEALTHY':
      return 'HEALTHY';
    case 'DEGRADED':
      return 'DEGRADED';
    default:
      return 'UNHEALTHY';
  }
}

/** `address:port`, IPv6 as `[addr]:port`: a host's identity in its cluster. */
export function hostKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export type PriorityUpdateCallback = (
  priority: number,
  added: readonly Host[],
  removed: readonly Host[],
) => void;

export class HostImpl implements Host {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  hostname: string;
  weight: number;
  priority: number;
  locality: LocalityData;
  localityWeight: number | undefined;
  healthStatus: HealthStatus;
  /** Index of this host's cells in the cluster's shared `hostStats`. */
  statsSlot: number | undefined;
  activeRequests = 0;
  activeConnections = 0;
  private health: CoarseHealth;

  constructor(data: HostData) {
    this.key = hostKey(data.address, data.port);
    this.address = data.address;
    this.port = data.port;
    this.hostname = data.hostname;
    this.weight = data.weight;
    this.priority = data.priority;
    this.locality = data.locality;
    this.localityWeight = data.localityWeight;
    this.healthStatus = data.healthStatus;
    this.statsSlot = data.statsSlot;
    this.health = coarseHealth(data.healthStatus);
  }

  healthy(): boolean {
    return this.health === 'HEALTHY';
  }

  degraded(): boolean {
    return this.health === 'DEGRADED';
  }

  coarseHealth(): CoarseHealth {
    return this.health;
  }

  /**
   * Takes the new data for the same key. Returns true when something a load balancer reads
   * (weight, health, locality) changed; a priority change shows up as a move between levels.
   */
  update(data: HostData): boolean {
    const changed =
      this.weight !== data.weight ||
      this.healthStatus !== data.healthStatus ||
      this.localityWeight !== data.localityWeight ||
      !sameLocality(this.locality, data.locality);
    this.hostname = data.hostname;
    this.weight = data.weight;
    this.priority = data.priority;
    this.locality = data.locality;
    this.localityWeight = data.localityWeight;
    this.healthStatus = data.healthStatus;
    this.statsSlot = data.statsSlot;
    this.health = coarseHealth(data.healthStatus);
    return changed;
  }
}

function sameLocality(a: LocalityData, b: LocalityData): boolean {
  return a.region === b.region && a.zone === b.zone && a.subZone === b.subZone;
}

/** One priority level. Its lists are replaced (never mutated) on update, so a reader's copy stays valid. */
export class HostSetImpl implements HostSet {
  readonly priority: number;
  hosts: readonly HostImpl[] = [];
  healthyHosts: readonly HostImpl[] = [];
  degradedHosts: readonly HostImpl[] = [];
  overprovisioningFactor: number;

  constructor(priority: number, overprovisioningFactor: number) {
    this.priority = priority;
    this.overprovisioningFactor = overprovisioningFactor;
  }

  setHosts(hosts: readonly HostImpl[]): void {
    this.hosts = hosts;
    this.healthyHosts = hosts.filter((h) => h.healthy());
    this.degradedHosts = hosts.filter((h) => h.degraded());
  }
}

/** Envoy's default overprovisioning factor, in percent (1.4). */
export const DEFAULT_OVERPROVISIONING_FACTOR = 140;

export class PrioritySetImpl implements PrioritySet {
  private readonly sets: HostSetImpl[];
  private readonly callbacks: PriorityUpdateCallback[] = [];
  private byKey = new Map<string, HostImpl>();
  private overprovisioningFactor: number;

  /**
   * @param overprovisioningFactor percent (140 = 1.4): `ClusterData.lb.overprovisioningFactor`.
   */
  constructor(hosts: readonly HostData[] = [], overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR) {
    this.overprovisioningFactor = overprovisioningFactor;
    this.sets = [new HostSetImpl(0, overprovisioningFactor)];
    this.update(hosts);
  }

  get hostSets(): readonly HostSetImpl[] {
    return this.sets;
  }

  addUpdateCallback(cb: PriorityUpdateCallback): void {
    this.callbacks.push(cb);
  }

  /** The host with this key (`address:port`), in any priority. */
  host(key: string): HostImpl | undefined {
    return this.byKey.get(key);
  }

  /**
   * Replaces the hosts of every priority with `hosts` (the first of duplicate keys wins), then
   * runs the update callbacks once per priority whose hosts, order, health or weights changed.
   * `overprovisioningFactor` (percent), when given, replaces the set's; a changed factor counts
   * as a change of every level.
   */
  update(hosts: readonly HostData[], overprovisioningFactor?: number): void {
    const factorChanged =
      overprovisioningFactor !== undefined && overprovisioningFactor !== this.overprovisioningFactor;
    if (overprovisioningFactor !== undefined) this.overprovisioningFactor = overprovisioningFactor;

    const byKey = new Map<string, HostImpl>();
    const perPriority: HostImpl[][] = [];
    const changedPriorities = new Set<number>();
    for (const data of hosts) {
      const key = hostKey(data.address, data.port);
      if (byKey.has(key)) continue;
      let host = this.byKey.get(key);
      if (host === undefined) {
        host = new HostImpl(data);
      } else if (host.update(data)) {
        changedPriorities.add(data.priority);
      }
      byKey.set(key, host);
      const priority = data.priority;
      while (perPriority.length <= priority) perPriority.push([]);
      perPriority[priority]!.push(host);
    }
    while (this.sets.length < perPriority.length) {
      this.sets.push(new HostSetImpl(this.sets.length, this.overprovisioningFactor));
    }

    const changes: Array<{ priority: number; added: HostImpl[]; removed: HostImpl[] }> = [];
    for (const set of this.sets) {
      const next = perPriority[set.priority] ?? [];
      const before = new Set(set.hosts);
      const after = new Set(next);
      const added = next.filter((h) => !before.has(h));
      const removed = set.hosts.filter((h) => !after.has(h));
      const reordered = next.length !== set.hosts.length || next.some((h, i) => set.hosts[i] !== h);
      if (factorChanged) set.overprovisioningFactor = this.overprovisioningFactor;
      if (reordered || factorChanged || changedPriorities.has(set.priority)) {
        set.setHosts(next);
        changes.push({ priority: set.priority, added, removed });
      }
    }
    this.byKey = byKey;
    for (const change of changes) {
      for (const cb of this.callbacks) cb(change.priority, change.added, change.removed);
    }
  }
}
