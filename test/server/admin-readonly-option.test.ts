/**
 * `--admin-readonly-address` (a Legate extension to Envoy's command line): parsed into a
 * host and port, IPv6 in brackets, rejected with a one-line error otherwise, and listed by
 * `--help`. The listener it opens is tested in test/admin/admin-endpoints.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helpText, parseOptions } from '../../src/server/options.ts';

function parse(argv: string[]): ReturnType<typeof parseOptions> {
  return parseOptions(['-c', 'x.yaml', ...argv], { cpus: 2 });
}

test('--admin-readonly-address takes host:port or [v6]:port; absent means no read-only listener', () => {
  const absent = parse([]);
  assert.ok(absent.ok && absent.action === 'run');
  assert.equal(absent.options.adminReadonlyAddress, undefined);
  const v4 = parse(['--admin-readonly-address', '0.0.0.0:9902']);
  assert.ok(v4.ok && v4.action === 'run');
  assert.deepEqual(v4.options.adminReadonlyAddress, { host: '0.0.0.0', port: 9902 });
  const v6 = parse(['--admin-readonly-address=[::1]:0']);
  assert.ok(v6.ok && v6.action === 'run');
  assert.deepEqual(v6.options.adminReadonlyAddress, { host: '::1', port: 0 });
  const name = parse(['--admin-readonly-address', 'localhost:9902']);
  assert.ok(name.ok && name.action === 'run');
  assert.deepEqual(name.options.adminReadonlyAddress, { host: 'localhost', port: 9902 });
});

test('a malformed --admin-readonly-address is a one-line error naming the flag', () => {
  for (const bad of ['9902', '::1:9902', 'host:', 'host:70000', 'host:port', '[::1]']) {
    const r = parse(['--admin-readonly-address', bad]);
    assert.ok(!r.ok, bad);
    assert.match(r.error, /^error: --admin-readonly-address: expected host:port/, bad);
    assert.equal(r.exitCode, 1);
  }
});

test('--help lists it as a Legate extension', () => {
  const help = helpText({ cpus: 2 });
  assert.ok(help.includes('\n   --admin-readonly-address <string>\n'));
  assert.match(help, /Legate extension: host:port of a read-only admin listener/);
});
