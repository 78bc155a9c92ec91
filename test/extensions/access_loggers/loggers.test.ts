/**
 * The file, stdout and stderr access loggers on a worker's AccessLogManagerImpl, from the
 * internal configs their config factories build: real lines in a temp file, two loggers
 * sharing one stream, reopen after a rename, the stream loggers with JSON, a format read
 * from a file when the logger is built, and the refusals. Envoy counterpart:
 * test/extensions/access_loggers/file/config_test.cc and stream/stream_test.cc.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AccessLogManagerImpl } from '../../../src/access-log/access-log-manager.ts';
import { AccessLogFileManager } from '../../../src/access-log/file-manager.ts';
import type { ExtensionContext, ProtoMessage } from '../../../src/config/types.ts';
import { fileAccessLogFactory } from '../../../src/extensions/access_loggers/file/config.ts';
import { accessLogRuntimes } from '../../../src/extensions/access_loggers/runtimes.ts';
import {
  stderrAccessLogFactory,
  stdoutAccessLogFactory,
} from '../../../src/extensions/access_loggers/stream/config.ts';
import { StreamInfo } from '../../../src/stream-info/stream-info.ts';

const START_MS = Date.UTC(2026, 10, 23, 16, 41, 1, 180);

const ctx: ExtensionContext = {
  step: undefined,
  error: (_step, message) => assert.fail(message),
  unsupported: (_step, message) => assert.fail(message),
  warn: () => {},
  extensionOf: () => undefined,
  requireCluster: () => {},
};

function connection(bytesSent: number): StreamInfo {
  const si = new StreamInfo(START_MS, 100);
  si.endMonotonicMs = 142;
  si.downstreamRemoteAddress = '10.0.0.1';
  si.downstreamRemotePort = 40000;
  si.bytesSent = bytesSent;
  si.upstream = {
    hostAddress: '10.0.2.1:80',
    clusterName: 'backend',
    localAddress: '',
    transportFailureReason: '',
  };
  return si;
}

let dir = '';
let queue: Array<() => void> = [];
let stdout: string[] = [];
let stderr: string[] = [];
let files: AccessLogFileManager;
let manager: AccessLogManagerImpl;
let now = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-access-loggers-'));
  queue = [];
  stdout = [];
  stderr = [];
  now = 0;
  files = new AccessLogFileManager({
    schedule: (flush) => queue.push(flush),
    stdout: { write: (t: string) => stdout.push(t) },
    stderr: { write: (t: string) => stderr.push(t) },
  });
  manager = new AccessLogManagerImpl({ runtimes: accessLogRuntimes, files, monotonicNow: () => now });
});

afterEach(async () => {
  await files.closeAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The end of the worker's loop turn: the scheduled flush runs. */
function endTurn(): void {
  for (const flush of queue.splice(0)) flush();
}

function fileLog(config: ProtoMessage) {
  return manager.create({
    extension: 'envoy.access_loggers.file',
    config: fileAccessLogFactory.createConfig(config, ctx),
  });
}

describe('envoy.access_loggers.file', () => {
  test("writes Envoy's default format to its path, one line per log call", async () => {
    const file = path.join(dir, 'access.log');
    const log = fileLog({ path: file });
    log.log({ streamInfo: connection(10) });
    log.log({ streamInfo: connection(20) });
    endTurn();
    await files.settled();
    assert.equal(
      fs.readFileSync(file, 'utf8'),
      '[2026-11-23T16:41:01.180Z] "- - -" 0 - 0 10 42 - "-" "-" "-" "-" "10.0.2.1:80"\n' +
        '[2026-11-23T16:41:01.180Z] "- - -" 0 - 0 20 42 - "-" "-" "-" "-" "10.0.2.1:80"\n',
    );
  });

  test('two loggers on one path share one stream and keep the order of their lines', async () => {
    const file = path.join(dir, 'shared.log');
    const a = fileLog({ path: file, log_format: { text_format: 'a %BYTES_SENT%\n' } });
    const b = fileLog({ path: `${dir}/./shared.log`, log_format: { text_format: 'b %BYTES_SENT%\n' } });
    assert.equal(manager.openFile(file), manager.openFile(`${dir}/./shared.log`));
    a.log({ streamInfo: connection(1) });
    b.log({ streamInfo: connection(2) });
    a.log({ streamInfo: connection(3) });
    endTurn();
    b.log({ streamInfo: connection(4) });
    endTurn();
    await files.settled();
    assert.equal(fs.readFileSync(file, 'utf8'), 'a 1\nb 2\na 3\nb 4\n');
  });

  test('after logrotate moves the file, reopening sends new lines to a new file at the path', async () => {
    const file = path.join(dir, 'access.log');
    const log = fileLog({ path: file, format: '%BYTES_SENT%\n' });
    log.log({ streamInfo: connection(1) });
    endTurn();
    await files.settled();
    fs.renameSync(file, `${file}.1`);
    files.reopenAll();
    log.log({ streamInfo: connection(2) });
    endTurn();
    await files.settled();
    assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), '1\n');
    assert.equal(fs.readFileSync(file, 'utf8'), '2\n');
  });

  test('a text_format_source file is read when the logger is built', async () => {
    const formatFile = path.join(dir, 'format.txt');
    fs.writeFileSync(formatFile, '%UPSTREAM_CLUSTER% %BYTES_SENT%\n');
    const file = path.join(dir, 'access.log');
    const log = fileLog({ path: file, log_format: { text_format_source: { filename: formatFile } } });
    log.log({ streamInfo: connection(7) });
    endTurn();
    await files.settled();
    assert.equal(fs.readFileSync(file, 'utf8'), 'backend 7\n');

    fs.writeFileSync(formatFile, '%NOT_AN_OPERATOR%\n');
    assert.throws(
      () => fileLog({ path: file, log_format: { text_format_source: { filename: formatFile } } }),
      /access log format: Not supported field in StreamInfo: NOT_AN_OPERATOR/,
    );
  });

  test('%DURATION% of a connection still open is taken from the worker clock', () => {
    const log = fileLog({ path: '/dev/stdout', format: '%DURATION%\n' });
    const open = connection(0);
    open.endMonotonicMs = undefined;
    now = 350;
    log.log({ streamInfo: open });
    endTurn();
    assert.deepEqual(stdout, ['250\n']);
  });
});

describe('envoy.access_loggers.stdout and stderr', () => {
  test('write their lines to the process streams, batched per loop turn', () => {
    const out = manager.create({
      extension: 'envoy.access_loggers.stdout',
      config: stdoutAccessLogFactory.createConfig(
        { log_format: { json_format: { bytes: '%BYTES_SENT%', host: '%UPSTREAM_HOST%' } } },
        ctx,
      ),
    });
    const err = manager.create({
      extension: 'envoy.access_loggers.stderr',
      config: stderrAccessLogFactory.createConfig({ log_format: { text_format: 'err %BYTES_SENT%\n' } }, ctx),
    });
    out.log({ streamInfo: connection(5) });
    out.log({ streamInfo: connection(6) });
    err.log({ streamInfo: connection(7) });
    assert.deepEqual(stdout, []);
    endTurn();
    assert.deepEqual(stdout, ['{"bytes":5,"host":"10.0.2.1:80"}\n{"bytes":6,"host":"10.0.2.1:80"}\n']);
    assert.deepEqual(stderr, ['err 7\n']);
  });
});

describe('AccessLogManagerImpl', () => {
  test('refuses a logger that has no data path in this build', () => {
    assert.throws(
      () => manager.create({ extension: 'envoy.access_loggers.http_grpc', config: {} }),
      /envoy\.access_loggers\.http_grpc has no data path/,
    );
  });

  test('refuses an entry with a filter, which config loading reports as unsupported', () => {
    assert.throws(
      () =>
        manager.create({
          extension: 'envoy.access_loggers.stdout',
          config: stdoutAccessLogFactory.createConfig({}, ctx),
          filter: { status_code_filter: {} },
        }),
      /filter reached a worker/,
    );
  });
});
