/**
 * Contracts of access logging on a worker: what a log line is formatted from, a logger
 * instance, the runtime half of an access logger extension, and what a logger may use on
 * the worker that builds it.
 *
 * Worker threads. A logger instance belongs to the worker that created it and is called on
 * that worker only, by the filter that owns the stream or connection (tcp_proxy now, the
 * HTTP connection manager and router later). Envoy counterpart: `envoy/access_log/access_log.h`
 * (`AccessLog::Instance`, `AccessLogFile`, `AccessLogManager`) and
 * `envoy/formatter/substitution_formatter.h` (`Formatter`, `Context`).
 */
import type { StreamInfo } from '../stream-info/stream-info.ts';

/** Header look-up by lower-case name; the first value (or the joined values) of the header. */
export interface HeaderLookup {
  get(name: string): string | undefined;
}

/**
 * What one log line is formatted from. TCP passes only `streamInfo`; HTTP adds its header
 * maps. A missing map behaves as an empty one (every `%REQ(...)%` prints `-`).
 */
export interface FormatterContext {
  readonly streamInfo: StreamInfo;
  readonly requestHeaders?: HeaderLookup;
  readonly responseHeaders?: HeaderLookup;
  readonly responseTrailers?: HeaderLookup;
}

/** A compiled format (text or JSON): one line, newline included when the format has one. */
export interface Formatter {
  format(ctx: FormatterContext): string;
}

/** One configured access log on one worker (Envoy's `AccessLog::Instance`). */
export interface AccessLogInstance {
  /** Formats and writes one line; never throws, never blocks the loop. */
  log(ctx: FormatterContext): void;
}

/**
 * A worker's appender for one destination (a file path, stdout or stderr), shared by every
 * logger on that thread that writes there (Envoy's `AccessLogFile`). Lines are buffered and
 * written in batches.
 */
export interface AccessLogFile {
  /** The path, or `stdout` / `stderr`. */
  readonly path: string;
  /** Appends text (whole lines) to the buffer; written after the current loop callback. */
  write(text: string): void;
}

/** What an access logger may use on the worker building it. */
export interface AccessLogEnvironment {
  /** The thread's shared appender for `path` (opened on first use, for append). */
  openFile(path: string): AccessLogFile;
  /** The thread's appender to the process's standard output or error. */
  openStdStream(which: 'stdout' | 'stderr'): AccessLogFile;
  /**
   * The thread's monotonic time in ms (the Dispatcher's cached time), for `%DURATION%` of a
   * stream logged before it ended (tcp_proxy's periodic and on-connect logs).
   */
  monotonicNow(): number;
}

/**
 * The data-path half of an access logger extension: from the internal config its config
 * factory built on main (data), a logger instance on this worker. `create` throws only
 * for a config that could not be checked at load (a format read from a file or an
 * environment variable that does not parse): the caller treats it as a failed config
 * update. Envoy counterpart: `AccessLog::AccessLogInstanceFactory::createAccessLogInstance`.
 */
export interface AccessLogRuntime {
  /** Envoy's extension name (same as the config factory's), e.g. `envoy.access_loggers.file`. */
  readonly name: string;
  create(config: unknown, env: AccessLogEnvironment): AccessLogInstance;
}

/**
 * One access log entry of a filter's internal config, as the config factories build it
 * (`AccessLogConfig` in `src/extensions/access_loggers/common/access-log.ts` fits).
 */
export interface AccessLogEntry {
  /** The logger's extension name, e.g. `envoy.access_loggers.stdout`. */
  readonly extension: string;
  /** What the logger's config factory built. */
  readonly config: unknown;
  /**
   * The decoded `AccessLogFilter`. Filters are not implemented yet and are rejected at
   * config load, so this is always unset here; once they exist, `AccessLogManager` wraps
   * the instance in the filter (Envoy's `AccessLog::FilterPtr` evaluated before `log`).
   */
  readonly filter?: unknown;
}

/**
 * Builds a filter's access logs on a worker: one per thread, handed to network and HTTP
 * filter factories (tcp_proxy: `config.accessLogs.map((l) => manager.create(l))`). Called
 * when a filter chain is built, not per connection. Envoy counterpart:
 * `AccessLog::AccessLogFactory::fromProto` over the worker's `AccessLogManager`.
 */
export interface AccessLogManager {
  create(entry: AccessLogEntry): AccessLogInstance;
}
