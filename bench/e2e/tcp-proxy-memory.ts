/**
 * tcp_proxy memory under slow readers: does `per_connection_buffer_limit_bytes` bound what a
 * legate process holds when upstreams write faster than the downstream clients read?
 *
 * Starts `node bin/legate.js` on a temporary config (admin on port 0, found through
 * `--admin-address-path`): one tcp_proxy listener to a STATIC cluster whose upstream, in this
 * process, writes N MiB per connection as fast as the socket takes it. C clients connect
 * through the proxy and read 10x slower than they could: they are resumed for 1/10 of every
 * 100 ms and paused the rest. Meanwhile the legate process's RSS (/proc/<pid>/status VmRSS)
 * is sampled, and its peak is also read from VmHWM after resetting it (/proc/<pid>/clear_refs)
 * when the kernel allows. Prints the baseline (idle, after a warm-up), the peak, the bound
 * C x per_connection_buffer_limit_bytes and the margin over it, and the flow control counters
 * from /stats. Exits 1 when a client did not receive all its bytes or legate failed.
 *
 * Reading the figures: on the 2-core development machine the growth was 60-140 MiB whatever
 * C was (1 to 128), as large with fast readers (`--slowdown 1`), and about half with
 * `--concurrency 1`, so it is not data held for slow readers. It points at read buffers
 * already passed on and waiting for V8's next GC, which an isolate triggers after about 64 MiB
 * of external memory growth (a hypothesis the runs fit, not a measurement of the heap). The flow control counters show the limit at work:
 * `cluster.<name>.upstream_flow_control_paused_reading_total` counts downstream write buffers
 * that reached the limit; `tcp.<prefix>.downstream_flow_control_paused_reading_total` counts the
 * opposite direction (an upstream that reads slowly), so it stays 0 here.
 *
 *   node bench/e2e/tcp-proxy-memory.ts [--connections 16] [--mib 64] [--limit-kib 1024]
 *        [--concurrency 2] [--slowdown 10] [--period-ms 100] [--timeout-s 120]
 *
 * Every process it starts (legate) is stopped by its PID at the end, on error, on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MIB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

const { values } = parseArgs({
  options: {
    connections: { type: 'string', short: 'c', default: '16' },
    mib: { type: 'string', short: 'n', default: '64' },
    'limit-kib': { type: 'string', default: '1024' },
    concurrency: { type: 'string', default: '2' },
    slowdown: { type: 'string', default: '10' },
    'period-ms': { type: 'string', default: '100' },
    'timeout-s': { type: 'string', default: '120' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  const text = fs.readFileSync(import.meta.filename, 'utf8');
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(text)?.[1]?.replace(/^ \* ?/gm, '') ?? ''}\n`);
  process.exit(0);
}

function positive(name: string, raw: string): number {
  const v = Number(raw);
  if (Number.isFinite(v) && v > 0) return v;
  process.stderr.write(`tcp-proxy-memory: --${name} must be a positive number, got '${raw}'\n`);
  process.exit(1);
}

const connections = Math.round(positive('connections', values.connections));
const bytesPerConnection = Math.round(positive('mib', values.mib) * MIB);
const limitBytes = Math.round(positive('limit-kib', values['limit-kib']) * 1024);
const concurrency = Math.round(positive('concurrency', values.concurrency));
const slowdown = positive('slowdown', values.slowdown);
const periodMs = positive('period-ms', values['period-ms']);
const timeoutMs = positive('timeout-s', values['timeout-s']) * 1000;

// --- the legate process -------------------------------------------------------------------

let legate: ChildProcess | undefined;
let legateStderr = '';

/** Stops legate by its PID: SIGTERM, then SIGKILL after `graceMs`. */
async function stopLegate(graceMs = 5000): Promise<void> {
  const child = legate;
  if (child === undefined || child.pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        process.kill(child.pid, 'SIGKILL');
    }, graceMs);
    await gone;
    clearTimeout(timer);
  }
  legate = undefined;
}

process.stdout.on('error', () => {}); // e.g. piped into head
process.on('exit', () => {
  const pid = legate?.pid;
  if (pid !== undefined && legate?.exitCode === null && legate.signalCode === null)
    process.kill(pid, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`${signal}: stopping legate\n`);
    void stopLegate(1000).finally(() => process.exit(130));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function config(listenerPort: number, upstreamPort: number): string {
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: memory
    address: { socket_address: { address: 127.0.0.1, port_value: ${listenerPort} } }
    per_connection_buffer_limit_bytes: ${limitBytes}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: memory
          cluster: fast_upstream
  clusters:
  - name: fast_upstream
    type: STATIC
    connect_timeout: 1s
    per_connection_buffer_limit_bytes: ${limitBytes}
    load_assignment:
      cluster_name: fast_upstream
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } }
`;
}

/** Starts legate on `yaml` and resolves with its admin URL once /ready says LIVE. */
async function startLegate(dir: string, yaml: string): Promise<string> {
  const configPath = path.join(dir, 'legate.yaml');
  const addressPath = path.join(dir, 'admin.address');
  fs.writeFileSync(configPath, yaml);
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin/legate.js'),
      '-c',
      configPath,
      '--admin-address-path',
      addressPath,
      '--concurrency',
      String(concurrency),
      '--drain-time-s',
      '2',
      '-l',
      'warning',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  legate = child;
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    legateStderr = (legateStderr + d).slice(-20_000);
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    if (fs.existsSync(addressPath)) {
      const admin = `http://${fs.readFileSync(addressPath, 'utf8').trim()}`;
      const ready = await fetch(`${admin}/ready`).then(
        (r) => r.text(),
        () => '',
      );
      if (ready.trim() === 'LIVE') return admin;
    }
    await sleep(50);
  }
  throw new Error(`legate did not become LIVE:\n${legateStderr}`);
}

// --- memory and stats -----------------------------------------------------------------------

function statusKib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return m === null ? 0 : Number(m[1]);
}

/** Resets the kernel's peak RSS of `pid` (VmHWM) to its current RSS; false when not allowed. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function stats(admin: string, names: readonly string[]): Promise<Map<string, number>> {
  const body = await fetch(`${admin}/stats`).then((r) => r.text());
  const out = new Map<string, number>();
  for (const name of names) {
    const m = new RegExp(`^${name.replaceAll('.', '\\.')}: (\\d+)$`, 'm').exec(body);
    out.set(name, m === null ? 0 : Number(m[1]));
  }
  return out;
}

const mib = (bytes: number): string => `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`;

// --- the upstream and the clients ----------------------------------------------------------

/** What the upstream writes to each new connection. */
const upstreamPlan = { bytesPerConnection: MIB };

/** An upstream that writes `upstreamPlan.bytesPerConnection` to each connection as fast as the socket drains, then ends. */
function fastUpstream(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let left = upstreamPlan.bytesPerConnection;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        const more = socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
        if (left === 0) socket.end();
        else if (!more) return;
      }
    };
    socket.on('drain', pump);
    pump();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve(server));
  });
}

/** Connects through the proxy and counts what arrives until the end; reads whenever resumed. */
function client(port: number, sockets: net.Socket[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length;
    });
    socket.on('end', () => {
      socket.end();
      resolve(received);
    });
    socket.on('error', reject);
  });
}

/** 1 MiB transfers read at full speed on C connections, so the baseline includes what connections allocate. */
async function warmUp(port: number): Promise<void> {
  upstreamPlan.bytesPerConnection = MIB;
  const sockets: net.Socket[] = [];
  await Promise.all(Array.from({ length: connections }, () => client(port, sockets)));
}

// --- the run ----------------------------------------------------------------------------------

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-bench-mem-'));
  const upstream = await fastUpstream();
  try {
    const listenerPort = await freePort();
    const upstreamPort = (upstream.address() as net.AddressInfo).port;
    const admin = await startLegate(dir, config(listenerPort, upstreamPort));
    const pid = legate?.pid;
    if (pid === undefined) throw new Error('legate has no PID');

    await warmUp(listenerPort);
    await sleep(1000);
    let baseline = 0;
    for (let i = 0; i < 10; i++) {
      baseline = Math.max(baseline, statusKib(pid, 'VmRSS') * 1024);
      await sleep(50);
    }

    const counterNames = [
      'tcp.memory.downstream_flow_control_paused_reading_total',
      'tcp.memory.downstream_flow_control_resumed_reading_total',
      'cluster.fast_upstream.upstream_flow_control_paused_reading_total',
      'cluster.fast_upstream.upstream_flow_control_resumed_reading_total',
      'cluster.fast_upstream.upstream_cx_total',
    ];
    const before = await stats(admin, counterNames);
    upstreamPlan.bytesPerConnection = bytesPerConnection;
    const peakResettable = resetPeak(pid);
    let sampledPeak = baseline;
    const sampler = setInterval(() => {
      try {
        sampledPeak = Math.max(sampledPeak, statusKib(pid, 'VmRSS') * 1024);
      } catch {
        // legate exited; reported below
      }
    }, 20);

    const sockets: net.Socket[] = [];
    const readMs = periodMs / slowdown;
    let resumeTimer: NodeJS.Timeout | undefined;
    const schedule = setInterval(() => {
      for (const s of sockets) s.resume();
      resumeTimer = setTimeout(() => {
        for (const s of sockets) s.pause();
      }, readMs);
    }, periodMs);

    const started = Date.now();
    const transfers = Array.from({ length: connections }, () => client(listenerPort, sockets));
    for (const s of sockets) s.pause();
    let timeout: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () => reject(new Error(`the transfer did not finish within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    let received: number[];
    try {
      received = await Promise.race([Promise.all(transfers), deadline]);
    } finally {
      clearTimeout(timeout);
      clearInterval(schedule);
      clearTimeout(resumeTimer);
      clearInterval(sampler);
      for (const s of sockets) s.destroy();
    }
    const seconds = (Date.now() - started) / 1000;
    const hwm = peakResettable ? statusKib(pid, 'VmHWM') * 1024 : 0;
    const peak = Math.max(sampledPeak, hwm);

    const after = await stats(admin, counterNames);

    const bound = connections * limitBytes;
    const growth = peak - baseline;
    const margin = growth - bound;
    const total = received.reduce((a, b) => a + b, 0);
    const short = received.filter((r) => r !== bytesPerConnection).length;
    const out = process.stdout;
    out.write(
      `tcp_proxy memory: ${connections} connections x ${mib(limitBytes)} limit: baseline ${mib(baseline)}, ` +
        `peak ${mib(peak)} (+${mib(growth)}, bound ${mib(bound)} + margin ${margin >= 0 ? '' : '-'}${mib(Math.abs(margin))})\n`,
    );
    out.write(
      `  transfer: ${connections} x ${mib(bytesPerConnection)} = ${mib(total)} in ${seconds.toFixed(1)} s ` +
        `(${(total / MIB / seconds).toFixed(0)} MiB/s), clients read ${readMs} ms of every ${periodMs} ms, ` +
        `concurrency ${concurrency}; peak from ${peakResettable ? 'VmHWM (reset before the transfer) and ' : ''}` +
        `VmRSS sampled every 20 ms (sampled max ${mib(sampledPeak)})\n`,
    );
    out.write('  during the transfer (warm-up excluded):\n');
    for (const name of counterNames)
      out.write(`    ${name}: ${(after.get(name) ?? 0) - (before.get(name) ?? 0)}\n`);
    if (short > 0) {
      out.write(`  FAIL: ${short} of ${connections} clients did not receive ${bytesPerConnection} bytes\n`);
      return 1;
    }
    return 0;
  } finally {
    await stopLegate();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`tcp-proxy-memory: ${err instanceof Error ? err.message : String(err)}\n`);
  if (legateStderr !== '') process.stderr.write(`legate stderr (tail):\n${legateStderr}\n`);
  await stopLegate(1000);
  process.exitCode = 1;
}
