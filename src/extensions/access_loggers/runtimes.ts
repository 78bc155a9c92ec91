/**
 * The data-path halves of the access loggers in this directory, for the one extension list
 * (`src/exe/extensions.ts`) to hand to each worker's `AccessLogManagerImpl`.
 *
 * Any thread (plain objects). A logger whose config factory is compiled in but whose
 * runtime is not listed here validates, but a worker refuses to build it.
 */
import type { AccessLogRuntime } from '../../access-log/types.ts';
import { fileAccessLogRuntime } from './file/logger.ts';
import { stderrAccessLogRuntime, stdoutAccessLogRuntime } from './stream/logger.ts';

export const accessLogRuntimes: readonly AccessLogRuntime[] = [
  fileAccessLogRuntime,
  stdoutAccessLogRuntime,
  stderrAccessLogRuntime,
];
