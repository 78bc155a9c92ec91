import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CallbackLogSink, FileLogSink, openFileLogSink, StreamLogSink } from '../../src/common/log-sinks.ts';
import { createLogContext } from '../../src/common/logger.ts';
import type { LoggerId, LogLevel } from '../../src/server/options.ts';

/** Collects what a sink sends to its fallback output. */
class Collector {
  text = '';
  write(text: string): boolean {
    this.text += text;
    return true;
  }
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await nextTurn();
  }
  assert.fail(`timed out waiting for ${what}`);
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'legate-log-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileLogSink', () => {
  test('appends to an existing file', async () => {
    const path = join(dir, 'append.log');
    await writeFile(path, 'existing\n');
    const sink = await openFileLogSink(path);
    sink.log('one\n');
    sink.log('two\nthree\n');
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), 'existing\none\ntwo\nthree\n');
  });

  test('reopen after logrotate renamed the file: old lines stay in the moved file, new ones go to the path', async () => {
    const path = join(dir, 'rotate.log');
    const fallback = new Collector();
    const sink = await openFileLogSink(path, { fallback });
    const ctx = createLogContext(
      {
        logLevel: 'info',
        componentLogLevels: new Map<LoggerId, LogLevel>(),
        logFormat: '[%n] %v',
        logFormatEscaped: false,
      },
      { threadName: 'main_thread', now: () => 0, sink },
    );
    ctx.getLogger('main').info('before rotation');
    await rename(path, `${path}.1`);
    ctx.getLogger('main').info('written after the rename, before reopen');
    ctx.reopen();
    ctx.getLogger('main').info('after reopen');
    await sink.ready();
    ctx.getLogger('main').info('after the new file opened');
    await sink.close();
    assert.equal(
      await readFile(`${path}.1`, 'utf8'),
      '[main] before rotation\n[main] written after the rename, before reopen\n',
    );
    assert.equal(await readFile(path, 'utf8'), '[main] after reopen\n[main] after the new file opened\n');
    assert.equal(fallback.text, '', 'nothing went to the fallback');
  });

  test('openFileLogSink rejects when the file cannot be opened, and reports nothing itself', async () => {
    const fallback = new Collector();
    await assert.rejects(openFileLogSink(join(dir, 'missing-dir', 'x.log'), { fallback }), {
      code: 'ENOENT',
    });
    assert.equal(fallback.text, '');
  });

  test('a failed reopen is reported once and later lines go to the fallback', async () => {
    const sub = join(dir, 'vanishing');
    const path = join(sub, 'app.log');
    await mkdir(sub);
    const fallback = new Collector();
    const sink = new FileLogSink(path, { fallback });
    await sink.ready();
    await rm(sub, { recursive: true, force: true });
    sink.reopen();
    await assert.rejects(sink.ready(), { code: 'ENOENT' });
    await eventually(() => fallback.text.includes('ENOENT'), 'the error report');
    assert.match(fallback.text, /^legate: application log file .*app\.log: ENOENT[^\n]*\n$/);
    sink.log('to the fallback\n');
    assert.ok(fallback.text.endsWith('to the fallback\n'));
    await sink.close();
  });

  test('lines logged after close() go to the fallback', async () => {
    const path = join(dir, 'closed.log');
    const fallback = new Collector();
    const sink = await openFileLogSink(path, { fallback });
    await sink.close();
    sink.log('late\n');
    sink.reopen();
    assert.equal(fallback.text, 'late\n');
    assert.equal(await readFile(path, 'utf8'), '');
  });
});

describe('StreamLogSink', () => {
  test('writes each line to its stream', async () => {
    const out = new Collector();
    const sink = new StreamLogSink(out);
    sink.log('a\n');
    sink.log('b\n');
    sink.flush();
    sink.reopen();
    await sink.close();
    assert.equal(out.text, 'a\nb\n');
  });
});

describe('CallbackLogSink', () => {
  test('without a scheduler each line is handed over at once', () => {
    const posted: string[] = [];
    const sink = new CallbackLogSink((text) => posted.push(text));
    sink.log('a\n');
    sink.log('b\n');
    assert.deepEqual(posted, ['a\n', 'b\n']);
  });

  test('with a scheduler the lines of one callback are posted once, when it returns', () => {
    const posted: string[] = [];
    const queue: (() => void)[] = [];
    const sink = new CallbackLogSink(
      (text) => posted.push(text),
      (flush) => queue.push(flush),
    );
    sink.log('a\n');
    sink.log('b\n');
    sink.log('c\n');
    assert.deepEqual(posted, []);
    assert.equal(queue.length, 1, 'one scheduled flush per batch');
    for (const cb of queue.splice(0)) cb();
    assert.deepEqual(posted, ['a\nb\nc\n']);
    sink.log('d\n');
    assert.equal(queue.length, 1, 'the next batch schedules again');
  });

  test('flush() and close() post what is pending at once', async () => {
    const posted: string[] = [];
    const queue: (() => void)[] = [];
    const sink = new CallbackLogSink(
      (text) => posted.push(text),
      (flush) => queue.push(flush),
    );
    sink.log('a\n');
    sink.flush();
    assert.deepEqual(posted, ['a\n']);
    for (const cb of queue.splice(0)) cb();
    assert.deepEqual(posted, ['a\n'], 'the scheduled flush finds nothing left');
    sink.log('b\n');
    await sink.close();
    assert.deepEqual(posted, ['a\n', 'b\n']);
  });

  test('a batch past 64 KiB is posted without waiting', () => {
    const posted: string[] = [];
    const sink = new CallbackLogSink(
      (text) => posted.push(text),
      () => {},
    );
    const line = 'x'.repeat(1023) + '\n';
    for (let i = 0; i < 64; i++) sink.log(line);
    assert.equal(posted.length, 1);
    assert.equal(posted[0]!.length, 64 * 1024);
  });
});
