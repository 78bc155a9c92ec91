/**
 * The append-only files (and standard streams) access logs write to, one appender per
 * destination per thread.
 *
 * Worker threads (main too, if it ever logs access): every logger on a thread that names
 * the same path shares one appender, so one `fs.WriteStream` (flags `a`) per path per
 * thread. A line goes into an in-memory buffer; the buffers are written once the current
 * loop callback returns (`schedule`, normally `dispatcher.post`), or at once past 64 KiB,
 * so a busy worker issues one write per file per loop turn and never waits for the disk.
 * A file whose writes fall more than 16 MiB behind drops lines (counted, reported once per
 * episode) rather than growing without bound. `/dev/stdout` and `/dev/stderr` go to the
 * process streams, as the stdout/stderr loggers do: on a worker Node forwards those to the
 * main thread, which keeps lines from different workers whole. `reopenAll()` (SIGUSR1,
 * after logrotate moved the files) sends what is buffered to the old files and opens the
 * paths anew. Envoy counterpart: `AccessLogManagerImpl` and `AccessLogFileImpl`
 * (source/common/access_log/access_log_manager_impl.cc), whose flush thread becomes the
 * loop-turn batching and Node's asynchronous writes.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import type { TextOutput } from '../common/log-sinks.ts';
import { getLogger } from '../common/logger.ts';
import type { AccessLogFile } from './types.ts';

/** Past this many buffered characters an appender writes at once, without waiting for the turn to end. */
const MAX_BATCH_CHARS = 64 * 1024;
/** Past this many bytes queued in a file stream (a slow or stuck disk), new lines are dropped. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

const log = getLogger('file');

export interface AccessLogFileManagerOptions {
  /**
   * Runs `flush` once the current loop callback returns (`(cb) => dispatcher.post(cb)`).
   * Without it every write goes out at once (tests, tools).
   */
  readonly schedule?: (flush: () => void) => void;
  /** Where `stdout` lines go; default `process.stdout`. */
  readonly stdout?: TextOutput;
  /** Where `stderr` lines go; default `process.stderr`. */
  readonly stderr?: TextOutput;
}

/** The common half of an appender: the buffer and its place in the manager's flush list. */
abstract class BufferedAppender implements AccessLogFile {
  readonly path: string;
  protected readonly manager: AccessLogFileManager;
  private pending = '';

  constructor(path: string, manager: AccessLogFileManager) {
    this.path = path;
    this.manager = manager;
  }

  write(text: string): void {
    if (!this.manager.batching) {
      this.output(text);
      return;
    }
    if (this.pending === '') this.manager.markDirty(this);
    this.pending += text;
    if (this.pending.length >= MAX_BATCH_CHARS) this.flush();
  }

  /** Hands the buffered text to the destination. */
  flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.output(text);
  }

  protected abstract output(text: string): void;
}

class StdStreamAppender extends BufferedAppender {
  private readonly out: TextOutput;

  constructor(path: string, manager: AccessLogFileManager, out: TextOutput) {
    super(path, manager);
    this.out = out;
  }

  protected output(text: string): void {
    this.out.write(text);
  }
}

class FileAppender extends BufferedAppender {
  private stream: WriteStream;
  /** Bytes dropped since the file fell behind (0 while it keeps up). */
  private droppingBytes = 0;
  /** Total bytes dropped over the appender's life. */
  droppedBytes = 0;
  /** Streams retired by `reopen()`/`close()` that have not closed yet. */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;

  constructor(path: string, manager: AccessLogFileManager) {
    super(path, manager);
    this.stream = this.open();
  }

  protected output(text: string): void {
    const stream = this.stream;
    if (this.closed || stream.errored !== null || stream.destroyed) {
      this.droppedBytes += text.length;
      return;
    }
    if (stream.writableLength > MAX_QUEUED_BYTES) {
      if (this.droppingBytes === 0) {
        log.warn(
          `access log file ${this.path}: writes are ${stream.writableLength} bytes behind, dropping lines`,
        );
      }
      this.droppingBytes += text.length;
      this.droppedBytes += text.length;
      return;
    }
    if (this.droppingBytes > 0) {
      log.warn(`access log file ${this.path}: caught up, ${this.droppingBytes} bytes of lines were dropped`);
      this.droppingBytes = 0;
    }
    stream.write(text);
  }

  /** Resolves once everything handed to the stream so far is written (or the stream failed). */
  settled(): Promise<void> {
    this.flush();
    const stream = this.stream;
    if (stream.errored !== null || stream.destroyed) return Promise.resolve();
    return new Promise((done) => stream.write('', () => done()));
  }

  /** Buffered lines go to the file as it was; later lines to the path opened anew. */
  reopen(): void {
    if (this.closed) return;
    this.flush();
    this.retire(this.stream);
    this.stream = this.open();
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.flush();
      this.closed = true;
      this.retire(this.stream);
    }
    await Promise.all(this.retiring);
  }

  private open(): WriteStream {
    const stream = createWriteStream(this.path, { flags: 'a' });
    stream.on('error', (err: Error) => log.error(`access log file ${this.path}: ${err.message}`));
    return stream;
  }

  private retire(stream: WriteStream): void {
    const done = new Promise<void>((closed) => {
      if (stream.closed) {
        closed();
        return;
      }
      stream.once('close', () => closed());
      stream.end();
    });
    this.retiring.add(done);
    void done.then(() => this.retiring.delete(done));
  }
}

/** One per thread: owns every access log appender of the thread. */
export class AccessLogFileManager {
  private readonly schedule: ((flush: () => void) => void) | undefined;
  private readonly stdoutOutput: TextOutput;
  private readonly stderrOutput: TextOutput;
  private readonly files = new Map<string, FileAppender>();
  private stdoutAppender: StdStreamAppender | undefined;
  private stderrAppender: StdStreamAppender | undefined;
  /** Appenders with buffered text, flushed together once the loop callback returns. */
  private dirty: BufferedAppender[] = [];
  private flushScheduled = false;
  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flushAll();
  };
  private closed = false;

  constructor(options: AccessLogFileManagerOptions = {}) {
    this.schedule = options.schedule;
    this.stdoutOutput = options.stdout ?? process.stdout;
    this.stderrOutput = options.stderr ?? process.stderr;
  }

  /** The thread's appender for `path`, opened for append on first use. */
  openFile(path: string): AccessLogFile {
    if (path === '/dev/stdout') return this.openStdStream('stdout');
    if (path === '/dev/stderr') return this.openStdStream('stderr');
    if (this.closed) throw new Error(`bug: access log file ${path} opened after closeAll()`);
    const key = resolve(path);
    let file = this.files.get(key);
    if (file === undefined) {
      file = new FileAppender(path, this);
      this.files.set(key, file);
    }
    return file;
  }

  /** The thread's appender to the process's standard output or error. */
  openStdStream(which: 'stdout' | 'stderr'): AccessLogFile {
    if (which === 'stdout') {
      this.stdoutAppender ??= new StdStreamAppender('stdout', this, this.stdoutOutput);
      return this.stdoutAppender;
    }
    this.stderrAppender ??= new StdStreamAppender('stderr', this, this.stderrOutput);
    return this.stderrAppender;
  }

  /** False without a scheduler: appenders then write every line at once. */
  get batching(): boolean {
    return this.schedule !== undefined;
  }

  /** Called by an appender when its buffer stops being empty. */
  markDirty(appender: BufferedAppender): void {
    this.dirty.push(appender);
    if (this.schedule !== undefined && !this.flushScheduled) {
      this.flushScheduled = true;
      this.schedule(this.scheduledFlush);
    }
  }

  /** Writes every buffered line now. */
  flushAll(): void {
    const dirty = this.dirty;
    this.dirty = [];
    for (const appender of dirty) appender.flush();
  }

  /** SIGUSR1: buffered lines go to the files as they were, then every path is opened anew. */
  reopenAll(): void {
    for (const file of this.files.values()) file.reopen();
  }

  /** Resolves once every line written so far has reached its file. */
  async settled(): Promise<void> {
    this.flushAll();
    await Promise.all([...this.files.values()].map((f) => f.settled()));
  }

  /** Writes what is buffered, closes every file, and resolves when all have closed. */
  async closeAll(): Promise<void> {
    this.closed = true;
    this.flushAll();
    await Promise.all([...this.files.values()].map((f) => f.close()));
  }
}
