import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeLogLine, jsonEscape, LogFormatter } from '../../src/common/log-format.ts';
import { LOG_LEVEL_RANK } from '../../src/common/log-types.ts';
import { DEFAULT_LOG_FORMAT } from '../../src/server/options.ts';

const THREAD = { threadName: 'main_thread', pid: 4242 };
/** 2024-01-02 (a Tuesday) 15:04:05.678 local time, whatever the machine's zone. */
const T = new Date(2024, 0, 2, 15, 4, 5, 678).getTime();
const INFO = LOG_LEVEL_RANK.info;

function fmt(pattern: string, message = 'hello', timeMs = T, level = INFO, name = 'upstream'): string {
  return new LogFormatter(pattern, THREAD).format(timeMs, level, name, message);
}

function withTimeZone(tz: string, fn: () => void): void {
  const saved = process.env['TZ'];
  process.env['TZ'] = tz;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env['TZ'];
    else process.env['TZ'] = saved;
  }
}

describe('LogFormatter', () => {
  test("Envoy's default format prints local time, thread, level, logger and message, without an empty [:]", () => {
    assert.equal(fmt(DEFAULT_LOG_FORMAT), '[2024-01-02 15:04:05.678][main_thread][info][upstream] hello\n');
  });

  test('date and time flags print local time as spdlog does', () => {
    const pattern = '%Y|%C|%m|%d|%H|%I|%M|%S|%e|%p|%a|%A|%b|%h|%B|%c|%D|%x|%T|%X|%R|%r|%E';
    const epochSeconds = Math.floor(T / 1000);
    assert.equal(
      fmt(pattern),
      '2024|24|01|02|15|03|04|05|678|PM|Tue|Tuesday|Jan|Jan|January|Tue Jan 2 15:04:05 2024|' +
        `01/02/24|01/02/24|15:04:05|15:04:05|15:04|03:04:05 PM|${epochSeconds}\n`,
    );
  });

  test('morning hours: %p is AM and %I keeps hour 0 as 00 (spdlog to12h)', () => {
    const midnight = new Date(2024, 6, 9, 0, 7, 8, 9).getTime();
    assert.equal(fmt('%H %I %p %r %e', 'x', midnight), '00 00 AM 00:07:08 AM 009\n');
  });

  test('%e, %f and %F print milli-, micro- and nanoseconds into the second', () => {
    assert.equal(fmt('%e %f %F'), '678 678000 678000000\n');
    assert.equal(fmt('%e %f %F', 'x', T + 0.25), '678 678250 678250000\n');
    const early = new Date(2024, 0, 2, 15, 4, 5, 7).getTime();
    assert.equal(fmt('%e %f %F', 'x', early), '007 007000 007000000\n');
  });

  test('%z prints the UTC offset of local time, and the time is local', () => {
    const utc = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    withTimeZone('Asia/Kolkata', () => {
      assert.equal(fmt('%Y-%m-%d %T.%e %z', 'x', utc), '2024-01-02 08:34:05.678 +05:30\n');
    });
    withTimeZone('America/St_Johns', () => {
      assert.equal(fmt('%T %z', 'x', utc), '23:34:05 -03:30\n');
    });
    withTimeZone('UTC', () => {
      assert.equal(fmt('%T %z', 'x', utc), '03:04:05 +00:00\n');
    });
  });

  test('%l and %L print every level as Envoy does', () => {
    const levels = ['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const;
    const out = levels.map((l) => fmt('%l/%L', 'x', T, LOG_LEVEL_RANK[l]).trimEnd());
    assert.deepEqual(out, ['trace/T', 'debug/D', 'info/I', 'warning/W', 'error/E', 'critical/C']);
  });

  test('%t thread name, %P pid, %n logger, %v message, %% percent', () => {
    assert.equal(fmt('%t %P %n %v 100%%', 'msg'), 'main_thread 4242 upstream msg 100%\n');
  });

  test('an unknown flag prints as written; a lone % at the end is dropped', () => {
    assert.equal(fmt('%Q %k %v%'), '%Q %k hello\n');
  });

  test('%^ and %$ colour markers print nothing', () => {
    assert.equal(fmt('%^%l%$ %v'), 'info hello\n');
  });

  test('padding: right-aligned, left-aligned, centred, truncated, capped at 64', () => {
    assert.equal(fmt('[%8l]'), '[    info]\n');
    assert.equal(fmt('[%-8l]'), '[info    ]\n');
    assert.equal(fmt('[%=8l]'), '[  info  ]\n');
    assert.equal(fmt('[%=9l]'), '[  info   ]\n');
    assert.equal(fmt('[%3!l]'), '[inf]\n');
    assert.equal(fmt('[%3l]'), '[info]\n');
    assert.equal(fmt('[%-12!n]'), '[upstream    ]\n');
    assert.equal(fmt('[%100v]', 'x'), `[${' '.repeat(63)}x]\n`);
  });

  test('source-location flags print nothing; a [%g:%#] style group is dropped with one space', () => {
    assert.equal(fmt('%g:%#|%s|%@|%!'), ':|||\n');
    assert.equal(fmt('[%n] [%g:%#] %v'), '[upstream] hello\n');
    assert.equal(fmt('[%@] %v'), 'hello\n');
    assert.equal(fmt('%v [%s:%#]'), 'hello\n');
    assert.equal(fmt('[%n] [%v]'), '[upstream] [hello]\n', 'a group with other flags stays');
    assert.equal(fmt('[%l][%g:%#][%n] %v'), '[info][upstream] hello\n');
  });

  test('%_ escapes only newlines; %v leaves the message alone', () => {
    assert.equal(fmt('%_|%v', 'a\nb\tc'), 'a\\nb\tc|a\nb\tc\n');
  });

  test('%j escapes the message as a JSON string (Envoy JsonEscaper)', () => {
    assert.equal(fmt('"%j"', 'a"b\\c\nd\te\u0001f\u001fé'), '"a\\"b\\\\c\\nd\\te\\u0001f\\u001fé"\n');
    assert.equal(fmt('%j', '\b\f\r'), '\\b\\f\\r\n');
  });

  test('%+ and %* split a tagged message into JSON properties (Envoy ExtractedMessage/Tags)', () => {
    const pattern = '{"level":"%l","msg":"%+"%*}';
    assert.equal(
      fmt(pattern, '[Tags: "ConnectionId":"7","StreamId":"9"] said "hi"'),
      '{"level":"info","msg":"said \\"hi\\"","ConnectionId":"7","StreamId":"9"}\n',
    );
    assert.equal(fmt(pattern, 'plain "x"'), '{"level":"info","msg":"plain \\"x\\""}\n');
  });

  test('%o %i %u %O print the time since the previous line, 0 for the first', () => {
    const f = new LogFormatter('%o %i %u %O', THREAD);
    assert.equal(f.format(T, INFO, 'main', 'a'), '0 0 0 0\n');
    assert.equal(f.format(T + 1250, INFO, 'main', 'b'), '1250 1250000 1250000000 1\n');
    assert.equal(f.format(T + 1000, INFO, 'main', 'c'), '0 0 0 0\n', 'time going back prints 0');
  });

  test('the broken-down time follows the clock across seconds (per-second cache)', () => {
    const f = new LogFormatter('%T.%e', THREAD);
    assert.equal(f.format(T, INFO, 'main', 'a'), '15:04:05.678\n');
    assert.equal(f.format(T + 100, INFO, 'main', 'a'), '15:04:05.778\n');
    assert.equal(f.format(T + 400, INFO, 'main', 'a'), '15:04:06.078\n');
    assert.equal(f.format(T + 3_600_000, INFO, 'main', 'a'), '16:04:05.678\n');
  });
});

describe('escapeLogLine (--log-format-escaped)', () => {
  test('escapes C-style sequences but keeps the trailing end of line (Envoy LinuxEOL)', () => {
    assert.equal(escapeLogLine('line 1 \n line 2\n'), 'line 1 \\n line 2\n');
  });

  test('keeps a Windows end of line (Envoy WindowEOL)', () => {
    assert.equal(escapeLogLine('line 1 \n line 2\r\n'), 'line 1 \\n line 2\r\n');
  });

  test('escapes a line without trailing whitespace entirely (Envoy NoTrailingWhitespace)', () => {
    assert.equal(escapeLogLine('line 1 \n line 2'), 'line 1 \\n line 2');
  });

  test('quotes, apostrophes and backslashes are escaped as absl::CEscape does', () => {
    assert.equal(escapeLogLine(`it's "x" \\ \tz \t\n`), `it\\'s \\"x\\" \\\\ \\tz \t\n`);
  });

  test('other control characters and non-ASCII bytes become three-digit octal', () => {
    assert.equal(escapeLogLine('a\u0001b\u007fc é\n'), 'a\\001b\\177c \\303\\251\n');
  });

  test('a clean line comes back unchanged', () => {
    const line = '[2024-01-02 15:04:05.678][main_thread][info][main] ready\n';
    assert.equal(escapeLogLine(line), line);
  });
});

describe('jsonEscape', () => {
  test('leaves text without specials alone and escapes the rest', () => {
    assert.equal(jsonEscape('plain text é'), 'plain text é');
    assert.equal(jsonEscape('"\\\u0000'), '\\"\\\\\\u0000');
  });
});
