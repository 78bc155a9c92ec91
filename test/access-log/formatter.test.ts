/**
 * The access log formatter on hand-built StreamInfo with fixed times: every operator in text
 * and JSON, header operators with fallback and truncation, START_TIME's formats, Envoy's
 * default format, omit_empty_values, and the config errors Envoy reports with its messages.
 * Envoy counterpart: test/common/formatter/substitution_formatter_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CompileResult, FormatterOptions } from '../../src/access-log/formatter.ts';
import { compileFormat, compileJsonFormat } from '../../src/access-log/formatter.ts';
import type { FormatterContext, HeaderLookup } from '../../src/access-log/types.ts';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../../src/extensions/access_loggers/common/format.ts';
import { StreamInfo } from '../../src/stream-info/stream-info.ts';

/** 2026-11-23T16:41:01.180Z, a Monday. */
const START_MS = Date.UTC(2026, 10, 23, 16, 41, 1, 180);
const START_SECONDS = 1795452061;
const START_MONOTONIC = 5000;

/** A finished TCP connection proxied to 10.0.2.1:80. */
function tcpStream(): StreamInfo {
  const si = new StreamInfo(START_MS, START_MONOTONIC);
  si.endMonotonicMs = START_MONOTONIC + 1234.9;
  si.downstreamRemoteAddress = '10.0.0.1';
  si.downstreamRemotePort = 54321;
  si.downstreamLocalAddress = '127.0.0.1';
  si.downstreamLocalPort = 10000;
  si.bytesReceived = 154;
  si.bytesSent = 226;
  si.upstream = {
    hostAddress: '10.0.2.1:80',
    clusterName: 'backend',
    localAddress: '10.0.0.5:41000',
    transportFailureReason: '',
  };
  return si;
}

/** The same, as an HTTP request with a response. */
function httpStream(): StreamInfo {
  const si = tcpStream();
  si.protocol = 'HTTP/1.1';
  si.responseCode = 200;
  si.responseCodeDetails = 'via_upstream';
  si.routeName = 'default_route';
  si.lastDownstreamRxByteReceivedMs = START_MONOTONIC + 2.7;
  si.firstUpstreamRxByteReceivedMs = START_MONOTONIC + 15.2;
  return si;
}

function headers(entries: Record<string, string>): HeaderLookup {
  const map = new Map(Object.entries(entries));
  return { get: (name) => map.get(name) };
}

const REQUEST = headers({
  ':method': 'GET',
  ':path': '/api/v1/locations?limit=10',
  ':authority': 'example.com',
  'user-agent': 'curl/8.5.0',
  'x-request-id': 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
  'x-forwarded-for': '10.0.35.28',
});
const RESPONSE = headers({ 'x-envoy-upstream-service-time': '12', 'content-type': 'text/plain' });
const TRAILERS = headers({ 'grpc-status': '0' });

function httpContext(si: StreamInfo = httpStream()): FormatterContext {
  return { streamInfo: si, requestHeaders: REQUEST, responseHeaders: RESPONSE, responseTrailers: TRAILERS };
}

function compiled(result: CompileResult): { format(ctx: FormatterContext): string } {
  if (!result.ok) assert.fail(`format did not compile: ${result.error}`);
  return result.formatter;
}

function text(format: string, ctx: FormatterContext, options?: FormatterOptions): string {
  return compiled(compileFormat(format, options)).format(ctx);
}

function json(format: Record<string, unknown>, ctx: FormatterContext, options?: FormatterOptions): string {
  return compiled(compileJsonFormat(format, options)).format(ctx);
}

function compileError(format: string): { error: string; unsupported: boolean } {
  const result = compileFormat(format);
  if (result.ok) assert.fail(`${format} compiled`);
  return { error: result.error, unsupported: result.unsupported };
}

describe("Envoy's default format", () => {
  test('an HTTP request prints the line Envoy prints', () => {
    assert.equal(
      text(DEFAULT_ACCESS_LOG_FORMAT, httpContext()),
      '[2026-11-23T16:41:01.180Z] "GET /api/v1/locations?limit=10 HTTP/1.1" 200 - 154 226 1234 12 ' +
        '"10.0.35.28" "curl/8.5.0" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "example.com" "10.0.2.1:80"\n',
    );
  });

  test('a TCP connection prints - for every HTTP field and 0 for the response code', () => {
    const si = tcpStream();
    si.setResponseFlag('UpstreamConnectionFailure');
    assert.equal(
      text(DEFAULT_ACCESS_LOG_FORMAT, { streamInfo: si }),
      '[2026-11-23T16:41:01.180Z] "- - -" 0 UF 154 226 1234 - "-" "-" "-" "-" "10.0.2.1:80"\n',
    );
  });

  test('X-ENVOY-ORIGINAL-PATH wins over :path when present', () => {
    const ctx = httpContext();
    const rewritten: FormatterContext = {
      ...ctx,
      requestHeaders: headers({ ':path': '/new', 'x-envoy-original-path': '/old' }),
    };
    assert.equal(text('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', rewritten), '/old');
    assert.equal(text('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', ctx), '/api/v1/locations?limit=10');
  });
});

describe('stream info operators', () => {
  const cases: Array<[string, string]> = [
    ['%DOWNSTREAM_REMOTE_ADDRESS%', '10.0.0.1:54321'],
    ['%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '10.0.0.1'],
    ['%DOWNSTREAM_REMOTE_PORT%', '54321'],
    ['%DOWNSTREAM_LOCAL_ADDRESS%', '127.0.0.1:10000'],
    ['%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%', '127.0.0.1'],
    ['%DOWNSTREAM_LOCAL_PORT%', '10000'],
    ['%UPSTREAM_HOST%', '10.0.2.1:80'],
    ['%UPSTREAM_REMOTE_ADDRESS%', '10.0.2.1:80'],
    ['%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%', '10.0.2.1'],
    ['%UPSTREAM_REMOTE_PORT%', '80'],
    ['%UPSTREAM_CLUSTER%', 'backend'],
    ['%UPSTREAM_CLUSTER_RAW%', 'backend'],
    ['%UPSTREAM_LOCAL_ADDRESS%', '10.0.0.5:41000'],
    ['%UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%', '10.0.0.5'],
    ['%UPSTREAM_LOCAL_PORT%', '41000'],
    ['%UPSTREAM_TRANSPORT_FAILURE_REASON%', '-'],
    ['%BYTES_RECEIVED%', '154'],
    ['%BYTES_SENT%', '226'],
    ['%DURATION%', '1234'],
    ['%REQUEST_DURATION%', '2'],
    ['%RESPONSE_DURATION%', '15'],
    ['%RESPONSE_FLAGS%', '-'],
    ['%RESPONSE_FLAGS_LONG%', '-'],
    ['%CONNECTION_TERMINATION_DETAILS%', '-'],
    ['%PROTOCOL%', 'HTTP/1.1'],
    ['%RESPONSE_CODE%', '200'],
    ['%RESPONSE_CODE_DETAILS%', 'via_upstream'],
    ['%ROUTE_NAME%', 'default_route'],
    ['%UPSTREAM_SERVICE_TIME%', '12'],
    ['%START_TIME%', '2026-11-23T16:41:01.180Z'],
  ];
  for (const [format, expected] of cases) {
    test(`${format} prints ${expected}`, () => {
      assert.equal(text(format, httpContext()), expected);
    });
  }

  test('a stream with nothing known prints - for every optional field', () => {
    const si = new StreamInfo(START_MS, START_MONOTONIC);
    const format =
      '%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_PORT% %DOWNSTREAM_LOCAL_ADDRESS% ' +
      '%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %UPSTREAM_REMOTE_PORT% ' +
      '%DURATION% %REQUEST_DURATION% %RESPONSE_DURATION% %PROTOCOL% %RESPONSE_CODE_DETAILS% ' +
      '%ROUTE_NAME% %CONNECTION_TERMINATION_DETAILS% %UPSTREAM_SERVICE_TIME%';
    assert.equal(text(format, { streamInfo: si }), '- - - - - - - - - - - - - - -');
    assert.equal(text('%BYTES_RECEIVED% %BYTES_SENT% %RESPONSE_CODE%', { streamInfo: si }), '0 0 0');
  });

  test('IPv6 addresses are bracketed with their port and bare without it', () => {
    const si = tcpStream();
    si.downstreamRemoteAddress = '2001:db8::1';
    si.upstream = {
      hostAddress: '[::1]:8080',
      clusterName: 'c',
      localAddress: '',
      transportFailureReason: '',
    };
    assert.equal(
      text(
        '%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_PORT%',
        { streamInfo: si },
      ),
      '[2001:db8::1]:54321 2001:db8::1 ::1 8080',
    );
  });

  test('response flags print in Envoy order, short and long', () => {
    const si = tcpStream();
    si.setResponseFlag('UpstreamOverflow');
    si.setResponseFlag('NoHealthyUpstream');
    si.setResponseFlag('OverloadManager');
    assert.equal(text('%RESPONSE_FLAGS%', { streamInfo: si }), 'UH,UO,OM');
    assert.equal(
      text('%RESPONSE_FLAGS_LONG%', { streamInfo: si }),
      'NoHealthyUpstream,UpstreamOverflow,OverloadManagerTerminated',
    );
  });

  test('details and failure reasons have their whitespace replaced, unless ALLOW_WHITESPACES', () => {
    const si = httpStream();
    si.responseCodeDetails = 'upstream reset\tbefore response';
    si.connectionTerminationDetails = 'idle timeout';
    si.upstream = {
      hostAddress: '10.0.2.1:80',
      clusterName: 'backend',
      localAddress: '',
      transportFailureReason: 'delayed connect error: 111',
    };
    const ctx: FormatterContext = { streamInfo: si };
    assert.equal(text('%RESPONSE_CODE_DETAILS%', ctx), 'upstream_reset_before_response');
    assert.equal(text('%RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES)%', ctx), 'upstream reset\tbefore response');
    assert.equal(text('%UPSTREAM_TRANSPORT_FAILURE_REASON%', ctx), 'delayed_connect_error:_111');
    assert.equal(text('%CONNECTION_TERMINATION_DETAILS%', ctx), 'idle timeout');
  });

  test('%DURATION% of a stream still open is measured against the injected clock, and - without one', () => {
    const si = tcpStream();
    si.endMonotonicMs = undefined;
    assert.equal(text('%DURATION%', { streamInfo: si }), '-');
    let now = START_MONOTONIC + 250.6;
    const f = compiled(compileFormat('%DURATION%', { monotonicNow: () => now }));
    assert.equal(f.format({ streamInfo: si }), '250');
    now += 1000;
    assert.equal(f.format({ streamInfo: si }), '1250');
    si.endMonotonicMs = START_MONOTONIC + 42;
    assert.equal(f.format({ streamInfo: si }), '42');
  });

  test('%HOSTNAME% and %ENVIRONMENT(X):Z% are read once, a missing variable printing -', () => {
    process.env['LEGATE_TEST_ENV'] = 'production-eu-west';
    try {
      const f = compiled(compileFormat('%ENVIRONMENT(LEGATE_TEST_ENV)% %ENVIRONMENT(LEGATE_TEST_ENV):10%'));
      process.env['LEGATE_TEST_ENV'] = 'changed';
      assert.equal(f.format({ streamInfo: tcpStream() }), 'production-eu-west production');
    } finally {
      delete process.env['LEGATE_TEST_ENV'];
    }
    assert.equal(text('%ENVIRONMENT(LEGATE_NO_SUCH_VARIABLE)%', { streamInfo: tcpStream() }), '-');
    assert.match(text('%HOSTNAME%', { streamInfo: tcpStream() }), /^[^-\s].*/);
  });

  test('%% prints a percent sign and a format without operators prints itself', () => {
    assert.equal(text('100%% done %BYTES_SENT%%%', { streamInfo: tcpStream() }), '100% done 226%');
    assert.equal(text('plain\n', { streamInfo: tcpStream() }), 'plain\n');
    assert.equal(text('', { streamInfo: tcpStream() }), '');
  });

  test('omit_empty_values prints nothing instead of - in text', () => {
    const si = new StreamInfo(START_MS, START_MONOTONIC);
    assert.equal(text('[%UPSTREAM_HOST%][%PROTOCOL%][%BYTES_SENT%]', { streamInfo: si }), '[-][-][0]');
    assert.equal(
      text('[%UPSTREAM_HOST%][%PROTOCOL%][%BYTES_SENT%]', { streamInfo: si }, { omitEmptyValues: true }),
      '[][][0]',
    );
  });
});

describe('header operators', () => {
  test('the main header is used when present, else the alternative, else -', () => {
    const ctx = httpContext();
    assert.equal(text('%REQ(USER-AGENT)%', ctx), 'curl/8.5.0');
    assert.equal(text('%REQ(X-MISSING?User-Agent)%', ctx), 'curl/8.5.0');
    assert.equal(text('%REQ(USER-AGENT?:AUTHORITY)%', ctx), 'curl/8.5.0');
    assert.equal(text('%REQ(X-MISSING?X-ALSO-MISSING)%', ctx), '-');
    assert.equal(text('%REQ(X-MISSING)%', ctx), '-');
  });

  test(':Z truncates the value to Z characters', () => {
    const ctx = httpContext();
    assert.equal(text('%REQ(USER-AGENT):4%', ctx), 'curl');
    assert.equal(text('%REQ(X-MISSING?X-REQUEST-ID):8%', ctx), 'cc21d9b0');
    assert.equal(text('%REQ(:METHOD):100%', ctx), 'GET');
    assert.equal(text('%REQ(:METHOD):0%', ctx), '');
  });

  test('RESP, TRAILER and REQ_WITHOUT_QUERY read their own maps', () => {
    const ctx = httpContext();
    assert.equal(text('%RESP(CONTENT-TYPE)%', ctx), 'text/plain');
    assert.equal(text('%RESP(:METHOD)%', ctx), '-');
    assert.equal(text('%TRAILER(GRPC-STATUS)%', ctx), '0');
    assert.equal(text('%REQ_WITHOUT_QUERY(:PATH)%', ctx), '/api/v1/locations');
    assert.equal(text('%REQ_WITHOUT_QUERY(:PATH):7%', ctx), '/api/v1');
    assert.equal(text('%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%', ctx), '/api/v1/locations');
  });

  test('a context without header maps prints - for every header operator', () => {
    const ctx: FormatterContext = { streamInfo: httpStream() };
    assert.equal(
      text('%REQ(:PATH)% %RESP(X-A)% %TRAILER(X-B)% %REQ_WITHOUT_QUERY(:PATH)% %UPSTREAM_SERVICE_TIME%', ctx),
      '- - - - -',
    );
  });
});

describe('START_TIME formats', () => {
  const ctx: FormatterContext = { streamInfo: tcpStream() };
  const cases: Array<[string, string]> = [
    ['%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%', `2026/11/23T16:41:01+0000 ${START_SECONDS}`],
    ['%START_TIME(%s.%3f)%', `${START_SECONDS}.180`],
    ['%START_TIME(%s.%6f)%', `${START_SECONDS}.180000`],
    ['%START_TIME(%s.%9f)%', `${START_SECONDS}.180000000`],
    ['%START_TIME(%f|%1f|%2f)%', '180000000|1|18'],
    ['%START_TIME(%Y-%m-%dT%H:%M:%E3SZ)%', '2026-11-23T16:41:01.180Z'],
    ['%START_TIME(%E*S|%E0S|%Ez|%E4Y)%', '01.18|01|+00:00|2026'],
    ['%START_TIME(%a %A %b %B %e %j %p %I %Z)%', 'Mon Monday Nov November 23 327 PM 04 UTC'],
    [
      '%START_TIME(%F %T %D %R %u %w %U %W %V %G %y %C)%',
      '2026-11-23 16:41:01 11/23/26 16:41 1 1 47 47 48 2026 26 20',
    ],
    ['%START_TIME(%c)%', 'Mon Nov 23 16:41:01 2026'],
    ['%START_TIME(%%Y is %Y, %Q stays)%', '%Y is 2026, %Q stays'],
    ['%START_TIME()%', '2026-11-23T16:41:01.180Z'],
  ];
  for (const [format, expected] of cases) {
    test(`${format} prints ${expected}`, () => {
      assert.equal(text(format, ctx), expected);
    });
  }

  test('lines within one second and across seconds each get their own time', () => {
    const iso = compiled(compileFormat('%START_TIME%'));
    const custom = compiled(compileFormat('%START_TIME(%H:%M:%S.%3f)%'));
    const times = [
      START_MS,
      START_MS + 1,
      START_MS + 819,
      START_MS + 820,
      START_MS - 181,
      START_MS + 86_400_000,
    ];
    const iso8601 = times.map((t) => iso.format({ streamInfo: new StreamInfo(t, 0) }));
    assert.deepEqual(
      iso8601,
      times.map((t) => new Date(t).toISOString()),
    );
    assert.deepEqual(
      times.map((t) => custom.format({ streamInfo: new StreamInfo(t, 0) })),
      ['16:41:01.180', '16:41:01.181', '16:41:01.999', '16:41:02.000', '16:41:00.999', '16:41:01.180'],
    );
  });

  test('sub-millisecond start times keep their microseconds', () => {
    const si = new StreamInfo(START_MS + 0.25, 0);
    assert.equal(text('%START_TIME(%6f %E*S)%', { streamInfo: si }), '180250 01.18025');
  });

  test('a newline conversion is refused, as Envoy refuses it', () => {
    assert.deepEqual(compileError('%START_TIME(%Y%n)%'), {
      error: 'Invalid header configuration. Format string contains newline.',
      unsupported: false,
    });
  });
});

describe('JSON formats', () => {
  test('a single operator keeps its type: numbers stay numbers, strings strings, missing is null', () => {
    const line = json(
      {
        code: '%RESPONSE_CODE%',
        bytes: '%BYTES_SENT%',
        duration: '%DURATION%',
        port: '%DOWNSTREAM_REMOTE_PORT%',
        service_time: '%UPSTREAM_SERVICE_TIME%',
        method: '%REQ(:METHOD)%',
        start: '%START_TIME%',
        missing: '%REQ(X-MISSING)%',
        route: '%RESPONSE_FLAGS%',
      },
      httpContext(),
    );
    assert.ok(line.endsWith('}\n'));
    assert.deepEqual(JSON.parse(line), {
      bytes: 226,
      code: 200,
      duration: 1234,
      method: 'GET',
      missing: null,
      port: 54321,
      route: '-',
      service_time: 12,
      start: '2026-11-23T16:41:01.180Z',
    });
  });

  test('keys are written sorted, nested objects and lists included, in compact JSON', () => {
    const line = json(
      {
        zeta: 'z',
        alpha: { b: '%BYTES_RECEIVED%', a: ['%PROTOCOL%', 1, true, null] },
        mid: 2.5,
      },
      httpContext(),
    );
    assert.equal(line, '{"alpha":{"a":["HTTP/1.1",1,true,null],"b":154},"mid":2.5,"zeta":"z"}\n');
  });

  test('text around an operator, or several operators, make a string with - for missing values', () => {
    const line = json(
      {
        request: '%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%',
        upstream: 'host=%UPSTREAM_HOST% missing=%REQ(X-MISSING)%',
        percent: '100%%',
        bytes: 'sent %BYTES_SENT%',
      },
      httpContext(),
    );
    assert.deepEqual(JSON.parse(line), {
      bytes: 'sent 226',
      percent: '100%',
      request: 'GET /api/v1/locations?limit=10 HTTP/1.1',
      upstream: 'host=10.0.2.1:80 missing=-',
    });
  });

  test('values are escaped as JSON strings', () => {
    const ctx: FormatterContext = {
      streamInfo: httpStream(),
      requestHeaders: headers({ 'user-agent': 'evil "agent"\\\n\u0001' }),
    };
    const line = json({ ua: '%REQ(USER-AGENT)%', both: '%REQ(USER-AGENT)%!' }, ctx);
    assert.deepEqual(JSON.parse(line), { both: 'evil "agent"\\\n\u0001!', ua: 'evil "agent"\\\n\u0001' });
    assert.equal(line.split('\n').length, 2);
  });

  test('omit_empty_values leaves out null keys and emptied objects, keeps lists and strings', () => {
    const ctx: FormatterContext = { streamInfo: new StreamInfo(START_MS, START_MONOTONIC) };
    const format = {
      bytes: '%BYTES_SENT%',
      host: '%UPSTREAM_HOST%',
      nested: { cluster: '%UPSTREAM_CLUSTER%', literal_null: null },
      list: ['%PROTOCOL%', '%UPSTREAM_HOST%'],
      text: 'host=%UPSTREAM_HOST%',
    };
    assert.equal(
      json(format, ctx),
      '{"bytes":0,"host":null,"list":[null,null],"nested":{"cluster":null,"literal_null":null},"text":"host=-"}\n',
    );
    assert.equal(json(format, ctx, { omitEmptyValues: true }), '{"bytes":0,"list":[],"text":"host="}\n');
    assert.equal(json({ host: '%UPSTREAM_HOST%' }, ctx, { omitEmptyValues: true }), '{}\n');
    assert.equal(
      json(format, httpContext(), { omitEmptyValues: true }),
      '{"bytes":226,"host":"10.0.2.1:80","list":["HTTP/1.1","10.0.2.1:80"],"nested":{"cluster":"backend"},"text":"host=10.0.2.1:80"}\n',
    );
  });

  test('an invalid operator reports the keys down to it', () => {
    const result = compileJsonFormat({ ok: '%BYTES_SENT%', outer: { list: ['x', '%NOPE%'] } });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error, 'Not supported field in StreamInfo: NOPE');
    assert.deepEqual(result.path, ['outer', 'list', 1]);
  });
});

describe('format errors', () => {
  test('an unknown operator is an error with Envoy message', () => {
    assert.deepEqual(compileError('%BYTES_SENT% %NO_SUCH_THING%'), {
      error: 'Not supported field in StreamInfo: NO_SUCH_THING',
      unsupported: false,
    });
  });

  test('an operator Envoy has and Legate lacks is unsupported, not invalid', () => {
    assert.deepEqual(compileError('%DOWNSTREAM_PEER_URI_SAN%'), {
      error: 'DOWNSTREAM_PEER_URI_SAN is not supported by Legate',
      unsupported: true,
    });
  });

  test('a lone percent sign is an error naming its position', () => {
    assert.deepEqual(compileError('100% of %BYTES_SENT%'), {
      error: "Incorrect configuration: 100% of %BYTES_SENT%. Couldn't find valid command at position 3",
      unsupported: false,
    });
    assert.equal(compileError('%bytes_sent%').error.includes('position 0'), true);
  });

  test('parameters and lengths are checked as Envoy checks them', () => {
    assert.equal(compileError('%PROTOCOL(x)%').error, 'PROTOCOL does not take any parameters or length');
    assert.equal(compileError('%BYTES_SENT%:10%').error.includes("Couldn't find valid command"), true);
    assert.equal(compileError('%BYTES_SENT:10%').error, 'BYTES_SENT does not take any parameters or length');
    assert.equal(compileError('%REQ%').error, 'REQ requires parameters');
    assert.equal(compileError('%REQ()%').error, 'REQ requires parameters');
    assert.equal(
      compileError('%START_TIME(%s):3%').error,
      'START_TIME does not allow length to be specified.',
    );
    assert.equal(compileError('%ENVIRONMENT%').error, 'ENVIRONMENT requires parameters');
  });

  test('header operators take one alternative and valid header names', () => {
    assert.equal(
      compileError('%REQ(A?B?C)%').error,
      'More than 1 alternative header specified in token: A?B?C',
    );
    assert.equal(
      compileError('%REQ(BAD HEADER)%').error,
      'Invalid header configuration. Format string contains invalid characters.',
    );
    assert.equal(compileFormat('%REQ(:AUTHORITY?HOST):10%').ok, true);
  });
});
