/**
 * Contracts of application logging: the levels as numbers, the sink a thread's log lines go
 * to, and the part of the command line that configures logging.
 *
 * Type-only apart from the level table. Every thread (main and each worker) has its own
 * `LogContext` (see `logger.ts`) and its own sink; only text crosses threads. Envoy
 * counterpart: `Envoy::Logger::SinkDelegate` and `spdlog::level` (source/common/common/logger.h).
 */

/** Log levels as Envoy (spdlog) names them; `warn` is accepted on input as `warning`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Envoy's logger ids (ALL_LOGGER_IDS), the components `--component-log-level` may name. */
export const LOGGER_IDS = [
  'admin',
  'assert',
  'backtrace',
  'client',
  'config',
  'connection',
  'conn_handler',
  'dns',
  'dubbo',
  'envoy_bug',
  'ext_authz',
  'ext_proc',
  'file',
  'filter',
  'forward_proxy',
  'grpc',
  'hc',
  'health_checker',
  'http',
  'http2',
  'hystrix',
  'init',
  'io',
  'jwt',
  'kafka',
  'key_value_store',
  'lua',
  'main',
  'matcher',
  'misc',
  'mongo',
  'multi_connection',
  'oauth2',
  'quic',
  'quic_stream',
  'pool',
  'rbac',
  'rds',
  'redis',
  'router',
  'runtime',
  'stats',
  'secret',
  'tap',
  'testing',
  'thrift',
  'tracing',
  'upstream',
  'udp',
  'wasm',
  'websocket',
  'golang',
  'admission_control',
] as const;
export type LoggerId = (typeof LOGGER_IDS)[number];

/** Envoy's default `--log-format` (Logger::Logger::DEFAULT_LOG_FORMAT). */
export const DEFAULT_LOG_FORMAT = '[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v';

/** A level a message can be logged at: every level but `off`. */
export type MessageLevel = Exclude<LogLevel, 'off'>;

/** spdlog's numeric levels: a logger at level L prints messages whose rank is >= L's rank. */
export const LOG_LEVEL_RANK: Readonly<Record<LogLevel, number>> = {
  trace: 0,
  debug: 1,
  info: 2,
  warning: 3,
  error: 4,
  critical: 5,
  off: 6,
};

/**
 * Where one thread's formatted log lines go. Implementations never block the thread's loop
 * for long: stderr (as Envoy does), a file written through a non-blocking stream, or a
 * callback that posts the text to the main thread.
 *
 * Called only on the thread that owns the sink.
 */
export interface LogSink {
  /** Writes `text`: one or more complete lines, each ending with `\n`. */
  log(text: string): void;
  /**
   * Pushes out what the sink holds back (called after every `critical` message, as Envoy's
   * loggers `flush_on(critical)`). Best effort: an async file write cannot be forced.
   */
  flush(): void;
  /** Closes and reopens the destination (SIGUSR1 after logrotate); a no-op where meaningless. */
  reopen(): void;
  /** Flushes, then releases the destination; resolves once everything written is out. */
  close(): Promise<void>;
}

/** The command-line options logging reads; an `Options` value fits. */
export interface LogOptions {
  /** `-l` / `--log-level`. */
  readonly logLevel: LogLevel;
  /** `--component-log-level`, parsed. */
  readonly componentLogLevels: ReadonlyMap<LoggerId, LogLevel>;
  /** `--log-format`. */
  readonly logFormat: string;
  /** `--log-format-escaped`. */
  readonly logFormatEscaped: boolean;
}

/** Per-thread facts a log context needs besides the options. */
export interface LogThreadParams {
  /** What `%t` prints: `main_thread`, `worker_0`, ... (or a numeric id as a string). */
  readonly threadName: string;
  /** Wall-clock milliseconds since the epoch (the Dispatcher's time source); may be fractional. */
  readonly now: () => number;
  readonly sink: LogSink;
  /** What `%P` prints; defaults to `process.pid`. */
  readonly pid?: number;
}

/**
 * Every logger's level, by name: plain data, so the main thread can post it to workers after
 * the admin `/logging` endpoint changed levels. A partial snapshot changes only the named ones.
 */
export type LogLevelSnapshot = Readonly<Partial<Record<LoggerId, LogLevel>>>;
