/**
 * `envoy.access_loggers.file` on the data path: each line appended to the configured path
 * through the worker's shared appender for that path.
 *
 * Worker thread that built it. Two loggers naming one path on one worker share one open
 * file; `/dev/stdout` and `/dev/stderr` go to the process streams. Envoy counterpart:
 * `FileAccessLog` (source/extensions/access_loggers/file/file_access_log_impl.cc).
 */
import type { AccessLogRuntime } from '../../../access-log/types.ts';
import { compileAccessLogFormat, FormattedAccessLog } from '../common/formatted-log.ts';
import type { FileAccessLogConfig } from './config.ts';

export const fileAccessLogRuntime: AccessLogRuntime = {
  name: 'envoy.access_loggers.file',
  create(config, env) {
    const { path, format } = config as FileAccessLogConfig;
    return new FormattedAccessLog(compileAccessLogFormat(format, env), env.openFile(path));
  },
};
