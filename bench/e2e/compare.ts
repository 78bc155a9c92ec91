/**
 * Compares side-by-side runs: `npm run bench:compare -- bench/results/A.json bench/results/B.json [...]`.
 *
 * Absolute figures drift from run to run on a shared machine; ratios taken within one run
 * should not. For every row measured in all the runs it prints req/s (Gbit/s for bulk) and
 * proxy CPU per request (per MiB for bulk), then the figure the issue's bar is about: Legate's
 * CPU per request divided by nginx's in each run, and how far apart the runs are
 * (largest ÷ smallest − 1; the bar is 15 %). Runs on the main thread of its own process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { find, ratioOf, type Summary, summarize } from './report.ts';
import type { Body, Row, RunResult } from './types.ts';

const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (files.length < 2) {
  process.stderr.write('usage: node bench/e2e/compare.ts RESULT.json RESULT.json [...]\n');
  process.exit(2);
}
const runs = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as RunResult);
const names = files.map((f) => path.basename(f, '.json'));

const spread = (values: readonly number[]): number => Math.max(...values) / Math.min(...values) - 1;
const pctText = (v: number): string => `${(100 * v).toFixed(1)} %`;

const out: string[] = [];
out.push(`# Side-by-side runs compared: ${names.join(', ')}`, '');
out.push(
  ...runs.map(
    (r, i) => `- ${names[i]}: ${r.params.mode}, ${r.started}, Legate ${r.versions['legate'] ?? ''}`,
  ),
  '',
);

const keyOf = (r: Row): string => `${r.section}|${r.body}|${r.id}`;
const measured = (run: RunResult): Map<string, Row> =>
  new Map(run.rows.filter((r) => r.windows.length > 0).map((r) => [keyOf(r), r]));
const maps = runs.map(measured);
const first = maps[0] ?? new Map<string, Row>();

out.push(
  `| row | ${names.map((n) => `rate ${n}`).join(' | ')} | spread | ${names.map((n) => `CPU µs ${n}`).join(' | ')} | spread |`,
  `|---|${'---:|'.repeat(2 * names.length + 2)}`,
);
for (const [key, row] of first) {
  const rows = maps.map((m) => m.get(key));
  if (rows.some((r) => r === undefined)) continue;
  const sums = rows.map((r) => summarize(r as Row));
  const rate = (s: Summary): number => (row.section === 'bulk' ? s.gbps : s.rps);
  const rates = sums.map(rate);
  const cpus = sums.map((s) => s.cpuUs);
  const cpuKnown = cpus.every((c) => c !== null);
  out.push(
    `| ${row.section} ${row.body} ${row.id} | ${rates.map((v) => (row.section === 'bulk' ? v.toFixed(2) : Math.round(v))).join(' | ')} | ` +
      `${pctText(spread(rates))} | ${cpus.map((c) => (c === null ? '–' : c.toFixed(1))).join(' | ')} | ` +
      `${cpuKnown ? pctText(spread(cpus as number[])) : '–'} |`,
  );
}

out.push('', '## Legate ÷ nginx, proxy CPU per request (the run-to-run bar: within 15 %)', '');
out.push(`| row | ${names.join(' | ')} | spread | within 15 % |`, `|---|${'---:|'.repeat(names.length + 2)}`);
const pairs: [string, 'l4' | 'l7' | 'bulk', Body, string, string][] = [
  ['L4 12 B, tcp_proxy ÷ nginx stream', 'l4', 'small', 'legate-tcp-1w', 'nginx-stream'],
  ['L4 64 KiB, tcp_proxy ÷ nginx stream', 'l4', '64k', 'legate-tcp-1w', 'nginx-stream'],
  ['L4 12 B, tcp_proxy 2 workers ÷ nginx stream', 'l4', 'small', 'legate-tcp-2w', 'nginx-stream'],
  ['L4 64 KiB, tcp_proxy 2 workers ÷ nginx stream', 'l4', '64k', 'legate-tcp-2w', 'nginx-stream'],
  ['bulk, tcp_proxy ÷ nginx stream (per MiB)', 'bulk', 'stream', 'legate-tcp-1w', 'nginx-stream'],
  ['L7 12 B, Legate ÷ nginx', 'l7', 'small', 'legate-http-1w', 'nginx'],
  ['L7 64 KiB, Legate ÷ nginx', 'l7', '64k', 'legate-http-1w', 'nginx'],
];
for (const [label, section, body, a, b] of pairs) {
  const ratios = runs.map((r) =>
    ratioOf(find(r, section, body, a), find(r, section, body, b), (s) => s.cpuUs),
  );
  if (ratios.some((r) => r === null)) continue;
  const values = ratios as number[];
  const s = spread(values);
  out.push(
    `| ${label} | ${values.map((v) => `${v.toFixed(2)}×`).join(' | ')} | ${pctText(s)} | ${s <= 0.15 ? 'yes' : 'NO'} |`,
  );
}

out.push('', '## Same-run targets', '');
out.push(`| ratio | ${names.join(' | ')} |`, `|---|${'---:|'.repeat(names.length)}`);
const targets: [string, 'l4' | 'bulk', Body, (s: Summary) => number][] = [
  ['tcp_proxy ÷ HAProxy tcp, req/s, 12 B', 'l4', 'small', (s) => s.rps],
  ['tcp_proxy ÷ HAProxy tcp, req/s, 64 KiB', 'l4', '64k', (s) => s.rps],
  ['tcp_proxy ÷ HAProxy tcp, bulk Gbit/s', 'bulk', 'stream', (s) => s.gbps],
];
for (const [label, section, body, figure] of targets) {
  const ratios = runs.map((r) =>
    ratioOf(find(r, section, body, 'legate-tcp-1w'), find(r, section, body, 'haproxy-tcp'), figure),
  );
  out.push(`| ${label} | ${ratios.map((v) => (v === null ? '–' : `${v.toFixed(2)}×`)).join(' | ')} |`);
}
process.stdout.write(`${out.join('\n')}\n`);
