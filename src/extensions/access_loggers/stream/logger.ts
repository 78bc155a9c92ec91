/**
 * `envoy.access_loggers.stdout` and `envoy.access_loggers.stderr` on the data path: each
 * line written to the process's standard output or error.
 *
 * Worker thread that built it. Lines are batched per loop turn by the worker's appender;
 * on a worker Node forwards the stream to the main thread, which writes it, so lines from
 * different workers never interleave mid-line. Envoy counterpart: `StdoutAccessLog` /
 * `StderrAccessLog` (source/extensions/access_loggers/stream/stream_access_log.cc).
 */
import type { AccessLogRuntime } from '../../../access-log/types.ts';
import { compileAccessLogFormat, FormattedAccessLog } from '../common/formatted-log.ts';
import type { StreamAccessLogConfig } from './config.ts';

function streamRuntime(name: string): AccessLogRuntime {
  return {
    name,
    create(config, env) {
      const { stream, format } = config as StreamAccessLogConfig;
      return new FormattedAccessLog(compileAccessLogFormat(format, env), env.openStdStream(stream));
    },
  };
}

export const stdoutAccessLogRuntime = streamRuntime('envoy.access_loggers.stdout');
export const stderrAccessLogRuntime = streamRuntime('envoy.access_loggers.stderr');
