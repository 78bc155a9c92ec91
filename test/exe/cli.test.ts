/**
 * The `legate` command end to end: a real process started from bin/legate.js, its exit
 * code, stdout and stderr, for `--mode validate`, the default config and bad input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/legate.js');
const EXAMPLES = path.resolve(ROOT, '../shared/envoy-examples');

function legate(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempConfig(text: string): { file: string; [Symbol.dispose](): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-cli-'));
  const file = path.join(dir, 'envoy.yaml');
  fs.writeFileSync(file, text);
  return { file, [Symbol.dispose]: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test('validate mode prints OK and exits 0 for the bundled default config', () => {
  const r = legate('--mode', 'validate', '-c', 'configs/legate.yaml');
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'OK\n');
  assert.equal(r.code, 0);
});

test('validate mode lists every error with file:line:col and path, then exits 1', () => {
  using cfg = tempConfig(
    [
      'static_resources:',
      '  clusters:',
      '  - name: a',
      '    connect_timeout: 5',
      '  - name: a',
      '    lb_polcy: ROUND_ROBIN',
      '',
    ].join('\n'),
  );
  const r = legate('--mode', 'validate', '-c', cfg.file);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.match(
    lines[0] ?? '',
    /envoy\.yaml:4:5: static_resources\.clusters\[0\]\.connect_timeout: expected a duration string/,
  );
  assert.match(
    lines[1] ?? '',
    /envoy\.yaml:6:5: static_resources\.clusters\[1\]\.lb_polcy: unknown field 'lb_polcy' .*did you mean 'lb_policy'/,
  );
  assert.match(lines[2] ?? '', /static_resources\.clusters\[1\]\.name: duplicate cluster name 'a'/);
  assert.match(lines[3] ?? '', /rejected: 3 errors/);
});

test('an extension Legate lacks is reported as unsupported, not invalid', () => {
  const yaml = [
    'static_resources:',
    '  listeners:',
    '  - address: {socket_address: {address: 127.0.0.1, port_value: 10000}}',
    '    filter_chains:',
    '    - filters:',
    '      - name: envoy.filters.network.redis_proxy',
    '        typed_config:',
    '          "@type": type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy',
    '          stat_prefix: redis',
    '          settings: {op_timeout: 1s}',
    '          prefix_routes: {catch_all_route: {cluster: c}}',
  ].join('\n');
  const r = legate('--mode', 'validate', '--config-yaml', yaml);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]: not supported by Legate: envoy\.filters\.network\.redis_proxy at static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]/,
  );
  assert.match(r.stderr, /rejected: 1 unsupported/);
});

test('--config-yaml is merged over -c: scalars override, repeated fields append', () => {
  using cfg = tempConfig('node: {id: from-file, cluster: c}\nstatic_resources: {clusters: [{name: a}]}\n');
  const ok = legate(
    '--mode',
    'validate',
    '-c',
    cfg.file,
    '--config-yaml',
    'static_resources: {clusters: [{name: b}]}',
  );
  assert.equal(ok.code, 0, ok.stderr);
  // The appended cluster duplicates the file's one: the merged list holds both.
  const dup = legate(
    '--mode',
    'validate',
    '-c',
    cfg.file,
    '--config-yaml',
    'static_resources: {clusters: [{name: a}]}',
  );
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /static_resources\.clusters\[1\]\.name: duplicate cluster name 'a'/);
});

test('an unknown flag is a one-line error naming it, exit 1', () => {
  const r = legate('--conig-path', 'x.yaml');
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /--conig-path/);
  assert.match(r.stderr, /--config-path/);
});

test('a bad flag value is a one-line error naming the flag, exit 1', () => {
  for (const args of [
    ['--mode', 'run', '-c', 'configs/legate.yaml'],
    ['--concurrency', 'many', '-c', 'configs/legate.yaml'],
    ['-l', 'loud', '-c', 'configs/legate.yaml'],
    ['--drain-strategy', 'slow', '-c', 'configs/legate.yaml'],
  ]) {
    const r = legate(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(args[0] === '-l' ? '--log-level' : (args[0] ?? '')), r.stderr);
  }
});

test('a missing config file is reported plainly', () => {
  const r = legate('--mode', 'validate', '-c', 'does-not-exist.yaml');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does-not-exist\.yaml: cannot read the config file \(no such file\)/);
});

test('--version and --help exit 0', () => {
  const v = legate('--version');
  assert.equal(v.code, 0);
  assert.match(v.stdout, /legate\s+version: \d+\.\d+\.\d+/);
  const h = legate('--help');
  assert.equal(h.code, 0);
  for (const flag of [
    '--config-path',
    '--config-yaml',
    '--mode',
    '--concurrency',
    '--log-level',
    '--drain-time-s',
  ]) {
    assert.ok(h.stdout.includes(flag), flag);
  }
});

test('validate mode accepts a real Envoy example from the compatibility corpus', (t) => {
  const file = path.join(EXAMPLES, 'front-proxy/envoy.yaml');
  if (!fs.existsSync(file)) {
    t.skip(`${EXAMPLES} is absent`);
    return;
  }
  const r = legate('--mode', 'validate', '-c', file);
  assert.equal(r.stdout, 'OK\n', r.stderr);
  assert.equal(r.code, 0);
});
