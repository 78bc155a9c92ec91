/**
 * The connection manager's timeouts on a real Dispatcher with short values, and draining:
 * stream_idle_timeout (before and after the response started, and a route's idle_timeout),
 * request_timeout, request_headers_timeout, max_stream_duration, the connection idle_timeout
 * and max_connection_duration (through the drain sequence), and `connection: close` while the
 * server drains. The assertions are about behaviour (status, body, details, stats, closes),
 * never about how long anything took.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually, get, ms, RawClient, startServer } from './harness.ts';

describe('stream timeouts', () => {
  test('stream_idle_timeout answers a fully received request with 504 stream timeout, flag SI', async () => {
    const s = await startServer({ hcm: { stream_idle_timeout: ms(200) } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/held', { 'x-test-hold': '1' }));
      const r = await c.response();
      assert.equal(r.status, 504);
      assert.equal(r.body, 'stream timeout');
      assert.equal(s.counter('downstream_rq_idle_timeout'), 1);
      await eventually(() => s.logs.length === 1, 'the access log');
      assert.match(s.logs[0]!, /"GET \/held HTTP\/1.1" 504 SI /);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('stream_idle_timeout answers a request still being received with 408 and closes', async () => {
    const s = await startServer({ hcm: { stream_idle_timeout: ms(200) } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('POST /slow HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc');
      const r = await c.response();
      assert.equal(r.status, 408);
      assert.equal(r.body, 'stream timeout');
      assert.equal(r.header('connection'), 'close');
      await c.waitClosed();
    } finally {
      await s.close();
    }
  });

  test('stream_idle_timeout after the response started resets the stream: the connection closes mid-body', async () => {
    const s = await startServer({ hcm: { stream_idle_timeout: ms(200) } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/half', { 'x-test-hold-body': '1', 'x-test-chunked': '1' }));
      await c.waitFor('\r\n\r\n');
      await c.waitClosed();
      assert.match(c.received, /^HTTP\/1.1 200 OK\r\n/);
      assert.ok(!c.received.endsWith('0\r\n\r\n'), 'the chunked body was never terminated');
      assert.equal(s.counter('downstream_rq_idle_timeout'), 1);
      assert.equal(s.counter('downstream_rq_tx_reset'), 1);
      await eventually(() => s.logs.length === 1, 'the access log');
      assert.match(s.logs[0]!, /"GET \/half HTTP\/1.1" 200 SI /);
    } finally {
      await s.close();
    }
  });

  test('a route’s idle_timeout replaces the connection manager’s stream idle timeout', async () => {
    const routes = {
      virtual_hosts: [
        {
          name: 'vh',
          domains: ['*'],
          routes: [{ match: { prefix: '/' }, route: { cluster: 'c', idle_timeout: ms(200) } }],
        },
      ],
    };
    const s = await startServer({ hcm: { route_config: routes } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/held', { 'x-test-hold': '1' }));
      const r = await c.response();
      assert.equal(r.status, 504);
      assert.equal(r.body, 'stream timeout');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('request_timeout fires while the request is incomplete: 408 request timeout', async () => {
    const s = await startServer({ hcm: { request_timeout: ms(200) } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('POST /slow HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc');
      const r = await c.response();
      assert.equal(r.status, 408);
      assert.equal(r.body, 'request timeout');
      assert.equal(s.counter('downstream_rq_timeout'), 1);
      await eventually(() => s.logs.length === 1, 'the access log');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('request_timeout is disarmed once the request is complete: the idle timeout answers instead', async () => {
    const s = await startServer({ hcm: { request_timeout: ms(100), stream_idle_timeout: ms(400) } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/held', { 'x-test-hold': '1' }));
      const r = await c.response();
      assert.equal(r.body, 'stream timeout');
      assert.equal(s.counter('downstream_rq_timeout'), 0);
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('request_headers_timeout answers headers that never complete with 408 request header timeout', async () => {
    const s = await startServer({ hcm: { request_headers_timeout: ms(200) } });
    try {
      const c = await RawClient.connect(s.port);
      c.write('GET /partial HTTP/1.1\r\nhost: x\r\n');
      const r = await c.response();
      assert.equal(r.status, 408);
      assert.equal(r.body, 'request header timeout');
      assert.equal(s.counter('downstream_rq_header_timeout'), 1);
      await c.waitClosed();
    } finally {
      await s.close();
    }
  });

  test('max_stream_duration answers a held request with 504 downstream duration timeout', async () => {
    const s = await startServer({ hcm: { common_http_protocol_options: { max_stream_duration: ms(200) } } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/held', { 'x-test-hold': '1' }));
      const r = await c.response();
      assert.equal(r.status, 504);
      assert.equal(r.body, 'downstream duration timeout');
      assert.equal(s.counter('downstream_rq_max_duration_reached'), 1);
      c.destroy();
    } finally {
      await s.close();
    }
  });
});

describe('connection timeouts and drain', () => {
  test('idle_timeout closes a kept-alive connection after its drain timeout', async () => {
    const s = await startServer({
      hcm: { common_http_protocol_options: { idle_timeout: ms(200) }, drain_timeout: ms(100) },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/'));
      assert.equal((await c.response()).status, 200);
      await c.waitClosed();
      assert.equal(s.counter('downstream_cx_idle_timeout'), 1);
    } finally {
      await s.close();
    }
  });

  test('idle_timeout closes a connection that never sent a byte', async () => {
    const s = await startServer({ hcm: { common_http_protocol_options: { idle_timeout: ms(200) } } });
    try {
      const c = await RawClient.connect(s.port);
      await c.waitClosed();
      assert.equal(c.received, '');
      assert.equal(s.counter('downstream_cx_idle_timeout'), 1);
    } finally {
      await s.close();
    }
  });

  test('max_connection_duration drains and closes the connection', async () => {
    const s = await startServer({
      hcm: { common_http_protocol_options: { max_connection_duration: ms(200) }, drain_timeout: ms(100) },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/'));
      await c.response();
      await c.waitClosed();
      assert.equal(s.counter('downstream_cx_max_duration_reached'), 1);
    } finally {
      await s.close();
    }
  });

  test('while the server drains, a response carries connection: close and the connection closes', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/before'));
      assert.equal((await c.response()).header('connection'), undefined);
      s.draining = true;
      c.write(get('/during'));
      const both = await c.responses(2);
      assert.equal(both[1]!.header('connection'), 'close');
      await c.waitClosed();
      assert.equal(s.counter('downstream_cx_drain_close'), 1);
    } finally {
      await s.close();
    }
  });
});
