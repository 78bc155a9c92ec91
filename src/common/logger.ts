/**
 * Application logging: Envoy's component loggers (`admin`, `config`, `upstream`, ... from
 * `LOGGER_IDS`), each with its own level, writing through one per-thread context that owns
 * the format and the sink.
 *
 * Every thread has one context of its own (module state is per thread under
 * `worker_threads`): `getLogger(id)` returns that thread's logger for `id`, the same object
 * every time, so a module can hold it in a constant. The exe layer calls `configureLogging`
 * once per thread right after parsing options (Envoy's start-up order: options, then the
 * logger registry): main with a stderr or file sink, each worker with a `CallbackLogSink`
 * that posts its lines to main. Lines logged before that are kept (up to 1000) and written,
 * timestamped at configuration, once the context is configured. `createLogContext` builds a
 * separate context, for tests or embedding.
 *
 * Levels: `-l` sets every logger, `--component-log-level` then overrides named ones;
 * `setLevel`/`setComponentLevel` change them at run time (the admin `/logging` endpoint on
 * main), and `levels()`/`applyLevels()` carry the result to workers as plain data.
 *
 * Time: the context never reads a clock; the caller passes `now` (the Dispatcher's wall
 * clock). Envoy counterpart: `Envoy::Logger::Registry`, `Logger::Context`, `Loggable<Id>`
 * and the `ENVOY_LOG` macros (source/common/common/logger.h, logger.cc).
 */

import { escapeLogLine, LogFormatter } from './log-format.ts';
import {
  DEFAULT_LOG_FORMAT,
  LOG_LEVEL_RANK,
  LOGGER_IDS,
  type LoggerId,
  type LogLevel,
  type LogLevelSnapshot,
  type LogOptions,
  type LogSink,
  type LogThreadParams,
  type MessageLevel,
} from './log-types.ts';

const TRACE = LOG_LEVEL_RANK.trace;
const DEBUG = LOG_LEVEL_RANK.debug;
const INFO = LOG_LEVEL_RANK.info;
const WARNING = LOG_LEVEL_RANK.warning;
const ERROR = LOG_LEVEL_RANK.error;
const CRITICAL = LOG_LEVEL_RANK.critical;

const LEVEL_BY_RANK: readonly LogLevel[] = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'];

/** Lines kept while a context is not configured yet; later ones are counted and dropped. */
const MAX_PENDING_RECORDS = 1000;

/** What a `Logger` writes through: its context. */
interface LogWriter {
  write(logger: Logger, levelRank: number, message: string): void;
}

/**
 * One component logger (Envoy's `Logger::Logger` over an `spdlog::logger`). Used on its
 * context's thread only. A message below the logger's level costs one comparison; build
 * expensive messages behind `isEnabled(level)`.
 */
export class Logger {
  readonly name: LoggerId;
  #rank: number;
  readonly #writer: LogWriter;

  constructor(name: LoggerId, level: LogLevel, writer: LogWriter) {
    this.name = name;
    this.#rank = LOG_LEVEL_RANK[level];
    this.#writer = writer;
  }

  get level(): LogLevel {
    return LEVEL_BY_RANK[this.#rank]!;
  }

  setLevel(level: LogLevel): void {
    this.#rank = LOG_LEVEL_RANK[level];
  }

  /** True when a message at `level` would be written (Envoy's `ENVOY_LOG_CHECK_LEVEL`). */
  isEnabled(level: MessageLevel): boolean {
    return LOG_LEVEL_RANK[level] >= this.#rank;
  }

  log(level: MessageLevel, message: string): void {
    const rank = LOG_LEVEL_RANK[level];
    if (rank >= this.#rank) this.#writer.write(this, rank, message);
  }

  trace(message: string): void {
    if (TRACE >= this.#rank) this.#writer.write(this, TRACE, message);
  }

  debug(message: string): void {
    if (DEBUG >= this.#rank) this.#writer.write(this, DEBUG, message);
  }

  info(message: string): void {
    if (INFO >= this.#rank) this.#writer.write(this, INFO, message);
  }

  /** Logs at `warning` (Envoy's `ENVOY_LOG(warn, ...)`). */
  warn(message: string): void {
    if (WARNING >= this.#rank) this.#writer.write(this, WARNING, message);
  }

  error(message: string): void {
    if (ERROR >= this.#rank) this.#writer.write(this, ERROR, message);
  }

  critical(message: string): void {
    if (CRITICAL >= this.#rank) this.#writer.write(this, CRITICAL, message);
  }
}

interface PendingRecord {
  readonly logger: Logger;
  readonly rank: number;
  readonly message: string;
}

/**
 * A thread's loggers, format, escaping and sink (Envoy's `Registry` plus the active
 * `Logger::Context`). All methods are called on the owning thread.
 */
export class LogContext implements LogWriter {
  readonly #loggers = new Map<LoggerId, Logger>();
  #formatter: LogFormatter | null = null;
  #escape = false;
  #threadName = '';
  #pid = 0;
  #now: () => number = () => 0;
  /** Null until configured; records wait in `#pending` meanwhile. */
  #sink: LogSink | null = null;
  #pending: PendingRecord[] = [];
  #droppedPending = 0;

  /** An unconfigured context: every logger at `info`, lines kept until `configure`. */
  constructor() {
    for (const id of LOGGER_IDS) this.#loggers.set(id, new Logger(id, 'info', this));
  }

  /**
   * Applies the command line (levels, format, escaping) and the thread's name, clock and
   * sink; writes the lines kept so far. May be called again to reconfigure.
   */
  configure(options: LogOptions, params: LogThreadParams): void {
    this.#threadName = params.threadName;
    this.#pid = params.pid ?? process.pid;
    this.#now = params.now;
    this.setFormat(options.logFormat, options.logFormatEscaped);
    this.setLevel(options.logLevel);
    for (const [id, level] of options.componentLogLevels) this.setComponentLevel(id, level);
    this.#sink = params.sink;
    this.#writePending();
  }

  get configured(): boolean {
    return this.#sink !== null;
  }

  /** The logger for an Envoy logger id; the same object for the context's lifetime. */
  getLogger(id: LoggerId): Logger {
    return this.#loggers.get(id)!;
  }

  /** The logger named `name`, if it is one of Envoy's ids (for `/logging?<name>=<level>`). */
  findLogger(name: string): Logger | undefined {
    return this.#loggers.get(name as LoggerId);
  }

  /** Every logger, in `LOGGER_IDS` order (what `/logging` lists). */
  loggers(): Logger[] {
    return [...this.#loggers.values()];
  }

  /** Sets every logger's level (`-l`, `/logging?level=`). */
  setLevel(level: LogLevel): void {
    for (const logger of this.#loggers.values()) logger.setLevel(level);
  }

  /** Sets one logger's level (`--component-log-level`, `/logging?<id>=<level>`). */
  setComponentLevel(id: LoggerId, level: LogLevel): void {
    this.getLogger(id).setLevel(level);
  }

  /** Every logger's level, as data another thread can `applyLevels`. */
  levels(): LogLevelSnapshot {
    const snapshot: Partial<Record<LoggerId, LogLevel>> = {};
    for (const [id, logger] of this.#loggers) snapshot[id] = logger.level;
    return snapshot;
  }

  /** Sets the levels a snapshot names; unknown names are ignored. */
  applyLevels(snapshot: LogLevelSnapshot): void {
    for (const [name, level] of Object.entries(snapshot)) {
      if (level !== undefined) this.findLogger(name)?.setLevel(level);
    }
  }

  /** The `--log-format` pattern in use. */
  get format(): string {
    return this.#formatter?.pattern ?? DEFAULT_LOG_FORMAT;
  }

  get escaped(): boolean {
    return this.#escape;
  }

  /** Replaces the pattern (and, when given, `--log-format-escaped`). */
  setFormat(pattern: string, escaped: boolean = this.#escape): void {
    this.#formatter = new LogFormatter(pattern, { threadName: this.#threadName, pid: this.#pid });
    this.#escape = escaped;
  }

  /** The sink, or null while unconfigured. */
  get sink(): LogSink | null {
    return this.#sink;
  }

  /** Replaces the sink (the old one is not closed: its owner decides). */
  setSink(sink: LogSink): void {
    this.#sink = sink;
    this.#writePending();
  }

  /** Reopens the sink's file (SIGUSR1). */
  reopen(): void {
    this.#sink?.reopen();
  }

  flush(): void {
    this.#sink?.flush();
  }

  /**
   * Writes text formatted (and escaped) on another thread, one or more whole lines: main
   * calls this with what a worker's `CallbackLogSink` posted. Dropped while unconfigured.
   */
  writeLine(text: string): void {
    this.#sink?.log(text);
  }

  /** Formats and writes one message; called by this context's loggers after their level check. */
  write(logger: Logger, levelRank: number, message: string): void {
    const sink = this.#sink;
    if (sink === null) {
      if (this.#pending.length < MAX_PENDING_RECORDS)
        this.#pending.push({ logger, rank: levelRank, message });
      else this.#droppedPending++;
      return;
    }
    this.#emit(sink, logger.name, levelRank, message);
  }

  #emit(sink: LogSink, name: string, levelRank: number, message: string): void {
    const formatter = this.#formatter ?? this.#defaultFormatter();
    let line = formatter.format(this.#now(), levelRank, name, message);
    if (this.#escape) line = escapeLogLine(line);
    sink.log(line);
    if (levelRank >= CRITICAL) sink.flush();
  }

  #defaultFormatter(): LogFormatter {
    this.#formatter = new LogFormatter(DEFAULT_LOG_FORMAT, { threadName: this.#threadName, pid: this.#pid });
    return this.#formatter;
  }

  /** Writes the records kept before the context had a sink; their level was checked then. */
  #writePending(): void {
    const sink = this.#sink;
    if (sink === null || (this.#pending.length === 0 && this.#droppedPending === 0)) return;
    const pending = this.#pending;
    const dropped = this.#droppedPending;
    this.#pending = [];
    this.#droppedPending = 0;
    for (const record of pending) this.#emit(sink, record.logger.name, record.rank, record.message);
    if (dropped > 0) {
      this.#emit(
        sink,
        'misc',
        WARNING,
        `${dropped} log messages logged before logging was configured were dropped`,
      );
    }
  }
}

/** Builds a context configured for one thread, independent of the thread's own (tests, tools). */
export function createLogContext(options: LogOptions, params: LogThreadParams): LogContext {
  const context = new LogContext();
  context.configure(options, params);
  return context;
}

/** This thread's context: the one `getLogger` serves. */
const threadContext = new LogContext();

/** This thread's logger for `id` (Envoy's `Loggable<Id>` / `Registry::getLog(id)`). */
export function getLogger(id: LoggerId): Logger {
  return threadContext.getLogger(id);
}

/** This thread's context (for `/logging`, SIGUSR1 reopen, level updates from main). */
export function threadLogContext(): LogContext {
  return threadContext;
}

/** Configures this thread's context (once per thread at start-up; again to reconfigure). */
export function configureLogging(options: LogOptions, params: LogThreadParams): LogContext {
  threadContext.configure(options, params);
  return threadContext;
}
