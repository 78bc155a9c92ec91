/**
 * Cost of one `chooseHost()` per load-balancing policy over 10 healthy hosts: round robin
 * (equal weights: rotation; weighted: EDF), least request (P2C; weighted: EDF), random, ring
 * hash and maglev (with a hash key per request, and without one), plus what a worker pays to
 * rebuild a ring or a maglev table when the host set changes.
 *
 * Each figure is the best of several rounds, after a warm-up, so the JIT has settled. Later
 * cases run with the shared call sites already polymorphic, as on a worker balancing clusters
 * of several policies; `node bench/micro/lb-pick.ts maglev` runs only the cases naming maglev.
 * Run alone: `node bench/micro/lb-pick.ts [filter]`.
 */
import { createLoadBalancer } from '../../src/upstream/load-balancer/factory.ts';
import { initHashing, xxhash64 } from '../../src/upstream/load-balancer/hash.ts';
import { PrioritySetImpl } from '../../src/upstream/priority-set.ts';
import type {
  HostData,
  LbConfigData,
  LbPolicy,
  LoadBalancer,
  LoadBalancerContext,
} from '../../src/upstream/types.ts';

await initHashing();

function hosts(weighted: boolean): HostData[] {
  return Array.from({ length: 10 }, (_, i) => ({
    address: `10.0.0.${i + 1}`,
    port: 8080,
    hostname: '',
    weight: weighted ? 1 + (i % 3) : 1,
    priority: 0,
    locality: { region: '', zone: '', subZone: '' },
    localityWeight: undefined,
    healthStatus: 'HEALTHY' as const,
  }));
}

function config(policy: LbPolicy): LbConfigData {
  return {
    policy,
    healthyPanicThreshold: 50,
    overprovisioningFactor: 140,
    leastRequest: { choiceCount: 2, activeRequestBias: 1 },
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8 * 1024 * 1024 },
    maglev: { tableSize: 65537 },
  };
}

const stats = { lbHealthyPanic: { inc(): void {} } };

/** Best ns/op over `rounds` runs of `n` operations. */
function measure(n: number, rounds: number, body: (n: number) => void): number {
  body(n); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    body(n);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return best;
}

// Request contexts carrying distinct hash keys, made once so the loop measures the pick only.
const CONTEXTS: LoadBalancerContext[] = Array.from({ length: 4096 }, (_, i) => {
  const key = xxhash64(`client-${i}`);
  return { computeHashKey: () => key };
});

let sink = 0;
function pickLoop(lb: LoadBalancer, withKey: boolean): (n: number) => void {
  return (n) => {
    for (let i = 0; i < n; i++) {
      const host = lb.chooseHost(withKey ? CONTEXTS[i & 4095] : undefined);
      if (host !== undefined) sink += host.port;
    }
  };
}

const N = 2_000_000;
const cases: Array<[string, LbPolicy, boolean, boolean]> = [
  ['round_robin pick', 'ROUND_ROBIN', false, false],
  ['round_robin weighted (EDF) pick', 'ROUND_ROBIN', true, false],
  ['least_request pick', 'LEAST_REQUEST', false, false],
  ['least_request weighted (EDF) pick', 'LEAST_REQUEST', true, false],
  ['random pick', 'RANDOM', false, false],
  ['ring_hash pick (hash key)', 'RING_HASH', false, true],
  ['ring_hash pick (no key)', 'RING_HASH', false, false],
  ['maglev pick (hash key)', 'MAGLEV', false, true],
  ['maglev pick (no key)', 'MAGLEV', false, false],
];
const only = process.argv[2];
for (const [label, policy, weighted, withKey] of cases) {
  if (only !== undefined && !label.includes(only)) continue;
  const lb = createLoadBalancer(config(policy), new PrioritySetImpl(hosts(weighted)), stats, Math.random);
  console.log(`lb: ${label}  ${measure(N, 5, pickLoop(lb, withKey)).toFixed(1)} ns/op`);
}

for (const policy of ['RING_HASH', 'MAGLEV'] as const) {
  if (only !== undefined && !policy.toLowerCase().includes(only)) continue;
  const prioritySet = new PrioritySetImpl(hosts(false));
  createLoadBalancer(config(policy), prioritySet, stats, Math.random);
  const a = hosts(false);
  const b = a.slice(1);
  const rebuilds = 20;
  const us =
    measure(rebuilds, 3, (n) => {
      for (let i = 0; i < n; i++) prioritySet.update(i % 2 === 0 ? b : a);
    }) / 1000;
  console.log(`lb: ${policy.toLowerCase()} rebuild on host change (10 hosts)  ${us.toFixed(0)} µs`);
}
if (sink === 0) throw new Error('no host was picked');
