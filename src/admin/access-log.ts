/**
 * The admin's access log: every admin request, once answered, written through the HTTP
 * access-log formatter to the loggers of `admin.access_log` (and the deprecated
 * `admin.access_log_path`, Envoy's default format to that file).
 *
 * Main thread: the loggers are built on main from the same runtimes the workers use, on
 * the main thread's own access-log files. The request becomes a `StreamInfo` (times,
 * addresses, bytes, response code, `HTTP/1.1`) and header maps with the pseudo-headers
 * Envoy's codec gives (`:method`, `:path`, `:authority`), so `%REQ(:PATH)%`,
 * `%RESPONSE_CODE%`, `%DOWNSTREAM_REMOTE_ADDRESS%`, `%DURATION%` ... print as for any HTTP
 * request. Envoy counterpart: `AdminImpl::accessLogs()` applied by the admin's HTTP
 * connection manager.
 */
import type { AccessLogInstance, FormatterContext, HeaderLookup } from '../access-log/types.ts';
import { StreamInfo } from '../stream-info/stream-info.ts';
import type { AdminRequestRecord } from './admin-server.ts';

type RawHeaders = Readonly<Record<string, string | number | string[] | undefined>>;

function lookup(headers: RawHeaders, pseudo: Readonly<Record<string, string>>): HeaderLookup {
  return {
    get(name: string): string | undefined {
      const key = name.toLowerCase();
      const p = pseudo[key];
      if (p !== undefined) return p;
      const v = headers[key];
      if (v === undefined) return undefined;
      return Array.isArray(v) ? v.join(',') : String(v);
    },
  };
}

/** The formatter's view of one admin request. */
export function adminFormatterContext(r: AdminRequestRecord): FormatterContext {
  const info = new StreamInfo(r.startTimeMs, r.startMonotonicMs);
  info.endMonotonicMs = r.endMonotonicMs;
  info.lastDownstreamTxByteSentMs = r.endMonotonicMs;
  info.downstreamRemoteAddress = r.remoteAddress;
  info.downstreamRemotePort = r.remotePort;
  info.downstreamLocalAddress = r.localAddress;
  info.downstreamLocalPort = r.localPort;
  info.bytesReceived = r.bytesReceived;
  info.bytesSent = r.bytesSent;
  info.responseCode = r.status;
  info.protocol = r.protocol;
  const host = r.requestHeaders['host'];
  return {
    streamInfo: info,
    requestHeaders: lookup(r.requestHeaders, {
      ':method': r.method,
      ':path': r.url,
      ...(typeof host === 'string' ? { ':authority': host } : {}),
    }),
    responseHeaders: lookup(r.responseHeaders, { ':status': String(r.status) }),
  };
}

/** Writes each record to every logger; a logger that throws is a bug in it, not the admin's. */
export function adminAccessLog(logs: readonly AccessLogInstance[]): (record: AdminRequestRecord) => void {
  return (record) => {
    const ctx = adminFormatterContext(record);
    for (const log of logs) log.log(ctx);
  };
}
