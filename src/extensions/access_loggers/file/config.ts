/**
 * `envoy.access_loggers.file`: access logs appended to a file (`/dev/stdout` works too).
 *
 * Main thread (config load). The format comes from `log_format`, or from the deprecated
 * `format` / `json_format` / `typed_json_format` fields, else Envoy's default; an empty
 * deprecated `format` also means the default. The file is opened by the logger when it
 * starts, not at validation. Envoy counterpart: `FileAccessLogFactory`
 * (`source/extensions/access_loggers/file/config.cc`).
 */

import { at, messageField, stringField } from '../../../config/proto-fields.ts';
import type { ExtensionFactory } from '../../../config/types.ts';
import type { AccessLogFormat } from '../common/format.ts';
import {
  checkFormat,
  defaultAccessLogFormat,
  jsonFormat,
  substitutionFormatOf,
  textFormat,
} from '../common/format.ts';

export { DEFAULT_ACCESS_LOG_FORMAT } from '../common/format.ts';

export interface FileAccessLogConfig {
  readonly path: string;
  readonly format: AccessLogFormat;
}

export const fileAccessLogFactory: ExtensionFactory<FileAccessLogConfig> = {
  name: 'envoy.access_loggers.file',
  category: 'envoy.access_loggers',
  configTypes: ['envoy.extensions.access_loggers.file.v3.FileAccessLog'],
  createConfig(m, ctx) {
    const logFormat = messageField(m, 'log_format');
    const json = messageField(m, 'json_format') ?? messageField(m, 'typed_json_format');
    const text = stringField(m, 'format');
    let format: AccessLogFormat;
    if (logFormat !== undefined) {
      format = substitutionFormatOf(logFormat, ctx, at(ctx.step, 'log_format'));
    } else if (json !== undefined) {
      format = jsonFormat(json);
      const field = m['json_format'] !== undefined ? 'json_format' : 'typed_json_format';
      checkFormat(format, at(ctx.step, field), ctx);
    } else if (text !== '') {
      format = textFormat(text);
      checkFormat(format, at(ctx.step, 'format'), ctx);
    } else {
      format = defaultAccessLogFormat();
    }
    return { path: stringField(m, 'path'), format };
  },
};
