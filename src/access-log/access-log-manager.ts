/**
 * A worker's access log manager: builds the access logs of a filter from its internal
 * config, through the access logger runtimes compiled into this build, on the thread's
 * files.
 *
 * Worker thread (one per worker, created by the worker entry with the compiled-in logger
 * runtimes, the thread's `AccessLogFileManager` and its Dispatcher's clock). `create` runs
 * when a filter chain is built, not per connection; it is also the `AccessLogEnvironment`
 * the loggers get. Core code never imports a logger: the runtimes are passed in. Envoy
 * counterpart: `AccessLog::AccessLogFactory::fromProto` (source/common/access_log/
 * access_log_impl.cc) with the server's `AccessLogManager`.
 */
import type { AccessLogFileManager } from './file-manager.ts';
import type {
  AccessLogEntry,
  AccessLogEnvironment,
  AccessLogFile,
  AccessLogInstance,
  AccessLogManager,
  AccessLogRuntime,
} from './types.ts';

export interface AccessLogManagerOptions {
  /** The data-path halves of the access loggers in this build (`accessLogRuntimes`). */
  readonly runtimes: readonly AccessLogRuntime[];
  /** The thread's files; its owner reopens and closes them. */
  readonly files: AccessLogFileManager;
  /** The thread's monotonic clock in ms (`() => dispatcher.approximateMonotonicTime()`). */
  readonly monotonicNow: () => number;
}

export class AccessLogManagerImpl implements AccessLogManager, AccessLogEnvironment {
  private readonly runtimes: ReadonlyMap<string, AccessLogRuntime>;
  private readonly files: AccessLogFileManager;
  private readonly now: () => number;

  constructor(options: AccessLogManagerOptions) {
    this.runtimes = new Map(options.runtimes.map((r) => [r.name, r]));
    this.files = options.files;
    this.now = options.monotonicNow;
  }

  /**
   * Throws when the logger has no data path in this build, or (from the logger) when a
   * format read only now (a file, an environment variable) does not parse.
   */
  create(entry: AccessLogEntry): AccessLogInstance {
    const runtime = this.runtimes.get(entry.extension);
    if (runtime === undefined) {
      throw new Error(`access logger ${entry.extension} has no data path in this build of Legate`);
    }
    if (entry.filter !== undefined) {
      // The config factory reports filters as unsupported, so none reaches a worker.
      throw new Error('bug: an access log filter reached a worker');
    }
    return runtime.create(entry.config, this);
  }

  openFile(path: string): AccessLogFile {
    return this.files.openFile(path);
  }

  openStdStream(which: 'stdout' | 'stderr'): AccessLogFile {
    return this.files.openStdStream(which);
  }

  monotonicNow(): number {
    return this.now();
  }
}
