import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { CallbackLogSink } from '../../src/common/log-sinks.ts';
import type { LogOptions, LogSink } from '../../src/common/log-types.ts';
import {
  configureLogging,
  createLogContext,
  getLogger,
  LogContext,
  threadLogContext,
} from '../../src/common/logger.ts';
import { DEFAULT_LOG_FORMAT, type LoggerId, type LogLevel } from '../../src/server/options.ts';

const T = new Date(2024, 0, 2, 3, 4, 5, 678).getTime();
const STAMP = '[2024-01-02 03:04:05.678]';

/** A sink that keeps what it is given and counts flushes. */
class MemorySink implements LogSink {
  readonly lines: string[] = [];
  flushes = 0;
  reopens = 0;
  log(text: string): void {
    this.lines.push(text);
  }
  flush(): void {
    this.flushes++;
  }
  reopen(): void {
    this.reopens++;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function options(overrides: Partial<LogOptions> = {}): LogOptions {
  return {
    logLevel: 'info',
    componentLogLevels: new Map<LoggerId, LogLevel>(),
    logFormat: '%n:%l:%v',
    logFormatEscaped: false,
    ...overrides,
  };
}

function context(overrides: Partial<LogOptions> = {}): { ctx: LogContext; sink: MemorySink } {
  const sink = new MemorySink();
  const ctx = createLogContext(options(overrides), { threadName: 'main_thread', now: () => T, sink });
  return { ctx, sink };
}

/** Logs one message at every level through `id`'s logger. */
function logAll(ctx: LogContext, id: LoggerId): void {
  const log = ctx.getLogger(id);
  log.trace('t');
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  log.critical('c');
}

describe('LogContext levels', () => {
  test('at the default level info, trace and debug are dropped', () => {
    const { ctx, sink } = context();
    logAll(ctx, 'upstream');
    assert.deepEqual(sink.lines, [
      'upstream:info:i\n',
      'upstream:warning:w\n',
      'upstream:error:e\n',
      'upstream:critical:c\n',
    ]);
  });

  test('-l applies to every component', () => {
    const { ctx, sink } = context({ logLevel: 'trace' });
    logAll(ctx, 'http');
    logAll(ctx, 'admin');
    assert.equal(sink.lines.length, 12);
    const quiet = context({ logLevel: 'error' });
    logAll(quiet.ctx, 'http');
    assert.deepEqual(quiet.sink.lines, ['http:error:e\n', 'http:critical:c\n']);
  });

  test('--component-log-level overrides the global level for the named components only', () => {
    const componentLogLevels = new Map<LoggerId, LogLevel>([
      ['upstream', 'trace'],
      ['http', 'critical'],
    ]);
    const { ctx, sink } = context({ logLevel: 'warning', componentLogLevels });
    logAll(ctx, 'upstream');
    logAll(ctx, 'http');
    logAll(ctx, 'config');
    assert.deepEqual(sink.lines, [
      'upstream:trace:t\n',
      'upstream:debug:d\n',
      'upstream:info:i\n',
      'upstream:warning:w\n',
      'upstream:error:e\n',
      'upstream:critical:c\n',
      'http:critical:c\n',
      'config:warning:w\n',
      'config:error:e\n',
      'config:critical:c\n',
    ]);
  });

  test('off silences even critical', () => {
    const { ctx, sink } = context({ logLevel: 'off' });
    logAll(ctx, 'main');
    assert.deepEqual(sink.lines, []);
    assert.equal(ctx.getLogger('main').isEnabled('critical'), false);
  });

  test('isEnabled tells callers whether to build a message', () => {
    const { ctx } = context({ logLevel: 'debug' });
    const log = ctx.getLogger('router');
    assert.equal(log.isEnabled('trace'), false);
    assert.equal(log.isEnabled('debug'), true);
    assert.equal(log.isEnabled('critical'), true);
    assert.equal(log.level, 'debug');
  });

  test('log(level, message) filters like the per-level methods', () => {
    const { ctx, sink } = context();
    const log = ctx.getLogger('pool');
    log.log('debug', 'hidden');
    log.log('warning', 'shown');
    assert.deepEqual(sink.lines, ['pool:warning:shown\n']);
  });

  test('levels change at run time: all at once, or one component', () => {
    const { ctx, sink } = context();
    const log = ctx.getLogger('upstream');
    log.debug('before');
    ctx.setLevel('debug');
    log.debug('after setLevel');
    ctx.setComponentLevel('upstream', 'error');
    log.warn('after setComponentLevel');
    ctx.getLogger('http').debug('http still debug');
    assert.deepEqual(sink.lines, ['upstream:debug:after setLevel\n', 'http:debug:http still debug\n']);
  });

  test('levels() is plain data another context applies (main -> workers after /logging)', () => {
    const main = context();
    main.ctx.setLevel('warning');
    main.ctx.setComponentLevel('upstream', 'trace');
    const snapshot = structuredClone(main.ctx.levels());
    assert.equal(snapshot.upstream, 'trace');
    assert.equal(snapshot.http, 'warning');
    const worker = context();
    worker.ctx.applyLevels(snapshot);
    assert.equal(worker.ctx.getLogger('upstream').level, 'trace');
    assert.equal(worker.ctx.getLogger('admin').level, 'warning');
    worker.ctx.applyLevels({ admin: 'debug' });
    assert.equal(
      worker.ctx.getLogger('admin').level,
      'debug',
      'a partial snapshot changes only what it names',
    );
    assert.equal(worker.ctx.getLogger('upstream').level, 'trace');
  });

  test('loggers() lists every Envoy logger id in order; findLogger resolves names', () => {
    const { ctx } = context();
    const names = ctx.loggers().map((l) => l.name);
    assert.equal(names[0], 'admin');
    assert.ok(names.includes('upstream'));
    assert.equal(ctx.findLogger('upstream'), ctx.getLogger('upstream'));
    assert.equal(ctx.findLogger('nope'), undefined);
  });
});

describe('LogContext output', () => {
  test('the default format, local time from the given clock, the thread name', () => {
    const { ctx, sink } = context({ logFormat: DEFAULT_LOG_FORMAT });
    ctx.getLogger('main').info('starting');
    assert.deepEqual(sink.lines, [`${STAMP}[main_thread][info][main] starting\n`]);
  });

  test('--log-format-escaped escapes the whole line but keeps its end of line', () => {
    const { ctx, sink } = context({ logFormat: '[%n] %v', logFormatEscaped: true });
    ctx.getLogger('config').warn("can't parse:\n\tline 2");
    assert.deepEqual(sink.lines, ["[config] can\\'t parse:\\n\\tline 2\n"]);
  });

  test('a critical message flushes the sink', () => {
    const { ctx, sink } = context();
    ctx.getLogger('main').error('e');
    assert.equal(sink.flushes, 0);
    ctx.getLogger('main').critical('c');
    assert.equal(sink.flushes, 1);
  });

  test('setFormat changes the pattern of every logger', () => {
    const { ctx, sink } = context();
    ctx.setFormat('%L %v', true);
    ctx.getLogger('main').info('a\nb');
    assert.deepEqual(sink.lines, ['I a\\nb\n']);
    assert.equal(ctx.format, '%L %v');
    assert.equal(ctx.escaped, true);
  });

  test('reopen() and writeLine() reach the sink', () => {
    const { ctx, sink } = context();
    ctx.reopen();
    ctx.writeLine('from a worker\n');
    assert.equal(sink.reopens, 1);
    assert.deepEqual(sink.lines, ['from a worker\n']);
  });

  test('lines logged before configure are kept and written, timestamped at configuration', () => {
    const ctx = new LogContext();
    assert.equal(ctx.configured, false);
    ctx.getLogger('main').info('early');
    ctx.getLogger('main').debug('below info: never kept');
    const sink = new MemorySink();
    ctx.configure(options({ logFormat: DEFAULT_LOG_FORMAT }), {
      threadName: 'main_thread',
      now: () => T,
      sink,
    });
    assert.deepEqual(sink.lines, [`${STAMP}[main_thread][info][main] early\n`]);
  });

  test('past 1000 early lines the rest are counted and reported, not kept', () => {
    const ctx = new LogContext();
    for (let i = 0; i < 1005; i++) ctx.getLogger('main').info(`line ${i}`);
    const sink = new MemorySink();
    ctx.configure(options(), { threadName: 'main_thread', now: () => T, sink });
    assert.equal(sink.lines.length, 1001);
    assert.equal(sink.lines[999], 'main:info:line 999\n');
    assert.equal(
      sink.lines[1000],
      'misc:warning:5 log messages logged before logging was configured were dropped\n',
    );
  });
});

describe('thread context', () => {
  test('getLogger returns the same object before and after configureLogging', () => {
    const early = getLogger('upstream');
    early.info('before configure');
    const sink = new MemorySink();
    const ctx = configureLogging(options({ componentLogLevels: new Map([['upstream', 'debug']]) }), {
      threadName: 'main_thread',
      now: () => T,
      sink,
    });
    assert.equal(ctx, threadLogContext());
    assert.equal(getLogger('upstream'), early);
    early.debug('after configure');
    assert.deepEqual(sink.lines, ['upstream:info:before configure\n', 'upstream:debug:after configure\n']);
  });
});

describe('worker-style logging', () => {
  test('a worker formats its lines and posts them; main writes them to its own sink', async () => {
    const mainSink = new MemorySink();
    const main = createLogContext(options({ logFormat: DEFAULT_LOG_FORMAT }), {
      threadName: 'main_thread',
      now: () => T,
      sink: mainSink,
    });
    const worker = new Worker(new URL('./fixtures/log-worker.ts', import.meta.url), {
      workerData: {
        options: options({
          logFormat: DEFAULT_LOG_FORMAT,
          componentLogLevels: new Map([['upstream', 'debug']]),
        }),
        now: T,
      },
    });
    const posts: string[] = [];
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { type: 'log'; text: string } | { type: 'done' }) => {
        if (m.type === 'log') {
          posts.push(m.text);
          main.writeLine(m.text);
        } else resolve();
      });
      worker.on('error', reject);
    });
    await worker.terminate();
    assert.deepEqual(posts, [
      `${STAMP}[worker_3][info][main] worker up\n${STAMP}[worker_3][debug][upstream] host added\n`,
      `${STAMP}[worker_3][critical][main] flushed at once\n`,
    ]);
    assert.deepEqual(mainSink.lines, posts);
  });
});

test('CallbackLogSink is what a worker passes as its sink', () => {
  const posted: string[] = [];
  const ctx = createLogContext(options(), {
    threadName: 'worker_0',
    now: () => T,
    sink: new CallbackLogSink((text) => posted.push(text)),
  });
  ctx.getLogger('http').info('one');
  ctx.getLogger('http').info('two');
  assert.deepEqual(posted, ['http:info:one\n', 'http:info:two\n']);
});
