/**
 * Real Envoy v3 configurations (envoyproxy/examples, copied verbatim into
 * `../shared/envoy-examples/`) load through `loadConfig` with the compiled-in extensions:
 * none is invalid, every extension Legate lacks is reported in the one standard form, and,
 * as things stand, every one of them is fully supported.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type LoadedConfig, loadConfig } from '../../src/config/bootstrap.ts';
import { formatIssue } from '../../src/config/errors.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLES_DIR = path.resolve(REPO_ROOT, '../shared/envoy-examples');
const UNSUPPORTED_FORM = /^not supported by Legate: \S+ at /;

function exampleFiles(): string[] {
  return (fs.readdirSync(EXAMPLES_DIR, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

const loaded = new Map<string, LoadedConfig>();

function load(file: string): LoadedConfig {
  let result = loaded.get(file);
  if (result === undefined) {
    result = loadConfig(
      { configPath: path.join(EXAMPLES_DIR, file) },
      { registry: new ExtensionRegistry(compiledInExtensions) },
    );
    loaded.set(file, result);
  }
  return result;
}

function list(issues: LoadedConfig['issues']): string {
  return issues.map((i) => `\n  ${formatIssue(i)}`).join('');
}

if (!fs.existsSync(EXAMPLES_DIR)) {
  test('Envoy example configs load', (t) => {
    t.skip(`the examples folder ${EXAMPLES_DIR} is absent`);
  });
} else {
  const files = exampleFiles();

  test('the examples folder holds YAML configs', () => {
    assert.ok(files.length > 0, `no .yaml/.yml files under ${EXAMPLES_DIR}`);
  });

  describe('every Envoy example config is valid for Legate', () => {
    for (const file of files) {
      test(`${file}: no invalid issues`, () => {
        const invalid = load(file).issues.filter((i) => i.kind === 'invalid');
        assert.equal(invalid.length, 0, `invalid issues:${list(invalid)}`);
      });

      test(`${file}: each unsupported extension is reported as "not supported by Legate: <name> at <path>"`, () => {
        for (const issue of load(file).issues.filter((i) => i.kind === 'unsupported')) {
          assert.match(issue.message, UNSUPPORTED_FORM);
          assert.ok(
            issue.message.endsWith(` at ${issue.path}`),
            `the message names its own path: ${issue.message}`,
          );
        }
      });
    }
  });

  describe('every Envoy example config is fully supported', () => {
    for (const file of files) {
      test(`${file}: zero errors of any kind`, () => {
        const { errors } = load(file);
        assert.equal(errors.length, 0, `errors:${list(errors)}`);
      });
    }
  });

  test('status of every example (diagnostics)', (t) => {
    for (const file of files) {
      const result = load(file);
      const invalid = result.errors.filter((e) => e.kind === 'invalid').length;
      const unsupported = result.errors.length - invalid;
      const status =
        result.errors.length === 0
          ? 'OK'
          : [invalid > 0 ? `${invalid} invalid` : '', unsupported > 0 ? `${unsupported} unsupported` : '']
              .filter((s) => s !== '')
              .join(', ');
      const warnings = result.warnings.length > 0 ? ` (${result.warnings.length} warning(s))` : '';
      t.diagnostic(`${file} [${result.kind}]: ${status}${warnings}`);
      for (const e of result.errors) t.diagnostic(`    ${formatIssue(e)}`);
    }
  });
}
