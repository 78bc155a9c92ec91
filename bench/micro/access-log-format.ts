/**
 * Access log formatting cost per line: Envoy's default format for an HTTP request and for
 * a TCP connection, a typical json_format (typed values, nested object), the same with
 * omit_empty_values, and a custom START_TIME. Formats are compiled once, as loggers do; the
 * start time moves by 1 ms per line, so the per-second date cache is exercised as in a busy
 * worker. A checksum of the output keeps the work from being optimised away.
 *
 * Run alone: `node bench/micro/access-log-format.ts`.
 */
import { compileFormat, compileJsonFormat, type Formatter } from '../../src/access-log/formatter.ts';
import type { FormatterContext, HeaderLookup } from '../../src/access-log/types.ts';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../../src/extensions/access_loggers/common/format.ts';
import { StreamInfo } from '../../src/stream-info/stream-info.ts';

const START_MS = Date.UTC(2026, 10, 23, 16, 41, 1, 180);

function headers(entries: Record<string, string>): HeaderLookup {
  const map = new Map(Object.entries(entries));
  return { get: (name) => map.get(name) };
}

function stream(i: number, http: boolean): StreamInfo {
  const si = new StreamInfo(START_MS + i, 1000);
  si.endMonotonicMs = 1000 + 37.4;
  si.downstreamRemoteAddress = '10.0.0.1';
  si.downstreamRemotePort = 54321;
  si.downstreamLocalAddress = '10.0.0.2';
  si.downstreamLocalPort = 10000;
  si.bytesReceived = 154;
  si.bytesSent = 22_600;
  si.upstream = {
    hostAddress: '10.0.2.1:80',
    clusterName: 'backend',
    localAddress: '',
    transportFailureReason: '',
  };
  if (http) {
    si.protocol = 'HTTP/1.1';
    si.responseCode = 200;
    si.responseCodeDetails = 'via_upstream';
  }
  return si;
}

const request = headers({
  ':method': 'GET',
  ':path': '/api/v1/locations?limit=10',
  ':authority': 'example.com',
  'user-agent': 'curl/8.5.0',
  'x-request-id': 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
  'x-forwarded-for': '10.0.35.28',
});
const response = headers({ 'x-envoy-upstream-service-time': '12' });

const JSON_FORMAT = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream: { host: '%UPSTREAM_HOST%', cluster: '%UPSTREAM_CLUSTER%', local: '%UPSTREAM_LOCAL_ADDRESS%' },
};

function compiled(result: ReturnType<typeof compileFormat>): Formatter {
  if (!result.ok) throw new Error(result.error);
  return result.formatter;
}

/** Contexts for 1000 consecutive milliseconds, built before timing. */
function contexts(http: boolean): FormatterContext[] {
  const out: FormatterContext[] = [];
  for (let i = 0; i < 1000; i++) {
    out.push(
      http
        ? { streamInfo: stream(i, true), requestHeaders: request, responseHeaders: response }
        : { streamInfo: stream(i, false) },
    );
  }
  return out;
}

let checksum = 0;

function nsPerLine(label: string, formatter: Formatter, ctxs: FormatterContext[], lines: number): void {
  const run = (): void => {
    for (let i = 0; i < lines; i++) checksum += formatter.format(ctxs[i % ctxs.length]!).length;
  };
  run(); // warm-up
  const t0 = process.hrtime.bigint();
  run();
  const ns = Number(process.hrtime.bigint() - t0) / lines;
  const sample = formatter.format(ctxs[0]!);
  console.log(
    `access-log-format: ${label.padEnd(36)} ${ns.toFixed(0).padStart(5)} ns/line (${sample.length} bytes)`,
  );
}

const LINES = 500_000;
const http = contexts(true);
const tcp = contexts(false);
nsPerLine('default format, HTTP request', compiled(compileFormat(DEFAULT_ACCESS_LOG_FORMAT)), http, LINES);
nsPerLine('default format, TCP connection', compiled(compileFormat(DEFAULT_ACCESS_LOG_FORMAT)), tcp, LINES);
nsPerLine('json_format, 17 keys', compiled(compileJsonFormat(JSON_FORMAT)), http, LINES);
nsPerLine(
  'json_format, omit_empty_values, TCP',
  compiled(compileJsonFormat(JSON_FORMAT, { omitEmptyValues: true })),
  tcp,
  LINES,
);
nsPerLine(
  'START_TIME(%Y/%m/%d %H:%M:%S.%3f %z)',
  compiled(compileFormat('%START_TIME(%Y/%m/%d %H:%M:%S.%3f %z)%\n')),
  tcp,
  LINES,
);
if (checksum === 0) console.log('(no output)');
