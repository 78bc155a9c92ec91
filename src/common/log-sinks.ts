/**
 * Log sinks: where a thread's formatted application log lines go.
 *
 * - `StreamLogSink`: a process stream, normally stderr (Envoy's `StderrSinkDelegate`).
 * - `FileLogSink`: `--log-path`, opened for append through a non-blocking `fs.WriteStream`;
 *   `reopen()` (SIGUSR1, after logrotate moved the file) retires the old stream, which still
 *   drains into the moved file, and opens the path anew (Envoy's `FileSinkDelegate` over
 *   `AccessLogManager::reopen`).
 * - `CallbackLogSink`: hands text to a callback, which on a worker posts it to the main
 *   thread over the worker's MessagePort; optionally batches the lines of one loop turn into
 *   one message. Writing a log line therefore never blocks a worker's loop.
 *
 * A sink belongs to the thread that created it: main owns the stderr or file sink and writes
 * the text workers post to it; each worker owns a callback sink. Node buffers a file
 * stream's pending writes and issues them as one `writev`, so there is no flush timer
 * (`--file-flush-interval-msec` is not applied to the application log).
 */

import { createWriteStream, type WriteStream } from 'node:fs';
import type { LogSink } from './log-types.ts';

/** The little a sink needs of an output stream (process.stderr fits). */
export interface TextOutput {
  write(text: string): unknown;
}

/** Writes lines to a process stream, by default stderr. Never closes it. */
export class StreamLogSink implements LogSink {
  readonly #out: TextOutput;

  constructor(out: TextOutput = process.stderr) {
    this.#out = out;
  }

  log(text: string): void {
    this.#out.write(text);
  }

  flush(): void {}

  reopen(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface FileLogSinkOptions {
  /**
   * Receives a one-line report when the file cannot be opened or written, and the lines
   * logged while it is unusable or after `close()`. Default: stderr.
   */
  readonly fallback?: TextOutput;
}

/** Appends lines to a file through a non-blocking write stream; reopens it on demand. */
export class FileLogSink implements LogSink {
  readonly path: string;
  readonly #fallback: TextOutput;
  #stream: WriteStream;
  #opened: Promise<void>;
  /** Streams retired by `reopen()`/`close()` that have not closed yet. */
  readonly #retiring = new Set<Promise<void>>();
  #closed = false;

  constructor(path: string, options: FileLogSinkOptions = {}) {
    this.path = path;
    this.#fallback = options.fallback ?? process.stderr;
    [this.#stream, this.#opened] = this.#open();
  }

  /** Resolves once the current file is open; rejects with the error if it cannot be opened. */
  ready(): Promise<void> {
    return this.#opened;
  }

  log(text: string): void {
    const stream = this.#stream;
    if (this.#closed || stream.errored !== null || stream.destroyed) {
      this.#fallback.write(text);
      return;
    }
    stream.write(text);
  }

  /** Nothing to force: the stream writes as soon as the previous write completes. */
  flush(): void {}

  /**
   * Opens the path again and writes every later line there. What the old stream still holds
   * is written to the file it had open (logrotate's moved file), then it closes.
   */
  reopen(): void {
    if (this.#closed) return;
    this.#retire(this.#stream);
    [this.#stream, this.#opened] = this.#open();
  }

  /** Writes what is pending, closes the file, and resolves when every stream has closed. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#retire(this.#stream);
    }
    await Promise.all(this.#retiring);
  }

  #open(): [WriteStream, Promise<void>] {
    const stream = createWriteStream(this.path, { flags: 'a' });
    const opened = new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    // `ready()` may never be awaited; its rejection is reported through the fallback instead.
    opened.catch(() => {});
    stream.on('error', (err: Error) => {
      this.#fallback.write(`legate: application log file ${this.path}: ${err.message}\n`);
    });
    return [stream, opened];
  }

  #retire(stream: WriteStream): void {
    const done = new Promise<void>((resolve) => {
      if (stream.closed) {
        resolve();
        return;
      }
      stream.once('close', () => resolve());
      stream.end();
    });
    this.#retiring.add(done);
    void done.then(() => this.#retiring.delete(done));
  }
}

/** Opens `path` for append and resolves once it is open (start-up fails if it cannot be). */
export async function openFileLogSink(path: string, options: FileLogSinkOptions = {}): Promise<FileLogSink> {
  const fallback = options.fallback ?? process.stderr;
  // Until the file is open a failure is the caller's to report (it gets the rejection).
  let opening = true;
  const sink = new FileLogSink(path, { fallback: { write: (text) => opening || fallback.write(text) } });
  try {
    await sink.ready();
  } catch (err) {
    await sink.close();
    throw err;
  } finally {
    opening = false;
  }
  return sink;
}

/** Above this many pending characters a batching `CallbackLogSink` posts at once. */
const MAX_BATCH_CHARS = 64 * 1024;

/**
 * Hands log text to `post` (a worker posts it to the main thread, which writes it to its
 * own sink). With `schedule` (e.g. `cb => dispatcher.post(cb)`), the lines logged during one
 * callback are joined and posted once when it returns, or sooner past 64 KiB or on `flush()`.
 */
export class CallbackLogSink implements LogSink {
  readonly #post: (text: string) => void;
  readonly #schedule: ((flush: () => void) => void) | undefined;
  readonly #scheduledFlush = (): void => {
    this.#scheduled = false;
    this.flush();
  };
  #pending = '';
  #scheduled = false;

  constructor(post: (text: string) => void, schedule?: (flush: () => void) => void) {
    this.#post = post;
    this.#schedule = schedule;
  }

  log(text: string): void {
    if (this.#schedule === undefined) {
      this.#post(text);
      return;
    }
    this.#pending += text;
    if (this.#pending.length >= MAX_BATCH_CHARS) {
      this.flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#scheduledFlush);
    }
  }

  flush(): void {
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#post(text);
  }

  reopen(): void {}

  close(): Promise<void> {
    this.flush();
    return Promise.resolve();
  }
}
