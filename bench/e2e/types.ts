/**
 * The data of one side-by-side benchmark run, as measured and as written to
 * `bench/results/<timestamp>.json` (the markdown report is rendered from it, and
 * `bench/e2e/compare.ts` reads two of them). Type-only.
 */
import type { Family, Placement } from './contenders.ts';
import type { WrkErrors } from './load.ts';

/** l7: HTTP through an HTTP proxy; l4: the same HTTP through a TCP proxy; lat: 1 connection; bulk: one TCP stream. */
export type Section = 'l7' | 'l4' | 'lat' | 'bulk';
export type Body = HttpBody | 'stream';
/** The two HTTP bodies: 12 bytes and 64 KiB. */
export type HttpBody = 'small' | '64k';

/** One measured window: one wrk (or iperf3) run, with the CPU accounting around it. */
export interface Window {
  /** Wall-clock seconds between the two /proc snapshots. */
  wallSeconds: number;
  /** CPU seconds (user + system) of the proxy's process group; null when there is no proxy. */
  proxyCpuSeconds: number | null;
  /** CPU seconds of the backend (nginx, or the iperf3 server). */
  backendCpuSeconds: number;
  /** CPU seconds of the load generator (wrk, or the iperf3 client). */
  loadCpuSeconds: number;
  /** Busy % of each CPU over the window. */
  cpuBusyPercent: number[];
  /** Busy CPU that was none of ours (proxy, backend, load generator), % of one core. */
  otherCpuPercent: number;
  /** Steal time of all CPUs (the host ran someone else), % of one core; absent in older reports. */
  stealPercent?: number;
  /** wrk: requests completed in the window. */
  requests?: number;
  /** wrk's own duration (s): requests / seconds is req/s. */
  seconds?: number;
  bytes?: number;
  p50Us?: number;
  p90Us?: number;
  p99Us?: number;
  p999Us?: number;
  maxUs?: number;
  errors?: WrkErrors;
  /** iperf3: received bit rate. */
  bitsPerSecond?: number;
  retransmits?: number;
}

export interface Row {
  section: Section;
  body: Body;
  conns: number;
  /** Contender id (`direct` for the rig's own limit). */
  id: string;
  label: string;
  family: Family;
  layer: 'l7' | 'l4';
  /** null for direct. */
  workers: number | null;
  /** CPUs the proxy ran on; null for direct. */
  cpus: string | null;
  status: 'ok' | 'n/a' | 'failed';
  /** Why it is n/a or failed. */
  reason?: string;
  windows: Window[];
}

/** The knobs of a run (full and quick differ only here). Durations are whole seconds (wrk and iperf3 take no fractions). */
export interface Params {
  mode: 'full' | 'quick';
  bodies: HttpBody[];
  /** Connections for the throughput rows. */
  conns: number;
  /** Rounds of one measured window per contender (every other round in reverse order). */
  rounds: number;
  windowSeconds: number;
  warmupSeconds: number;
  latencySeconds: number;
  latencyWarmupSeconds: number;
  bulkRounds: number;
  bulkSeconds: number;
  bulkWarmupSeconds: number;
  /** A window disturbed by others' work is measured again at most this many times. */
  maxRetries: number;
  /** Wait before each measurement until the machine uses less than this % of a core... */
  quietPercent: number;
  /** ...for at most this long. */
  quietMaxMs: number;
  /** The most the whole run spends waiting for quiet and measuring disturbed windows again. */
  patienceMs: number;
}

export interface RunResult {
  format: 'legate-bench/1';
  started: string;
  finished: string;
  seconds: number;
  command: string;
  params: Params;
  machine: {
    cpu: string;
    cores: number;
    kernel: string;
    memoryGiB: number;
    os: string;
    /** net.ipv4.tcp_congestion_control: it shapes loopback figures too. */
    tcpCongestionControl: string;
  };
  versions: Record<string, string>;
  placement: Placement;
  ports: { backend: number; iperf: number; proxy: number };
  rows: Row[];
  /** The micro benchmarks' output (ns/op), when they ran in the same command. */
  micro?: string;
  /** Lines logged while measuring that a reader should see (waits for quiet, failures). */
  notes: string[];
}
