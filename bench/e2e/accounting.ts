/**
 * CPU accounting from /proc for the side-by-side benchmark, read on the harness's main thread
 * around each measured window.
 *
 * - A process group's CPU time: utime + stime of every process whose group is the one the
 *   harness created for a server (nginx's master and workers; every thread of Legate or of a
 *   Node peer, since a process's stat line sums its threads). On Linux the loopback softirq
 *   work is mostly charged to the task that triggers it, so this includes the kernel work the
 *   proxy causes.
 * - Per-CPU busy time from /proc/stat (user + nice + system + irq + softirq; steal is not busy).
 *   A task's utime + stime includes the softirq work done in its context, which /proc/stat
 *   files under softirq, so "someone else's work" is busy time minus our processes' time
 *   (checked: with only our processes running it stays within a few % of a core).
 * - Steal time from /proc/stat: on a virtual machine, time a CPU of ours wanted to run but the
 *   host ran someone else. It slows every process (Node's more than nginx's: cross-CPU wake-ups
 *   wait for the host), so a window with much of it is measured again, like one with others' work.
 * - A quiet check: before measuring, wait until the whole machine is nearly idle, because a
 *   shared box may be running someone else's work.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { sleep, statFields } from './processes.ts';

/** Kernel clock ticks per second (the unit of /proc CPU times). */
export const CLOCK_TICKS: number = (() => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime, in ticks, of every process in process group `pgid`. */
export function groupTicks(pgid: number): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let line: string;
    try {
      line = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    const f = statFields(line);
    if (Number(f[2]) !== pgid) continue;
    total += Number(f[11]) + Number(f[12]);
  }
  return total;
}

/** Busy and total ticks per CPU, indexed by CPU number. */
export interface CpuSnapshot {
  readonly busy: number[];
  readonly total: number[];
  readonly steal: number[];
}

export function cpuSnapshot(): CpuSnapshot {
  const busy: number[] = [];
  const total: number[] = [];
  const stolen: number[] = [];
  for (const line of fs.readFileSync('/proc/stat', 'latin1').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (m === null) continue;
    const v = (m[2] ?? '').trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
    const b = user + nice + system + irq + softirq;
    busy[Number(m[1])] = b;
    total[Number(m[1])] = b + idle + iowait + steal;
    stolen[Number(m[1])] = steal;
  }
  return { busy, total, steal: stolen };
}

/** Busy % of each CPU between two snapshots. */
export function cpuBusyPercent(a: CpuSnapshot, b: CpuSnapshot): number[] {
  return b.busy.map((busy, i) => {
    const dt = (b.total[i] ?? 0) - (a.total[i] ?? 0);
    return dt > 0 ? (100 * (busy - (a.busy[i] ?? 0))) / dt : 0;
  });
}

/** Busy ticks of all CPUs together between two snapshots. */
export function busyTicks(a: CpuSnapshot, b: CpuSnapshot): number {
  let sum = 0;
  for (let i = 0; i < b.busy.length; i++) sum += (b.busy[i] ?? 0) - (a.busy[i] ?? 0);
  return sum;
}

/** Steal ticks of all CPUs together between two snapshots. */
export function stealTicks(a: CpuSnapshot, b: CpuSnapshot): number {
  let sum = 0;
  for (let i = 0; i < b.steal.length; i++) sum += (b.steal[i] ?? 0) - (a.steal[i] ?? 0);
  return sum;
}

/**
 * Waits until the machine as a whole is using less than `maxPercent` % of one core (sampled
 * over 250 ms), for at most `maxWaitMs`. Returns the milliseconds waited; -1 if it never got
 * quiet (the measurement goes ahead and its "other CPU" column will show why).
 */
export async function waitQuiet(maxPercent: number, maxWaitMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = cpuSnapshot();
    await sleep(250);
    const b = cpuSnapshot();
    const pct = (100 * busyTicks(a, b)) / CLOCK_TICKS / 0.25;
    if (pct < maxPercent) return Date.now() - t0;
    if (Date.now() - t0 > maxWaitMs) return -1;
  }
}
