/**
 * Access log formats checked at config load: what Envoy rejects (an unknown operator, bad
 * syntax) is an error at the field holding the format, down to the JSON key; what Envoy
 * has and Legate lacks (an operator, an access log filter) is reported as unsupported.
 * Envoy counterpart: the EnvoyException paths of
 * test/common/formatter/substitution_format_string_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fieldStep, formatPath } from '../../../src/config/errors.ts';
import type { ExtensionContext, ProtoMessage, ResolvedExtension } from '../../../src/config/types.ts';
import { fileAccessLogFactory } from '../../../src/extensions/access_loggers/file/config.ts';
import { stdoutAccessLogFactory } from '../../../src/extensions/access_loggers/stream/config.ts';
import { tcpProxyFactory } from '../../../src/extensions/filters/network/tcp_proxy/config.ts';

interface Issue {
  readonly kind: 'invalid' | 'unsupported';
  readonly path: string;
  readonly message: string;
}

function context(built = new Map<ProtoMessage, ResolvedExtension>()): {
  ctx: ExtensionContext;
  issues: Issue[];
} {
  const issues: Issue[] = [];
  const ctx: ExtensionContext = {
    step: fieldStep(undefined, 'typed_config'),
    error: (step, message) => issues.push({ kind: 'invalid', path: formatPath(step), message }),
    unsupported: (step, message) => issues.push({ kind: 'unsupported', path: formatPath(step), message }),
    warn: () => {},
    extensionOf: (owner) => built.get(owner),
    requireCluster: () => {},
  };
  return { ctx, issues };
}

describe('access log formats at config load', () => {
  test('a valid text, JSON or default format reports nothing', () => {
    const { ctx, issues } = context();
    fileAccessLogFactory.createConfig({ path: '/tmp/a.log' }, ctx);
    fileAccessLogFactory.createConfig(
      { path: '/tmp/a.log', format: '%START_TIME(%s.%3f)% %REQ(:PATH):20%\n' },
      ctx,
    );
    stdoutAccessLogFactory.createConfig(
      { log_format: { json_format: { a: '%BYTES_SENT%', b: { c: ['%PROTOCOL%', 1] } } } },
      ctx,
    );
    assert.deepEqual(issues, []);
  });

  test('an unknown operator is an error at the text_format that holds it', () => {
    const { ctx, issues } = context();
    stdoutAccessLogFactory.createConfig({ log_format: { text_format: '%BYTES_SENT% %BYTES_SNET%\n' } }, ctx);
    assert.deepEqual(issues, [
      {
        kind: 'invalid',
        path: 'typed_config.log_format.text_format',
        message: 'Not supported field in StreamInfo: BYTES_SNET',
      },
    ]);
  });

  test('a JSON format error names the key down to the bad value', () => {
    const { ctx, issues } = context();
    fileAccessLogFactory.createConfig(
      {
        path: '/tmp/a.log',
        log_format: { json_format: { ok: '%BYTES_SENT%', upstream: { host: '%UPSTREAM%' } } },
      },
      ctx,
    );
    assert.deepEqual(issues, [
      {
        kind: 'invalid',
        path: 'typed_config.log_format.json_format.upstream.host',
        message: 'Not supported field in StreamInfo: UPSTREAM',
      },
    ]);
  });

  test("the file logger's deprecated fields and an inline text_format_source are checked too", () => {
    const { ctx, issues } = context();
    fileAccessLogFactory.createConfig({ path: '/tmp/a.log', format: '100%\n' }, ctx);
    fileAccessLogFactory.createConfig({ path: '/tmp/a.log', json_format: { a: '%REQ%' } }, ctx);
    fileAccessLogFactory.createConfig(
      { path: '/tmp/a.log', log_format: { text_format_source: { inline_string: '%PROTOCOL(x)%' } } },
      ctx,
    );
    // A file is read only when the logger is built.
    fileAccessLogFactory.createConfig(
      { path: '/tmp/a.log', log_format: { text_format_source: { filename: '/no/such/format' } } },
      ctx,
    );
    assert.deepEqual(
      issues.map((i) => [i.path, i.message]),
      [
        ['typed_config.format', "Incorrect configuration: 100%\n. Couldn't find valid command at position 3"],
        ['typed_config.json_format.a', 'REQ requires parameters'],
        [
          'typed_config.log_format.text_format_source.inline_string',
          'PROTOCOL does not take any parameters or length',
        ],
      ],
    );
  });

  test('an operator Envoy has and Legate lacks is reported as unsupported', () => {
    const { ctx, issues } = context();
    stdoutAccessLogFactory.createConfig({ log_format: { text_format: '%DOWNSTREAM_TLS_VERSION%\n' } }, ctx);
    assert.deepEqual(issues, [
      {
        kind: 'unsupported',
        path: 'typed_config.log_format.text_format',
        message: 'DOWNSTREAM_TLS_VERSION is not supported by Legate',
      },
    ]);
  });

  test('an access log filter is reported as unsupported at its path', () => {
    const log: ProtoMessage = {
      name: 'envoy.access_loggers.stdout',
      filter: { not_health_check_filter: {} },
    };
    const built = new Map<ProtoMessage, ResolvedExtension>([
      [
        log,
        {
          name: 'envoy.access_loggers.stdout',
          category: 'envoy.access_loggers',
          typeUrl: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
          factory: stdoutAccessLogFactory,
          config: stdoutAccessLogFactory.createConfig({}, context().ctx),
          perRoute: false,
        },
      ],
    ]);
    const { ctx, issues } = context(built);
    tcpProxyFactory.createConfig({ stat_prefix: 'tcp', cluster: 'backend', access_log: [log] }, ctx);
    assert.deepEqual(issues, [
      {
        kind: 'unsupported',
        path: 'typed_config.access_log[0].filter',
        message: 'access log filters are not supported by Legate yet',
      },
    ]);
  });
});
