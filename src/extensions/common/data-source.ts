/**
 * `envoy.config.core.v3.DataSource` as the internal configs carry it: where bytes come
 * from (a file, inline text or bytes, an environment variable), not the bytes themselves.
 *
 * Pure, main thread. Nothing is read at load time: a validated config may name
 * certificate files that are generated later, as Envoy's `--mode validate` allows for
 * paths it does not open. Envoy counterpart: `Config::DataSource::read`
 * (`source/common/config/datasource.h`), which the runtime side will mirror.
 */

import { bytesField, messageField, stringField } from '../../config/proto-fields.ts';
import type { ProtoMessage } from '../../config/types.ts';

export type DataSource =
  | { readonly filename: string; readonly watchedDirectory?: string }
  | { readonly inlineString: string }
  | { readonly inlineBytes: Uint8Array }
  | { readonly environmentVariable: string };

/** The decoded DataSource message (its oneof is required, so exactly one specifier is set). */
export function dataSourceOf(m: ProtoMessage): DataSource {
  if (m['filename'] !== undefined) {
    const dir = messageField(m, 'watched_directory');
    const filename = stringField(m, 'filename');
    return dir === undefined ? { filename } : { filename, watchedDirectory: stringField(dir, 'path') };
  }
  if (m['inline_string'] !== undefined) return { inlineString: stringField(m, 'inline_string') };
  const bytes = bytesField(m, 'inline_bytes');
  if (bytes !== undefined) return { inlineBytes: bytes };
  if (m['environment_variable'] !== undefined)
    return { environmentVariable: stringField(m, 'environment_variable') };
  throw new Error('bug: a DataSource with no specifier passed validation');
}

/** The DataSource in `field`, if set. */
export function dataSourceField(m: ProtoMessage | undefined, field: string): DataSource | undefined {
  const ds = messageField(m, field);
  return ds === undefined ? undefined : dataSourceOf(ds);
}
