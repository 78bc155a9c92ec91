/**
 * `npm run bench`: Legate's benchmarks in one command.
 *
 * 1. The side-by-side run (bench/e2e/): Legate against nginx, HAProxy and node-http-proxy on
 *    127.0.0.1, same backend, load generator and CPU placement, with CPU per request and ratios
 *    taken within the run. It installs what it lacks (apt-get, npm) first.
 * 2. The micro benchmarks (bench/micro/*.ts), each in its own process so one-off costs (schema
 *    loading, JIT warm-up) are measured the same way every time; each prints ns/op.
 *
 * The report goes to bench/results/<timestamp>.md (the data beside it as .json) and the tables
 * to stdout.
 *
 *   npm run bench                       full side-by-side (under 10 min), then the micro benchmarks
 *   npm run bench -- --quick            side-by-side only, 12 B bodies, one short window per row (under 2 min)
 *   npm run bench -- --micro [name...]  only the micro benchmarks (names filter by file name);
 *   npm run bench -- lb                 so does any bare name, as `node bench/run.ts lb`
 *   npm run bench -- --side-by-side     only the side-by-side run
 *   options: --no-install  --only REGEX (contender ids)  --port-base N (19280)  --keep-tmp
 *   compare two runs: npm run bench:compare -- bench/results/A.json bench/results/B.json
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderReport, renderTables } from './e2e/report.ts';
import { FULL, measureSideBySide, QUICK } from './e2e/side-by-side.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    micro: { type: 'boolean', default: false },
    'side-by-side': { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    only: { type: 'string' },
    'port-base': { type: 'string', default: '19280' },
    'keep-tmp': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  const text = fs.readFileSync(import.meta.filename, 'utf8');
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(text)?.[1]?.replace(/^ \* ?/gm, '') ?? ''}\n`);
  process.exit(0);
}

const microOnly = values.micro || (positionals.length > 0 && !values['side-by-side']);
const sideBySide = !microOnly;
// --quick has to stay under 2 minutes: the micro benchmarks alone take over a minute
const micro = !values['side-by-side'] && !values.quick;

/** Runs every micro benchmark (filtered by `only`), output shown live and returned. */
async function runMicro(only: readonly string[]): Promise<{ output: string; ok: boolean }> {
  const dir = path.join(import.meta.dirname, 'micro');
  let output = '';
  let ok = true;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  for (const file of files) {
    if (only.length > 0 && !only.some((o) => file.includes(o))) continue;
    const child = spawn(process.execPath, [path.join(dir, file)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      process.stdout.write(d);
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    if (code !== 0) ok = false;
  }
  return { output, ok };
}

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

if (!sideBySide) {
  const r = await runMicro(positionals);
  if (!r.ok) process.exitCode = 1;
} else {
  const started = new Date();
  const params = values.quick ? QUICK : FULL;
  const portBase = Number(values['port-base']);
  if (!Number.isInteger(portBase) || portBase < 1024 || portBase > 65000) {
    throw new Error(`--port-base must be a port number between 1024 and 65000, got ${values['port-base']}`);
  }
  const argv = process.argv.slice(2);
  const result = await measureSideBySide({
    params,
    install: !values['no-install'],
    portBase,
    only: values.only === undefined ? null : new RegExp(values.only),
    keepTmp: values['keep-tmp'],
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
  });
  process.stdout.write(`\n${renderTables(result)}\n`);
  if (micro) {
    process.stdout.write('## Micro benchmarks\n\n');
    const r = await runMicro([]);
    result.micro = r.output;
    if (!r.ok) process.exitCode = 1;
  } else if (values.quick) {
    process.stdout.write('(micro benchmarks not run with --quick: npm run bench -- --micro)\n');
  }
  const finished = new Date();
  result.seconds = Math.round((finished.getTime() - started.getTime()) / 1000);
  result.finished = finished.toISOString();
  const dir = path.join(import.meta.dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${stamp(started)}${params.mode === 'quick' ? '-quick' : ''}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 1)}\n`);
  fs.writeFileSync(`${base}.md`, renderReport(result));
  process.stdout.write(
    `\nreport: ${path.relative(process.cwd(), `${base}.md`)} (data: ${path.basename(base)}.json), ` +
      `${Math.floor(result.seconds / 60)} min ${result.seconds % 60} s\n`,
  );
}
