/**
 * Turns a side-by-side run (`RunResult`) into the markdown report written to
 * `bench/results/<timestamp>.md` and printed: machine, versions, placement, method, the key
 * ratios, one table per section with the ratios to direct and to nginx, and the micro
 * benchmarks' output. A row's figures are medians over its measured windows.
 */
import type { Body, Row, RunResult, Section, Window } from './types.ts';

/** A row's figures: medians over its windows (errors: summed). */
export interface Summary {
  windows: number;
  rps: number;
  mibps: number;
  gbps: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  errorText: string;
  retransmits: number;
  proxyCpuPercent: number | null;
  /** Proxy CPU per request (µs), or per MiB for the bulk rows. */
  cpuUs: number | null;
  cpuBusy: number[];
  otherCpuPercent: number;
  stealPercent: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(row: Row): Summary {
  const w = row.windows;
  const m = (f: (x: Window) => number): number => median(w.map(f));
  const bulk = row.section === 'bulk';
  const errs = { connect: 0, read: 0, write: 0, timeout: 0, status: 0 };
  for (const x of w) {
    if (x.errors === undefined) continue;
    for (const k of Object.keys(errs) as (keyof typeof errs)[]) errs[k] += x.errors[k];
  }
  const errors = Object.values(errs).reduce((a, b) => a + b, 0);
  const parts = Object.entries(errs)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k === 'status' ? 'non-2xx' : k} ${v}`);
  const hasProxy = w.length > 0 && w.every((x) => x.proxyCpuSeconds !== null);
  const cores = Math.max(0, ...w.map((x) => x.cpuBusyPercent.length));
  return {
    windows: w.length,
    rps: m((x) => (x.requests ?? 0) / (x.seconds || 1)),
    mibps: m((x) => (x.bytes ?? 0) / 1048576 / (x.seconds || 1)),
    gbps: m((x) => (x.bitsPerSecond ?? 0) / 1e9),
    p50Us: m((x) => x.p50Us ?? 0),
    p99Us: m((x) => x.p99Us ?? 0),
    errors,
    errorText: errors === 0 ? '0' : `${errors} (${parts.join(', ')})`,
    retransmits: w.reduce((a, x) => a + (x.retransmits ?? 0), 0),
    proxyCpuPercent: hasProxy ? m((x) => (100 * (x.proxyCpuSeconds ?? 0)) / x.wallSeconds) : null,
    cpuUs: hasProxy
      ? m((x) =>
          bulk
            ? (1e6 * (x.proxyCpuSeconds ?? 0)) / ((x.bytes ?? 0) / 1048576 || 1)
            : (1e6 * (x.proxyCpuSeconds ?? 0)) / (x.requests || 1),
        )
      : null,
    cpuBusy: Array.from({ length: cores }, (_, i) => m((x) => x.cpuBusyPercent[i] ?? 0)),
    otherCpuPercent: m((x) => x.otherCpuPercent),
    stealPercent: m((x) => x.stealPercent ?? 0),
  };
}

/** Finds a measured row. */
export function find(result: RunResult, section: Section, body: Body, id: string): Row | undefined {
  return result.rows.find(
    (r) => r.section === section && r.body === body && r.id === id && r.windows.length > 0,
  );
}

/** `a / b` of a figure of two rows, or null when either is missing. */
export function ratioOf(
  a: Row | undefined,
  b: Row | undefined,
  figure: (s: Summary) => number | null,
): number | null {
  if (a === undefined || b === undefined) return null;
  const x = figure(summarize(a));
  const y = figure(summarize(b));
  return x === null || y === null || !(y > 0) ? null : x / y;
}

const ms = (us: number): string => (us / 1000).toFixed(3);
const x2 = (r: number | null): string => (r === null ? '–' : `${r.toFixed(2)}×`);
const pct = (v: number | null): string => (v === null ? '–' : v.toFixed(0));
const us1 = (v: number | null): string => (v === null ? '–' : v.toFixed(1));
const other = (v: number): string => (v > 10 ? `${Math.round(v)} (!)` : `${Math.max(0, Math.round(v))}`);

/** The reference rows a row's ratios are taken against. */
function references(result: RunResult, row: Row): { direct?: Row; nginx?: Row; haproxy?: Row } {
  const section = row.section;
  const body = row.body;
  if (section === 'bulk') {
    return {
      direct: find(result, 'bulk', 'stream', 'direct'),
      nginx: find(result, 'bulk', 'stream', 'nginx-stream'),
      haproxy: find(result, 'bulk', 'stream', 'haproxy-tcp'),
    };
  }
  const l4 = row.layer === 'l4';
  return {
    direct: find(result, section === 'lat' ? 'lat' : 'l7', body, 'direct'),
    nginx: find(result, section, body, l4 ? 'nginx-stream' : 'nginx'),
    haproxy: find(result, section, body, l4 ? 'haproxy-tcp' : 'haproxy'),
  };
}

/** A reason on one table cell: one line, no pipes, not too long. */
function cell(text: string): string {
  const t = text.replace(/\s+/g, ' ').replace(/\|/g, '/').trim();
  return t.length > 160 ? `${t.slice(0, 157)}...` : t;
}

function unavailableLine(row: Row, columns: number, second: string = String(row.workers ?? '–')): string {
  const why = cell(row.reason ?? '');
  const text = row.status === 'n/a' ? `n/a (${why})` : `FAILED: ${why}`;
  return `| ${row.label} | ${second} | ${text} |${' |'.repeat(columns - 3)}`;
}

function throughputTable(result: RunResult, section: 'l7' | 'l4', body: Body): string[] {
  const rows = result.rows.filter((r) => r.section === section && r.body === body);
  if (rows.length === 0) return [];
  const l4 = section === 'l4';
  const head = [
    'contender',
    'workers',
    'req/s',
    '× direct',
    '× nginx',
    ...(l4 ? ['× HAProxy'] : []),
    'p50 ms',
    'p99 ms',
    'errors',
    'proxy CPU %',
    'proxy CPU µs/req',
    'CPU/req × nginx',
    ...cpuHeads(result),
    'other CPU %',
    'steal %',
  ];
  const out = [`| ${head.join(' | ')} |`, `|---|---|${'---:|'.repeat(head.length - 2)}`];
  if (l4) {
    const direct = `| direct (no proxy; from the L7 table) | – | ${directRps(result, body)} | 1.00× |`;
    out.push(`${direct}${' |'.repeat(head.length - 4)}`);
  }
  for (const row of rows) {
    if (row.windows.length === 0) {
      out.push(unavailableLine(row, head.length));
      continue;
    }
    const s = summarize(row);
    const ref = references(result, row);
    const rps = (x: Summary): number => x.rps;
    const cpu = (x: Summary): number | null => x.cpuUs;
    out.push(
      `| ${[
        row.label,
        row.workers ?? '–',
        Math.round(s.rps),
        x2(ratioOf(row, ref.direct, rps)),
        x2(ratioOf(row, ref.nginx, rps)),
        ...(l4 ? [x2(ratioOf(row, ref.haproxy, rps))] : []),
        ms(s.p50Us),
        ms(s.p99Us),
        s.errorText,
        pct(s.proxyCpuPercent),
        us1(s.cpuUs),
        x2(ratioOf(row, ref.nginx, cpu)),
        ...s.cpuBusy.slice(0, 2).map((v) => v.toFixed(0)),
        other(s.otherCpuPercent),
        other(s.stealPercent),
      ].join(' | ')} |`,
    );
  }
  return out;
}

function cpuHeads(result: RunResult): string[] {
  return [`CPU ${result.placement.load} busy %`, `CPU ${result.placement.proxy} busy %`];
}

function directRps(result: RunResult, body: Body): string {
  const d = find(result, 'l7', body, 'direct');
  return d === undefined ? '–' : String(Math.round(summarize(d).rps));
}

function latencyTable(result: RunResult): string[] {
  const rows = result.rows.filter((r) => r.section === 'lat');
  if (rows.length === 0) return [];
  const head = [
    'contender',
    'layer',
    'req/s',
    '× direct',
    '× nginx',
    'p50 ms',
    'p99 ms',
    'added p50 ms',
    'added p99 ms',
    'errors',
    'proxy CPU µs/req',
  ];
  const out = [`| ${head.join(' | ')} |`, `|---|---|${'---:|'.repeat(head.length - 2)}`];
  const direct = find(result, 'lat', 'small', 'direct');
  const d = direct === undefined ? null : summarize(direct);
  for (const row of rows) {
    if (row.windows.length === 0) {
      out.push(unavailableLine(row, head.length, row.layer.toUpperCase()));
      continue;
    }
    const s = summarize(row);
    const ref = references(result, row);
    const isDirect = row.id === 'direct';
    out.push(
      `| ${[
        row.label,
        isDirect ? '–' : row.layer.toUpperCase(),
        Math.round(s.rps),
        x2(ratioOf(row, ref.direct, (x) => x.rps)),
        x2(ratioOf(row, ref.nginx, (x) => x.rps)),
        ms(s.p50Us),
        ms(s.p99Us),
        isDirect || d === null ? '–' : ms(s.p50Us - d.p50Us),
        isDirect || d === null ? '–' : ms(s.p99Us - d.p99Us),
        s.errorText,
        us1(s.cpuUs),
      ].join(' | ')} |`,
    );
  }
  return out;
}

function bulkTable(result: RunResult): string[] {
  const rows = result.rows.filter((r) => r.section === 'bulk');
  if (rows.length === 0) return [];
  const head = [
    'contender',
    'workers',
    'Gbit/s',
    '× direct',
    '× nginx',
    '× HAProxy',
    'retransmits',
    'proxy CPU %',
    'proxy CPU µs/MiB',
    'CPU/MiB × nginx',
    ...cpuHeads(result),
    'other CPU %',
    'steal %',
  ];
  const out = [`| ${head.join(' | ')} |`, `|---|---|${'---:|'.repeat(head.length - 2)}`];
  for (const row of rows) {
    if (row.windows.length === 0) {
      out.push(unavailableLine(row, head.length));
      continue;
    }
    const s = summarize(row);
    const ref = references(result, row);
    const g = (x: Summary): number => x.gbps;
    out.push(
      `| ${[
        row.label,
        row.workers ?? '–',
        s.gbps.toFixed(2),
        x2(ratioOf(row, ref.direct, g)),
        x2(ratioOf(row, ref.nginx, g)),
        x2(ratioOf(row, ref.haproxy, g)),
        s.retransmits,
        pct(s.proxyCpuPercent),
        us1(s.cpuUs),
        x2(ratioOf(row, ref.nginx, (x) => x.cpuUs)),
        ...s.cpuBusy.slice(0, 2).map((v) => v.toFixed(0)),
        other(s.otherCpuPercent),
        other(s.stealPercent),
      ].join(' | ')} |`,
    );
  }
  return out;
}

/** The figures a reader checks first: Legate against HAProxy and nginx on the same run. */
export function keyRatios(result: RunResult): string[] {
  const out: string[] = [];
  const target = (r: number | null): string =>
    r === null ? '–' : `**${r.toFixed(2)}×** (target ≥ 0.90×: ${r >= 0.9 ? 'met' : 'below'})`;
  const bodies = result.params.bodies;
  for (const b of bodies) {
    const legate = find(result, 'l4', b, 'legate-tcp-1w');
    const size = b === 'small' ? '12 B' : '64 KiB';
    out.push(
      `- tcp_proxy (1 worker) ÷ HAProxy tcp, req/s, ${size}: ${target(ratioOf(legate, find(result, 'l4', b, 'haproxy-tcp'), (s) => s.rps))}`,
    );
  }
  out.push(
    `- tcp_proxy (1 worker) ÷ HAProxy tcp, bulk Gbit/s (1 stream): ${target(
      ratioOf(
        find(result, 'bulk', 'stream', 'legate-tcp-1w'),
        find(result, 'bulk', 'stream', 'haproxy-tcp'),
        (s) => s.gbps,
      ),
    )}`,
  );
  for (const b of bodies) {
    const legate = find(result, 'l4', b, 'legate-tcp-1w');
    const size = b === 'small' ? '12 B' : '64 KiB';
    const r = ratioOf(legate, find(result, 'l4', b, 'nginx-stream'), (s) => s.cpuUs);
    const h = ratioOf(legate, find(result, 'l4', b, 'haproxy-tcp'), (s) => s.cpuUs);
    out.push(
      `- Legate ÷ nginx stream, proxy CPU per request, L4 ${size}: **${x2(r)}** (÷ HAProxy tcp: ${x2(h)})`,
    );
  }
  for (const b of bodies) {
    const size = b === 'small' ? '12 B' : '64 KiB';
    const pipe = find(result, 'l4', b, 'node-net-pipe');
    const legate = find(result, 'l4', b, 'legate-tcp-1w');
    const floor = ratioOf(pipe, find(result, 'l4', b, 'haproxy-tcp'), (s) => s.rps);
    out.push(
      `- The Node floor, L4 ${size}: a bare \`net.Socket\` pipe ÷ HAProxy tcp, req/s ${x2(floor)}; tcp_proxy ÷ that pipe: req/s ${x2(ratioOf(legate, pipe, (s) => s.rps))}, CPU per request ${x2(ratioOf(legate, pipe, (s) => s.cpuUs))}`,
    );
  }
  const rb = ratioOf(
    find(result, 'bulk', 'stream', 'legate-tcp-1w'),
    find(result, 'bulk', 'stream', 'nginx-stream'),
    (s) => s.cpuUs,
  );
  out.push(`- Legate ÷ nginx stream, proxy CPU per MiB, bulk: **${x2(rb)}**`);
  for (const b of bodies) {
    const size = b === 'small' ? '12 B' : '64 KiB';
    const r = ratioOf(
      find(result, 'l4', b, 'legate-tcp-2w'),
      find(result, 'l4', b, 'legate-tcp-1w'),
      (s) => s.rps,
    );
    out.push(`- Scaling, tcp_proxy 2 workers ÷ 1 worker, req/s, L4 ${size}: ${x2(r)}`);
  }
  const http = result.rows.find((r) => r.section === 'l7' && r.id === 'legate-http-1w');
  if (http !== undefined && http.windows.length === 0) {
    out.push(`- Legate L7: ${http.status === 'n/a' ? 'n/a' : 'FAILED'} (${http.reason ?? ''})`);
  } else if (http !== undefined) {
    for (const b of bodies) {
      const legate = find(result, 'l7', b, 'legate-http-1w');
      const size = b === 'small' ? '12 B' : '64 KiB';
      out.push(
        `- Legate L7 ÷ nginx, ${size}: req/s ${x2(ratioOf(legate, find(result, 'l7', b, 'nginx'), (s) => s.rps))}, ` +
          `CPU per request ${x2(ratioOf(legate, find(result, 'l7', b, 'nginx'), (s) => s.cpuUs))}`,
      );
    }
  }
  return out;
}

/** Windows during which others' work used, or the host stole, more than 20 % of a core. */
export function disturbedWindows(result: RunResult): { disturbed: number; total: number } {
  let disturbed = 0;
  let total = 0;
  for (const row of result.rows) {
    for (const w of row.windows) {
      total++;
      if (w.otherCpuPercent > 20 || (w.stealPercent ?? 0) > 20) disturbed++;
    }
  }
  return { disturbed, total };
}

/** The measured part: key ratios and every table (what is printed to stdout). */
export function renderTables(result: RunResult): string {
  const p = result.params;
  const out: string[] = [];
  const { disturbed, total } = disturbedWindows(result);
  if (disturbed > 0.1 * total) {
    out.push(
      `> **Warning: the machine was busy with others' work.** In ${disturbed} of ${total} measured windows, ` +
        'processes that were not part of the benchmark used, or the host stole, more than 20 % of a core (see ' +
        '"other CPU %", "steal %" and the notes). Figures from this run, ratios included, are not reliable: run it again on a quiet machine.',
      '',
    );
  }
  out.push('## Key ratios (same run)', '', ...keyRatios(result), '');
  for (const b of p.bodies) {
    const size = b === 'small' ? '12 B' : '64 KiB';
    out.push(`## L7 HTTP/1.1 keep-alive, ${p.conns} connections, body ${size}`, '');
    out.push(...throughputTable(result, 'l7', b), '');
  }
  out.push('## Latency, 1 connection, body 12 B (added = over direct)', '', ...latencyTable(result), '');
  for (const b of p.bodies) {
    const size = b === 'small' ? '12 B' : '64 KiB';
    out.push(
      `## L4: HTTP/1.1 keep-alive through TCP proxies, ${p.conns} connections, body ${size} (Legate 1 and 2 workers: scaling)`,
      '',
    );
    out.push(...throughputTable(result, 'l4', b), '');
  }
  out.push(
    '## L4 bulk: one TCP stream (iperf3) through each 1-worker TCP proxy',
    '',
    ...bulkTable(result),
    '',
  );
  return out.join('\n');
}

/** The whole markdown report. */
export function renderReport(result: RunResult): string {
  const p = result.params;
  const v = result.versions;
  const pl = result.placement;
  const out: string[] = [];
  out.push(
    `# Legate side-by-side benchmark, ${result.started.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} (${p.mode})`,
    '',
  );
  out.push(
    `Command: \`${result.command}\` — took ${Math.floor(result.seconds / 60)} min ${result.seconds % 60} s.`,
    '',
  );
  out.push('## Machine and versions', '');
  out.push(
    `- Machine: ${result.machine.cpu}, ${result.machine.cores} CPUs, ${result.machine.memoryGiB} GiB, ` +
      `kernel ${result.machine.kernel}, ${result.machine.os}, TCP congestion control ${result.machine.tcpCongestionControl || 'unknown'}`,
  );
  out.push(`- Legate ${v['legate'] ?? ''} on Node ${v['node'] ?? ''}`);
  out.push(
    `- nginx ${v['nginx'] || 'missing'}, HAProxy ${v['haproxy'] || 'missing'}, wrk ${v['wrk'] || 'missing'}, ` +
      `iperf3 ${v['iperf3'] || 'missing'}, h2load (nghttp2) ${v['h2load'] || 'missing'}, ` +
      `node-http-proxy (http-proxy) ${v['node-http-proxy'] || 'missing'}`,
  );
  out.push('', '## Placement (taskset, the same for every contender)', '');
  out.push('| process | CPUs |', '|---|---|');
  out.push(`| wrk (1 thread) and the iperf3 client | ${pl.load} |`);
  out.push(`| backend nginx (1 worker) and the iperf3 server | ${pl.backend} |`);
  out.push(
    `| every 1-worker proxy (nginx, HAProxy, node-http-proxy, Legate --concurrency 1: all its threads) | ${pl.proxy} |`,
  );
  out.push(`| Legate --concurrency 2 | ${pl.proxy2} |`);
  out.push(
    '',
    `The load generator and the backend share CPU ${pl.load}, so a 1-worker proxy has CPU ${pl.proxy} to itself and its ` +
      'CPU time is its own. "direct" is therefore what one core running wrk and nginx together can do; a fast proxy ' +
      `can be limited by CPU ${pl.load}, not by itself: read its CPU per request. With 2 CPUs, a 2-worker proxy has to share ` +
      `CPU ${pl.load} with wrk and the backend.`,
  );
  out.push('', '## Method', '');
  out.push(
    `- Ports on 127.0.0.1 only: backend ${result.ports.backend}, iperf3 server ${result.ports.iperf}, proxies from ${result.ports.proxy} up. ` +
      'The backend nginx answers `GET /` with a 12-byte body and `GET /64k` with a 65,536-byte file.',
    '- The contenders of a section are started together, each on its own port, and idle except while measured: ' +
      'only one is under load at any time. Each is first checked with one request (status 200, exact body size) and ' +
      `warmed up (${p.warmupSeconds} s of the same load, not measured); then come ${p.rounds} round(s) of one ` +
      `${p.windowSeconds} s window per contender, \`wrk -t1 -c${p.conns}\`, every other round in reverse order, so all are ` +
      "measured across the same minutes and the machine's drift weighs on all alike. A row's figures are the medians " +
      'over its windows (errors are summed).',
    `- Latency: \`wrk -t1 -c1\`, one ${p.latencySeconds} s window per contender, right after its 64-connection windows` +
      `${p.latencyWarmupSeconds > 0 ? ` and ${p.latencyWarmupSeconds} s of warm-up at 1 connection` : ''}. ` +
      'wrk is closed-loop (no coordinated-omission correction).',
    `- Bulk: one \`iperf3 -P 1\` TCP stream to an iperf3 server in the backend's place; ${p.bulkWarmupSeconds} s warm-up, ` +
      `${p.bulkRounds} round(s) of one ${p.bulkSeconds} s window per contender.`,
    "- Proxy CPU: utime + stime of every process in the proxy's process group (all its threads), read from " +
      '`/proc/<pid>/stat` before and after each window, divided by the requests (or MiB) of that window. ' +
      'It counts the kernel work the proxy causes and holds even when the load generator is the bottleneck.',
    '- errors: wrk socket errors (connect, read, write, timeout) and non-2xx responses. ' +
      '"CPU n busy %" includes irq and softirq time. ' +
      '"other CPU %" is busy CPU that was none of ours (flagged (!) above 10 % of a core): before each ' +
      `measurement the harness waits up to ${p.quietMaxMs / 1000} s for the machine to be quiet, and a window during ` +
      `which others used more than 20 % of a core is measured again (at most ${p.maxRetries} times; ` +
      `all this waiting and re-measuring is bounded to ${p.patienceMs / 1000} s per run). ` +
      '"steal %" (on a virtual machine) is time the host gave our CPUs to someone else, all CPUs ' +
      'together, % of one core (flagged (!) above 10); a window with more than 20 is measured again too. It ' +
      'slows Node processes more than nginx or HAProxy.',
    '- Ratios are within this run: "× direct" against the direct row of the same body, "× nginx" against nginx ' +
      '(nginx stream for L4 rows), "CPU/req × nginx" is the proxy CPU per request divided by nginx\'s.',
    '- Configs: nginx 1 worker, `proxy_http_version 1.1`, upstream `keepalive 256`, default buffers; nginx stream 1 worker; ' +
      'HAProxy `nbthread 1`, `maxconn 4096`, defaults (keep-alive both sides); node-http-proxy with a keep-alive `http.Agent`; ' +
      'Legate: `bench/configs/legate-http.yaml` and `bench/configs/legate-tcp.yaml` (ordinary Envoy v3 YAML), ' +
      '`node bin/legate.js -c <config> --concurrency N`.',
  );
  out.push('', renderTables(result));
  if (result.notes.length > 0) {
    out.push('## Notes from the run', '', ...result.notes.map((n) => `- ${n}`), '');
  }
  if (result.micro !== undefined && result.micro.trim() !== '') {
    out.push('## Micro benchmarks (ns/op)', '', '```', result.micro.trimEnd(), '```', '');
  }
  return out.join('\n');
}
