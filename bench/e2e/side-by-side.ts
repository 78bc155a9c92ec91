/**
 * The side-by-side benchmark: the fixed backend and the contenders on 127.0.0.1, each loaded in
 * turn by the same load generator, with the same CPU placement, warm-up before measuring, and
 * the proxy's own CPU time per request from /proc. Sections:
 *
 * - l7: HTTP/1.1 keep-alive, 64 connections, 12 B and 64 KiB bodies: direct to the backend,
 *   nginx, HAProxy http, node-http-proxy, Legate (HCM + router);
 * - lat: 1 connection, 12 B, for direct and every 1-worker contender (L7 and L4);
 * - l4: the same HTTP traffic through nginx stream, HAProxy tcp, Legate tcp_proxy with 1 and
 *   2 workers (the scaling rows);
 * - bulk: one iperf3 TCP stream through each 1-worker L4 proxy.
 *
 * The contenders of a section are started together, each on its own port, and are idle except
 * while measured: only one is under load at any time. Windows alternate between them, one
 * window per contender per round, every other round in reverse order (A B C D, D C B A, ...),
 * so all of them are measured across the same minutes and a shared machine's drift (a busy
 * neighbour, the host's own load) weighs on all alike; ratios within the run hold. A row's
 * figures are the medians over its windows.
 *
 * Runs on the harness's main thread: `measureSideBySide` returns the data; `bench/run.ts` renders
 * and writes it (`npm run bench -- --side-by-side` runs this part alone).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  busyTicks,
  CLOCK_TICKS,
  cpuBusyPercent,
  cpuSnapshot,
  groupTicks,
  stealTicks,
  waitQuiet,
} from './accounting.ts';
import {
  type Contender,
  checkTarget,
  L4_CONTENDERS,
  L7_CONTENDERS,
  LARGE_BODY_BYTES,
  type Placement,
  type Rig,
  SMALL_BODY,
  startBackend,
  tail,
} from './contenders.ts';
import { ensureTools, firstLine, gitCommit, type Tools } from './install.ts';
import { runIperf3, runWrk } from './load.ts';
import {
  addExitHook,
  installCleanupHandlers,
  portFree,
  type Server,
  startServer,
  stopAll,
  stopPid,
  waitAccepting,
} from './processes.ts';
import type { Body, HttpBody, Params, Row, RunResult, Section, Window } from './types.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * Where every process runs, the same for every contender: the load generator and the backend
 * share CPU 0, so the proxy has CPU 1 to itself and its CPU time is its own. Two-worker proxies
 * can only spread over both CPUs (on a 2-core machine there is no third).
 */
export const PLACEMENT: Placement = { load: '0', backend: '0', proxy: '1', proxy2: '0,1' };

export const FULL: Params = {
  mode: 'full',
  bodies: ['small', '64k'],
  conns: 64,
  rounds: 5,
  windowSeconds: 3,
  warmupSeconds: 1,
  latencySeconds: 4,
  latencyWarmupSeconds: 0,
  bulkRounds: 3,
  bulkSeconds: 3,
  bulkWarmupSeconds: 1,
  quietPercent: 15,
  quietMaxMs: 20_000,
  maxRetries: 2,
  patienceMs: 45_000,
};

export const QUICK: Params = {
  mode: 'quick',
  bodies: ['small'],
  conns: 64,
  rounds: 1,
  windowSeconds: 3,
  warmupSeconds: 1,
  latencySeconds: 2,
  latencyWarmupSeconds: 0,
  bulkRounds: 1,
  bulkSeconds: 3,
  bulkWarmupSeconds: 1,
  quietPercent: 15,
  quietMaxMs: 5_000,
  maxRetries: 1,
  patienceMs: 15_000,
};

export interface Options {
  params: Params;
  /** Install missing tools (apt-get, npm). */
  install: boolean;
  /** Ports: backend = base+1, iperf3 = base+3, proxies = base+10 and up (one per contender of a section). */
  portBase: number;
  /** Only contenders whose id matches (direct always runs). */
  only: RegExp | null;
  keepTmp: boolean;
  command: string;
}

const DIRECT: Contender = {
  id: 'direct',
  label: 'direct (no proxy)',
  layer: 'l7',
  family: 'direct',
  workers: 1,
  start: () => Promise.reject(new Error('direct has nothing to start')),
};

/** A window during which others' work used more than this % of a core is measured again. */
const OTHER_RETRY_PERCENT = 20;
/** A window during which the host stole more than this % of a core from us is measured again. */
const STEAL_RETRY_PERCENT = 20;

const t0 = Date.now();
function log(line: string): void {
  const s = Math.round((Date.now() - t0) / 1000);
  process.stderr.write(
    `[bench ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`,
  );
}

const PATHS: Record<HttpBody, { path: string; bytes: number }> = {
  small: { path: '/', bytes: Buffer.byteLength(SMALL_BODY) },
  '64k': { path: '/64k', bytes: LARGE_BODY_BYTES },
};

/** A contender started for a section: where it listens, and whether it is still up. */
interface Entry {
  readonly c: Contender;
  /** null for direct. */
  readonly server: Server | null;
  readonly port: number;
  alive: boolean;
}

class Measurement {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  private backendPgid = 0;
  /** Time spent waiting for quiet and on windows measured again; bounded by `patienceMs`. */
  private patienceSpentMs = 0;
  readonly rig: Rig;
  readonly params: Params;
  private readonly only: RegExp | null;

  constructor(rig: Rig, params: Params, only: RegExp | null) {
    this.rig = rig;
    this.params = params;
    this.only = only;
  }

  note(line: string): void {
    this.notes.push(line);
    log(line);
  }

  setBackend(pgid: number): void {
    this.backendPgid = pgid;
  }

  row(section: Section, body: Body, conns: number, c: Contender): Row {
    let r = this.rows.find((x) => x.section === section && x.body === body && x.id === c.id);
    if (r === undefined) {
      const direct = c.family === 'direct';
      r = {
        section,
        body,
        conns,
        id: c.id,
        label: c.label,
        family: c.family,
        layer: c.layer,
        workers: direct ? null : c.workers,
        cpus: direct ? null : c.workers > 1 ? this.rig.placement.proxy2 : this.rig.placement.proxy,
        status: 'ok',
        windows: [],
      };
      this.rows.push(r);
    }
    return r;
  }

  private fail(row: Row, status: 'n/a' | 'failed', reason: string): void {
    if (row.windows.length > 0 && status === 'failed') {
      this.note(`${row.section} ${row.body} ${row.id}: a window failed (${reason}); kept the others`);
      return;
    }
    row.status = status;
    row.reason = reason;
  }

  private selected(list: readonly Contender[]): Contender[] {
    return list.filter((c) => c.family === 'direct' || this.only === null || this.only.test(c.id));
  }

  /**
   * Starts every contender of a section, each on its own proxy port, forwarding to
   * `upstreamPort`; one that cannot start has `rowsOf` marked n/a or failed.
   */
  private async startAll(
    list: readonly Contender[],
    upstreamPort: number,
    rowsOf: (c: Contender) => Row[],
  ): Promise<Entry[]> {
    const entries: Entry[] = [];
    let next = this.rig.ports.proxy;
    for (const c of list) {
      if (c.family === 'direct') {
        entries.push({ c, server: null, port: upstreamPort, alive: true });
        continue;
      }
      const port = next++;
      const started = await c.start(this.rig, port, upstreamPort);
      if (started.kind === 'unavailable') {
        for (const r of rowsOf(c)) this.fail(r, started.status, started.reason);
        this.note(`${c.id}: ${started.status} (${started.reason})`);
        continue;
      }
      entries.push({ c, server: started.server, port, alive: true });
    }
    return entries;
  }

  private async stopEntries(entries: readonly Entry[]): Promise<void> {
    for (const e of entries) if (e.server !== null) await stopPid(e.server.pid);
  }

  /**
   * One section: all its contenders running at once (only one under load at any time), then
   * per body: a check and a warm-up of each, then `rounds` rounds of one window per contender,
   * every other round in reverse order; then one latency window per 1-worker contender.
   */
  async section(section: 'l7' | 'l4', contenders: readonly Contender[]): Promise<void> {
    const p = this.params;
    const list = this.selected([...(section === 'l7' ? [DIRECT] : []), ...contenders]);
    const rowsOf = (c: Contender): Row[] => [
      ...p.bodies.map((b) => this.row(section, b, p.conns, c)),
      ...(c.workers === 1 ? [this.row('lat', 'small', 1, c)] : []),
    ];
    for (const c of list) rowsOf(c); // rows in table order, whatever happens
    const wrk = this.rig.tools.wrk;
    if (wrk === null) {
      for (const c of list) for (const r of rowsOf(c)) this.fail(r, 'n/a', 'wrk not installed');
      return;
    }
    const entries = await this.startAll(list, this.rig.ports.backend, rowsOf);
    try {
      for (const body of p.bodies) {
        const rowOf = (e: Entry): Row => this.row(section, body, p.conns, e.c);
        const ready = await this.prepareHttp(wrk, entries, rowOf, body, p.conns, p.warmupSeconds);
        await this.rounds(ready, rowOf, p.rounds, (e, row) =>
          this.httpWindow(wrk, e, row, body, p.conns, p.windowSeconds),
        );
      }
      const single = entries.filter((e) => e.c.workers === 1);
      const latRow = (e: Entry): Row => this.row('lat', 'small', 1, e.c);
      const ready = await this.prepareHttp(wrk, single, latRow, 'small', 1, p.latencyWarmupSeconds);
      await this.rounds(ready, latRow, 1, (e, row) =>
        this.httpWindow(wrk, e, row, 'small', 1, p.latencySeconds),
      );
    } finally {
      await this.stopEntries(entries);
    }
  }

  /** Checks each live entry with one request and warms it up; returns those ready. */
  private async prepareHttp(
    wrk: string,
    entries: readonly Entry[],
    rowOf: (e: Entry) => Row,
    body: HttpBody,
    conns: number,
    warmupSeconds: number,
  ): Promise<Entry[]> {
    const ready: Entry[] = [];
    const { path: urlPath, bytes } = PATHS[body];
    for (const e of entries) {
      if (!e.alive) continue;
      const row = rowOf(e);
      const problem = await checkTarget(e.port, urlPath, bytes);
      if (problem !== '') {
        this.fail(row, 'failed', `check request failed: ${problem}`);
        this.note(`${row.section} ${row.body} ${row.id}: check request failed: ${problem}`);
        continue;
      }
      if (warmupSeconds > 0) {
        await runWrk(
          wrk,
          this.rig.placement.load,
          `http://127.0.0.1:${e.port}${urlPath}`,
          conns,
          warmupSeconds,
          CLOCK_TICKS,
        );
      }
      ready.push(e);
    }
    return ready;
  }

  /**
   * `rounds` rounds of one window per entry (reversed every other round), after waiting for
   * the machine to be quiet; a window disturbed by others' work is measured again.
   */
  private async rounds(
    entries: readonly Entry[],
    rowOf: (e: Entry) => Row,
    rounds: number,
    measure: (e: Entry, row: Row) => Promise<Window>,
  ): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? entries : [...entries].reverse();
      const first = order.find((e) => e.alive);
      if (first === undefined) return;
      await this.quiet(rowOf(first));
      for (const e of order) {
        if (!e.alive) continue;
        const row = rowOf(e);
        try {
          for (let retries = 0; ; retries++) {
            const w = await measure(e, row);
            if (e.server !== null && !e.server.running()) {
              e.alive = false;
              throw new Error(`${row.id} exited during the run: ${tail(e.server.logPath)}`);
            }
            if (!(await this.disturbed(row, w, retries))) {
              row.windows.push(w);
              break;
            }
          }
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          this.fail(row, 'failed', msg);
          this.note(`${row.section} ${row.body} ${row.id}: ${msg}`);
        }
      }
    }
  }

  /** One wrk window against `e`. */
  private async httpWindow(
    wrk: string,
    e: Entry,
    row: Row,
    body: HttpBody,
    conns: number,
    seconds: number,
  ): Promise<Window> {
    const url = `http://127.0.0.1:${e.port}${PATHS[body].path}`;
    const before = this.snapshot(e.server);
    const r = await runWrk(wrk, this.rig.placement.load, url, conns, seconds, CLOCK_TICKS);
    const w = this.window(before, e.server, r.cpuSeconds);
    Object.assign(w, {
      requests: r.requests,
      seconds: r.seconds,
      bytes: r.bytes,
      p50Us: r.p50Us,
      p90Us: r.p90Us,
      p99Us: r.p99Us,
      p999Us: r.p999Us,
      maxUs: r.maxUs,
      errors: r.errors,
    });
    const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
    const cpu =
      w.proxyCpuSeconds === null
        ? ''
        : ` proxy ${((1e6 * w.proxyCpuSeconds) / r.requests).toFixed(1)} µs/req`;
    log(
      `${row.section} ${row.body.padEnd(5)} c=${String(conns).padEnd(2)} ${row.id.padEnd(16)} ` +
        `${Math.round(r.requests / r.seconds)} req/s p50 ${(r.p50Us / 1000).toFixed(3)} ms p99 ${(r.p99Us / 1000).toFixed(3)} ms` +
        `${cpu} errors ${errors} other ${w.otherCpuPercent.toFixed(0)}%`,
    );
    return w;
  }

  /**
   * Bulk: an iperf3 server in the backend's place, every 1-worker L4 contender (and direct)
   * in front of it, then rounds of one iperf3 stream window per contender.
   */
  async bulk(contenders: readonly Contender[]): Promise<void> {
    const p = this.params;
    const iperf3 = this.rig.tools.iperf3;
    const list = this.selected([DIRECT, ...contenders.filter((c) => c.workers === 1)]);
    const rowOf = (c: Contender): Row => this.row('bulk', 'stream', 1, c);
    for (const c of list) rowOf(c);
    if (iperf3 === null) {
      for (const c of list) this.fail(rowOf(c), 'n/a', 'iperf3 not installed');
      return;
    }
    const sinkPort = this.rig.ports.iperf;
    const sink = startServer(
      'iperf3-server',
      this.rig.placement.backend,
      iperf3,
      ['-s', '-B', '127.0.0.1', '-p', String(sinkPort)],
      path.join(this.rig.tmp, 'iperf3-server.log'),
    );
    const saved = this.backendPgid;
    let entries: Entry[] = [];
    try {
      if (!(await waitAccepting(sink, sinkPort, 10_000))) {
        for (const c of list) this.fail(rowOf(c), 'failed', 'iperf3 server did not start');
        return;
      }
      this.backendPgid = sink.pid;
      entries = await this.startAll(list, sinkPort, (c) => [rowOf(c)]);
      const ready: Entry[] = [];
      for (const e of entries) {
        try {
          if (p.bulkWarmupSeconds > 0) {
            await runIperf3(iperf3, this.rig.placement.load, e.port, p.bulkWarmupSeconds, CLOCK_TICKS);
          }
          ready.push(e);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          this.fail(rowOf(e.c), 'failed', msg);
          this.note(`bulk ${e.c.id}: ${msg}`);
        }
      }
      await this.rounds(
        ready,
        (e) => rowOf(e.c),
        p.bulkRounds,
        (e, row) => this.streamWindow(iperf3, e, row),
      );
    } finally {
      this.backendPgid = saved;
      await this.stopEntries(entries);
      await stopPid(sink.pid);
    }
  }

  /** One iperf3 stream window through `e`. */
  private async streamWindow(iperf3: string, e: Entry, row: Row): Promise<Window> {
    const before = this.snapshot(e.server);
    const r = await runIperf3(iperf3, this.rig.placement.load, e.port, this.params.bulkSeconds, CLOCK_TICKS);
    const w = this.window(before, e.server, r.cpuSeconds);
    w.bitsPerSecond = r.bitsPerSecond;
    w.bytes = r.bytes;
    w.seconds = r.seconds;
    w.retransmits = r.retransmits;
    const cpu =
      w.proxyCpuSeconds === null
        ? ''
        : ` proxy ${((1e6 * w.proxyCpuSeconds) / (r.bytes / 1048576)).toFixed(1)} µs/MiB`;
    log(
      `bulk stream ${row.id.padEnd(16)} ${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s${cpu} other ${w.otherCpuPercent.toFixed(0)}%`,
    );
    return w;
  }

  /**
   * True when others' work took more than OTHER_RETRY_PERCENT of a core during window `w`, or
   * the host stole more than STEAL_RETRY_PERCENT, and it may still be measured again (at most
   * `maxRetries` times, within the run's patience): the caller then discards it and measures
   * again, after waiting for quiet.
   */
  private async disturbed(row: Row, w: Window, retries: number): Promise<boolean> {
    const steal = w.stealPercent ?? 0;
    if (w.otherCpuPercent <= OTHER_RETRY_PERCENT && steal <= STEAL_RETRY_PERCENT) return false;
    const why =
      w.otherCpuPercent > OTHER_RETRY_PERCENT
        ? `others' work used ${Math.round(w.otherCpuPercent)} % of a core`
        : `the host stole ${Math.round(steal)} % of a core`;
    const spent = this.patienceSpentMs + w.wallSeconds * 1000;
    if (retries >= this.params.maxRetries || spent > this.params.patienceMs) {
      this.note(`${row.section} ${row.body} ${row.id}: ${why} during a window; kept it (no retry left)`);
      return false;
    }
    this.patienceSpentMs = spent;
    this.note(`${row.section} ${row.body} ${row.id}: a window was measured again (${why} during it)`);
    await this.quiet(row);
    return true;
  }

  /** Waits for the machine to be quiet, within what is left of the run's patience. */
  private async quiet(row: Row): Promise<void> {
    const left = this.params.patienceMs - this.patienceSpentMs;
    const max = Math.max(0, Math.min(this.params.quietMaxMs, left));
    const waited = await waitQuiet(this.params.quietPercent, max);
    this.patienceSpentMs += waited < 0 ? max : waited;
    if (waited < 0) {
      this.note(
        `${row.section} ${row.body} ${row.id}: the machine was still busy (others' work) after ${(max / 1000).toFixed(1)} s; measured anyway`,
      );
    } else if (waited > 1000) {
      this.note(
        `${row.section} ${row.body} ${row.id}: waited ${(waited / 1000).toFixed(1)} s for the machine to be quiet`,
      );
    }
  }

  private snapshot(proxy: Server | null): Snapshot {
    return {
      at: performance.now(),
      cpus: cpuSnapshot(),
      proxy: proxy === null ? 0 : groupTicks(proxy.pid),
      backend: groupTicks(this.backendPgid),
    };
  }

  private window(before: Snapshot, proxy: Server | null, loadCpuSeconds: number): Window {
    const after = this.snapshot(proxy);
    const wall = (after.at - before.at) / 1000;
    const proxyCpu = proxy === null ? null : (after.proxy - before.proxy) / CLOCK_TICKS;
    const backendCpu = (after.backend - before.backend) / CLOCK_TICKS;
    const all = busyTicks(before.cpus, after.cpus) / CLOCK_TICKS;
    return {
      wallSeconds: wall,
      proxyCpuSeconds: proxyCpu,
      backendCpuSeconds: backendCpu,
      loadCpuSeconds,
      cpuBusyPercent: cpuBusyPercent(before.cpus, after.cpus),
      otherCpuPercent: (100 * (all - (proxyCpu ?? 0) - backendCpu - loadCpuSeconds)) / wall,
      stealPercent: (100 * stealTicks(before.cpus, after.cpus)) / CLOCK_TICKS / wall,
    };
  }
}

interface Snapshot {
  at: number;
  cpus: ReturnType<typeof cpuSnapshot>;
  proxy: number;
  backend: number;
}

function versions(tools: Tools): Record<string, string> {
  const httpProxy = tools.httpProxy === null ? '' : readVersion(path.join(tools.httpProxy, 'package.json'));
  const strip = (s: string, re: RegExp): string => re.exec(s)?.[1] ?? s;
  return {
    legate: `${readVersion(path.join(ROOT, 'package.json'))} (git ${gitCommit(ROOT) || 'unknown'})`,
    node: process.version,
    nginx: strip(firstLine(tools.nginx, ['-v']), /nginx\/(\S+)/),
    haproxy: strip(firstLine(tools.haproxy, ['-v']), /version (\S+)/i),
    wrk: strip(firstLine(tools.wrk, ['-v']), /wrk (\S+( \[\w+\])?)/),
    iperf3: strip(firstLine(tools.iperf3, ['--version']), /iperf (\S+)/),
    h2load: strip(firstLine(tools.h2load, ['--version']), /nghttp2\/(\S+)/),
    'node-http-proxy': httpProxy,
  };
}

function readVersion(file: string): string {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? '';
  } catch {
    return '';
  }
}

function machine(): RunResult['machine'] {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  let osName = os.type();
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    // no os-release
  }
  let congestion = '';
  try {
    congestion = fs.readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
  } catch {
    // not Linux, or no procfs
  }
  return {
    cpu: model,
    tcpCongestionControl: congestion,
    cores: os.cpus().length,
    kernel: os.release(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: osName,
  };
}

/** Runs the whole side-by-side benchmark and returns its data (the caller renders and writes it). */
export async function measureSideBySide(options: Options): Promise<RunResult> {
  const started = new Date();
  installCleanupHandlers((signal) => log(`${signal}: stopping every server started`));
  if (os.cpus().length < 2)
    throw new Error('the side-by-side benchmark needs at least 2 CPUs (proxy on its own core)');
  if (Number(process.versions.node.split('.')[0]) < 26) {
    log(
      `warning: running on Node ${process.version}; Legate targets Node 26 (npm run bench uses the project's)`,
    );
  }
  const tools = ensureTools(ROOT, options.install, log);
  const ports = { backend: options.portBase + 1, iperf: options.portBase + 3, proxy: options.portBase + 10 };
  const proxies = Math.max(L7_CONTENDERS.length, L4_CONTENDERS.length);
  for (const p of [
    ports.backend,
    ports.iperf,
    ...Array.from({ length: proxies }, (_, i) => ports.proxy + i),
  ]) {
    if (!(await portFree(p)))
      throw new Error(`port ${p} on 127.0.0.1 is in use: pass --port-base to move the bench`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-bench-'));
  fs.chmodSync(tmp, 0o755); // nginx workers may run as another user and must read the 64 KiB file
  if (!options.keepTmp) addExitHook(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const rig: Rig = { root: ROOT, tmp, tools, node: process.execPath, placement: PLACEMENT, ports, log };
  const m = new Measurement(rig, options.params, options.only);
  const result: RunResult = {
    format: 'legate-bench/1',
    started: started.toISOString(),
    finished: '',
    seconds: 0,
    command: options.command,
    params: options.params,
    machine: machine(),
    versions: versions(tools),
    placement: PLACEMENT,
    ports,
    rows: m.rows,
    notes: m.notes,
  };
  log(
    `placement: load generator CPU ${PLACEMENT.load}, backend CPU ${PLACEMENT.backend}, ` +
      `1-worker proxies CPU ${PLACEMENT.proxy}, 2-worker proxies CPUs ${PLACEMENT.proxy2}`,
  );
  try {
    const backend = await startBackend(rig);
    m.setBackend(backend.pid);
    log(`backend nginx pid ${backend.pid} on 127.0.0.1:${ports.backend}`);
    try {
      await m.section('l7', L7_CONTENDERS);
      await m.section('l4', L4_CONTENDERS);
    } finally {
      await stopPid(backend.pid);
    }
    await m.bulk(L4_CONTENDERS);
  } finally {
    await stopAll();
    if (!options.keepTmp) fs.rmSync(tmp, { recursive: true, force: true });
    else log(`configs and logs kept in ${tmp}`);
  }
  const finished = new Date();
  result.finished = finished.toISOString();
  result.seconds = Math.round((finished.getTime() - started.getTime()) / 1000);
  return result;
}
