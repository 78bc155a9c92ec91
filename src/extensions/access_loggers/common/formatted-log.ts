/**
 * The data-path half shared by the file and stream access loggers: a compiled format
 * writing each line to the thread's appender for its destination.
 *
 * Worker thread that built it. The format is compiled once, here, from the internal config
 * the config factory built on main; a `text_format_source` naming a file or an environment
 * variable is read now (Envoy reads it at config load). Envoy counterpart:
 * `AccessLog::ImplBase` with `FileAccessLog::emitLog` (source/extensions/access_loggers/
 * common/access_log_base.cc, file/file_access_log_impl.cc) and
 * `SubstitutionFormatStringUtils::fromProtoConfig`.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { compileFormat, compileJsonFormat } from '../../../access-log/formatter.ts';
import type {
  AccessLogEnvironment,
  AccessLogFile,
  AccessLogInstance,
  Formatter,
  FormatterContext,
} from '../../../access-log/types.ts';
import type { DataSource } from '../../common/data-source.ts';
import type { AccessLogFormat } from './format.ts';

/** One configured file or stream logger on one worker. */
export class FormattedAccessLog implements AccessLogInstance {
  private readonly formatter: Formatter;
  private readonly file: AccessLogFile;

  constructor(formatter: Formatter, file: AccessLogFile) {
    this.formatter = formatter;
    this.file = file;
  }

  log(ctx: FormatterContext): void {
    this.file.write(this.formatter.format(ctx));
  }
}

/** The text of a `text_format_source` (Envoy's `Config::DataSource::read`). */
function readFormatSource(source: DataSource): string {
  if ('inlineString' in source) return source.inlineString;
  if ('inlineBytes' in source) return Buffer.from(source.inlineBytes).toString('utf8');
  if ('filename' in source) return readFileSync(source.filename, 'utf8');
  const value = process.env[source.environmentVariable];
  if (value === undefined)
    throw new Error(`Environment variable doesn't exist: ${source.environmentVariable}`);
  return value;
}

/**
 * Compiles the logger's format on this worker. Throws when it does not parse, which only
 * a format read now can do: the config factory checked the others.
 */
export function compileAccessLogFormat(format: AccessLogFormat, env: AccessLogEnvironment): Formatter {
  const options = { omitEmptyValues: format.omitEmptyValues, monotonicNow: () => env.monotonicNow() };
  const source = format.source;
  let result: ReturnType<typeof compileFormat>;
  if (source.kind === 'json') result = compileJsonFormat(source.json, options);
  else if (source.kind === 'text') result = compileFormat(source.text, options);
  else result = compileFormat(readFormatSource(source.source), options);
  if (!result.ok) throw new Error(`access log format: ${result.error}`);
  return result.formatter;
}
