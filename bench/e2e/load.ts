/**
 * The load generators of the side-by-side benchmark, the same for every contender: wrk for
 * HTTP/1.1 keep-alive request/response (one thread, N connections, `wrk-result.lua` for exact
 * figures) and iperf3 for one bulk TCP stream. Each run is pinned to the load generator's CPUs
 * and reports its own CPU time. Runs on the harness's main thread.
 */
import path from 'node:path';
import { runClient } from './processes.ts';

const LUA = path.join(import.meta.dirname, 'wrk-result.lua');

/** wrk and iperf3 take whole seconds only (iperf3 runs forever on `-t 0.5`). */
function wholeSeconds(s: number): number {
  return Math.max(1, Math.round(s));
}

/** The wrk error counters: socket errors (connect, read, write, timeout) and non-2xx/3xx. */
export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
  status: number;
}

export interface WrkResult {
  requests: number;
  bytes: number;
  /** wrk's own measured duration, seconds. */
  seconds: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  errors: WrkErrors;
  /** CPU seconds wrk used. */
  cpuSeconds: number;
}

/** Runs wrk against `url` for `seconds` with `conns` connections (1 thread); throws on failure. */
export async function runWrk(
  wrk: string,
  cpus: string,
  url: string,
  conns: number,
  seconds: number,
  clockTicks: number,
): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${conns}`,
    `-d${wholeSeconds(seconds)}s`,
    '--timeout',
    '4s',
    '--latency',
    '-s',
    LUA,
    url,
  ];
  const r = await runClient(cpus, wrk, args, clockTicks, (seconds + 30) * 1000);
  const line = r.stdout.split('\n').find((l) => l.startsWith('LEGATE_BENCH '));
  if (line === undefined)
    throw new Error(`wrk gave no result (exit ${r.code}): ${r.stdout.trim().slice(-300)}`);
  const j = JSON.parse(line.slice('LEGATE_BENCH '.length)) as Record<string, number>;
  const n = (k: string): number => j[k] ?? 0;
  return {
    requests: n('requests'),
    bytes: n('bytes'),
    seconds: n('duration_us') / 1e6,
    p50Us: n('p50_us'),
    p90Us: n('p90_us'),
    p99Us: n('p99_us'),
    p999Us: n('p999_us'),
    maxUs: n('max_us'),
    errors: {
      connect: n('connect'),
      read: n('read'),
      write: n('write'),
      timeout: n('timeout'),
      status: n('status'),
    },
    cpuSeconds: r.cpuSeconds,
  };
}

export interface StreamResult {
  /** Bytes received by the server. */
  bytes: number;
  seconds: number;
  bitsPerSecond: number;
  /** TCP retransmits the sender saw. */
  retransmits: number;
  cpuSeconds: number;
}

interface IperfJson {
  error?: string;
  end?: {
    sum_received?: { bytes?: number; seconds?: number; bits_per_second?: number };
    sum_sent?: { retransmits?: number };
  };
}

/** One iperf3 TCP stream to 127.0.0.1:`port` for `seconds`; throws on failure. */
export async function runIperf3(
  iperf3: string,
  cpus: string,
  port: number,
  seconds: number,
  clockTicks: number,
): Promise<StreamResult> {
  const args = ['-c', '127.0.0.1', '-p', String(port), '-t', String(wholeSeconds(seconds)), '-P', '1', '-J'];
  const r = await runClient(cpus, iperf3, args, clockTicks, (seconds + 30) * 1000);
  let j: IperfJson;
  try {
    j = JSON.parse(r.stdout) as IperfJson;
  } catch {
    throw new Error(`iperf3 gave no result (exit ${r.code}): ${r.stdout.trim().slice(-300)}`);
  }
  if (j.error !== undefined) throw new Error(`iperf3: ${j.error}`);
  const recv = j.end?.sum_received;
  if (recv?.bits_per_second === undefined) throw new Error('iperf3 gave no received sum');
  return {
    bytes: recv.bytes ?? 0,
    seconds: recv.seconds ?? seconds,
    bitsPerSecond: recv.bits_per_second,
    retransmits: j.end?.sum_sent?.retransmits ?? 0,
    cpuSeconds: r.cpuSeconds,
  };
}
