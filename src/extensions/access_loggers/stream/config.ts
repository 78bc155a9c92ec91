/**
 * `envoy.access_loggers.stdout` and `envoy.access_loggers.stderr`: access logs written to
 * the process's standard output or error.
 *
 * Main thread (config load). Without `log_format` the logger uses Envoy's default format.
 * Envoy counterpart: `StdoutAccessLogFactory` and `StderrAccessLogFactory`
 * (`source/extensions/access_loggers/stream/config.cc`).
 */

import { at, messageField } from '../../../config/proto-fields.ts';
import type { ExtensionContext, ExtensionFactory, ProtoMessage } from '../../../config/types.ts';
import type { AccessLogFormat } from '../common/format.ts';
import { defaultAccessLogFormat, substitutionFormatOf } from '../common/format.ts';

export interface StreamAccessLogConfig {
  readonly stream: 'stdout' | 'stderr';
  readonly format: AccessLogFormat;
}

function streamLogConfig(
  stream: 'stdout' | 'stderr',
  m: ProtoMessage,
  ctx: ExtensionContext,
): StreamAccessLogConfig {
  const logFormat = messageField(m, 'log_format');
  return {
    stream,
    format:
      logFormat === undefined
        ? defaultAccessLogFormat()
        : substitutionFormatOf(logFormat, ctx, at(ctx.step, 'log_format')),
  };
}

export const stdoutAccessLogFactory: ExtensionFactory<StreamAccessLogConfig> = {
  name: 'envoy.access_loggers.stdout',
  category: 'envoy.access_loggers',
  configTypes: ['envoy.extensions.access_loggers.stream.v3.StdoutAccessLog'],
  createConfig: (m, ctx) => streamLogConfig('stdout', m, ctx),
};

export const stderrAccessLogFactory: ExtensionFactory<StreamAccessLogConfig> = {
  name: 'envoy.access_loggers.stderr',
  category: 'envoy.access_loggers',
  configTypes: ['envoy.extensions.access_loggers.stream.v3.StderrAccessLog'],
  createConfig: (m, ctx) => streamLogConfig('stderr', m, ctx),
};
