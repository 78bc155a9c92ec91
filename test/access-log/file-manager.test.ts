/**
 * The per-thread access log file manager on real temp files: lines batched per loop turn
 * (the turn's end simulated by running the scheduled flush), one appender per path, reopen
 * after a logrotate-style rename, close, and a file that cannot be opened. Envoy
 * counterpart: test/common/access_log/access_log_manager_impl_test.cc.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AccessLogFileManager } from '../../src/access-log/file-manager.ts';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-access-log-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A manager whose "end of loop turn" the test triggers with `endTurn()`. */
function batchingManager(): {
  files: AccessLogFileManager;
  endTurn: () => void;
  scheduled: () => number;
  stdout: string[];
} {
  const queue: Array<() => void> = [];
  let count = 0;
  const stdout: string[] = [];
  const files = new AccessLogFileManager({
    schedule: (flush) => {
      count++;
      queue.push(flush);
    },
    stdout: { write: (text: string) => stdout.push(text) },
  });
  const endTurn = (): void => {
    for (const flush of queue.splice(0)) flush();
  };
  return { files, endTurn, scheduled: () => count, stdout };
}

function read(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

describe('AccessLogFileManager', () => {
  test('lines of one loop turn wait for its end, with one flush scheduled for every file', async () => {
    const { files, endTurn, scheduled } = batchingManager();
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    files.openFile(a).write('a1\n');
    files.openFile(b).write('b1\n');
    files.openFile(a).write('a2\n');
    assert.equal(scheduled(), 1);
    endTurn();
    files.openFile(a).write('a3\n');
    assert.equal(scheduled(), 2);
    endTurn();
    await files.closeAll();
    assert.equal(read(a), 'a1\na2\na3\n');
    assert.equal(read(b), 'b1\n');
  });

  test('nothing reaches the destination before the turn ends, unless 64 KiB are buffered', () => {
    const { files, endTurn, stdout } = batchingManager();
    const out = files.openStdStream('stdout');
    out.write('first\n');
    assert.equal(stdout.length, 0);
    endTurn();
    assert.equal(stdout[0], 'first\n');
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 64; i++) out.write(line);
    assert.equal(stdout.length, 2, 'the 64th KiB is written at once');
    assert.equal(stdout[1]?.length, 64 * 1024);
    out.write('tail\n');
    endTurn();
    assert.equal(stdout[2], 'tail\n');
  });

  test('without a scheduler every write goes out at once', () => {
    const lines: string[] = [];
    const files = new AccessLogFileManager({ stderr: { write: (t: string) => lines.push(t) } });
    files.openStdStream('stderr').write('now\n');
    assert.deepEqual(lines, ['now\n']);
  });

  test('one path, however spelled, is one appender; /dev/stdout is the stdout appender', () => {
    const { files } = batchingManager();
    const a = path.join(dir, 'a.log');
    assert.equal(files.openFile(a), files.openFile(path.join(dir, '.', 'sub', '..', 'a.log')));
    assert.notEqual(files.openFile(a), files.openFile(path.join(dir, 'b.log')));
    assert.equal(files.openFile('/dev/stdout'), files.openStdStream('stdout'));
    assert.equal(files.openFile('/dev/stderr'), files.openStdStream('stderr'));
    return files.closeAll();
  });

  test('after a rename, reopenAll sends buffered lines to the moved file and later ones to the path', async () => {
    const { files, endTurn } = batchingManager();
    const live = path.join(dir, 'access.log');
    const rotated = path.join(dir, 'access.log.1');
    const file = files.openFile(live);
    file.write('before rotation\n');
    endTurn();
    await files.settled();
    fs.renameSync(live, rotated);
    file.write('buffered at rotation\n');
    files.reopenAll();
    file.write('after rotation\n');
    endTurn();
    await files.closeAll();
    assert.equal(read(rotated), 'before rotation\nbuffered at rotation\n');
    assert.equal(read(live), 'after rotation\n');
  });

  test('closeAll writes what is buffered, and later lines are dropped', async () => {
    const { files } = batchingManager();
    const a = path.join(dir, 'a.log');
    const file = files.openFile(a);
    file.write('buffered\n');
    await files.closeAll();
    file.write('too late\n');
    assert.equal(read(a), 'buffered\n');
    assert.throws(() => files.openFile(path.join(dir, 'new.log')), /after closeAll/);
  });

  test('a file that cannot be opened drops its lines without throwing', async () => {
    const { files, endTurn } = batchingManager();
    const file = files.openFile(path.join(dir, 'no', 'such', 'dir', 'a.log'));
    file.write('lost\n');
    endTurn();
    await files.settled();
    file.write('lost too\n');
    endTurn();
    await files.closeAll();
    assert.equal(fs.existsSync(path.join(dir, 'no')), false);
  });
});
