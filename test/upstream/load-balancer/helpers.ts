/**
 * Test helpers for the load balancers: a seeded random source, host data and LB config
 * builders with Envoy's defaults, a counting stat, and pick tallies.
 */
import type {
  HealthStatus,
  Host,
  HostData,
  LbConfigData,
  LbPolicy,
  LoadBalancer,
  LoadBalancerContext,
} from '../../../src/upstream/types.ts';

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HostOptions {
  readonly port?: number;
  readonly weight?: number;
  readonly priority?: number;
  readonly health?: HealthStatus;
}

export function hostData(address: string, options: HostOptions = {}): HostData {
  return {
    address,
    port: options.port ?? 80,
    hostname: '',
    weight: options.weight ?? 1,
    priority: options.priority ?? 0,
    locality: { region: '', zone: '', subZone: '' },
    localityWeight: undefined,
    healthStatus: options.health ?? 'HEALTHY',
  };
}

/** `count` hosts 10.0.<priority>.1.. with the same options. */
export function hostRange(count: number, options: HostOptions = {}, first = 1): HostData[] {
  const hosts: HostData[] = [];
  for (let i = 0; i < count; i++) hosts.push(hostData(`10.0.${options.priority ?? 0}.${first + i}`, options));
  return hosts;
}

/** Envoy's defaults for every field, with `policy`. */
export function lbConfig(policy: LbPolicy, overrides: Partial<LbConfigData> = {}): LbConfigData {
  return {
    policy,
    healthyPanicThreshold: 50,
    overprovisioningFactor: 140,
    leastRequest: { choiceCount: 2, activeRequestBias: 1 },
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8 * 1024 * 1024 },
    maglev: { tableSize: 65537 },
    ...overrides,
  };
}

export class CountingStat {
  count = 0;
  inc(): void {
    this.count++;
  }
}

/** How many of `n` picks went to each host address (picks of undefined under ''). */
export function tally(
  lb: LoadBalancer,
  n: number,
  context: (i: number) => LoadBalancerContext | undefined = () => undefined,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const host: Host | undefined = lb.chooseHost(context(i));
    const key = host?.address ?? '';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
