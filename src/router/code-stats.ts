/**
 * The router's per-response-code cluster stats: `cluster.<name>.upstream_rq_completed`,
 * `upstream_rq_<class>xx`, `upstream_rq_<code>`, their `internal.` / `external.` splits, the
 * `retry.` ones for retried responses, and the `upstream_rq_time` histograms.
 *
 * Worker thread. The counters are made on first use and kept per cluster in arrays indexed
 * by code, so charging a response allocates nothing (no stat name is built per request).
 * Envoy counterpart: `Http::CodeStatsImpl` (source/common/http/codes.cc): `chargeResponseStat`,
 * `chargeBasicResponseStat`, `chargeResponseTiming`.
 */
import type { Counter, Histogram, Scope } from '../stats/types.ts';
import type { ThreadLocalCluster } from '../upstream/thread-local-cluster-manager.ts';

const PLAIN = 0;
const INTERNAL = 1;
const EXTERNAL = 2;
const RETRY = 3;
const PREFIXES = ['', 'internal.', 'external.', 'retry.'] as const;

/** One prefix's counters: by exact code, by class, and completed. */
class CodeCounters {
  private readonly scope: Scope;
  private readonly prefix: string;
  private readonly byCode: Array<Counter | undefined> = [];
  private readonly byClass: Array<Counter | undefined> = [];
  private completedCounter: Counter | undefined;

  constructor(scope: Scope, prefix: string) {
    this.scope = scope;
    this.prefix = prefix;
  }

  code(code: number): Counter {
    let c = this.byCode[code];
    if (c === undefined) {
      c = this.scope.counter(`${this.prefix}upstream_rq_${code}`);
      this.byCode[code] = c;
    }
    return c;
  }

  group(code: number): Counter {
    const cls = Math.floor(code / 100);
    let c = this.byClass[cls];
    if (c === undefined) {
      c = this.scope.counter(`${this.prefix}upstream_rq_${cls}xx`);
      this.byClass[cls] = c;
    }
    return c;
  }

  completed(): Counter {
    this.completedCounter ??= this.scope.counter(`${this.prefix}upstream_rq_completed`);
    return this.completedCounter;
  }
}

export class ClusterCodeStats {
  private readonly scope: Scope;
  private readonly counters: CodeCounters[];
  private readonly times: Array<Histogram | undefined> = [];

  constructor(scope: Scope) {
    this.scope = scope;
    this.counters = PREFIXES.map((p) => new CodeCounters(scope, p));
  }

  /** A response (or a local reply standing for one) with `code`; `internal`: x-envoy-internal. */
  chargeResponse(code: number, internal: boolean): void {
    if (code < 100 || code > 999) return;
    const plain = this.counters[PLAIN]!;
    plain.completed().inc();
    plain.group(code).inc();
    plain.code(code).inc();
    const split = this.counters[internal ? INTERNAL : EXTERNAL]!;
    split.group(code).inc();
    split.code(code).inc();
  }

  /** A response the router retried: `retry.upstream_rq_<code>`... */
  chargeRetriedResponse(code: number): void {
    if (code < 100 || code > 999) return;
    const retry = this.counters[RETRY]!;
    retry.completed().inc();
    retry.group(code).inc();
    retry.code(code).inc();
  }

  /** `upstream_rq_time` and its internal/external split, in ms. */
  chargeResponseTiming(ms: number, internal: boolean): void {
    this.histogram(PLAIN).recordValue(ms);
    this.histogram(internal ? INTERNAL : EXTERNAL).recordValue(ms);
  }

  private histogram(prefix: number): Histogram {
    let h = this.times[prefix];
    if (h === undefined) {
      h = this.scope.histogram(`${PREFIXES[prefix]}upstream_rq_time`, 'Milliseconds');
      this.times[prefix] = h;
    }
    return h;
  }
}

const perCluster = new WeakMap<ThreadLocalCluster, ClusterCodeStats>();

/** The code stats of `cluster` on this worker. */
export function codeStatsOf(cluster: ThreadLocalCluster): ClusterCodeStats {
  let stats = perCluster.get(cluster);
  if (stats === undefined) {
    stats = new ClusterCodeStats(cluster.scope);
    perCluster.set(cluster, stats);
  }
  return stats;
}
