/**
 * The HTTP connection manager end to end on real sockets: keep-alive and pipelining with real
 * clients, the HTTP filter chain's iteration semantics (order, stop and continue, buffering,
 * StopAllIterationAndBuffer, local replies through the encoder filters), buffer limits (413 /
 * 500), codec errors, 100-continue, upgrades (403 without a config, a byte pipe after 101),
 * stats with Envoy's names and access log lines in Envoy's default format.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { httpConnectionManagerFactory } from '../../../src/extensions/filters/network/http_connection_manager/config.ts';
import {
  createHttpConnectionManagerRuntime,
  unsupportedHttpConnectionManagerFields,
} from '../../../src/extensions/filters/network/http_connection_manager/filter.ts';
import {
  destroyCounts,
  echoHeader,
  echoHeaders,
  eventually,
  fetchOnce,
  filter,
  filterLogLines,
  get,
  RawClient,
  startServer,
  within,
} from './harness.ts';

const CHAIN = [
  filter('test.tag', { tag: 'A' }, { name: 'tag-a' }),
  filter('test.tag', { tag: 'B' }, { name: 'tag-b' }),
  filter('test.answer'),
];

describe('connection reuse', () => {
  test('node:http with a keep-alive agent sends its second request on the same connection', async () => {
    const s = await startServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const once = () =>
        within(
          new Promise<{ status: number; reused: boolean; body: string }>((resolve, reject) => {
            const req = http.get({ port: s.port, host: '127.0.0.1', path: '/k', agent }, (res) => {
              let body = '';
              res.setEncoding('latin1');
              res.on('data', (c: string) => {
                body += c;
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, body }));
            });
            req.on('error', reject);
          }),
          'a response',
        );
      const first = await once();
      const second = await once();
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(first.reused, false);
      assert.equal(second.reused, true, 'the second request reused the kept-alive connection');
      assert.equal(s.counter('downstream_cx_total'), 1);
      assert.equal(s.counter('downstream_rq_total'), 2);
    } finally {
      agent.destroy();
      await s.close();
    }
  });

  test('pipelined requests are answered in order, the first one held back by a filter', async () => {
    const s = await startServer({ hcm: { http_filters: [filter('test.stop'), filter('test.answer')] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/one', { 'x-test-stop': '1' }) + get('/two') + get('/three'));
      const responses = await c.responses(3);
      assert.deepEqual(
        responses.map((r) => JSON.parse(r.body).path),
        ['/one', '/two', '/three'],
      );
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('max_requests_per_connection closes the connection after the last allowed response', async () => {
    const s = await startServer({
      hcm: { common_http_protocol_options: { max_requests_per_connection: 2 } },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/1'));
      const [first] = await c.responses(1);
      assert.equal(first!.header('connection'), undefined);
      c.write(get('/2'));
      const all = await c.responses(2);
      assert.equal(all[1]!.header('connection'), 'close');
      await c.waitClosed();
      assert.equal(s.counter('downstream_cx_max_requests_reached'), 1);
    } finally {
      await s.close();
    }
  });
});

describe('filter chain iteration', () => {
  test('decoder filters run in configured order and encoder filters in reverse order', async () => {
    const s = await startServer({ hcm: { http_filters: CHAIN } });
    try {
      const { response, echo } = await fetchOnce(s.port, get('/order'));
      assert.deepEqual(echoHeaders(echo, 'x-order'), ['A', 'B']);
      assert.deepEqual(response.headers.get('x-encode-order'), ['B', 'A']);
    } finally {
      await s.close();
    }
  });

  test('a filter that stops on headers and continues later resumes with the next filter, once', async () => {
    const s = await startServer({
      hcm: {
        http_filters: [
          filter('test.tag', { tag: 'A' }),
          filter('test.stop'),
          filter('test.tag', { tag: 'B' }),
          filter('test.answer'),
        ],
      },
    });
    try {
      const { echo } = await fetchOnce(s.port, get('/stop', { 'x-test-stop': '1' }));
      assert.deepEqual(echoHeaders(echo, 'x-order'), ['A', 'stopped', 'B']);
    } finally {
      await s.close();
    }
  });

  test('StopAllIterationAndBuffer holds the body too and delivers it after continuing', async () => {
    const s = await startServer({ hcm: { http_filters: [filter('test.stop'), filter('test.answer')] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('POST /all HTTP/1.1\r\nhost: x\r\nx-test-stop-all: 1\r\ncontent-length: 5\r\n\r\nhello');
      const r = await c.response();
      assert.equal(JSON.parse(r.body).body, 'hello');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('a buffering filter gives the next filter the whole body at once, chunked or not', async () => {
    const s = await startServer({ hcm: { http_filters: [filter('test.buffer'), filter('test.answer')] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('POST /b HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n');
      await new Promise((r) => setImmediate(r));
      c.write('4\r\ndefg\r\n0\r\n\r\n');
      const r = await c.response();
      const echo = JSON.parse(r.body);
      assert.equal(echo.body, 'abcdefg');
      assert.equal(echoHeader(echo, 'x-test-buffered'), '7');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('a stream filter (decoder and encoder) is destroyed once when its stream ends', async () => {
    destroyCounts.clear();
    const s = await startServer({
      hcm: { http_filters: [filter('test.tag', { tag: 'dual' }), filter('test.answer')] },
    });
    try {
      await fetchOnce(s.port, get('/d'));
      assert.equal(destroyCounts.get('dual'), 1);
    } finally {
      await s.close();
    }
  });

  test('a filter disabled by default runs only where the route enables it with a FilterConfig', async () => {
    const routes = {
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            {
              name: 'on',
              match: { prefix: '/on' },
              route: { cluster: 'c' },
              typed_per_filter_config: {
                'tag-b': {
                  '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
                  disabled: false,
                },
              },
            },
            { name: 'off', match: { prefix: '/' }, route: { cluster: 'c' } },
          ],
        },
      ],
    };
    const s = await startServer({
      hcm: {
        route_config: routes,
        http_filters: [
          filter('test.tag', { tag: 'A' }, { name: 'tag-a' }),
          filter('test.tag', { tag: 'B' }, { name: 'tag-b', disabled: true }),
          filter('test.answer'),
        ],
      },
    });
    try {
      assert.deepEqual(echoHeaders((await fetchOnce(s.port, get('/on'))).echo, 'x-order'), ['A', 'B']);
      assert.deepEqual(echoHeaders((await fetchOnce(s.port, get('/off'))).echo, 'x-order'), ['A']);
    } finally {
      await s.close();
    }
  });

  test('a filter added access log handler logs the stream too', async () => {
    filterLogLines.length = 0;
    const s = await startServer({
      hcm: { http_filters: [filter('test.tag', { tag: 'L', log: true }), filter('test.answer')] },
    });
    try {
      await fetchOnce(s.port, get('/logged'));
      assert.equal(filterLogLines.length, 1);
      assert.match(filterLogLines[0]!, /"GET \/logged HTTP\/1.1" 200 /);
    } finally {
      await s.close();
    }
  });

  test('a connection manager without HTTP filters never answers until the stream idle timeout', async () => {
    const s = await startServer({
      hcm: { http_filters: [], stream_idle_timeout: { seconds: 0, nanos: 200_000_000 } },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/nobody'));
      const r = await c.response();
      assert.equal(r.status, 504);
      assert.equal(r.body, 'stream timeout');
      c.destroy();
    } finally {
      await s.close();
    }
  });
});

describe('local replies', () => {
  test('a filter’s local reply has Envoy’s text body headers, goes through the encoder filters and stops decoding', async () => {
    const s = await startServer({
      hcm: {
        http_filters: [
          filter('test.tag', { tag: 'A' }),
          filter('test.deny'),
          filter('test.tag', { tag: 'B' }),
          filter('test.answer'),
        ],
      },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/x', { 'x-test-deny': '1' }));
      const r = await c.response();
      assert.equal(r.status, 403);
      assert.equal(r.body, 'denied');
      assert.equal(r.header('content-type'), 'text/plain');
      assert.equal(r.header('content-length'), '6');
      assert.equal(r.header('x-denied-by'), 'deny');
      assert.deepEqual(r.headers.get('x-encode-order'), ['B', 'A'], 'every encoder filter saw the reply');
      assert.equal(r.header('server'), 'envoy');
      assert.ok(r.header('date'));
      c.destroy();
      await eventuallyLogged(s.logs, 1);
      assert.match(s.logs[0]!, /"GET \/x HTTP\/1.1" 403 - 0 6 /);
    } finally {
      await s.close();
    }
  });

  test('a local reply to HEAD carries the length of the body it does not send', async () => {
    const s = await startServer({ hcm: { http_filters: [filter('test.deny'), filter('test.answer')] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('HEAD /h HTTP/1.1\r\nhost: x\r\nx-test-deny: 1\r\n\r\n');
      const r = await c.response({ head: true });
      assert.equal(r.status, 403);
      assert.equal(r.header('content-length'), '6');
      c.write(get('/after'));
      const both = await c.responses(2, { head: true });
      assert.equal(
        both[1]!.status,
        200,
        'nothing was sent after the HEAD reply: the connection is still in sync',
      );
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('OPTIONS * is refused with 404 absolute_path_rejected', async () => {
    const s = await startServer();
    try {
      const { response } = await fetchOnce(s.port, 'OPTIONS * HTTP/1.1\r\nhost: x\r\n\r\n');
      assert.equal(response.status, 404);
      assert.equal(response.body, '');
      assert.equal(s.counter('downstream_rq_non_relative_path'), 1);
    } finally {
      await s.close();
    }
  });

  test('a malformed request gets the codec’s 400, logged with DPE, and the connection closes', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write('GET / HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n');
      const r = await c.response();
      assert.equal(r.status, 400);
      assert.equal(r.body, 'Bad Request');
      assert.equal(r.header('connection'), 'close');
      await c.waitClosed();
      await eventuallyLogged(s.logs, 1);
      assert.match(s.logs[0]!, / 400 DPE /);
      assert.equal(s.counter('downstream_cx_protocol_error'), 1);
      assert.equal(s.counter('downstream_rq_4xx'), 1);
    } finally {
      await s.close();
    }
  });

  test('Expect: 100-continue is answered by the connection manager and not forwarded', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write('POST /c HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n');
      await c.waitFor('100 Continue');
      c.write('hi');
      const all = await c.responses(1);
      assert.equal(all[0]!.status, 100);
      const echo = JSON.parse(all[1]!.body);
      assert.equal(echo.body, 'hi');
      assert.equal(echoHeader(echo, 'expect'), undefined);
      c.destroy();
    } finally {
      await s.close();
    }
  });
});

describe('protocol details', () => {
  test('HTTP/1.0 is refused with 426 low_version unless accept_http_10, and not logged as a protocol error', async () => {
    const s = await startServer();
    try {
      const { response } = await fetchOnce(s.port, 'GET / HTTP/1.0\r\nhost: x\r\n\r\n');
      assert.equal(response.status, 426);
      assert.equal(response.body, '');
      await eventually(() => s.logs.length === 1, 'the access log');
      assert.match(s.logs[0]!, / 426 - /);
    } finally {
      await s.close();
    }
  });

  test('with accept_http_10, HTTP/1.0 is answered in HTTP/1.0, kept alive only when asked', async () => {
    const s = await startServer({ hcm: { http_protocol_options: { accept_http_10: true } } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('GET /a HTTP/1.0\r\nhost: x\r\nconnection: keep-alive\r\n\r\n');
      const [first] = await c.responses(1);
      assert.match(first!.head, /^HTTP\/1.0 200 OK/);
      assert.equal(first!.header('connection'), 'keep-alive');
      c.write('GET /b HTTP/1.0\r\nhost: x\r\n\r\n');
      const both = await c.responses(2);
      assert.equal(both[1]!.header('connection'), 'close');
      await c.waitClosed();
      await eventually(() => s.logs.length === 2, 'the access logs');
      assert.match(s.logs[1]!, /"GET \/b HTTP\/1.0" 200 /);
    } finally {
      await s.close();
    }
  });

  test('request trailers go through the decoder filters when enable_trailers is set', async () => {
    const s = await startServer({
      hcm: {
        http_protocol_options: { enable_trailers: true },
        http_filters: [filter('test.tag', { tag: 'T' }), filter('test.answer')],
      },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(
        'POST /t HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nx-trailer: 1\r\n\r\n',
      );
      const echo = JSON.parse((await c.response()).body);
      assert.equal(echo.body, 'hi');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('a response sent before the request is complete closes the connection and is counted', async () => {
    const s = await startServer({ hcm: { http_filters: [filter('test.deny'), filter('test.answer')] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('POST /early HTTP/1.1\r\nhost: x\r\nx-test-deny: 1\r\ncontent-length: 100\r\n\r\n');
      const r = await c.response();
      assert.equal(r.status, 403);
      assert.equal(r.header('connection'), 'close');
      await c.waitClosed();
      assert.equal(s.counter('downstream_rq_response_before_rq_complete'), 1);
    } finally {
      await s.close();
    }
  });
});

describe('buffer limits', () => {
  test('a request body over the buffer limit held by a filter gets 413 request_payload_too_large', async () => {
    const s = await startServer({
      hcm: { http_filters: [filter('test.buffer'), filter('test.answer')] },
      overrides: { bufferLimitBytes: 1024 },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(`POST /big HTTP/1.1\r\nhost: x\r\ncontent-length: 4096\r\n\r\n${'x'.repeat(4096)}`);
      const r = await c.response();
      assert.equal(r.status, 413);
      assert.equal(r.body, 'Payload Too Large');
      assert.equal(r.header('content-type'), 'text/plain');
      await eventuallyLogged(s.logs, 1);
      assert.equal(s.counter('downstream_rq_too_large'), 1);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('a body under the limit passes the same buffering filter', async () => {
    const s = await startServer({
      hcm: { http_filters: [filter('test.buffer'), filter('test.answer')] },
      overrides: { bufferLimitBytes: 1024 },
    });
    try {
      const { response } = await fetchOnce(
        s.port,
        `POST /ok HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n${'y'.repeat(1000)}`,
      );
      assert.equal(response.status, 200);
    } finally {
      await s.close();
    }
  });

  test('a response body over the limit held by an encoder filter becomes a 500 response_payload_too_large', async () => {
    const s = await startServer({
      hcm: {
        http_filters: [filter('test.buffer', { request: false, response: true }), filter('test.answer')],
      },
      overrides: { bufferLimitBytes: 1024 },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/big', { 'x-test-response-bytes': '4096', 'x-test-chunked': '1' }));
      const r = await c.response();
      assert.equal(r.status, 500);
      assert.equal(r.body, 'Internal Server Error');
      assert.equal(s.counter('rs_too_large'), 1);
      await eventuallyLogged(s.logs, 1);
      assert.match(s.logs[0]!, / 500 /);
      c.destroy();
    } finally {
      await s.close();
    }
  });
});

describe('upgrades', () => {
  test('an upgrade without an upgrade config is refused with 403 upgrade_failed and the connection closes', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/ws', { connection: 'Upgrade', upgrade: 'websocket' }));
      const r = await c.response();
      assert.equal(r.status, 403);
      assert.equal(r.header('connection'), 'close');
      await c.waitClosed();
      assert.equal(s.counter('downstream_rq_ws_on_non_ws_route'), 1);
      await eventuallyLogged(s.logs, 1);
    } finally {
      await s.close();
    }
  });

  test('with upgrade_configs the request reaches the filters, and after the 101 bytes flow both ways', async () => {
    const s = await startServer({ hcm: { upgrade_configs: [{ upgrade_type: 'websocket' }] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/ws', { connection: 'Upgrade', upgrade: 'websocket' }));
      const [r] = await c.responses(1);
      assert.equal(r!.status, 101);
      assert.equal(r!.header('upgrade'), 'websocket');
      assert.equal(r!.header('connection'), 'Upgrade');
      c.write('hello pipe');
      await c.waitFor('HELLO PIPE');
      c.write(Buffer.from([0x00, 0x80, 0x61]));
      await c.waitFor('\u0000\u0080A');
      c.end();
      await c.waitClosed();
      assert.equal(s.counter('downstream_cx_upgrades_total'), 1);
      await eventuallyLogged(s.logs, 1);
      assert.equal(s.gauge('downstream_cx_upgrades_active'), 0);
    } finally {
      await s.close();
    }
  });

  test('a route that disables an upgrade the connection manager enables refuses it', async () => {
    const routes = {
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/' },
              route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'websocket', enabled: false }] },
            },
          ],
        },
      ],
    };
    const s = await startServer({
      hcm: { route_config: routes, upgrade_configs: [{ upgrade_type: 'websocket' }] },
    });
    try {
      const { response } = await fetchOnce(
        s.port,
        get('/ws', { connection: 'Upgrade', upgrade: 'WebSocket' }),
      );
      assert.equal(response.status, 403);
    } finally {
      await s.close();
    }
  });
});

describe('stats and access logs', () => {
  test('http.<stat_prefix> counters, gauges and histograms carry Envoy’s names and values', async () => {
    const s = await startServer({ hcm: { http_filters: [filter('test.deny'), filter('test.answer')] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/a'));
      await c.responses(1);
      c.write(get('/b', { 'x-test-deny': '1' }));
      await c.responses(2);
      c.write(get('/c', { 'x-test-status': '503' }));
      await c.responses(3);
      assert.equal(s.counter('downstream_cx_total'), 1);
      assert.equal(s.counter('downstream_cx_http1_total'), 1);
      assert.equal(s.gauge('downstream_cx_active'), 1);
      assert.equal(s.gauge('downstream_cx_http1_active'), 1);
      assert.equal(s.counter('downstream_rq_total'), 3);
      assert.equal(s.counter('downstream_rq_http1_total'), 3);
      assert.equal(s.counter('downstream_rq_completed'), 3);
      assert.equal(s.counter('downstream_rq_2xx'), 1);
      assert.equal(s.counter('downstream_rq_4xx'), 1);
      assert.equal(s.counter('downstream_rq_5xx'), 1);
      assert.equal(s.gauge('downstream_rq_active'), 0);
      assert.equal(s.histogramCount('downstream_rq_time'), 3);
      assert.ok(s.counter('downstream_cx_rx_bytes_total') > 0);
      assert.ok(s.counter('downstream_cx_tx_bytes_total') > s.counter('downstream_cx_rx_bytes_total'));
      c.end();
      await c.waitClosed();
      await eventually(() => s.counter('downstream_cx_destroy') === 1, 'the connection to be destroyed');
      assert.equal(s.counter('downstream_cx_destroy_remote'), 1);
      assert.equal(s.gauge('downstream_cx_active'), 0);
      assert.equal(s.gauge('downstream_cx_http1_active'), 0);
      assert.equal(s.histogramCount('downstream_cx_length_ms'), 1);
    } finally {
      await s.close();
    }
  });

  test('a stream reset by the client is counted and logged with DC', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write('POST /cut HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc');
      await new Promise((r) => setImmediate(r));
      c.destroy();
      await eventuallyLogged(s.logs, 1);
      assert.match(s.logs[0]!, /"POST \/cut HTTP\/1.1" 0 DC 3 0 /);
      assert.equal(s.counter('downstream_rq_rx_reset'), 1);
      await eventually(() => s.counter('downstream_cx_destroy') === 1, 'the connection to be destroyed');
      assert.equal(s.counter('downstream_cx_destroy_active_rq'), 1);
      assert.equal(s.counter('downstream_cx_destroy_remote_active_rq'), 1);
    } finally {
      await s.close();
    }
  });

  test('the access log line has Envoy’s default format with the request id and forwarded-for', async () => {
    const s = await startServer({ hcm: { use_remote_address: true }, overrides: {} });
    try {
      const { response } = await fetchOnce(
        s.port,
        'POST /log?q=1 HTTP/1.1\r\nhost: example.com\r\nuser-agent: curl/8\r\ncontent-length: 3\r\n\r\nabc',
      );
      await eventuallyLogged(s.logs, 1);
      const echo = JSON.parse(response.body);
      const id = echoHeader(echo, 'x-request-id')!;
      const xff = echoHeader(echo, 'x-forwarded-for')!;
      const re = new RegExp(
        `^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] "POST /log\\?q=1 HTTP/1.1" 200 - 3 ${response.body.length} \\d+ - "${xff}" "curl/8" "${id}" "example.com" "-"\\n$`,
      );
      assert.match(s.logs[0]!, re);
    } finally {
      await s.close();
    }
  });
});

async function eventuallyLogged(logs: string[], n: number): Promise<void> {
  await within(
    (async () => {
      while (logs.length < n) await new Promise((r) => setImmediate(r));
    })(),
    `${n} access log lines`,
  );
}

describe('the network filter runtime', () => {
  test('an HTTP filter without a data path makes the filter factory throw unless it is optional', async () => {
    const runtime = createHttpConnectionManagerRuntime([]);
    assert.equal(runtime.name, 'envoy.filters.network.http_connection_manager');
    await assert.rejects(
      startServer({ hcm: { http_filters: [filter('test.missing'), filter('test.answer')] } }),
      /test.missing has no data path/,
    );
    const s = await startServer({
      hcm: { http_filters: [filter('test.missing', {}, { is_optional: true }), filter('test.answer')] },
    });
    try {
      assert.equal((await fetchOnce(s.port, get('/'))).response.status, 200);
    } finally {
      await s.close();
    }
  });

  test('fields the data path does not implement are listed for serve to refuse', () => {
    const ctx = {
      step: undefined,
      error: () => {},
      unsupported: () => {},
      warn: () => {},
      requireCluster: () => {},
      extensionOf: () => undefined,
    };
    const plain = httpConnectionManagerFactory.createConfig({ stat_prefix: 'p', route_config: {} }, ctx);
    assert.deepEqual(unsupportedHttpConnectionManagerFields(plain), []);
    const unusual = httpConnectionManagerFactory.createConfig(
      {
        stat_prefix: 'p',
        codec_type: 'HTTP2',
        rds: { route_config_name: 'r' },
        local_reply_config: {},
        add_user_agent: true,
      },
      ctx,
    );
    assert.deepEqual(
      unsupportedHttpConnectionManagerFields(unusual).map((u) => u.field),
      ['codec_type', 'rds', 'local_reply_config', 'add_user_agent'],
    );
  });
});
