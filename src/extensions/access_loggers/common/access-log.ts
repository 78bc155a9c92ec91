/**
 * The access logs of a filter (`repeated envoy.config.accesslog.v3.AccessLog`), resolved
 * to the loggers' internal configs.
 *
 * Main thread, called by the factories of the HTTP connection manager, tcp_proxy and the
 * router while a config loads. Each entry's logger has already been built by the
 * resolver; an entry it could not resolve has been reported there and is left out. Access
 * log filters (`filter`) are not implemented yet: one is reported as unsupported, so a
 * config never reaches a worker logging lines its filter would have dropped. Envoy
 * counterpart: `AccessLog::AccessLogFactory::fromProto`
 * (`source/common/access_log/access_log_impl.cc`).
 */

import { at, messageField, messageList } from '../../../config/proto-fields.ts';
import type { ExtensionContext, ProtoMessage } from '../../../config/types.ts';
import type { NestedExtension } from '../../common/nested-extensions.ts';
import { nestedExtensionOf } from '../../common/nested-extensions.ts';

/** `extension` is the logger, e.g. `envoy.access_loggers.file`. */
export interface AccessLogConfig extends NestedExtension {
  /** The decoded `AccessLogFilter`, as is; unset logs every request. */
  readonly filter: ProtoMessage | undefined;
}

/** `owner` is the message at `ctx.step` (the filter's typed config) holding the list in `field`. */
export function accessLogsOf(owner: ProtoMessage, field: string, ctx: ExtensionContext): AccessLogConfig[] {
  const logs: AccessLogConfig[] = [];
  messageList(owner, field).forEach((entry, i) => {
    const filter = messageField(entry, 'filter');
    if (filter !== undefined) {
      ctx.unsupported(at(ctx.step, field, i, 'filter'), 'access log filters are not supported by Legate yet');
    }
    const logger = nestedExtensionOf(entry, ctx);
    if (logger !== undefined) logs.push({ ...logger, filter });
  });
  return logs;
}
